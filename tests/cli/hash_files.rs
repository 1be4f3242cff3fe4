//! `hash-files` against golden vectors from GitHub's own code.
//!
//! Every case builds a real tree, runs `tests/hash-files-golden/golden.mjs` (the runner's
//! hashFiles logic on the @actions/glob 0.4.0 and minimatch 3.1.2 that the runner's shipped
//! bundle contains, installed from npm) and `wit-cache hash-files` on it, and requires the same
//! hash and file count, or an error from both. Node and npm are required: the test installs the
//! golden project's `node_modules` with `npm ci` when missing or stale and fails, never skips,
//! when they are absent.
//!
//! With `WIT_CACHE_RUNNER_HASHFILES=/path/to/index.js` (a local copy of the runner's
//! `src/Misc/layoutbin/hashFiles/index.js`, never committed), every case also runs through that
//! real bundle, which must agree with the npm harness. `WIT_CACHE_GOLDEN_CASES=N` and
//! `WIT_CACHE_GOLDEN_SEED=S` change how many generated pattern sets
//! `generated_patterns_match_github` tries, and which.

use std::fs;
use std::os::unix::fs::symlink;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::{json, Value};
use tempfile::TempDir;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hash-files-golden")
}

/// Whether `node_modules` holds exactly the versions of the committed lock file.
fn golden_installed(dir: &Path) -> bool {
    let lock: Value =
        serde_json::from_slice(&fs::read(dir.join("package-lock.json")).expect("lock"))
            .expect("package-lock.json is JSON");
    let packages = lock["packages"].as_object().expect("lockfile v3 packages");
    packages
        .iter()
        .filter(|(k, _)| !k.is_empty())
        .all(|(k, v)| {
            fs::read(dir.join(k).join("package.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .is_some_and(|installed| installed["version"] == v["version"])
        })
}

/// Installs the golden project's dependencies once per test run (again when an older checkout
/// left other versions behind).
fn ensure_golden_installed() {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let result = INSTALLED.get_or_init(|| {
        let dir = golden_dir();
        if golden_installed(&dir) {
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
        if !out.status.success() {
            return Err(format!(
                "`npm ci` failed in {}:\n{}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        if golden_installed(&dir) {
            Ok(())
        } else {
            Err("`npm ci` did not install the locked versions".to_string())
        }
    });
    if let Err(msg) = result {
        panic!("hash-files golden vectors need Node and npm: {msg}");
    }
}

/// The real runner bundle to compare with too, when `WIT_CACHE_RUNNER_HASHFILES` names one.
fn runner_bundle() -> Option<PathBuf> {
    let path = std::env::var_os("WIT_CACHE_RUNNER_HASHFILES").filter(|p| !p.is_empty())?;
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "WIT_CACHE_RUNNER_HASHFILES={} is not a file (point it at the runner's src/Misc/layoutbin/hashFiles/index.js)",
        path.display()
    );
    Some(path)
}

/// One `hashFiles()` call: patterns (joined by newlines, as the runner does) and the flag.
#[derive(Clone, Debug)]
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

/// Runs golden.mjs on `cases`, with `--bundle INDEX.js` first when `bundle` is given.
fn run_node(ws: &Path, home: &Path, cases: &[Case], bundle: Option<&Path>) -> Vec<Outcome> {
    ensure_golden_installed();
    let tmp = TempDir::new().expect("temp dir");
    let input: Vec<Value> = cases
        .iter()
        .map(|c| json!({"workspace": ws, "home": home, "patterns": c.patterns, "follow": c.follow}))
        .collect();
    let cases_path = tmp.path().join("cases.json");
    let out_path = tmp.path().join("out.json");
    fs::write(&cases_path, serde_json::to_vec(&input).expect("json")).expect("write cases");
    let mut cmd = StdCommand::new("node");
    cmd.arg(golden_dir().join("golden.mjs"));
    if let Some(b) = bundle {
        cmd.arg("--bundle").arg(b);
    }
    let out = cmd
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
    assert_eq!(results.len(), cases.len(), "one result per case");
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

/// The npm harness's outcomes; with `WIT_CACHE_RUNNER_HASHFILES` set, checked against the
/// real bundle first.
fn run_golden(ws: &Path, home: &Path, cases: &[Case]) -> Vec<Outcome> {
    let harness = run_node(ws, home, cases, None);
    if let Some(bundle) = runner_bundle() {
        let real = run_node(ws, home, cases, Some(&bundle));
        for ((c, h), r) in cases.iter().zip(&harness).zip(&real) {
            let same = match (h, r) {
                (Ok(h), Ok(r)) => h == r,
                (Err(_), Err(_)) => true,
                _ => false,
            };
            assert!(
                same,
                "patterns {:?} follow={}: the npm harness gave {h:?}, the runner's bundle {r:?}",
                c.patterns, c.follow
            );
        }
    }
    harness
}

fn wit_command(ws: &Path, home: &Path, c: &Case) -> StdCommand {
    let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("wit-cache"));
    cmd.env("HOME", home)
        .env_remove("GITHUB_WORKSPACE")
        .arg("--workspace")
        .arg(ws)
        .arg("--json")
        .arg("hash-files");
    if c.follow {
        cmd.arg("--follow-symbolic-links");
    }
    cmd.arg("--").args(&c.patterns);
    cmd
}

/// Runs wit-cache; a run that does not end within two minutes (the runner's own limit for
/// hashFiles) is killed and fails the test: nothing here may block.
fn run_wit_output(ws: &Path, home: &Path, c: &Case) -> std::process::Output {
    let child = wit_command(ws, home, c)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run wit-cache");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    if let Ok(out) = rx.recv_timeout(Duration::from_secs(120)) {
        return out.expect("wait for wit-cache");
    }
    let _ = StdCommand::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
    panic!("wit-cache hash-files {:?} blocked", c.patterns);
}

fn run_wit(ws: &Path, home: &Path, c: &Case) -> (Outcome, i32) {
    let out = run_wit_output(ws, home, c);
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

fn mkfifo(path: &Path) {
    let status = StdCommand::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
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
    // minimatch 3 has no POSIX classes: `[[:upper:]]*` is one of `[:upper` then `]`.
    assert_eq!(ok(&got[36]), &(String::new(), 0));
}

/// The pattern shapes where the shipped runner (minimatch 3.1) and @actions/glob 0.7
/// (minimatch 10) disagree, on names that tell them apart.
#[test]
fn minimatch_3_semantics_match_the_shipped_runner() {
    let (_tmp, ws, home) = workspace();
    tree(
        &ws,
        &[
            "a.js",
            "b.js",
            "x\\.js",
            "a",
            "b",
            "c",
            "-",
            "a]",
            "l]",
            "b[",
            "b[x",
            "x[undefined",
            "x[",
            "[z-a]",
            "z",
            "😀",
            "[😀]",
            "é",
            "ab",
            "@*",
            "@x",
            "\nlead",
            "trail\n",
            "d/f",
        ],
    );
    let cases = [
        case(&["*\\.js"]),
        case(&["?\\.js"]),
        case(&["[[:alpha:]]"]),
        case(&["[[:alpha:]]]"]),
        case(&["b[*"]),
        case(&["*["]),
        case(&["[a\\-c]"]),
        case(&["[c\\-a]"]),
        case(&["[!a]"]),
        case(&["[^a]"]),
        case(&["[!]"]),
        case(&["[😀]"]),
        case(&["[😀][😀]"]),
        case(&["?"]),
        case(&["??"]),
        case(&["[z-a]"]),
        case(&["\\@*"]),
        case(&["*"]),
        case(&["*\n!a*"]),
        case(&["[é]"]),
        case(&["**/*"]),
    ];
    let got = check(&ws, &home, &cases);
    // Spot checks of what minimatch 3 does (each also agreed with the harness above).
    let files = |i: usize| ok(&got[i]).1;
    assert_eq!(files(0), 3, "`*\\.js` is `*.js`: a.js, b.js, x\\.js");
    assert_eq!(files(2), 2, "`[[:alpha:]]` is a class and a `]`: a], l]");
    assert_eq!(files(4), 1, "`b[*` needs a character after `b[`");
    assert_eq!(files(5), 1, "`*[` matches `x[undefined`");
    assert_eq!(files(6), 3, "`[a\\-c]` is the range a-c");
    assert_eq!(
        files(7),
        0,
        "`[c\\-a]` does not compile and matches nothing"
    );
    assert_eq!(files(11), 0, "`[😀]` never matches 😀 (two UTF-16 units)");
    assert_eq!(files(12), 1, "`[😀][😀]` does");
    assert!(files(14) > files(13), "`??` matches 😀, `?` does not");
}

/// Generated pattern sets (classes, escapes, negations, dotfiles, unicode, unclosed brackets,
/// braces, extglobs, `**` forms, comments, `./`, trailing slashes, symlinks) on a tree of names
/// chosen to tell matchers apart.
#[test]
fn generated_patterns_match_github() {
    let (_tmp, ws, home) = workspace();
    let names = [
        "a",
        "b",
        "c",
        "z",
        "A",
        "-",
        "]",
        "^",
        "!",
        "!a",
        "a-c",
        "ab",
        "a]",
        "l]",
        "x[undefined",
        "x[",
        "b[",
        "b[x",
        "[z-a]",
        "[x]",
        "[]a]",
        "[](]",
        "a*b",
        "a?b",
        "a.js",
        "b.JS",
        ".js",
        ".hidden",
        "..x",
        "x.",
        "{a,b}",
        "a,b",
        "+(a)",
        "@(a)",
        "!(a)",
        "#c",
        "a b",
        " lead",
        "trail ",
        "a\\b",
        "back\\",
        "é",
        "ü.js",
        "😀",
        "😀😀",
        "x😀",
        "日本",
        "\u{2028}",
        "\nnl",
        "nl\n",
        "tab\t",
        "a.b.c",
        "~",
        "~x",
        "$",
        "(",
        ")",
        "|",
        "a|b",
        "=",
        ":",
        "%",
        "&",
        "[",
        "@*",
    ];
    let dirs = ["", "d/", "d/e/", ".h/", "s p/", "[d]/", "x*y/"];
    let mut files = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        for (j, name) in names.iter().enumerate() {
            // Every name at the top, a varying half of them in each directory.
            if i == 0 || (i + j) % 2 == 0 {
                files.push(format!("{dir}{name}"));
            }
        }
    }
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    tree(&ws, &refs);
    tree(&home, &["h/a", "h/b.js"]);
    symlink("a.js", ws.join("ln-file")).expect("symlink");
    symlink("d", ws.join("ln-dir")).expect("symlink");
    symlink("..", ws.join("d/e/up")).expect("symlink");
    symlink(home.join("h"), ws.join("ln-out")).expect("symlink");

    let count: usize = std::env::var("WIT_CACHE_GOLDEN_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let seed: u64 = std::env::var("WIT_CACHE_GOLDEN_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_1234_abcd_0001);
    let mut rng = Rng(seed | 1);
    let mut cases = Vec::new();
    while cases.len() < count {
        let c = gen_case(&mut rng, &names);
        // A line that trims down to an absolute path (`\u{2028}/**` is `/**`) makes the
        // runner walk the whole file system, which is not what this test is about.
        if !c
            .patterns
            .iter()
            .flat_map(|p| p.split('\n'))
            .any(walks_from_root)
        {
            cases.push(c);
        }
    }
    let got = check(&ws, &home, &cases);
    // The generator reaches all kinds of outcome.
    let matched = got
        .iter()
        .filter(|o| o.as_ref().is_ok_and(|o| o.1 > 0))
        .count();
    let empty = got
        .iter()
        .filter(|o| o.as_ref().is_ok_and(|o| o.1 == 0))
        .count();
    let errors = got.iter().filter(|o| o.is_err()).count();
    assert!(
        matched > count / 4 && empty > count / 20 && errors > 0,
        "matched {matched}, empty {empty}, errors {errors}"
    );
}

/// Whether a pattern line, trimmed and without its `!`s as @actions/glob reads it, is absolute.
fn walks_from_root(line: &str) -> bool {
    let js_space = |c: char| c.is_whitespace() || c == '\u{feff}';
    let mut rest = line.trim_matches(js_space);
    while let Some(r) = rest.strip_prefix('!') {
        rest = r.trim_matches(js_space);
    }
    rest.starts_with('/')
}

/// xorshift64: deterministic, so a failure can be replayed with the same seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

fn gen_case(rng: &mut Rng, names: &[&str]) -> Case {
    let lines = 1 + rng.below(3);
    let mut patterns = Vec::new();
    for i in 0..lines {
        let mut p = String::new();
        if i > 0 && rng.chance(35) {
            p.push('!');
        }
        if rng.chance(3) {
            p.push_str(rng.pick(&["!", " ! ", "!!"]));
        }
        if rng.chance(3) {
            p.push('#');
        }
        if rng.chance(3) {
            p.push_str(rng.pick(&[" ", "\t", "\u{a0}"]));
        }
        if rng.chance(10) {
            p.push_str("./");
        }
        let segments = 1 + rng.below(3);
        for s in 0..segments {
            if s > 0 {
                p.push_str(if rng.chance(5) { "//" } else { "/" });
            }
            p.push_str(&gen_segment(rng, names));
        }
        if rng.chance(10) {
            p.push('/');
        }
        if rng.chance(3) {
            p.push_str(rng.pick(&[" ", " /", "\\ "]));
        }
        patterns.push(p);
    }
    // Sometimes several lines in one argument, as `hashFiles('a\nb')` passes them.
    if patterns.len() > 1 && rng.chance(15) {
        patterns = vec![patterns.join("\n")];
    }
    Case {
        patterns,
        follow: rng.chance(12),
    }
}

fn gen_segment(rng: &mut Rng, names: &[&str]) -> String {
    match rng.below(100) {
        0..=14 => "**".to_string(),
        15..=26 => rng
            .pick(&["d", "e", ".h", "s p", "[d]", "x*y", "ln-dir", "ln-out"])
            .to_string(),
        27..=36 => rng.pick(names).replace('/', ""),
        37..=38 => rng.pick(&[".", "..", "[.]", "~"]).to_string(),
        _ => {
            let mut s = String::new();
            for _ in 0..=rng.below(4) {
                gen_token(rng, names, &mut s);
            }
            s
        }
    }
}

fn gen_token(rng: &mut Rng, names: &[&str], s: &mut String) {
    const CHARS: &[&str] = &[
        "a", "b", "c", "x", "z", "-", ".", "]", "^", "!", ",", "{", "}", "(", ")", "+", "@", "|",
        "$", " ", "é", "😀", "#", "~", "js", "[", ":", "=", "<", "?", "*", "\\",
    ];
    match rng.below(100) {
        0..=19 => s.push('*'),
        20..=29 => s.push('?'),
        30..=39 => {
            s.push('\\');
            s.push_str(rng.pick(CHARS));
        }
        40..=64 => gen_class(rng, s),
        65..=74 => {
            let name = rng.pick(names);
            let cut = name
                .char_indices()
                .map(|(i, _)| i)
                .nth(rng.below(3))
                .unwrap_or(name.len());
            s.push_str(&name[..cut]);
        }
        75..=79 => s.push_str(rng.pick(&["{a,b}", "+(a)", "@(a|b)", "!(a)", "*(x)", "?(a)"])),
        _ => s.push_str(rng.pick(CHARS)),
    }
}

fn gen_class(rng: &mut Rng, s: &mut String) {
    const ITEMS: &[&str] = &[
        "a",
        "b",
        "c",
        "z",
        "A",
        "-",
        ".",
        "^",
        "!",
        "]",
        "[",
        "\\-",
        "\\]",
        "\\\\",
        "\\",
        "é",
        "😀",
        "a-c",
        "c-a",
        "a\\-c",
        "c\\-a",
        "0-9",
        "[:alpha:]",
        "[:digit:]",
        "[:upper:]",
        "(",
        ")",
        "*",
        "?",
        "\\d",
        "\\x41",
        "\\b",
        "|",
        "{",
        "}",
        "$",
        ":",
    ];
    s.push('[');
    if rng.chance(25) {
        s.push_str(rng.pick(&["!", "^"]));
    }
    if rng.chance(10) {
        s.push(']');
    }
    for _ in 0..rng.below(4) {
        s.push_str(rng.pick(ITEMS));
    }
    if rng.chance(80) {
        s.push(']');
    }
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
    // The null device reads as empty content: the runner hashes it.
    symlink("/dev/null", ws.join("link-null")).expect("symlink");
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
        case(&["link-null"]),
        follow(&["link-null"]),
    ];
    let got = check(&ws, &home, &cases);
    assert!(got.iter().all(Result::is_ok), "{got:?}");
    assert_eq!(ok(&got[10]).1, 1, "the null device counts as a file");
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

/// Node reads a name that is not UTF-8 with U+FFFD in it, a name that does not exist: the walk
/// fails on it, or leaves it out when following links.
#[test]
fn names_that_are_not_utf8_match_github() {
    use std::os::unix::ffi::OsStrExt;
    let (_tmp, ws, home) = workspace();
    tree(&ws, &["a", "d/b"]);
    fs::write(ws.join(std::ffi::OsStr::from_bytes(b"bad\xffname")), "x").expect("write");
    let got = check(
        &ws,
        &home,
        &[
            case(&["**"]),
            follow(&["**"]),
            case(&["a", "d/**"]),
            case(&["bad*"]),
        ],
    );
    assert!(got[0].is_err(), "{:?}", got[0]);
    assert_eq!(ok(&got[1]).1, 2);
    let err = got[0].as_ref().expect_err("fails");
    assert!(
        err.contains("bad\u{fffd}name") && err.contains("UTF-8"),
        "{err}"
    );
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
        .stdout(format!("{want}\n"))
        .stderr("");
}

/// Nothing matched: the hash stays empty (GitHub's `''`), and a warning on stderr says which
/// patterns found nothing where.
#[test]
fn no_match_warns_on_stderr() {
    let (_tmp, ws, home) = workspace();
    tree(&ws, &["f"]);
    let golden = run_golden(&ws, &home, &[case(&["nothing", "no/*.js"])]);
    assert_eq!(ok(&golden[0]), &(String::new(), 0));
    let ws_text = ws.display().to_string();
    let out = Command::cargo_bin("wit-cache")
        .expect("binary")
        .arg("--workspace")
        .arg(&ws)
        .args(["hash-files", "nothing", "no/*.js"])
        .assert()
        .success()
        .stdout("\n")
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("warning: "), "{stderr}");
    assert!(
        stderr.contains("'nothing', 'no/*.js'") && stderr.contains(&ws_text),
        "{stderr}"
    );
    // --json: the document is unchanged, the warning still goes to stderr.
    let (got, _) = run_wit(&ws, &home, &case(&["nothing"]));
    assert_eq!(ok(&got), &(String::new(), 0));
    let out = run_wit_output(&ws, &home, &case(&["nothing\n!x"]));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc, json!({"hash": "", "files": 0}));
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    assert_eq!(
        stderr.lines().count(),
        1,
        "a newline in a pattern is escaped: {stderr}"
    );
    assert!(stderr.contains("'nothing\\n!x'"), "{stderr}");
    // A match prints no warning.
    let out = run_wit_output(&ws, &home, &case(&["f"]));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// FIFOs, sockets and devices never block or fail `hash-files`: they are skipped with a
/// warning, and the hash is the one GitHub computes for the same tree without them (GitHub
/// would block on a FIFO until its time limit, and fails on a socket).
#[test]
fn fifos_sockets_and_devices_are_skipped_not_read() {
    let (_tmp, ws, home) = workspace();
    tree(&ws, &["a", "d/b", "z"]);
    mkfifo(&ws.join("d/fifo"));
    mkfifo(&ws.join("fifo-target"));
    symlink("../fifo-target", ws.join("d/link-to-fifo")).expect("symlink");
    let _socket = UnixListener::bind(ws.join("sock")).expect("bind a unix socket");
    symlink("/dev/zero", ws.join("zero")).expect("symlink");
    symlink("/dev/null", ws.join("null")).expect("symlink");
    let specials = ["d/fifo", "fifo-target", "d/link-to-fifo", "sock", "zero"];

    let cases = [
        case(&["**"]),
        follow(&["**"]),
        case(&["d/*"]),
        follow(&["d/*"]),
    ];
    let mut outputs = Vec::new();
    for c in &cases {
        let out = run_wit_output(&ws, &home, c);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push(out);
    }
    // What GitHub hashes once the specials are gone (and the null device kept).
    for s in specials {
        fs::remove_file(ws.join(s)).expect("remove");
    }
    let golden = run_golden(&ws, &home, &cases);
    for ((c, out), want) in cases.iter().zip(&outputs).zip(&golden) {
        let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
        let got = (
            doc["hash"].as_str().expect("hash").to_string(),
            doc["files"].as_u64().expect("files"),
        );
        assert_eq!(&got, ok(want), "{:?} follow={}", c.patterns, c.follow);
    }
    let stderr = String::from_utf8(outputs[0].stderr.clone()).expect("utf-8");
    for s in specials {
        let line = stderr
            .lines()
            .find(|l| l.contains(&format!("/ws/{s} is")))
            .unwrap_or_else(|| panic!("a warning names {s}: {stderr}"));
        assert!(
            line.starts_with("warning: hash-files: not hashed: "),
            "{line}"
        );
    }
    assert!(stderr.contains("/ws/d/fifo is a FIFO"), "{stderr}");
    assert!(stderr.contains("/ws/sock is a socket"), "{stderr}");
    assert!(
        stderr.contains("/ws/zero is a character device"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("/ws/null"),
        "the null device is hashed: {stderr}"
    );
}

/// A file name cannot forge log lines: what the workspace names is escaped on stderr.
#[test]
fn names_on_stderr_are_escaped() {
    let (_tmp, ws, home) = workspace();
    tree(&ws, &["a"]);
    let evil = "evil\n\x1b[31mwarning: forged\r\t\\";
    mkfifo(&ws.join(evil));
    let out = run_wit_output(&ws, &home, &case(&["**"]));
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        !stderr.contains('\x1b') && !stderr.contains('\r'),
        "{stderr:?}"
    );
    assert!(
        // Control characters become escapes; a backslash stays itself (for people to read).
        stderr.contains("evil\\n\\x1b[31mwarning: forged\\r\\t\\ is a FIFO"),
        "{stderr}"
    );
    // Errors name files escaped too.
    fs::remove_file(ws.join(evil)).expect("remove");
    symlink("missing", ws.join(evil)).expect("symlink");
    let (got, code) = run_wit(&ws, &home, &case(&["**"]));
    let err = got.expect_err("a broken link fails");
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("evil\\n\\x1b[31mwarning: forged"), "{err}");
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
