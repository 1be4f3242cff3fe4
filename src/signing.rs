//! Entry signatures: an HMAC-SHA256 over an entry's identity and archive digest, keyed by
//! `WIT_CACHE_SIGNING_KEY`.
//!
//! Scopes keep branches apart only as long as every job plays by the rules: a job that runs as
//! the store's Unix user can write any row. When trusted saves (the executor's post-job hook)
//! have the key and untrusted jobs do not, a restore that has the key accepts only entries
//! signed with it, so a planted or relabelled row is never restored.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::keys::hex;
use crate::store::Entry;

type HmacSha256 = Hmac<Sha256>;

/// The environment variable holding the secret.
pub const ENV: &str = "WIT_CACHE_SIGNING_KEY";

pub struct Signer {
    mac: HmacSha256,
}

/// What a signature covers: everything that decides where an archive is restored from and
/// what it must contain.
pub struct Signed<'a> {
    pub repo: &'a str,
    pub scope: Option<&'a str>,
    pub key: &'a str,
    pub version: &'a str,
    pub digest: &'a str,
    pub unpacked_bytes: u64,
}

impl Signer {
    /// The signer configured in the environment, if any.
    pub fn from_env() -> Option<Self> {
        let secret = std::env::var_os(ENV).filter(|v| !v.is_empty())?;
        let mac = HmacSha256::new_from_slice(secret.as_encoded_bytes())
            .expect("HMAC takes keys of any length");
        Some(Self { mac })
    }

    fn mac_for(&self, s: &Signed<'_>) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(b"wit-cache entry v1\0");
        for field in [s.repo, s.scope.unwrap_or(""), s.key, s.version, s.digest] {
            mac.update(&(field.len() as u64).to_le_bytes());
            mac.update(field.as_bytes());
        }
        mac.update(&s.unpacked_bytes.to_le_bytes());
        mac
    }

    pub fn sign(&self, s: &Signed<'_>) -> String {
        hex(&self.mac_for(s).finalize().into_bytes())
    }

    /// Whether `entry` carries a valid signature (compared in constant time).
    pub fn verify(&self, entry: &Entry) -> bool {
        let Some(sig) = entry.signature.as_deref().and_then(unhex) else {
            return false;
        };
        let signed = Signed {
            repo: &entry.repo,
            scope: entry.scope.as_deref(),
            key: &entry.key,
            version: &entry.version,
            digest: &entry.digest,
            unpacked_bytes: entry.unpacked_bytes,
        };
        self.mac_for(&signed).verify_slice(&sig).is_ok()
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
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

    #[test]
    fn signatures_cover_identity_and_digest() {
        let signer = Signer {
            mac: HmacSha256::new_from_slice(b"secret").unwrap(),
        };
        let s = Signed {
            repo: "r",
            scope: None,
            key: "k",
            version: "v",
            digest: "d",
            unpacked_bytes: 1,
        };
        let sig = signer.sign(&s);
        assert_eq!(sig.len(), 64);
        assert_ne!(sig, signer.sign(&Signed { key: "k2", ..s }));
        assert_ne!(
            sig,
            signer.sign(&Signed {
                scope: Some("main"),
                ..s
            })
        );
        // Length prefixes keep field boundaries: ("ab", "c") differs from ("a", "bc").
        assert_ne!(
            signer.sign(&Signed {
                repo: "ab",
                key: "c",
                ..s
            }),
            signer.sign(&Signed {
                repo: "a",
                key: "bc",
                ..s
            })
        );
        assert_eq!(unhex("00ff"), Some(vec![0, 255]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
    }
}
