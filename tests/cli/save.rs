//! `save`: one archive and one row, first writer wins, --overwrite, codecs, bad input.

use std::process::Command as StdCommand;

use predicates::prelude::*;

use crate::util::{json_of, stderr_of, TestEnv};

#[test]
fn save_writes_one_archive_and_one_row() {
    let env = TestEnv::new();
    env.write("node_modules/a/index.js", "module.exports = 1;\n");
    env.write("../home/.npm/_cacache/x", "npm cache\n");
    let out = env.save_archive("npm-Linux-abc", &["node_modules", "~/.npm"]);
    assert_eq!(out["saved"], true);
    assert_eq!(out["already_existed"], false);
    assert_eq!(out["key"], "npm-Linux-abc");
    assert_eq!(out["file_count"], 2);
    assert_eq!(out["unpacked_bytes"], 30);
    assert!(out["size_bytes"].as_u64().unwrap() > 0);
    assert_eq!(env.count_entries(), 1);
    let archives = env.archives();
    assert_eq!(archives.len(), 1);
    assert!(archives[0].to_string_lossy().ends_with(".tar.zst"));
    // The row describes the archive as it is on disk.
    let (size, digest, paths, repo): (i64, String, String, String) = env
        .index()
        .query_row(
            "SELECT size_bytes, digest, paths, repo FROM entries",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(size as u64, std::fs::metadata(&archives[0]).unwrap().len());
    let bytes = std::fs::read(&archives[0]).unwrap();
    let actual = <sha2::Sha256 as sha2::Digest>::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .concat();
    assert_eq!(digest, actual);
    assert_eq!(paths, r#"["node_modules","~/.npm"]"#);
    assert_eq!(repo, "acme/app");
    // Scaffolding that keeps the store out of backups and commits.
    assert!(env.store.join("CACHEDIR.TAG").is_file());
    assert_eq!(
        std::fs::read_to_string(env.store.join(".gitignore")).unwrap(),
        "*\n"
    );
}

#[test]
fn saving_an_existing_key_is_a_no_op_that_reads_no_files() {
    let env = TestEnv::new();
    env.write("node_modules/a.js", "a");
    env.save("k1", &["node_modules"]);
    let before = env.archives();
    // Remove the tree: a save that walked it would warn that nothing exists.
    env.rm("node_modules");
    let out = env
        .cmd()
        .args(["save", "--key", "K1", "--path", "node_modules"])
        .assert()
        .success();
    assert!(
        !stderr_of(out.get_output()).contains("does not exist"),
        "{}",
        stderr_of(out.get_output())
    );
    assert!(
        stderr_of(out.get_output()).contains("already exists"),
        "{}",
        stderr_of(out.get_output())
    );
    assert_eq!(env.archives(), before);
    assert_eq!(env.count_entries(), 1);
}

#[test]
fn overwrite_replaces_the_entry_and_its_archive() {
    let env = TestEnv::new();
    env.write("dist/v.txt", "one");
    env.save("k", &["dist"]);
    let first = env.archives();
    env.write("dist/v.txt", "two!");
    let out = json_of(
        &env.cmd()
            .args([
                "--json",
                "save",
                "--key",
                "k",
                "--path",
                "dist",
                "--overwrite",
            ])
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    assert_eq!(out["saved"], true);
    let second = env.archives();
    assert_eq!(second.len(), 1);
    assert_ne!(
        first, second,
        "the old archive is deleted, a new one takes its place"
    );
    assert_eq!(env.count_entries(), 1);
    env.rm("dist");
    env.restore("k", &["dist"], &[]);
    assert_eq!(env.read("dist/v.txt"), "two!");
}

#[test]
fn every_codec_round_trips_and_gnu_tar_can_read_it() {
    for (codec, ext, tar_flag) in [
        ("zstd", "tar.zst", "--zstd"),
        ("gzip", "tar.gz", "-z"),
        ("none", "tar", ""),
    ] {
        let env = TestEnv::new();
        env.write(
            "out/file with spaces.txt",
            &"compressible text ".repeat(1000),
        );
        let mut cmd = env.cmd();
        cmd.args([
            "save",
            "--key",
            "k",
            "--path",
            "out",
            "--format",
            "archive",
            "--compression",
            codec,
        ]);
        if codec != "none" {
            cmd.args(["--level", "1"]);
        }
        cmd.assert().success();
        let archives = env.archives();
        assert!(
            archives[0].to_string_lossy().ends_with(ext),
            "{codec}: {archives:?}"
        );
        let mut tar = StdCommand::new("tar");
        if !tar_flag.is_empty() {
            tar.arg(tar_flag);
        }
        let listing = tar
            .arg("-tvf")
            .arg(&archives[0])
            .output()
            .expect("GNU tar runs");
        assert!(listing.status.success(), "{codec}: {}", stderr_of(&listing));
        assert!(String::from_utf8_lossy(&listing.stdout).contains("0/out/file with spaces.txt"));
        env.rm("out");
        let r = env.restore("k", &["out"], &[]);
        assert_eq!(r["cache_hit"], true, "{codec}");
        assert_eq!(env.read("out/file with spaces.txt").len(), 18_000);
    }
}

#[test]
fn missing_paths_are_skipped_and_nothing_to_save_is_a_warning() {
    let env = TestEnv::new();
    env.write("present/x", "x");
    let out = env
        .cmd()
        .args([
            "--json", "save", "--key", "k", "--path", "present", "--path", "absent",
        ])
        .assert()
        .success();
    assert!(stderr_of(out.get_output()).contains("'absent' does not exist"));
    assert_eq!(json_of(&out.get_output().stdout)["saved"], true);

    let out = env
        .cmd()
        .args(["--json", "save", "--key", "k2", "--path", "absent"])
        .assert()
        .success();
    assert!(stderr_of(out.get_output()).contains("nothing to save"));
    assert_eq!(json_of(&out.get_output().stdout)["saved"], false);
    assert_eq!(env.count_entries(), 1);
}

#[test]
fn exclusions_really_exclude_inside_included_directories() {
    let env = TestEnv::new();
    env.write("node_modules/a/index.js", "a");
    env.write("node_modules/.cache/big.bin", "junk");
    env.write("node_modules/b/debug.log", "log");
    env.save("k", &["node_modules", "!node_modules/.cache", "!**/*.log"]);
    env.rm("node_modules");
    env.restore(
        "k",
        &["node_modules", "!node_modules/.cache", "!**/*.log"],
        &[],
    );
    assert!(env.exists("node_modules/a/index.js"));
    assert!(!env.exists("node_modules/.cache"));
    assert!(!env.exists("node_modules/b/debug.log"));
}

#[test]
fn globs_select_what_they_match() {
    let env = TestEnv::new();
    env.write("packages/a/dist/a.js", "a");
    env.write("packages/b/dist/sub/b.js", "b");
    env.write("packages/b/src/b.ts", "src");
    env.save("k", &["packages/*/dist"]);
    env.rm("packages");
    env.restore("k", &["packages/*/dist"], &[]);
    assert_eq!(env.read("packages/a/dist/a.js"), "a");
    assert_eq!(env.read("packages/b/dist/sub/b.js"), "b");
    assert!(!env.exists("packages/b/src"));
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let env = TestEnv::new();
    env.write("x/y", "y");
    let long = "k".repeat(513);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["save", "--key", "a,b", "--path", "x"], "comma"),
        (vec!["save", "--key", &long, "--path", "x"], "at most 512"),
        (
            vec!["save", "--key", "a\nb", "--path", "x"],
            "control character",
        ),
        (vec!["save", "--key", "", "--path", "x"], "empty"),
        (
            vec!["save", "--key", "k", "--path", "\n"],
            "--path is empty",
        ),
        (
            vec!["save", "--key", "k", "--path", "x", "--level", "42"],
            "zstd levels are 1 to 19",
        ),
        (
            vec![
                "save",
                "--key",
                "k",
                "--path",
                "x",
                "--compression",
                "none",
                "--level",
                "3",
            ],
            "no levels",
        ),
        (
            vec!["save", "--key", "k", "--path", "/"],
            "file system root",
        ),
    ];
    for (args, needle) in cases {
        let out = env.cmd().args(&args).assert().code(2);
        let err = stderr_of(out.get_output());
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: one line, got {err}"
        );
    }
    // No --path at all is clap's usage error, also exit 2.
    env.cmd().args(["save", "--key", "k"]).assert().code(2);
}

#[test]
fn a_store_that_is_a_file_or_unwritable_is_a_clear_error() {
    let env = TestEnv::new();
    env.write("x/y", "y");
    let file = env.root.join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    env.cmd()
        .env("WIT_CACHE_DIR", &file)
        .args(["save", "--key", "k", "--path", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a directory"));

    let ro = env.root.join("ro");
    std::fs::create_dir(&ro).unwrap();
    crate::util::chmod(&ro, 0o555);
    let probe = ro.join("probe");
    // Root ignores permissions: only assert when they are really enforced.
    if std::fs::write(&probe, "").is_err() {
        env.cmd()
            .env("WIT_CACHE_DIR", ro.join("store"))
            .args(["save", "--key", "k", "--path", "x"])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("is not writable"));
    } else {
        std::fs::remove_file(&probe).unwrap();
        // As root, use a path below a file, which nobody can create.
        env.cmd()
            .env("WIT_CACHE_DIR", file.join("store"))
            .args(["save", "--key", "k", "--path", "x"])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("is not writable"));
    }
}

#[test]
fn concurrent_saves_of_one_key_leave_exactly_one_entry() {
    let env = TestEnv::new();
    for i in 0..200 {
        env.write(&format!("node_modules/p{i}/index.js"), &"x".repeat(2000));
    }
    let children: Vec<_> = (0..8)
        .map(|_| {
            let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("wit-cache"));
            cmd.env("HOME", &env.home)
                .env("WIT_CACHE_DIR", &env.store)
                .env("WIT_REPO", "acme/app")
                .current_dir(&env.ws)
                .args(["--json", "save", "--key", "same", "--path", "node_modules"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    let mut saved = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert!(!stderr_of(&out).contains("locked"), "{}", stderr_of(&out));
        if json_of(&out.stdout)["saved"] == true {
            saved += 1;
        }
    }
    assert_eq!(saved, 1, "exactly one writer wins");
    assert_eq!(env.count_entries(), 1);
    assert_eq!(env.archives().len(), 1, "losers delete their archives");
    let tmp: Vec<_> = std::fs::read_dir(env.store.join("tmp")).unwrap().collect();
    assert!(tmp.is_empty(), "no temp files left: {tmp:?}");
}
