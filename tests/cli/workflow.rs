//! The executor contract, played as a whole workflow: restore at the step, save in the
//! post-job hook unless `cache-hit` was `true`.

use std::collections::HashMap;
use std::fs;

use crate::util::TestEnv;

/// One job run as the wit executor plays `uses: actions/cache` with `$GITHUB_OUTPUT`.
fn run_job(env: &TestEnv, lockfile: &str, run: u32) -> HashMap<String, String> {
    // A fresh checkout: no node_modules, the lockfile of this commit.
    if env.exists("node_modules") {
        env.rm("node_modules");
    }
    env.write("package-lock.json", lockfile);
    let key = format!("npm-Linux-{}", lockfile.len());
    let output = env.root.join(format!("output-{run}"));
    env.cmd()
        .env("GITHUB_OUTPUT", &output)
        .args([
            "restore",
            "--key",
            &key,
            "--restore-key",
            "npm-Linux-",
            "--path",
            "node_modules",
        ])
        .assert()
        .success();
    let outputs: HashMap<String, String> = fs::read_to_string(&output)
        .unwrap()
        .lines()
        .filter_map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    // The job's own step: `npm ci` installs whatever is missing.
    let installed = if env.exists("node_modules/installed-by") {
        env.read("node_modules/installed-by")
    } else {
        String::new()
    };
    env.write(
        "node_modules/installed-by",
        &format!("{installed}run{run};"),
    );
    env.write("node_modules/lock", lockfile);
    // The post-job hook.
    if outputs.get("cache-hit").map(String::as_str) != Some("true") {
        env.cmd()
            .env("WIT_RUN_ID", format!("run-{run}"))
            .args(["save", "--key", &key, "--path", "node_modules"])
            .assert()
            .success();
    }
    outputs
}

#[test]
fn miss_then_exact_hit_then_restore_key_hit_and_new_save() {
    let env = TestEnv::new();
    let first = run_job(&env, "lock-v1", 1);
    assert_eq!(
        first.get("cache-hit"),
        None,
        "a miss leaves cache-hit unset"
    );
    assert_eq!(env.count_entries(), 1, "the first run saved");

    let second = run_job(&env, "lock-v1", 2);
    assert_eq!(second.get("cache-hit").map(String::as_str), Some("true"));
    assert_eq!(
        env.read("node_modules/installed-by"),
        "run1;run2;",
        "restored run 1's install"
    );
    assert_eq!(env.count_entries(), 1, "an exact hit does not save");

    let third = run_job(&env, "lock-v2-changed", 3);
    assert_eq!(third.get("cache-hit").map(String::as_str), Some("false"));
    assert_eq!(
        third.get("cache-matched-key").map(String::as_str),
        Some("npm-Linux-7")
    );
    assert_eq!(env.count_entries(), 2, "the new key was saved");
    let run: String = env
        .index()
        .query_row(
            "SELECT created_by_run FROM entries WHERE key = 'npm-Linux-15'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(run, "run-3");

    let fourth = run_job(&env, "lock-v2-changed", 4);
    assert_eq!(fourth.get("cache-hit").map(String::as_str), Some("true"));
    // Run 2 hit exactly and saved nothing, so run 3 restored run 1's tree through the restore key.
    assert_eq!(env.read("node_modules/installed-by"), "run1;run3;run4;");
}
