//! Hostile, broken and bomb archives: a restore never writes outside its own path lines,
//! never reports such an archive as a hit, removes its entry, and cleans up what it wrote.
//!
//! Each test saves a real entry, then swaps its archive for a crafted one (raw tar headers,
//! so the `tar` crate's builder cannot refuse the names) and re-signs the row's digest and
//! sizes, as an attacker with write access to the store could. Only the member checks stand
//! between the archive and the file system.

use std::fs;
use std::path::Path;

use crate::util::{json_of, stderr_of, TestEnv};

pub enum Kind<'a> {
    File(&'a [u8]),
    Dir,
    Symlink(&'a [u8]),
    Hardlink(&'a [u8]),
    Fifo,
    CharDevice,
}

/// A tar stream of raw members: names and link targets are written into the header bytes
/// as given, without any validation.
pub fn raw_tar(members: &[(&[u8], Kind<'_>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, kind) in members {
        let mut h = tar::Header::new_gnu();
        assert!(name.len() <= 100, "raw names fit the old header");
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_mode(0o644);
        h.set_mtime(1_600_000_000);
        let mut data: &[u8] = &[];
        match kind {
            Kind::File(d) => {
                h.set_entry_type(tar::EntryType::Regular);
                data = d;
            }
            Kind::Dir => h.set_entry_type(tar::EntryType::Directory),
            Kind::Symlink(t) | Kind::Hardlink(t) => {
                h.set_entry_type(if matches!(kind, Kind::Symlink(_)) {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                });
                h.as_old_mut().linkname[..t.len()].copy_from_slice(t);
            }
            Kind::Fifo => h.set_entry_type(tar::EntryType::Fifo),
            Kind::CharDevice => h.set_entry_type(tar::EntryType::Char),
        }
        h.set_size(data.len() as u64);
        h.set_cksum();
        builder.append(&h, data).unwrap();
    }
    builder.into_inner().unwrap()
}

/// Replaces the archive of the (only) entry with `bytes` (zstd-compressed here), and makes
/// the row agree with it: digest, size, and the given unpacked size.
pub fn plant(env: &TestEnv, tar: &[u8], unpacked: u64) {
    let compressed = zstd::encode_all(tar, 3).unwrap();
    plant_raw(env, &compressed, unpacked);
}

pub fn plant_raw(env: &TestEnv, bytes: &[u8], unpacked: u64) {
    let archive: String = env
        .index()
        .query_row("SELECT archive FROM entries", [], |r| r.get(0))
        .unwrap();
    fs::write(env.store.join(&archive), bytes).unwrap();
    let digest = <sha2::Sha256 as sha2::Digest>::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .concat();
    env.index()
        .execute(
            "UPDATE entries SET digest = ?1, size_bytes = ?2, unpacked_bytes = ?3",
            rusqlite::params![digest, bytes.len() as i64, unpacked as i64],
        )
        .unwrap();
}

/// A workspace with a saved entry for `--path dep`, and an `outside` directory next to the
/// workspace that no restore may touch.
fn setup() -> TestEnv {
    let env = TestEnv::new();
    env.write("dep/legit.txt", "legit");
    env.save_archive("k", &["dep"]);
    env.rm("dep");
    fs::create_dir_all(env.root.join("outside")).unwrap();
    fs::write(env.root.join("outside/victim"), "original").unwrap();
    env
}

/// Restores and asserts the hostile-archive contract: a miss, a warning that names the entry
/// and the reason, the entry gone, and `outside` untouched.
fn assert_refused(env: &TestEnv, reason: &str) {
    let out = env
        .cmd()
        .args(["--json", "restore", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    let doc = json_of(&out.get_output().stdout);
    let err = stderr_of(out.get_output());
    assert_eq!(
        doc["cache_hit"],
        serde_json::Value::Null,
        "never a hit: {err}"
    );
    assert!(err.contains("cache entry 'k' was not restored"), "{err}");
    assert!(err.contains(reason), "expected {reason:?} in: {err}");
    assert_eq!(env.count_entries(), 0, "the entry is removed");
    assert!(env.archives().is_empty(), "its archive is deleted");
    assert_outside_untouched(env);
}

fn assert_outside_untouched(env: &TestEnv) {
    let outside = env.root.join("outside");
    let names: Vec<String> = fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["victim"], "nothing written outside");
    assert_eq!(
        fs::read_to_string(outside.join("victim")).unwrap(),
        "original"
    );
}

#[test]
fn dot_dot_members_are_refused() {
    let env = setup();
    plant(
        &env,
        &raw_tar(&[(b"0/dep/../../outside/pwned", Kind::File(b"x"))]),
        100,
    );
    assert_refused(&env, "contains a '..' component");
}

#[test]
fn absolute_members_are_refused() {
    let env = setup();
    let name = format!("{}/outside/pwned", env.root.display());
    plant(&env, &raw_tar(&[(name.as_bytes(), Kind::File(b"x"))]), 100);
    assert_refused(&env, "absolute path");
}

#[test]
fn members_outside_their_path_line_are_refused() {
    let env = setup();
    plant(&env, &raw_tar(&[(b"0/src/main.rs", Kind::File(b"x"))]), 100);
    assert_refused(&env, "lies outside the path 'dep'");
    assert!(!env.exists("src"));
    let env = setup();
    plant(&env, &raw_tar(&[(b"7/dep/x", Kind::File(b"x"))]), 100);
    assert_refused(&env, "not in --path");
    let env = setup();
    plant(&env, &raw_tar(&[(b"dep/x", Kind::File(b"x"))]), 100);
    assert_refused(&env, "not under a cached path");
}

#[test]
fn writing_through_a_symlink_the_archive_made_is_refused() {
    let env = setup();
    let target = env.root.join("outside");
    plant(
        &env,
        &raw_tar(&[
            (b"0/dep/good.txt", Kind::File(b"written first")),
            (
                b"0/dep/link",
                Kind::Symlink(target.to_str().unwrap().as_bytes()),
            ),
            (b"0/dep/link/pwned", Kind::File(b"x")),
        ]),
        100,
    );
    assert_refused(&env, "would be written through the symlink");
    assert!(
        !env.exists("dep/good.txt"),
        "what was extracted before the problem is removed"
    );
    assert!(!env.exists("dep/link"));
}

#[test]
fn chains_of_relative_symlinks_are_refused() {
    let env = setup();
    plant(
        &env,
        &raw_tar(&[
            (b"0/dep/b", Kind::Symlink(b"../../outside")),
            (b"0/dep/a", Kind::Symlink(b"b")),
            (b"0/dep/a/pwned", Kind::File(b"x")),
        ]),
        100,
    );
    assert_refused(&env, "would be written through the symlink");
}

#[test]
fn hard_links_are_refused_even_followed_by_a_file_of_the_same_name() {
    let env = setup();
    let victim = env.root.join("outside/victim");
    plant(
        &env,
        &raw_tar(&[
            (
                b"0/dep/h",
                Kind::Hardlink(victim.to_str().unwrap().as_bytes()),
            ),
            (b"0/dep/h", Kind::File(b"overwritten")),
        ]),
        100,
    );
    assert_refused(&env, "hard links are never restored");
}

#[test]
fn a_file_replacing_an_earlier_symlink_never_writes_through_it() {
    let env = setup();
    let victim = env.root.join("outside/victim");
    plant(
        &env,
        &raw_tar(&[
            (b"0/dep/", Kind::Dir),
            (
                b"0/dep/f",
                Kind::Symlink(victim.to_str().unwrap().as_bytes()),
            ),
            (b"0/dep/f", Kind::File(b"replaced")),
        ]),
        100,
    );
    env.cmd()
        .args(["restore", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    assert_outside_untouched(&env);
    assert_eq!(
        env.read("dep/f"),
        "replaced",
        "the symlink was replaced, not followed"
    );
    assert!(!fs::symlink_metadata(env.ws.join("dep/f"))
        .unwrap()
        .file_type()
        .is_symlink());
}

/// Enough small files under `dir` that the restore queues them to its writer threads in
/// several batches, so later members meet writes that may still be pending.
fn many_files(dir: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..200)
        .map(|i| {
            (
                format!("0/{dir}/f{i}").into_bytes(),
                format!("content {i}").into_bytes(),
            )
        })
        .collect()
}

fn with_files<'a>(
    files: &'a [(Vec<u8>, Vec<u8>)],
    mut members: Vec<(&'a [u8], Kind<'a>)>,
    rest: Vec<(&'a [u8], Kind<'a>)>,
) -> Vec<u8> {
    members.extend(
        files
            .iter()
            .map(|(n, d)| (n.as_slice(), Kind::File(d.as_slice()))),
    );
    members.extend(rest);
    raw_tar(&members)
}

#[test]
fn a_file_then_a_symlink_at_the_same_path_leaves_the_symlink() {
    // The file may still be queued for a writer thread when the symlink member comes: the
    // restore must let the write finish before it replaces the file, as tar would.
    let env = setup();
    let victim = env.root.join("outside/victim");
    let files = many_files("dep");
    let tar = with_files(
        &files,
        vec![(b"0/dep/", Kind::Dir)],
        vec![(
            b"0/dep/f199",
            Kind::Symlink(victim.to_str().unwrap().as_bytes()),
        )],
    );
    plant(&env, &tar, 100_000);
    env.cmd()
        .args(["restore", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    assert_outside_untouched(&env);
    assert!(fs::symlink_metadata(env.ws.join("dep/f199"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(env.read("dep/f0"), "content 0");
    assert_eq!(env.read("dep/f198"), "content 198");
}

#[test]
fn a_repeated_file_member_keeps_the_last_content() {
    let env = setup();
    let files = many_files("dep");
    let tar = with_files(
        &files,
        vec![(b"0/dep/x", Kind::File(b"first"))],
        vec![(b"0/dep/x", Kind::File(b"second"))],
    );
    plant(&env, &tar, 100_000);
    env.restore("k", &["dep"], &[]);
    assert_eq!(env.read("dep/x"), "second");
}

#[test]
fn a_file_then_a_directory_at_the_same_path_becomes_the_directory() {
    let env = setup();
    let files = many_files("dep");
    let tar = with_files(
        &files,
        vec![(b"0/dep/a", Kind::File(b"a file first"))],
        vec![(b"0/dep/a/b", Kind::File(b"inside"))],
    );
    plant(&env, &tar, 100_000);
    env.restore("k", &["dep"], &[]);
    assert_eq!(env.read("dep/a/b"), "inside");
    assert_eq!(env.read("dep/f7"), "content 7");
}

#[test]
fn a_directory_replaced_by_a_symlink_gets_no_late_writes_and_no_mode() {
    // Writes into dep/d may be pending when dep/d becomes a symlink to `outside`: they must
    // land (and then go with the directory) before the symlink exists, and the directory's
    // recorded mode (0644 here) must not be applied through the symlink at the end.
    use std::os::unix::fs::PermissionsExt;
    let env = setup();
    let outside = env.root.join("outside");
    let mode_before = fs::metadata(&outside).unwrap().permissions().mode();
    let files = many_files("dep/d");
    let tar = with_files(
        &files,
        vec![(b"0/dep/", Kind::Dir), (b"0/dep/d/", Kind::Dir)],
        vec![(
            b"0/dep/d",
            Kind::Symlink(outside.to_str().unwrap().as_bytes()),
        )],
    );
    plant(&env, &tar, 100_000);
    env.cmd()
        .args(["restore", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    assert_outside_untouched(&env);
    assert_eq!(
        fs::metadata(&outside).unwrap().permissions().mode(),
        mode_before,
        "no directory mode applied through the symlink"
    );
    assert!(fs::symlink_metadata(env.ws.join("dep/d"))
        .unwrap()
        .file_type()
        .is_symlink());

    // And a member below it afterwards is refused, removing everything written.
    let env = setup();
    let outside = env.root.join("outside");
    let tar = with_files(
        &files,
        vec![(b"0/dep/", Kind::Dir), (b"0/dep/d/", Kind::Dir)],
        vec![
            (
                b"0/dep/d",
                Kind::Symlink(outside.to_str().unwrap().as_bytes()),
            ),
            (b"0/dep/d/pwned", Kind::File(b"x")),
        ],
    );
    plant(&env, &tar, 100_000);
    assert_refused(&env, "would be written through the symlink");
    assert!(!env.exists("dep/d"));
}

#[test]
fn a_symlink_that_was_in_the_workspace_is_replaced_not_followed() {
    // Not the archive's doing: a job left `dep` pointing elsewhere. The restore puts a real
    // directory back instead of writing into the link's target.
    let env = setup();
    std::os::unix::fs::symlink(env.root.join("outside"), env.ws.join("dep")).unwrap();
    env.restore("k", &["dep"], &[]);
    assert_eq!(env.read("dep/legit.txt"), "legit");
    assert!(fs::symlink_metadata(env.ws.join("dep")).unwrap().is_dir());
    assert_outside_untouched(&env);
}

#[test]
fn device_nodes_and_fifos_are_never_created() {
    for kind in [Kind::Fifo, Kind::CharDevice] {
        let env = setup();
        plant(&env, &raw_tar(&[(b"0/dep/dev", kind)]), 100);
        assert_refused(&env, "device nodes and FIFOs are never created");
        assert!(!env.exists("dep/dev"));
    }
}

#[test]
fn a_decompression_bomb_stops_at_the_recorded_size() {
    let env = setup();
    let zeros = vec![0u8; 8 << 20];
    plant(&env, &raw_tar(&[(b"0/dep/bomb", Kind::File(&zeros))]), 1000);
    assert_refused(&env, "decompression bomb");
    assert!(!env.exists("dep/bomb"));
}

#[test]
fn truncated_and_corrupt_archives_are_refused() {
    // Truncated, with a digest that matches the truncated file: the decoder must notice.
    let env = setup();
    let mut tar = raw_tar(&[(b"0/dep/a", Kind::File(&vec![7u8; 100_000]))]);
    tar.truncate(60_000);
    plant(&env, &tar, 200_000);
    assert_refused(&env, "archive is");

    // A flipped byte with a matching digest: zstd's frame checksum catches it.
    let env = setup();
    let data: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let tar = raw_tar(&[(b"0/dep/a", Kind::File(&data))]);
    // Checksummed frames, as wit-cache writes them.
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
    enc.include_checksum(true).unwrap();
    std::io::Write::write_all(&mut enc, &tar).unwrap();
    let mut z = enc.finish().unwrap();
    let mid = z.len() / 2;
    z[mid] ^= 0x10;
    plant_raw(&env, &z, 300_000);
    assert_refused(&env, "corrupt");

    // Not an archive at all.
    let env = setup();
    plant_raw(&env, b"this is not zstd", 100);
    assert_refused(&env, "corrupt");
}

#[test]
fn keys_and_repos_never_become_file_names() {
    let env = TestEnv::new();
    env.write("dep/v", "v");
    for key in [
        "../../etc/passwd",
        "a/b",
        "/abs",
        &"long-".repeat(100),
        "CON",
        "ünï cödé ✓",
    ] {
        env.cmd()
            .args([
                "--repo",
                "../../repo",
                "save",
                "--key",
                key,
                "--path",
                "dep",
            ])
            .assert()
            .success();
    }
    env.cmd()
        .args([
            "--repo",
            "../../repo",
            "restore",
            "--key",
            "../../etc/passwd",
            "--path",
            "dep",
        ])
        .assert()
        .success();
    for archive in env.archives() {
        let rel = archive.strip_prefix(&env.store).unwrap();
        let name = rel.file_name().unwrap().to_str().unwrap();
        assert!(
            name.len() == 32 + ".tar.zst".len() && name.ends_with(".tar.zst"),
            "{}",
            rel.display()
        );
        assert!(rel.starts_with("archives-v1"));
    }
    assert_eq!(env.archives().len(), 6);
    assert!(!Path::new(&env.root.join("etc")).exists());
}

/// Overlapping path lines: a symlink member of line 0 at line 1's base would redirect every
/// member of line 1 outside the workspace.
#[test]
fn a_symlink_at_another_path_lines_base_is_refused() {
    let env = TestEnv::new();
    env.write("a/b/x/legit", "legit");
    env.save_archive("k", &["a", "a/b/*"]);
    env.rm("a");
    fs::create_dir_all(env.root.join("outside")).unwrap();
    fs::write(env.root.join("outside/victim"), "original").unwrap();
    let outside = env.root.join("outside");
    plant(
        &env,
        &raw_tar(&[
            (b"0/a/", Kind::Dir),
            (
                b"0/a/b",
                Kind::Symlink(outside.to_str().unwrap().as_bytes()),
            ),
            (b"1/victim", Kind::File(b"overwritten")),
        ]),
        100,
    );
    let out = env
        .cmd()
        .args([
            "--json", "restore", "--key", "k", "--path", "a", "--path", "a/b/*",
        ])
        .assert()
        .success();
    let err = stderr_of(out.get_output());
    assert_eq!(
        json_of(&out.get_output().stdout)["cache_hit"],
        serde_json::Value::Null,
        "{err}"
    );
    assert!(err.contains("would redirect the path 'a/b/*'"), "{err}");
    assert_outside_untouched(&env);
}

/// A pax `size` record overrides the header's size field; the byte budget must follow it.
#[test]
fn a_pax_size_record_cannot_sneak_past_the_budget() {
    let env = setup();
    let mut builder = tar::Builder::new(Vec::new());
    let record = b"19 size=1000000000\n";
    let mut pax = tar::Header::new_ustar();
    pax.set_entry_type(tar::EntryType::XHeader);
    pax.set_path("PaxHeaders/bomb").unwrap();
    pax.set_size(record.len() as u64);
    pax.set_cksum();
    builder.append(&pax, &record[..]).unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_path("0/dep/bomb").unwrap();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(0);
    h.set_mode(0o644);
    h.set_cksum();
    builder.append(&h, &[][..]).unwrap();
    let mut tar = builder.into_inner().unwrap();
    tar.extend(std::iter::repeat_n(0u8, 1 << 20));
    plant(&env, &tar, 1000);
    assert_refused(&env, "decompression bomb");
    assert!(!env.exists("dep/bomb"));
}

/// A path line that names a symlink stores the link itself, as tar does, and restores it.
#[test]
fn a_symlinked_path_is_saved_and_restored_as_a_symlink() {
    let env = TestEnv::new();
    env.write("real/pkg/index.js", "x");
    std::os::unix::fs::symlink("real", env.ws.join("dep")).unwrap();
    let doc = env.save("k", &["dep"]);
    assert_eq!(doc["file_count"], 1, "only the link: {doc}");
    env.rm("dep");
    let doc = env.restore("k", &["dep"], &[]);
    assert_eq!(doc["cache_hit"], true);
    assert_eq!(
        fs::read_link(env.ws.join("dep")).unwrap(),
        Path::new("real")
    );
    assert_eq!(env.read("dep/pkg/index.js"), "x");
}
