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
    env.save_archive("plain", &["dep"]);
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

/// Makes every file of the store look old (the sweeps' graces are by file time).
fn age_store(env: &TestEnv) {
    let old =
        filetime::FileTime::from_unix_time(filetime::FileTime::now().unix_seconds() - 7200, 0);
    for e in walkdir::WalkDir::new(&env.store)
        .into_iter()
        .filter_map(Result::ok)
    {
        if e.file_type().is_file() {
            filetime::set_file_mtime(e.path(), old).unwrap();
        }
    }
}

/// gc two days from now (stale leases go) on an aged store.
fn gc_later(env: &TestEnv) -> serde_json::Value {
    age_store(env);
    let later = (filetime::FileTime::now().unix_seconds() + 2 * 86_400).to_string();
    let out = env
        .cmd()
        .env_remove("WIT_REPO")
        .env("WIT_CACHE_NOW", later)
        .args(["--json", "gc", "--max-age", "30d"])
        .assert()
        .success();
    json_of(&out.get_output().stdout)
}

/// After gc: no temp file, every pack file registered and needed, every lease an entry's.
fn assert_no_garbage(env: &TestEnv) {
    let tmp: Vec<_> = fs::read_dir(env.store.join("tmp")).unwrap().collect();
    assert!(tmp.is_empty(), "temp files left: {tmp:?}");
    let ix = env.index();
    let registered: Vec<String> = ix
        .prepare("SELECT name FROM cas_packs ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let on_disk: Vec<String> = packs(env)
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        on_disk, registered,
        "pack files are exactly the registered packs"
    );
    let stray: i64 = ix
        .query_row(
            "SELECT count(*) FROM cas_refs WHERE owner NOT IN
               (SELECT substr(archive, 16, 32) FROM entries)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stray, 0, "every lease belongs to an entry");
    let unneeded: i64 = ix
        .query_row(
            "SELECT count(*) FROM cas_packs WHERE name NOT IN (SELECT pack FROM cas_refs)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unneeded, 0, "every pack is needed");
    assert_eq!(
        crate::util::TestEnv::archives(env).len() as i64,
        env.count_entries(),
        "one manifest per entry"
    );
}

#[test]
fn a_save_killed_at_any_point_leaves_no_entry_and_gc_sweeps_what_it_left() {
    for point in [
        "save-pack-renamed",
        "save-pack-registered",
        "save-manifest-staged",
        "commit-renamed",
    ] {
        let env = TestEnv::new();
        tree(&env, 60);
        let before = snapshot(&env.ws.join("dep"));
        let out = env
            .cmd()
            .env("WIT_CACHE_TEST_ABORT", point)
            .args(["save", "--format", "cas", "--key", "k", "--path", "dep"])
            .assert()
            .failure();
        assert!(stderr_of(out.get_output()).contains(point), "{point}");
        assert_eq!(env.count_entries(), 0, "{point}: no entry");
        let doc = env.restore("k", &["dep"], &[]);
        assert_eq!(doc["cache_hit"], serde_json::Value::Null, "{point}: a miss");
        // A later save is not blocked and makes a whole entry.
        save_cas(&env, "k", &["dep"]);
        env.rm("dep");
        assert_eq!(
            env.restore("k", &["dep"], &[])["cache_hit"],
            true,
            "{point}"
        );
        assert_eq!(snapshot(&env.ws.join("dep")), before, "{point}");
        gc_later(&env);
        assert_no_garbage(&env);
        env.cmd().arg("verify").assert().success();
        env.rm("dep");
        assert_eq!(
            env.restore("k", &["dep"], &[])["cache_hit"],
            true,
            "{point}: after gc"
        );
    }
}

#[test]
fn a_gc_killed_between_unregistering_and_unlinking_a_pack_loses_nothing() {
    let env = TestEnv::new();
    tree(&env, 30);
    let before = snapshot(&env.ws.join("dep"));
    save_cas(&env, "a", &["dep"]);
    save_cas(&env, "keep", &["other-missing", "dep"]);
    env.cmd().args(["delete", "--key", "a"]).assert().success();
    // "keep" has the same blobs under another version: its packs are leased, a's are not.
    env.cmd()
        .args(["delete", "--key", "keep"])
        .assert()
        .success();
    env.cmd()
        .env_remove("WIT_REPO")
        .env("WIT_CACHE_TEST_ABORT", "gc-pack-unregistered")
        .arg("gc")
        .assert()
        .failure();
    // The same content saved again finds its pack file already there and registers it.
    save_cas(&env, "b", &["dep"]);
    gc_later(&env);
    assert_no_garbage(&env);
    env.rm("dep");
    assert_eq!(env.restore("b", &["dep"], &[])["cache_hit"], true);
    assert_eq!(snapshot(&env.ws.join("dep")), before);
    // Killed again with nothing saved after: the unregistered file is swept once old.
    env.cmd().args(["delete", "--key", "b"]).assert().success();
    env.cmd()
        .env_remove("WIT_REPO")
        .env("WIT_CACHE_TEST_ABORT", "gc-pack-unregistered")
        .arg("gc")
        .assert()
        .failure();
    gc_later(&env);
    assert_no_garbage(&env);
    assert!(packs(&env).is_empty());
}

/// A store on a 4 MiB tmpfs: a cas save that does not fit fails with one clear line and
/// leaves no temp file and no lease; the earlier entry still restores.
#[test]
fn a_full_disk_fails_a_cas_save_cleanly() {
    let env = TestEnv::new();
    let mnt = env.root.join("small-fs");
    fs::create_dir_all(&mnt).unwrap();
    let Some(_mount) = crate::util::mount(&["-t", "tmpfs", "-o", "size=4m", "tmpfs"], &mnt) else {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let store = mnt.join("store");
    env.write("small/a", "small");
    env.cmd()
        .env("WIT_CACHE_DIR", &store)
        .args([
            "save", "--format", "cas", "--key", "small", "--path", "small",
        ])
        .assert()
        .success();
    fs::create_dir_all(env.ws.join("big")).unwrap();
    fs::write(env.ws.join("big/blob"), noise(6 << 20, 9)).unwrap();
    let out = env
        .cmd()
        .env("WIT_CACHE_DIR", &store)
        .args(["save", "--format", "cas", "--key", "big", "--path", "big"])
        .assert()
        .code(1);
    let err = stderr_of(out.get_output());
    assert!(err.contains("no space left on the device of"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    let tmp: Vec<_> = fs::read_dir(store.join("tmp")).unwrap().collect();
    assert!(tmp.is_empty(), "the temp files are removed: {tmp:?}");
    let ix = rusqlite::Connection::open(store.join("index-v1.sqlite")).unwrap();
    let owners: i64 = ix
        .query_row("SELECT count(DISTINCT owner) FROM cas_refs", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(owners, 1, "only the committed entry holds leases");
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

fn tar(args: &[&str]) {
    let st = std::process::Command::new("tar")
        .args(args)
        .status()
        .unwrap();
    assert!(st.success(), "tar {args:?}");
}

#[test]
fn export_writes_what_gnu_tar_reads_in_every_codec_and_import_takes_it_back() {
    let env = TestEnv::new();
    tree(&env, 80);
    let before = snapshot(&env.ws.join("dep"));
    save_cas(&env, "cas", &["dep"]);
    env.save("arch", &["dep"]);
    for (key, codec, flag) in [
        ("cas", "zstd", "--zstd"),
        ("cas", "gzip", "-z"),
        ("cas", "none", "-p"),
        ("arch", "gzip", "-z"),
    ] {
        let out = env.root.join(format!("{key}-{codec}.tar"));
        env.cmd()
            .args(["export", key, "--compression", codec, "-o"])
            .arg(&out)
            .assert()
            .success();
        let x = env.root.join(format!("x-{key}-{codec}"));
        fs::create_dir_all(&x).unwrap();
        tar(&[
            flag,
            "-xf",
            out.to_str().unwrap(),
            "-C",
            x.to_str().unwrap(),
        ]);
        assert_eq!(snapshot(&x.join("0/dep")), before, "{key} {codec}");
    }
    // Through stdout too, and back in with import.
    let out = env.cmd().args(["export", "cas"]).assert().success();
    let stream = out.get_output().stdout.clone();
    assert_eq!(&stream[..4], &[0x28, 0xb5, 0x2f, 0xfd], "zstd by default");
    let file = env.root.join("stdout.tar.zst");
    fs::write(&file, &stream).unwrap();
    env.cmd()
        .args(["import", "--key", "imported", "--path", "dep"])
        .arg(&file)
        .assert()
        .success();
    env.rm("dep");
    assert_eq!(env.restore("imported", &["dep"], &[])["cache_hit"], true);
    assert_eq!(snapshot(&env.ws.join("dep")), before);
}

#[test]
fn import_refuses_a_stream_not_made_of_path_lines_and_export_refuses_damage() {
    let env = TestEnv::new();
    tree(&env, 10);
    let plain = env.root.join("plain.tar");
    tar(&[
        "-cf",
        plain.to_str().unwrap(),
        "-C",
        env.ws.to_str().unwrap(),
        "dep",
    ]);
    let out = env
        .cmd()
        .args(["import", "--key", "k", "--path", "dep"])
        .arg(&plain)
        .assert()
        .code(2);
    let err = stderr_of(out.get_output());
    assert!(err.contains("not under a path line"), "{err}");
    assert_eq!(env.count_entries(), 0);
    let tmp: Vec<_> = fs::read_dir(env.store.join("tmp")).unwrap().collect();
    assert!(tmp.is_empty(), "{tmp:?}");

    save_cas(&env, "k", &["dep"]);
    damage_packs(&env);
    let out_file = env.root.join("out.tar.zst");
    let out = env
        .cmd()
        .args(["export", "k", "-o"])
        .arg(&out_file)
        .assert()
        .failure();
    assert!(stderr_of(out.get_output()).contains("damaged"));
    assert!(!out_file.exists(), "no half export is left");
}

/// With a signing key, the signature covers the manifest's digest and so every blob: a
/// manifest swapped behind a signed row, or a changed blob, is refused.
#[test]
fn signing_covers_the_manifest_and_through_it_every_blob() {
    let env = TestEnv::new();
    tree(&env, 20);
    let signed = |c: &mut assert_cmd::Command| {
        c.env("WIT_CACHE_SIGNING_KEY", "s3cret");
    };
    let mut c = env.cmd();
    signed(&mut c);
    c.args(["save", "--format", "cas", "--key", "a", "--path", "dep"])
        .assert()
        .success();
    env.write("dep/other.js", "other");
    let mut c = env.cmd();
    signed(&mut c);
    c.args(["save", "--format", "cas", "--key", "b", "--path", "dep"])
        .assert()
        .success();
    env.rm("dep");
    let mut c = env.cmd();
    signed(&mut c);
    let out = c
        .args(["--json", "restore", "--key", "a", "--path", "dep"])
        .assert()
        .success();
    assert_eq!(json_of(&out.get_output().stdout)["cache_hit"], true);
    // b's manifest in place of a's: a's row is signed, the file is not the one it names.
    let manifests = crate::util::TestEnv::archives(&env);
    let ix = env.index();
    let a_file: String = ix
        .query_row("SELECT archive FROM entries WHERE key = 'a'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let b_file: String = ix
        .query_row("SELECT archive FROM entries WHERE key = 'b'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(manifests.len(), 2);
    fs::copy(env.store.join(&b_file), env.store.join(&a_file)).unwrap();
    env.rm("dep");
    let mut c = env.cmd();
    signed(&mut c);
    let out = c
        .args(["--json", "restore", "--key", "a", "--path", "dep"])
        .assert()
        .success();
    let err = stderr_of(out.get_output());
    assert_eq!(
        json_of(&out.get_output().stdout)["cache_hit"],
        serde_json::Value::Null,
        "{err}"
    );
    assert!(err.contains("does not match"), "{err}");
    // A changed blob under b's signed manifest is damage too.
    damage_packs(&env);
    let mut c = env.cmd();
    signed(&mut c);
    let out = c
        .args(["--json", "restore", "--key", "b", "--path", "dep"])
        .assert()
        .success();
    let err = stderr_of(out.get_output());
    assert_eq!(
        json_of(&out.get_output().stdout)["cache_hit"],
        serde_json::Value::Null,
        "{err}"
    );
}

/// A manifest whose digest matches its row but names a member outside its path line (as a
/// hostile job with write access to the index could make): the archive extractor's rules
/// refuse it, exactly as for an archive, and nothing is written outside.
#[test]
fn a_hostile_member_in_a_consistent_manifest_is_refused_by_the_same_rules() {
    use wit_cache::store::cas::manifest;
    let env = TestEnv::new();
    env.write("dep/a.js", "a");
    env.write("dep/b.js", "b");
    save_cas(&env, "k", &["dep"]);
    let ix = env.index();
    let file: String = ix
        .query_row("SELECT archive FROM entries", [], |r| r.get(0))
        .unwrap();
    let path = env.store.join(&file);
    let mut m = manifest::parse(&fs::read(&path).unwrap()).unwrap();
    let victim = m
        .members
        .iter_mut()
        .find(|x| x.name.ends_with(b"b.js"))
        .unwrap();
    victim.name = b"0/dep/../../escaped.js".to_vec();
    let bytes = m.to_file_bytes().unwrap();
    fs::write(&path, &bytes).unwrap();
    // The recorded size holds the manifest's (a longer name makes it longer).
    ix.execute(
        "UPDATE entries SET digest = ?1, size_bytes = size_bytes + 1000",
        [crate::util::sha256_hex(&bytes)],
    )
    .unwrap();
    env.rm("dep");
    let out = env
        .cmd()
        .args(["--json", "restore", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    let err = stderr_of(out.get_output());
    assert_eq!(
        json_of(&out.get_output().stdout)["cache_hit"],
        serde_json::Value::Null,
        "{err}"
    );
    assert!(err.contains("hostile member"), "{err}");
    assert!(!env.root.join("escaped.js").exists());
    assert!(!env.ws.join("escaped.js").exists());
    assert!(
        !env.exists("dep/a.js"),
        "what was written before is removed"
    );
}
