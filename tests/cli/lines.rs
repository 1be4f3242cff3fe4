//! Path lines and keys as GitHub reads them: trimmed inputs, `path: .` across workspaces,
//! and the lines that would cache far more than dependencies (the home directory, the
//! store itself).

use std::fs;

use crate::util::{json_of, stderr_of, TestEnv};

#[test]
fn an_entry_saved_with_path_dot_restores_in_another_workspace() {
    let env = TestEnv::new();
    let a = env.root.join("a/ws");
    let b = env.root.join("b/work");
    fs::create_dir_all(a.join("sub")).unwrap();
    fs::create_dir_all(&b).unwrap();
    fs::write(a.join("sub/file.txt"), "from a").unwrap();
    fs::write(a.join("top.txt"), "top").unwrap();
    let out = env
        .cmd()
        .args(["--json", "--workspace"])
        .arg(&a)
        .args(["save", "--key", "dot", "--path", "."])
        .assert()
        .success();
    assert_eq!(json_of(&out.get_output().stdout)["saved"], true);
    let out = env
        .cmd()
        .args(["--json", "--workspace"])
        .arg(&b)
        .args(["restore", "--key", "dot", "--path", "."])
        .assert()
        .success();
    let doc = json_of(&out.get_output().stdout);
    assert_eq!(doc["cache_hit"], true, "{}", stderr_of(out.get_output()));
    assert_eq!(
        fs::read_to_string(b.join("sub/file.txt")).unwrap(),
        "from a"
    );
    assert_eq!(fs::read_to_string(b.join("top.txt")).unwrap(), "top");
    assert_eq!(env.count_entries(), 1, "the entry is not damaged");
    // The same for `./` and for a line that resolves to the workspace.
    let out = env
        .cmd()
        .args(["--json", "--workspace"])
        .arg(&b)
        .args(["restore", "--key", "dot", "--path", "./"])
        .assert()
        .success();
    assert_eq!(
        json_of(&out.get_output().stdout)["cache_hit"],
        serde_json::Value::Null,
        "another path line is another version"
    );
}

#[test]
fn keys_and_lines_are_trimmed_as_the_action_reads_them() {
    let env = TestEnv::new();
    env.write("dep/a.txt", "a");
    env.write("dep/skip.log", "log");
    let out = env
        .cmd()
        .args([
            "--json",
            "save",
            "--key",
            " npm-x\n",
            "--path",
            "  dep  \n!  dep/*.log\n\n",
        ])
        .assert()
        .success();
    let doc = json_of(&out.get_output().stdout);
    assert_eq!(doc["key"], "npm-x");
    env.rm("dep");
    // A YAML block scalar's trailing newline, and `!x` written without the spaces.
    let doc = env.restore(
        "npm-x\n",
        &["dep", "!dep/*.log"],
        &["--restore-key", " npm-\n"],
    );
    assert_eq!(doc["cache_hit"], true);
    assert_eq!(doc["matched_key"], "npm-x");
    assert!(!env.exists("dep/skip.log"));
    // A newline inside a key stays an error.
    let out = env
        .cmd()
        .args(["restore", "--key", "npm-\nx", "--path", "dep"])
        .assert()
        .code(2);
    assert!(stderr_of(out.get_output()).contains("control character"));
}

#[test]
fn broad_path_lines_are_refused_unless_asked_for() {
    let env = TestEnv::new();
    fs::write(env.home.join(".netrc"), "secret").unwrap();
    let ancestor = env.root.display().to_string();
    for line in ["~", "~/", "..", "../..", ancestor.as_str(), "~/.."] {
        for verb in ["save", "restore"] {
            let out = env
                .cmd()
                .args([verb, "--key", "k", "--path", line])
                .assert()
                .code(2);
            let err = stderr_of(out.get_output());
            assert!(err.contains(&format!("--path '{line}'")), "{line}: {err}");
            assert!(err.contains("--allow-broad-paths"), "{line}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
    assert_eq!(env.count_entries(), 0);
    // The workspace itself is a normal line; with the flag, the home directory is too.
    env.write("x", "x");
    env.cmd()
        .args(["save", "--key", "ws", "--path", "."])
        .assert()
        .success();
    let out = env
        .cmd()
        .args([
            "--json",
            "save",
            "--key",
            "home",
            "--path",
            "~",
            "--allow-broad-paths",
        ])
        .assert()
        .success();
    assert_eq!(json_of(&out.get_output().stdout)["saved"], true);
}

#[test]
fn a_path_line_inside_the_store_is_refused() {
    let env = TestEnv::new();
    env.write("x", "x");
    let store = env.ws.join(".cache/wit");
    env.cmd()
        .env("WIT_CACHE_DIR", &store)
        .args(["save", "--key", "k", "--path", "x"])
        .assert()
        .success();
    for line in [".cache/wit", ".cache/wit/archives-v1", ".cache/wit/*"] {
        for verb in ["save", "restore"] {
            let out = env
                .cmd()
                .env("WIT_CACHE_DIR", &store)
                .args([verb, "--key", "k2", "--path", line])
                .assert()
                .code(2);
            let err = stderr_of(out.get_output());
            assert!(err.contains("inside the cache store"), "{line}: {err}");
        }
    }
}

/// The archived member names of the store's only archive (`tar -t` of `zstd -dc`).
fn members_of_only_archive(store: &std::path::Path) -> Vec<String> {
    let shards = fs::read_dir(store.join("archives-v1")).unwrap();
    let archives: Vec<_> = shards
        .flat_map(|s| fs::read_dir(s.unwrap().path()).unwrap())
        .map(|f| f.unwrap().path())
        .collect();
    assert_eq!(archives.len(), 1, "{archives:?}");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("zstd -dc \"$1\" | tar -t")
        .arg("sh")
        .arg(&archives[0])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_save_of_the_workspace_leaves_out_a_store_inside_it_and_a_restore_keeps_it() {
    let env = TestEnv::new();
    env.write("dep/a.txt", "a");
    let store = env.ws.join(".cache/wit");
    let out = env
        .cmd()
        .env("WIT_CACHE_DIR", &store)
        .args([
            "--json", "save", "--format", "archive", "--key", "ws", "--path", ".",
        ])
        .assert()
        .success();
    assert_eq!(json_of(&out.get_output().stdout)["saved"], true);
    let err = stderr_of(out.get_output());
    assert!(err.contains("it is the cache store"), "{err}");
    let members = members_of_only_archive(&store);
    assert!(members.iter().any(|m| m == "0/dep/a.txt"), "{members:?}");
    assert!(
        members.iter().all(|m| !m.contains(".cache/wit")),
        "the store was archived: {members:?}"
    );
    // Through another name for the workspace (a symlink), the store is still recognised.
    let link = env.root.join("ws-link");
    std::os::unix::fs::symlink(&env.ws, &link).unwrap();
    let out = env
        .cmd()
        .env("WIT_CACHE_DIR", &store)
        .args(["--json", "--workspace"])
        .arg(&link)
        .args(["save", "--key", "ws2", "--path", "."])
        .assert()
        .success();
    assert!(
        stderr_of(out.get_output()).contains("it is the cache store"),
        "{}",
        stderr_of(out.get_output())
    );
    // A restore of the workspace writes the files and leaves the store's index alone.
    env.rm("dep");
    let out = env
        .cmd()
        .env("WIT_CACHE_DIR", &store)
        .args(["--json", "restore", "--key", "ws", "--path", "."])
        .assert()
        .success();
    assert_eq!(json_of(&out.get_output().stdout)["cache_hit"], true);
    assert_eq!(env.read("dep/a.txt"), "a");
    let index = rusqlite::Connection::open(store.join("index-v1.sqlite")).unwrap();
    let n: i64 = index
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2, "both entries survive the restore");
}

#[test]
fn a_restore_never_writes_into_the_store_even_when_the_archive_holds_it() {
    // An archive made elsewhere (an older binary, another host) that holds files where this
    // host keeps its store: saved with the store outside the workspace, then the store moved in.
    let env = TestEnv::new();
    env.write("dep/a.txt", "a");
    env.write(".cache/wit/planted.txt", "would land in the store");
    let outside = env.root.join("store-outside");
    env.cmd()
        .env("WIT_CACHE_DIR", &outside)
        .args(["save", "--key", "ws", "--path", "."])
        .assert()
        .success();
    env.rm(".cache/wit");
    fs::rename(&outside, env.ws.join(".cache/wit")).unwrap();
    let store = env.ws.join(".cache/wit");
    env.rm("dep");
    let out = env
        .cmd()
        .env("WIT_CACHE_DIR", &store)
        .args(["--json", "restore", "--key", "ws", "--path", "."])
        .assert()
        .success();
    let err = stderr_of(out.get_output());
    assert_eq!(
        json_of(&out.get_output().stdout)["cache_hit"],
        serde_json::Value::Null,
        "{err}"
    );
    assert!(err.contains("inside the cache store"), "{err}");
    assert!(
        !store.join("planted.txt").exists(),
        "a restore wrote into the store"
    );
}
