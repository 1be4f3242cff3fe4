//! `wit-cache serve`: the cache settings page and its JSON API, over a small synchronous HTTP
//! server (`tiny_http`).
//!
//! The server is a second front end to the same code the CLI runs: every request opens its
//! own [`LocalStore`](crate::store::LocalStore) (SQLite in WAL mode with a busy timeout, so requests,
//! jobs and cron's gc never see "database is locked"), calls the index, and answers with the
//! documents of [`crate::views`], so the API and `--json` cannot drift apart.
//!
//! Invariants: nothing a request sends can panic a worker or stop the server (bad input is a
//! 400 with a JSON error naming the parameter; a panic would still become a 500); every
//! user-supplied string that reaches HTML goes through [`page::esc`]; deleting needs the admin
//! token, compared in constant time ([`auth`]). SIGINT and SIGTERM stop the server after the
//! requests in flight are answered.

mod api;
mod auth;
mod page;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tiny_http::{Header, Method, Request, Response, Server};

use crate::output::Printer;
use crate::store::LocalStore;
pub use auth::AdminToken;

/// Requests answered at once: a settings page and its API need few, and the 2-core CI hosts
/// this runs on are busy with jobs.
const WORKERS: usize = 4;
/// How often an idle worker looks at the shutdown flag.
const POLL: Duration = Duration::from_millis(100);

/// What `serve` was started with.
pub struct Settings {
    pub store_root: PathBuf,
    pub listen: SocketAddr,
    pub admin: Option<AdminToken>,
}

/// Serves until SIGINT or SIGTERM.
pub fn run(settings: &Settings, printer: &Printer) -> anyhow::Result<()> {
    // Fail now, not at the first request, when the store cannot be opened.
    LocalStore::open(
        &settings.store_root,
        crate::store::local::Options::default(),
    )?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // The first signal asks for a clean stop; a second one ends the process at once.
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop))
            .context("cannot install the signal handlers")?;
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot install the signal handlers")?;
    }
    let server = Server::http(settings.listen)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen))?;
    let bound = server.server_addr().to_ip().unwrap_or(settings.listen);
    if settings.admin.is_none() {
        printer.warn(
            "no admin token (--admin-token-file or WIT_CACHE_ADMIN_TOKEN): the page and API are \
             read-only, deleting is refused",
        );
    }
    if !bound.ip().is_loopback() {
        printer.warn(&format!(
            "listening on {bound}, not on loopback: anyone who reaches it can read the caches"
        ));
    }
    printer.status(&format!(
        "Serving http://{bound} (store {}); press Ctrl-C to stop",
        settings.store_root.display()
    ));
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| worker(&server, settings, printer, &stop));
        }
    });
    printer.status("Stopped");
    Ok(())
}

fn worker(server: &Server, settings: &Settings, printer: &Printer, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match server.recv_timeout(POLL) {
            Ok(Some(request)) => serve_one(request, settings, printer),
            Ok(None) => {}
            Err(err) => {
                printer.warn(&format!("cannot accept a request: {err}"));
                std::thread::sleep(POLL);
            }
        }
    }
}

fn serve_one(mut request: Request, settings: &Settings, printer: &Printer) {
    // Nothing here reads a body; drain a small one so the connection can be reused.
    let _ = std::io::copy(
        &mut std::io::Read::take(request.as_reader(), 64 * 1024),
        &mut std::io::sink(),
    );
    let incoming = Incoming {
        method: request.method().clone(),
        url: request.url().to_string(),
        authorization: request
            .headers()
            .iter()
            .find(|h| h.field.equiv("Authorization"))
            .map(|h| h.value.as_str().to_string()),
    };
    let host = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Host"))
        .map(|h| h.value.as_str().to_string());
    let reply = if settings.listen.ip().is_loopback()
        && !host.as_deref().is_none_or(is_loopback_host)
    {
        // A page on another site that rebinds its name to 127.0.0.1 sends its own name here.
        Reply::json(
            403,
            &serde_json::json!({"error": format!(
                "Host '{}' is not a loopback name: this server answers only localhost (DNS rebinding guard)",
                host.unwrap_or_default()
            )}),
        )
    } else {
        std::panic::catch_unwind(|| route(&incoming, settings)).unwrap_or_else(|_| {
            Reply::json(
                500,
                &serde_json::json!({"error": "internal error: the request handler panicked"}),
            )
        })
    };
    printer.detail(&format!(
        "{} {} -> {}",
        incoming.method, incoming.url, reply.status
    ));
    let mut response = Response::from_data(reply.body).with_status_code(reply.status);
    let mut headers = vec![
        ("Content-Type", reply.content_type.to_string()),
        ("Cache-Control", "no-store".to_string()),
        ("X-Content-Type-Options", "nosniff".to_string()),
        ("Referrer-Policy", "no-referrer".to_string()),
        ("Content-Security-Policy", page::CSP.to_string()),
    ];
    headers.extend(reply.headers.into_iter().map(|(k, v)| (k, v.clone())));
    for (name, value) in headers {
        if let Ok(h) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response.add_header(h);
        }
    }
    // A client that hung up is not the server's problem.
    let _ = request.respond(response);
}

/// Whether a Host header names this machine's loopback: `localhost`, `127.x.y.z` or `[::1]`,
/// with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(n, _)| n)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The parts of a request the handlers read.
struct Incoming {
    method: Method,
    url: String,
    authorization: Option<String>,
}

/// A response before it goes on the wire.
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        let mut body = serde_json::to_vec_pretty(value).expect("a Value always serialises");
        body.push(b'\n');
        Self {
            status,
            content_type: "application/json",
            body,
            headers: Vec::new(),
        }
    }

    pub fn html(status: u16, html: String) -> Self {
        Self {
            status,
            content_type: "text/html; charset=utf-8",
            body: html.into_bytes(),
            headers: Vec::new(),
        }
    }

    fn asset(content_type: &'static str, text: &'static str) -> Self {
        Self {
            status: 200,
            content_type,
            body: text.as_bytes().to_vec(),
            headers: Vec::new(),
        }
    }

    fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

fn route(req: &Incoming, settings: &Settings) -> Reply {
    let (path, query) = req.url.split_once('?').unwrap_or((&req.url, ""));
    let read = matches!(req.method, Method::Get | Method::Head);
    let api = path.starts_with("/api/");
    let allowed = match path {
        "/" | "/repo" | "/assets/style.css" | "/assets/app.js" | "/metrics" | "/api/v1/stats" => {
            "GET, HEAD"
        }
        "/api/v1/caches" => "GET, HEAD, DELETE",
        _ if api => return api::not_found_path(path),
        _ => return page::not_found(settings, "There is no page at this address."),
    };
    let ctx = api::Ctx {
        settings,
        query,
        authorization: req.authorization.as_deref(),
    };
    match (path, read) {
        ("/", true) => page::overview(&ctx),
        ("/repo", true) => page::repo(&ctx),
        ("/assets/style.css", true) => {
            Reply::asset("text/css; charset=utf-8", include_str!("assets/style.css"))
        }
        ("/assets/app.js", true) => Reply::asset(
            "text/javascript; charset=utf-8",
            include_str!("assets/app.js"),
        ),
        ("/metrics", true) => api::metrics(&ctx),
        ("/api/v1/stats", true) => api::stats(&ctx),
        ("/api/v1/caches", true) => api::list(&ctx),
        ("/api/v1/caches", false) if req.method == Method::Delete => api::delete(&ctx),
        _ => Reply::json(
            405,
            &serde_json::json!({
                "error": format!("method {} is not allowed on {path} (allowed: {allowed})", req.method)
            }),
        )
        .with_header("Allow", allowed),
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn loopback_host_names() {
        for ok in [
            "localhost",
            "localhost:8080",
            "127.0.0.1",
            "127.0.0.1:80",
            "[::1]",
            "[::1]:8080",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "10.0.0.1",
            "localhost.evil.example",
            "[::2]:80",
            "",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }
}
