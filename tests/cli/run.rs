//! `run`: restore, run the command, save only when it succeeded and missed the primary key.

use crate::util::{json_of, TestEnv};

#[test]
fn saves_after_success_and_passes_the_exit_status_through() {
    let env = TestEnv::new();
    // First run: a miss; the command builds the directory; the entry is saved.
    let out = env
        .cmd()
        .args([
            "--json",
            "run",
            "--key",
            "k-1",
            "--restore-key",
            "k-",
            "--path",
            "out",
            "--",
        ])
        .args(["sh", "-c", "mkdir -p out && echo built >> out/log"])
        .assert()
        .success();
    let doc = json_of(&out.get_output().stdout);
    assert_eq!(doc["restore"]["cache_hit"], serde_json::Value::Null);
    assert_eq!(doc["save"]["saved"], true);
    assert_eq!(env.count_entries(), 1);

    // An exact hit restores and does not save again.
    env.rm("out");
    let out = env
        .cmd()
        .args([
            "--json", "run", "--key", "k-1", "--path", "out", "--", "cat", "out/log",
        ])
        .assert()
        .success();
    let doc = json_of(&out.get_output().stdout);
    assert_eq!(doc["restore"]["cache_hit"], true);
    assert_eq!(doc["save"], serde_json::Value::Null);
    assert_eq!(env.read("out/log"), "built\n");

    // A failing command: its status comes through and nothing is saved.
    env.cmd()
        .args([
            "run",
            "--key",
            "k-2",
            "--restore-key",
            "k-",
            "--path",
            "out",
            "--",
            "sh",
            "-c",
            "echo more >> out/log; exit 7",
        ])
        .assert()
        .code(7);
    assert_eq!(env.count_entries(), 1, "no save after a failure");

    // A partial hit followed by success saves the new key.
    env.cmd()
        .args([
            "run",
            "--key",
            "k-3",
            "--restore-key",
            "k-",
            "--path",
            "out",
            "--",
            "true",
        ])
        .assert()
        .success();
    assert_eq!(env.count_entries(), 2);

    // A command that cannot be found: 127, as env(1) does.
    env.cmd()
        .args([
            "run",
            "--key",
            "k-4",
            "--path",
            "out",
            "--",
            "definitely-not-a-command-xyz",
        ])
        .assert()
        .code(127);
    // A command killed by a signal: 128 + the signal.
    env.cmd()
        .args([
            "run",
            "--key",
            "k-5",
            "--path",
            "out",
            "--",
            "sh",
            "-c",
            "kill -TERM $$",
        ])
        .assert()
        .code(143);
    // No command at all is a usage error.
    env.cmd()
        .args(["run", "--key", "k", "--path", "out"])
        .assert()
        .code(2);
}

/// `--skip-on-hit`: after an exact hit the command does not run at all (the restored files
/// are its result); after a partial hit or a miss it runs and sees what the restore found.
#[test]
fn skip_on_hit_runs_nothing_after_an_exact_hit_and_tells_the_command_what_was_found() {
    let env = TestEnv::new();
    let run = |key: &str| {
        let out = env
            .cmd()
            .args([
                "--json",
                "run",
                "--skip-on-hit",
                "--key",
                key,
                "--restore-key",
                "deps-",
                "--path",
                "deps",
                "--",
                "sh",
                "-c",
                "mkdir -p deps && echo \"hit=[$WIT_CACHE_HIT] key=[$WIT_CACHE_MATCHED_KEY]\" >> deps/runs",
            ])
            .assert()
            .success();
        json_of(&out.get_output().stdout)
    };
    // A miss: the command runs, sees an empty hit, and the result is saved.
    let doc = run("deps-1");
    assert_eq!(doc["skipped"], false);
    assert_eq!(doc["save"]["saved"], true);
    assert_eq!(env.read("deps/runs"), "hit=[] key=[]\n");
    // An exact hit: nothing runs, nothing is saved, the restored files are there.
    env.rm("deps");
    let doc = run("deps-1");
    assert_eq!(doc["skipped"], true);
    assert_eq!(doc["exit_code"], serde_json::Value::Null);
    assert_eq!(doc["save"], serde_json::Value::Null);
    assert_eq!(
        env.read("deps/runs"),
        "hit=[] key=[]\n",
        "the command did not run"
    );
    // A restore-key hit: the command runs on top of what was restored, and knows it.
    let doc = run("deps-2");
    assert_eq!(doc["skipped"], false);
    assert_eq!(doc["restore"]["cache_hit"], false);
    assert_eq!(
        env.read("deps/runs"),
        "hit=[] key=[]\nhit=[false] key=[deps-1]\n"
    );
    assert_eq!(doc["save"]["saved"], true);
}
