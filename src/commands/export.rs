//! `export KEY`: one entry as a tar stream GNU tar reads; `import`: a tar stream as an entry
//! (in the archive format, whatever format the stream was exported from).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek as _, Write};

use anyhow::Context as _;
use serde_json::json;
use sha2::Digest as _;

use crate::cli::{ExportArgs, GlobalArgs, ImportArgs};
use crate::config;
use crate::error::{Exit, UsageError};
use crate::output::Printer;
use crate::request::{self, EntryRequest, Stores};
use crate::store::archive::codec::Encoder;
use crate::store::archive::{self, Codec};
use crate::store::tier::{CommitMode, Committed, NewEntry};
use crate::store::{Filter, Format, Tier};
use crate::units::{count, human_size};

pub fn run(global: &GlobalArgs, args: &ExportArgs, printer: &Printer) -> anyhow::Result<Exit> {
    let repo = config::repo(global)?;
    let scope = config::scope(args.scope.as_deref(), "--scope")?;
    let key = request::key_input(&args.key, "KEY")?;
    let mut store = Stores::from_global(global)?.local()?;
    let mut filter = Filter {
        repo: repo.clone(),
        scope,
        key_folded: Some(key.folded()),
        ..Filter::default()
    };
    let mut entries = store.list(&filter)?.entries;
    if entries.is_empty() {
        if let Ok(id) = args.key.parse::<i64>() {
            filter.key_folded = None;
            filter.id = Some(id);
            entries = store.list(&filter)?.entries;
        }
    }
    let e = match entries.as_slice() {
        [] => {
            let within = repo.map(|r| format!(" in repo {r}")).unwrap_or_default();
            anyhow::bail!(
                "no cache entry with key '{}'{within}: see `wit-cache list`",
                args.key
            )
        }
        [e] => e.clone(),
        more => {
            return Err(UsageError::new(format!(
                "key '{}' names {} entries (other path lines or scopes): export one by its id \
                 (see `wit-cache list`)",
                args.key,
                more.len()
            ))
            .into())
        }
    };
    let written = match &args.output {
        Some(path) => {
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let done = encode(&store, &e, BufWriter::new(file), args.compression)
                .and_then(|f| f.sync_all().context("cannot sync the output"));
            if done.is_err() {
                let _ = fs::remove_file(path);
            }
            done.map(|()| path.display().to_string())
        }
        None => encode(
            &store,
            &e,
            BufWriter::new(io::stdout().lock()),
            args.compression,
        )
        .map(|_| "stdout".to_string()),
    };
    let written =
        written.map_err(|err| err.context(format!("cannot export cache entry '{}'", e.key)))?;
    printer.status(&format!(
        "Exported cache entry '{}' ({}, {}, {} format) as a {} tar stream to {written}",
        e.key,
        count(e.file_count, "file", "files"),
        human_size(e.unpacked_bytes),
        e.format.name(),
        args.compression.name(),
    ));
    Ok(Exit::Success)
}

/// The plain tar stream of `e`, compressed with `codec` into `w`; the inner writer, flushed.
fn encode<W: Write>(
    store: &crate::store::LocalStore,
    e: &crate::store::Entry,
    w: BufWriter<W>,
    codec: Codec,
) -> anyhow::Result<W> {
    let mut enc = Encoder::new(w, codec, None).context("cannot start the encoder")?;
    store.export_tar(e, &mut enc)?;
    let w = enc.finish().context("cannot finish the tar stream")?;
    w.into_inner()
        .map_err(|e| anyhow::Error::from(e.into_error()).context("cannot write the tar stream"))
}

/// What the members of an imported stream add up to.
#[derive(Default)]
struct Tally {
    count: u64,
    files: u64,
    bytes: u64,
    bad: Option<String>,
}

pub fn import(global: &GlobalArgs, args: &ImportArgs, printer: &Printer) -> anyhow::Result<Exit> {
    let e = EntryRequest::parse(
        global,
        &args.entry,
        "the path lines the stream's members belong to",
    )?;
    let mut store = Stores::from_global(global)?.local()?;
    if let Some(old) = store.find(&e.identity())? {
        printer.status(&format!(
            "Cache entry for key '{}' already exists ({}); not importing",
            old.key,
            human_size(old.size_bytes)
        ));
        return Ok(Exit::Success);
    }
    let mut input: Box<dyn Read> = if args.input.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(
            File::open(&args.input)
                .with_context(|| format!("cannot open {}", args.input.display()))?,
        )
    };
    let mut staging = store.stage()?;
    let mut hasher = sha2::Sha256::new();
    let mut size = 0u64;
    let mut head = [0u8; 4];
    let mut buf = vec![0u8; 1 << 18];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(anyhow::Error::from(err).context("cannot read the tar stream")),
        };
        for (i, b) in buf[..n].iter().enumerate() {
            if let Some(h) = head.get_mut(size as usize + i) {
                *h = *b;
            }
        }
        hasher.update(&buf[..n]);
        staging
            .file
            .write_all(&buf[..n])
            .context("cannot stage the imported stream")?;
        size += n as u64;
    }
    let codec = match head {
        [0x28, 0xb5, 0x2f, 0xfd] => Codec::Zstd,
        [0x1f, 0x8b, ..] => Codec::Gzip,
        _ => Codec::None,
    };
    staging.file.sync_all().context("cannot sync the import")?;
    let mut reader = staging
        .file
        .try_clone()
        .context("cannot reread the import")?;
    reader.rewind().context("cannot reread the import")?;
    let lines = e.lines.len();
    let mut m = Tally::default();
    // What is imported is checked as a restore checks an archive: bounded headers, and at
    // most the largest entry a store records.
    archive::list(
        reader,
        codec,
        crate::store::entry::MAX_ENTRY_BYTES,
        |member| {
            use archive::reader::Kind;
            let name = &member.name;
            m.count += 1;
            let line = name
                .split(|b| *b == b'/')
                .next()
                .and_then(|n| std::str::from_utf8(n).ok())
                .and_then(|n| n.parse::<usize>().ok());
            if line.is_none_or(|l| l >= lines) && m.bad.is_none() {
                m.bad = Some(String::from_utf8_lossy(name).into_owned());
            }
            match member.kind {
                Kind::Regular => {
                    m.files += 1;
                    m.bytes += member.size;
                }
                Kind::Symlink => m.files += 1,
                _ => {}
            }
        },
    )
    .map_err(|err| {
        UsageError::new(format!(
            "{} is not a tar stream (plain, gzip or zstd): {err}",
            args.input.display()
        ))
    })?;
    if let Some(name) = m.bad {
        return Err(UsageError::new(format!(
            "member '{}' is not under a path line: members are named <n>/<path> with n below {lines} \
             (the number of --path lines), as `export` writes them",
            crate::output::escape(&name)
        ))
        .into());
    }
    if m.count == 0 {
        return Err(UsageError::new(format!("{} holds no members", args.input.display())).into());
    }
    let new = NewEntry {
        repo: e.repo.clone(),
        scope: e.scope.clone(),
        key: e.key.as_str().to_string(),
        version: e.version.clone(),
        paths: e.lines.clone(),
        codec,
        format: Format::Archive,
        id: None,
        size_bytes: size,
        unpacked_bytes: m.bytes,
        file_count: m.files,
        digest: crate::keys::hex(&hasher.finalize()),
        created_by_run: None,
        preset: None,
    };
    let report = store
        .commit(staging, new, CommitMode::Create)
        .context("cannot import the cache entry")?;
    let saved = matches!(report.committed, Committed::New { .. });
    if saved {
        printer.status(&format!(
            "Imported cache entry '{}' ({}, {} → {} {})",
            e.key.as_str(),
            count(m.files, "file", "files"),
            human_size(m.bytes),
            human_size(size),
            codec.name()
        ));
    } else {
        printer.status(&format!(
            "Cache entry for key '{}' was saved by another job meanwhile; not importing",
            e.key.as_str()
        ));
    }
    if printer.json_mode() {
        printer.json(
            &json!({"saved": saved, "key": e.key.as_str(), "size_bytes": size,
            "unpacked_bytes": m.bytes, "file_count": m.files, "compression": codec.name()}),
        );
    }
    Ok(Exit::Success)
}
