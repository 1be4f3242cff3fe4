//! Every miss says why: each reason kind produced by real saves, restores, gc and deletes,
//! `restore --explain`, and what `stats` says the cache is worth.

use crate::util::{json_of, stderr_of, TestEnv};

/// Restores (with `--json`) and returns the document and stderr.
fn restore(env: &TestEnv, args: &[&str]) -> (serde_json::Value, String) {
    let out = env
        .cmd()
        .args(["--json", "restore"])
        .args(args)
        .assert()
        .success();
    let out = out.get_output();
    (json_of(&out.stdout), stderr_of(out))
}

/// The reason of the given kind, asserting there is one.
fn reason<'a>(doc: &'a serde_json::Value, kind: &str, err: &str) -> &'a serde_json::Value {
    assert_eq!(doc["cache_hit"], serde_json::Value::Null, "a miss: {err}");
    doc["miss_reasons"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["kind"] == kind))
        .unwrap_or_else(|| panic!("no {kind} reason in {doc}\n{err}"))
}

#[test]
fn a_key_in_another_scope_names_the_scope_and_the_flag() {
    let env = TestEnv::new();
    env.write("dep/a", "a");
    env.cmd()
        .args(["save", "--key", "npm-1", "--path", "dep", "--scope", "main"])
        .assert()
        .success();
    let (doc, err) = restore(&env, &["--key", "npm-1", "--path", "dep"]);
    let r = reason(&doc, "scope", &err);
    assert_eq!(r["key"], "npm-1");
    assert!(
        r["detail"]
            .as_str()
            .unwrap()
            .contains("--fallback-scope main"),
        "{r}"
    );
    assert!(
        err.contains("hint: 'npm-1': it exists in scope 'main'"),
        "{err}"
    );
    // The other way round: saved without a scope, restored with one.
    env.save("npm-2", &["dep"]);
    let (doc, err) = restore(
        &env,
        &["--key", "npm-2", "--path", "dep", "--scope", "pr:7"],
    );
    let r = reason(&doc, "scope", &err);
    assert!(
        r["detail"]
            .as_str()
            .unwrap()
            .contains("--fallback-scope ''"),
        "{r}"
    );
}

#[test]
fn other_path_lines_name_the_difference() {
    let env = TestEnv::new();
    env.write("dep/a", "a");
    env.write("more/b", "b");
    std::fs::create_dir_all(env.home.join(".npm")).unwrap();
    std::fs::write(env.home.join(".npm/c"), "c").unwrap();
    env.save("npm-1", &["dep", "~/.npm"]);
    let home_npm = env.home.join(".npm").display().to_string();
    for (paths, says) in [
        (vec!["dep", home_npm.as_str()], "unquoted ~"),
        (vec!["~/.npm", "dep"], "another order"),
        (vec!["dep", "~/.npm", "more"], "adds 'more'"),
        (vec!["dep"], "lacks '~/.npm'"),
    ] {
        let mut args = vec!["--key", "npm-1"];
        for p in &paths {
            args.extend(["--path", p]);
        }
        let (doc, err) = restore(&env, &args);
        let r = reason(&doc, "version", &err);
        assert!(
            r["detail"].as_str().unwrap().contains(says),
            "{paths:?}: {r}"
        );
        assert!(err.contains("hint: 'npm-1':"), "{err}");
    }
}

#[test]
fn entries_removed_by_gc_or_delete_say_when_and_why() {
    let env = TestEnv::new();
    env.write("dep/a", &"x".repeat(10_000));
    env.cmd()
        .env("WIT_CACHE_NOW", "1700000000")
        .args(["save", "--key", "old-1", "--path", "dep"])
        .assert()
        .success();
    env.write("dep/a", &"y".repeat(10_000));
    env.cmd()
        .env("WIT_CACHE_NOW", "1700000100")
        .args(["save", "--key", "new-1", "--path", "dep"])
        .assert()
        .success();
    // Evicted for size: the limit holds one entry, the least recently used goes.
    env.cmd()
        .env("WIT_CACHE_NOW", "1700000200")
        .args(["gc", "--max-size", "200"])
        .assert()
        .success();
    let (doc, err) = restore(&env, &["--key", "old-1", "--path", "dep"]);
    let r = reason(&doc, "evicted", &err);
    assert!(r["detail"].as_str().unwrap().contains("size limit"), "{r}");
    assert!(
        r["detail"]
            .as_str()
            .unwrap()
            .contains("2023-11-14T22:16:40Z"),
        "{r}"
    );
    // Expired: not used for longer than the idle limit.
    env.cmd()
        .env("WIT_CACHE_NOW", "1800000000")
        .args(["gc", "--max-age", "7d"])
        .assert()
        .success();
    let (doc, err) = restore(&env, &["--key", "new-1", "--path", "dep"]);
    let r = reason(&doc, "evicted", &err);
    assert!(r["detail"].as_str().unwrap().contains("idle limit"), "{r}");
    // Deleted by hand.
    env.save("gone-1", &["dep"]);
    env.cmd()
        .args(["delete", "--key", "gone-1"])
        .assert()
        .success();
    let (doc, err) = restore(&env, &["--key", "gone-1", "--path", "dep"]);
    let r = reason(&doc, "deleted", &err);
    assert!(r["detail"].as_str().unwrap().contains("deleted"), "{r}");
}

#[test]
fn damaged_and_unsigned_entries_are_named() {
    let env = TestEnv::new();
    env.write("dep/a", "a");
    env.save("k", &["dep"]);
    // Unsigned: a restore that requires signatures passes over it.
    let out = env
        .cmd()
        .env("WIT_CACHE_SIGNING_KEY", "s3cret")
        .args(["--json", "restore", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    let doc = json_of(&out.get_output().stdout);
    reason(&doc, "unsigned", &stderr_of(out.get_output()));
    // Damaged: a corrupt archive is refused and removed; the next restore says so.
    let archive = env.archives().pop().unwrap();
    std::fs::write(&archive, b"not an archive").unwrap();
    let (doc, _) = restore(&env, &["--key", "k", "--path", "dep"]);
    assert_eq!(doc["cache_hit"], serde_json::Value::Null);
    let (doc, err) = restore(&env, &["--key", "k", "--path", "dep"]);
    let r = reason(&doc, "damaged", &err);
    assert!(r["detail"].as_str().unwrap().contains("damaged"), "{r}");
}

#[test]
fn a_key_ending_where_its_hash_would_be_is_flagged() {
    let env = TestEnv::new();
    let (doc, err) = restore(&env, &["--key", "npm-Linux-", "--path", "node_modules"]);
    let r = reason(&doc, "empty-hash", &err);
    assert_eq!(r["key"], "npm-Linux-");
    assert!(err.contains("hashFiles()"), "{err}");
    // A hit carries no reasons.
    env.write("dep/a", "a");
    env.save("k-1", &["dep"]);
    let (doc, _) = restore(&env, &["--key", "k-1", "--path", "dep"]);
    assert_eq!(doc["miss_reasons"], serde_json::json!([]));
}

#[test]
fn explain_prints_the_whole_search_and_restores_nothing() {
    let env = TestEnv::new();
    env.write("dep/a", "a");
    for (key, at) in [("npm-1", "1700000000"), ("npm-2", "1700000600")] {
        env.cmd()
            .env("WIT_CACHE_NOW", at)
            .args(["save", "--key", key, "--path", "dep", "--scope", "main"])
            .assert()
            .success();
    }
    env.rm("dep");
    let out = env
        .cmd()
        .args([
            "restore",
            "--explain",
            "--key",
            "npm-9",
            "--restore-key",
            "npm-",
            "--path",
            "dep",
            "--scope",
            "feature",
            "--fallback-scope",
            "main",
        ])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for line in [
        "1. scope 'feature' key 'npm-9' exactly",
        "4. scope 'feature' key 'npm-' as a prefix",
        "8. scope 'main' key 'npm-' as a prefix",
        "'npm-2' (created 2023-11-14T22:23:20Z): taken",
        "=> would restore 'npm-2'",
    ] {
        assert!(text.contains(line), "{line:?} in:\n{text}");
    }
    assert!(!env.exists("dep"), "nothing extracted");
    let out = env.cmd().args(["--json", "stats"]).assert().success();
    let stats = json_of(&out.get_output().stdout);
    assert_eq!(stats["total"]["misses"], 0, "nothing recorded");
    assert_eq!(stats["total"]["hits"], 0);
    // JSON, and a miss with its reasons.
    let out = env
        .cmd()
        .args([
            "--json",
            "restore",
            "--explain",
            "--key",
            "npm-1",
            "--path",
            "dep",
        ])
        .assert()
        .success();
    let doc = json_of(&out.get_output().stdout);
    assert_eq!(doc["matched_key"], serde_json::Value::Null);
    assert_eq!(doc["steps"].as_array().unwrap().len(), 2);
    assert_eq!(doc["miss_reasons"][0]["kind"], "scope");
}

#[test]
fn stats_show_what_the_cache_is_worth() {
    let env = TestEnv::new();
    env.write("dep/a", &"a".repeat(5000));
    // A miss (version), a run that saves, a run that hits and measures its command.
    env.save("k", &["dep"]);
    restore(&env, &["--key", "k", "--path", "other"]);
    for _ in 0..2 {
        env.cmd()
            .args(["run", "--key", "r-1", "--path", "dep", "--", "true"])
            .assert()
            .success();
    }
    let out = env.cmd().args(["--json", "stats"]).assert().success();
    let stats = json_of(&out.get_output().stdout);
    let repo = &stats["repos"][0];
    assert_eq!(repo["saves"], 2, "{repo}");
    assert!(repo["bytes_saved"].as_u64().unwrap() > 0);
    assert_eq!(repo["never_restored"], 1, "k was never restored: {repo}");
    assert_eq!(repo["miss_reasons"]["version"], 1, "{repo}");
    assert!(
        repo["miss_reasons"]["none"].as_u64().unwrap() >= 1,
        "{repo}"
    );
    assert!(repo["command_ms"].as_u64().is_some(), "{repo}");
    assert_eq!(repo["limit_bytes"], 10_u64 << 30);
    assert_eq!(stats["total"]["saves"], 2);
}
