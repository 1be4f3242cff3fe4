//! The shared tier: archives and their metadata in S3-compatible object storage
//! (`--store s3://BUCKET/PREFIX`), through the `object_store` crate.
//!
//! Layout, under `PREFIX/v1/` (a format change bumps the version instead of migrating):
//!
//! ```text
//! <repo>/<scope>/<key>/<version>/entry.json       the metadata: what makes an entry visible
//! <repo>/<scope>/<key>/<version>/<uuid>.tar.zst   the archive it names
//! ```
//!
//! Every segment is encoded with [`encode_segment`]: the key is the *folded* key (keys compare
//! case-insensitively), `/` and anything outside `[A-Za-z0-9._-]` become `%XX`, so a key is
//! always one segment and can never leave its repo's namespace. The encoding maps prefixes to
//! prefixes, so "every entry whose key starts with P" is one raw prefix listing. The scope
//! segment is `noscope` or `scope-<encoded scope>`, which cannot collide.
//!
//! Invariants: the archive is uploaded first, under a fresh name; the metadata object is
//! written last and create-only (`PutMode::Create`, `If-None-Match: *`), so of concurrent
//! saves of one entry exactly one becomes visible, and an upload that dies at any moment
//! leaves at most an unreferenced archive (swept by `gc --remote`), never a half entry.
//! Deleting removes the metadata first. Nothing read from the bucket is trusted for
//! locations: repo, scope, key and version come from the object's path and must agree with
//! the metadata; the archive name must be a plain name in the entry's own directory.
//!
//! `object_store` is async; the rest of wit-cache is not. A [`Remote`] owns a small
//! current-thread tokio runtime and blocks on it, so async never leaks out of this module.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read, Write};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use futures_util::{StreamExt as _, TryStreamExt as _};
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::list::{PaginatedListOptions, PaginatedListStore};
use object_store::path::Path as ObjPath;
use object_store::{
    BackoffConfig, ClientConfigKey, ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutOptions,
    PutPayload, RetryConfig, WriteMultipart,
};
use serde::{Deserialize, Serialize};

use crate::error::UsageError;
use crate::store::Entry;

/// Parts of a multipart upload and ranges of a parallel download.
pub const CHUNK: usize = 8 << 20;
/// Parts or ranges in flight at once.
const PARALLEL: usize = 4;
/// S3's limit on the length of an object name.
const MAX_NAME_BYTES: usize = 1024;
/// The metadata object's name in an entry's directory.
const META: &str = "entry.json";
/// The layout version (a directory under the prefix).
const LAYOUT: &str = "v1";
/// How long an archive without metadata may be a save in progress before gc removes it.
pub const ORPHAN_GRACE_MS: i64 = 3600 * 1000;

/// A validated `--store` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUrl {
    pub bucket: String,
    /// Without leading or trailing slashes; may be empty.
    pub prefix: String,
}

impl StoreUrl {
    /// Parses `s3://BUCKET[/PREFIX]`; `source` names the flag or variable in errors.
    pub fn parse(raw: &str, source: &str) -> Result<Self, UsageError> {
        let bad = |why: &str| {
            UsageError::new(format!(
                "{source} '{raw}' {why}: use s3://BUCKET or s3://BUCKET/PREFIX"
            ))
        };
        let Some(rest) = raw.strip_prefix("s3://") else {
            return Err(bad("is not an object store URL (only s3:// is supported)"));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("names no bucket"));
        }
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !bucket_ok {
            return Err(bad(
                "has an invalid bucket name (3 to 63 lowercase letters, digits, dots, hyphens)",
            ));
        }
        let prefix = prefix.trim_matches('/');
        for seg in prefix.split('/').filter(|_| !prefix.is_empty()) {
            if seg.is_empty() || seg == "." || seg == ".." || seg.chars().any(char::is_control) {
                return Err(bad(
                    "has an invalid prefix (no empty, '.' or '..' segments, no control characters)",
                ));
            }
        }
        Ok(Self {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// Encodes one name segment: `[A-Za-z0-9._-]` stay (a leading `.` does not, so no segment is
/// `.` or `..`), every other byte of the UTF-8 becomes `%XX`. Prefixes map to prefixes.
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, b) in s.bytes().enumerate() {
        let safe = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && i > 0);
        if safe {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The inverse of [`encode_segment`]; `None` for anything it cannot have produced.
pub fn decode_segment(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let text = String::from_utf8(out).ok()?;
    (encode_segment(&text) == s).then_some(text)
}

fn scope_segment(scope: Option<&str>) -> String {
    scope.map_or_else(
        || "noscope".to_string(),
        |s| format!("scope-{}", encode_segment(s)),
    )
}

/// `Some(None)` is "no scope"; the outer `None` is "not a scope segment".
#[allow(clippy::option_option)]
fn parse_scope_segment(seg: &str) -> Option<Option<String>> {
    if seg == "noscope" {
        return Some(None);
    }
    seg.strip_prefix("scope-")
        .and_then(decode_segment)
        .map(Some)
}

/// The metadata object of one entry, as stored in the bucket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    pub format: u32,
    pub repo: String,
    pub scope: Option<String>,
    /// The key as given (the path holds the folded one).
    pub key: String,
    pub version: String,
    pub paths: Vec<String>,
    pub compression: String,
    /// The archive's name in the entry's directory.
    pub archive: String,
    pub size_bytes: u64,
    pub unpacked_bytes: u64,
    pub file_count: u64,
    /// SHA-256 of the archive, hex.
    pub digest: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// Unix ms (the same instant, for gc without parsing).
    pub created_at_ms: i64,
    pub created_by_run: Option<String>,
    pub signature: Option<String>,
}

/// An entry found in the shared store.
#[derive(Debug, Clone)]
pub struct RemoteEntry {
    pub meta: Meta,
    /// The metadata object.
    pub meta_path: ObjPath,
    /// The archive object.
    pub archive_path: ObjPath,
}

impl RemoteEntry {
    /// The entry as the rest of the code sees entries: no local id, never accessed.
    pub fn to_entry(&self) -> Entry {
        let m = &self.meta;
        Entry {
            id: 0,
            repo: m.repo.clone(),
            scope: m.scope.clone(),
            key: m.key.clone(),
            version: m.version.clone(),
            paths: m.paths.clone(),
            compression: m.compression.clone(),
            archive: self.archive_path.to_string(),
            size_bytes: m.size_bytes,
            unpacked_bytes: m.unpacked_bytes,
            file_count: m.file_count,
            digest: m.digest.clone(),
            created_at: m.created_at_ms,
            last_accessed_at: m.created_at_ms,
            access_count: 0,
            created_by_run: m.created_by_run.clone(),
            signature: m.signature.clone(),
        }
    }
}

/// What an upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uploaded {
    /// The entry is now visible in the shared store.
    Saved,
    /// Another host's save of the same entry got there first; ours was discarded.
    AlreadyExists,
}

/// Where one entry lives: the parts of its directory, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Location {
    repo: String,
    scope: Option<String>,
    key_segment: String,
    version: String,
    file: String,
}

/// Everything under a prefix of the shared store.
#[derive(Debug, Default)]
pub struct Listing {
    pub entries: Vec<RemoteEntry>,
    /// Archive objects no metadata refers to (uploads in progress, or dead ones).
    pub orphans: Vec<ObjectMeta>,
}

/// A handle on the shared store.
pub struct Remote {
    rt: tokio::runtime::Runtime,
    s3: AmazonS3,
    url: StoreUrl,
    /// `PREFIX/v1`, or `v1`.
    root: String,
}

impl Remote {
    /// Connects lazily: nothing goes over the network until the first call. Credentials,
    /// region and endpoint come from the usual `AWS_*` variables.
    pub fn new(url: &StoreUrl) -> anyhow::Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the runtime for the object store client")?;
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(5),
                base: 2.0,
            },
            max_retries: 3,
            retry_timeout: Duration::from_secs(60),
        };
        let s3 = AmazonS3Builder::from_env()
            .with_bucket_name(&url.bucket)
            // Set key by key: `with_client_options` would drop AWS_ALLOW_HTTP from the env.
            .with_config(
                AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
                "5s",
            )
            .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::Timeout), "120s")
            .with_retry(retry)
            .build()
            .with_context(|| format!("cannot configure the object store {url}"))?;
        let root = if url.prefix.is_empty() {
            LAYOUT.to_string()
        } else {
            format!("{}/{LAYOUT}", url.prefix)
        };
        Ok(Self {
            rt,
            s3,
            url: url.clone(),
            root,
        })
    }

    pub fn url(&self) -> &StoreUrl {
        &self.url
    }

    fn repo_dir(&self, repo: &str) -> String {
        format!("{}/{}", self.root, encode_segment(repo))
    }

    fn scope_dir(&self, repo: &str, scope: Option<&str>) -> String {
        format!("{}/{}", self.repo_dir(repo), scope_segment(scope))
    }

    /// The directory of one entry, or an error when its name would be too long for S3.
    fn entry_dir(
        &self,
        repo: &str,
        scope: Option<&str>,
        key_folded: &str,
        version: &str,
    ) -> anyhow::Result<String> {
        let dir = format!(
            "{}/{}/{version}",
            self.scope_dir(repo, scope),
            encode_segment(key_folded)
        );
        // The longest object in it: `<dir>/<32 hex>.tar.zst`.
        if dir.len() + 42 > MAX_NAME_BYTES {
            bail!(
                "the key is too long for an object name once encoded ({} bytes; S3 allows {MAX_NAME_BYTES})",
                dir.len() + 42
            );
        }
        Ok(dir)
    }

    /// Splits an object name under the root into its entry location.
    fn locate(&self, path: &str) -> Option<Location> {
        let rest = path.strip_prefix(&self.root)?.strip_prefix('/')?;
        let parts: Vec<&str> = rest.split('/').collect();
        let [repo, scope, key, version, file] = parts.as_slice() else {
            return None;
        };
        Some(Location {
            repo: decode_segment(repo)?,
            scope: parse_scope_segment(scope)?,
            key_segment: (*key).to_string(),
            version: (*version).to_string(),
            file: (*file).to_string(),
        })
    }

    /// Every object whose name starts with `prefix` (a raw string prefix, not a directory).
    async fn list_raw(&self, prefix: &str) -> object_store::Result<Vec<ObjectMeta>> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .s3
                .list_paginated(
                    Some(prefix),
                    PaginatedListOptions {
                        page_token: token,
                        ..PaginatedListOptions::default()
                    },
                )
                .await?;
            out.extend(page.result.objects);
            match page.page_token {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// Reads and checks one metadata object; `None` (with the reason) when it is not a
    /// well-formed entry at the place it was found.
    async fn read_meta(&self, path: &ObjPath) -> anyhow::Result<Result<RemoteEntry, String>> {
        let Some(loc) = self.locate(path.as_ref()) else {
            return Ok(Err("not an entry location".into()));
        };
        let bytes = match self.s3.get(path).await {
            Ok(r) => r.bytes().await?,
            // Deleted between the listing and now.
            Err(object_store::Error::NotFound { .. }) => {
                return Ok(Err("deleted meanwhile".into()))
            }
            Err(e) => return Err(e.into()),
        };
        let meta: Meta = match serde_json::from_slice(&bytes) {
            Ok(m) => m,
            Err(e) => return Ok(Err(format!("unreadable metadata ({e})"))),
        };
        if meta.format != 1 {
            return Ok(Err(format!("metadata format {} is unknown", meta.format)));
        }
        if encode_segment(&crate::keys::fold(&meta.key)) != loc.key_segment
            || meta.version != loc.version
            || meta.repo != loc.repo
            || meta.scope != loc.scope
        {
            return Ok(Err("its metadata does not match its location".into()));
        }
        if !is_archive_name(&meta.archive) {
            return Ok(Err(format!("bad archive name '{}'", meta.archive)));
        }
        let dir = path
            .as_ref()
            .strip_suffix(META)
            .unwrap_or(path.as_ref())
            .to_string();
        let archive_path = ObjPath::parse(format!("{dir}{}", meta.archive))?;
        Ok(Ok(RemoteEntry {
            meta,
            meta_path: path.clone(),
            archive_path,
        }))
    }

    /// GitHub's lookup order against the shared store: in each scope, each key, first exactly
    /// then as a prefix (newest first); one prefix listing per scope and key. `accept` may
    /// refuse a candidate (a bad signature), and the search goes on.
    pub fn lookup(
        &self,
        repo: &str,
        scopes: &[Option<String>],
        version: &str,
        keys_folded: &[String],
        accept: &mut dyn FnMut(&RemoteEntry) -> bool,
        warn: &mut dyn FnMut(String),
    ) -> anyhow::Result<Option<RemoteEntry>> {
        self.rt.block_on(async {
            for scope in scopes {
                for key in keys_folded {
                    let enc = encode_segment(key);
                    let base = format!("{}/", self.scope_dir(repo, scope.as_deref()));
                    if base.len() + enc.len() + 64 > MAX_NAME_BYTES {
                        continue; // no entry can have so long a name
                    }
                    let listed = self.list_raw(&format!("{base}{enc}")).await?;
                    let mut exact = Vec::new();
                    let mut prefixed = Vec::new();
                    for o in listed {
                        let Some(loc) = self.locate(o.location.as_ref()) else {
                            continue;
                        };
                        if loc.file != META || loc.version != version {
                            continue;
                        }
                        if loc.key_segment == enc {
                            exact.push(o);
                        } else {
                            prefixed.push(o);
                        }
                    }
                    // Newest first. Listings give times to the second, so entries created in
                    // the same second are ordered by their metadata's creation time (then name,
                    // so every host picks the same one).
                    prefixed.sort_by(|a, b| {
                        (b.last_modified.timestamp(), &b.location)
                            .cmp(&(a.last_modified.timestamp(), &a.location))
                    });
                    // The exact key first, then the prefix matches by creation second.
                    let mut groups: Vec<Vec<&ObjectMeta>> = exact.iter().map(|o| vec![o]).collect();
                    let mut last_second = None;
                    for o in &prefixed {
                        let second = o.last_modified.timestamp();
                        match groups.last_mut() {
                            Some(g) if last_second == Some(second) => g.push(o),
                            _ => groups.push(vec![o]),
                        }
                        last_second = Some(second);
                    }
                    for group in groups {
                        let mut found = Vec::new();
                        for o in group {
                            match self.read_meta(&o.location).await? {
                                Ok(e) => found.push(e),
                                Err(why) => warn(format!(
                                    "skipped shared cache object {}: {why}",
                                    o.location
                                )),
                            }
                        }
                        found.sort_by_key(|e| std::cmp::Reverse(e.meta.created_at_ms));
                        for e in found {
                            if accept(&e) {
                                return Ok(Some(e));
                            }
                        }
                    }
                }
            }
            Ok(None)
        })
    }

    /// Downloads an entry's archive into `out` in parallel ranges, in order; returns the
    /// SHA-256 of what was written. The caller compares it with the metadata's digest.
    pub fn download(&self, entry: &RemoteEntry, out: &mut File) -> anyhow::Result<String> {
        use sha2::Digest as _;
        let size = entry.meta.size_bytes;
        let chunk = CHUNK as u64;
        let ranges: Vec<std::ops::Range<u64>> = (0..size.div_ceil(chunk))
            .map(|i| i * chunk..((i + 1) * chunk).min(size))
            .collect();
        let mut hasher = sha2::Sha256::new();
        self.rt.block_on(async {
            let path = &entry.archive_path;
            let mut parts = futures_util::stream::iter(ranges)
                .map(|r| async move {
                    let want = r.end - r.start;
                    let bytes = self.s3.get_range(path, r).await?;
                    if bytes.len() as u64 != want {
                        bail!(
                            "the archive {path} is shorter than its metadata says ({size} bytes)"
                        );
                    }
                    Ok(bytes)
                })
                .buffered(PARALLEL);
            while let Some(bytes) = parts.try_next().await? {
                hasher.update(&bytes);
                out.write_all(&bytes)
                    .context("cannot write the downloaded archive")?;
            }
            anyhow::Ok(())
        })?;
        Ok(crate::keys::hex(&hasher.finalize()))
    }

    /// Whether the entry is already visible in the shared store.
    pub fn exists(
        &self,
        repo: &str,
        scope: Option<&str>,
        key_folded: &str,
        version: &str,
    ) -> anyhow::Result<bool> {
        let dir = self.entry_dir(repo, scope, key_folded, version)?;
        let path = ObjPath::parse(format!("{dir}/{META}"))?;
        self.rt.block_on(async {
            match self.s3.head(&path).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(e.into()),
            }
        })
    }

    /// Uploads a finished local archive and then, create-only, its metadata. With
    /// `overwrite`, the metadata replaces an existing entry's and the old archive goes.
    /// On failure nothing new is visible: the archive is removed again (best effort; gc
    /// sweeps what a killed process left).
    pub fn upload(
        &self,
        archive: &mut File,
        meta: &mut Meta,
        overwrite: bool,
    ) -> anyhow::Result<Uploaded> {
        let dir = self.entry_dir(
            &meta.repo,
            meta.scope.as_deref(),
            &crate::keys::fold(&meta.key),
            &meta.version,
        )?;
        let meta_path = ObjPath::parse(format!("{dir}/{META}"))?;
        let name = format!(
            "{}.{}",
            uuid::Uuid::new_v4().simple(),
            archive_extension(&meta.compression)
        );
        let archive_path = ObjPath::parse(format!("{dir}/{name}"))?;
        meta.archive = name;
        let body = serde_json::to_vec_pretty(&meta).expect("metadata serialises");
        self.rt.block_on(async {
            let old = if overwrite {
                match self.read_meta(&meta_path).await {
                    Ok(Ok(e)) => Some(e.archive_path),
                    _ => None,
                }
            } else {
                None
            };
            self.put_archive(archive, &archive_path, meta.size_bytes)
                .await
                .context("cannot upload the archive")?;
            let mode = if overwrite {
                PutMode::Overwrite
            } else {
                PutMode::Create
            };
            let put = self
                .s3
                .put_opts(&meta_path, PutPayload::from(body), PutOptions::from(mode))
                .await;
            match put {
                Ok(_) => {
                    if let Some(old) = old.filter(|o| *o != archive_path) {
                        let _ = self.s3.delete(&old).await;
                    }
                    Ok(Uploaded::Saved)
                }
                Err(e) => {
                    let _ = self.s3.delete(&archive_path).await;
                    match e {
                        object_store::Error::AlreadyExists { .. } => Ok(Uploaded::AlreadyExists),
                        e => Err(anyhow!(e).context("cannot write the entry's metadata")),
                    }
                }
            }
        })
    }

    async fn put_archive(&self, file: &mut File, path: &ObjPath, size: u64) -> anyhow::Result<()> {
        if size <= CHUNK as u64 {
            let mut buf = Vec::with_capacity(size as usize);
            file.read_to_end(&mut buf)?;
            self.s3
                .put_opts(
                    path,
                    PutPayload::from(buf),
                    PutOptions::from(PutMode::Create),
                )
                .await?;
            return Ok(());
        }
        let upload = self.s3.put_multipart(path).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, CHUNK);
        let mut buf = vec![0u8; 1 << 20];
        let result = async {
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                writer.wait_for_capacity(PARALLEL).await?;
                writer.write(&buf[..n]);
            }
            anyhow::Ok(())
        }
        .await;
        match result {
            Ok(()) => {
                writer.finish().await?;
                Ok(())
            }
            Err(e) => {
                let _ = writer.abort().await;
                Err(e)
            }
        }
    }

    /// Every entry (of `repo`, when given) and every archive without metadata.
    pub fn list(
        &self,
        repo: Option<&str>,
        warn: &mut dyn FnMut(String),
    ) -> anyhow::Result<Listing> {
        let prefix = match repo {
            Some(r) => format!("{}/", self.repo_dir(r)),
            None => format!("{}/", self.root),
        };
        self.rt.block_on(async {
            let objects = self.list_raw(&prefix).await?;
            let metas: Vec<&ObjectMeta> = objects
                .iter()
                .filter(|o| o.location.filename() == Some(META))
                .collect();
            let read: Vec<(ObjPath, Result<RemoteEntry, String>)> =
                futures_util::stream::iter(metas)
                    .map(|o| async move {
                        let r = self.read_meta(&o.location).await?;
                        anyhow::Ok((o.location.clone(), r))
                    })
                    .buffered(8)
                    .try_collect()
                    .await?;
            let mut listing = Listing::default();
            for (path, r) in read {
                match r {
                    Ok(e) => listing.entries.push(e),
                    Err(why) => warn(format!("skipped shared cache object {path}: {why}")),
                }
            }
            let referenced: std::collections::HashSet<&ObjPath> =
                listing.entries.iter().map(|e| &e.archive_path).collect();
            let orphans: Vec<ObjectMeta> = objects
                .iter()
                .filter(|o| o.location.filename() != Some(META))
                .filter(|o| !referenced.contains(&o.location))
                .cloned()
                .collect();
            listing.orphans = orphans;
            Ok(listing)
        })
    }

    /// Deletes entries: each one's metadata first (it stops being visible), then its archive.
    pub fn delete(&self, entries: &[RemoteEntry]) -> anyhow::Result<()> {
        self.rt.block_on(async {
            for e in entries {
                self.s3.delete(&e.meta_path).await?;
                self.s3.delete(&e.archive_path).await?;
            }
            anyhow::Ok(())
        })
    }

    /// Deletes plain objects (orphan archives).
    pub fn delete_objects(&self, objects: &[ObjectMeta]) -> anyhow::Result<()> {
        self.rt.block_on(async {
            for o in objects {
                self.s3.delete(&o.location).await?;
            }
            anyhow::Ok(())
        })
    }
}

fn archive_extension(compression: &str) -> &'static str {
    match compression {
        "gzip" => "tar.gz",
        "none" => "tar",
        _ => "tar.zst",
    }
}

/// `<32 hex>.tar[.zst|.gz]`: the only archive names a metadata object may point at.
fn is_archive_name(name: &str) -> bool {
    let Some((id, ext)) = name.split_once('.') else {
        return false;
    };
    id.len() == 32
        && id.bytes().all(|b| b.is_ascii_hexdigit())
        && matches!(ext, "tar" | "tar.zst" | "tar.gz")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls() {
        let u = StoreUrl::parse("s3://ci-cache/wit/runners/", "--store").unwrap();
        assert_eq!(
            (u.bucket.as_str(), u.prefix.as_str()),
            ("ci-cache", "wit/runners")
        );
        assert_eq!(u.to_string(), "s3://ci-cache/wit/runners");
        assert_eq!(
            StoreUrl::parse("s3://ci-cache", "--store").unwrap().prefix,
            ""
        );
        for bad in [
            "ftp://x",
            "s3://",
            "s3:///p",
            "s3://UPPER",
            "s3://b/../x",
            "/tmp/store",
        ] {
            let err = StoreUrl::parse(bad, "--store").unwrap_err().to_string();
            assert!(err.starts_with(&format!("--store '{bad}'")), "{err}");
        }
    }

    #[test]
    fn segments_keep_prefixes_and_stay_one_segment() {
        assert_eq!(encode_segment("npm-linux-1.2_x"), "npm-linux-1.2_x");
        assert_eq!(
            encode_segment("../../etc/passwd"),
            "%2E.%2F..%2Fetc%2Fpasswd"
        );
        assert_eq!(encode_segment("."), "%2E");
        assert_eq!(encode_segment("a%b é"), "a%25b%20%C3%A9");
        for key in ["npm-", "a/b", "%", "é", "x y", "..", "~"] {
            let full = format!("{key}rest/more");
            assert!(encode_segment(&full).starts_with(&encode_segment(key)));
            assert!(!encode_segment(&full).contains('/'));
            assert_eq!(
                decode_segment(&encode_segment(&full)).as_deref(),
                Some(&*full)
            );
        }
        // "a%" is not a prefix of "a/", and their encodings agree.
        assert!(!encode_segment("a/").starts_with(&encode_segment("a%")));
        assert_eq!(decode_segment("%zz"), None);
        assert_eq!(
            decode_segment("%2f"),
            None,
            "only the canonical form decodes"
        );
    }

    #[test]
    fn scope_segments_cannot_collide() {
        assert_eq!(parse_scope_segment(&scope_segment(None)), Some(None));
        for s in ["noscope", "main", "scope-x", "feature/x"] {
            assert_eq!(
                parse_scope_segment(&scope_segment(Some(s))),
                Some(Some(s.to_string()))
            );
        }
    }

    #[test]
    fn archive_names_are_plain() {
        assert!(is_archive_name("0123456789abcdef0123456789abcdef.tar.zst"));
        assert!(!is_archive_name("../0123456789abcdef0123456789abcd.tar"));
        assert!(!is_archive_name("entry.json"));
    }
}
