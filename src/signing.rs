//! Entry signatures: an HMAC-SHA256 over every field of an entry that a restore or gc acts
//! on, keyed by `WIT_CACHE_SIGNING_KEY`.
//!
//! Scopes keep branches apart only as long as every job plays by the rules: a job that runs as
//! the store's Unix user can write any row. When trusted saves (the executor's post-job hook)
//! have the key and untrusted jobs do not, a restore that has the key accepts only entries
//! signed with it, so a planted, relabelled, re-pointed or back-dated row is never restored.
//!
//! A signature is `v2:<hex>`. Version 1 signatures (bare hex) covered only the identity and
//! the digest, so a signed row could be pointed at another archive or made to look newer;
//! they count as unsigned.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::keys::hex;
use crate::store::Entry;

type HmacSha256 = Hmac<Sha256>;

/// The environment variable holding the secret.
pub const ENV: &str = "WIT_CACHE_SIGNING_KEY";
/// The prefix of the signatures this version makes and accepts.
const PREFIX: &str = "v2:";

pub struct Signer {
    mac: HmacSha256,
}

impl Signer {
    /// The signer configured in the environment, if any.
    pub fn from_env() -> Option<Self> {
        let secret = std::env::var_os(ENV).filter(|v| !v.is_empty())?;
        Some(Self::new(secret.as_encoded_bytes()))
    }

    pub fn new(secret: &[u8]) -> Self {
        let mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
        Self { mac }
    }

    /// Every field but the host-local use counts, each length-prefixed so that field
    /// boundaries are part of what is signed.
    fn mac_for(&self, e: &Entry) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(b"wit-cache entry v2\0");
        let mut text = |field: &str| {
            mac.update(&(field.len() as u64).to_le_bytes());
            mac.update(field.as_bytes());
        };
        text(&e.repo);
        text(e.scope.as_deref().unwrap_or(""));
        text(if e.scope.is_some() {
            "scoped"
        } else {
            "unscoped"
        });
        text(&e.key);
        text(&e.version);
        text(&e.paths.join("\n"));
        text(e.compression_name());
        text(e.archive.as_str());
        text(&e.digest);
        text(e.created_by_run.as_deref().unwrap_or(""));
        for n in [
            e.size_bytes,
            e.unpacked_bytes,
            e.file_count,
            e.created_at.ms() as u64,
        ] {
            mac.update(&n.to_le_bytes());
        }
        mac
    }

    pub fn sign(&self, entry: &Entry) -> String {
        format!(
            "{PREFIX}{}",
            hex(&self.mac_for(entry).finalize().into_bytes())
        )
    }

    /// Whether `entry` carries a valid signature of this version (compared in constant time).
    pub fn verify(&self, entry: &Entry) -> bool {
        let Some(sig) = entry
            .signature
            .as_deref()
            .and_then(|s| s.strip_prefix(PREFIX))
            .and_then(unhex)
        else {
            return false;
        };
        self.mac_for(entry).verify_slice(&sig).is_ok()
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::entry::{ArchiveId, Timestamp};

    fn entry() -> Entry {
        Entry {
            repo: "r".into(),
            scope: None,
            key: "k".into(),
            version: "v".into(),
            paths: vec!["p".into()],
            codec: crate::store::archive::Codec::Zstd,
            format: crate::store::entry::Format::Archive,
            archive: ArchiveId::parse(&"1".repeat(32)).unwrap(),
            size_bytes: 1,
            unpacked_bytes: 2,
            file_count: 3,
            digest: "d".into(),
            created_at: Timestamp::from_ms(4).unwrap(),
            created_by_run: None,
            signature: None,
            usage: None,
        }
    }

    type Lie = Box<dyn Fn(&mut Entry)>;

    #[test]
    fn signatures_cover_every_field_a_decision_uses() {
        let signer = Signer::new(b"secret");
        let mut e = entry();
        e.signature = Some(signer.sign(&e));
        assert!(signer.verify(&e));
        assert!(!Signer::new(b"other").verify(&e));
        let lies: Vec<Lie> = vec![
            Box::new(|e| e.key = "k2".into()),
            Box::new(|e| e.scope = Some(String::new())),
            Box::new(|e| e.archive = ArchiveId::parse(&"2".repeat(32)).unwrap()),
            Box::new(|e| e.codec = crate::store::archive::Codec::Gzip),
            Box::new(|e| e.size_bytes = 9),
            Box::new(|e| e.unpacked_bytes = 9),
            Box::new(|e| e.file_count = 9),
            Box::new(|e| e.created_at = Timestamp::from_ms(5).unwrap()),
            Box::new(|e| e.digest = "e".into()),
            Box::new(|e| e.paths = vec!["q".into()]),
        ];
        for lie in lies {
            let mut forged = e.clone();
            lie(&mut forged);
            assert!(!signer.verify(&forged), "{forged:?}");
        }
        // Length prefixes keep field boundaries: ("ab", "c") differs from ("a", "bc").
        let mut a = entry();
        a.repo = "ab".into();
        a.key = "c".into();
        let mut b = entry();
        b.repo = "a".into();
        b.key = "bc".into();
        assert_ne!(signer.sign(&a), signer.sign(&b));
        // A version 1 signature (bare hex) is not accepted.
        let mut old = e.clone();
        old.signature = old
            .signature
            .map(|s| s.trim_start_matches(PREFIX).to_string());
        assert!(!signer.verify(&old));
        assert_eq!(unhex("00ff"), Some(vec![0, 255]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
    }
}
