//! Sizes (`10GiB`, `500M`, `1.5G`) and ages (`7d`, `12h`, `90m`): parsing and human display.

use std::time::Duration;

use crate::error::UsageError;

/// Parses a byte size: a number with an optional unit (B, K/KB/KiB, M…, G…, T…), powers of
/// 1024 for every unit (as `du -h` and cargo do), case-insensitive.
pub fn parse_size(raw: &str, flag: &str) -> Result<u64, UsageError> {
    let bad = || {
        UsageError::new(format!(
            "{flag} '{raw}' is not a size: use a number with an optional unit, e.g. 10GiB, 500M, 1024"
        ))
    };
    let text = raw.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let value: f64 = num.parse().map_err(|_| bad())?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(bad()),
    };
    let bytes = value * mult as f64;
    // `u64::MAX as f64` rounds up to 2^64, which is already out of range.
    if !bytes.is_finite() || bytes < 0.0 || bytes >= u64::MAX as f64 {
        return Err(UsageError::new(format!(
            "{flag} '{raw}' is out of range: at most 16EiB minus one byte"
        )));
    }
    // Half a byte would floor to a limit of 0, which evicts everything.
    if bytes > 0.0 && bytes < 1.0 {
        return Err(UsageError::new(format!(
            "{flag} '{raw}' is less than one byte: give 0 or at least 1"
        )));
    }
    Ok(bytes as u64)
}

/// Parses an age: a number with a unit (s, m, h, d, w), or several (`1d12h`).
pub fn parse_age(raw: &str, flag: &str) -> Result<Duration, UsageError> {
    humantime::parse_duration(raw.trim()).map_err(|_| {
        UsageError::new(format!(
            "{flag} '{raw}' is not an age: use a number with a unit, e.g. 7d, 12h, 30m"
        ))
    })
}

/// Bytes for people: `1.5 MiB`.
pub fn human_size(bytes: u64) -> String {
    humansize::format_size(bytes, humansize::BINARY)
}

/// A duration for people: `1.4 s`, `320 ms`.
pub fn human_duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// A count for people, with thousands separators and the right noun: `1 file`,
/// `21,403 files`, `2 entries`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// A number with thousands separators: `70,135`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How long ago, for people: `just now`, `5 minutes ago`, `3 hours ago`, `2 days ago`.
pub fn ago(then_ms: i64, now_ms: i64) -> String {
    let secs = (now_ms - then_ms).max(0) / 1000;
    let (n, unit) = match secs {
        0..=59 => return "just now".to_string(),
        60..=3599 => (secs / 60, "minute"),
        3600..=86_399 => (secs / 3600, "hour"),
        86_400..=2_591_999 => (secs / 86_400, "day"),
        _ => (secs / 2_592_000, "month"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts() {
        assert_eq!(count(1, "file", "files"), "1 file");
        assert_eq!(count(0, "file", "files"), "0 files");
        assert_eq!(count(21_403, "file", "files"), "21,403 files");
        assert_eq!(count(1_000_000, "entry", "entries"), "1,000,000 entries");
    }

    #[test]
    fn relative_times() {
        assert_eq!(ago(0, 30_000), "just now");
        assert_eq!(ago(0, 60_000), "1 minute ago");
        assert_eq!(ago(0, 3 * 3_600_000 + 5), "3 hours ago");
        assert_eq!(ago(0, 2 * 86_400_000), "2 days ago");
        assert_eq!(ago(10, 0), "just now", "clock skew is not the future");
    }

    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10GiB", "--max-size").unwrap(), 10 << 30);
        assert_eq!(parse_size("500M", "--max-size").unwrap(), 500 << 20);
        assert_eq!(parse_size("1024", "--max-size").unwrap(), 1024);
        assert_eq!(parse_size("1.5k", "--max-size").unwrap(), 1536);
        let err = parse_size("ten", "--max-size").unwrap_err().to_string();
        assert!(err.contains("--max-size 'ten'"), "{err}");
        assert!(parse_size("5 parsecs", "--max-size").is_err());
        assert_eq!(parse_size("0", "--max-size").unwrap(), 0);
        for tiny in ["0.5", "0.1b"] {
            let err = parse_size(tiny, "--max-size").unwrap_err().to_string();
            assert!(err.contains("less than one byte"), "{err}");
        }
        for huge in ["18446744073709551616", "16EiB", "16777216T"] {
            assert!(parse_size(huge, "--max-size").is_err(), "{huge}");
        }
    }

    #[test]
    fn ages() {
        assert_eq!(
            parse_age("7d", "--max-age").unwrap(),
            Duration::from_secs(7 * 86400)
        );
        assert_eq!(
            parse_age("12h", "--max-age").unwrap(),
            Duration::from_secs(12 * 3600)
        );
        assert!(parse_age("soon", "--max-age").is_err());
    }
}
