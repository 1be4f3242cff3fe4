//! What people read: progress in CI logs, numbers that agree, tables that fit.

use crate::util::{stderr_of, TestEnv};

/// Incompressible bytes, so the archive is as big as the input (and a restore reads them all).
fn noise(len: usize) -> String {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect()
}

#[test]
fn a_short_save_or_restore_prints_no_progress_line_in_a_log() {
    let env = TestEnv::new();
    env.write("dep/a.txt", &noise(4096));
    let out = env
        .cmd()
        .args(["save", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    let err = stderr_of(out.get_output());
    assert!(!err.contains("read,"), "{err}");
    env.rm("dep");
    let out = env
        .cmd()
        .args(["restore", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    let err = stderr_of(out.get_output());
    assert!(!err.contains("archive read"), "{err}");
}

#[test]
fn a_long_save_or_restore_prints_plain_progress_lines_in_a_log() {
    let env = TestEnv::new();
    env.write("dep/a.txt", &noise(64 * 1024));
    // The interval forced to 0: the operation counts as long from its start.
    let out = env
        .cmd()
        .env("WIT_CACHE_PROGRESS_INTERVAL_MS", "0")
        .args(["save", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    let err = stderr_of(out.get_output());
    assert!(
        err.lines()
            .any(|l| l.starts_with("Saving key 'k': ") && l.contains(" of files read, ")),
        "{err}"
    );
    assert!(
        !err.contains('\r') && !err.contains('\x1b'),
        "plain lines only: {err:?}"
    );
    env.rm("dep");
    let out = env
        .cmd()
        .env("WIT_CACHE_PROGRESS_INTERVAL_MS", "0")
        .args(["restore", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    let err = stderr_of(out.get_output());
    let line = err
        .lines()
        .find(|l| l.starts_with("Restoring key 'k': "))
        .unwrap_or_else(|| panic!("a progress line: {err}"));
    assert!(
        line.contains(" archive read (") && line.contains(" %), "),
        "{line}"
    );
    // -q silences it.
    env.rm("dep");
    let out = env
        .cmd()
        .env("WIT_CACHE_PROGRESS_INTERVAL_MS", "0")
        .args(["-q", "restore", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    assert_eq!(stderr_of(out.get_output()), "");
}

#[test]
fn numbers_say_archive_or_unpacked_and_count_files_in_words() {
    let env = TestEnv::new();
    env.write("dep/a.txt", "tiny");
    let out = env
        .cmd()
        .args(["save", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    let err = stderr_of(out.get_output());
    assert!(err.contains("(1 file, 4 B unpacked → "), "{err}");
    assert!(
        err.contains("larger than its input"),
        "not a ratio below 1: {err}"
    );
    assert!(!err.contains('×'), "{err}");
    env.rm("dep");
    let out = env
        .cmd()
        .args(["restore", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    let err = stderr_of(out.get_output());
    assert!(
        err.contains("Restored key 'k' (4 B unpacked from a ") && err.contains(" archive, 1 file)"),
        "{err}"
    );
    let out = env.cmd().args(["show", "k"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains(" archive, 4 B unpacked, 1 file\n"), "{text}");
    assert!(text.contains("(1 use)"), "{text}");
}

#[test]
fn list_at_80_columns_shortens_keys_in_the_middle() {
    let env = TestEnv::new();
    env.write("dep/a.txt", "x");
    let keys = [
        "npm-Linux-x64-node20-5f1c0e4b9d2a7c3e8f6b1a0d9c8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e-aaaa",
        "npm-Linux-x64-node20-5f1c0e4b9d2a7c3e8f6b1a0d9c8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e-bbbb",
    ];
    for k in keys {
        env.save(k, &["dep"]);
    }
    let out = env
        .cmd()
        .env("COLUMNS", "80")
        .args(["list"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "{line:?} is wider than 80");
    }
    for tail in ["aaaa", "bbbb"] {
        assert!(
            text.lines().any(|l| l.contains('…') && l.contains(tail)),
            "the distinguishing tail {tail} is kept: {text}"
        );
    }
    // Without a width (a file, a pipe) nothing is shortened.
    let out = env.cmd().args(["list"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains(keys[0]) && !text.contains('…'), "{text}");
}

#[test]
fn subcommand_help_puts_global_options_under_their_own_heading() {
    let env = TestEnv::new();
    let out = env.cmd().args(["list", "--help"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let heading = text
        .find("Global options:")
        .expect("a Global options heading");
    let cache_dir = text.find("--cache-dir").expect("--cache-dir listed");
    let own = text.find("--prefix").expect("--prefix listed");
    assert!(own < heading && heading < cache_dir, "{text}");
}

#[test]
fn gc_dry_run_lists_what_it_would_remove_and_why() {
    let env = TestEnv::new();
    env.write("dep/a.txt", "x");
    let t0: i64 = 1_700_000_000;
    env.cmd()
        .env("WIT_CACHE_NOW", t0.to_string())
        .args(["save", "--key", "old-key", "--path", "dep"])
        .assert()
        .success();
    // A week and a day later, with a max age of a week: the entry is idle.
    let out = env
        .cmd()
        .env("WIT_CACHE_NOW", (t0 + 8 * 86_400).to_string())
        .args(["gc", "--dry-run", "--max-age", "7d"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let row = text
        .lines()
        .find(|l| l.contains("old-key"))
        .unwrap_or_else(|| panic!("the entry is listed: {text}"));
    assert!(
        row.contains("acme/app") && row.trim_end().ends_with("expired"),
        "{row}"
    );
    assert!(text.starts_with("REPO"), "{text}");
    // Nothing was removed.
    let out = env.cmd().args(["list"]).assert().success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("old-key"));
}

#[test]
fn show_summarises_a_big_entry_and_lists_files_on_request() {
    let env = TestEnv::new();
    for i in 0..60 {
        env.write(&format!("node_modules/small/f{i}.js"), "x");
    }
    env.write("node_modules/big/index.js", &noise(10_000));
    env.save("k", &["node_modules"]);
    let out = env.cmd().args(["show", "k"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("61 files, 3 directories, 0 symlinks"),
        "{text}"
    );
    let big = text
        .find("node_modules/big  (1 file)")
        .expect("the big directory");
    let small = text
        .find("node_modules/small  (60 files)")
        .expect("the small one");
    assert!(big < small, "largest first: {text}");
    assert!(
        !text.contains("f1.js"),
        "no file list without --files: {text}"
    );
    let out = env.cmd().args(["show", "k", "--files"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("node_modules/small/f59.js"), "{text}");
}
