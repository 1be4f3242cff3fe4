//! Keys, scopes, repo ids and the version digest: validation and matching rules.
//!
//! A key is data, never a file name. Keys compare case-insensitively (as GitHub's cache service
//! does), so the index stores a folded copy next to the key as given; prefixes are literal.

use sha2::{Digest, Sha256};

use crate::error::UsageError;

/// Most characters a key may have (GitHub's limit).
pub const MAX_KEY_CHARS: usize = 512;
/// Most keys one restore may name: the primary key plus restore keys (GitHub's limit).
pub const MAX_KEYS: usize = 10;
const MAX_NAME_CHARS: usize = 255;

/// A validated cache key (or restore-key prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key(String);

impl Key {
    pub fn parse(raw: &str, flag: &str) -> Result<Self, UsageError> {
        Self::check(raw, flag)?;
        Ok(Self(raw.to_string()))
    }

    /// Whether `raw` follows the key rules ([`Key::parse`] without the copy).
    pub fn check(raw: &str, flag: &str) -> Result<(), UsageError> {
        let chars = raw.chars().count();
        if chars == 0 {
            return Err(UsageError::new(format!(
                "{flag} is empty: a key needs 1 to {MAX_KEY_CHARS} characters"
            )));
        }
        if chars > MAX_KEY_CHARS {
            return Err(UsageError::new(format!(
                "{flag} '{}…' has {chars} characters: a key may have at most {MAX_KEY_CHARS}",
                raw.chars().take(32).collect::<String>()
            )));
        }
        if raw.contains(',') {
            return Err(UsageError::new(format!(
                "{flag} '{raw}' contains a comma, which keys may not contain"
            )));
        }
        if let Some(c) = raw.chars().find(|c| c.is_control()) {
            return Err(UsageError::new(format!(
                "{flag} {raw:?} contains the control character {c:?}, which keys may not contain"
            )));
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form the index compares and prefix-matches on.
    pub fn folded(&self) -> String {
        fold(&self.0)
    }
}

/// Case folding used for every key comparison: character by character, so that the fold of
/// a prefix is a prefix of the fold (`str::to_lowercase` applies Greek final-sigma rules, which
/// would break that for keys like `ΑΣ` / `ΑΣΒ`).
pub fn fold(key: &str) -> String {
    key.chars().flat_map(char::to_lowercase).collect()
}

/// Whether `folded` is exactly [`fold`]`(key)`, without building the fold: the index checks
/// this on every row it reads, and a new string per row is a measurable part of a listing.
pub fn is_fold_of(folded: &str, key: &str) -> bool {
    if key.is_ascii() {
        // An ASCII character folds to its ASCII lowercase, one byte for one byte.
        return folded.len() == key.len()
            && key
                .bytes()
                .zip(folded.bytes())
                .all(|(k, f)| k.to_ascii_lowercase() == f);
    }
    key.chars().flat_map(char::to_lowercase).eq(folded.chars())
}

/// True when `matched` is the same key as `primary` under the index's comparison rule.
pub fn same_key(primary: &Key, matched: &str) -> bool {
    primary.folded() == fold(matched)
}

/// Validates a repo id or scope: 1-255 characters, no control characters.
pub fn parse_name(raw: &str, what: &str) -> Result<String, UsageError> {
    check_name(raw, what)?;
    Ok(raw.to_string())
}

/// Whether `raw` follows the name rules ([`parse_name`] without the copy).
pub fn check_name(raw: &str, what: &str) -> Result<(), UsageError> {
    let chars = raw.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(UsageError::new(format!(
            "{what} {raw:?} has {chars} characters: it needs 1 to {MAX_NAME_CHARS}"
        )));
    }
    if let Some(c) = raw.chars().find(|c| c.is_control()) {
        return Err(UsageError::new(format!(
            "{what} {raw:?} contains the control character {c:?}, which is not allowed"
        )));
    }
    Ok(())
}

/// Splits repeatable, newline-separated inputs (the action's multi-line `path:` and
/// `restore-keys:`) into trimmed, non-empty lines.
pub fn split_lines(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The entry version: a digest of the path list as given, so that a restore with other `path:`
/// lines never matches an entry saved with different ones (as in actions/cache).
pub fn version_for(paths: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(b"wit-cache paths v1\0");
    for p in paths {
        h.update(p.as_bytes());
        h.update(b"\n");
    }
    hex(&h.finalize())
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_check_agrees_with_fold() {
        let keys = [
            "npm-Linux-ABC",
            "abc",
            "",
            "ΑΣΒ",
            "İstanbul",
            "ẞ-Key",
            "x\u{130}",
            "ǅ",
        ];
        for key in keys {
            assert!(is_fold_of(&fold(key), key), "{key}");
            for other in keys {
                assert_eq!(
                    is_fold_of(&fold(other), key),
                    fold(other) == fold(key),
                    "{other} {key}"
                );
            }
            assert!(!is_fold_of(&format!("{}x", fold(key)), key), "{key}");
        }
        assert!(!is_fold_of("NPM", "npm"));
        assert!(!is_fold_of("npm", "NPMX"));
    }

    #[test]
    fn key_rules() {
        assert!(Key::parse("npm-Linux-abc", "--key").is_ok());
        assert!(Key::parse(&"k".repeat(512), "--key").is_ok());
        let long = Key::parse(&"k".repeat(513), "--key")
            .unwrap_err()
            .to_string();
        assert!(long.contains("513 characters"), "{long}");
        assert!(Key::parse("a,b", "--key")
            .unwrap_err()
            .to_string()
            .contains("comma"));
        assert!(Key::parse("a\nb", "--key")
            .unwrap_err()
            .to_string()
            .contains("control"));
        assert!(Key::parse("", "--key")
            .unwrap_err()
            .to_string()
            .contains("empty"));
        // Path-looking keys are data, not paths: they are valid keys.
        assert!(Key::parse("../../etc/passwd", "--key").is_ok());
    }

    #[test]
    fn keys_compare_case_insensitively() {
        let k = Key::parse("NPM-Linux-ABC", "--key").unwrap();
        assert!(same_key(&k, "npm-linux-abc"));
        assert!(!same_key(&k, "npm-linux-abd"));
        // Folding keeps prefixes prefixes, also where context-dependent lower-casing would not.
        assert!(fold("ΑΣΒ").starts_with(&fold("ΑΣ")));
    }

    #[test]
    fn version_depends_on_path_list_and_order() {
        let a = version_for(&["node_modules".into(), "~/.npm".into()]);
        let b = version_for(&["~/.npm".into(), "node_modules".into()]);
        assert_ne!(a, b);
        assert_eq!(a, version_for(&["node_modules".into(), "~/.npm".into()]));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn multi_line_inputs_split() {
        let v = split_lines(&["node_modules\n  ~/.npm \n\n".into(), "x".into()]);
        assert_eq!(v, ["node_modules", "~/.npm", "x"]);
    }
}
