//! `TestEnv`: a fresh workspace, home directory and store for each test, and helpers to run
//! the binary in it with a clean environment.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The variables a test run passes on to the binary despite clearing its environment:
/// `WIT_CACHE_FORMAT=cas cargo test --test cli` runs the whole suite with cas as the
/// default format of a save.
pub fn passed_env() -> Vec<(&'static str, std::ffi::OsString)> {
    ["WIT_CACHE_FORMAT"]
        .into_iter()
        .filter_map(|name| std::env::var_os(name).map(|value| (name, value)))
        .collect()
}

pub struct TestEnv {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub ws: PathBuf,
    pub home: PathBuf,
    pub store: PathBuf,
}

impl TestEnv {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().canonicalize().expect("canonical temp dir");
        let ws = root.join("ws");
        let home = root.join("home");
        fs::create_dir_all(&ws).unwrap();
        fs::create_dir_all(&home).unwrap();
        Self {
            _dir: dir,
            store: root.join("store"),
            root,
            ws,
            home,
        }
    }

    /// `wit-cache` with a clean environment: this env's HOME, store, workspace and repo.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("wit-cache").expect("binary built");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("WIT_CACHE_DIR", &self.store)
            .env("WIT_REPO", "acme/app")
            .envs(passed_env())
            .current_dir(&self.ws);
        cmd
    }

    /// Writes a file (creating parents) under the workspace.
    pub fn write(&self, rel: &str, content: &str) -> PathBuf {
        write(&self.ws.join(rel), content)
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.ws.join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.ws.join(rel).symlink_metadata().is_ok()
    }

    pub fn rm(&self, rel: &str) {
        let p = self.ws.join(rel);
        if p.is_dir() {
            fs::remove_dir_all(p).unwrap();
        } else {
            fs::remove_file(p).unwrap();
        }
    }

    /// Runs `save` with the given key and paths and asserts success.
    pub fn save(&self, key: &str, paths: &[&str]) -> serde_json::Value {
        self.save_with(key, paths, &[])
    }

    /// The same in the archive format whatever the default: for tests that plant, read or
    /// corrupt the archive file itself.
    pub fn save_archive(&self, key: &str, paths: &[&str]) -> serde_json::Value {
        self.save_with(key, paths, &["--format", "archive"])
    }

    fn save_with(&self, key: &str, paths: &[&str], extra: &[&str]) -> serde_json::Value {
        let mut cmd = self.cmd();
        cmd.args(["--json", "save", "--key", key]).args(extra);
        for p in paths {
            cmd.args(["--path", p]);
        }
        json_of(&cmd.assert().success().get_output().stdout)
    }

    /// Runs `restore --json` with extra args and asserts success.
    pub fn restore(&self, key: &str, paths: &[&str], extra: &[&str]) -> serde_json::Value {
        let mut cmd = self.cmd();
        cmd.args(["--json", "restore", "--key", key]);
        for p in paths {
            cmd.args(["--path", p]);
        }
        cmd.args(extra);
        json_of(&cmd.assert().success().get_output().stdout)
    }

    /// Opens the store's index read-only for assertions.
    pub fn index(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.store.join("index-v1.sqlite")).expect("index exists")
    }

    /// Rows in the index; 0 when no process got as far as creating it.
    pub fn count_entries(&self) -> i64 {
        if !self.store.join("index-v1.sqlite").exists() {
            return 0;
        }
        match self
            .index()
            .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        {
            Err(rusqlite::Error::SqliteFailure(_, Some(msg))) if msg.contains("no such table") => 0,
            other => other.unwrap(),
        }
    }

    /// Every archive file in the store.
    pub fn archives(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let dir = self.store.join("archives-v1");
        if let Ok(shards) = fs::read_dir(dir) {
            for shard in shards {
                for f in fs::read_dir(shard.unwrap().path()).unwrap() {
                    out.push(f.unwrap().path());
                }
            }
        }
        out.sort();
        out
    }
}

pub fn write(path: &Path, content: &str) -> PathBuf {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
    path.to_path_buf()
}

pub fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

pub fn json_of(stdout: &[u8]) -> serde_json::Value {
    serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}",
            String::from_utf8_lossy(stdout)
        )
    })
}

pub fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Unmounts on drop, so a failing test does not leave a mount behind.
pub struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Runs `mount ARGS… TARGET`; `None` when mounting is not allowed here (not root).
pub fn mount(args: &[&str], target: &Path) -> Option<Mount> {
    let ok = std::process::Command::new("mount")
        .args(args)
        .arg(target)
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| Mount(target.to_path_buf()))
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest as _;
    wit_cache::keys::hex(&sha2::Sha256::digest(data))
}
