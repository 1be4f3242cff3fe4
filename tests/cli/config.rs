//! Where settings come from: flags, then WIT_* variables, then the seed's names.

use crate::util::{json_of, TestEnv};

#[test]
fn cache_dir_flag_then_wit_cache_dir_then_seed_cache_dir() {
    let env = TestEnv::new();
    env.write("dep/v", "v");
    let seed = env.root.join("seed-store");
    let flag = env.root.join("flag-store");
    env.cmd()
        .env_remove("WIT_CACHE_DIR")
        .env("CACHE_DIR", &seed)
        .args(["save", "--key", "a", "--path", "dep"])
        .assert()
        .success();
    assert!(
        seed.join("index-v1.sqlite").is_file(),
        "CACHE_DIR is honoured"
    );
    env.cmd()
        .env("CACHE_DIR", &seed)
        .args(["save", "--key", "b", "--path", "dep"])
        .assert()
        .success();
    assert!(
        env.store.join("index-v1.sqlite").is_file(),
        "WIT_CACHE_DIR wins over CACHE_DIR"
    );
    env.cmd()
        .args(["--cache-dir"])
        .arg(&flag)
        .args(["save", "--key", "c", "--path", "dep"])
        .assert()
        .success();
    assert!(flag.join("index-v1.sqlite").is_file(), "--cache-dir wins");
}

#[test]
fn repo_from_flag_then_wit_repo_then_github_repository() {
    let env = TestEnv::new();
    env.write("dep/v", "v");
    let repo_of = |cmd: &mut assert_cmd::Command| -> String {
        json_of(
            &cmd.args(["--json", "save", "--key", "k", "--path", "dep"])
                .assert()
                .success()
                .get_output()
                .stdout,
        )["repo"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        repo_of(
            env.cmd()
                .env_remove("WIT_REPO")
                .env("GITHUB_REPOSITORY", "gh/repo")
        ),
        "gh/repo"
    );
    assert_eq!(
        repo_of(env.cmd().env("GITHUB_REPOSITORY", "gh/repo")),
        "acme/app"
    );
    assert_eq!(
        repo_of(env.cmd().args(["--repo", "flag/repo"])),
        "flag/repo"
    );
    env.cmd()
        .env_remove("WIT_REPO")
        .args(["save", "--key", "k", "--path", "dep"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no repository given"));
}

#[test]
fn workspace_from_flag_then_github_workspace_then_cwd() {
    let env = TestEnv::new();
    let other = env.root.join("other-ws");
    crate::util::write(&other.join("dep/v"), "from GITHUB_WORKSPACE");
    env.cmd()
        .env("GITHUB_WORKSPACE", &other)
        .args(["save", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    // Restore into the cwd workspace instead: the entry's paths are workspace-relative.
    env.restore("k", &["dep"], &[]);
    assert_eq!(env.read("dep/v"), "from GITHUB_WORKSPACE");
    env.cmd()
        .args([
            "--workspace",
            "/definitely/not/here",
            "save",
            "--key",
            "k",
            "--path",
            "dep",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--workspace /definitely/not/here is not a directory",
        ));
}

/// A store reached through symlinks (a symlinked home or cache directory, or the store
/// directory itself a link) works like any other: only a symlink planted at the index file
/// is refused.
#[test]
fn a_store_reached_through_symlinks_works() {
    let env = TestEnv::new();
    env.write("dep/a.txt", "a");
    let real = env.root.join("real");
    std::fs::create_dir_all(&real).unwrap();
    std::os::unix::fs::symlink(&real, env.root.join("alias")).unwrap();
    let via_parent = env.root.join("alias/store");
    env.cmd()
        .env("WIT_CACHE_DIR", &via_parent)
        .args(["save", "--key", "k", "--path", "dep"])
        .assert()
        .success();
    let link = env.root.join("store-link");
    std::os::unix::fs::symlink(real.join("store"), &link).unwrap();
    env.rm("dep");
    for args in [
        &["restore", "--key", "k", "--path", "dep"][..],
        &["restore", "--read-only", "--key", "k", "--path", "dep"][..],
    ] {
        let out = env
            .cmd()
            .env("WIT_CACHE_DIR", &link)
            .arg("--json")
            .args(args)
            .assert()
            .success();
        assert_eq!(
            json_of(&out.get_output().stdout)["cache_hit"],
            true,
            "{args:?}: {}",
            crate::util::stderr_of(out.get_output())
        );
    }
}
