//! Scopes, signatures and read-only restores: the defences against cache poisoning.

use std::fs;
use std::process::Command as StdCommand;

use crate::util::{json_of, stderr_of, TestEnv};

const KEY: &str = "correct horse battery staple";

#[test]
fn with_a_signing_key_only_signed_entries_are_restored() {
    let env = TestEnv::new();
    env.write("dep/v", "trusted");
    env.cmd()
        .env("WIT_CACHE_SIGNING_KEY", KEY)
        .args(["save", "--key", "npm-1", "--path", "dep"])
        .assert()
        .success();
    // An untrusted job (no key) plants a newer entry that would win the prefix lookup.
    env.write("dep/v", "poison");
    env.cmd()
        .args(["save", "--key", "npm-2", "--path", "dep"])
        .assert()
        .success();
    env.rm("dep");
    let out = env
        .cmd()
        .env("WIT_CACHE_SIGNING_KEY", KEY)
        .args([
            "--json",
            "restore",
            "--key",
            "npm-3",
            "--restore-key",
            "npm-",
            "--path",
            "dep",
        ])
        .assert()
        .success();
    assert_eq!(json_of(&out.get_output().stdout)["matched_key"], "npm-1");
    assert!(
        stderr_of(out.get_output()).contains("skipped cache entry 'npm-2'"),
        "{}",
        stderr_of(out.get_output())
    );
    assert_eq!(env.read("dep/v"), "trusted");

    // Relabelling a signed row under another key breaks its signature.
    env.index()
        .execute(
            "UPDATE entries SET key = 'npm-9', key_folded = 'npm-9' WHERE key = 'npm-1'",
            [],
        )
        .unwrap();
    let out = env
        .cmd()
        .env("WIT_CACHE_SIGNING_KEY", KEY)
        .args(["--json", "restore", "--key", "npm-9", "--path", "dep"])
        .assert()
        .success();
    assert_eq!(
        json_of(&out.get_output().stdout)["cache_hit"],
        serde_json::Value::Null
    );
    // A wrong key accepts nothing either.
    let out = env
        .cmd()
        .env("WIT_CACHE_SIGNING_KEY", "wrong")
        .args(["--json", "restore", "--key", "npm-2", "--path", "dep"])
        .assert()
        .success();
    assert_eq!(
        json_of(&out.get_output().stdout)["cache_hit"],
        serde_json::Value::Null
    );
    // Without a key configured, restores behave as before.
    let doc = env.restore("npm-2", &["dep"], &[]);
    assert_eq!(doc["cache_hit"], true);
}

#[test]
fn a_job_writes_only_its_own_scope() {
    let env = TestEnv::new();
    env.write("dep/v", "main");
    env.cmd()
        .args(["save", "--key", "k", "--path", "dep", "--scope", "main"])
        .assert()
        .success();
    // A pull request job saves the same key in its scope: the default branch is untouched.
    env.write("dep/v", "pr");
    env.cmd()
        .args(["save", "--key", "k", "--path", "dep", "--scope", "pr-7"])
        .assert()
        .success();
    env.rm("dep");
    let doc = env.restore("k", &["dep"], &["--scope", "main"]);
    assert_eq!(doc["cache_hit"], true);
    assert_eq!(env.read("dep/v"), "main");
}

#[test]
fn read_only_restores_write_nothing() {
    let env = TestEnv::new();
    env.write("dep/v", "v");
    env.save("k", &["dep"]);
    env.rm("dep");
    let before: (i64, i64) = env
        .index()
        .query_row(
            "SELECT (SELECT count(*) FROM restore_attempts), access_count FROM entries",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let doc = env.restore("k", &["dep"], &["--read-only"]);
    assert_eq!(doc["cache_hit"], true);
    assert_eq!(env.read("dep/v"), "v");
    let after: (i64, i64) = env
        .index()
        .query_row(
            "SELECT (SELECT count(*) FROM restore_attempts), access_count FROM entries",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(before, after, "no statistics written");
    // A damaged entry is reported but left for a trusted process to clean up.
    let archive = env.archives().remove(0);
    fs::write(&archive, b"garbage").unwrap();
    let out = env
        .cmd()
        .args(["restore", "--read-only", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    assert!(stderr_of(out.get_output()).contains("left in place (--read-only)"));
    assert_eq!(env.count_entries(), 1);
    // No store at all: a miss with a clear warning (a restore never fails the job), and
    // nothing created.
    let missing = env.root.join("no-store");
    env.cmd()
        .env("WIT_CACHE_DIR", &missing)
        .args(["restore", "--read-only", "--key", "k", "--path", "dep"])
        .assert()
        .success()
        .stderr(predicates::str::contains("no cache store at"));
    assert!(!missing.exists());
}

/// The store mounted read-only into an untrusted job: restores still work.
#[test]
fn read_only_restores_work_on_a_read_only_mount() {
    let env = TestEnv::new();
    env.write("dep/v", "v");
    env.save("k", &["dep"]);
    env.rm("dep");
    let ro = env.root.join("ro-store");
    fs::create_dir_all(&ro).unwrap();
    let Some(_mount) = crate::util::mount(&["--bind", env.store.to_str().unwrap()], &ro) else {
        eprintln!("skipped: bind mounts need root");
        return;
    };
    assert!(StdCommand::new("mount")
        .args(["-o", "remount,bind,ro"])
        .arg(&ro)
        .status()
        .unwrap()
        .success());
    let out = env
        .cmd()
        .env("WIT_CACHE_DIR", &ro)
        .args([
            "--json",
            "restore",
            "--read-only",
            "--key",
            "k",
            "--path",
            "dep",
        ])
        .assert()
        .success();
    assert_eq!(
        json_of(&out.get_output().stdout)["cache_hit"],
        true,
        "{}",
        stderr_of(out.get_output())
    );
    assert_eq!(env.read("dep/v"), "v");
}

/// With signing on, an archive swapped behind a signed row is refused before anything is
/// written: the files already in the workspace stay as they were.
#[test]
fn a_swapped_archive_behind_a_signed_row_writes_nothing() {
    let env = TestEnv::new();
    env.write("dep/keep", "saved");
    env.cmd()
        .env("WIT_CACHE_SIGNING_KEY", KEY)
        .args(["save", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    env.write("dep/keep", "mine, edited after the save");
    let evil = crate::hostile::raw_tar(&[(b"0/dep/keep", crate::hostile::Kind::File(b"evil"))]);
    let archive = env.archives().remove(0);
    fs::write(&archive, zstd::encode_all(evil.as_slice(), 3).unwrap()).unwrap();
    let out = env
        .cmd()
        .env("WIT_CACHE_SIGNING_KEY", KEY)
        .args(["--json", "restore", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    assert_eq!(
        json_of(&out.get_output().stdout)["cache_hit"],
        serde_json::Value::Null
    );
    // Refused by its size, or (same size) by its digest.
    let err = stderr_of(out.get_output());
    assert!(
        err.contains("does not match the signed index row") || err.contains("were recorded"),
        "{err}"
    );
    assert_eq!(env.read("dep/keep"), "mine, edited after the save");
}
