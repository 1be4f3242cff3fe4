//! Generated files (completions, man pages) are fresh, and `--help` and the human tables
//! look as reviewed (insta snapshots under `tests/cli/snapshots/`).

use std::path::Path;

use crate::util::TestEnv;

/// Fails when `completions/` or `man/` differ from what the clap definitions generate.
/// Regenerate with: WIT_CACHE_BLESS=1 cargo test generated_files
#[test]
fn generated_files_are_fresh() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bless = std::env::var_os("WIT_CACHE_BLESS").is_some();
    let mut stale = Vec::new();
    for (rel, content) in wit_cache::docs::generated_files() {
        let path = root.join(&rel);
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &content).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(content.as_slice()) {
            stale.push(rel.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files: {}\nregenerate them with: WIT_CACHE_BLESS=1 cargo test generated_files",
        stale.join(", ")
    );
}

#[test]
fn completions_command_prints_the_checked_in_script() {
    let env = TestEnv::new();
    let out = env.cmd().args(["completions", "bash"]).assert().success();
    let expected =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/wit-cache.bash"))
            .unwrap();
    assert_eq!(out.get_output().stdout, expected);
    env.cmd().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn help_snapshots() {
    let env = TestEnv::new();
    // Help as an 80-column terminal shows it.
    let top = env
        .cmd()
        .env("COLUMNS", "80")
        .arg("--help")
        .assert()
        .success();
    insta::assert_snapshot!("help", String::from_utf8_lossy(&top.get_output().stdout));
    for sub in [
        "restore",
        "save",
        "hash-files",
        "list",
        "show",
        "delete",
        "stats",
        "gc",
        "verify",
        "serve",
        "run",
        "completions",
    ] {
        // Help shows the value of a set WIT_CACHE_FORMAT; the snapshots are of help without it.
        let out = env
            .cmd()
            .env_remove("WIT_CACHE_FORMAT")
            .env("COLUMNS", "80")
            .args([sub, "--help"])
            .assert()
            .success();
        insta::assert_snapshot!(
            format!("help-{sub}"),
            String::from_utf8_lossy(&out.get_output().stdout)
        );
    }
    let version = env.cmd().arg("--version").assert().success();
    assert_eq!(
        String::from_utf8_lossy(&version.get_output().stdout),
        format!("wit-cache {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn human_table_snapshots() {
    let env = TestEnv::new();
    let t0: i64 = 1_700_000_000;
    let at = |s: i64| (t0 + s).to_string();
    for (key, size, when) in [
        ("npm-Linux-3f2a", 3000, 0),
        ("cargo-Linux-9b1c", 120_000, 60),
        ("pip-Linux-77ab", 10, 7200),
        (
            "npm-Linux-x64-node20-5f1c0e4b9d2a7c3e8f6b1a0d9c8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c",
            500,
            7300,
        ),
    ] {
        env.write("dep/data", &"x".repeat(size));
        env.cmd()
            .env("WIT_CACHE_NOW", at(when))
            .args([
                "save",
                "--format",
                "archive",
                "--compression",
                "none",
                "--key",
                key,
                "--path",
                "dep",
            ])
            .assert()
            .success();
    }
    env.cmd()
        .env("WIT_CACHE_NOW", at(9000))
        .args(["restore", "--key", "npm-Linux-3f2a", "--path", "dep"])
        .assert()
        .success();
    env.cmd()
        .env("WIT_CACHE_NOW", at(9100))
        .args([
            "restore",
            "--key",
            "npm-Linux-0000",
            "--restore-key",
            "npm-",
            "--path",
            "dep",
        ])
        .assert()
        .success();
    env.cmd()
        .env("WIT_CACHE_NOW", at(9200))
        .args(["restore", "--key", "go-Linux-1", "--path", "dep"])
        .assert()
        .success();
    let list = env
        .cmd()
        .env("WIT_CACHE_NOW", at(18_000))
        .args(["list", "--sort", "created"])
        .assert()
        .success();
    insta::assert_snapshot!(
        "list-table",
        String::from_utf8_lossy(&list.get_output().stdout)
    );
    // At 80 columns the long key is shortened in the middle, its tail kept.
    let list = env
        .cmd()
        .env("WIT_CACHE_NOW", at(18_000))
        .env("COLUMNS", "80")
        .args(["list", "--sort", "created"])
        .assert()
        .success();
    insta::assert_snapshot!(
        "list-table-80",
        String::from_utf8_lossy(&list.get_output().stdout)
    );
    let stats = env
        .cmd()
        .env("WIT_CACHE_NOW", at(18_000))
        .arg("stats")
        .assert()
        .success();
    let text = String::from_utf8_lossy(&stats.get_output().stdout).into_owned();
    insta::assert_snapshot!("stats-table", without_times(&text));
    let stats = env
        .cmd()
        .env("WIT_CACHE_NOW", at(18_000))
        .env("COLUMNS", "80")
        .arg("stats")
        .assert()
        .success();
    let text = String::from_utf8_lossy(&stats.get_output().stdout).into_owned();
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "{line:?} is wider than 80");
    }
    insta::assert_snapshot!("stats-table-80", without_times(&text));
}

/// Restore times are real time: the one column a snapshot cannot pin, and its width (so the
/// spaces before its heading) varies with it.
fn without_times(text: &str) -> String {
    let text = regex::Regex::new(r" +\d+(\.\d)? m?s\n")
        .unwrap()
        .replace_all(text, " [time]\n");
    regex::Regex::new(r" +TIME\n")
        .unwrap()
        .replace_all(&text, " TIME\n")
        .into_owned()
}
