//! `stats`: hit rates, sizes and restore times from the recorded restore attempts.

use std::process::ExitCode;

use crate::cli::{GlobalArgs, StatsArgs, StatsFormat};
use crate::output::Printer;
use crate::store::Store;
use crate::units::{human_duration, human_size, parse_age};
use crate::{clock, config, views};

pub fn run(global: &GlobalArgs, args: &StatsArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    if args.remote {
        return super::remote::stats(global, args, printer);
    }
    let repo = config::repo(global)?;
    let since_ms = match &args.since {
        Some(raw) => clock::ago_ms(parse_age(raw, "--since")?),
        None => i64::MIN,
    };
    let store = Store::open(&config::cache_dir(global)?)?;
    let repos = store.index.stats(repo.as_deref(), since_ms)?;
    let top = store.index.top_keys(repo.as_deref(), since_ms, 5)?;
    let format = if printer.json_mode() {
        StatsFormat::Json
    } else {
        args.format
    };
    match format {
        StatsFormat::Json => printer.json(&views::stats(&repos, &top)),
        StatsFormat::Prometheus => printer.stdout(&views::prometheus(&repos)),
        StatsFormat::Table => {
            let total = views::total(&repos);
            let mut rows: Vec<Vec<String>> = repos.iter().map(|s| row(&s.repo, s)).collect();
            if repos.len() != 1 {
                rows.push(row("total", &total));
            }
            printer.table(
                &[
                    "REPO",
                    "ENTRIES",
                    "SIZE",
                    "HITS",
                    "PARTIAL",
                    "MISSES",
                    "HIT RATE",
                    "RESTORED",
                    "RESTORE TIME",
                ],
                &rows,
                &[1, 2, 3, 4, 5, 6, 7, 8],
            );
            if !top.is_empty() {
                let top_rows: Vec<Vec<String>> = top
                    .iter()
                    .map(|(r, k, n)| vec![r.clone(), k.clone(), n.to_string()])
                    .collect();
                printer.stdout("\nTop keys:\n");
                printer.table(&["REPO", "KEY", "RESTORES"], &top_rows, &[2]);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn row(name: &str, s: &crate::store::index::RepoStats) -> Vec<String> {
    vec![
        name.to_string(),
        s.entries.to_string(),
        human_size(s.size_bytes),
        s.hits.to_string(),
        s.partial_hits.to_string(),
        s.misses.to_string(),
        format!("{:.1} %", s.hit_rate() * 100.0),
        human_size(s.bytes_restored),
        human_duration(s.restore_ms),
    ]
}
