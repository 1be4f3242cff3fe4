//! `list`, `show`, `delete`, `stats`, `gc`, `verify` on real stores.

use std::fs;

use predicates::prelude::*;

use crate::util::{json_of, stderr_of, TestEnv};

const DAY: i64 = 86_400;
const T0: i64 = 1_700_000_000;

/// Saves `key` holding `bytes` incompressible bytes, at the fake time `at` (Unix seconds).
fn save_at(env: &TestEnv, key: &str, bytes: usize, at: i64) {
    let data: String = (0..bytes)
        .map(|i| char::from(b'a' + ((i * 7919 + key.len() * 31) % 26) as u8))
        .collect();
    env.write("dep/data", &data);
    env.cmd()
        .env("WIT_CACHE_NOW", at.to_string())
        .args([
            "save",
            "--format",
            "archive",
            "--compression",
            "none",
            "--key",
            key,
            "--path",
            "dep",
        ])
        .assert()
        .success();
}

fn restore_at(env: &TestEnv, key: &str, at: i64) {
    env.cmd()
        .env("WIT_CACHE_NOW", at.to_string())
        .args(["restore", "--key", key, "--path", "dep"])
        .assert()
        .success();
}

fn keys(env: &TestEnv) -> Vec<String> {
    let doc = json_of(
        &env.cmd()
            .args(["--json", "list", "--sort", "created"])
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    let mut keys: Vec<String> = doc["caches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap().to_string())
        .collect();
    keys.sort();
    keys
}

#[test]
fn list_filters_sorts_and_shows_every_contract_field() {
    let env = TestEnv::new();
    save_at(&env, "npm-a", 100, T0);
    save_at(&env, "npm-b", 3000, T0 + 10);
    save_at(&env, "pip-a", 10, T0 + 20);
    env.cmd()
        .args([
            "--repo",
            "other/repo",
            "save",
            "--key",
            "npm-x",
            "--path",
            "dep",
        ])
        .assert()
        .success();
    let doc = json_of(
        &env.cmd()
            .args(["--json", "list", "--sort", "size", "--prefix", "NPM-"])
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    let caches = doc["caches"].as_array().unwrap();
    assert_eq!(caches.len(), 2, "repo and prefix filter: {doc}");
    assert_eq!(caches[0]["key"], "npm-b", "largest first");
    for field in [
        "id",
        "repo",
        "key",
        "scope",
        "version",
        "paths",
        "compression",
        "size_bytes",
        "unpacked_bytes",
        "file_count",
        "digest",
        "archive",
        "created_at",
        "last_accessed_at",
        "access_count",
        "created_by_run",
    ] {
        assert!(
            caches[0].get(field).is_some(),
            "missing {field}: {}",
            caches[0]
        );
    }
    assert_eq!(caches[0]["created_at"], "2023-11-14T22:13:30Z");
    let doc = json_of(
        &env.cmd()
            .args(["--json", "list", "--limit", "1", "--sort", "created"])
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    assert_eq!(doc["caches"][0]["key"], "pip-a");
    assert_eq!(doc["caches"].as_array().unwrap().len(), 1);
    // Without a repo, every repo's entries, with a REPO column.
    let out = env
        .cmd()
        .env_remove("WIT_REPO")
        .arg("list")
        .assert()
        .success();
    let table = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(table.starts_with("ID  REPO"), "{table}");
    assert!(
        table.contains("other/repo") && table.contains("npm-b"),
        "{table}"
    );
}

#[test]
fn show_lists_the_archive_without_extracting() {
    let env = TestEnv::new();
    env.write("dep/sub/file.js", "12345");
    env.save("k", &["dep"]);
    env.rm("dep");
    let out = env.cmd().args(["show", "K"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("key          k"), "{text}");
    assert!(text.contains("dep/sub/file.js"), "{text}");
    assert!(!env.exists("dep"), "show extracts nothing");
    let doc = json_of(
        &env.cmd()
            .args(["--json", "show", "k"])
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    let files = doc["entries"][0]["files"].as_array().unwrap();
    assert!(files
        .iter()
        .any(|f| f["path"] == "dep/sub/file.js" && f["size"] == 5 && f["type"] == "file"));
    env.cmd()
        .args(["show", "nope"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no cache entry with key 'nope'"));
}

#[test]
fn delete_by_id_key_prefix_and_all() {
    let env = TestEnv::new();
    for k in ["npm-1", "npm-2", "pip-1", "go-1"] {
        save_at(&env, k, 50, T0);
    }
    // Dry run deletes nothing.
    let doc = json_of(
        &env.cmd()
            .args(["--json", "delete", "--prefix", "npm-", "--dry-run"])
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    assert_eq!(doc["deleted"], 2);
    assert_eq!(keys(&env).len(), 4);
    let doc = json_of(
        &env.cmd()
            .args(["--json", "delete", "--prefix", "npm-"])
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    assert_eq!(doc["deleted"], 2);
    assert!(doc["freed_bytes"].as_u64().unwrap() > 100);
    assert_eq!(keys(&env), ["go-1", "pip-1"]);
    let id: i64 = env
        .index()
        .query_row("SELECT id FROM entries WHERE key = 'pip-1'", [], |r| {
            r.get(0)
        })
        .unwrap();
    env.cmd()
        .args(["delete", &id.to_string()])
        .assert()
        .success()
        .stderr(predicate::str::contains("Deleted 1 cache entry"));
    env.cmd()
        .args(["delete", "--key", "GO-1"])
        .assert()
        .success();
    assert!(keys(&env).is_empty());
    assert!(env.archives().is_empty(), "archives go with their rows");
    // Unknown key: a clear "not found" and a non-zero exit; --all on an empty repo is fine.
    let out = env
        .cmd()
        .args(["delete", "--key", "ghost"])
        .assert()
        .code(1);
    assert_eq!(stderr_of(out.get_output()).trim(), "error: no cache entry with key 'ghost' in repo acme/app: nothing deleted (see `wit-cache list`)");
    save_at(&env, "x", 10, T0);
    let doc = json_of(
        &env.cmd()
            .args(["--json", "delete", "--all"])
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    assert_eq!(doc["deleted"], 1);
    env.cmd().args(["delete", "--all"]).assert().success();
    // Keys and --all act within one repo, which must be named.
    env.cmd()
        .env_remove("WIT_REPO")
        .args(["delete", "--all"])
        .assert()
        .code(2);
    env.cmd().arg("delete").assert().code(2);
}

#[test]
fn stats_count_hits_partial_hits_and_misses() {
    let env = TestEnv::new();
    save_at(&env, "npm-1", 1000, T0);
    restore_at(&env, "npm-1", T0 + 10); // hit
    restore_at(&env, "npm-1", T0 + 20); // hit
    env.cmd()
        .env("WIT_CACHE_NOW", (T0 + 30).to_string())
        .args([
            "restore",
            "--key",
            "npm-2",
            "--restore-key",
            "npm-",
            "--path",
            "dep",
        ])
        .assert()
        .success(); // partial
    restore_at(&env, "nothing", T0 + 40); // miss
    env.cmd()
        .args(["--repo", "b/b", "restore", "--key", "x", "--path", "dep"])
        .env("WIT_CACHE_NOW", (T0 + 50).to_string())
        .assert()
        .success();
    let doc = json_of(
        &env.cmd()
            .env_remove("WIT_REPO")
            .env("WIT_CACHE_NOW", (T0 + 60).to_string())
            .args(["--json", "stats"])
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    let a = &doc["repos"][0];
    assert_eq!(a["repo"], "acme/app");
    assert_eq!(
        (
            a["hits"].as_u64(),
            a["partial_hits"].as_u64(),
            a["misses"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(a["hit_rate"], 0.75);
    assert_eq!(a["entries"], 1);
    let size = a["size_bytes"].as_u64().unwrap();
    assert_eq!(a["bytes_restored"].as_u64(), Some(3 * size));
    let b = &doc["repos"][1];
    assert_eq!(
        (
            b["repo"].as_str(),
            b["misses"].as_u64(),
            b["hit_rate"].as_f64()
        ),
        (Some("b/b"), Some(1), Some(0.0))
    );
    assert_eq!(doc["total"]["misses"], 2);
    assert_eq!(doc["total"]["entries"], 1);
    assert_eq!(doc["top_keys"][0]["key"], "npm-1");
    assert_eq!(doc["top_keys"][0]["restores"], 3);
    // --since counts only recent attempts.
    let doc = json_of(
        &env.cmd()
            .env("WIT_CACHE_NOW", (T0 + 60).to_string())
            .args(["--json", "stats", "--since", "25s"])
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    let a = &doc["repos"][0];
    assert_eq!(
        (
            a["hits"].as_u64(),
            a["partial_hits"].as_u64(),
            a["misses"].as_u64()
        ),
        (Some(0), Some(0), Some(1))
    );
    // Prometheus text format.
    let out = env
        .cmd()
        .args(["stats", "--format", "prometheus"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("# TYPE wit_cache_restores_total counter"),
        "{text}"
    );
    assert!(
        text.contains("wit_cache_restores_total{repo=\"acme/app\",outcome=\"hit\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("wit_cache_entries{repo=\"acme/app\"} 1"),
        "{text}"
    );
    // A store with no attempts has a hit rate of 0, not NaN.
    let empty = TestEnv::new();
    let doc = json_of(
        &empty
            .cmd()
            .args(["--json", "stats"])
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    assert_eq!(doc["total"]["hit_rate"], 0.0);
}

#[test]
fn gc_drops_idle_entries_by_ttl() {
    let env = TestEnv::new();
    save_at(&env, "old", 10, T0);
    save_at(&env, "used", 10, T0);
    save_at(&env, "new", 10, T0 + 6 * DAY);
    restore_at(&env, "used", T0 + 5 * DAY);
    let now = (T0 + 8 * DAY).to_string();
    let doc = json_of(
        &env.cmd()
            .env("WIT_CACHE_NOW", &now)
            .args(["--json", "gc", "--dry-run"])
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    assert_eq!(doc["keys"], serde_json::json!(["old"]));
    assert_eq!(keys(&env).len(), 3, "dry run removes nothing");
    let doc = json_of(
        &env.cmd()
            .env("WIT_CACHE_NOW", &now)
            .args(["--json", "gc"])
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    assert_eq!(doc["deleted"], 1);
    assert_eq!(keys(&env), ["new", "used"]);
    // Shorter ages from the flag, then from WIT_CACHE_TTL, then the seed's CACHE_TTL_DAYS.
    env.cmd()
        .env("WIT_CACHE_NOW", &now)
        .args(["gc", "--max-age", "2d"])
        .assert()
        .success();
    assert_eq!(keys(&env), ["new"]);
    save_at(&env, "fresh", 10, T0 + 8 * DAY);
    env.cmd()
        .env("WIT_CACHE_NOW", &now)
        .env("CACHE_TTL_DAYS", "1")
        .arg("gc")
        .assert()
        .success();
    assert_eq!(keys(&env), ["fresh"]);
    env.cmd()
        .env("WIT_CACHE_TTL", "soon")
        .arg("gc")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "WIT_CACHE_TTL 'soon' is not an age",
        ));
}

#[test]
fn gc_evicts_least_recently_used_to_90_percent_of_the_limit() {
    let env = TestEnv::new();
    // Five entries of ~10 KiB (uncompressed archives), saved one minute apart.
    for (i, k) in ["e1", "e2", "e3", "e4", "e5"].iter().enumerate() {
        save_at(&env, k, 10_000, T0 + i as i64 * 60);
    }
    // Use e1 and e2 later: now e3 is the least recently used, then e4, e5, e1, e2.
    restore_at(&env, "e1", T0 + 600);
    restore_at(&env, "e2", T0 + 700);
    let size: i64 = env
        .index()
        .query_row("SELECT max(size_bytes) FROM entries", [], |r| r.get(0))
        .unwrap();
    // Limit 3.5 entries: over by 1.5; 90 % is 3.15 entries, so exactly two go (e3, e4).
    let limit = (size * 7 / 2).to_string();
    let doc = json_of(
        &env.cmd()
            .env("WIT_CACHE_NOW", (T0 + 800).to_string())
            .args(["--json", "gc", "--max-size", &limit])
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    assert_eq!(doc["keys"], serde_json::json!(["e3", "e4"]));
    assert_eq!(keys(&env), ["e1", "e2", "e5"]);
    // Other repos have their own budget.
    env.cmd()
        .args(["--repo", "other/r", "save", "--key", "o", "--path", "dep"])
        .assert()
        .success();
    env.cmd()
        .env("WIT_CACHE_NOW", (T0 + 900).to_string())
        .args(["gc", "--max-size", &limit])
        .assert()
        .success();
    assert_eq!(env.count_entries(), 4);
}

#[test]
fn save_evicts_over_the_limit_but_never_the_new_entry() {
    let env = TestEnv::new();
    save_at(&env, "a", 10_000, T0);
    save_at(&env, "b", 10_000, T0 + 60);
    let out = env
        .cmd()
        .env("WIT_CACHE_NOW", (T0 + 120).to_string())
        .env("WIT_CACHE_MAX_SIZE", "30000")
        .args([
            "save",
            "--format",
            "archive",
            "--compression",
            "none",
            "--key",
            "c",
            "--path",
            "dep",
        ])
        .assert()
        .success();
    assert!(
        stderr_of(out.get_output()).contains("Evicted 1 least recently used entry"),
        "{}",
        stderr_of(out.get_output())
    );
    // Three archives of 12 KiB against 30000 bytes: the oldest goes, down to <= 27000.
    assert_eq!(keys(&env), ["b", "c"]);
    // An entry bigger than the whole limit is kept: the save that made it does not undo it.
    env.write("dep/data", &"z".repeat(40_000));
    env.cmd()
        .env("WIT_CACHE_MAX_SIZE", "30000")
        .args([
            "save",
            "--format",
            "archive",
            "--compression",
            "none",
            "--key",
            "huge",
            "--path",
            "dep",
        ])
        .assert()
        .success();
    assert_eq!(keys(&env), ["huge"]);
}

#[test]
fn gc_sweeps_orphans_vanished_rows_and_dead_temp_files() {
    let env = TestEnv::new();
    save_at(&env, "keep", 10, T0);
    save_at(&env, "vanish", 10, T0);
    let vanish: String = env
        .index()
        .query_row(
            "SELECT archive FROM entries WHERE key = 'vanish'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    fs::remove_file(env.store.join(&vanish)).unwrap();
    let old =
        filetime::FileTime::from_unix_time(filetime::FileTime::now().unix_seconds() - 7200, 0);
    let orphan = env
        .store
        .join("archives-v1/ff/ffffffffffffffffffffffffffffffff.tar.zst");
    crate::util::write(&orphan, "orphan");
    filetime::set_file_mtime(&orphan, old).unwrap();
    let young_orphan = env
        .store
        .join("archives-v1/ee/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee.tar.zst");
    crate::util::write(&young_orphan, "a save in flight");
    let dead_temp = env.store.join("tmp/save-999999999-abc.partial");
    crate::util::write(&dead_temp, "half");
    filetime::set_file_mtime(&dead_temp, old).unwrap();
    let live_temp = env
        .store
        .join(format!("tmp/save-{}-xyz.partial", std::process::id()));
    crate::util::write(&live_temp, "in progress");
    let now = (T0 + 1).to_string();
    let doc = json_of(
        &env.cmd()
            .env_remove("WIT_REPO")
            .env("WIT_CACHE_NOW", &now)
            .args(["--json", "gc"])
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    assert_eq!(doc["orphans_removed"], 1);
    assert_eq!(doc["vanished_rows"], 1);
    assert_eq!(doc["temp_removed"], 1);
    assert!(!orphan.exists() && !dead_temp.exists());
    assert!(
        young_orphan.exists(),
        "a fresh archive may belong to a save about to insert its row"
    );
    assert!(live_temp.exists(), "a live save's temp file stays");
    assert_eq!(keys(&env), ["keep"]);
}

#[test]
fn verify_finds_a_flipped_byte_and_removes_the_entry() {
    let env = TestEnv::new();
    save_at(&env, "good", 1000, T0);
    save_at(&env, "bad", 1000, T0);
    let bad: String = env
        .index()
        .query_row("SELECT archive FROM entries WHERE key = 'bad'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let path = env.store.join(bad);
    let mut bytes = fs::read(&path).unwrap();
    bytes[700] ^= 1;
    fs::write(&path, bytes).unwrap();
    let out = env.cmd().arg("verify").assert().code(4);
    let err = stderr_of(out.get_output());
    assert!(
        err.contains("cache entry 'bad'") && err.contains("does not match"),
        "{err}"
    );
    assert_eq!(keys(&env), ["good"]);
    env.cmd()
        .arg("verify")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "Verified 1 cache entries: 0 damaged",
        ));
}

#[test]
fn gc_sizes_and_ages_are_validated() {
    let env = TestEnv::new();
    env.cmd()
        .args(["gc", "--max-size", "lots"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--max-size 'lots' is not a size"));
    env.cmd()
        .args(["gc", "--max-age", "7 fortnights"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--max-age"));
    env.cmd()
        .env("MAX_CACHE_SIZE_GB", "ten")
        .arg("gc")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("MAX_CACHE_SIZE_GB 'ten'"));
}
