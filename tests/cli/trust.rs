//! The store believes nothing it reads from its own index and directories: a job that runs
//! as the store's Unix user can write any row and plant anything under the store, and a cron
//! `gc` running as a more privileged user must still delete nothing outside it, hang on
//! nothing, and panic on nothing.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::util::{json_of, stderr_of, TestEnv};

/// A file outside the store that nothing may touch.
fn victim(env: &TestEnv) -> PathBuf {
    let dir = env.root.join("outside");
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("victim");
    fs::write(&path, "precious").unwrap();
    path
}

fn assert_intact(path: &Path) {
    assert_eq!(
        fs::read_to_string(path).unwrap_or_else(|e| panic!("{} is gone: {e}", path.display())),
        "precious"
    );
}

fn saved(key: &str) -> TestEnv {
    let env = TestEnv::new();
    env.write("dep/a.txt", "cached");
    env.save_archive(key, &["dep"]);
    env
}

/// Every command that removes archives, against a row whose archive column points outside.
#[test]
fn a_row_pointing_outside_the_store_never_deletes_there() {
    let commands: &[&[&str]] = &[
        &["delete", "--key", "k"],
        &["gc"],
        &["gc", "--max-age", "0s"],
        &["verify"],
        &["restore", "--key", "k", "--path", "dep"],
        &["save", "--key", "k", "--path", "dep", "--overwrite"],
        &["delete", "--all"],
    ];
    for command in commands {
        let env = saved("k");
        let victim = victim(&env);
        for column in [
            victim.display().to_string(),
            "../outside/victim".to_string(),
            "archives-v1/00/../../../outside/victim".to_string(),
            format!("archives-v1/{}", "../".repeat(4) + "outside/victim"),
        ] {
            env.index()
                .execute("UPDATE entries SET archive = ?1", [&column])
                .unwrap();
            let out = env
                .cmd()
                .args(*command)
                .timeout(Duration::from_secs(120))
                .output()
                .unwrap();
            assert_ne!(out.status.code(), Some(101), "{command:?}: a panic");
            assert_intact(&victim);
            // The row is there until something that may remove it (gc, verify, a removal
            // or a replacing save) does; it is never an entry anyone restores.
            let _ = stderr_of(&out);
        }
    }
}

#[test]
fn a_bad_row_is_reported_and_removed_by_gc_without_its_column_as_a_path() {
    let env = saved("k");
    let victim = victim(&env);
    env.index()
        .execute(
            "UPDATE entries SET archive = ?1",
            [victim.display().to_string()],
        )
        .unwrap();
    let out = env.cmd().args(["--json", "list"]).assert().success();
    let doc = json_of(&out.get_output().stdout);
    assert_eq!(doc["caches"].as_array().unwrap().len(), 0);
    assert!(
        stderr_of(out.get_output()).contains("is not a usable cache entry"),
        "{}",
        stderr_of(out.get_output())
    );
    let out = env
        .cmd()
        .args(["--json", "restore", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    assert_eq!(
        json_of(&out.get_output().stdout)["cache_hit"],
        serde_json::Value::Null
    );
    let out = env.cmd().args(["--json", "gc"]).assert().success();
    let gc = json_of(&out.get_output().stdout);
    assert_eq!(gc["damaged_rows"], 1, "{gc}");
    assert_eq!(env.count_entries(), 0);
    assert_intact(&victim);
}

fn age(path: &Path, days: u64) {
    let t = filetime::FileTime::from_system_time(
        std::time::SystemTime::now() - Duration::from_secs(days * 86_400),
    );
    filetime::set_symlink_file_times(path, t, t).unwrap();
}

/// A symlinked shard directory and a symlinked `tmp/` are left alone and reported; what
/// they point at survives, however orphaned or stale it looks.
#[test]
fn gc_follows_no_symlink_under_the_store() {
    let env = saved("k");
    env.cmd().arg("gc").assert().success();
    let outside = env.root.join("outside");
    fs::create_dir_all(&outside).unwrap();
    let id = "ab".to_string() + &"0".repeat(30);
    let planted = [
        outside.join(format!("{id}.tar.zst")),
        outside.join("save-1-abc.partial"),
        outside.join("victim"),
    ];
    for p in &planted {
        fs::write(p, "precious").unwrap();
        age(p, 30);
    }
    let archives = env.store.join("archives-v1");
    // A shard named like a real one, and one that is not.
    symlink(&outside, archives.join("ab")).unwrap();
    symlink(&outside, archives.join("zz")).unwrap();
    fs::remove_dir_all(env.store.join("tmp")).unwrap();
    symlink(&outside, env.store.join("tmp")).unwrap();
    // A symlink where an archive would be, and a planted non-archive file.
    let shard = fs::read_dir(&archives)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.symlink_metadata().unwrap().is_dir())
        .unwrap();
    let link_name = format!(
        "{}{}.tar.zst",
        shard.file_name().unwrap().to_string_lossy(),
        "1".repeat(30)
    );
    symlink(&planted[2], shard.join(&link_name)).unwrap();
    age(&shard.join(&link_name), 30);

    let out = env.cmd().args(["--json", "gc"]).assert().success();
    let err = stderr_of(out.get_output());
    for p in &planted {
        assert_intact(p);
    }
    assert!(err.contains("left alone"), "{err}");
    assert!(
        shard.join(&link_name).symlink_metadata().is_ok(),
        "reported, not removed"
    );
    // The real entry is unharmed and still restores.
    env.rm("dep");
    let doc = env.restore("k", &["dep"], &[]);
    assert_eq!(doc["cache_hit"], true);
}

/// An archive that is a FIFO or a symlink to a device: every command that reads archives
/// finishes (a generous deadline guards against a hang) and calls the entry damaged.
#[test]
fn a_fifo_or_device_archive_never_hangs_a_reader() {
    for kind in ["fifo", "dev-zero", "dev-zero-signed"] {
        for args in [
            vec!["show", "k"],
            vec!["--json", "restore", "--key", "k", "--path", "dep"],
            vec!["verify"],
        ] {
            let env = TestEnv::new();
            env.write("dep/a.txt", "cached");
            let signed = kind.ends_with("signed");
            let cmd = || {
                let mut c = env.cmd();
                if signed {
                    c.env("WIT_CACHE_SIGNING_KEY", "s3cret");
                }
                c
            };
            cmd()
                .args(["save", "--key", "k", "--path", "dep"])
                .assert()
                .success();
            let archive = env.archives().pop().unwrap();
            fs::remove_file(&archive).unwrap();
            if kind == "fifo" {
                let ok = std::process::Command::new("mkfifo")
                    .arg(&archive)
                    .status()
                    .unwrap();
                assert!(ok.success());
            } else {
                symlink("/dev/zero", &archive).unwrap();
            }
            let out = cmd()
                .args(&args)
                .timeout(Duration::from_secs(60))
                .output()
                .unwrap();
            let err = stderr_of(&out);
            assert!(
                out.status.code().is_some(),
                "{kind} {args:?}: killed by the deadline: {err}"
            );
            assert_ne!(out.status.code(), Some(101), "{kind} {args:?}: {err}");
            assert!(err.contains("not a regular file"), "{kind} {args:?}: {err}");
            if args.get(1) == Some(&"restore") {
                assert_eq!(
                    json_of(&out.stdout)["cache_hit"],
                    serde_json::Value::Null,
                    "{kind}"
                );
            }
            // Nothing in the store's place was followed or removed.
            assert!(archive.symlink_metadata().is_ok(), "{kind}: left alone");
        }
    }
}

/// A signed row re-pointed at another archive, or back-dated to win a prefix lookup, no
/// longer carries a valid signature: it is skipped as if absent.
#[test]
fn re_pointed_or_back_dated_signed_rows_are_refused() {
    let env = TestEnv::new();
    let signed = |mut c: assert_cmd::Command| {
        c.env("WIT_CACHE_SIGNING_KEY", "s3cret");
        c
    };
    for (key, at, content) in [
        ("npm-1", "1700000000", "one"),
        ("npm-2", "1700000600", "two"),
    ] {
        env.write("dep/a.txt", content);
        signed(env.cmd())
            .env("WIT_CACHE_NOW", at)
            .args(["save", "--key", key, "--path", "dep"])
            .assert()
            .success();
    }
    // Back-dating: npm-1 claims to be the newest.
    env.index()
        .execute(
            "UPDATE entries SET created_at = 1800000000000 WHERE key = 'npm-1'",
            [],
        )
        .unwrap();
    env.rm("dep");
    let out = signed(env.cmd())
        .args([
            "--json",
            "restore",
            "--key",
            "npm-9",
            "--restore-key",
            "npm-",
            "--path",
            "dep",
        ])
        .assert()
        .success();
    let doc = json_of(&out.get_output().stdout);
    assert_eq!(
        doc["matched_key"],
        "npm-2",
        "{}",
        stderr_of(out.get_output())
    );
    assert!(stderr_of(out.get_output()).contains("'npm-1'"));
    assert_eq!(env.read("dep/a.txt"), "two");

    // Re-pointing: npm-2's row names npm-1's archive (a copy, so the digest matches it).
    let (a1, d1, s1): (String, String, i64) = env
        .index()
        .query_row(
            "SELECT archive, digest, size_bytes FROM entries WHERE key = 'npm-1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let id = "cd".to_string() + &"9".repeat(30);
    let moved = format!("archives-v1/cd/{id}.tar.zst");
    fs::create_dir_all(env.store.join("archives-v1/cd")).unwrap();
    fs::copy(env.store.join(&a1), env.store.join(&moved)).unwrap();
    env.index()
        .execute(
            "UPDATE entries SET archive = ?1, digest = ?2, size_bytes = ?3 WHERE key = 'npm-2'",
            rusqlite::params![moved, d1, s1],
        )
        .unwrap();
    env.rm("dep");
    let out = signed(env.cmd())
        .args(["--json", "restore", "--key", "npm-2", "--path", "dep"])
        .assert()
        .success();
    assert_eq!(
        json_of(&out.get_output().stdout)["cache_hit"],
        serde_json::Value::Null
    );
    assert!(stderr_of(out.get_output()).contains("is not signed with WIT_CACHE_SIGNING_KEY"));
    assert!(!env.exists("dep"));
}

/// Times past year 9999 (or before 1970), negative or non-numeric sizes: no command panics,
/// the row is reported, and gc removes it.
#[test]
fn out_of_range_numbers_and_times_are_damage_not_panics() {
    for (column, value) in [
        ("created_at", "253402300800000"),
        ("last_accessed_at", "253402300800000"),
        ("created_at", "-1"),
        ("size_bytes", "-5"),
        ("size_bytes", "'lots'"),
        ("unpacked_bytes", "9223372036854775807"),
        ("access_count", "-1"),
        ("paths", "'not json'"),
    ] {
        let env = saved("k");
        env.index()
            .execute(&format!("UPDATE entries SET {column} = {value}"), [])
            .unwrap();
        for args in [
            vec!["--json", "list"],
            vec!["list"],
            vec!["show", "k"],
            vec!["--json", "stats"],
            vec!["stats"],
            vec!["--json", "restore", "--key", "k", "--path", "dep"],
            vec!["gc", "--dry-run"],
        ] {
            let out = env.cmd().args(&args).output().unwrap();
            assert_ne!(
                out.status.code(),
                Some(101),
                "{column}={value} {args:?}: {}",
                stderr_of(&out)
            );
            if args[0] == "--json" {
                json_of(&out.stdout);
            }
        }
        env.cmd().arg("gc").assert().success();
        assert_eq!(
            env.count_entries(),
            0,
            "{column}={value}: gc removes the row"
        );
    }
}

/// A member name, key or path from outside cannot forge a log line: control characters reach
/// stderr escaped, and nothing can add a line to `$GITHUB_OUTPUT`.
#[test]
fn hostile_names_are_escaped_in_logs_and_outputs() {
    use crate::hostile::{plant, raw_tar, Kind};
    let env = saved("k");
    let name: &[u8] = b"0/dep/\x1b[2K\r::set-output name=cache-hit::true\n/../../x";
    plant(&env, &raw_tar(&[(name, Kind::File(b"x"))]), 1);
    let outputs = env.root.join("github-output");
    let out = env
        .cmd()
        .env("GITHUB_OUTPUT", &outputs)
        .args(["restore", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    let err = stderr_of(out.get_output());
    assert!(!err.contains('\x1b') && !err.contains('\r'), "{err:?}");
    assert!(
        !err.lines().any(|l| l.starts_with("::set-output")),
        "a forged line: {err}"
    );
    assert!(err.contains("\\x1b[2K\\r::set-output"), "{err}");
    let written = fs::read_to_string(&outputs).unwrap();
    assert_eq!(written, "cache-primary-key=k\n", "a miss sets no cache-hit");
}

/// The index file and SQLite's files beside it: a symlink planted there would make any
/// command create a database, and delete `-wal`/`-journal` files, wherever it points; a FIFO
/// at the journal would hang every command.
#[test]
fn the_index_and_its_journal_files_are_never_followed_or_waited_on() {
    for (file, kind) in [
        ("index-v1.sqlite", "symlink"),
        ("index-v1.sqlite-journal", "symlink"),
        ("index-v1.sqlite-journal", "fifo"),
        ("index-v1.sqlite-wal", "fifo"),
        ("index-v1.sqlite-shm", "fifo"),
    ] {
        let env = saved("k");
        let outside = env.root.join("outside");
        fs::create_dir_all(&outside).unwrap();
        for sidecar in ["-wal", "-journal", "-shm"] {
            fs::write(outside.join(format!("notes{sidecar}")), "precious").unwrap();
        }
        let planted = env.store.join(file);
        let _ = fs::remove_file(&planted);
        if kind == "symlink" {
            symlink(outside.join("notes"), &planted).unwrap();
        } else {
            let ok = std::process::Command::new("mkfifo")
                .arg(&planted)
                .status()
                .unwrap();
            assert!(ok.success());
        }
        for args in [
            vec!["gc"],
            vec!["list"],
            vec!["--json", "restore", "--key", "k", "--path", "dep"],
            vec![
                "--json",
                "restore",
                "--key",
                "k",
                "--path",
                "dep",
                "--read-only",
            ],
            vec!["save", "--key", "k2", "--path", "dep"],
        ] {
            let out = env
                .cmd()
                .args(&args)
                .timeout(Duration::from_secs(60))
                .output()
                .unwrap();
            let err = stderr_of(&out);
            assert!(
                out.status.code().is_some(),
                "{file} {kind} {args:?}: hung: {err}"
            );
            assert_ne!(
                out.status.code(),
                Some(101),
                "{file} {kind} {args:?}: {err}"
            );
            assert!(
                err.contains("not a regular file"),
                "{file} {kind} {args:?}: {err}"
            );
            assert!(
                !outside.join("notes").exists(),
                "{file} {kind} {args:?}: created outside"
            );
            for sidecar in ["-wal", "-journal", "-shm"] {
                assert_eq!(
                    fs::read_to_string(outside.join(format!("notes{sidecar}"))).unwrap(),
                    "precious",
                    "{file} {kind} {args:?}"
                );
            }
        }
    }
}

/// Lookups and deletes match on the folded key, which no signature covers: a row whose
/// folded key is not its key's fold must not answer for another key.
#[test]
fn a_row_whose_folded_key_lies_answers_for_no_key() {
    let env = TestEnv::new();
    let signed = |mut c: assert_cmd::Command| {
        c.env("WIT_CACHE_SIGNING_KEY", "s3cret");
        c
    };
    env.write("dep/a.txt", "old and vulnerable");
    signed(env.cmd())
        .args(["save", "--key", "npm-Linux-old", "--path", "dep"])
        .assert()
        .success();
    env.index()
        .execute("UPDATE entries SET key_folded = 'npm-linux-new'", [])
        .unwrap();
    env.rm("dep");
    for extra in [&[][..], &["--restore-key", "npm-linux-n"][..]] {
        let out = signed(env.cmd())
            .args([
                "--json",
                "restore",
                "--key",
                "npm-Linux-new",
                "--path",
                "dep",
            ])
            .args(extra)
            .assert()
            .success();
        let err = stderr_of(out.get_output());
        assert_eq!(
            json_of(&out.get_output().stdout)["cache_hit"],
            serde_json::Value::Null,
            "{extra:?}: {err}"
        );
        assert!(!env.exists("dep"), "{extra:?}: the old entry was restored");
    }
    // Unsigned, the same.
    let out = env
        .cmd()
        .args([
            "--json",
            "restore",
            "--key",
            "npm-Linux-new",
            "--path",
            "dep",
        ])
        .assert()
        .success();
    assert_eq!(
        json_of(&out.get_output().stdout)["cache_hit"],
        serde_json::Value::Null
    );
    let out = env.cmd().args(["--json", "list"]).assert().success();
    assert!(
        stderr_of(out.get_output()).contains("folded-key column does not match"),
        "{}",
        stderr_of(out.get_output())
    );
}

/// An archive padded (sparsely) far past its recorded size is damage at once: no reader
/// hashes a terabyte of zeros.
#[test]
fn an_archive_longer_than_recorded_is_damage_without_being_read() {
    for signed in [false, true] {
        for args in [
            vec!["--json", "restore", "--key", "k", "--path", "dep"],
            vec!["verify"],
        ] {
            let env = TestEnv::new();
            env.write("dep/a.txt", "cached");
            let cmd = || {
                let mut c = env.cmd();
                if signed {
                    c.env("WIT_CACHE_SIGNING_KEY", "s3cret");
                }
                c
            };
            cmd()
                .args(["save", "--key", "k", "--path", "dep"])
                .assert()
                .success();
            let archive = env.archives().pop().unwrap();
            fs::File::options()
                .write(true)
                .open(&archive)
                .unwrap()
                .set_len(1 << 40)
                .unwrap();
            env.rm("dep");
            let out = cmd()
                .args(&args)
                .timeout(Duration::from_secs(60))
                .output()
                .unwrap();
            let err = stderr_of(&out);
            assert!(out.status.code().is_some(), "{args:?}: hung: {err}");
            assert!(err.contains("were recorded"), "{args:?}: {err}");
            assert!(!env.exists("dep"), "{args:?}");
        }
    }
}

/// Sums over planted restore attempts or saves never overflow a query: stats, its formats
/// and the numbers the page shows keep working.
#[test]
fn huge_numbers_in_attempt_rows_never_break_stats() {
    let env = saved("k");
    env.cmd()
        .args(["restore", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    let index = env.index();
    for _ in 0..3 {
        index
            .execute(
                "INSERT INTO restore_attempts (at, repo, scope, primary_key, outcome, bytes, duration_ms)
                 SELECT at, repo, scope, primary_key, 'hit', 9223372036854775807, 9223372036854775807
                 FROM restore_attempts LIMIT 1",
                [],
            )
            .unwrap();
    }
    for args in [
        vec!["stats"],
        vec!["--json", "stats"],
        vec!["stats", "--format", "prometheus"],
    ] {
        let out = env.cmd().args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
    }
}

/// Strings a planted row or removal record carries are cut in messages: a megabyte key does
/// not become a megabyte log line, and no hint quotes a key that is not a key.
#[test]
fn planted_giant_strings_are_cut_in_messages() {
    let env = saved("k");
    let giant = "k".repeat(1 << 20);
    env.index()
        .execute("UPDATE entries SET key = ?1, archive = ?1", [&giant])
        .unwrap();
    for args in [vec!["list"], vec!["verify"], vec!["gc", "--dry-run"]] {
        let out = env.cmd().args(&args).output().unwrap();
        let err = stderr_of(&out);
        assert!(
            err.lines().all(|l| l.len() < 2000),
            "{args:?}: a line of {} bytes",
            err.lines().map(str::len).max().unwrap_or(0)
        );
    }
}
