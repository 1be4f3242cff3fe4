//! "Now", with a fake clock for tests: `WIT_CACHE_NOW` (RFC 3339 or Unix seconds) replaces the
//! system time so that ages, TTLs and "last used" are tested without sleeping.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch: the unit of every timestamp in the index.
pub fn now_ms() -> i64 {
    if let Some(fake) = std::env::var_os("WIT_CACHE_NOW") {
        if let Some(ms) = fake.to_str().and_then(parse_instant_ms) {
            return ms;
        }
    }
    to_ms(SystemTime::now())
}

fn parse_instant_ms(text: &str) -> Option<i64> {
    if let Ok(secs) = text.parse::<i64>() {
        return secs.checked_mul(1000);
    }
    humantime::parse_rfc3339_weak(text).ok().map(to_ms)
}

fn to_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The instant `age` before now, in ms (saturating: a huge age means "since ever").
pub fn ago_ms(age: Duration) -> i64 {
    now_ms().saturating_sub(i64::try_from(age.as_millis()).unwrap_or(i64::MAX))
}

/// RFC 3339 UTC with seconds, as every `--json` document shows times.
pub fn rfc3339(ms: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse_instant_ms("1700000000"), Some(1_700_000_000_000));
        assert_eq!(
            parse_instant_ms("2023-11-14T22:13:20Z"),
            Some(1_700_000_000_000)
        );
        assert_eq!(parse_instant_ms("yesterday"), None);
    }
}
