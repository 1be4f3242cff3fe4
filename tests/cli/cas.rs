//! The cas entry format (`save --format cas`): real stores, real files, real processes.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::util::{json_of, stderr_of, TestEnv};

/// Bytes that do not compress.
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

fn save_cas(env: &TestEnv, key: &str, paths: &[&str]) -> serde_json::Value {
    let mut cmd = env.cmd();
    cmd.args(["--json", "save", "--format", "cas", "--key", key]);
    for p in paths {
        cmd.args(["--path", p]);
    }
    json_of(&cmd.assert().success().get_output().stdout)
}

/// A package-like tree: `n` small text files in a few directories, a symlink, an empty file,
/// an executable and one file of three chunks.
fn tree(env: &TestEnv, n: usize) {
    for i in 0..n {
        env.write(
            &format!("dep/pkg{}/lib/f{i}.js", i % 7),
            &format!("module.exports = {i}; // {}\n", "x".repeat(i % 50)),
        );
    }
    env.write("dep/empty", "");
    let exe = env.write("dep/bin/tool", "#!/bin/sh\necho tool\n");
    fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).unwrap();
    symlink("bin/tool", env.ws.join("dep/tool-link")).unwrap();
    fs::write(env.ws.join("dep/big.bin"), noise(5 << 20, 7)).unwrap();
}

/// Every path below `root`, with its kind, mode, size, mtime and content (or target).
fn snapshot(root: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(root).sort_by_file_name() {
        let e = e.unwrap();
        let m = e.path().symlink_metadata().unwrap();
        let rel = e.path().strip_prefix(root).unwrap().to_path_buf();
        let what = if m.file_type().is_symlink() {
            format!("link {}", fs::read_link(e.path()).unwrap().display())
        } else if m.is_dir() {
            format!("dir {:o}", m.mode() & 0o7777)
        } else {
            let data = fs::read(e.path()).unwrap();
            format!(
                "file {:o} {} {} {}",
                m.mode() & 0o7777,
                m.len(),
                m.mtime(),
                crate::util::sha256_hex(&data)
            )
        };
        out.push((rel, what));
    }
    out
}

fn dir_bytes(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

fn packs(env: &TestEnv) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(env.store.join("cas-v1/packs"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().to_path_buf())
        .collect();
    out.sort();
    out
}

#[test]
fn a_cas_entry_restores_the_same_tree_and_names_its_format() {
    let env = TestEnv::new();
    tree(&env, 300);
    let before = snapshot(&env.ws.join("dep"));
    let doc = save_cas(&env, "k", &["dep"]);
    assert_eq!(doc["saved"], true);
    assert_eq!(doc["file_count"], 304, "300 + empty + tool + link + big");
    env.rm("dep");
    let doc = env.restore("k", &["dep"], &[]);
    assert_eq!(doc["cache_hit"], true, "{doc}");
    assert_eq!(snapshot(&env.ws.join("dep")), before);

    let out = env.cmd().args(["--json", "list"]).assert().success();
    let list = json_of(&out.get_output().stdout);
    assert_eq!(list["caches"][0]["format"], "cas");
    let out = env.cmd().args(["show", "k"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("cas"), "{text}");
    // The archive format still works next to it, and says so.
    env.save("plain", &["dep"]);
    let out = env
        .cmd()
        .args(["--json", "list", "--sort", "created"])
        .assert()
        .success();
    let list = json_of(&out.get_output().stdout);
    let formats: Vec<&str> = list["caches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["format"].as_str().unwrap())
        .collect();
    assert!(
        formats.contains(&"archive") && formats.contains(&"cas"),
        "{formats:?}"
    );
    env.rm("dep");
    assert_eq!(env.restore("plain", &["dep"], &[])["cache_hit"], true);
    assert_eq!(snapshot(&env.ws.join("dep")), before);
    env.cmd().arg("verify").assert().success();
}

#[test]
fn a_second_similar_save_writes_only_what_changed() {
    let env = TestEnv::new();
    for i in 0..200 {
        fs::create_dir_all(env.ws.join("dep")).unwrap();
        fs::write(env.ws.join(format!("dep/f{i}")), noise(20_000, 2 * i + 1)).unwrap();
    }
    save_cas(&env, "v1", &["dep"]);
    let one = dir_bytes(&env.store.join("cas-v1")) + dir_bytes(&env.store.join("archives-v1"));
    fs::write(env.ws.join("dep/f3"), noise(20_000, 1000)).unwrap();
    let doc = save_cas(&env, "v2", &["dep"]);
    let two = dir_bytes(&env.store.join("cas-v1")) + dir_bytes(&env.store.join("archives-v1"));
    assert!(one > 4_000_000, "the tree does not compress: {one}");
    // The second entry costs its manifest and one file's blob, not another 4 MB.
    assert!(two - one < 100_000, "{one} then {two}");
    assert!(doc["size_bytes"].as_u64().unwrap() < 100_000, "{doc}");
    env.rm("dep");
    assert_eq!(env.restore("v2", &["dep"], &[])["cache_hit"], true);
    assert_eq!(
        fs::read(env.ws.join("dep/f3")).unwrap(),
        noise(20_000, 1000)
    );
    env.rm("dep");
    assert_eq!(env.restore("v1", &["dep"], &[])["cache_hit"], true);
    assert_eq!(fs::read(env.ws.join("dep/f3")).unwrap(), noise(20_000, 7));
}

/// Flips one byte in the middle of every pack.
fn damage_packs(env: &TestEnv) {
    for p in packs(env) {
        let mut data = fs::read(&p).unwrap();
        let mid = data.len() / 2;
        data[mid] ^= 0x55;
        fs::write(&p, data).unwrap();
    }
}

#[test]
fn a_damaged_blob_is_a_miss_the_entry_goes_and_nothing_half_restored_stays() {
    let env = TestEnv::new();
    tree(&env, 50);
    save_cas(&env, "k", &["dep"]);
    damage_packs(&env);
    env.rm("dep");
    let out = env
        .cmd()
        .args(["--json", "restore", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    let doc = json_of(&out.get_output().stdout);
    let err = stderr_of(out.get_output());
    assert_eq!(doc["cache_hit"], serde_json::Value::Null, "a miss: {err}");
    assert!(
        err.contains("was not restored") && err.contains("deleted"),
        "{err}"
    );
    assert!(
        !env.ws.join("dep").exists() || snapshot(&env.ws.join("dep")).len() <= 1,
        "no half tree: {:?}",
        snapshot(&env.ws.join("dep"))
    );
    assert_eq!(env.count_entries(), 0, "the damaged entry was removed");
}

#[test]
fn a_missing_pack_is_damage_and_verify_finds_it() {
    let env = TestEnv::new();
    tree(&env, 20);
    save_cas(&env, "k", &["dep"]);
    save_cas(&env, "k2", &["dep"]);
    env.cmd().arg("verify").assert().success();
    for p in packs(&env) {
        fs::remove_file(p).unwrap();
    }
    let out = env.cmd().args(["--json", "verify"]).assert();
    let err = stderr_of(out.get_output());
    assert!(err.contains("missing"), "{err}");
    assert_eq!(env.count_entries(), 0, "verify removed both entries");
}

#[test]
fn gc_frees_packs_only_when_no_entry_needs_them() {
    let env = TestEnv::new();
    tree(&env, 40);
    save_cas(&env, "a", &["dep"]);
    env.write("dep/new.js", "a new file");
    save_cas(&env, "b", &["dep"]);
    let all = packs(&env);
    assert!(all.len() >= 2, "{all:?}");
    env.cmd().args(["delete", "--key", "a"]).assert().success();
    let out = env
        .cmd()
        .env_remove("WIT_REPO")
        .args(["--json", "gc"])
        .assert()
        .success();
    assert_eq!(
        json_of(&out.get_output().stdout)["packs_removed"],
        0,
        "b needs a's packs"
    );
    env.rm("dep");
    assert_eq!(env.restore("b", &["dep"], &[])["cache_hit"], true);
    assert_eq!(env.read("dep/new.js"), "a new file");
    env.cmd().args(["delete", "--key", "b"]).assert().success();
    let out = env
        .cmd()
        .env_remove("WIT_REPO")
        .args(["--json", "gc"])
        .assert()
        .success();
    assert_eq!(
        json_of(&out.get_output().stdout)["packs_removed"],
        all.len(),
        "nothing needs any pack now"
    );
    assert!(packs(&env).is_empty());
    let left: i64 = env
        .index()
        .query_row("SELECT count(*) FROM cas_blobs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0, "blob rows went with their packs");
}

#[test]
fn first_writer_wins_and_the_loser_leases_nothing() {
    let env = TestEnv::new();
    tree(&env, 10);
    save_cas(&env, "k", &["dep"]);
    let doc = save_cas(&env, "k", &["dep"]);
    assert_eq!(doc["already_existed"], true);
    let owners: i64 = env
        .index()
        .query_row("SELECT count(DISTINCT owner) FROM cas_refs", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(owners, 1);
}

#[test]
fn cas_takes_zstd_only() {
    let env = TestEnv::new();
    env.write("dep/a", "a");
    let out = env
        .cmd()
        .args([
            "save",
            "--format",
            "cas",
            "--compression",
            "gzip",
            "--key",
            "k",
            "--path",
            "dep",
        ])
        .assert()
        .code(2);
    let err = stderr_of(out.get_output());
    assert!(err.contains("--format cas"), "{err}");
}
