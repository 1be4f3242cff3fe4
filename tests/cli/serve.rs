//! `serve`: the JSON API and the page over real HTTP, against the real binary and a real store.
//!
//! Each test starts `wit-cache serve --listen 127.0.0.1:0`, reads the bound address from its
//! stderr, and talks to it with a tiny HTTP/1.1 client over `TcpStream`. A [`Server`] guard
//! kills the process when the test ends, also when it panics.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::util::{json_of, TestEnv};

const TOKEN: &str = "t0ps3cret-admin-token";
const XSS_KEY: &str = "<img src=x onerror=alert(1)>";

/// A running `wit-cache serve`; killed (and reaped) on drop.
struct Server {
    child: Child,
    addr: String,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn start(env: &TestEnv, extra_args: &[&str], extra_env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("wit-cache"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &env.home)
            .env("WIT_CACHE_DIR", &env.store)
            .envs(crate::util::passed_env())
            .current_dir(&env.ws)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start wit-cache serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let pipe = child.stderr.take().expect("stderr is piped");
        let log = Arc::clone(&stderr);
        // Keeps draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                // Log first, then announce: a test that got the address may read the log.
                log.lock().unwrap().push_str(&line);
                log.lock().unwrap().push('\n');
                if let Some(rest) = line.strip_prefix("Serving http://") {
                    let addr = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(addr.to_string());
                }
            }
        });
        let mut server = Self {
            child,
            addr: String::new(),
            stderr,
        };
        server.addr = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no address on stderr: {}", server.stderr()));
        server
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits (at most 30 s: a guard against hanging, not a timing check) for a stderr line.
    fn wait_for_stderr(&self, needle: &str) {
        for _ in 0..600 {
            if self.stderr().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no {needle:?} on stderr: {}", self.stderr());
    }

    /// Waits (at most 30 s, as a guard) for the process to end.
    fn wait_for_exit(&mut self) -> std::process::ExitStatus {
        for _ in 0..600 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not exit: {}", self.stderr());
    }

    /// A connection that has sent `bytes` and then stays open, sending nothing more.
    fn hold(&self, bytes: &[u8]) -> TcpStream {
        let mut stream = TcpStream::connect(&self.addr).expect("connect to the server");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream.write_all(bytes).unwrap();
        stream
    }

    /// The server's resident memory, from /proc.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no VmRSS in {status}"))
    }

    /// Sends one request; returns (status, headers, body).
    fn raw(&self, request: &[u8]) -> (u16, String, String) {
        let mut stream = TcpStream::connect(&self.addr).expect("connect to the server");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream.write_all(request).unwrap();
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .expect("read the response");
        let text = String::from_utf8_lossy(&response).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"));
        (status, head.to_string(), body.to_string())
    }

    fn request(&self, method: &str, target: &str, token: Option<&str>) -> (u16, String, String) {
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        self.raw(
            format!(
                "{method} {target} HTTP/1.1\r\nHost: {}\r\n{auth}Connection: close\r\n\r\n",
                self.addr
            )
            .as_bytes(),
        )
    }

    fn get(&self, target: &str) -> (u16, Value) {
        let (status, _, body) = self.request("GET", target, None);
        (status, json_of(body.as_bytes()))
    }

    fn delete(&self, target: &str, token: Option<&str>) -> (u16, Value) {
        let (status, _, body) = self.request("DELETE", target, token);
        (status, json_of(body.as_bytes()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A store with three entries of acme/app (one a hostile key), one of acme/other, two hits and
/// a miss.
fn seeded() -> TestEnv {
    let env = TestEnv::new();
    env.write("node_modules/pkg/index.js", &"x".repeat(5000));
    env.write("venv/lib.py", "print(1)\n");
    env.save("npm-Linux-abc", &["node_modules"]);
    env.save("pip-Linux-def", &["venv"]);
    env.save(XSS_KEY, &["venv"]);
    env.cmd()
        .args([
            "--repo",
            "acme/other",
            "save",
            "--key",
            "go-1",
            "--path",
            "venv",
        ])
        .assert()
        .success();
    env.restore("npm-Linux-abc", &["node_modules"], &[]);
    env.restore("npm-Linux-abc", &["node_modules"], &[]);
    env.restore("nothing", &["node_modules"], &[]);
    env
}

fn cli_json(env: &TestEnv, args: &[&str]) -> Value {
    json_of(
        &env.cmd()
            .arg("--json")
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout,
    )
}

/// The value of a response header; names compare case-insensitively, as in HTTP.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn error_of(doc: &Value) -> &str {
    doc["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {doc}"))
}

#[test]
fn list_and_stats_are_the_cli_documents() {
    let env = seeded();
    let server = Server::start(&env, &[], &[("WIT_CACHE_ADMIN_TOKEN", TOKEN)]);
    assert!(server
        .stderr()
        .contains(&format!("Serving http://{}", server.addr)));

    let (status, list) = server.get("/api/v1/caches?repo=acme%2Fapp");
    assert_eq!(status, 200);
    assert_eq!(list, cli_json(&env, &["list"]), "the API and --json agree");
    assert_eq!(list["caches"].as_array().unwrap().len(), 3);

    let (status, repo_stats) = server.get("/api/v1/stats?repo=acme/app");
    assert_eq!(status, 200);
    assert_eq!(repo_stats, cli_json(&env, &["stats"]));
    assert_eq!(repo_stats["repos"][0]["hits"], 2);
    assert_eq!(repo_stats["repos"][0]["misses"], 1);

    // Without a repo: every repo, as the CLI without WIT_REPO.
    let (_, all) = server.get("/api/v1/stats");
    assert_eq!(all["total"]["entries"], 4);
    let (_, all) = server.get("/api/v1/caches");
    assert_eq!(all["caches"].as_array().unwrap().len(), 4);

    let (_, npm) = server.get("/api/v1/caches?repo=acme/app&prefix=NPM-&sort=size");
    let keys: Vec<&str> = npm["caches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["npm-Linux-abc"]);
    let (_, by_size) = server.get("/api/v1/caches?repo=acme/app&sort=size");
    let sizes: Vec<u64> = by_size["caches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["size_bytes"].as_u64().unwrap())
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
}

#[test]
fn deleting_needs_the_admin_token() {
    let env = seeded();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    crate::util::chmod(&token_file, 0o600);
    let server = Server::start(
        &env,
        &["--admin-token-file", token_file.to_str().unwrap()],
        &[],
    );
    let target = "/api/v1/caches?repo=acme/app&key=npm-Linux-abc";

    let (status, head, body) = server.request("DELETE", target, None);
    assert_eq!(status, 401, "{body}");
    assert!(
        header(&head, "WWW-Authenticate").is_some_and(|v| v.starts_with("Bearer")),
        "{head}"
    );
    assert!(error_of(&json_of(body.as_bytes())).contains("Authorization: Bearer"));

    let (status, doc) = server.delete(target, Some("wrong-token"));
    assert_eq!(status, 403);
    assert_eq!(error_of(&doc), "the admin token is wrong");
    let (status, _) = server.delete(target, Some(&TOKEN[..TOKEN.len() - 1]));
    assert_eq!(status, 403, "a prefix of the token is wrong too");
    assert_eq!(env.count_entries(), 4, "nothing deleted without the token");

    // Keys compare case-insensitively, as everywhere.
    let (status, doc) = server.delete(
        "/api/v1/caches?repo=acme/app&key=NPM-linux-ABC",
        Some(TOKEN),
    );
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["deleted"], 1);
    assert_eq!(doc["keys"], serde_json::json!(["npm-Linux-abc"]));
    assert!(doc["freed_bytes"].as_u64().unwrap() > 0);
    assert_eq!(env.count_entries(), 3);

    let (status, doc) = server.delete(target, Some(TOKEN));
    assert_eq!(status, 404, "deleting it again: {doc}");
    assert!(error_of(&doc).contains("npm-Linux-abc"));

    // A hostile key travels percent-encoded and is deleted like any other.
    let encoded: String = form_urlencoded::byte_serialize(XSS_KEY.as_bytes()).collect();
    let (status, doc) = server.delete(
        &format!("/api/v1/caches?repo=acme/app&key={encoded}"),
        Some(TOKEN),
    );
    assert_eq!((status, doc["deleted"].clone()), (200, 1.into()), "{doc}");

    // Clear all: the rest of acme/app, nothing of acme/other.
    let (status, doc) = server.delete("/api/v1/caches?repo=acme/app", Some(TOKEN));
    assert_eq!(status, 200);
    assert_eq!(doc["deleted"], 1);
    let (status, list) = server.get("/api/v1/caches?repo=acme/app");
    assert_eq!(status, 200, "a repo with restore history stays known");
    assert_eq!(list["caches"], serde_json::json!([]));
    assert_eq!(env.count_entries(), 1);
    assert!(
        env.archives().len() == 1,
        "archives are deleted with their rows"
    );
    let (_, doc) = server.delete("/api/v1/caches?repo=acme/app", Some(TOKEN));
    assert_eq!(doc["deleted"], 0, "clearing an empty repo deletes nothing");
}

#[test]
fn without_a_token_nothing_can_be_deleted() {
    let env = seeded();
    let server = Server::start(&env, &[], &[]);
    assert!(
        server.stderr().contains("no admin token"),
        "{}",
        server.stderr()
    );
    for token in [None, Some("anything")] {
        let (status, doc) = server.delete("/api/v1/caches?repo=acme/app", token);
        assert_eq!(status, 403);
        assert!(error_of(&doc).contains("without an admin token"), "{doc}");
    }
    assert_eq!(env.count_entries(), 4);
    let (status, _) = server.get("/api/v1/caches?repo=acme/app");
    assert_eq!(status, 200, "reading stays open");
}

#[test]
fn bad_requests_name_the_parameter_and_unknown_things_are_404() {
    let env = seeded();
    let server = Server::start(&env, &[], &[("WIT_CACHE_ADMIN_TOKEN", TOKEN)]);
    let cases: &[(&str, &str, u16, &str)] = &[
        (
            "GET",
            "/api/v1/caches?repo=acme/app&sort=newest",
            400,
            "'sort'",
        ),
        (
            "GET",
            "/api/v1/caches?repo=acme/app&limit=ten",
            400,
            "'limit'",
        ),
        (
            "GET",
            "/api/v1/caches?repo=acme/app&colour=red",
            400,
            "'colour'",
        ),
        (
            "GET",
            "/api/v1/caches?repo=a&repo=b",
            400,
            "'repo' is given more than once",
        ),
        ("GET", "/api/v1/caches?repo=", 400, "parameter 'repo'"),
        (
            "GET",
            "/api/v1/stats?since=forever",
            400,
            "parameter 'since'",
        ),
        (
            "DELETE",
            "/api/v1/caches?key=npm-Linux-abc",
            400,
            "missing parameter 'repo'",
        ),
        (
            "DELETE",
            "/api/v1/caches?repo=acme/app&key=a%2Cb",
            400,
            "parameter 'key'",
        ),
        (
            "DELETE",
            "/api/v1/caches?repo=acme/app&key=",
            400,
            "parameter 'key'",
        ),
        (
            "GET",
            "/api/v1/caches?repo=nobody/nothing",
            404,
            "unknown repo 'nobody/nothing'",
        ),
        (
            "GET",
            "/api/v1/stats?repo=nobody/nothing",
            404,
            "unknown repo",
        ),
        (
            "DELETE",
            "/api/v1/caches?repo=nobody/nothing",
            404,
            "unknown repo",
        ),
        (
            "DELETE",
            "/api/v1/caches?repo=acme/app&key=nope",
            404,
            "'nope'",
        ),
        (
            "GET",
            "/api/v1/nothing-here",
            404,
            "no API at /api/v1/nothing-here",
        ),
        (
            "POST",
            "/api/v1/caches?repo=acme/app",
            405,
            "allowed: GET, HEAD, DELETE",
        ),
        ("PUT", "/api/v1/stats", 405, "allowed: GET, HEAD"),
    ];
    for (method, target, want, needle) in cases {
        let (status, _, body) = server.request(method, target, Some(TOKEN));
        assert_eq!(status, *want, "{method} {target}: {body}");
        let doc = json_of(body.as_bytes());
        assert!(
            error_of(&doc).contains(needle),
            "{method} {target}: {doc} should mention {needle}"
        );
    }
    let (status, _, body) = server.request("GET", "/no/such/page", None);
    assert_eq!(status, 404);
    assert!(body.contains("There is no page at this address"));
    assert_eq!(env.count_entries(), 4);
}

#[test]
fn survives_malformed_input() {
    let env = seeded();
    let server = Server::start(&env, &[], &[]);
    let long = format!(
        "GET /api/v1/caches?repo={} HTTP/1.1\r\n\r\n",
        "a".repeat(100_000)
    );
    let junk: Vec<Vec<u8>> = vec![
        b"GARBAGE\r\n\r\n".to_vec(),
        b"\x00\xff\xfe\r\n\r\n".to_vec(),
        b"GET /api/v1/caches?repo=%ff%fe%zz% HTTP/1.1\r\nConnection: close\r\n\r\n".to_vec(),
        b"GET /repo?repo=%00 HTTP/1.1\r\nConnection: close\r\n\r\n".to_vec(),
        b"DELETE /api/v1/caches?repo=acme/app HTTP/1.1\r\nAuthorization: Bearer\xff\xfe\r\nConnection: close\r\n\r\n".to_vec(),
        long.into_bytes(),
    ];
    for request in &junk {
        // Any answer (or a closed connection) is fine; the server must live on.
        let mut stream = TcpStream::connect(&server.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let _ = stream.write_all(request);
        let _ = stream.read_to_end(&mut Vec::new());
    }
    let (status, _) = server.get("/api/v1/caches?repo=acme/app");
    assert_eq!(status, 200, "still serving: {}", server.stderr());
    assert_eq!(env.count_entries(), 4);
}

#[test]
fn metrics_and_pages() {
    let env = seeded();
    let server = Server::start(&env, &[], &[("WIT_CACHE_ADMIN_TOKEN", TOKEN)]);
    let (status, head, body) = server.request("GET", "/metrics", None);
    assert_eq!(status, 200);
    assert!(
        header(&head, "Content-Type").is_some_and(|v| v.starts_with("text/plain; version=0.0.4")),
        "{head}"
    );
    let cli = env
        .cmd()
        .args(["stats", "--format", "prometheus"])
        .env_remove("WIT_REPO")
        .assert()
        .success();
    assert_eq!(body, String::from_utf8_lossy(&cli.get_output().stdout));
    assert!(
        body.contains("wit_cache_entries{repo=\"acme/app\"} 3"),
        "{body}"
    );

    let (status, head, page) = server.request("GET", "/", None);
    assert_eq!(status, 200);
    assert_eq!(
        header(&head, "Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert!(
        header(&head, "Content-Security-Policy")
            .is_some_and(|v| v.starts_with("default-src 'none'")),
        "{head}"
    );
    assert!(page.contains(r#"href="/repo?repo=acme%2Fapp""#), "{page}");

    let (status, _, page) = server.request("GET", "/repo?repo=acme%2Fapp", None);
    assert_eq!(status, 200);
    for text in [
        "Cache Storage",
        "Cached Dependencies",
        "Clear All",
        "npm-Linux-abc",
        "Used 2 times",
    ] {
        assert!(page.contains(text), "the repo page shows {text}");
    }
    assert!(!page.contains("<img"), "keys are escaped");
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));

    let (status, _, page) = server.request("GET", "/repo?repo=nobody", None);
    assert_eq!(status, 404);
    assert!(page.contains("unknown repo"));
    let (status, _, _) = server.request("GET", "/repo", None);
    assert_eq!(status, 400);
    for asset in ["/assets/app.js", "/assets/style.css"] {
        let (status, _, body) = server.request("GET", asset, None);
        assert_eq!((status, body.is_empty()), (200, false), "{asset}");
    }
}

#[test]
fn stops_cleanly_on_sigterm() {
    let env = seeded();
    let mut server = Server::start(&env, &[], &[]);
    let (status, _) = server.get("/api/v1/stats");
    assert_eq!(status, 200);
    let pid = server.child.id().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    let mut exited = None;
    for _ in 0..100 {
        if let Some(s) = server.child.try_wait().unwrap() {
            exited = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = exited.expect("the server exits within 5 s of SIGTERM");
    assert!(status.success(), "{status:?}: {}", server.stderr());
    std::thread::sleep(Duration::from_millis(100));
    assert!(server.stderr().contains("Stopped"), "{}", server.stderr());
}

#[test]
fn a_busy_port_is_a_clear_error() {
    let env = TestEnv::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    env.cmd()
        .args(["serve", "--listen", &addr])
        .timeout(Duration::from_secs(30))
        .assert()
        .code(1)
        .stderr(predicates::str::contains(format!(
            "cannot listen on {addr}"
        )));
    env.cmd()
        .args(["serve", "--listen", "localhost"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--listen"));
}

/// DNS rebinding: a page on another site whose name now resolves to 127.0.0.1 sends its own
/// name as Host; a loopback server answers only loopback names.
#[test]
fn foreign_host_names_are_refused_on_loopback() {
    let env = seeded();
    let server = Server::start(&env, &[], &[("WIT_CACHE_ADMIN_TOKEN", TOKEN)]);
    let (status, _, body) = server.raw(b"GET /api/v1/caches?repo=acme%2Fapp HTTP/1.1\r\nHost: evil.example:8080\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 403);
    assert!(
        error_of(&json_of(body.as_bytes())).contains("DNS rebinding"),
        "{body}"
    );
    let (status, _, _) = server.raw(b"GET /api/v1/caches?repo=acme%2Fapp HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 200);
}

/// Sends `request` on a fresh connection as a hostile client would, and returns the status of
/// the answer, or `None` when the server closed the connection without one (it may also reset
/// it while the client is still writing). Hanging is the failure: reads give up after 30 s.
fn attempt(addr: &str, request: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).expect("connect to the server");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let _ = stream.write_all(request);
    let mut response = Vec::new();
    if let Err(err) = stream.read_to_end(&mut response) {
        assert!(
            !matches!(
                err.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "the server held the connection for 30 s without answering or closing it"
        );
    }
    let text = String::from_utf8_lossy(&response);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
}

/// Reads an interim `100 Continue`: the server has the request and its handler waits for the
/// body, so the request is in flight.
fn read_continue(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).expect("an interim answer");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 100 Continue"), "{head}");
}

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::new(), |mut hex, b| {
            hex.push_str(&format!("{b:02x}"));
            hex
        })
}

/// Slow clients cost one connection each: many that announce a body and never send it, or
/// never finish their headers, do not keep the server from answering others. The timeouts are
/// set far beyond the test's 30 s guard, so the answer cannot come from them running out.
#[test]
fn slow_clients_do_not_hold_the_server() {
    let env = seeded();
    let server = Server::start(
        &env,
        &[],
        &[
            ("WIT_CACHE_ADMIN_TOKEN", TOKEN),
            ("WIT_CACHE_SERVE_HEADER_TIMEOUT", "10m"),
            ("WIT_CACHE_SERVE_BODY_TIMEOUT", "10m"),
        ],
    );
    let body_never_sent = format!(
        "DELETE /api/v1/caches?repo=acme/app HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 2000\r\n\r\n",
        server.addr
    );
    let head_never_finished = format!(
        "GET /api/v1/stats HTTP/1.1\r\nHost: {}\r\nX-Slow: ",
        server.addr
    );
    // Far more than the handler threads (4), which must not be what a slow client holds.
    let held: Vec<TcpStream> = (0..17)
        .map(|i| {
            let request = if i % 2 == 0 {
                &body_never_sent
            } else {
                &head_never_finished
            };
            server.hold(request.as_bytes())
        })
        .collect();
    let (status, doc) = server.get("/api/v1/stats");
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["total"]["entries"], 4);
    // A request is handled only once it is complete: the DELETEs without their body did nothing.
    assert_eq!(env.count_entries(), 4);
    drop(held);
    let (status, _) = server.get("/api/v1/caches?repo=acme/app");
    assert_eq!(status, 200);
}

/// At the connection cap the server accepts no more until a connection ends: slow clients are
/// cut off by the body timeout (408), and the client that waited is served after them.
#[test]
fn at_the_connection_cap_clients_wait_for_a_slot() {
    let env = seeded();
    let server = Server::start(
        &env,
        &[],
        &[
            ("WIT_CACHE_SERVE_MAX_CONNECTIONS", "4"),
            ("WIT_CACHE_SERVE_BODY_TIMEOUT", "1s"),
        ],
    );
    let slow = format!(
        "GET /api/v1/stats HTTP/1.1\r\nHost: {}\r\nContent-Length: 2000\r\n\r\n",
        server.addr
    );
    let held: Vec<TcpStream> = (0..5).map(|_| server.hold(slow.as_bytes())).collect();
    let (status, doc) = server.get("/api/v1/stats");
    assert_eq!(status, 200, "{doc}");
    for mut stream in held {
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .expect("the server answers and closes");
        let text = String::from_utf8_lossy(&response);
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        assert!(text.contains("did not arrive within 1 s"), "{text}");
        assert!(
            header(&text, "Connection").is_some_and(|v| v.eq_ignore_ascii_case("close")),
            "{text}"
        );
    }
}

/// Lengths a client announces are numbers to check, never sizes to allocate: huge, overflowing,
/// malformed and conflicting ones, oversized bodies and heads are refused (4xx, or the
/// connection closed), memory stays flat, and the server goes on answering.
#[test]
fn hostile_lengths_are_refused_and_memory_stays_flat() {
    let env = seeded();
    let server = Server::start(&env, &[], &[("WIT_CACHE_ADMIN_TOKEN", TOKEN)]);
    let (status, _) = server.get("/api/v1/caches?repo=acme/app");
    assert_eq!(status, 200);
    let before = server.rss_kib();
    let host = server.addr.clone();
    // GET, which answers 200 when it gets through: any other answer is the length's refusal.
    let with = |headers: &str, body: &str| {
        format!("GET /api/v1/stats HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n\r\n{body}")
            .into_bytes()
    };
    let mut cases: Vec<(String, Vec<u8>, Option<u16>)> = Vec::new();
    for (length, want) in [
        ("4611686018427387904", Some(413)), // 2^62
        ("1000000000000", Some(413)),       // 10^12
        ("18446744073709551615", None),     // 2^64 - 1
        ("18446744073709551616", None),     // 2^64
        ("99999999999999999999999999999", None),
        ("-1", None),
        ("12abc", None),
        ("0x10", None),
        ("1, 2", None),
        ("", None),
    ] {
        cases.push((
            format!("Content-Length: {length}"),
            with(&format!("Content-Length: {length}"), ""),
            want,
        ));
    }
    cases.push((
        "two different Content-Lengths".into(),
        with("Content-Length: 5\r\nContent-Length: 6", "hello!"),
        None,
    ));
    cases.push((
        "a chunk of 2^63 - 1 bytes".into(),
        with(
            "Transfer-Encoding: chunked",
            &format!("7fffffffffffffff\r\n{}", "a".repeat(20_000)),
        ),
        None,
    ));
    cases.push((
        "a body over the limit".into(),
        with("Content-Length: 20000", &"a".repeat(20_000)),
        None,
    ));
    cases.push((
        "a 1 MiB header".into(),
        with(&format!("X-Big: {}", "a".repeat(1 << 20)), ""),
        None,
    ));
    let many = "X-Many: v\r\n".repeat(500);
    cases.push(("500 headers".into(), with(many.trim_end(), ""), None));
    for _round in 0..3 {
        for (what, request, want) in &cases {
            let status = attempt(&server.addr, request);
            match want {
                Some(want) => assert_eq!(status, Some(*want), "{what}"),
                None => assert!(
                    status.is_none_or(|s| (400..500).contains(&s)),
                    "{what}: answered {status:?}"
                ),
            }
        }
    }
    let after = server.rss_kib();
    assert!(
        after < before + 64 * 1024,
        "resident memory grew from {before} KiB to {after} KiB"
    );
    let (status, doc) = server.get("/api/v1/stats");
    assert_eq!(status, 200, "still serving: {}", server.stderr());
    assert_eq!(doc["total"]["entries"], 4);
    // A small body is read and dropped, and the request answered as usual.
    let (status, _, body) = server.raw(
        format!(
            "GET /api/v1/stats HTTP/1.1\r\nHost: {}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}",
            server.addr
        )
        .as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
}

/// A client that sends its headers a byte a second is cut off by the header timeout (here
/// 1 s), long before it is done; the server then answers others as usual.
#[test]
fn headers_sent_a_byte_a_second_are_cut_off() {
    use std::sync::atomic::{AtomicBool, Ordering};

    let env = seeded();
    let server = Server::start(&env, &[], &[("WIT_CACHE_SERVE_HEADER_TIMEOUT", "1s")]);
    let request = format!(
        "GET /api/v1/stats HTTP/1.1\r\nHost: {}\r\nX-Pad: {}\r\n\r\n",
        server.addr,
        "a".repeat(30)
    );
    let mut writer = TcpStream::connect(&server.addr).unwrap();
    let mut reader = writer.try_clone().unwrap();
    let closed = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&closed);
    let watcher = std::thread::spawn(move || {
        // Blocks until the server closes the connection (or answers and closes it).
        let mut response = Vec::new();
        let _ = reader.read_to_end(&mut response);
        seen.store(true, Ordering::SeqCst);
        response
    });
    let mut sent = 0;
    for byte in request.bytes() {
        if closed.load(Ordering::SeqCst) || writer.write_all(&[byte]).is_err() {
            break;
        }
        sent += 1;
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(
        sent < request.len(),
        "the server waited for all {sent} bytes of a request sent a byte a second"
    );
    let response = watcher.join().unwrap();
    let text = String::from_utf8_lossy(&response);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "cut off without an answer, or with 408: {text}"
    );
    let (status, _) = server.get("/api/v1/stats");
    assert_eq!(status, 200);
}

/// A client that stops reading its answers is disconnected once its writes have made no
/// progress for the write timeout (here 1 s), instead of holding its connection for ever.
/// Pipelined requests for far more bytes than the socket buffers hold make the writes stall.
#[test]
fn a_client_that_stops_reading_is_disconnected() {
    let env = seeded();
    let server = Server::start(&env, &["-v"], &[("WIT_CACHE_SERVE_WRITE_TIMEOUT", "1s")]);
    let one = format!(
        "GET /assets/app.js HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.addr
    );
    let requests = 3000; // about 40 MB of answers
    let mut stream = server.hold(one.repeat(requests).as_bytes());
    server.wait_for_stderr("read nothing of its answer for 1 s");
    let mut answers = Vec::new();
    let _ = stream.read_to_end(&mut answers);
    let delivered = String::from_utf8_lossy(&answers)
        .matches("HTTP/1.1 200")
        .count();
    assert!(delivered < requests, "all {requests} answers were written");
    let (status, _) = server.get("/api/v1/stats");
    assert_eq!(status, 200);
}

/// SIGTERM with a request in flight: no new connections, that request still gets its answer,
/// then the process exits 0.
#[test]
fn sigterm_answers_the_request_in_flight_then_exits_0() {
    let env = seeded();
    let mut server = Server::start(&env, &[], &[]);
    let mut stream = server.hold(
        format!(
            "GET /api/v1/stats HTTP/1.1\r\nHost: {}\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
            server.addr
        )
        .as_bytes(),
    );
    read_continue(&mut stream);
    server.signal("TERM");
    server.wait_for_stderr("Stopping");
    assert!(
        TcpStream::connect(&server.addr).is_err(),
        "a stopping server accepts no new connections"
    );
    stream.write_all(b"hello").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    assert_eq!(json_of(body.as_bytes())["total"]["entries"], 4);
    let status = server.wait_for_exit();
    assert_eq!(status.code(), Some(0), "{}", server.stderr());
    server.wait_for_stderr("Stopped");
}

/// A second signal does not wait for the requests in flight: the process ends at once (130).
#[test]
fn a_second_signal_exits_at_once() {
    let env = seeded();
    let mut server = Server::start(&env, &[], &[("WIT_CACHE_SERVE_BODY_TIMEOUT", "10m")]);
    let mut stream = server.hold(
        format!(
            "GET /api/v1/stats HTTP/1.1\r\nHost: {}\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
            server.addr
        )
        .as_bytes(),
    );
    read_continue(&mut stream);
    server.signal("TERM");
    server.wait_for_stderr("Stopping");
    server.signal("INT");
    let status = server.wait_for_exit();
    assert_eq!(status.code(), Some(130), "{}", server.stderr());
}

#[test]
fn head_answers_headers_without_a_body_and_405_says_allow() {
    let env = seeded();
    let server = Server::start(&env, &[], &[]);
    let (status, head, body) = server.request("HEAD", "/api/v1/stats", None);
    assert_eq!(status, 200);
    assert!(body.is_empty(), "{body}");
    let (_, _, get_body) = server.request("GET", "/api/v1/stats", None);
    assert_eq!(
        header(&head, "Content-Length"),
        Some(get_body.len().to_string().as_str())
    );
    assert_eq!(header(&head, "Content-Type"), Some("application/json"));
    let (status, head, _) = server.request("PUT", "/api/v1/caches?repo=acme/app", None);
    assert_eq!(status, 405);
    assert_eq!(header(&head, "Allow"), Some("GET, HEAD, DELETE"));
    let (status, head, _) = server.request("POST", "/", None);
    assert_eq!(status, 405);
    assert_eq!(header(&head, "Allow"), Some("GET, HEAD"));
    for name in ["X-Content-Type-Options", "Referrer-Policy", "Cache-Control"] {
        assert!(
            header(&head, name).is_some(),
            "{name} on every answer: {head}"
        );
    }
}

/// `limit` out of range is the client's mistake, named as such, in the API and on the CLI.
#[test]
fn out_of_range_limits_are_400_in_the_api_and_usage_errors_on_the_cli() {
    let env = seeded();
    let server = Server::start(&env, &[], &[]);
    for bad in [
        "9223372036854775808",
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999999999",
        "-1",
        "1e3",
        "1.5",
        "",
    ] {
        let encoded: String = form_urlencoded::byte_serialize(bad.as_bytes()).collect();
        let (status, doc) = server.get(&format!("/api/v1/caches?repo=acme/app&limit={encoded}"));
        assert_eq!(status, 400, "limit={bad}: {doc}");
        let error = error_of(&doc);
        assert!(
            error.contains("parameter 'limit'") && error.contains("from 0 to 9223372036854775807"),
            "limit={bad}: {error}"
        );
    }
    let (status, doc) = server.get("/api/v1/caches?repo=acme/app&limit=9223372036854775807");
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["caches"].as_array().unwrap().len(), 3);
    let (status, doc) = server.get("/api/v1/caches?repo=acme/app&limit=1");
    assert_eq!((status, doc["caches"].as_array().unwrap().len()), (200, 1));

    for bad in ["9223372036854775808", "18446744073709551616", "-1"] {
        env.cmd()
            .args(["list", "--limit", bad])
            .assert()
            .code(2)
            .stderr(predicates::str::contains("--limit"));
    }
    env.cmd()
        .args(["list", "--limit", "9223372036854775807"])
        .assert()
        .success();
}

/// Repository tokens: each deletes in the repos its glob matches (`*` within one segment), a
/// 403 elsewhere; the admin token still deletes everywhere.
#[test]
fn repository_tokens_delete_only_in_their_repos() {
    let env = seeded();
    for (repo, key) in [
        ("widgets/ui", "ui-1"),
        ("acme-corp/web", "web-1"),
        ("acme/app/docs", "docs-1"),
    ] {
        env.cmd()
            .args(["--repo", repo, "save", "--key", key, "--path", "venv"])
            .assert()
            .success();
    }
    let dir = tempfile::tempdir().unwrap();
    let tokens_file = dir.path().join("tokens");
    std::fs::write(
        &tokens_file,
        format!(
            "# CI bots, by repo\n\nacme/*   {}\n  widgets/ui {}   # the UI team\n",
            sha256_hex("acme-bot-token"),
            sha256_hex("ui-team-token")
        ),
    )
    .unwrap();
    let server = Server::start(
        &env,
        &["--tokens-file", tokens_file.to_str().unwrap()],
        &[("WIT_CACHE_ADMIN_TOKEN", TOKEN)],
    );

    let (status, doc) = server.delete(
        "/api/v1/caches?repo=acme/app&key=npm-Linux-abc",
        Some("acme-bot-token"),
    );
    assert_eq!((status, doc["deleted"].clone()), (200, 1.into()), "{doc}");
    for (repo, token) in [
        ("widgets/ui", "acme-bot-token"),
        ("acme-corp/web", "acme-bot-token"),
        ("acme/app/docs", "acme-bot-token"),
        ("acme/app", "ui-team-token"),
    ] {
        let (status, doc) = server.delete(&format!("/api/v1/caches?repo={repo}"), Some(token));
        assert_eq!(status, 403, "{token} on {repo}: {doc}");
        assert!(
            error_of(&doc).contains(&format!("may not delete caches of repo '{repo}'")),
            "{doc}"
        );
        assert_eq!(doc["denied"], "other-repo");
    }
    // A repo the glob matches but the store does not know is a 404 for that token only.
    let (status, _) = server.delete("/api/v1/caches?repo=acme/nothing", Some("acme-bot-token"));
    assert_eq!(status, 404);
    let (status, _) = server.delete("/api/v1/caches?repo=acme/nothing", Some("ui-team-token"));
    assert_eq!(status, 403);
    // The digest in the file is not a credential; neither is a wrong token.
    for token in [sha256_hex("acme-bot-token").as_str(), "acme-bot-tokenX"] {
        let (status, doc) = server.delete("/api/v1/caches?repo=acme/app", Some(token));
        assert_eq!((status, error_of(&doc)), (403, "the admin token is wrong"));
        assert_eq!(doc["denied"], "wrong");
    }
    let (status, _) = server.delete("/api/v1/caches?repo=acme/app", None);
    assert_eq!(status, 401);
    assert_eq!(env.count_entries(), 6, "only the one entry was deleted");

    let (status, doc) = server.delete("/api/v1/caches?repo=widgets/ui", Some("ui-team-token"));
    assert_eq!((status, doc["deleted"].clone()), (200, 1.into()), "{doc}");
    let (status, doc) = server.delete("/api/v1/caches?repo=acme/other", Some("acme-bot-token"));
    assert_eq!((status, doc["deleted"].clone()), (200, 1.into()), "{doc}");
    let (status, doc) = server.delete("/api/v1/caches?repo=acme-corp/web", Some(TOKEN));
    assert_eq!((status, doc["deleted"].clone()), (200, 1.into()), "{doc}");
    assert_eq!(env.count_entries(), 3);

    // Repository tokens alone turn deleting on, for their repos only.
    drop(server);
    let server = Server::start(&env, &["--tokens-file", tokens_file.to_str().unwrap()], &[]);
    assert!(
        !server.stderr().contains("no admin token"),
        "{}",
        server.stderr()
    );
    let (status, _) = server.delete("/api/v1/caches?repo=acme/app/docs", Some("acme-bot-token"));
    assert_eq!(status, 403);
    let (status, doc) = server.delete(
        "/api/v1/caches?repo=acme/app&key=pip-Linux-def",
        Some("acme-bot-token"),
    );
    assert_eq!(status, 200, "{doc}");
    let (status, doc) = server.delete("/api/v1/caches?repo=acme/app", Some(TOKEN));
    assert_eq!((status, error_of(&doc)), (403, "the admin token is wrong"));
    let (_, _, page) = server.request("GET", "/repo?repo=acme%2Fapp", None);
    assert!(page.contains("a token for this repository"), "{page}");
}

#[test]
fn a_malformed_tokens_file_is_a_usage_error_naming_the_line() {
    let env = TestEnv::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens");
    let good = sha256_hex("t");
    let cases = [
        (
            format!("acme/* {good}\nwidgets/ui\n"),
            "line 2: 'widgets/ui' is one field",
        ),
        (format!("# c\n\nacme/* {good} extra\n"), "line 3: 3 fields"),
        (format!("acme/* {}\n", &good[..40]), "line 1: '"),
        (
            format!("acme/* {}\n", good.to_uppercase()),
            "64 lowercase hex digits",
        ),
        (
            "acme/* my-plain-secret-token\n".to_string(),
            "never the tokens themselves",
        ),
        (format!("acme/** {good}\n"), "contains '**'"),
    ];
    for (text, needle) in cases {
        std::fs::write(&file, &text).unwrap();
        env.cmd()
            .args(["serve", "--listen", "127.0.0.1:0", "--tokens-file"])
            .arg(&file)
            .timeout(Duration::from_secs(30))
            .assert()
            .code(2)
            .stderr(predicates::str::contains(format!(
                "--tokens-file {}",
                file.display()
            )))
            .stderr(predicates::str::contains(needle));
    }
    env.cmd()
        .args(["serve", "--listen", "127.0.0.1:0", "--tokens-file"])
        .arg(dir.path().join("missing"))
        .timeout(Duration::from_secs(30))
        .assert()
        .code(1)
        .stderr(predicates::str::contains("cannot read --tokens-file"));
    for (name, value) in [
        ("WIT_CACHE_SERVE_HEADER_TIMEOUT", "0s"),
        ("WIT_CACHE_SERVE_BODY_TIMEOUT", "soon"),
        ("WIT_CACHE_SERVE_MAX_CONNECTIONS", "0"),
        ("WIT_CACHE_SERVE_MAX_CONNECTIONS", "-3"),
    ] {
        env.cmd()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env(name, value)
            .timeout(Duration::from_secs(30))
            .assert()
            .code(2)
            .stderr(predicates::str::contains(name));
    }
}

/// The keys of a `caches` document, in order, with their scopes.
fn keys_and_scopes(doc: &Value) -> Vec<(String, Option<String>)> {
    doc["caches"]
        .as_array()
        .unwrap_or_else(|| panic!("no caches in {doc}"))
        .iter()
        .map(|c| {
            (
                c["key"].as_str().unwrap().to_string(),
                c["scope"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// The id and version of the one entry of acme/app with this key and scope.
fn entry_of(server: &Server, key: &str, scope: Option<&str>) -> (i64, String) {
    let (status, doc) = server.get("/api/v1/caches?repo=acme/app");
    assert_eq!(status, 200);
    let found: Vec<&Value> = doc["caches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["key"] == key && c["scope"].as_str() == scope)
        .collect();
    assert_eq!(found.len(), 1, "{key} {scope:?} in {doc}");
    (
        found[0]["id"].as_i64().unwrap(),
        found[0]["version"].as_str().unwrap().to_string(),
    )
}

fn save_in(env: &TestEnv, key: &str, path: &str, scope: Option<&str>) {
    let mut cmd = env.cmd();
    cmd.args(["save", "--key", key, "--path", path]);
    if let Some(s) = scope {
        cmd.args(["--scope", s]);
    }
    cmd.assert().success();
}

/// A key saved in several scopes is several entries: a DELETE names one scope (none: the
/// unscoped entry) or, with all_scopes=true, every one; a 404 says where the key is instead.
#[test]
fn deleting_a_key_deletes_it_in_one_scope_unless_asked_for_all() {
    let env = seeded();
    save_in(&env, "npm-Linux-abc", "node_modules", Some("main"));
    save_in(&env, "npm-Linux-abc", "node_modules", Some("feature/x"));
    let server = Server::start(&env, &[], &[("WIT_CACHE_ADMIN_TOKEN", TOKEN)]);
    let npm = |server: &Server| {
        let (_, doc) = server.get("/api/v1/caches?repo=acme/app&key=npm-linux-ABC&sort=created");
        let mut scopes: Vec<Option<String>> =
            keys_and_scopes(&doc).into_iter().map(|(_, s)| s).collect();
        scopes.sort();
        scopes
    };
    let some = |s: &str| Some(s.to_string());
    assert_eq!(npm(&server), [None, some("feature/x"), some("main")]);

    let (status, doc) = server.delete(
        "/api/v1/caches?repo=acme/app&key=npm-Linux-abc&scope=main",
        Some(TOKEN),
    );
    assert_eq!((status, doc["deleted"].clone()), (200, 1.into()), "{doc}");
    assert_eq!(doc["keys"], serde_json::json!(["npm-Linux-abc"]));
    assert_eq!(npm(&server), [None, some("feature/x")]);

    let (status, doc) = server.delete(
        "/api/v1/caches?repo=acme/app&key=npm-Linux-abc&scope=main",
        Some(TOKEN),
    );
    assert_eq!(status, 404, "{doc}");
    let message = error_of(&doc);
    assert!(
        message.starts_with("no cache with key 'npm-Linux-abc' in scope 'main' in repo acme/app"),
        "{message}"
    );
    assert!(
        message.contains("it is in scopes 'feature/x', (no scope)"),
        "{message}"
    );

    // No scope parameter: the unscoped entry, and only it.
    let (status, doc) = server.delete(
        "/api/v1/caches?repo=acme/app&key=npm-Linux-abc",
        Some(TOKEN),
    );
    assert_eq!((status, doc["deleted"].clone()), (200, 1.into()), "{doc}");
    assert_eq!(npm(&server), [some("feature/x")]);
    let (status, doc) = server.delete(
        "/api/v1/caches?repo=acme/app&key=npm-Linux-abc",
        Some(TOKEN),
    );
    assert_eq!(status, 404);
    let message = error_of(&doc);
    assert!(
        message.starts_with("no unscoped cache with key 'npm-Linux-abc'"),
        "{message}"
    );
    assert!(message.contains("it is in scope 'feature/x'"), "{message}");
    assert!(message.contains("all_scopes=true"), "{message}");

    // A version narrows to one path list: another one is a 404 that deletes nothing.
    let (_, version) = entry_of(&server, "npm-Linux-abc", Some("feature/x"));
    let other = "0".repeat(64);
    let (status, _) = server.delete(
        &format!(
            "/api/v1/caches?repo=acme/app&key=npm-Linux-abc&scope=feature%2Fx&version={other}"
        ),
        Some(TOKEN),
    );
    assert_eq!(status, 404);
    assert_eq!(npm(&server), [some("feature/x")]);

    // all_scopes=true: every scope, as the request without scope used to.
    save_in(&env, "npm-Linux-abc", "node_modules", None);
    save_in(&env, "npm-Linux-abc", "node_modules", Some("main"));
    assert_eq!(npm(&server), [None, some("feature/x"), some("main")]);
    let before = env.count_entries();
    let (status, doc) = server.delete(
        &format!(
            "/api/v1/caches?repo=acme/app&key=npm-Linux-abc&all_scopes=true&version={version}"
        ),
        Some(TOKEN),
    );
    assert_eq!((status, doc["deleted"].clone()), (200, 3.into()), "{doc}");
    assert_eq!(env.count_entries(), before - 3);
    assert_eq!(npm(&server), Vec::<Option<String>>::new());
    let (status, _) = server.get("/api/v1/caches?repo=acme/app&key=pip-Linux-def");
    assert_eq!(status, 200);
    let (_, other) = server.get("/api/v1/caches?repo=acme/other");
    assert_eq!(keys_and_scopes(&other), [("go-1".to_string(), None)]);
}

/// An id names exactly one entry of the repo in the request; key, scope and version with it
/// are checks. An id of another repo is a 404 there, and a repository token is refused on a
/// repo it does not cover before any id is looked at.
#[test]
fn deleting_by_id_deletes_exactly_that_entry() {
    let env = seeded();
    save_in(&env, "pip-Linux-def", "venv", Some("main"));
    env.cmd()
        .args([
            "--repo",
            "widgets/ui",
            "save",
            "--key",
            "ui-1",
            "--path",
            "venv",
        ])
        .assert()
        .success();
    let dir = tempfile::tempdir().unwrap();
    let tokens_file = dir.path().join("tokens");
    std::fs::write(
        &tokens_file,
        format!("widgets/* {}\n", sha256_hex("widgets-bot")),
    )
    .unwrap();
    let server = Server::start(
        &env,
        &["--tokens-file", tokens_file.to_str().unwrap()],
        &[("WIT_CACHE_ADMIN_TOKEN", TOKEN)],
    );
    let (id, version) = entry_of(&server, "pip-Linux-def", Some("main"));
    let (unscoped, _) = entry_of(&server, "pip-Linux-def", None);
    let before = env.count_entries();

    // A repository token for other repos: 401/403 whichever way the id is named.
    let target = format!("/api/v1/caches?repo=acme/app&id={id}");
    assert_eq!(server.delete(&target, None).0, 401);
    let (status, doc) = server.delete(&target, Some("widgets-bot"));
    assert_eq!(
        (status, doc["denied"].clone()),
        (403, "other-repo".into()),
        "{doc}"
    );
    // Naming a repo the token covers does not reach another repo's entry.
    let (status, doc) = server.delete(
        &format!("/api/v1/caches?repo=widgets/ui&id={id}"),
        Some("widgets-bot"),
    );
    assert_eq!(status, 404, "{doc}");
    assert_eq!(
        error_of(&doc),
        format!("no cache with id {id} in repo widgets/ui")
    );
    let (status, _) = server.delete(
        &format!("/api/v1/caches?repo=acme/other&id={id}"),
        Some(TOKEN),
    );
    assert_eq!(status, 404);
    // Checks that do not hold: nothing is deleted.
    for checks in [
        "&key=npm-Linux-abc".to_string(),
        "&scope=feature".to_string(),
        format!("&version={}", "f".repeat(64)),
    ] {
        let (status, doc) = server.delete(&format!("{target}{checks}"), Some(TOKEN));
        assert_eq!(status, 404, "{checks}: {doc}");
        assert!(
            error_of(&doc).contains(&format!("no cache with id {id}")),
            "{doc}"
        );
    }
    assert_eq!(env.count_entries(), before);

    let (status, doc) = server.delete(
        &format!("{target}&key=PIP-linux-def&scope=main&version={version}"),
        Some(TOKEN),
    );
    assert_eq!((status, doc["deleted"].clone()), (200, 1.into()), "{doc}");
    assert_eq!(doc["keys"], serde_json::json!(["pip-Linux-def"]));
    assert_eq!(env.count_entries(), before - 1);
    let (status, _) = server.delete(&target, Some(TOKEN));
    assert_eq!(status, 404, "deleting it again");
    // The same key in no scope is still there, and its id deletes it.
    assert_eq!(entry_of(&server, "pip-Linux-def", None).0, unscoped);
    let (status, doc) = server.delete(
        &format!("/api/v1/caches?repo=acme/app&id={unscoped}"),
        Some(TOKEN),
    );
    assert_eq!((status, doc["deleted"].clone()), (200, 1.into()), "{doc}");
    // The repository token deletes by id in its own repo.
    let (_, doc) = server.get("/api/v1/caches?repo=widgets/ui");
    let ui = doc["caches"][0]["id"].as_i64().unwrap();
    let (status, doc) = server.delete(
        &format!("/api/v1/caches?repo=widgets/ui&id={ui}"),
        Some("widgets-bot"),
    );
    assert_eq!((status, doc["deleted"].clone()), (200, 1.into()), "{doc}");
    assert_eq!(env.count_entries(), before - 3);
}

#[test]
fn new_parameters_are_checked_and_name_themselves() {
    let env = seeded();
    let server = Server::start(&env, &[], &[("WIT_CACHE_ADMIN_TOKEN", TOKEN)]);
    let cases: &[(&str, &str, &str)] = &[
        (
            "DELETE",
            "/api/v1/caches?repo=acme/app&id=0",
            "parameter 'id' is '0'",
        ),
        (
            "DELETE",
            "/api/v1/caches?repo=acme/app&id=-3",
            "parameter 'id' is '-3'",
        ),
        (
            "DELETE",
            "/api/v1/caches?repo=acme/app&id=1.5",
            "parameter 'id'",
        ),
        (
            "DELETE",
            "/api/v1/caches?repo=acme/app&id=9223372036854775808",
            "parameter 'id'",
        ),
        (
            "DELETE",
            "/api/v1/caches?repo=acme/app&id=",
            "parameter 'id'",
        ),
        ("GET", "/api/v1/caches?repo=acme/app&id=x", "parameter 'id'"),
        (
            "DELETE",
            "/api/v1/caches?repo=acme/app&key=k&all_scopes=yes",
            "parameter 'all_scopes' is 'yes': use true or false",
        ),
        (
            "DELETE",
            "/api/v1/caches?repo=acme/app&key=k&scope=main&all_scopes=true",
            "parameters 'scope' ('main') and 'all_scopes=true' contradict",
        ),
        (
            "DELETE",
            "/api/v1/caches?repo=acme/app&id=1&all_scopes=true",
            "parameter 'all_scopes' does not go with 'id'",
        ),
        (
            "DELETE",
            "/api/v1/caches?repo=acme/app&scope=main",
            "parameter 'scope' needs 'key' or 'id'",
        ),
        (
            "DELETE",
            "/api/v1/caches?repo=acme/app&all_scopes=true",
            "parameter 'all_scopes' needs 'key' or 'id'",
        ),
        (
            "DELETE",
            "/api/v1/caches?repo=acme/app&key=k&scope=",
            "parameter 'scope' is empty",
        ),
        (
            "DELETE",
            "/api/v1/caches?repo=acme/app&key=k&scope=a%07b",
            "parameter 'scope'",
        ),
        (
            "DELETE",
            "/api/v1/caches?repo=acme/app&key=k&version=abc",
            "parameter 'version' is 'abc'",
        ),
        (
            "DELETE",
            "/api/v1/caches?repo=acme/app&key=k&colour=red",
            "unknown parameter 'colour'",
        ),
        (
            "GET",
            "/api/v1/caches?repo=acme/app&offset=-1",
            "parameter 'offset'",
        ),
        (
            "GET",
            "/api/v1/caches?repo=acme/app&contains=a%2Cb",
            "parameter 'contains'",
        ),
        (
            "GET",
            "/api/v1/caches?repo=acme/app&sort=popular",
            "use created, last-used, size or hits",
        ),
    ];
    for (method, target, needle) in cases {
        let (status, _, body) = server.request(method, target, Some(TOKEN));
        assert_eq!(status, 400, "{method} {target}: {body}");
        let doc = json_of(body.as_bytes());
        assert!(
            error_of(&doc).contains(needle),
            "{method} {target}: {doc} should mention {needle}"
        );
    }
    let (status, _) = server.delete("/api/v1/caches?repo=acme/app&id=999999", Some(TOKEN));
    assert_eq!(status, 404);
    let (status, _) = server.delete("/api/v1/caches?repo=nobody/x&id=1", Some(TOKEN));
    assert_eq!(status, 404);
    // all_scopes=false is the same as leaving it out.
    let (status, doc) = server.delete(
        "/api/v1/caches?repo=acme/app&key=npm-Linux-abc&all_scopes=false",
        Some(TOKEN),
    );
    assert_eq!((status, doc["deleted"].clone()), (200, 1.into()), "{doc}");
    assert_eq!(env.count_entries(), 3);
}

/// What the page's list reads: a substring filter (literal, case-insensitive), the most
/// restored first, pages by limit and offset with the total, one entry by id.
#[test]
fn listing_filters_sorts_and_pages() {
    let env = seeded();
    env.save("npm-Linux-100%_x", &["node_modules"]);
    let server = Server::start(&env, &[], &[]);
    let keys = |target: &str| -> (Vec<String>, u64) {
        let (status, doc) = server.get(target);
        assert_eq!(status, 200, "{target}: {doc}");
        (
            keys_and_scopes(&doc).into_iter().map(|(k, _)| k).collect(),
            doc["total"].as_u64().unwrap(),
        )
    };
    let (found, total) = keys("/api/v1/caches?repo=acme/app&contains=LINUX&sort=created");
    assert_eq!(
        found,
        ["npm-Linux-100%_x", "pip-Linux-def", "npm-Linux-abc"]
    );
    assert_eq!(total, 3);
    assert_eq!(
        keys("/api/v1/caches?repo=acme/app&contains=0%25_").0,
        ["npm-Linux-100%_x"]
    );
    assert_eq!(
        keys("/api/v1/caches?repo=acme/app&contains=%25x").1,
        0,
        "% is no wildcard"
    );
    let (found, _) = keys("/api/v1/caches?repo=acme/app&sort=hits");
    assert_eq!(found[0], "npm-Linux-abc", "restored twice: first");
    let (page, total) = keys("/api/v1/caches?repo=acme/app&sort=created&limit=2&offset=1");
    assert_eq!((page.len(), total), (2, 4));
    let (all, _) = keys("/api/v1/caches?repo=acme/app&sort=created");
    assert_eq!(page, all[1..3]);
    let (rest, total) = keys("/api/v1/caches?repo=acme/app&sort=created&limit=2&offset=3");
    assert_eq!((rest, total), (vec![all[3].clone()], 4));
    assert_eq!(
        keys("/api/v1/caches?repo=acme/app&offset=9").0,
        Vec::<String>::new()
    );
    let (id, _) = entry_of(&server, "pip-Linux-def", None);
    assert_eq!(
        keys(&format!("/api/v1/caches?repo=acme/app&id={id}")),
        (vec!["pip-Linux-def".to_string()], 1)
    );
    assert_eq!(
        keys(&format!("/api/v1/caches?repo=acme/other&id={id}")).1,
        0
    );
    assert_eq!(
        keys("/api/v1/caches?repo=acme/app&key=PIP-linux-DEF").0,
        ["pip-Linux-def"]
    );
}

/// Keys, scopes, paths, run ids and repo ids may hold markup, quotes, direction overrides and
/// 500 characters: the page shows each as text (no markup, no raw override outside the data
/// attributes the script sends back), and its own parameters are checked like the API's.
#[test]
fn the_repo_page_escapes_every_user_string_and_checks_its_parameters() {
    let env = TestEnv::new();
    env.write("deps/a.txt", "a");
    let repo = "acme/<script>alert('r')</script>\"\u{202E}gpj";
    let long_key = format!("{}\u{202E}end", "k".repeat(495));
    let keys = [
        "<script>alert(1)</script>",
        "\"quoted\" 'single' &amp;",
        "evil\u{202E}txt.exe",
        long_key.as_str(),
    ];
    for (i, key) in keys.iter().enumerate() {
        env.cmd()
            .args(["--repo", repo, "save", "--key", key, "--path", "deps"])
            .args(["--scope", &format!("<i>scope</i>\u{2067}{i}")])
            .args(["--run-id", "<b>run</b>"])
            .assert()
            .success();
    }
    env.write("<img src=x>/b.txt", "b");
    env.cmd()
        .args([
            "--repo",
            repo,
            "save",
            "--key",
            "paths",
            "--path",
            "<img src=x>",
        ])
        .assert()
        .success();
    let server = Server::start(&env, &[], &[]);
    let encoded: String = form_urlencoded::byte_serialize(repo.as_bytes()).collect();
    let (status, _, page) = server.request("GET", &format!("/repo?repo={encoded}"), None);
    assert_eq!(status, 200, "{page}");
    for raw in ["<script>alert", "<i>", "<b>", "<img", "\"quoted\""] {
        assert!(!page.contains(raw), "{raw} reached the page unescaped");
    }
    assert_eq!(
        page.matches("<script").count(),
        1,
        "only the page's own script"
    );
    for shown in [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&quot;quoted&quot; &#39;single&#39; &amp;amp;",
        "evil<span class=\"bidi\"",
        "&lt;img src=x&gt;",
        "&lt;b&gt;run&lt;/b&gt;",
        &"k".repeat(495),
    ] {
        assert!(page.contains(shown), "the page shows {shown}");
    }
    // Direction controls are raw only in what goes back to the server: the data attributes
    // the script sends to the API, and the form's hidden repo field.
    let mut rest = page.as_str();
    let mut outside = String::new();
    while let Some(at) = [" data-", " value=\""]
        .iter()
        .filter_map(|n| rest.find(n))
        .min()
    {
        outside.push_str(&rest[..at]);
        let after = &rest[at..];
        let value_end = after
            .find("=\"")
            .and_then(|q| after[q + 2..].find('"').map(|e| q + 2 + e + 1))
            .unwrap_or(after.len());
        rest = &after[value_end..];
    }
    outside.push_str(rest);
    for c in ['\u{202E}', '\u{2067}'] {
        assert!(!outside.contains(c), "{c:?} outside data attributes");
        assert!(
            page.contains(c),
            "{c:?} kept for the API in data attributes"
        );
    }
    assert!(outside.contains("[U+202E]") && outside.contains("[U+2067]"));

    for (query, needle) in [
        ("&page=0", "parameter 'page' is '0'"),
        ("&page=two", "parameter 'page'"),
        ("&sort=newest", "parameter 'sort'"),
        ("&contains=a%2Cb", "parameter 'contains'"),
        ("&colour=red", "unknown parameter 'colour'"),
    ] {
        let (status, _, page) =
            server.request("GET", &format!("/repo?repo={encoded}{query}"), None);
        assert_eq!(status, 400, "{query}");
        assert!(
            page.contains(&needle.replace('\'', "&#39;")),
            "{query}: {page}"
        );
    }
    // An empty filter box and the default sort are no filter.
    let (status, _, page) = server.request(
        "GET",
        &format!("/repo?repo={encoded}&contains=&sort=last-used"),
        None,
    );
    assert_eq!(status, 200);
    assert!(page.contains(">5 caches</p>"), "{page}");
}
