//! The admin token that deleting and clearing need.
//!
//! Only the SHA-256 digest of the token is kept, and a presented token is checked by hashing
//! it and comparing the two digests without an early exit: the time a check takes says
//! nothing about how much of a guess was right (nor about the token's length).

use sha2::{Digest as _, Sha256};

pub struct AdminToken {
    digest: [u8; 32],
}

impl AdminToken {
    pub fn new(secret: &str) -> Self {
        Self {
            digest: Sha256::digest(secret.as_bytes()).into(),
        }
    }

    /// Whether `given` is the token, in time independent of where they differ.
    pub fn matches(&self, given: &str) -> bool {
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        let diff = self
            .digest
            .iter()
            .zip(given.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        // Keep the optimiser from turning the fold into an early-exit comparison.
        std::hint::black_box(diff) == 0
    }
}

/// Why a request may not change anything.
#[derive(Debug, PartialEq, Eq)]
pub enum Denied {
    /// The server has no admin token: nothing can be deleted (403).
    Disabled,
    /// No `Authorization: Bearer …` header (401).
    Missing,
    /// A token that is not the admin token (403).
    Wrong,
}

/// Checks an `Authorization` header value against the configured token.
pub fn check(admin: Option<&AdminToken>, header: Option<&str>) -> Result<(), Denied> {
    let admin = admin.ok_or(Denied::Disabled)?;
    let token = header
        .map(str::trim)
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or(Denied::Missing)?;
    if admin.matches(token) {
        Ok(())
    } else {
        Err(Denied::Wrong)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        let t = AdminToken::new("s3cret");
        assert_eq!(check(Some(&t), Some("Bearer s3cret")), Ok(()));
        assert_eq!(check(Some(&t), Some("bearer  s3cret ")), Ok(()));
        assert_eq!(check(Some(&t), Some("Bearer s3cre")), Err(Denied::Wrong));
        assert_eq!(check(Some(&t), Some("Bearer s3cret2")), Err(Denied::Wrong));
        assert_eq!(check(Some(&t), Some("Basic s3cret")), Err(Denied::Missing));
        assert_eq!(check(Some(&t), Some("Bearer ")), Err(Denied::Missing));
        assert_eq!(check(Some(&t), None), Err(Denied::Missing));
        assert_eq!(check(None, Some("Bearer s3cret")), Err(Denied::Disabled));
    }
}
