//! `restore`: fidelity of what comes back, GitHub's lookup order, outputs and exit codes.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use crate::util::{json_of, stderr_of, TestEnv};

#[test]
fn restores_exactly_what_was_saved() {
    let env = TestEnv::new();
    let nm = env.ws.join("node_modules");
    env.write("node_modules/lodash/index.js", "module.exports = {};\n");
    let exe = env.write("node_modules/lodash/bin/cli.js", "#!/usr/bin/env node\n");
    crate::util::chmod(&exe, 0o755);
    std::os::unix::fs::symlink("../lodash/bin/cli.js", nm.join("lodash/bin/link")).unwrap();
    fs::create_dir_all(nm.join(".bin")).unwrap();
    std::os::unix::fs::symlink("/usr/bin/env", nm.join(".bin/abs-link")).unwrap();
    fs::create_dir_all(nm.join("empty/dir")).unwrap();
    let long = format!("node_modules/{}/{}.js", "d".repeat(120), "n".repeat(140));
    env.write(&long, "long name");
    env.write("node_modules/ünïcødé/日本.js", "unicode");
    let raw_name = std::ffi::OsStr::from_bytes(b"bad-\xff-name.js");
    fs::write(nm.join(raw_name), "not utf-8").unwrap();
    let old = filetime::FileTime::from_unix_time(1_600_000_000, 0);
    filetime::set_file_mtime(nm.join("lodash/index.js"), old).unwrap();
    env.write("../home/.npm/_cacache/index", "npm");

    env.save("npm-Linux-1", &["node_modules", "~/.npm"]);
    env.rm("node_modules");
    fs::remove_dir_all(env.home.join(".npm")).unwrap();
    let out_file = env.root.join("github_output");
    let out = env
        .cmd()
        .env("GITHUB_OUTPUT", &out_file)
        .args([
            "--json",
            "restore",
            "--key",
            "npm-Linux-1",
            "--restore-key",
            "npm-Linux-",
        ])
        .args(["--path", "node_modules", "--path", "~/.npm"])
        .assert()
        .success();
    let doc = json_of(&out.get_output().stdout);
    assert_eq!(doc["cache_hit"], true);
    assert_eq!(doc["matched_key"], "npm-Linux-1");

    assert_eq!(
        env.read("node_modules/lodash/index.js"),
        "module.exports = {};\n"
    );
    let mode = fs::metadata(nm.join("lodash/bin/cli.js"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755, "exec bit kept");
    assert_eq!(
        fs::read_link(nm.join("lodash/bin/link")).unwrap().to_str(),
        Some("../lodash/bin/cli.js")
    );
    assert_eq!(
        fs::read_link(nm.join(".bin/abs-link")).unwrap().to_str(),
        Some("/usr/bin/env")
    );
    assert!(nm.join("empty/dir").is_dir(), "empty directories kept");
    assert_eq!(env.read(&long), "long name");
    assert_eq!(env.read("node_modules/ünïcødé/日本.js"), "unicode");
    assert_eq!(fs::read(nm.join(raw_name)).unwrap(), b"not utf-8");
    assert_eq!(
        fs::metadata(nm.join("lodash/index.js")).unwrap().mtime(),
        1_600_000_000,
        "mtime kept"
    );
    assert_eq!(
        fs::read_to_string(env.home.join(".npm/_cacache/index")).unwrap(),
        "npm"
    );
    let outputs = fs::read_to_string(&out_file).unwrap();
    assert!(outputs.contains("cache-hit=true\n"), "{outputs}");
    assert!(
        outputs.contains("cache-primary-key=npm-Linux-1\n"),
        "{outputs}"
    );
    assert!(
        outputs.contains("cache-matched-key=npm-Linux-1\n"),
        "{outputs}"
    );
}

#[test]
fn lookup_follows_githubs_order() {
    let env = TestEnv::new();
    let save = |key: &str, content: &str| {
        env.write("dep/v", content);
        env.save(key, &["dep"]);
    };
    save("npm-Linux-aaa", "aaa");
    save("npm-Linux-bbb", "bbb");
    save("npm-Linux-", "bare");
    save("other-100%_x", "pct");
    let restore = |key: &str, restore_keys: &[&str]| {
        env.rm("dep");
        let mut extra = Vec::new();
        for r in restore_keys {
            extra.extend(["--restore-key", r]);
        }
        let doc = env.restore(key, &["dep"], &extra);
        let content = if env.exists("dep/v") {
            env.read("dep/v")
        } else {
            String::new()
        };
        env.write("dep/v", "");
        (doc, content)
    };
    // Exact, case-insensitively.
    let (doc, content) = restore("NPM-LINUX-AAA", &[]);
    assert_eq!(
        (doc["cache_hit"].clone(), content.as_str()),
        (serde_json::json!(true), "aaa")
    );
    assert_eq!(doc["matched_key"], "npm-Linux-aaa");
    // The primary key as a prefix: a partial hit, newest match wins.
    let (doc, content) = restore("npm-Linux-b", &[]);
    assert_eq!(
        (doc["cache_hit"].clone(), content.as_str()),
        (serde_json::json!(false), "bbb")
    );
    // Restore keys in order, exact before a newer prefix match.
    let (doc, content) = restore("npm-Linux-zzz", &["nothing-", "npm-Linux-"]);
    assert_eq!(content, "bare", "{doc}");
    assert_eq!(doc["cache_hit"], false);
    // Newest prefix match when no exact one.
    let (_, content) = restore("x", &["npm-Linux-a", "npm-"]);
    assert_eq!(content, "aaa");
    let (_, content) = restore("x", &["npm-"]);
    assert_eq!(
        content, "bare",
        "the newest entry wins among prefix matches"
    );
    // Literal prefixes: % and _ are not wildcards.
    let (doc, _) = restore("x", &["other-1%%", "npm_"]);
    assert_eq!(doc["cache_hit"], serde_json::Value::Null);
    let (_, content) = restore("x", &["other-100%_"]);
    assert_eq!(content, "pct");
}

#[test]
fn scopes_read_own_then_fallbacks_and_never_others() {
    let env = TestEnv::new();
    env.write("dep/v", "main");
    env.cmd()
        .args(["save", "--key", "k", "--path", "dep", "--scope", "main"])
        .assert()
        .success();
    env.write("dep/v", "feature");
    env.cmd()
        .args([
            "save",
            "--key",
            "k-feature",
            "--path",
            "dep",
            "--scope",
            "feature",
        ])
        .assert()
        .success();
    env.rm("dep");
    // Another branch without fallback sees nothing.
    let doc = env.restore("k", &["dep"], &["--scope", "other"]);
    assert_eq!(doc["cache_hit"], serde_json::Value::Null);
    // Own scope first (its prefix match beats the fallback's exact key), then the fallback.
    let doc = env.restore(
        "k",
        &["dep"],
        &["--scope", "feature", "--fallback-scope", "main"],
    );
    assert_eq!(doc["matched_key"], "k-feature");
    assert_eq!(env.read("dep/v"), "feature");
    let doc = env.restore(
        "k",
        &["dep"],
        &["--scope", "other", "--fallback-scope", "main"],
    );
    assert_eq!(doc["cache_hit"], true);
    assert_eq!(doc["scope"], "main");
    assert_eq!(env.read("dep/v"), "main");
}

#[test]
fn other_path_lines_are_another_version() {
    let env = TestEnv::new();
    env.write("a/x", "x");
    env.write("b/y", "y");
    env.save("k", &["a", "b"]);
    let doc = env.restore("k", &["a"], &[]);
    assert_eq!(doc["cache_hit"], serde_json::Value::Null);
    let doc = env.restore("k", &["b", "a"], &[]);
    assert_eq!(
        doc["cache_hit"],
        serde_json::Value::Null,
        "order is part of the version"
    );
    // The action's multi-line path input is the same list as repeated flags.
    let doc = env.restore("k", &["a\nb\n"], &[]);
    assert_eq!(doc["cache_hit"], true);
}

#[test]
fn a_miss_exits_0_leaves_cache_hit_unset_and_is_recorded() {
    let env = TestEnv::new();
    let out_file = env.root.join("github_output");
    let out = env
        .cmd()
        .env("GITHUB_OUTPUT", &out_file)
        .args(["--json", "restore", "--key", "nope", "--path", "dep"])
        .assert()
        .success();
    let doc = json_of(&out.get_output().stdout);
    assert_eq!(doc["cache_hit"], serde_json::Value::Null);
    assert_eq!(doc["matched_key"], serde_json::Value::Null);
    assert!(stderr_of(out.get_output()).contains("Cache not found for input keys: nope"));
    let outputs = fs::read_to_string(&out_file).unwrap();
    assert_eq!(outputs, "cache-primary-key=nope\n");
    let misses: i64 = env
        .index()
        .query_row(
            "SELECT count(*) FROM restore_attempts WHERE outcome = 'miss'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(misses, 1);

    env.cmd()
        .args([
            "restore",
            "--key",
            "nope",
            "--path",
            "dep",
            "--fail-on-miss",
        ])
        .assert()
        .code(3)
        .stderr(predicates::str::contains("cache miss for key 'nope'"));
}

#[test]
fn lookup_only_reports_without_extracting() {
    let env = TestEnv::new();
    env.write("dep/v", "v");
    env.save("k", &["dep"]);
    env.rm("dep");
    let doc = env.restore("k", &["dep"], &["--lookup-only"]);
    assert_eq!(doc["cache_hit"], true);
    assert_eq!(doc["lookup_only"], true);
    assert!(!env.exists("dep"));
    let hits: i64 = env
        .index()
        .query_row("SELECT access_count FROM entries", [], |r| r.get(0))
        .unwrap();
    assert_eq!(hits, 0, "a lookup is not a use");
}

#[test]
fn hits_bump_access_and_are_recorded() {
    let env = TestEnv::new();
    env.write("dep/v", "v");
    env.save("k-1", &["dep"]);
    env.restore("k-1", &["dep"], &[]);
    env.restore("k-2", &["dep"], &["--restore-key", "k-"]);
    let (count, last, created): (i64, i64, i64) = env
        .index()
        .query_row(
            "SELECT access_count, last_accessed_at, created_at FROM entries",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(count, 2);
    assert!(last >= created);
    let outcomes: Vec<String> = env
        .index()
        .prepare("SELECT outcome FROM restore_attempts ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(outcomes, ["hit", "partial"]);
}

#[test]
fn too_many_keys_or_bad_keys_are_usage_errors() {
    let env = TestEnv::new();
    let mut cmd = env.cmd();
    cmd.args(["restore", "--key", "k", "--path", "dep"]);
    for i in 0..10 {
        cmd.args(["--restore-key", &format!("r{i}")]);
    }
    let out = cmd.assert().code(2);
    assert!(stderr_of(out.get_output()).contains("at most 10"));
    env.cmd()
        .args([
            "restore",
            "--key",
            "k",
            "--path",
            "dep",
            "--restore-key",
            "a,b",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--restore-key 'a,b' contains a comma",
        ));
}

#[test]
fn a_vanished_archive_is_a_miss_and_the_row_goes() {
    let env = TestEnv::new();
    env.write("dep/v", "v");
    env.save("k", &["dep"]);
    for a in env.archives() {
        fs::remove_file(a).unwrap();
    }
    let out = env
        .cmd()
        .args(["--json", "restore", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    assert_eq!(
        json_of(&out.get_output().stdout)["cache_hit"],
        serde_json::Value::Null
    );
    assert!(stderr_of(out.get_output()).contains("is gone"));
    assert_eq!(env.count_entries(), 0);
}

#[test]
fn when_the_match_vanished_meanwhile_the_next_candidate_is_restored() {
    let env = TestEnv::new();
    env.write("dep/v", "older");
    env.save("npm-1", &["dep"]);
    env.write("dep/v", "newer");
    env.save("npm-2", &["dep"]);
    // A concurrent gc deleted the newest match's archive between look-up and open.
    let newest: String = env
        .index()
        .query_row("SELECT archive FROM entries WHERE key = 'npm-2'", [], |r| {
            r.get(0)
        })
        .unwrap();
    fs::remove_file(env.store.join(newest)).unwrap();
    env.rm("dep");
    let doc = env.restore("npm-9", &["dep"], &["--restore-key", "npm-"]);
    assert_eq!(doc["matched_key"], "npm-1");
    assert_eq!(env.read("dep/v"), "older");
}

#[test]
fn a_broken_store_is_a_miss_not_a_failed_job() {
    let env = TestEnv::new();
    env.write("dep/v", "v");
    env.save("k", &["dep"]);
    fs::write(env.store.join("index-v1.sqlite"), "this is not a database").unwrap();
    let _ = fs::remove_file(env.store.join("index-v1.sqlite-wal"));
    let _ = fs::remove_file(env.store.join("index-v1.sqlite-shm"));
    let out = env
        .cmd()
        .args(["--json", "restore", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    assert_eq!(
        json_of(&out.get_output().stdout)["cache_hit"],
        serde_json::Value::Null
    );
    assert!(
        stderr_of(out.get_output()).contains("treating the restore as a miss"),
        "{}",
        stderr_of(out.get_output())
    );
    env.cmd()
        .args(["restore", "--key", "k", "--path", "dep", "--fail-on-miss"])
        .assert()
        .code(3);
}

#[test]
fn a_flipped_byte_is_never_a_hit_and_the_entry_is_removed() {
    let env = TestEnv::new();
    env.write("dep/big", &"0123456789abcdef".repeat(4096));
    env.save("k", &["dep"]);
    let archive = env.archives().remove(0);
    let mut bytes = fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    fs::write(&archive, bytes).unwrap();
    env.rm("dep");
    let out = env
        .cmd()
        .args(["--json", "restore", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    assert_eq!(
        json_of(&out.get_output().stdout)["cache_hit"],
        serde_json::Value::Null
    );
    assert!(
        stderr_of(out.get_output()).contains("damaged"),
        "{}",
        stderr_of(out.get_output())
    );
    assert!(!env.exists("dep/big"), "partial output is cleaned up");
    assert_eq!(env.count_entries(), 0);
    assert!(env.archives().is_empty());
}
