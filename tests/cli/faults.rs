//! Faults and load: a killed save, a full disk, many processes on one store.

use std::fs;
use std::process::{Command as StdCommand, Stdio};
use std::time::Duration;

use crate::util::{json_of, stderr_of, TestEnv};

/// Bytes that do not compress, so archives are as big as the tree.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn raw_cmd(env: &TestEnv) -> StdCommand {
    let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("wit-cache"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &env.home)
        .env("WIT_CACHE_DIR", &env.store)
        .env("WIT_REPO", "acme/app")
        .envs(crate::util::passed_env())
        .current_dir(&env.ws)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn temp_files(env: &TestEnv) -> Vec<std::path::PathBuf> {
    fs::read_dir(env.store.join("tmp"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

#[test]
fn kill_9_during_save_leaves_no_entry_or_a_whole_one_and_blocks_nothing() {
    let env = TestEnv::new();
    for i in 0..40 {
        let path = env.ws.join(format!("dep/f{i}"));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, noise(1 << 20, i)).unwrap();
    }
    // Kill at a few moments; whatever the moment, the store must stay consistent.
    for delay_ms in [30, 120, 400] {
        let mut child = raw_cmd(&env)
            .args(["save", "--key", "big", "--path", "dep"])
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL: no destructor runs
        child.wait().unwrap();
        let n = env.count_entries();
        assert!(n <= 1, "at most one entry");
        if n == 1 {
            // A complete entry: it restores and verifies.
            env.cmd().arg("verify").assert().success();
            break;
        }
    }
    // Leftover temp files of the dead saves are swept by gc once they are stale.
    let old = filetime::FileTime::from_unix_time(filetime::FileTime::now().unix_seconds() - 600, 0);
    for t in temp_files(&env) {
        filetime::set_file_mtime(&t, old).unwrap();
    }
    env.cmd()
        .env_remove("WIT_REPO")
        .arg("gc")
        .assert()
        .success();
    assert!(
        temp_files(&env).is_empty(),
        "gc swept the dead saves' temp files"
    );
    // A later save of the same key is not blocked, and restores.
    env.cmd()
        .args(["save", "--key", "big", "--path", "dep"])
        .assert()
        .success();
    assert_eq!(env.count_entries(), 1);
    env.rm("dep");
    let doc = env.restore("big", &["dep"], &[]);
    assert_eq!(doc["cache_hit"], true);
    assert_eq!(fs::read(env.ws.join("dep/f3")).unwrap(), noise(1 << 20, 3));
}

/// A store on a 4 MiB tmpfs: a save that does not fit fails clearly and leaves nothing behind.
#[test]
fn a_full_disk_fails_the_save_cleanly() {
    let env = TestEnv::new();
    let mnt = env.root.join("small-fs");
    fs::create_dir_all(&mnt).unwrap();
    let Some(_mount) = crate::util::mount(&["-t", "tmpfs", "-o", "size=4m", "tmpfs"], &mnt) else {
        assert_ne!(euid(), 0, "as root, mounting a tmpfs must work");
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let store = mnt.join("store");
    env.write("small/a", "small");
    env.cmd()
        .env("WIT_CACHE_DIR", &store)
        .args(["save", "--key", "small", "--path", "small"])
        .assert()
        .success();
    fs::create_dir_all(env.ws.join("big")).unwrap();
    fs::write(env.ws.join("big/blob"), noise(6 << 20, 9)).unwrap();
    let out = env
        .cmd()
        .env("WIT_CACHE_DIR", &store)
        .args(["save", "--key", "big", "--path", "big"])
        .assert()
        .code(1);
    let err = stderr_of(out.get_output());
    assert!(err.contains("no space left on the device of"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    let tmp: Vec<_> = fs::read_dir(store.join("tmp")).unwrap().collect();
    assert!(tmp.is_empty(), "the temp file is removed: {tmp:?}");
    // The earlier entry is intact and still restores.
    env.rm("small");
    let out = env
        .cmd()
        .env("WIT_CACHE_DIR", &store)
        .args(["--json", "restore", "--key", "small", "--path", "small"])
        .assert()
        .success();
    assert_eq!(json_of(&out.get_output().stdout)["cache_hit"], true);
    assert_eq!(env.read("small/a"), "small");
}

fn euid() -> u32 {
    // No libc call needed: /proc tells the effective uid.
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(u32::MAX)
}

#[test]
fn twenty_processes_opening_a_new_store_at_once() {
    let env = TestEnv::new();
    env.write("dep/v", "v");
    let children: Vec<_> = (0..20)
        .map(|i| {
            let mut cmd = raw_cmd(&env);
            if i % 2 == 0 {
                cmd.args(["save", "--key", &format!("k{i}"), "--path", "dep"]);
            } else {
                cmd.args(["list"]);
            }
            cmd.spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let err = stderr_of(&out);
        assert!(out.status.success(), "{err}");
        assert!(!err.contains("locked") && !err.contains("busy"), "{err}");
    }
    assert_eq!(env.count_entries(), 10);
}

/// Eight processes mixing save, restore, gc, list, stats and delete on one store, each for a
/// fixed number of rounds; afterwards the store verifies and rows match files.
#[test]
fn mixed_load_keeps_the_store_consistent() {
    let env = TestEnv::new();
    for i in 0..30 {
        env.write(&format!("dep/f{i}"), &format!("{i}").repeat(500));
    }
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let ops: Vec<Vec<String>> = (0..12)
                .map(|round| {
                    let key = format!("k{}", (w + round) % 6);
                    let args: Vec<&str> = match (w + round) % 6 {
                        0 | 1 => vec!["save", "--key", &key, "--path", "dep"],
                        2 | 3 => vec![
                            "restore",
                            "--key",
                            &key,
                            "--restore-key",
                            "k",
                            "--path",
                            "dep",
                        ],
                        4 => vec!["gc", "--max-size", "20k"],
                        _ => match round % 3 {
                            0 => vec!["list"],
                            1 => vec!["stats"],
                            _ => vec!["delete", "--prefix", "k5"],
                        },
                    };
                    args.into_iter().map(String::from).collect()
                })
                .collect();
            let ws = env.root.join(format!("ws{w}"));
            crate::util::write(&ws.join("dep/seed"), "seed");
            let (store, home) = (env.store.clone(), env.home.clone());
            std::thread::spawn(move || {
                for args in ops {
                    let out = StdCommand::new(assert_cmd::cargo::cargo_bin("wit-cache"))
                        .env_clear()
                        .env("HOME", &home)
                        .env("WIT_CACHE_DIR", &store)
                        .env("WIT_REPO", "acme/app")
                        .envs(crate::util::passed_env())
                        .current_dir(&ws)
                        .args(&args)
                        .output()
                        .unwrap();
                    let err = stderr_of(&out);
                    assert!(
                        !err.contains("locked") && !err.contains("busy"),
                        "{args:?}: {err}"
                    );
                    // A delete may find its prefix already gone; everything else succeeds.
                    assert!(
                        out.status.success() || args[0] == "delete",
                        "{args:?}: {err}"
                    );
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    env.cmd().arg("verify").assert().success();
    let rows: Vec<String> = env
        .index()
        .prepare("SELECT archive FROM entries")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for r in &rows {
        assert!(env.store.join(r).is_file(), "row {r} has its archive");
    }
    assert!(temp_files(&env).is_empty(), "no temp file left behind");
}
