//! Extraction under attack: header extensions past their bounds, members that claim more
//! data than the entry recorded, archives that do not match their digest while the target
//! exists, and restores killed half way.
//!
//! The archives are built block by block here (headers, checksums and all), so nothing
//! between the test and the bytes can refuse or repair them. Huge members are made of
//! repeated zstd frames: a decoder reads concatenated frames as one stream, so a 4 GiB
//! member costs a few kilobytes of archive and no time to build.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::hostile::{plant, plant_raw};
use crate::util::{json_of, stderr_of, TestEnv};

const BLOCK: usize = 512;

/// A header block: `name` (at most 100 bytes), type `flag`, `size` (octal, or GNU base-256
/// past 8 GiB), ustar magic and a correct checksum.
fn header(name: &[u8], flag: u8, size: u64) -> Vec<u8> {
    let mut b = vec![0u8; BLOCK];
    b[..name.len()].copy_from_slice(name);
    b[100..107].copy_from_slice(b"0000644");
    b[108..115].copy_from_slice(b"0000000");
    b[116..123].copy_from_slice(b"0000000");
    if size < 8u64.pow(11) {
        b[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    } else {
        b[124] = 0x80;
        b[128..136].copy_from_slice(&size.to_be_bytes());
    }
    b[136..147].copy_from_slice(format!("{:011o}", 1_600_000_000).as_bytes());
    b[156] = flag;
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    b[148..156].fill(b' ');
    let sum: u64 = b.iter().map(|x| u64::from(*x)).sum();
    b[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    b
}

/// A whole member: header, data, padding.
fn member(name: &[u8], flag: u8, data: &[u8]) -> Vec<u8> {
    let mut out = header(name, flag, data.len() as u64);
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
    out
}

fn end() -> Vec<u8> {
    vec![0u8; 2 * BLOCK]
}

/// Pieces of a decoded stream, compressed as concatenated zstd frames.
enum Part {
    Bytes(Vec<u8>),
    /// `count` MiB of one byte value.
    MiB(u8, u64),
}

fn zstd_stream(parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        match part {
            Part::Bytes(b) => out.extend(zstd::encode_all(b.as_slice(), 1).unwrap()),
            Part::MiB(byte, count) => {
                let frame = zstd::encode_all(vec![*byte; 1 << 20].as_slice(), 1).unwrap();
                for _ in 0..*count {
                    out.extend_from_slice(&frame);
                }
            }
        }
    }
    out
}

/// A workspace with an entry saved for `--path dep`, whose target is then removed.
fn setup() -> TestEnv {
    let env = TestEnv::new();
    env.write("dep/legit.txt", "legit");
    env.save_archive("k", &["dep"]);
    env.rm("dep");
    env
}

/// Restores `dep` and checks the damage contract: a miss, one short warning naming the entry
/// and `reason`, the entry removed. Returns stderr.
fn assert_damaged(env: &TestEnv, reason: &str) -> String {
    let out = env
        .cmd()
        .args(["--json", "restore", "--key", "k", "--path", "dep"])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.len() < 2000,
        "the warning is short (got {} bytes): {}",
        err.len(),
        &err[..err.len().min(2000)]
    );
    let doc = json_of(&out.stdout);
    assert_eq!(
        doc["cache_hit"],
        serde_json::Value::Null,
        "never a hit: {err}"
    );
    assert!(err.contains("cache entry 'k' was not restored"), "{err}");
    assert!(err.contains(reason), "expected {reason:?} in: {err}");
    assert_eq!(env.count_entries(), 0, "the entry is removed as damaged");
    err
}

fn staging_dirs(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .contains(".wit-cache-staging-")
        })
        .collect()
}

/// GNU long names and long link targets, pax and global pax headers, each 64 MiB: refused at
/// their header, with a one-line reason and never the content.
#[test]
fn header_extensions_past_their_bound_are_damage() {
    const SIZE: u64 = 64 << 20;
    let cases: [(u8, &str, u8); 4] = [
        (b'L', "GNU long name record of 67108864 bytes", b'a'),
        (b'K', "GNU long link target record of 67108864 bytes", b'a'),
        (b'x', "pax header of 67108864 bytes", b'a'),
        (b'g', "global pax header of 67108864 bytes", b'a'),
    ];
    for (flag, reason, fill) in cases {
        let env = setup();
        // The extension's data really is there: a reader that buffers it finds a 64 MiB
        // name (or record) and prints or keeps it.
        let mut parts = vec![Part::Bytes(header(b"././@LongLink", flag, SIZE))];
        if flag == b'x' || flag == b'g' {
            // One well-formed record spanning the whole header: "<len> path=aaa…\n".
            let prefix = format!("{SIZE} path=").into_bytes();
            let mut head = prefix.clone();
            head.resize(1 << 20, fill);
            parts.push(Part::Bytes(head));
            parts.push(Part::MiB(fill, SIZE / (1 << 20) - 2));
            let mut tail = vec![fill; (1 << 20) - 1];
            tail.push(b'\n');
            parts.push(Part::Bytes(tail));
        } else {
            parts.push(Part::MiB(fill, SIZE / (1 << 20)));
        }
        let mut rest = if flag == b'K' {
            header(b"0/dep/link", b'2', 0)
        } else {
            member(b"0/dep/legit.txt", b'0', b"legit")
        };
        rest.extend(end());
        parts.push(Part::Bytes(rest));
        let z = zstd_stream(&parts);
        assert!(z.len() < 100_000, "a small archive: {}", z.len());
        plant_raw(&env, &z, 100);

        // `show` reads headers the same way.
        let out = env.cmd().args(["show", "k"]).output().unwrap();
        assert!(
            out.stdout.len() + out.stderr.len() < 4000,
            "show prints no huge name"
        );

        let err = assert_damaged(&env, reason);
        assert!(err.contains("limit"), "{err}");
        assert!(!env.exists("dep"), "nothing restored");
        assert!(
            staging_dirs(&env.ws).is_empty(),
            "no staging directory left"
        );
    }
}

/// A pax path record under the pax bound but past the name bound: refused, the name cut in
/// the message.
#[test]
fn a_pax_path_past_the_name_bound_is_damage() {
    let env = setup();
    let value = format!("0/dep/{}", "n".repeat(10_000));
    // "<len> path=<value>\n": the space and the newline besides key and value.
    let body = "path=".len() + value.len() + 2;
    let len = body + body.to_string().len();
    let record = format!("{len} path={value}\n");
    assert_eq!(record.len(), len);
    let mut tar = member(b"PaxHeaders/x", b'x', record.as_bytes());
    tar.extend(member(b"short", b'0', b"x"));
    tar.extend(end());
    plant(&env, &tar, 100);
    let err = assert_damaged(&env, "member name of 10006 bytes");
    assert!(!err.contains(&"n".repeat(300)), "{err}");
}

/// Members that are not regular files still claim data; every claim counts against the
/// recorded size and stops the restore at once, instead of decoding gigabytes and calling
/// the result a hit.
#[test]
fn a_directory_or_symlink_claiming_gigabytes_is_damage() {
    const SIZE: u64 = 4 << 30;
    for (name, flag) in [(&b"0/dep/"[..], b'5'), (&b"0/dep/link"[..], b'2')] {
        let env = setup();
        let mut first = member(b"0/dep/legit.txt", b'0', b"legit");
        let mut h = header(name, flag, SIZE);
        if flag == b'2' {
            h[157..167].copy_from_slice(b"legit.txt\0");
            h[148..156].fill(b' ');
            let sum: u64 = h.iter().map(|x| u64::from(*x)).sum();
            h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        }
        first.extend(h);
        let z = zstd_stream(&[
            Part::Bytes(first),
            Part::MiB(0, SIZE >> 20),
            Part::Bytes(end()),
        ]);
        assert!(z.len() < 1_000_000, "a small archive: {}", z.len());
        plant_raw(&env, &z, 1000);
        let shown = String::from_utf8_lossy(name).into_owned();
        let err = assert_damaged(&env, "stopped as a decompression bomb");
        assert!(err.contains(&shown), "{err}");
        assert!(!env.exists("dep"), "what was written is gone");
    }
}

/// The target exists, so the restore merges into it: an archive that does not match its
/// digest is found out before anything is written, and the workspace's files survive.
#[test]
fn a_digest_mismatch_over_an_existing_target_changes_nothing() {
    let env = setup();
    env.write("dep/legit.txt", "mine, edited after the save");
    env.write("dep/other.txt", "only here");
    let mut evil = member(b"0/dep/legit.txt", b'0', b"evil");
    evil.extend(member(b"0/dep/new.txt", b'0', b"new"));
    evil.extend(end());
    let archive: String = env
        .index()
        .query_row("SELECT archive FROM entries", [], |r| r.get(0))
        .unwrap();
    // The row keeps the digest of the saved archive; its size is the new archive's, so only
    // the digest can tell.
    let bytes = zstd::encode_all(evil.as_slice(), 3).unwrap();
    fs::write(env.store.join(archive), &bytes).unwrap();
    env.index()
        .execute("UPDATE entries SET size_bytes = ?1", [bytes.len() as i64])
        .unwrap();
    assert_damaged(&env, "does not match the index");
    assert_eq!(env.read("dep/legit.txt"), "mine, edited after the save");
    assert_eq!(env.read("dep/other.txt"), "only here");
    assert!(!env.exists("dep/new.txt"));
}

/// The target does not exist: a mismatch found at the end leaves nothing at the target and
/// no staging directory; a good archive lands whole.
#[test]
fn a_new_target_appears_only_when_the_archive_checked_out() {
    let env = setup();
    let mut tar = member(b"0/dep/", b'5', b"");
    tar.extend(member(b"0/dep/a.txt", b'0', b"a"));
    tar.extend(member(b"0/dep/sub/b.txt", b'0', b"b"));
    tar.extend(end());
    let z = zstd::encode_all(tar.as_slice(), 3).unwrap();
    plant_raw(&env, &z, 100);
    env.index()
        .execute("UPDATE entries SET digest = ?1", [&"0".repeat(64)])
        .unwrap();
    assert_damaged(&env, "does not match the index");
    assert!(!env.exists("dep"));
    assert!(staging_dirs(&env.ws).is_empty());

    let env = setup();
    plant_raw(&env, &z, 100);
    let doc = env.restore("k", &["dep"], &[]);
    assert_eq!(doc["cache_hit"], true);
    assert_eq!(env.read("dep/a.txt"), "a");
    assert_eq!(env.read("dep/sub/b.txt"), "b");
    assert!(staging_dirs(&env.ws).is_empty());
}

/// `kill -9` in the middle of a restore of a new target leaves a staging directory and no
/// half tree at the target; the next restore sweeps the staging directory and succeeds.
#[test]
fn a_killed_restore_leaves_no_half_tree() {
    // 512 MiB of data after the first file: far longer to write than it takes to notice.
    const MIB: u64 = 512;
    let env = setup();
    let mut first = member(b"0/dep/", b'5', b"");
    first.extend(member(b"0/dep/early.txt", b'0', b"early"));
    first.extend(header(b"0/dep/big", b'0', MIB << 20));
    let mut last = member(b"0/dep/late.txt", b'0', b"late");
    last.extend(end());
    let z = zstd_stream(&[Part::Bytes(first), Part::MiB(7, MIB), Part::Bytes(last)]);
    plant_raw(&env, &z, (MIB << 20) + 9);

    // On a loaded machine the restore may finish before the kill lands; the target must then
    // be whole. Try again until one is killed half way.
    let mut killed_half_way = false;
    for _ in 0..5 {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("wit-cache"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &env.home)
            .env("WIT_CACHE_DIR", &env.store)
            .env("WIT_REPO", "acme/app")
            .envs(crate::util::passed_env())
            .current_dir(&env.ws)
            .args(["restore", "--key", "k", "--path", "dep"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill as soon as the restore has written something: the target's directory in a
        // staging directory (or, without staging, the target itself). The big file comes
        // right after it.
        loop {
            let staged = staging_dirs(&env.ws)
                .into_iter()
                .any(|s| s.join("dep/big").exists());
            if staged || env.exists("dep/big") || child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::yield_now();
        }
        child.kill().unwrap();
        child.wait().unwrap();
        if env.exists("dep") {
            // Never a half tree at the target: only a whole one, from a restore that ended.
            assert_eq!(
                env.read("dep/late.txt"),
                "late",
                "no half tree at the target"
            );
            // Killed between the rename and the removal of the (then empty) staging directory.
            for stage in staging_dirs(&env.ws) {
                assert_eq!(fs::read_dir(&stage).unwrap().count(), 0);
                fs::remove_dir(stage).unwrap();
            }
            env.rm("dep");
            continue;
        }
        killed_half_way = true;
        break;
    }
    assert!(
        killed_half_way,
        "every restore ended before it could be killed"
    );
    let stages = staging_dirs(&env.ws);
    assert_eq!(stages.len(), 1, "the staging directory is left: {stages:?}");

    let doc = env.restore("k", &["dep"], &[]);
    assert_eq!(doc["cache_hit"], true);
    assert_eq!(env.read("dep/late.txt"), "late");
    assert_eq!(
        fs::metadata(env.ws.join("dep/big")).unwrap().len(),
        MIB << 20
    );
    assert!(staging_dirs(&env.ws).is_empty(), "swept");
}

/// A crash at the worst moment — every file written and checked, the rename not yet done —
/// leaves the whole tree in the staging directory and nothing at the target; the next
/// restore sweeps it and lands whole.
#[test]
fn a_restore_that_dies_before_its_rename_leaves_only_a_staging_directory() {
    let env = TestEnv::new();
    env.write("dep/a.txt", "a");
    env.write("dep/sub/b.txt", "b");
    env.save("k", &["dep"]);
    env.rm("dep");
    let out = env
        .cmd()
        .env("WIT_CACHE_TEST_ABORT", "restore-before-rename")
        .args(["restore", "--key", "k", "--path", "dep"])
        .output()
        .unwrap();
    assert!(
        out.status.code().is_none(),
        "killed by its abort: {}",
        stderr_of(&out)
    );
    assert!(!env.exists("dep"), "no tree at the target");
    let stages = staging_dirs(&env.ws);
    assert_eq!(stages.len(), 1, "{stages:?}");
    assert_eq!(
        fs::read_to_string(stages[0].join("dep/sub/b.txt")).unwrap(),
        "b"
    );
    let doc = env.restore("k", &["dep"], &[]);
    assert_eq!(doc["cache_hit"], true);
    assert_eq!(env.read("dep/a.txt"), "a");
    assert_eq!(env.read("dep/sub/b.txt"), "b");
    assert!(staging_dirs(&env.ws).is_empty(), "swept");
}
