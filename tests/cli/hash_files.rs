//! `hash-files` against golden vectors from GitHub's own code.
//!
//! Every case builds a real tree, runs `tests/hash-files-golden/golden.mjs` (the runner's
//! hashFiles logic on the real `@actions/glob`) and `wit-cache hash-files` on it, and requires the
//! same hash and file count, or an error from both. Node and npm are required: the test installs
//! the golden project's `node_modules` with `npm ci` when missing and fails, never skips, when
//! they are absent.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::sync::OnceLock;

use assert_cmd::Command;
use serde_json::{json, Value};
use tempfile::TempDir;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hash-files-golden")
}

/// Installs the golden project's dependencies once per test run.
fn ensure_golden_installed() {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let result = INSTALLED.get_or_init(|| {
        let dir = golden_dir();
        if dir
            .join("node_modules/@actions/glob/package.json")
            .is_file()
        {
            return Ok(());
        }
        let out = StdCommand::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output()
            .map_err(|e| {
                format!(
                    "cannot run `npm ci` in {} ({e}): install Node 20+ and npm",
                    dir.display()
                )
            })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "`npm ci` failed in {}:\n{}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    });
    if let Err(msg) = result {
        panic!("hash-files golden vectors need Node and npm: {msg}");
    }
}

/// One `hashFiles()` call: patterns (joined by newlines, as the runner does) and the flag.
struct Case {
    patterns: Vec<String>,
    follow: bool,
}

fn case(patterns: &[&str]) -> Case {
    Case {
        patterns: patterns.iter().map(|s| (*s).to_string()).collect(),
        follow: false,
    }
}

fn follow(patterns: &[&str]) -> Case {
    Case {
        follow: true,
        ..case(patterns)
    }
}

/// What a run produced: `Ok((hash, files))` or an error.
type Outcome = Result<(String, u64), String>;

fn run_golden(ws: &Path, home: &Path, cases: &[Case]) -> Vec<Outcome> {
    ensure_golden_installed();
    let tmp = TempDir::new().expect("temp dir");
    let input: Vec<Value> = cases
        .iter()
        .map(|c| json!({"workspace": ws, "home": home, "patterns": c.patterns, "follow": c.follow}))
        .collect();
    let cases_path = tmp.path().join("cases.json");
    let out_path = tmp.path().join("out.json");
    fs::write(&cases_path, serde_json::to_vec(&input).expect("json")).expect("write cases");
    let out = StdCommand::new("node")
        .arg(golden_dir().join("golden.mjs"))
        .arg(&cases_path)
        .arg(&out_path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): install Node 20+"));
    assert!(
        out.status.success(),
        "golden.mjs failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> =
        serde_json::from_slice(&fs::read(&out_path).expect("golden output")).expect("json");
    results
        .into_iter()
        .map(|r| match r.get("error") {
            Some(e) => Err(e.to_string()),
            None => Ok((
                r["hash"].as_str().expect("hash").to_string(),
                r["files"].as_u64().expect("files"),
            )),
        })
        .collect()
}

fn run_wit(ws: &Path, home: &Path, c: &Case) -> (Outcome, i32) {
    let mut cmd = Command::cargo_bin("wit-cache").expect("binary");
    cmd.env("HOME", home)
        .env_remove("GITHUB_WORKSPACE")
        .arg("--workspace")
        .arg(ws)
        .arg("--json")
        .arg("hash-files");
    if c.follow {
        cmd.arg("--follow-symbolic-links");
    }
    let out = cmd
        .arg("--")
        .args(&c.patterns)
        .output()
        .expect("run wit-cache");
    let code = out.status.code().unwrap_or(-1);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        return (Err(stderr), code);
    }
    let v: Value = serde_json::from_slice(&out.stdout).expect("--json output");
    let hash = v["hash"].as_str().expect("hash").to_string();
    let files = v["files"].as_u64().expect("files");
    (Ok((hash, files)), code)
}

/// Runs every case through both implementations and returns wit's outcomes.
fn check(ws: &Path, home: &Path, cases: &[Case]) -> Vec<Outcome> {
    let golden = run_golden(ws, home, cases);
    let mut outcomes = Vec::new();
    for (c, want) in cases.iter().zip(golden) {
        let (got, code) = run_wit(ws, home, c);
        let label = format!("patterns {:?} follow={}", c.patterns, c.follow);
        match (&want, &got) {
            (Ok(w), Ok(g)) => assert_eq!(g, w, "{label}: wit-cache differs from GitHub"),
            (Err(_), Err(stderr)) => {
                assert!(code == 1 || code == 2, "{label}: exit {code}");
                assert_eq!(stderr.lines().count(), 1, "{label}: one line: {stderr}");
            }
            _ => panic!("{label}: GitHub gave {want:?}, wit-cache gave {got:?}"),
        }
        outcomes.push(got);
    }
    outcomes
}

/// Writes files (contents = their own path, so every file hashes differently).
fn tree(root: &Path, files: &[&str]) {
    for f in files {
        let p = root.join(f);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(&p, f.as_bytes()).expect("write");
    }
}

/// A workspace under a fresh temp dir, plus a home directory next to it.
fn workspace() -> (TempDir, PathBuf, PathBuf) {
    let tmp = TempDir::new().expect("temp dir");
    let base = tmp.path().canonicalize().expect("canonical temp dir");
    let ws = base.join("ws");
    let home = base.join("home");
    fs::create_dir_all(&ws).expect("mkdir ws");
    fs::create_dir_all(&home).expect("mkdir home");
    (tmp, ws, home)
}

fn ok(o: &Outcome) -> &(String, u64) {
    o.as_ref().expect("success")
}

#[test]
fn ordering_patterns_and_names_match_github() {
    let (_tmp, ws, home) = workspace();
    // Created in an order that is neither sorted nor reverse-sorted.
    tree(
        &ws,
        &[
            "a/b-c/y",
            "a/b/x",
            "a/b.c",
            "a/B",
            "a/b/z/deep.js",
            "a b/c d.txt",
            "[x]/in.txt",
            "x",
            ".hidden/f",
            ".dotfile",
            "é/ü.js",
            "Z.js",
            "_/u.js",
            "10",
            "9",
            "package-lock.json",
            "sub/package-lock.json",
            "sub/node_modules/dep/package-lock.json",
            "sub/node_modules/dep/index.js",
            "sub/.cache/x.js",
        ],
    );
    tree(&home, &["h/one", "h/two.js"]);
    let abs = format!("{}/a/**", ws.display());
    let outside = format!("{}/**", home.display());
    let cases = [
        case(&["**"]),
        case(&["**/package-lock.json"]),
        case(&["package-lock.json"]),
        case(&["a/b-c/**", "a/b/**"]),
        case(&["a/b/**", "a/b-c/**"]),
        case(&["a/b*"]),
        case(&["a/b"]),
        case(&["a/b/"]),
        case(&["a/b.c/"]),
        case(&["a/**/deep.js"]),
        case(&["**/*.js"]),
        case(&["*"]),
        case(&["?"]),
        case(&["??"]),
        case(&["[a-c]/*"]),
        case(&["[!a]*/**"]),
        case(&["\\[x]/*"]),
        case(&["[[]x]/*"]),
        case(&["[x]/*"]),
        case(&["a b/*"]),
        case(&["  a b/*  "]),
        case(&[".*"]),
        case(&["**/.*/**"]),
        case(&["**", "!**/node_modules/**"]),
        case(&["!**/node_modules/**", "**"]),
        case(&["**", "!sub", "sub/node_modules/dep/index.js"]),
        case(&["**", "!!sub"]),
        case(&["**", "!a/"]),
        case(&["**\n!a/**\n# a comment\n\n"]),
        case(&["# only a comment"]),
        case(&["no/such/file"]),
        case(&["."]),
        case(&["./a/**"]),
        case(&[&abs]),
        case(&[&outside]),
        case(&["~/h/**"]),
        case(&["**/[[:upper:]]*"]),
        case(&["**/*.{js,json}"]),
        case(&["sub/**", "sub/node_modules/**", "a/**"]),
    ];
    let got = check(&ws, &home, &cases);
    assert!(got.iter().all(Result::is_ok), "{got:?}");
    // The traps really are traps: argument order changes the hash, nothing matched is "".
    assert_ne!(ok(&got[3]).0, ok(&got[4]).0);
    assert_eq!(ok(&got[30]), &(String::new(), 0));
    assert!(ok(&got[0]).1 >= 20, "dotfiles included");
}

#[test]
fn symlinks_match_github() {
    let (_tmp, ws, home) = workspace();
    tree(&ws, &["real/f1", "real/sub/f2", "target.txt"]);
    tree(&home, &["outside/o1"]);
    symlink("target.txt", ws.join("link-file")).expect("symlink");
    symlink("real", ws.join("link-dir")).expect("symlink");
    symlink(home.join("outside"), ws.join("link-out")).expect("symlink");
    symlink(home.join("outside/o1"), ws.join("link-out-file")).expect("symlink");
    // A cycle: real/sub/up -> real.
    symlink("..", ws.join("real/sub/up")).expect("symlink");
    let cases = [
        case(&["**"]),
        follow(&["**"]),
        case(&["link-dir/**"]),
        follow(&["link-dir/**"]),
        case(&["link-file"]),
        case(&["link-out-file"]),
        follow(&["link-out/**"]),
        case(&["link-*"]),
        follow(&["link-*"]),
        follow(&["real/sub/up/**"]),
    ];
    let got = check(&ws, &home, &cases);
    assert!(got.iter().all(Result::is_ok), "{got:?}");
}

#[test]
fn broken_symlinks_match_github() {
    let (_tmp, ws, home) = workspace();
    tree(&ws, &["ok/f", "dir/g"]);
    symlink("missing", ws.join("dir/broken")).expect("symlink");
    let got = check(
        &ws,
        &home,
        &[
            case(&["dir/**"]),
            follow(&["dir/**"]),
            case(&["ok/**"]),
            case(&["**", "!dir/broken"]),
        ],
    );
    let err = got[0].as_ref().expect_err("a matched broken symlink fails");
    assert!(err.contains("dir/broken"), "names the path: {err}");
}

#[test]
fn invalid_patterns_match_github_and_exit_2() {
    let (_tmp, ws, home) = workspace();
    tree(&ws, &["a/b", "b"]);
    let bad = [
        case(&["a/../b"]),
        case(&[".."]),
        case(&["a/./b"]),
        case(&["./a/../b"]),
        case(&["**", "!../x"]),
        case(&["!"]),
        case(&["a/[.]/b"]),
    ];
    check(&ws, &home, &bad);
    for c in &bad {
        let (got, code) = run_wit(&ws, &home, c);
        assert_eq!(code, 2, "{:?}: {got:?}", c.patterns);
    }
    let good = [case(&["./a"]), case(&["a/.b/..c"]), case(&["b/x"])];
    check(&ws, &home, &good);
}

#[test]
fn text_output_is_the_hash_alone() {
    let (_tmp, ws, home) = workspace();
    tree(&ws, &["f"]);
    let want = ok(&run_golden(&ws, &home, &[case(&["f"])])[0]).0.clone();
    Command::cargo_bin("wit-cache")
        .expect("binary")
        .arg("--workspace")
        .arg(&ws)
        .args(["hash-files", "f"])
        .assert()
        .success()
        .stdout(format!("{want}\n"));
    Command::cargo_bin("wit-cache")
        .expect("binary")
        .arg("--workspace")
        .arg(&ws)
        .args(["hash-files", "nothing"])
        .assert()
        .success()
        .stdout("\n");
}

/// A few thousand files in a node_modules-like shape (deterministic names and sizes).
#[test]
fn large_tree_matches_github() {
    let (_tmp, ws, home) = workspace();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let names = [
        "index", "lib", "util", "a-b", "a_b", "A", "core", ".npm", "x y",
    ];
    let exts = [".js", ".json", ".d.ts", ".md", ""];
    for pkg in 0..120 {
        let base = ws.join(format!("node_modules/pkg-{}/", next() % 97));
        for f in 0..25 {
            let dir = base.join(names[(next() % 9) as usize]);
            fs::create_dir_all(&dir).expect("mkdir");
            let name = format!(
                "{}-{f}{}",
                names[(next() % 9) as usize],
                exts[(next() % 5) as usize]
            );
            let size = (next() % 4000) as usize;
            fs::write(dir.join(name), vec![(pkg % 251) as u8; size]).expect("write");
        }
    }
    tree(&ws, &["package-lock.json", "src/main.js"]);
    let got = check(
        &ws,
        &home,
        &[
            case(&["**"]),
            case(&["**/*.js", "!**/lib/**"]),
            case(&["**/package-lock.json"]),
            case(&["node_modules/pkg-1*/**", "src/**"]),
            follow(&["**"]),
        ],
    );
    assert!(ok(&got[0]).1 > 2000, "{:?}", got[0]);
}
