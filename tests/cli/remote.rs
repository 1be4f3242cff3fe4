//! The shared tier against a real S3 server on loopback — moto's server
//! (`python3 -m moto.server`), which honours `If-None-Match: *` on PutObject and on
//! CompleteMultipartUpload, so create-only saves are tested for real — and against a shared
//! directory (`file:///…`, as an NFS mount would be used). Tests of tier semantics run on
//! both; network faults only on S3. Each test starts its own server on a free port and kills
//! it on drop; "hosts" are separate stores.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use assert_cmd::Command;

use crate::util::{json_of, stderr_of, TestEnv};

const BUCKET: &str = "cache";

/// A moto S3 server on a free loopback port, killed on drop.
struct S3Server {
    child: Option<Child>,
    port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// One raw HTTP/1.1 request to a loopback port; returns (status, body).
fn http(port: u16, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, body.to_string()))
}

impl S3Server {
    fn start() -> Self {
        let port = free_port();
        let child = StdCommand::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run python3 for the S3 test server ({e}): install Python 3 and `pip install 'moto[server]'` (scripts/test.sh does)")
            });
        let mut server = Self {
            child: Some(child),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = server.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    let mut err = String::new();
                    if let Some(mut e) = child.stderr.take() {
                        let _ = e.read_to_string(&mut err);
                    }
                    panic!(
                        "the S3 test server (python3 -m moto.server) exited with {status}: {}\n\
                         install it with `pip install 'moto[server]'` (scripts/test.sh does)",
                        err.trim()
                    );
                }
            }
            if let Ok((200, _)) = http(port, "PUT", &format!("/{BUCKET}")) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the S3 test server did not answer on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every object name in the bucket.
    fn objects(&self) -> Vec<String> {
        let (status, body) =
            http(self.port, "GET", &format!("/{BUCKET}?list-type=2")).expect("list the bucket");
        assert_eq!(status, 200, "{body}");
        body.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_string()))
            .collect()
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where a test's shared store is: a running S3 server, or a directory.
enum Backend {
    S3(S3Server),
    Dir(tempfile::TempDir),
}

impl Backend {
    fn s3() -> Self {
        Self::S3(S3Server::start())
    }

    fn dir() -> Self {
        Self::Dir(tempfile::tempdir().expect("a temp dir"))
    }

    /// What `cmd` takes: the S3 endpoint, or the `file://` URL itself.
    fn ep(&self) -> String {
        match self {
            Self::S3(s) => s.endpoint(),
            Self::Dir(d) => format!("file://{}", d.path().display()),
        }
    }

    /// The URL prefix `list --remote --json` gives archives.
    fn archive_prefix(&self) -> String {
        match self {
            Self::S3(_) => format!("s3://{BUCKET}/ci/v1/"),
            Self::Dir(d) => format!("file://{}/v1/", d.path().display()),
        }
    }

    /// Every object name in the store.
    fn objects(&self) -> Vec<String> {
        match self {
            Self::S3(s) => s.objects(),
            Self::Dir(d) => walkdir::WalkDir::new(d.path())
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .map(|e| {
                    e.path()
                        .strip_prefix(d.path())
                        .unwrap()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect(),
        }
    }
}

/// Runs a test of tier semantics on both backends.
macro_rules! on_both {
    ($s3:ident, $dir:ident, $body:ident) => {
        #[test]
        fn $s3() {
            $body(&Backend::s3());
        }
        #[test]
        fn $dir() {
            $body(&Backend::dir());
        }
    };
}

/// The environment of a host whose shared store is `ep` (an S3 endpoint or a `file://` URL).
fn shared_env(ep: &str) -> Vec<(&'static str, String)> {
    if ep.starts_with("file://") {
        return vec![("WIT_CACHE_STORE", ep.to_string())];
    }
    vec![
        ("WIT_CACHE_STORE", format!("s3://{BUCKET}/ci")),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ENDPOINT_URL", ep.to_string()),
        ("AWS_ALLOW_HTTP", "true".into()),
    ]
}

/// For the tests that count, size or corrupt the archive objects themselves: the archive
/// format whatever the default (a cas entry's content is in shared pack objects instead).
const ARCHIVE: &[&str] = &["--format", "archive"];

/// `wit-cache` on `env`'s host, with the shared store at `ep`.
fn cmd(env: &TestEnv, ep: &str) -> Command {
    let mut c = env.cmd();
    c.envs(shared_env(ep));
    c
}

/// The same, for a process to spawn and wait for later.
fn std_cmd(env: &TestEnv, endpoint: &str) -> StdCommand {
    let mut c = StdCommand::new(assert_cmd::cargo::cargo_bin("wit-cache"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &env.home)
        .env("WIT_CACHE_DIR", &env.store)
        .env("WIT_REPO", "acme/app")
        .envs(shared_env(endpoint))
        .envs(crate::util::passed_env())
        .current_dir(&env.ws)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn save(env: &TestEnv, endpoint: &str, key: &str, extra: &[&str]) -> (serde_json::Value, String) {
    let out = cmd(env, endpoint)
        .args(["--json", "save", "--key", key, "--path", "dep"])
        .args(extra)
        .assert()
        .success();
    let out = out.get_output();
    (json_of(&out.stdout), stderr_of(out))
}

fn restore(
    env: &TestEnv,
    endpoint: &str,
    key: &str,
    extra: &[&str],
) -> (serde_json::Value, String) {
    let out = cmd(env, endpoint)
        .args(["--json", "restore", "--key", key, "--path", "dep"])
        .args(extra)
        .assert()
        .success();
    let out = out.get_output();
    (json_of(&out.stdout), stderr_of(out))
}

fn remote_list(env: &TestEnv, endpoint: &str) -> Vec<serde_json::Value> {
    let out = cmd(env, endpoint)
        .args(["--json", "list", "--remote"])
        .assert()
        .success();
    json_of(&out.get_output().stdout)["caches"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Bytes that do not compress, so archives are as big as the tree.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn write_dep(env: &TestEnv, content: &str) {
    env.write("dep/a.txt", content);
    env.write("dep/sub/b.txt", "b");
}

on_both!(
    a_save_on_one_host_restores_on_another_then_locally,
    a_save_restores_on_another_host_through_a_shared_directory,
    save_on_one_host_restore_on_another
);

fn save_on_one_host_restore_on_another(backend: &Backend) {
    let ep = backend.ep();
    let (a, b) = (TestEnv::new(), TestEnv::new());
    write_dep(&a, "from host A");
    // Big enough for a multipart upload and several download ranges.
    std::fs::write(a.ws.join("dep/big.bin"), noise(20 << 20, 7)).unwrap();
    let (doc, err) = save(&a, &ep, "npm-Linux-abc", &[]);
    assert_eq!(doc["saved"], true, "{err}");
    assert_eq!(doc["remote"], "uploaded", "{err}");

    let (doc, err) = restore(&b, &ep, "npm-Linux-abc", &[]);
    assert_eq!(doc["cache_hit"], true, "{err}");
    assert!(
        err.contains("Downloaded cache entry 'npm-Linux-abc'"),
        "{err}"
    );
    assert_eq!(b.read("dep/a.txt"), "from host A");
    assert_eq!(
        std::fs::read(b.ws.join("dep/big.bin")).unwrap(),
        noise(20 << 20, 7)
    );
    // Host B now holds it locally: with the shared store gone it still restores, silently.
    assert_eq!(b.count_entries(), 1);
    let ep = match backend {
        Backend::S3(_) => format!("http://127.0.0.1:{}", free_port()),
        Backend::Dir(_) => "file:///nonexistent/wit-cache-shared".to_string(),
    };
    b.rm("dep");
    let (doc, err) = restore(&b, &ep, "npm-Linux-abc", &[]);
    assert_eq!(doc["cache_hit"], true);
    assert!(
        !err.contains("warning"),
        "a local hit needs no shared store: {err}"
    );
    assert_eq!(b.read("dep/a.txt"), "from host A");
}

on_both!(
    restore_keys_scopes_and_case_work_remotely,
    restore_keys_scopes_and_case_work_in_a_shared_directory,
    restore_keys_scopes_and_case
);

fn restore_keys_scopes_and_case(backend: &Backend) {
    let ep = backend.ep();
    let (a, b) = (TestEnv::new(), TestEnv::new());
    for (i, key) in ["npm-Linux-aaa", "npm-Linux-bbb", "other-1"]
        .iter()
        .enumerate()
    {
        write_dep(&a, key);
        cmd(&a, &ep)
            .env("WIT_CACHE_NOW", (1_700_000_000 + i * 60).to_string())
            .args(["save", "--key", key, "--path", "dep"])
            .assert()
            .success();
    }
    write_dep(&a, "main branch");
    cmd(&a, &ep)
        .args([
            "save", "--key", "scoped-1", "--path", "dep", "--scope", "main",
        ])
        .assert()
        .success();

    // The primary key misses; the restore key matches both, the newest wins.
    let (doc, err) = restore(&b, &ep, "npm-Linux-zzz", &["--restore-key", "NPM-linux-"]);
    assert_eq!(doc["cache_hit"], false, "{err}");
    assert_eq!(doc["matched_key"], "npm-Linux-bbb");
    assert_eq!(b.read("dep/a.txt"), "npm-Linux-bbb");
    // The primary key as a prefix.
    let host_c = TestEnv::new();
    let (doc, _) = restore(&host_c, &ep, "npm-linux-a", &[]);
    assert_eq!(doc["matched_key"], "npm-Linux-aaa");
    // A prefix is literal: `%` and `_` are no wildcards, `/` cannot climb out.
    let host_d = TestEnv::new();
    for key in ["npm%", "npm_", "../", "npm-Linux-/"] {
        let (doc, err) = restore(&host_d, &ep, key, &[]);
        assert_eq!(doc["cache_hit"], serde_json::Value::Null, "{key}: {err}");
    }
    // Scopes: own scope first, then the fallback; without it the entry is not visible.
    let (doc, _) = restore(&host_d, &ep, "scoped-1", &["--scope", "feature"]);
    assert_eq!(doc["cache_hit"], serde_json::Value::Null);
    let (doc, _) = restore(
        &host_d,
        &ep,
        "scoped-1",
        &["--scope", "feature", "--fallback-scope", "main"],
    );
    assert_eq!(doc["cache_hit"], true);
    assert_eq!(host_d.read("dep/a.txt"), "main branch");
    // --lookup-only reports a remote entry without downloading it.
    let host_e = TestEnv::new();
    let (doc, _) = restore(&host_e, &ep, "other-1", &["--lookup-only"]);
    assert_eq!(doc["cache_hit"], true);
    assert_eq!(host_e.count_entries(), 0);
}

/// Forwards loopback TCP to the S3 server; can hold or cut requests to fake a network.
struct Proxy {
    port: u16,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Drop the connection carrying the PUT of an entry's metadata.
    CutMetadataPut,
    /// After this many bytes sent upstream in all, cut every connection.
    CutAfter(u64),
    /// Hold the PUT of an entry's metadata until released.
    HoldMetadataPut,
}

struct ProxyState {
    fault: Fault,
    sent: AtomicU64,
    dead: AtomicBool,
    held: Mutex<Option<mpsc::Sender<()>>>,
    release: Mutex<Option<mpsc::Receiver<()>>>,
}

fn is_metadata_put(chunk: &[u8]) -> bool {
    let text = String::from_utf8_lossy(chunk);
    text.split("\r\n")
        .any(|line| line.starts_with("PUT ") && line.contains("/entry.json"))
}

impl Proxy {
    fn start(upstream: u16, fault: Fault) -> (Self, Arc<ProxyState>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let state = Arc::new(ProxyState {
            fault,
            sent: AtomicU64::new(0),
            dead: AtomicBool::new(false),
            held: Mutex::new(None),
            release: Mutex::new(None),
        });
        let st = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let st = st.clone();
                std::thread::spawn(move || pump(client, server, &st));
            }
        });
        (Self { port }, state)
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn pump(mut client: TcpStream, server: TcpStream, st: &ProxyState) {
    let (Ok(mut server_r), Ok(mut client_w)) = (server.try_clone(), client.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut server_r, &mut client_w);
        let _ = client_w.shutdown(Shutdown::Both);
    });
    let mut server = server;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        let cut = match st.fault {
            Fault::CutMetadataPut => is_metadata_put(chunk),
            Fault::CutAfter(limit) => {
                let total = st.sent.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
                if total > limit {
                    st.dead.store(true, Ordering::SeqCst);
                }
                st.dead.load(Ordering::SeqCst)
            }
            Fault::HoldMetadataPut => {
                if is_metadata_put(chunk) {
                    if let Some(tx) = st.held.lock().unwrap().take() {
                        let _ = tx.send(());
                        let rx = st.release.lock().unwrap().take();
                        if let Some(rx) = rx {
                            let _ = rx.recv_timeout(Duration::from_secs(60));
                        }
                    }
                }
                false
            }
        };
        if cut || server.write_all(chunk).is_err() {
            break;
        }
    }
    let _ = server.shutdown(Shutdown::Both);
    let _ = client.shutdown(Shutdown::Both);
}

#[test]
fn concurrent_saves_of_one_key_keep_exactly_one_remote_entry() {
    let server = S3Server::start();
    let ep = server.endpoint();
    let (a, b, c) = (TestEnv::new(), TestEnv::new(), TestEnv::new());
    write_dep(&a, "host A");
    write_dep(&b, "host B");

    // Deterministic race: A's metadata PUT is held while B saves the same key completely;
    // released, A's create-only PUT must lose.
    let (proxy, state) = Proxy::start(server.port, Fault::HoldMetadataPut);
    let (held_tx, held_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    *state.held.lock().unwrap() = Some(held_tx);
    *state.release.lock().unwrap() = Some(release_rx);
    let a_save = std_cmd(&a, &proxy.endpoint())
        .args(["--json", "save", "--key", "race", "--path", "dep"])
        .args(ARCHIVE)
        .spawn()
        .unwrap();
    held_rx
        .recv_timeout(Duration::from_secs(120))
        .expect("host A reached its metadata PUT");
    let (doc, err) = save(&b, &ep, "race", ARCHIVE);
    assert_eq!(doc["remote"], "uploaded", "{err}");
    release_tx.send(()).unwrap();
    let out = a_save.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let doc = json_of(&out.stdout);
    assert_eq!(doc["saved"], true, "A keeps its local entry");
    assert_eq!(doc["remote"], "exists", "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("by another host meanwhile"));

    let objects = server.objects();
    assert_eq!(objects.len(), 2, "one metadata, one archive: {objects:?}");
    let (doc, _) = restore(&c, &ep, "race", &[]);
    assert_eq!(doc["cache_hit"], true);
    assert_eq!(
        c.read("dep/a.txt"),
        "host B",
        "the first complete save wins"
    );

    // And a free-for-all of three hosts on another key: still exactly one entry.
    let hosts: Vec<TestEnv> = (0..3).map(|_| TestEnv::new()).collect();
    let children: Vec<_> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            write_dep(h, &format!("host {i}"));
            std_cmd(h, &ep)
                .args(["--json", "save", "--key", "free-for-all", "--path", "dep"])
                .spawn()
                .unwrap()
        })
        .collect();
    let mut uploaded = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr_of(&out));
        if json_of(&out.stdout)["remote"] == "uploaded" {
            uploaded += 1;
        }
    }
    assert_eq!(uploaded, 1);
    let objects = server.objects();
    assert_eq!(
        objects
            .iter()
            .filter(|o| o.contains("/free-for-all/"))
            .count(),
        2,
        "{objects:?}"
    );
}

#[test]
fn a_failed_upload_leaves_no_visible_remote_entry() {
    let server = S3Server::start();
    let ep = server.endpoint();
    let (a, b) = (TestEnv::new(), TestEnv::new());

    // The network dies at the metadata PUT: the archive is up, the entry must not be.
    write_dep(&a, "cut at the metadata");
    let (proxy, _state) = Proxy::start(server.port, Fault::CutMetadataPut);
    let (doc, err) = save(&a, &proxy.endpoint(), "cut-meta", ARCHIVE);
    assert_eq!(doc["saved"], true, "the local entry stays");
    assert_eq!(doc["remote"], "failed");
    assert!(
        err.contains("warning: cannot upload cache entry 'cut-meta'"),
        "{err}"
    );
    assert!(err.contains("kept in the local store only"), "{err}");
    assert_eq!(a.count_entries(), 1);

    // The network dies in the middle of a multipart upload of the archive.
    std::fs::write(a.ws.join("dep/big.bin"), noise(24 << 20, 3)).unwrap();
    let (proxy, _state) = Proxy::start(server.port, Fault::CutAfter(12 << 20));
    let (doc, err) = save(&a, &proxy.endpoint(), "cut-archive", ARCHIVE);
    assert_eq!(doc["saved"], true);
    assert_eq!(doc["remote"], "failed", "{err}");

    for key in ["cut-meta", "cut-archive"] {
        let (doc, err) = restore(&b, &ep, key, &[]);
        assert_eq!(doc["cache_hit"], serde_json::Value::Null, "{key}: {err}");
    }
    assert!(remote_list(&b, &ep).is_empty());
    assert!(
        !server.objects().iter().any(|o| o.ends_with("entry.json")),
        "{:?}",
        server.objects()
    );
    // Whatever archive objects a dead upload left are swept by gc once older than an hour.
    let later = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 7200)
        .to_string();
    cmd(&a, &ep)
        .env("WIT_CACHE_NOW", later)
        .args(["gc", "--remote"])
        .assert()
        .success();
    assert!(server.objects().is_empty(), "{:?}", server.objects());
}

#[test]
fn a_server_stopped_mid_run_degrades_to_the_local_store() {
    let mut server = S3Server::start();
    let ep = server.endpoint();
    let (a, b) = (TestEnv::new(), TestEnv::new());
    write_dep(&a, "before the outage");
    let (doc, _) = save(&a, &ep, "k1", &[]);
    assert_eq!(doc["remote"], "uploaded");
    server.stop();

    // A restore on another host: a miss with a warning, exit 0.
    let (doc, err) = restore(&b, &ep, "k1", &[]);
    assert_eq!(doc["cache_hit"], serde_json::Value::Null);
    assert!(
        err.contains("warning: cannot look the keys up in the shared store s3://cache/ci"),
        "{err}"
    );
    assert!(err.contains("using the local store only"), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("warning")).count(),
        1,
        "one warning line: {err}"
    );
    // A save: saved locally, a warning, exit 0; the local hit needs no server.
    write_dep(&a, "during the outage");
    let (doc, err) = save(&a, &ep, "k2", &[]);
    assert_eq!(doc["saved"], true);
    assert_eq!(doc["remote"], "failed");
    assert!(err.contains("kept in the local store only"), "{err}");
    a.rm("dep");
    let (doc, _) = restore(&a, &ep, "k2", &[]);
    assert_eq!(doc["cache_hit"], true);
    assert_eq!(a.read("dep/a.txt"), "during the outage");
    // --fail-on-miss still means a miss, not an outage error.
    cmd(&b, &ep)
        .args(["restore", "--key", "k1", "--path", "dep", "--fail-on-miss"])
        .assert()
        .code(3);
    // The commands that act on the shared store itself fail clearly.
    let out = cmd(&a, &ep).args(["list", "--remote"]).assert().code(1);
    assert!(stderr_of(out.get_output()).contains("cannot list the shared store s3://cache/ci"));
}

on_both!(
    list_delete_stats_and_gc_act_on_the_shared_store,
    list_delete_stats_and_gc_act_on_a_shared_directory,
    manage_the_shared_store
);

fn manage_the_shared_store(backend: &Backend) {
    let ep = backend.ep();
    let a = TestEnv::new();
    let t0: u64 = 1_700_000_000;
    for (i, key) in ["old-1", "mid-2", "new-3"].iter().enumerate() {
        std::fs::create_dir_all(a.ws.join("dep")).unwrap();
        std::fs::write(a.ws.join("dep/blob"), noise(1 << 20, i as u64 + 1)).unwrap();
        cmd(&a, &ep)
            .env("WIT_CACHE_NOW", (t0 + i as u64 * 86_400).to_string())
            .args(["save", "--key", key, "--path", "dep"])
            .args(ARCHIVE)
            .assert()
            .success();
    }
    let listed = remote_list(&a, &ep);
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0]["key"], "new-3", "newest first");
    let archive = listed[0]["archive"].as_str().unwrap();
    assert!(
        archive.starts_with(&format!(
            "{}acme%2Fapp/noscope/new-3/",
            backend.archive_prefix()
        )),
        "{archive}"
    );
    assert_eq!(listed[0]["id"], serde_json::Value::Null, "ids are local");
    assert_eq!(listed[0]["access_count"], serde_json::Value::Null);
    let out = cmd(&a, &ep)
        .args(["--json", "stats", "--remote"])
        .assert()
        .success();
    let stats = json_of(&out.get_output().stdout);
    assert_eq!(stats["total"]["entries"], 3);
    assert_eq!(
        stats["total"]["hits"],
        serde_json::Value::Null,
        "the shared store records no restores"
    );
    // Every format works on the shared store too.
    let out = cmd(&a, &ep)
        .args(["stats", "--remote", "--format", "prometheus"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("wit_cache_entries{repo=\"acme/app\"} 3"),
        "{text}"
    );
    assert!(!text.contains("wit_cache_restores_total{"), "{text}");
    let out = cmd(&a, &ep)
        .args([
            "--json", "list", "--remote", "--limit", "1", "--prefix", "MID",
        ])
        .assert()
        .success();
    let doc = json_of(&out.get_output().stdout);
    assert_eq!(doc["caches"][0]["key"], "mid-2");
    assert_eq!(doc["total"], 1);

    // delete by key; an unknown key is a clear error.
    let out = cmd(&a, &ep)
        .args(["--json", "delete", "--remote", "--key", "MID-2"])
        .assert()
        .success();
    assert_eq!(json_of(&out.get_output().stdout)["deleted"], 1);
    let out = cmd(&a, &ep)
        .args(["delete", "--remote", "--key", "nope"])
        .assert()
        .code(1);
    assert!(stderr_of(out.get_output()).contains("no cache entry with key 'nope'"));
    cmd(&a, &ep)
        .args(["delete", "--remote", "7"])
        .assert()
        .code(2);

    // gc by size per repo: the oldest goes; by age: everything older than max-age.
    let out = cmd(&a, &ep)
        .env("WIT_CACHE_NOW", (t0 + 3 * 86_400).to_string())
        .args([
            "--json",
            "gc",
            "--remote",
            "--max-size",
            "1500KiB",
            "--max-age",
            "30d",
        ])
        .assert()
        .success();
    let gc = json_of(&out.get_output().stdout);
    assert_eq!(gc["keys"], serde_json::json!(["old-1"]));
    let out = cmd(&a, &ep)
        .env("WIT_CACHE_NOW", (t0 + 30 * 86_400).to_string())
        .args(["--json", "gc", "--remote", "--max-age", "7d", "--dry-run"])
        .assert()
        .success();
    assert_eq!(
        json_of(&out.get_output().stdout)["keys"],
        serde_json::json!(["new-3"])
    );
    assert_eq!(remote_list(&a, &ep).len(), 1, "a dry run deletes nothing");
    cmd(&a, &ep)
        .args(["delete", "--remote", "--all"])
        .assert()
        .success();
    assert!(backend.objects().is_empty(), "{:?}", backend.objects());
    // The local tier is untouched by all of this.
    assert_eq!(a.count_entries(), 3);
}

on_both!(
    signed_entries_are_checked_on_remote_hits,
    signed_entries_are_checked_on_shared_directory_hits,
    signed_remote_hits
);

fn signed_remote_hits(backend: &Backend) {
    let ep = backend.ep();
    let (a, b, c) = (TestEnv::new(), TestEnv::new(), TestEnv::new());
    write_dep(&a, "signed");
    cmd(&a, &ep)
        .env("WIT_CACHE_SIGNING_KEY", "s3cret")
        .args(["save", "--key", "sig", "--path", "dep"])
        .assert()
        .success();
    let out = cmd(&b, &ep)
        .env("WIT_CACHE_SIGNING_KEY", "s3cret")
        .args(["--json", "restore", "--key", "sig", "--path", "dep"])
        .assert()
        .success();
    assert_eq!(json_of(&out.get_output().stdout)["cache_hit"], true);
    // Another key: the entry is refused as if absent.
    let out = cmd(&c, &ep)
        .env("WIT_CACHE_SIGNING_KEY", "other")
        .args(["--json", "restore", "--key", "sig", "--path", "dep"])
        .assert()
        .success();
    assert_eq!(
        json_of(&out.get_output().stdout)["cache_hit"],
        serde_json::Value::Null
    );
    assert!(stderr_of(out.get_output()).contains("is not signed with WIT_CACHE_SIGNING_KEY"));
    assert_eq!(c.count_entries(), 0);
}

#[test]
fn bad_store_urls_are_usage_errors() {
    let env = TestEnv::new();
    for (url, says) in [
        ("ftp://x", "unsupported scheme 'ftp'"),
        ("file://relative", "no absolute directory"),
        ("s3://", "names no bucket"),
        ("s3://b/../x", "invalid"),
    ] {
        let out = env
            .cmd()
            .args(["--store", url, "restore", "--key", "k", "--path", "dep"])
            .assert()
            .code(2);
        let err = stderr_of(out.get_output());
        assert!(err.contains(says), "{url}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let out = env.cmd().args(["list", "--remote"]).assert().code(2);
    assert!(stderr_of(out.get_output()).contains("--remote needs a shared store"));
}

on_both!(
    a_local_restore_key_match_never_hides_an_exact_shared_entry,
    a_local_restore_key_match_never_hides_an_exact_entry_in_a_shared_directory,
    exact_shared_beats_local_partial
);

/// The read-through pair answers as one store holding both tiers: the exact primary key in
/// the shared store beats a restore-key match in the local one, and a downloaded entry keeps
/// the shared store's creation time, so "newest wins" agrees on every host.
fn exact_shared_beats_local_partial(backend: &Backend) {
    let ep = backend.ep();
    let (a, b) = (TestEnv::new(), TestEnv::new());
    // Host B has an older entry locally only (saved without the shared store).
    write_dep(&b, "old local");
    b.cmd()
        .env("WIT_CACHE_NOW", "1700000000")
        .args(["save", "--key", "npm-1", "--path", "dep"])
        .assert()
        .success();
    // Host A saves the exact key to the shared store.
    write_dep(&a, "exact from A");
    cmd(&a, &ep)
        .env("WIT_CACHE_NOW", "1700000600")
        .args(["save", "--key", "npm-2", "--path", "dep"])
        .assert()
        .success();
    let (doc, err) = restore(&b, &ep, "npm-2", &["--restore-key", "npm-"]);
    assert_eq!(doc["cache_hit"], true, "{err}");
    assert_eq!(doc["matched_key"], "npm-2");
    assert_eq!(b.read("dep/a.txt"), "exact from A");
    // The local copy keeps the shared store's creation time and archive.
    let created = |env: &TestEnv, key: &str| {
        let out = env
            .cmd()
            .args(["--json", "list", "--prefix", key])
            .assert()
            .success();
        json_of(&out.get_output().stdout)["caches"][0].clone()
    };
    let (on_a, on_b) = (created(&a, "npm-2"), created(&b, "npm-2"));
    assert_eq!(on_a["created_at"], "2023-11-14T22:23:20Z");
    assert_eq!(on_b["created_at"], on_a["created_at"]);
    assert_eq!(on_b["digest"], on_a["digest"]);
    let file = |v: &serde_json::Value| {
        v["archive"]
            .as_str()
            .and_then(|p| p.rsplit('/').next())
            .map(str::to_string)
    };
    assert_eq!(file(&on_b), file(&on_a), "one archive id on every host");

    // A local exact hit of the primary key never asks the shared store.
    let (doc, err) = restore(&b, "http://127.0.0.1:9", "npm-1", &[]);
    assert_eq!(doc["cache_hit"], true, "{err}");
    assert!(!err.contains("warning"), "{err}");
    // Within a prefix step the newest of both tiers wins: A saves a newer npm-3 remotely.
    write_dep(&a, "newest from A");
    cmd(&a, &ep)
        .env("WIT_CACHE_NOW", "1700001200")
        .args(["save", "--key", "npm-3", "--path", "dep"])
        .assert()
        .success();
    let (doc, err) = restore(&b, &ep, "npm-9", &["--restore-key", "npm-"]);
    assert_eq!(doc["matched_key"], "npm-3", "{err}");
}

type MetaLie = Box<dyn Fn(&mut serde_json::Value)>;

/// A shared store that lies: metadata with sizes, names or times out of range, oversized
/// metadata objects, an archive of another size than recorded. Each is refused with a
/// warning and the restore is a miss; nothing aborts or allocates what the metadata says.
#[test]
fn lies_in_the_shared_store_are_refused() {
    let backend = Backend::dir();
    let ep = backend.ep();
    let Backend::Dir(dir) = &backend else {
        unreachable!()
    };
    let a = TestEnv::new();
    write_dep(&a, "from A");
    let (doc, err) = save(&a, &ep, "k", ARCHIVE);
    assert_eq!(doc["remote"], "uploaded", "{err}");
    let meta_path = walkdir::WalkDir::new(dir.path())
        .into_iter()
        .filter_map(Result::ok)
        .find(|e| e.file_name() == "entry.json")
        .expect("the metadata object")
        .into_path();
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    let lies: Vec<(&str, MetaLie, &str)> = vec![
        (
            "a size of 2^64-1",
            Box::new(|m| m["size_bytes"] = serde_json::json!(u64::MAX)),
            "out of range",
        ),
        (
            "an unpacked size of 2^64-1",
            Box::new(|m| m["unpacked_bytes"] = serde_json::json!(u64::MAX)),
            "out of range",
        ),
        (
            "an archive outside its directory",
            Box::new(|m| m["archive"] = serde_json::json!("../../../etc/passwd")),
            "not <id>.<extension>",
        ),
        (
            "a year-10000 time",
            Box::new(|m| m["created_at_ms"] = serde_json::json!(253_402_300_800_000_i64)),
            "out of range",
        ),
        (
            "a size the archive does not have",
            Box::new(|m| {
                let n = m["size_bytes"].as_u64().unwrap();
                m["size_bytes"] = serde_json::json!(n + 1);
            }),
            "its metadata says",
        ),
        (
            "another repo than its place",
            Box::new(|m| m["repo"] = serde_json::json!("evil/repo")),
            "does not match its location",
        ),
    ];
    for (what, lie, says) in lies {
        let mut meta = original.clone();
        lie(&mut meta);
        std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
        let b = TestEnv::new();
        let (doc, err) = restore(&b, &ep, "k", &[]);
        assert_eq!(doc["cache_hit"], serde_json::Value::Null, "{what}: {err}");
        assert!(err.contains(says), "{what}: expected {says:?} in {err}");
        assert!(!b.exists("dep"), "{what}: nothing restored");
        assert_eq!(b.count_entries(), 0, "{what}: nothing registered");
    }
    // A metadata object far larger than any real one is not read.
    let mut big = original.clone();
    big["paths"] = serde_json::json!(vec!["x".repeat(1000); 200]);
    std::fs::write(&meta_path, serde_json::to_vec(&big).unwrap()).unwrap();
    let b = TestEnv::new();
    let (doc, err) = restore(&b, &ep, "k", &[]);
    assert_eq!(doc["cache_hit"], serde_json::Value::Null, "{err}");
    assert!(err.contains("metadata object is"), "{err}");
    // The lies do not stop management commands: the object is reported, not fatal.
    let out = cmd(&a, &ep)
        .args(["--json", "list", "--remote"])
        .assert()
        .success();
    assert!(stderr_of(out.get_output()).contains("is not a usable cache entry"));
}

/// gs:// and az:// URLs parse and build their clients; with a closed endpoint the request
/// fails as an outage (exit 1), not as bad input.
#[test]
fn every_object_store_scheme_builds_its_client() {
    let env = TestEnv::new();
    let closed = format!("http://127.0.0.1:{}", free_port());
    for (url, vars) in [
        (
            "gs://bucket/p",
            vec![
                ("GOOGLE_BASE_URL", closed.clone()),
                ("GOOGLE_SKIP_SIGNATURE", "true".to_string()),
                ("GOOGLE_ALLOW_HTTP", "true".to_string()),
            ],
        ),
        (
            "az://container/p",
            vec![
                ("AZURE_STORAGE_ACCOUNT_NAME", "devstoreaccount1".to_string()),
                ("AZURE_STORAGE_USE_EMULATOR", "true".to_string()),
                ("AZURE_ALLOW_HTTP", "true".to_string()),
            ],
        ),
    ] {
        let out = env
            .cmd()
            .envs(vars)
            .args(["--store", url, "list", "--remote"])
            .assert()
            .code(1);
        let err = stderr_of(out.get_output());
        assert!(
            err.contains(&format!("cannot list the shared store {url}")),
            "{url}: {err}"
        );
    }
}

/// A directory store (file://) is a directory a fleet shares: a symlink planted in it must not
/// lead gc to delete outside it, and a FIFO in an object's place must not hang a restore.
#[test]
fn a_directory_store_follows_no_symlink_and_waits_on_no_fifo() {
    let backend = Backend::dir();
    let ep = backend.ep();
    let Backend::Dir(dir) = &backend else {
        unreachable!()
    };
    let a = TestEnv::new();
    write_dep(&a, "from A");
    let (doc, err) = save(&a, &ep, "k", &[]);
    assert_eq!(doc["remote"], "uploaded", "{err}");
    let meta_path = walkdir::WalkDir::new(dir.path())
        .into_iter()
        .filter_map(Result::ok)
        .find(|e| e.file_name() == "entry.json")
        .expect("the metadata object")
        .into_path();
    let scope_dir = meta_path
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap();
    // Files outside the bucket, old enough to be any sweep's orphans, some named as archives.
    let outside = a.root.join("outside");
    let archive_like = format!("{}/{}.tar.zst", "a".repeat(64), "b".repeat(32));
    for rel in ["important.conf", "sub/data.db", archive_like.as_str()] {
        let p = outside.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "precious").unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 86_400);
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    std::os::unix::fs::symlink(&outside, scope_dir.join("evil")).unwrap();
    for args in [
        &["gc", "--remote"][..],
        &["gc", "--remote", "--max-age", "0s"][..],
    ] {
        cmd(&a, &ep).args(args).output().unwrap();
        for rel in ["important.conf", "sub/data.db", archive_like.as_str()] {
            assert_eq!(
                std::fs::read_to_string(outside.join(rel)).unwrap_or_default(),
                "precious",
                "{args:?}: {rel} outside the bucket was deleted"
            );
        }
    }
    // A FIFO where an entry's metadata would be: the restore is a miss, not a hang.
    let b = TestEnv::new();
    write_dep(&b, "from B");
    let (doc, err) = save(&b, &ep, "k2", &[]);
    assert_eq!(doc["remote"], "uploaded", "{err}");
    let meta2 = walkdir::WalkDir::new(dir.path())
        .into_iter()
        .filter_map(Result::ok)
        .find(|e| e.file_name() == "entry.json" && e.path().to_string_lossy().contains("/k2/"))
        .expect("k2's metadata object")
        .into_path();
    std::fs::remove_file(&meta2).unwrap();
    assert!(std::process::Command::new("mkfifo")
        .arg(&meta2)
        .status()
        .unwrap()
        .success());
    let c = TestEnv::new();
    let out = cmd(&c, &ep)
        .args(["--json", "restore", "--key", "k2", "--path", "dep"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert!(out.status.success(), "hung or failed: {err}");
    assert_eq!(
        json_of(&out.stdout)["cache_hit"],
        serde_json::Value::Null,
        "{err}"
    );
    assert!(err.contains("not a regular file"), "{err}");
}

on_both!(
    cas_entries_share_packs_through_s3,
    cas_entries_share_packs_through_a_directory,
    cas_entries_share_packs
);

/// The cas format through the shared store: a second similar save uploads only the pack of
/// what changed, another host downloads only the packs it lacks, and restores the same tree.
fn cas_entries_share_packs(backend: &Backend) {
    let ep = backend.ep();
    let (a, b) = (TestEnv::new(), TestEnv::new());
    for i in 0..50 {
        std::fs::create_dir_all(a.ws.join("dep")).unwrap();
        std::fs::write(a.ws.join(format!("dep/f{i}")), noise(40_000, 2 * i + 1)).unwrap();
    }
    let pack_bytes = |backend: &Backend| -> usize {
        backend
            .objects()
            .iter()
            .filter(|o| o.contains("cas-v1/packs/"))
            .count()
    };
    let (doc, err) = save(&a, &ep, "v1", &["--format", "cas"]);
    assert_eq!(doc["remote"], "uploaded", "{err}");
    assert!(err.contains("Uploaded 1 of 1 packs"), "{err}");
    let first = pack_bytes(backend);
    assert_eq!(first, 1);
    std::fs::write(a.ws.join("dep/f3"), noise(40_000, 999)).unwrap();
    let (doc, err) = save(&a, &ep, "v2", &["--format", "cas"]);
    assert_eq!(doc["remote"], "uploaded", "{err}");
    // Only the changed file's pack went up (about one file, not fifty).
    assert!(err.contains("Uploaded 1 of 2 packs (39"), "{err}");
    assert_eq!(pack_bytes(backend), 2);

    let (doc, err) = restore(&b, &ep, "v1", &[]);
    assert_eq!(doc["cache_hit"], true, "{err}");
    assert!(err.contains("Downloaded 1 of 1 packs"), "{err}");
    let (doc, err) = restore(&b, &ep, "v2", &[]);
    assert_eq!(doc["cache_hit"], true, "{err}");
    assert!(err.contains("Downloaded 1 of 2 packs"), "{err}");
    assert_eq!(
        std::fs::read(b.ws.join("dep/f3")).unwrap(),
        noise(40_000, 999)
    );
    assert_eq!(
        std::fs::read(b.ws.join("dep/f4")).unwrap(),
        noise(40_000, 9)
    );
    // Host B holds both locally now, and they verify.
    b.cmd().arg("verify").assert().success();
    assert_eq!(b.count_entries(), 2);
}
