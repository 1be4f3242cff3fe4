//! The README's npm and pip recipes, run as a user pastes them: each block marked
//! `<!-- tested: NAME -->` in README.md is read from the README itself (so the README cannot
//! drift from what works), then run twice with `bash` in one workspace with its own store,
//! against the real npm registry and PyPI with the real `npm` and `python3` from `PATH`
//! (`scripts/test.sh` installs them when they are missing, so these tests never skip).
//!
//! Between the two runs everything but the store is thrown away — the workspace's installed
//! dependencies and the home directory — as on a fresh CI runner. The first run must miss and
//! install; the second must be an exact hit, and the dependencies must work afterwards. Whether
//! the install ran is recorded by a shim ahead of the real tool on `PATH`, so "skipped on a hit"
//! is observed, not inferred from output.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::TestEnv;

const README: &str = include_str!("../../README.md");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/recipes");

/// The shell block right after `<!-- tested: NAME -->` in the README.
fn recipe(name: &str) -> String {
    let marker = format!("<!-- tested: {name} -->");
    let at = README
        .find(&marker)
        .unwrap_or_else(|| panic!("README.md has no block marked {marker}"));
    let rest = README[at + marker.len()..].trim_start();
    let body = rest
        .strip_prefix("```sh\n")
        .unwrap_or_else(|| panic!("{marker} must be followed by a ```sh block"));
    let end = body
        .find("\n```")
        .unwrap_or_else(|| panic!("the block after {marker} is not closed"));
    body[..=end].to_string()
}

/// A workspace holding one fixture project, a store, and shims that record each call of the
/// named tools before running the real ones.
struct Project {
    env: TestEnv,
    shims: PathBuf,
    calls: PathBuf,
}

impl Project {
    fn new(fixture: &str, recorded: &[&str]) -> Self {
        let env = TestEnv::new();
        let shims = env.root.join("shims");
        let calls = env.root.join("calls.log");
        fs::create_dir_all(&shims).unwrap();
        for tool in recorded {
            let real = on_path(tool);
            let script = format!(
                "#!/bin/sh\nprintf '%s\\n' \"{tool} $*\" >> '{}'\nexec '{}' \"$@\"\n",
                calls.display(),
                real.display()
            );
            crate::util::write(&shims.join(tool), &script);
            crate::util::chmod(&shims.join(tool), 0o755);
        }
        let project = Self { env, shims, calls };
        project.checkout(fixture);
        project
    }

    /// A fresh runner: the fixture checked out again, an empty home, no recorded calls; only
    /// the store survives.
    fn checkout(&self, fixture: &str) {
        for dir in [&self.env.ws, &self.env.home] {
            make_writable(dir);
            fs::remove_dir_all(dir).unwrap();
            fs::create_dir_all(dir).unwrap();
        }
        for file in fs::read_dir(Path::new(FIXTURES).join(fixture)).unwrap() {
            let file = file.unwrap();
            fs::copy(file.path(), self.env.ws.join(file.file_name())).unwrap();
        }
        let _ = fs::remove_file(&self.calls);
    }

    /// Runs a script with `bash -eu` in the workspace, as a CI step would: this project's
    /// home, store and repo, the shims and the tested binary first on `PATH`, and otherwise
    /// the test's own environment (which may hold the proxy and CA settings the registries
    /// need). Returns the combined output; panics when the script fails.
    fn run(&self, script: &str, extra_env: &[(&str, &str)]) -> String {
        let bin = assert_cmd::cargo::cargo_bin("wit-cache");
        let path = std::env::join_paths(
            [self.shims.clone(), bin.parent().unwrap().to_path_buf()]
                .into_iter()
                .chain(std::env::split_paths(
                    &std::env::var_os("PATH").unwrap_or_default(),
                )),
        )
        .unwrap();
        let mut cmd = Command::new("bash");
        cmd.args(["-eu", "-c", script]).current_dir(&self.env.ws);
        // Settings that would move the caches the recipes name, or point wit-cache elsewhere.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let upper = name.to_ascii_uppercase();
            if [
                "WIT_",
                "GITHUB_",
                "NPM_CONFIG_",
                "XDG_",
                "PIP_CACHE_DIR",
                "PIP_NO_CACHE",
            ]
            .iter()
            .any(|p| upper.starts_with(p))
                || ["CACHE_DIR", "VIRTUAL_ENV", "PYTHONUSERBASE"].contains(&upper.as_str())
            {
                cmd.env_remove(&*name);
            }
        }
        cmd.env("PATH", path)
            .env("HOME", &self.env.home)
            .env("WIT_CACHE_DIR", &self.env.store)
            .env("WIT_REPO", "acme/app")
            .env("NO_COLOR", "1")
            .envs(crate::util::passed_env());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("bash runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "the recipe failed ({}):\n{script}\n--- output ---\n{text}",
            out.status
        );
        text
    }

    /// Each call the shims recorded since the last checkout.
    fn calls(&self) -> Vec<String> {
        fs::read_to_string(&self.calls)
            .map(|s| s.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// The outcome of every restore so far, oldest first (`hit`, `partial`, `miss`).
    fn outcomes(&self) -> Vec<String> {
        let db = self.env.index();
        let mut stmt = db
            .prepare("SELECT outcome FROM restore_attempts ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// Runs a command in the workspace with this project's home and returns its stdout.
    fn output_of(&self, program: &str, args: &[&str]) -> String {
        let out = Command::new(program)
            .args(args)
            .current_dir(&self.env.ws)
            .env("HOME", &self.env.home)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

/// The absolute path of a tool on `PATH`; the test fails (never skips) when it is missing.
fn on_path(tool: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{tool} is not on PATH: scripts/test.sh installs it"))
}

/// Package managers leave read-only trees (Go's module cache, some npm tarballs): make them
/// removable.
fn make_writable(dir: &Path) {
    let _ = Command::new("chmod").args(["-R", "u+w"]).arg(dir).status();
}

const SKIPPED: &str = "not running the command (--skip-on-hit)";

#[test]
fn npm_node_modules_recipe_skips_npm_ci_on_an_exact_hit() {
    let script = recipe("npm-node-modules");
    let p = Project::new("npm", &["npm"]);

    let first = p.run(&script, &[]);
    assert_eq!(p.outcomes(), ["miss"], "{first}");
    assert!(
        p.calls().iter().any(|c| c.starts_with("npm ci")),
        "the miss runs npm ci: {:?}\n{first}",
        p.calls()
    );
    assert_eq!(p.env.count_entries(), 1, "the install was saved:\n{first}");

    p.checkout("npm");
    let second = p.run(&script, &[]);
    assert_eq!(p.outcomes(), ["miss", "hit"], "{second}");
    assert_eq!(p.calls(), Vec::<String>::new(), "npm never ran:\n{second}");
    assert!(second.contains(SKIPPED), "{second}");
    // The restored tree is what npm installed: both packages resolve and work.
    let works = p.output_of(
        "node",
        &[
            "-e",
            "console.log(require('is-odd')(3), require.resolve('is-number'))",
        ],
    );
    assert_eq!(
        works,
        format!(
            "true {}/node_modules/is-number/index.js",
            p.env.ws.display()
        )
    );
}

#[test]
fn npm_cache_recipe_installs_offline_from_the_restored_cache() {
    let script = recipe("npm-cache");
    let p = Project::new("npm", &["npm"]);

    let first = p.run(&script, &[]);
    assert_eq!(p.outcomes(), ["miss"], "{first}");
    assert!(p.env.home.join(".npm/_cacache").is_dir(), "{first}");

    // A fresh runner whose registry is unreachable: only the restored ~/.npm can satisfy
    // `npm ci --prefer-offline` (npm rewrites the lockfile's registry URLs to this one).
    p.checkout("npm");
    let second = p.run(
        &script,
        &[
            ("npm_config_registry", "http://127.0.0.1:9/"),
            ("npm_config_fetch_retries", "0"),
        ],
    );
    assert_eq!(p.outcomes(), ["miss", "hit"], "{second}");
    assert!(
        p.calls().iter().any(|c| c.starts_with("npm ci")),
        "{second}"
    );
    let works = p.output_of("node", &["-e", "console.log(require('is-odd')(3))"]);
    assert_eq!(works, "true");
}

#[test]
fn pip_venv_recipe_skips_the_install_on_an_exact_hit() {
    let script = recipe("pip-venv");
    let p = Project::new("pip-venv", &["python3"]);
    let installs = |calls: Vec<String>| -> Vec<String> {
        // The key computation asks python3 for its version; the install is `-m venv`.
        calls
            .into_iter()
            .filter(|c| c.contains("-m venv"))
            .collect()
    };

    let first = p.run(&script, &[]);
    assert_eq!(p.outcomes(), ["miss"], "{first}");
    assert_eq!(installs(p.calls()).len(), 1, "{first}");

    p.checkout("pip-venv");
    let second = p.run(&script, &[]);
    assert_eq!(p.outcomes(), ["miss", "hit"], "{second}");
    assert_eq!(installs(p.calls()), Vec::<String>::new(), "{second}");
    assert!(second.contains(SKIPPED), "{second}");
    // The venv works where it was restored: its interpreter imports the package, and its
    // scripts' #! lines name this path.
    let venv = p.env.ws.join(".venv");
    let version = p.output_of(
        venv.join("bin/python").to_str().unwrap(),
        &["-c", "import six; print(six.__version__)"],
    );
    assert_eq!(version, "1.17.0");
    let pip = fs::read_to_string(venv.join("bin/pip")).unwrap();
    assert!(
        pip.starts_with(&format!("#!{}/bin/python", venv.display())),
        "{pip}"
    );
}

#[test]
fn pip_cache_recipe_installs_from_the_restored_cache() {
    let script = recipe("pip-cache");
    let p = Project::new("pip-sdist", &["python3"]);

    let first = p.run(&script, &[]);
    assert_eq!(p.outcomes(), ["miss"], "{first}");
    assert!(p.env.home.join(".cache/pip").is_dir(), "{first}");

    p.checkout("pip-sdist");
    let second = p.run(&script, &[]);
    assert_eq!(p.outcomes(), ["miss", "hit"], "{second}");
    // pip took the wheel it had built from docopt's source distribution from the restored
    // cache instead of building it again.
    assert!(
        first.contains("Building wheel for docopt"),
        "the first run builds the wheel:\n{first}"
    );
    assert!(
        second.contains("Using cached docopt-0.6.2-py2.py3-none-any.whl")
            && !second.contains("Building wheel for docopt"),
        "pip did not use the restored cache:\n{second}"
    );
    let version = p.output_of(
        p.env.ws.join(".venv/bin/python").to_str().unwrap(),
        &["-c", "import docopt; print(docopt.__version__)"],
    );
    assert_eq!(version, "0.6.2");
}

/// Every block of the Recipes section parses as shell, and every `--path` with a `~` is
/// quoted, so that wit-cache, not the shell, expands it (the entry's version is then the same
/// on every runner, whatever its home directory).
#[test]
fn every_recipe_parses_and_quotes_its_tilde() {
    let start = README
        .find("\n## Recipes\n")
        .expect("README.md has a Recipes section");
    let section = &README[start + 1..];
    let section = &section[..section[1..].find("\n## ").map_or(section.len(), |i| i + 1)];
    let blocks: Vec<&str> = section
        .split("```sh\n")
        .skip(1)
        .map(|b| &b[..b.find("```").expect("a closed block")])
        .collect();
    assert!(blocks.len() >= 10, "{} blocks", blocks.len());
    let path_arg = regex::Regex::new(r"--path\s+(\S+)").unwrap();
    for block in blocks {
        let parsed = Command::new("bash")
            .args(["-n", "-c", block])
            .output()
            .unwrap();
        assert!(
            parsed.status.success(),
            "{block}\n{}",
            String::from_utf8_lossy(&parsed.stderr)
        );
        for arg in path_arg.captures_iter(block).map(|c| c[1].to_string()) {
            assert!(
                !arg.contains('~') || arg.starts_with("'~/") || arg.starts_with("'!~/"),
                "unquoted ~ in --path {arg}:\n{block}"
            );
        }
        assert!(block.contains("wit-cache run"), "{block}");
    }
}
