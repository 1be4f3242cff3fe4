//! `wit-cache serve`: the cache settings page and its JSON API.
//!
//! The server is a second front end to the same code the CLI runs: every request opens its
//! own [`LocalStore`](crate::store::LocalStore) (SQLite in WAL mode with a busy timeout, so requests,
//! jobs and cron's gc never see "database is locked"), calls the index, and answers with the
//! documents of [`crate::views`], so the API and `--json` cannot drift apart.
//!
//! This module decides what a request gets ([`respond`]: the DNS-rebinding guard, then
//! [`route`]); [`http`] carries requests and answers over the network, with the timeouts and
//! limits that keep slow or hostile clients from holding the server.
//!
//! Invariants: nothing a request sends can panic a handler or stop the server (bad input is a
//! 400 with a JSON error naming the parameter; a panic would still become a 500); every
//! user-supplied string that reaches HTML goes through [`page::esc`]; deleting needs a token,
//! compared in constant time ([`auth`]). SIGINT and SIGTERM stop the server after the
//! requests in flight are answered.

mod api;
mod auth;
mod http;
mod page;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use hyper::Method;

use crate::output::Printer;
use crate::store::LocalStore;
pub use auth::{parse_tokens_file, AdminToken, RepoToken, Tokens};
pub use http::Limits;

/// What `serve` was started with.
pub struct Settings {
    pub store_root: PathBuf,
    pub listen: SocketAddr,
    pub tokens: Tokens,
    pub limits: Limits,
}

/// Serves until SIGINT or SIGTERM.
pub fn run(settings: Settings, printer: &Printer) -> anyhow::Result<()> {
    // Fail now, not at the first request, when the store cannot be opened.
    LocalStore::open(
        &settings.store_root,
        crate::store::local::Options::default(),
    )?;
    let server = http::Server::bind(settings.listen, settings.limits.clone())?;
    let bound = server.local_addr();
    if !settings.tokens.any() {
        printer.warn(
            "no admin token (--admin-token-file or WIT_CACHE_ADMIN_TOKEN) and no --tokens-file: \
             the page and API are read-only, deleting is refused",
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
    server.run(Arc::new(settings), printer);
    printer.status("Stopped");
    Ok(())
}

/// The answer to one request: the DNS-rebinding guard, then the routes. Runs on a blocking
/// thread (it opens the store and queries SQLite).
fn respond(request: &Incoming, settings: &Settings) -> Reply {
    if settings.listen.ip().is_loopback() {
        if let Some(host) = request.hosts.iter().find(|h| !is_loopback_host(h)) {
            // A page on another site that rebinds its name to 127.0.0.1 sends its own name here.
            return Reply::json(
                403,
                &serde_json::json!({"error": format!(
                    "Host '{host}' is not a loopback name: this server answers only localhost (DNS rebinding guard)"
                )}),
            );
        }
    }
    route(request, settings)
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
    /// The path and query, as sent (percent-encoded).
    url: String,
    /// The names the client says it reached: every `Host` header, and the authority of an
    /// absolute-form request target (which takes precedence over `Host` in HTTP/1.1).
    hosts: Vec<String>,
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
        let mut body = crate::output::json_text(value).into_bytes();
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

    /// Every header of the answer: the content type, the ones every answer carries (no
    /// caching, no sniffing, no referrer, the page's CSP), then the reply's own.
    fn header_lines(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("Content-Type", self.content_type),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("Content-Security-Policy", page::CSP),
        ]
        .into_iter()
        .chain(self.headers.iter().map(|(k, v)| (*k, v.as_str())))
    }
}

fn route(req: &Incoming, settings: &Settings) -> Reply {
    let (path, query) = req.url.split_once('?').unwrap_or((&req.url, ""));
    let read = matches!(req.method, Method::GET | Method::HEAD);
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
        ("/api/v1/caches", false) if req.method == Method::DELETE => api::delete(&ctx),
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
