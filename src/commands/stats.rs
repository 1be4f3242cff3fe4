//! `stats`: entries, sizes, hit rates and restore times per repo, from the local store's
//! recorded restore attempts, or (`--remote`) what the shared store holds (it records no
//! restores: those columns are empty).

use crate::cli::{GlobalArgs, StatsArgs, StatsFormat};
use crate::error::Exit;
use crate::output::Printer;
use crate::request::Stores;
use crate::store::tier::RepoStats;
use crate::store::Timestamp;
use crate::units::{count, human_duration, human_size, parse_age, thousands};
use crate::{clock, config, views};

pub fn run(global: &GlobalArgs, args: &StatsArgs, printer: &Printer) -> anyhow::Result<Exit> {
    let repo = config::repo(global)?;
    let since = match &args.since {
        Some(raw) => Some(
            Timestamp::from_ms(clock::ago_ms(parse_age(raw, "--since")?).max(0))
                .expect("clamped into range"),
        ),
        None => None,
    };
    let mut tier = Stores::from_global(global)?.tier(args.remote)?;
    let location = tier.location();
    let stats = tier
        .stats(repo.as_deref(), since)
        .map_err(|e| e.context(format!("cannot read the statistics of {location}")))?;
    let format = if printer.json_mode() {
        StatsFormat::Json
    } else {
        args.format
    };
    match format {
        StatsFormat::Json => printer.json(&views::stats(&stats, &location)),
        StatsFormat::Prometheus => printer.stdout(&views::prometheus(&stats.repos)),
        StatsFormat::Table => {
            let total = views::total(&stats.repos);
            let mut rows: Vec<Vec<String>> = stats.repos.iter().map(|s| row(&s.repo, s)).collect();
            if stats.repos.len() != 1 {
                rows.push(row("total", &total));
            }
            printer.table(
                &[
                    "REPO", "ENTRIES", "ARCHIVES", "HITS", "PARTIAL", "MISSES", "HIT %",
                    "RESTORED", "TIME",
                ],
                &rows,
                &[1, 2, 3, 4, 5, 6, 7, 8],
            );
            printer.status(
                "ARCHIVES: archive bytes held; PARTIAL: restore-key hits; RESTORED: archive \
                 bytes restored; TIME: restore time",
            );
            if !stats.top_keys.is_empty() {
                let top_rows: Vec<Vec<String>> = stats
                    .top_keys
                    .iter()
                    .map(|(r, k, n)| vec![r.clone(), k.clone(), n.to_string()])
                    .collect();
                printer.stdout("\nTop keys:\n");
                printer.table(&["REPO", "KEY", "RESTORES"], &top_rows, &[2]);
            }
            if let Some(n) = stats.unreferenced {
                printer.status(&format!(
                    "{} in {location} (hit rates are per host: run stats without --remote)",
                    count(n, "unreferenced archive", "unreferenced archives"),
                ));
            }
        }
    }
    Ok(Exit::Success)
}

fn row(name: &str, s: &RepoStats) -> Vec<String> {
    let mut row = vec![
        name.to_string(),
        thousands(s.entries),
        human_size(s.size_bytes),
    ];
    match &s.restores {
        Some(r) => row.extend([
            thousands(r.hits),
            thousands(r.partial_hits),
            thousands(r.misses),
            format!("{:.1} %", r.hit_rate() * 100.0),
            human_size(r.bytes_restored),
            human_duration(r.restore_ms),
        ]),
        None => row.extend(std::iter::repeat_n("-".to_string(), 6)),
    }
    row
}
