//! A cache entry as every tier describes it, built only from validated fields.
//!
//! An entry read from the index or from the shared store's metadata is data a hostile job may
//! have written. [`Entry::check`] is the one gate: names follow the key and name rules, numbers
//! are in range, times are between 1970 and 9999, the digest and archive id have their exact
//! forms. A row or object that fails is damaged, reported, and never acted on — in particular
//! its archive's location is derived from its [`ArchiveId`] and [`Codec`], never read as a
//! path.

use std::fmt;

use crate::keys::{self, Key};
use crate::store::archive::Codec;

/// The largest entry the store accepts, archive or unpacked (1 TiB): well above any cache
/// GitHub allows (10 GiB per repo), far below what would overflow a sum or an allocation.
pub const MAX_ENTRY_BYTES: u64 = 1 << 40;
/// Most members one entry may hold (the extractor's own cap).
pub const MAX_FILES: u64 = 10_000_000;
/// Most path lines one entry records.
const MAX_PATH_LINES: usize = 1000;
/// Latest instant an index or metadata time may have: 9999-12-31T23:59:59.999Z.
const MAX_TIME_MS: i64 = 253_402_300_799_999;

/// A store-assigned archive id: 32 lowercase hex digits (a random UUID, simple form).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArchiveId([u8; 32]);

impl ArchiveId {
    pub fn random() -> Self {
        let text = uuid::Uuid::new_v4().simple().to_string();
        Self::parse(&text).expect("a simple UUID is 32 lowercase hex digits")
    }

    pub fn parse(text: &str) -> Option<Self> {
        let bytes: [u8; 32] = text.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            .then_some(Self(bytes))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ascii hex")
    }

    /// The shard directory the archive lives in (its first two digits).
    pub fn shard(&self) -> &str {
        &self.as_str()[..2]
    }

    /// `<id>.<extension>`: the archive's file name, local and in the shared store.
    pub fn file_name(&self, codec: Codec) -> String {
        format!("{}.{}", self.as_str(), codec.extension())
    }

    /// Splits `<id>.<extension>` back into its parts; `None` for any other name.
    pub fn parse_file_name(name: &str) -> Option<(Self, Codec)> {
        let (id, ext) = name.split_once('.')?;
        Some((Self::parse(id)?, Codec::from_extension(ext)?))
    }
}

impl fmt::Debug for ArchiveId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for ArchiveId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An instant in Unix milliseconds, between 1970 and the end of year 9999 (so that RFC 3339
/// formatting, sums and comparisons can never fail).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn from_ms(ms: i64) -> Option<Self> {
        (0..=MAX_TIME_MS).contains(&ms).then_some(Self(ms))
    }

    /// Now (or the fake clock), clamped into range.
    pub fn now() -> Self {
        Self(crate::clock::now_ms().clamp(0, MAX_TIME_MS))
    }

    pub fn ms(self) -> i64 {
        self.0
    }

    pub fn rfc3339(self) -> String {
        crate::clock::rfc3339(self.0)
    }
}

/// How an entry is stored: one archive file, or a manifest whose blobs live in packs shared
/// by every entry of the store (docs/cas.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Archive,
    Cas,
}

/// The `compression` an entry in the cas format is recorded with: older binaries do not know
/// it, so they skip such rows and never remove them.
pub const CAS_COMPRESSION: &str = "cas";

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Archive => "archive",
            Format::Cas => "cas",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "archive" => Some(Format::Archive),
            "cas" => Some(Format::Cas),
            _ => None,
        }
    }
}

/// The host-local view of an entry that only the local index keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// The index row's id (what `delete ID` takes).
    pub id: i64,
    pub last_accessed_at: Timestamp,
    pub access_count: u64,
}

/// One cache entry. Every field has passed [`Entry::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub repo: String,
    pub scope: Option<String>,
    /// The key as given when saved (lookups compare it folded).
    pub key: String,
    /// The digest of the path lines ([`keys::version_for`]).
    pub version: String,
    pub paths: Vec<String>,
    /// The archive's compression; for the cas format the manifest's (always zstd).
    pub codec: Codec,
    pub format: Format,
    pub archive: ArchiveId,
    pub size_bytes: u64,
    pub unpacked_bytes: u64,
    pub file_count: u64,
    /// SHA-256 of the archive (or manifest) file, 64 lowercase hex digits.
    pub digest: String,
    pub created_at: Timestamp,
    pub created_by_run: Option<String>,
    pub signature: Option<String>,
    /// `None` in a tier that records no use (the shared store).
    pub usage: Option<Usage>,
}

/// The raw fields of an entry as a tier read them, before checking.
#[derive(Debug, Clone, Default)]
pub struct RawEntry {
    pub repo: String,
    pub scope: Option<String>,
    pub key: String,
    pub version: String,
    pub paths: Vec<String>,
    pub codec: String,
    pub archive: String,
    pub size_bytes: i128,
    pub unpacked_bytes: i128,
    pub file_count: i128,
    pub digest: String,
    pub created_at: i128,
    pub created_by_run: Option<String>,
    pub signature: Option<String>,
}

/// Why a row or metadata object is not a usable entry. The message names the field and the
/// rule; values from outside are escaped by whoever prints it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Damage(pub String, pub Foreign);

/// Whether a bad entry may be a newer binary's (a codec or format this one does not know):
/// such entries are skipped but never removed, so an older `gc` cannot destroy them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Foreign {
    No,
    Maybe,
}

/// The longest text, in characters, that a message quotes from a row or object: a planted
/// multi-megabyte key must not become a multi-megabyte log line per row.
pub const MAX_QUOTED: usize = 200;

/// `text` cut to [`MAX_QUOTED`] characters, marked with `…` when it was longer.
pub fn shorten(text: &str) -> String {
    shorten_to(text, MAX_QUOTED)
}

/// A message about damage may quote a value and name a path or two.
const MAX_DAMAGE: usize = 3 * MAX_QUOTED;

fn shorten_to(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

impl Damage {
    pub fn new(msg: impl Into<String>) -> Self {
        Self(shorten_to(&msg.into(), MAX_DAMAGE), Foreign::No)
    }

    fn foreign(msg: impl Into<String>) -> Self {
        Self(shorten_to(&msg.into(), MAX_DAMAGE), Foreign::Maybe)
    }

    pub fn is_foreign(&self) -> bool {
        self.1 == Foreign::Maybe
    }
}

/// A name a newer binary could use for a codec or an archive extension.
fn plausible_name(s: &str) -> bool {
    (1..=16).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.')
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn count(value: i128, field: &str, max: u64) -> Result<u64, Damage> {
    u64::try_from(value)
        .ok()
        .filter(|v| *v <= max)
        .ok_or_else(|| Damage::new(format!("{field} {value} is out of range (0 to {max})")))
}

/// The fields of a [`RawEntry`] that checking turns into other types.
#[derive(Clone, Copy)]
struct Checked {
    codec: Codec,
    format: Format,
    archive: ArchiveId,
    created_at: Timestamp,
    size_bytes: u64,
    unpacked_bytes: u64,
    file_count: u64,
}

impl Entry {
    /// Checks every field of `raw`; the archive field is `<id>.<extension>` (the extension
    /// must be the codec's).
    pub fn check(raw: RawEntry, usage: Option<Usage>) -> Result<Self, Damage> {
        Self::check_or_return(raw, usage).map_err(|bad| bad.0)
    }

    /// [`Entry::check`] that hands back what it was given when it is not an entry (for the
    /// report that names its key and repo), so a reader need not copy them first.
    pub fn check_or_return(
        raw: RawEntry,
        usage: Option<Usage>,
    ) -> Result<Self, Box<(Damage, RawEntry)>> {
        match Self::validate(&raw) {
            Ok(parts) => Ok(Self::build(raw, usage, parts)),
            Err(damage) => Err(Box::new((damage, raw))),
        }
    }

    fn build(raw: RawEntry, usage: Option<Usage>, checked: Checked) -> Self {
        let Checked {
            codec,
            format,
            archive,
            created_at,
            size_bytes,
            unpacked_bytes,
            file_count,
        } = checked;
        Self {
            repo: raw.repo,
            scope: raw.scope,
            key: raw.key,
            version: raw.version,
            paths: raw.paths,
            codec,
            format,
            archive,
            size_bytes,
            unpacked_bytes,
            file_count,
            digest: raw.digest,
            created_at,
            created_by_run: raw.created_by_run,
            signature: raw.signature,
            usage,
        }
    }

    /// Every rule, without copying anything.
    fn validate(raw: &RawEntry) -> Result<Checked, Damage> {
        keys::check_name(&raw.repo, "repo").map_err(|e| Damage::new(e.0))?;
        if let Some(s) = &raw.scope {
            keys::check_name(s, "scope").map_err(|e| Damage::new(e.0))?;
        }
        Key::check(&raw.key, "key").map_err(|e| Damage::new(e.0))?;
        if !is_hex(&raw.version, 64) {
            return Err(Damage::new("version is not a 64-digit hex digest"));
        }
        if raw.paths.is_empty() || raw.paths.len() > MAX_PATH_LINES {
            return Err(Damage::new(format!(
                "{} path lines recorded (1 to {MAX_PATH_LINES} allowed)",
                raw.paths.len()
            )));
        }
        if raw
            .paths
            .iter()
            .any(|p| p.is_empty() || p.chars().any(char::is_control))
        {
            return Err(Damage::new(
                "a recorded path line is empty or has control characters",
            ));
        }
        let (codec, format) = if raw.codec == CAS_COMPRESSION {
            (Some(Codec::Zstd), Format::Cas)
        } else {
            (Codec::from_name(&raw.codec), Format::Archive)
        };
        let Some(codec) = codec else {
            let msg = format!("unknown compression {:?}", raw.codec);
            return Err(if plausible_name(&raw.codec) {
                Damage::foreign(msg)
            } else {
                Damage::new(msg)
            });
        };
        let (archive, ext_codec) = ArchiveId::parse_file_name(&raw.archive).ok_or_else(|| {
            Damage::new(format!(
                "archive name {:?} is not <id>.<extension>",
                raw.archive
            ))
        })?;
        if ext_codec != codec {
            return Err(Damage::new(format!(
                "archive name {:?} does not match the compression {}",
                raw.archive,
                codec.name()
            )));
        }
        if !is_hex(&raw.digest, 64) {
            return Err(Damage::new("digest is not a 64-digit hex SHA-256"));
        }
        let created_at = i64::try_from(raw.created_at)
            .ok()
            .and_then(Timestamp::from_ms)
            .ok_or_else(|| {
                Damage::new(format!(
                    "created time {} ms is out of range",
                    raw.created_at
                ))
            })?;
        if let Some(run) = &raw.created_by_run {
            keys::parse_name(run, "created_by_run").map_err(|e| Damage::new(e.0))?;
        }
        if let Some(sig) = &raw.signature {
            if sig.len() > 256 || sig.chars().any(|c| !c.is_ascii_graphic()) {
                return Err(Damage::new("signature is malformed"));
            }
        }
        Ok(Checked {
            codec,
            format,
            archive,
            created_at,
            size_bytes: count(raw.size_bytes, "size", MAX_ENTRY_BYTES)?,
            unpacked_bytes: count(raw.unpacked_bytes, "unpacked size", MAX_ENTRY_BYTES)?,
            file_count: count(raw.file_count, "file count", MAX_FILES)?,
        })
    }

    /// What the index and the shared store's metadata record as its compression: the
    /// codec's name, or [`CAS_COMPRESSION`].
    pub fn compression_name(&self) -> &'static str {
        compression_name(self.format, self.codec)
    }

    /// The key as the index compares it.
    pub fn key_folded(&self) -> String {
        keys::fold(&self.key)
    }

    /// The entry's identity: repo, scope, version and folded key.
    pub fn identity(&self) -> Identity {
        Identity {
            repo: self.repo.clone(),
            scope: self.scope.clone(),
            version: self.version.clone(),
            key_folded: self.key_folded(),
        }
    }

    /// The last use this tier knows of: the local index's, else creation.
    pub fn last_used(&self) -> Timestamp {
        self.usage
            .as_ref()
            .map_or(self.created_at, |u| u.last_accessed_at)
    }
}

/// See [`Entry::compression_name`].
pub fn compression_name(format: Format, codec: Codec) -> &'static str {
    match format {
        Format::Archive => codec.name(),
        Format::Cas => CAS_COMPRESSION,
    }
}

/// What identifies an entry in every tier: (repo, scope, version, folded key).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    pub repo: String,
    pub scope: Option<String>,
    pub version: String,
    pub key_folded: String,
}

/// A row or object that is not a usable entry, for reports (`list`, `gc`, `verify`).
#[derive(Debug, Clone)]
pub struct BadEntry {
    /// Where it is: `index row 12`, or an object name.
    pub place: String,
    /// What it claims to be, for messages (never acted on).
    pub key: String,
    pub repo: String,
    pub damage: Damage,
    /// The local row id, when it is one.
    pub row: Option<i64>,
    /// Its archive, when even that could be parsed (so that removing the row can remove the
    /// file the store made for it, and nothing else).
    pub archive: Option<(ArchiveId, Codec)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn raw() -> RawEntry {
        RawEntry {
            repo: "acme/app".into(),
            scope: None,
            key: "npm-Linux-1".into(),
            version: "a".repeat(64),
            paths: vec!["node_modules".into()],
            codec: "zstd".into(),
            archive: format!("{}.tar.zst", "0".repeat(32)),
            size_bytes: 10,
            unpacked_bytes: 20,
            file_count: 1,
            digest: "b".repeat(64),
            created_at: 1_700_000_000_000,
            created_by_run: None,
            signature: None,
        }
    }

    #[test]
    fn a_good_entry_passes() {
        let e = Entry::check(raw(), None).unwrap();
        assert_eq!(
            e.archive.file_name(e.codec),
            format!("{}.tar.zst", "0".repeat(32))
        );
        assert_eq!(e.archive.shard(), "00");
    }

    #[test]
    fn lies_are_damage() {
        type Lie = Box<dyn Fn(&mut RawEntry)>;
        let cases: Vec<(&str, Lie)> = vec![
            ("archive", Box::new(|r| r.archive = "/etc/passwd".into())),
            (
                "archive",
                Box::new(|r| r.archive = "../../x.tar.zst".into()),
            ),
            (
                "archive",
                Box::new(|r| r.archive = format!("archives-v1/00/{}.tar.zst", "0".repeat(32))),
            ),
            (
                "does not match",
                Box::new(|r| r.archive = format!("{}.tar.gz", "0".repeat(32))),
            ),
            ("compression", Box::new(|r| r.codec = "LZ4 ../".into())),
            ("size", Box::new(|r| r.size_bytes = -1)),
            ("size", Box::new(|r| r.size_bytes = i128::from(u64::MAX))),
            ("unpacked", Box::new(|r| r.unpacked_bytes = 1 << 62)),
            ("file count", Box::new(|r| r.file_count = 1 << 40)),
            ("created", Box::new(|r| r.created_at = 253_402_300_800_000)),
            ("created", Box::new(|r| r.created_at = -1)),
            ("digest", Box::new(|r| r.digest = "../x".into())),
            ("version", Box::new(|r| r.version = "v".into())),
            ("key", Box::new(|r| r.key = "a\u{1b}[31m".into())),
            ("repo", Box::new(|r| r.repo = String::new())),
            ("path", Box::new(|r| r.paths = vec!["a\nb".into()])),
        ];
        for (what, lie) in cases {
            let mut r = raw();
            lie(&mut r);
            let err = Entry::check(r, None).unwrap_err();
            assert!(err.0.contains(what), "{what}: {err}");
            assert!(!err.is_foreign(), "{what}");
        }
    }

    #[test]
    fn a_codec_of_a_newer_binary_is_foreign_not_damage() {
        let mut r = raw();
        r.codec = "lz4".into();
        assert!(Entry::check(r, None).unwrap_err().is_foreign());
    }

    #[test]
    fn the_cas_compression_is_the_cas_format_with_a_zstd_manifest() {
        let mut r = raw();
        r.codec = CAS_COMPRESSION.into();
        let e = Entry::check(r, None).unwrap();
        assert_eq!((e.format, e.codec), (Format::Cas, Codec::Zstd));
        assert_eq!(e.compression_name(), "cas");
        let mut r = raw();
        r.codec = CAS_COMPRESSION.into();
        r.archive = format!("{}.tar.gz", "0".repeat(32));
        assert!(Entry::check(r, None).is_err(), "a manifest is always zstd");
    }

    #[test]
    fn times_format_at_the_edges() {
        let t = Timestamp::from_ms(253_402_300_799_999).unwrap();
        assert_eq!(t.rfc3339(), "9999-12-31T23:59:59Z");
        assert!(Timestamp::from_ms(253_402_300_800_000).is_none());
    }
}
