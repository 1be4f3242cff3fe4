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
