//! The shared tier: entries in object storage through the `object_store` crate — S3 and
//! S3-compatible servers (`s3://`), Google Cloud Storage (`gs://`), Azure Blob Storage
//! (`az://`) and a shared directory, e.g. an NFS mount (`file:///mnt/shared/wit-cache`).
//!
//! Layout, under `PREFIX/v1/` (a format change bumps the version instead of migrating):
//!
//! ```text
//! <repo>/<scope>/<key>/<version>/entry.json       the metadata: what makes an entry visible
//! <repo>/<scope>/<key>/<version>/<id>.tar.zst     the archive it names
//! ```
//!
//! Every segment is encoded with [`encode_segment`]: the key is the *folded* key (keys compare
//! case-insensitively), `/` and anything outside `[A-Za-z0-9._-]` become `%XX`, so a key is
//! always one segment and can never leave its repo's namespace. The encoding maps prefixes to
//! prefixes, so "every entry whose key starts with P" is one raw prefix listing where the
//! service offers one (S3, GCS, Azure), and one directory listing plus a look at each match
//! elsewhere. The scope segment is `noscope` or `scope-<encoded scope>`, which cannot collide.
//!
//! Invariants: the archive is uploaded first; the metadata object is written last and
//! create-only (`PutMode::Create`, `If-None-Match: *`), so of concurrent saves of one entry
//! exactly one becomes visible, and an upload that dies at any moment leaves at most an
//! unreferenced archive (swept by `gc --remote`), never a half entry. Deleting removes the
//! metadata first. Nothing read from the bucket is trusted: repo, scope, key and version come
//! from the object's place and must agree with the metadata; every field passes
//! [`Entry::check`]; a metadata object is read only up to [`MAX_META_BYTES`]; the archive's
//! place is derived from its id and codec, and its size must be the metadata's before a byte
//! is downloaded.
//!
//! `object_store` is async; the rest of wit-cache is not. An [`ObjectTier`] owns a small
//! current-thread tokio runtime and blocks on it, so async never leaks out of this module.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read, Seek as _, Write};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use futures_util::{StreamExt as _, TryStreamExt as _};
use object_store::list::{PaginatedListOptions, PaginatedListStore};
use object_store::path::Path as ObjPath;
use object_store::{
    BackoffConfig, ClientConfigKey, GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt,
    PutMode, PutOptions, PutPayload, RetryConfig, WriteMultipart,
};
use serde::{Deserialize, Serialize};

use super::entry::{BadEntry, Damage, Entry, Identity, RawEntry, Timestamp};
use super::gc::{self, Policy};
use super::tier::{
    CommitMode, CommitReport, Committed, Filter, Found, GcReport, Listing, Lookup, NewEntry,
    OpenFailure, Opened, Place, Query, Refusal, Refused, Removal, Removed, RepoStats, Sort,
    Staging, Stats, Step, Tier,
};
use crate::error::UsageError;
use crate::signing::Signer;

/// Parts of a multipart upload and ranges of a parallel download.
pub const CHUNK: usize = 8 << 20;
/// Parts or ranges in flight at once.
const PARALLEL: usize = 4;
/// S3's limit on the length of an object name.
const MAX_NAME_BYTES: usize = 1024;
/// The metadata object's name in an entry's directory.
const META: &str = "entry.json";
/// The largest metadata object read (a real one is well under 4 KiB).
pub const MAX_META_BYTES: u64 = 64 * 1024;
/// The layout version (a directory under the prefix).
const LAYOUT: &str = "v1";
/// The metadata format this binary writes and reads.
const META_FORMAT: u32 = 1;
/// How long an archive without metadata may be a save in progress before gc removes it.
pub const ORPHAN_GRACE_MS: i64 = 3600 * 1000;

/// The kinds of object storage a `--store` URL may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    S3,
    Gcs,
    Azure,
    File,
}

/// A validated `--store` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUrl {
    pub scheme: Scheme,
    /// The bucket or container; for `file://`, the absolute directory.
    pub bucket: String,
    /// Without leading or trailing slashes; may be empty (always empty for `file://`).
    pub prefix: String,
}

const URL_FORMS: &str =
    "use s3://BUCKET[/PREFIX], gs://BUCKET[/PREFIX], az://CONTAINER[/PREFIX] or file:///DIR";

impl StoreUrl {
    /// Parses a store URL; `source` names the flag or variable in errors.
    pub fn parse(raw: &str, source: &str) -> Result<Self, UsageError> {
        let bad = |why: &str| UsageError::new(format!("{source} '{raw}' {why}: {URL_FORMS}"));
        let (scheme, rest) = raw
            .split_once("://")
            .ok_or_else(|| bad("is not an object store URL"))?;
        let scheme = match scheme {
            "s3" => Scheme::S3,
            "gs" => Scheme::Gcs,
            "az" => Scheme::Azure,
            "file" => Scheme::File,
            _ => return Err(bad(&format!("has an unsupported scheme '{scheme}'"))),
        };
        if raw.chars().any(char::is_control) {
            return Err(bad("contains control characters"));
        }
        if scheme == Scheme::File {
            if !rest.starts_with('/') {
                return Err(bad(
                    "names no absolute directory (file:// needs three slashes)",
                ));
            }
            let dir = crate::paths::normalize(std::path::Path::new(rest));
            let dir = dir.to_string_lossy().into_owned();
            if dir == "/" {
                return Err(bad("names the file system root"));
            }
            return Ok(Self {
                scheme,
                bucket: dir,
                prefix: String::new(),
            });
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("names no bucket"));
        }
        let extra: &[u8] = match scheme {
            Scheme::Gcs => b".-_",
            Scheme::Azure => b"-",
            _ => b".-",
        };
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || extra.contains(&b));
        if !bucket_ok {
            return Err(bad(
                "has an invalid bucket name (3 to 63 lowercase letters, digits, dots, hyphens)",
            ));
        }
        let prefix = prefix.trim_matches('/');
        for seg in prefix.split('/').filter(|_| !prefix.is_empty()) {
            if seg.is_empty() || seg == "." || seg == ".." {
                return Err(bad(
                    "has an invalid prefix (no empty, '.' or '..' segments)",
                ));
            }
        }
        Ok(Self {
            scheme,
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }

    fn scheme_name(&self) -> &'static str {
        match self.scheme {
            Scheme::S3 => "s3",
            Scheme::Gcs => "gs",
            Scheme::Azure => "az",
            Scheme::File => "file",
        }
    }

    /// The client for this URL. Adding a kind of object storage is a match arm here (and
    /// one in [`StoreUrl::parse`]). Nothing goes over the network until the first call;
    /// credentials, region and endpoint come from the usual environment variables.
    fn client(&self) -> anyhow::Result<Client> {
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(5),
                base: 2.0,
            },
            max_retries: 3,
            retry_timeout: Duration::from_secs(60),
        };
        let context = || format!("cannot configure the object store {self}");
        // Timeouts are set key by key: `with_client_options` would drop settings such as
        // AWS_ALLOW_HTTP that `from_env` read.
        Ok(match self.scheme {
            Scheme::S3 => {
                use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey as K};
                let s3 = Arc::new(
                    AmazonS3Builder::from_env()
                        .with_bucket_name(&self.bucket)
                        .with_config(K::Client(ClientConfigKey::ConnectTimeout), "5s")
                        .with_config(K::Client(ClientConfigKey::Timeout), "120s")
                        .with_retry(retry)
                        .build()
                        .with_context(context)?,
                );
                Client {
                    store: s3.clone(),
                    raw_list: Some(s3),
                    local: None,
                }
            }
            Scheme::Gcs => {
                use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey as K};
                let gcs = Arc::new(
                    GoogleCloudStorageBuilder::from_env()
                        .with_bucket_name(&self.bucket)
                        .with_config(K::Client(ClientConfigKey::ConnectTimeout), "5s")
                        .with_config(K::Client(ClientConfigKey::Timeout), "120s")
                        .with_retry(retry)
                        .build()
                        .with_context(context)?,
                );
                Client {
                    store: gcs.clone(),
                    raw_list: Some(gcs),
                    local: None,
                }
            }
            Scheme::Azure => {
                use object_store::azure::{AzureConfigKey as K, MicrosoftAzureBuilder};
                let az = Arc::new(
                    MicrosoftAzureBuilder::from_env()
                        .with_container_name(&self.bucket)
                        .with_config(K::Client(ClientConfigKey::ConnectTimeout), "5s")
                        .with_config(K::Client(ClientConfigKey::Timeout), "120s")
                        .with_retry(retry)
                        .build()
                        .with_context(context)?,
                );
                Client {
                    store: az.clone(),
                    raw_list: Some(az),
                    local: None,
                }
            }
            Scheme::File => {
                let fs = object_store::local::LocalFileSystem::new_with_prefix(&self.bucket)
                    .with_context(|| {
                        format!("the shared store directory {} is not usable", self.bucket)
                    })?;
                Client {
                    store: Arc::new(fs),
                    raw_list: None,
                    local: Some(super::dirs::StoreDirs::new(std::path::Path::new(
                        &self.bucket,
                    ))),
                }
            }
        })
    }
}

impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.scheme_name();
        match (self.scheme, self.prefix.is_empty()) {
            (Scheme::File, _) => write!(f, "file://{}", self.bucket),
            (_, true) => write!(f, "{scheme}://{}", self.bucket),
            (_, false) => write!(f, "{scheme}://{}/{}", self.bucket, self.prefix),
        }
    }
}

/// An object store, and its raw prefix listing where the service has one.
struct Client {
    store: Arc<dyn ObjectStore>,
    raw_list: Option<Arc<dyn PaginatedListStore>>,
    /// A directory store (file://) seen as a store directory: object_store's file system
    /// backend follows symlinks and opens FIFOs blocking, so each object is checked first.
    local: Option<super::dirs::StoreDirs>,
}

impl Client {
    /// For a directory store: why `path` must not be read or deleted (a symlink on the way
    /// out of the store, or not a regular file); `None` when it may (or does not exist).
    fn refusal(&self, path: &ObjPath) -> Option<String> {
        let dirs = self.local.as_ref()?;
        let parts: Vec<&[u8]> = path.as_ref().split('/').map(str::as_bytes).collect();
        let (name, dir) = parts.split_last()?;
        match dirs.open_file(dir, name) {
            Ok(_) | Err(super::dirs::OpenError::NotFound) => None,
            Err(super::dirs::OpenError::NotRegular(at, kind)) => Some(format!(
                "refusing {path} in the shared store: {} is {}, not a regular file",
                at.strip_prefix(dirs.root()).unwrap_or(&at).display(),
                kind.describe()
            )),
            Err(e) => Some(format!("refusing {path} in the shared store: {e}")),
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
struct Meta {
    format: u32,
    repo: String,
    scope: Option<String>,
    /// The key as given (the path holds the folded one).
    key: String,
    version: String,
    paths: Vec<String>,
    compression: String,
    /// The archive's name in the entry's directory: `<id>.<extension>`.
    archive: String,
    size_bytes: u64,
    unpacked_bytes: u64,
    file_count: u64,
    /// SHA-256 of the archive, hex.
    digest: String,
    /// RFC 3339 UTC.
    created_at: String,
    /// Unix ms (the same instant, for gc without parsing).
    created_at_ms: i64,
    created_by_run: Option<String>,
    signature: Option<String>,
}

impl Meta {
    fn of(e: &Entry) -> Self {
        Self {
            format: META_FORMAT,
            repo: e.repo.clone(),
            scope: e.scope.clone(),
            key: e.key.clone(),
            version: e.version.clone(),
            paths: e.paths.clone(),
            compression: e.compression_name().to_string(),
            archive: e.archive.file_name(e.codec),
            size_bytes: e.size_bytes,
            unpacked_bytes: e.unpacked_bytes,
            file_count: e.file_count,
            digest: e.digest.clone(),
            created_at: e.created_at.rfc3339(),
            created_at_ms: e.created_at.ms(),
            created_by_run: e.created_by_run.clone(),
            signature: e.signature.clone(),
        }
    }
}

/// Where one entry's objects are: the parts of its directory, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Location {
    repo: String,
    scope: Option<String>,
    key_segment: String,
    version: String,
    file: String,
}

/// A metadata object that is not a usable entry, as a [`BadEntry`].
fn bad_object(path: &ObjPath, loc: Option<&Location>, damage: Damage) -> BadEntry {
    BadEntry {
        place: super::entry::shorten(path.as_ref()),
        key: loc
            .and_then(|l| decode_segment(&l.key_segment))
            .map(|k| super::entry::shorten(&k))
            .unwrap_or_default(),
        repo: loc
            .map(|l| super::entry::shorten(&l.repo))
            .unwrap_or_default(),
        damage,
        row: None,
        archive: None,
    }
}

/// A handle on the shared store.
pub struct ObjectTier {
    rt: tokio::runtime::Runtime,
    client: Client,
    url: StoreUrl,
    /// `PREFIX/v1`, or `v1`.
    root: String,
    signer: Option<Signer>,
}

impl ObjectTier {
    /// Connects lazily: nothing goes over the network until the first call.
    pub fn new(url: &StoreUrl, signer: Option<Signer>) -> anyhow::Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the runtime for the object store client")?;
        let client = url.client()?;
        let root = if url.prefix.is_empty() {
            LAYOUT.to_string()
        } else {
            format!("{}/{LAYOUT}", url.prefix)
        };
        Ok(Self {
            rt,
            client,
            url: url.clone(),
            root,
            signer,
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
    fn entry_dir(&self, id: &Identity) -> anyhow::Result<String> {
        let dir = format!(
            "{}/{}/{}",
            self.scope_dir(&id.repo, id.scope.as_deref()),
            encode_segment(&id.key_folded),
            id.version
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

    fn meta_path(&self, id: &Identity) -> anyhow::Result<ObjPath> {
        Ok(ObjPath::parse(format!("{}/{META}", self.entry_dir(id)?))?)
    }

    /// The archive object of an entry, derived from its identity, id and codec.
    fn archive_path(&self, e: &Entry) -> anyhow::Result<ObjPath> {
        Ok(ObjPath::parse(format!(
            "{}/{}",
            self.entry_dir(&e.identity())?,
            e.archive.file_name(e.codec)
        ))?)
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

    /// Every object whose name starts with `prefix` as a raw string (where the service can
    /// list so), else every object below the directory `dir`.
    async fn list_under(
        &self,
        raw_prefix: &str,
        dir: &str,
    ) -> object_store::Result<Vec<ObjectMeta>> {
        let Some(raw) = &self.client.raw_list else {
            let dir = ObjPath::parse(dir)?;
            return self
                .client
                .store
                .list(Some(&dir))
                .try_filter(|o| std::future::ready(o.location.as_ref().starts_with(raw_prefix)))
                .try_collect()
                .await;
        };
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = raw
                .list_paginated(
                    Some(raw_prefix),
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

    /// The metadata objects of every entry in `scope` whose folded key starts with
    /// `key_enc` (encoded) and whose version is `version`.
    async fn candidates(
        &self,
        repo: &str,
        scope: Option<&str>,
        key_enc: &str,
        version: &str,
    ) -> object_store::Result<Vec<(ObjectMeta, Location)>> {
        let dir = self.scope_dir(repo, scope);
        let prefix = format!("{dir}/{key_enc}");
        let listed = if self.client.raw_list.is_some() {
            self.list_under(&prefix, &dir).await?
        } else {
            // A directory store: the key directories, then each match's metadata object.
            let listing = match ObjPath::parse(&dir) {
                Ok(d) => self.client.store.list_with_delimiter(Some(&d)).await?,
                Err(_) => return Ok(Vec::new()),
            };
            let mut out = Vec::new();
            for key_dir in listing.common_prefixes {
                if !key_dir.as_ref().starts_with(&prefix) {
                    continue;
                }
                let Ok(meta) = ObjPath::parse(format!("{key_dir}/{version}/{META}")) else {
                    continue;
                };
                if self.client.refusal(&meta).is_some() {
                    // Not opened (the backend's head opens it, and a FIFO would block): the
                    // metadata read refuses it with the reason.
                    #[allow(
                        clippy::default_trait_access,
                        reason = "the time is never read, and chrono is not our dependency"
                    )]
                    out.push(ObjectMeta {
                        location: meta,
                        last_modified: Default::default(),
                        size: 0,
                        e_tag: None,
                        version: None,
                    });
                    continue;
                }
                match self.client.store.head(&meta).await {
                    Ok(o) => out.push(o),
                    Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            out
        };
        Ok(listed
            .into_iter()
            .filter_map(|o| {
                let loc = self.locate(o.location.as_ref())?;
                (loc.file == META && loc.version == version && loc.key_segment.starts_with(key_enc))
                    .then_some((o, loc))
            })
            .collect())
    }

    /// Reads and checks one metadata object (whose listed size is `size`, when known).
    /// `Ok(None)` when it was deleted meanwhile.
    async fn read_meta(
        &self,
        path: &ObjPath,
        size: Option<u64>,
    ) -> anyhow::Result<Option<Result<Entry, BadEntry>>> {
        let Some(loc) = self.locate(path.as_ref()) else {
            return Ok(Some(Err(bad_object(
                path,
                None,
                Damage::new("not an entry location"),
            ))));
        };
        let bad = |d: Damage| Ok(Some(Err(bad_object(path, Some(&loc), d))));
        if size.is_some_and(|s| s > MAX_META_BYTES) {
            return bad(Damage::new(format!(
                "the metadata object is {} bytes (at most {MAX_META_BYTES})",
                size.unwrap_or(0)
            )));
        }
        let opts = GetOptions {
            range: Some(GetRange::Bounded(0..MAX_META_BYTES + 1)),
            ..GetOptions::default()
        };
        if let Some(why) = self.client.refusal(path) {
            return bad(Damage::new(why));
        }
        let bytes = match self.client.store.get_opts(path, opts).await {
            Ok(r) => r.bytes().await?,
            // Deleted between the listing and now.
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if bytes.len() as u64 > MAX_META_BYTES {
            return bad(Damage::new(format!(
                "the metadata object is larger than {MAX_META_BYTES} bytes"
            )));
        }
        let value: serde_json::Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => return bad(Damage::new(format!("unreadable metadata ({e})"))),
        };
        let format = value.get("format").and_then(serde_json::Value::as_u64);
        if format != Some(u64::from(META_FORMAT)) {
            // A newer binary's format: skipped, never removed.
            return bad(Damage(
                format!("metadata format {format:?} is unknown"),
                super::entry::Foreign::Maybe,
            ));
        }
        let meta: Meta = match serde_json::from_value(value) {
            Ok(m) => m,
            Err(e) => return bad(Damage::new(format!("unreadable metadata ({e})"))),
        };
        if encode_segment(&crate::keys::fold(&meta.key)) != loc.key_segment
            || meta.version != loc.version
            || meta.repo != loc.repo
            || meta.scope != loc.scope
        {
            return bad(Damage::new("its metadata does not match its location"));
        }
        let raw = RawEntry {
            repo: meta.repo,
            scope: meta.scope,
            key: meta.key,
            version: meta.version,
            paths: meta.paths,
            codec: meta.compression,
            archive: meta.archive,
            size_bytes: i128::from(meta.size_bytes),
            unpacked_bytes: i128::from(meta.unpacked_bytes),
            file_count: i128::from(meta.file_count),
            digest: meta.digest,
            created_at: i128::from(meta.created_at_ms),
            created_by_run: meta.created_by_run,
            signature: meta.signature,
        };
        match Entry::check(raw, None) {
            Ok(e) => Ok(Some(Ok(e))),
            Err(d) => bad(d),
        }
    }

    fn accepts(&self, e: &Entry) -> Result<(), Refusal> {
        match &self.signer {
            Some(s) if !s.verify(e) => Err(Refusal::Unsigned),
            _ => Ok(()),
        }
    }

    async fn lookup_async(&self, q: &Query, until: Option<Step>) -> anyhow::Result<Lookup> {
        let mut lookup = Lookup::default();
        let location = self.to_string();
        for step in q.steps().filter(|s| !s.prefix) {
            if until.is_some_and(|u| step > u) {
                break;
            }
            let scope = q.scopes[step.scope].as_deref();
            let key_enc = encode_segment(&q.keys[step.key]);
            if self.scope_dir(&q.repo, scope).len() + key_enc.len() + 64 > MAX_NAME_BYTES {
                continue; // no entry can have so long a name
            }
            let listed = self
                .candidates(&q.repo, scope, &key_enc, &q.version)
                .await?;
            let (exact, mut prefixed): (Vec<_>, Vec<_>) = listed
                .into_iter()
                .partition(|(_, l)| l.key_segment == key_enc);
            // Newest first. Listings give times to the second, so entries created in the same
            // second are ordered by their metadata's creation time (then name, so every host
            // picks the same one).
            prefixed.sort_by(|(a, _), (b, _)| {
                (b.last_modified.timestamp(), &b.location)
                    .cmp(&(a.last_modified.timestamp(), &a.location))
            });
            let mut groups: Vec<(Step, Vec<&ObjectMeta>)> =
                exact.iter().map(|(o, _)| (step, vec![o])).collect();
            let prefix_step = Step {
                prefix: true,
                ..step
            };
            let mut last_second = None;
            for (o, _) in &prefixed {
                let second = o.last_modified.timestamp();
                match groups.last_mut() {
                    Some((s, g)) if *s == prefix_step && last_second == Some(second) => g.push(o),
                    _ => groups.push((prefix_step, vec![o])),
                }
                last_second = Some(second);
            }
            for (at, group) in groups {
                if until.is_some_and(|u| at > u) {
                    break;
                }
                let mut found = Vec::new();
                for o in group {
                    match self.read_meta(&o.location, Some(o.size)).await? {
                        Some(Ok(e)) => found.push(e),
                        Some(Err(bad)) => lookup.refused.push(Refused {
                            step: at,
                            key: bad.key,
                            scope: scope.map(str::to_string),
                            why: Refusal::Damaged(bad.damage.0),
                            tier: location.clone(),
                        }),
                        None => {}
                    }
                }
                found.sort_by_key(|e| std::cmp::Reverse(e.created_at));
                for e in found {
                    match self.accepts(&e) {
                        Ok(()) => {
                            lookup.found = Some(Found {
                                entry: e,
                                step: at,
                                local: false,
                            });
                            return Ok(lookup);
                        }
                        Err(why) => lookup.refused.push(Refused {
                            step: at,
                            key: e.key.clone(),
                            scope: e.scope.clone(),
                            why,
                            tier: location.clone(),
                        }),
                    }
                }
            }
        }
        Ok(lookup)
    }

    /// Downloads an entry's archive into `out` in parallel ranges, in order, and checks its
    /// size and SHA-256 against the metadata.
    pub fn download_into(&self, e: &Entry, out: &mut File) -> anyhow::Result<()> {
        use sha2::Digest as _;
        let path = self.archive_path(e)?;
        if let Some(why) = self.client.refusal(&path) {
            bail!(why);
        }
        let mut hasher = sha2::Sha256::new();
        self.rt.block_on(async {
            let head = self
                .client
                .store
                .head(&path)
                .await
                .with_context(|| format!("cannot find the archive {path}"))?;
            // A cas entry's size counts the packs its save wrote as well as its manifest; the
            // manifest's own size is bounded here and its digest checked below.
            let size = match e.format {
                crate::store::Format::Archive => e.size_bytes,
                crate::store::Format::Cas => head.size.min(512 << 20),
            };
            if head.size != size {
                bail!(
                    "the archive {path} has {} bytes, its metadata says {size}",
                    head.size
                );
            }
            let chunk = CHUNK as u64;
            // Ranges are made as they are needed: a size is never an allocation.
            let ranges = (0..size.div_ceil(chunk)).map(|i| i * chunk..((i + 1) * chunk).min(size));
            let path = &path;
            let mut parts = futures_util::stream::iter(ranges)
                .map(|r| async move {
                    let want = r.end - r.start;
                    let bytes = self.client.store.get_range(path, r).await?;
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
        let digest = crate::keys::hex(&hasher.finalize());
        if digest != e.digest {
            bail!(
                "the archive's SHA-256 {digest} does not match its metadata ({})",
                e.digest
            );
        }
        out.sync_all()
            .context("cannot sync the downloaded archive")?;
        Ok(())
    }

    /// `PREFIX/cas-v1/packs/<shard>/<name>.pack`: pack files of the cas format, shared by
    /// every entry of the bucket, beside the entries' tree (never under it, where a scan would
    /// take them for orphans). `name` is checked to be a 64-digit hex hash.
    fn pack_path(&self, name: &str) -> anyhow::Result<ObjPath> {
        if name.len() != 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            bail!("{name:?} is not a pack name");
        }
        let rel = format!("cas-v1/packs/{}/{name}.pack", &name[..2]);
        let full = if self.url.prefix.is_empty() {
            rel
        } else {
            format!("{}/{rel}", self.url.prefix)
        };
        Ok(ObjPath::parse(full)?)
    }

    /// Whether the bucket has the pack.
    pub fn has_pack(&self, name: &str) -> anyhow::Result<bool> {
        let path = self.pack_path(name)?;
        self.rt.block_on(async {
            match self.client.store.head(&path).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(anyhow!(e).context(format!("cannot look for the pack {path}"))),
            }
        })
    }

    /// Uploads a pack; false when another host had uploaded it meanwhile (the same bytes:
    /// a pack is named by its hash).
    pub fn put_pack(&self, name: &str, file: &mut File, size: u64) -> anyhow::Result<bool> {
        let path = self.pack_path(name)?;
        self.rt.block_on(async {
            match self.put_archive(file, &path, size).await {
                Ok(()) => Ok(true),
                Err(e)
                    if e.downcast_ref::<object_store::Error>().is_some_and(|e| {
                        matches!(e, object_store::Error::AlreadyExists { .. })
                    }) =>
                {
                    Ok(false)
                }
                Err(e) => Err(e.context(format!("cannot upload the pack {path}"))),
            }
        })
    }

    /// Downloads a pack into `out`, checked against its name; its size.
    pub fn get_pack(&self, name: &str, out: &mut File) -> anyhow::Result<u64> {
        use sha2::Digest as _;
        let path = self.pack_path(name)?;
        let mut hasher = sha2::Sha256::new();
        let size = self.rt.block_on(async {
            let got = self
                .client
                .store
                .get(&path)
                .await
                .with_context(|| format!("cannot download the pack {path}"))?;
            let mut stream = got.into_stream();
            let mut size = 0u64;
            while let Some(bytes) = stream.try_next().await? {
                if size + bytes.len() as u64 > crate::store::entry::MAX_ENTRY_BYTES {
                    bail!("the pack {path} is too large");
                }
                hasher.update(&bytes);
                out.write_all(&bytes)
                    .context("cannot write the downloaded pack")?;
                size += bytes.len() as u64;
            }
            anyhow::Ok(size)
        })?;
        let digest = crate::keys::hex(&hasher.finalize());
        if digest != name {
            bail!("the pack {path} has SHA-256 {digest}: it is damaged");
        }
        out.sync_all().context("cannot sync the downloaded pack")?;
        Ok(size)
    }

    async fn put_archive(&self, file: &mut File, path: &ObjPath, size: u64) -> anyhow::Result<()> {
        if size <= CHUNK as u64 {
            let mut buf = Vec::with_capacity(size as usize);
            file.take(CHUNK as u64 + 1).read_to_end(&mut buf)?;
            self.client
                .store
                .put_opts(
                    path,
                    PutPayload::from(buf),
                    PutOptions::from(PutMode::Create),
                )
                .await?;
            return Ok(());
        }
        let upload = self.client.store.put_multipart(path).await?;
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

    /// Every entry (of `repo`, when given), the bad metadata objects, and the archives
    /// without metadata.
    fn scan(
        &self,
        repo: Option<&str>,
    ) -> anyhow::Result<(Vec<Entry>, Vec<BadEntry>, Vec<ObjectMeta>)> {
        let dir = match repo {
            Some(r) => self.repo_dir(r),
            None => self.root.clone(),
        };
        self.rt.block_on(async {
            let objects = self.list_under(&format!("{dir}/"), &dir).await?;
            let metas: Vec<&ObjectMeta> = objects
                .iter()
                .filter(|o| o.location.filename() == Some(META))
                .collect();
            let read: Vec<Option<Result<Entry, BadEntry>>> = futures_util::stream::iter(metas)
                .map(|o| async move { self.read_meta(&o.location, Some(o.size)).await })
                .buffered(8)
                .try_collect()
                .await?;
            let mut entries = Vec::new();
            let mut bad = Vec::new();
            for r in read.into_iter().flatten() {
                match r {
                    Ok(e) => entries.push(e),
                    Err(b) => bad.push(b),
                }
            }
            let referenced: std::collections::HashSet<ObjPath> = entries
                .iter()
                .filter_map(|e| self.archive_path(e).ok())
                .collect();
            let orphans: Vec<ObjectMeta> = objects
                .into_iter()
                .filter(|o| o.location.filename() != Some(META))
                .filter(|o| !referenced.contains(&o.location))
                // Only what has the name and place of an archive this tier writes: a
                // listing may hold anything (a directory store lists through symlinks).
                .filter(|o| {
                    self.locate(o.location.as_ref()).is_some_and(|loc| {
                        super::entry::ArchiveId::parse_file_name(&loc.file).is_some()
                    })
                })
                .filter(|o| self.client.refusal(&o.location).is_none())
                .collect();
            Ok((entries, bad, orphans))
        })
    }

    async fn delete_entries(&self, entries: &[Entry]) -> anyhow::Result<Removed> {
        let mut removed = Removed::default();
        for e in entries {
            let meta = self.meta_path(&e.identity())?;
            let archive = self.archive_path(e)?;
            if let Some(why) = [&meta, &archive]
                .into_iter()
                .find_map(|p| self.client.refusal(p))
            {
                bail!(why);
            }
            self.client.store.delete(&meta).await?;
            self.client.store.delete(&archive).await?;
            removed.count += 1;
            removed.freed_bytes += e.size_bytes;
            removed.keys.push(e.key.clone());
        }
        Ok(removed)
    }
}

impl std::fmt::Display for ObjectTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.url.fmt(f)
    }
}

impl Tier for ObjectTier {
    fn location(&self) -> String {
        self.url.to_string()
    }

    fn archive_location(&self, e: &Entry) -> String {
        let path = self
            .archive_path(e)
            .map(|p| p.to_string())
            .unwrap_or_default();
        match self.url.scheme {
            Scheme::File => format!("{}/{path}", self.url),
            _ => format!("{}://{}/{path}", self.url.scheme_name(), self.url.bucket),
        }
    }

    fn lookup(&mut self, q: &Query, until: Option<Step>) -> anyhow::Result<Lookup> {
        self.rt.block_on(self.lookup_async(q, until))
    }

    fn find(&mut self, id: &Identity) -> anyhow::Result<Option<Entry>> {
        let path = self.meta_path(id)?;
        let found = self.rt.block_on(self.read_meta(&path, None))?;
        Ok(found.and_then(Result::ok))
    }

    fn stage(&mut self) -> anyhow::Result<Staging> {
        let temp = tempfile::NamedTempFile::new().context("cannot create a temp file")?;
        let file = temp.reopen().context("cannot reopen the temp file")?;
        Ok(Staging::new(file, Place::Temp(temp)))
    }

    fn commit(
        &mut self,
        mut staging: Staging,
        new: NewEntry,
        mode: CommitMode,
    ) -> anyhow::Result<CommitReport> {
        let entry = new.into_entry(self.signer.as_ref())?;
        let id = entry.identity();
        let meta_path = self.meta_path(&id)?;
        let archive_path = self.archive_path(&entry)?;
        let body = serde_json::to_vec_pretty(&Meta::of(&entry)).expect("metadata serialises");
        staging.file.rewind()?;
        let committed = self.rt.block_on(async {
            let old = match self.read_meta(&meta_path, None).await? {
                Some(Ok(old)) if mode != CommitMode::Replace => {
                    let keep = mode == CommitMode::Create || self.accepts(&old).is_ok();
                    if keep {
                        return anyhow::Ok(Committed::Existed {
                            entry: old,
                            meanwhile: false,
                        });
                    }
                    Some(old)
                }
                Some(Ok(old)) => Some(old),
                _ => None,
            };
            self.put_archive(&mut staging.file, &archive_path, entry.size_bytes)
                .await
                .context("cannot upload the archive")?;
            let put_mode = if old.is_some() || mode == CommitMode::Replace {
                PutMode::Overwrite
            } else {
                PutMode::Create
            };
            let put = self
                .client
                .store
                .put_opts(&meta_path, PutPayload::from(body), PutOptions::from(put_mode))
                .await;
            match put {
                Ok(_) => {
                    if let Some(old) = &old {
                        if let Ok(p) = self.archive_path(old) {
                            if p != archive_path {
                                let _ = self.client.store.delete(&p).await;
                            }
                        }
                    }
                    Ok(Committed::New {
                        entry,
                        replaced: old,
                        evicted: Removed::default(),
                    })
                }
                Err(e) => {
                    let _ = self.client.store.delete(&archive_path).await;
                    match e {
                        object_store::Error::AlreadyExists { .. } => {
                            // Another host's save got there first.
                            match self.read_meta(&meta_path, None).await? {
                                Some(Ok(theirs)) => Ok(Committed::Existed {
                                    entry: theirs,
                                    meanwhile: true,
                                }),
                                _ => bail!("another host saved the entry meanwhile, but its metadata is unreadable"),
                            }
                        }
                        e => Err(anyhow!(e).context("cannot write the entry's metadata")),
                    }
                }
            }
        })?;
        Ok(CommitReport {
            committed,
            shared: None,
        })
    }

    fn open(&mut self, entry: &Entry) -> Result<Opened, OpenFailure> {
        let temp = tempfile::tempfile()
            .map_err(|e| OpenFailure::Failed(anyhow!(e).context("cannot create a temp file")))?;
        let mut file = temp;
        self.download_into(entry, &mut file)
            .map_err(OpenFailure::Failed)?;
        file.rewind().map_err(|e| OpenFailure::Failed(anyhow!(e)))?;
        Ok(Opened {
            file,
            entry: entry.clone(),
        })
    }

    fn list(&mut self, filter: &Filter) -> anyhow::Result<Listing> {
        if let Some(id) = filter.id {
            return Err(UsageError::new(format!(
                "id {id} names an entry of this host's store; the shared store has no ids: use --key, --prefix or --all"
            ))
            .into());
        }
        let (mut entries, bad, _) = self.scan(filter.repo.as_deref())?;
        entries.retain(|e| {
            filter
                .scope
                .as_ref()
                .is_none_or(|s| e.scope.as_ref() == Some(s))
                && filter.version.as_ref().is_none_or(|v| &e.version == v)
                && filter
                    .key_folded
                    .as_ref()
                    .is_none_or(|k| &e.key_folded() == k)
                && filter
                    .prefix_folded
                    .as_ref()
                    .is_none_or(|p| e.key_folded().starts_with(p.as_str()))
        });
        match filter.sort {
            Sort::Size => entries.sort_by_key(|e| std::cmp::Reverse(e.size_bytes)),
            Sort::LeastRecentlyUsed => {
                entries.sort_by(|a, b| (&a.repo, a.created_at).cmp(&(&b.repo, b.created_at)));
            }
            // The shared store records no use: last used (and hits) is creation.
            Sort::Created | Sort::LastUsed | Sort::Hits => {
                entries.sort_by_key(|e| std::cmp::Reverse(e.created_at));
            }
        }
        let total = entries.len() as u64;
        let offset = usize::try_from(filter.offset).unwrap_or(usize::MAX);
        let entries: Vec<Entry> = entries
            .into_iter()
            .skip(offset)
            .take(
                filter
                    .limit
                    .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX)),
            )
            .collect();
        Ok(Listing {
            entries,
            total,
            bad,
        })
    }

    fn delete(&mut self, entries: &[Entry], _why: Removal) -> anyhow::Result<Removed> {
        self.rt.block_on(self.delete_entries(entries))
    }

    fn stats(&mut self, repo: Option<&str>, _since: Option<Timestamp>) -> anyhow::Result<Stats> {
        let (entries, _, orphans) = self.scan(repo)?;
        let mut repos: Vec<RepoStats> = Vec::new();
        for e in &entries {
            let i = if let Some(i) = repos.iter().position(|s| s.repo == e.repo) {
                i
            } else {
                repos.push(RepoStats {
                    repo: e.repo.clone(),
                    ..RepoStats::default()
                });
                repos.len() - 1
            };
            repos[i].entries += 1;
            repos[i].size_bytes += e.size_bytes;
        }
        repos.sort_by(|a, b| a.repo.cmp(&b.repo));
        Ok(Stats {
            repos,
            top_keys: Vec::new(),
            unreferenced: Some(orphans.len() as u64),
        })
    }

    fn gc(
        &mut self,
        policy: &Policy,
        repo: Option<&str>,
        dry_run: bool,
    ) -> anyhow::Result<GcReport> {
        let (mut entries, bad, orphans) = self.scan(repo)?;
        // The eviction order gc::plan expects: per repo, least recently used (here: oldest)
        // first.
        entries.sort_by(|a, b| (&a.repo, a.created_at).cmp(&(&b.repo, b.created_at)));
        let plan = gc::plan(entries, policy, None);
        let doomed: Vec<Entry> = plan.entries().cloned().collect();
        let orphans: Vec<ObjectMeta> = orphans
            .into_iter()
            .filter(|o| o.last_modified.timestamp_millis() < policy.now_ms - ORPHAN_GRACE_MS)
            .collect();
        let mut report = GcReport {
            damaged: 0,
            orphans_removed: orphans.len(),
            dry_run,
            ..GcReport::default()
        };
        report.removed.left_alone = bad
            .iter()
            .map(|b| format!("{}: {}; left alone", b.place, b.damage))
            .collect();
        report.doomed = plan.doomed();
        if dry_run {
            let would = Removed::would(&doomed);
            report.removed.count = would.count;
            report.removed.freed_bytes = would.freed_bytes;
            report.removed.keys = would.keys;
            return Ok(report);
        }
        let removed = self.rt.block_on(async {
            let removed = self.delete_entries(&doomed).await?;
            for o in &orphans {
                self.client.store.delete(&o.location).await?;
            }
            anyhow::Ok(removed)
        })?;
        let left = std::mem::take(&mut report.removed.left_alone);
        report.removed = removed;
        report.removed.left_alone = left;
        Ok(report)
    }
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
        let f = StoreUrl::parse("file:///mnt/shared/./wit-cache/", "--store").unwrap();
        assert_eq!(
            (f.scheme, f.bucket.as_str()),
            (Scheme::File, "/mnt/shared/wit-cache")
        );
        assert_eq!(f.to_string(), "file:///mnt/shared/wit-cache");
        assert_eq!(
            StoreUrl::parse("gs://my_bucket/p", "--store")
                .unwrap()
                .to_string(),
            "gs://my_bucket/p"
        );
        assert_eq!(
            StoreUrl::parse("az://container", "--store").unwrap().scheme,
            Scheme::Azure
        );
        for bad in [
            "ftp://x",
            "s3://",
            "s3:///p",
            "s3://UPPER",
            "s3://b/../x",
            "/tmp/store",
            "file://relative/dir",
            "file:///",
            "az://under_score",
        ] {
            let err = StoreUrl::parse(bad, "--store").unwrap_err().to_string();
            assert!(err.starts_with(&format!("--store '{bad}'")), "{err}");
        }
    }

    #[test]
    fn every_scheme_builds_its_client() {
        // Building talks to nobody; GCS and Azure need their credential variables to be
        // absent or valid, so only the kind of client is checked here.
        let dir = tempfile::tempdir().unwrap();
        let file = format!("file://{}", dir.path().display());
        for url in [
            "s3://bucket",
            "gs://bucket",
            "az://container",
            file.as_str(),
        ] {
            let u = StoreUrl::parse(url, "--store").unwrap();
            let built = u.client();
            match u.scheme {
                Scheme::File | Scheme::S3 => assert!(built.is_ok(), "{url}"),
                // Azure needs an account name; GCS builds without credentials.
                Scheme::Gcs | Scheme::Azure => {}
            }
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
}
