//! The network side of `serve`: HTTP/1.1 (hyper) on a current-thread tokio runtime, with the
//! limits that make a slow or hostile client cost one connection, never the server.
//!
//! * Request heads: hyper reads a request line and headers of at most [`MAX_HEAD`] bytes
//!   (else 431) within `header_timeout`, which also bounds how long a keep-alive connection may
//!   sit idle before its next request; past it the connection is closed. Hyper parses
//!   `Content-Length` as a number and never allocates by it; a malformed or overflowing one
//!   is a 400.
//! * Bodies: no route takes one. A body announced or found longer than [`MAX_BODY`] is a 413
//!   without reading it; a shorter one is read and dropped (so the connection can be reused)
//!   within `body_timeout`, else a 408. After either refusal the connection is closed.
//! * Answers: a client that reads nothing of its answer for `write_timeout` is disconnected.
//! * Connections: at most `max_connections` at once. At the cap the listener stops accepting
//!   (new clients wait in the kernel's backlog) until one ends; each connection is a future on
//!   the one runtime thread with its buffers, no thread of its own.
//! * Store work (SQLite, archives) blocks: it runs on at most [`HANDLER_THREADS`] threads of
//!   tokio's blocking pool, never on the thread that drives the sockets.
//! * The first SIGINT or SIGTERM closes the listener and lets every connection finish the
//!   request it is in (idle keep-alive connections close at once); then [`Server::run`]
//!   returns. A second signal ends the process at once with status 130.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt as _};
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::{Body as _, Incoming as Body};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, HOST};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::watch;
use tokio::time::Sleep;

use super::{Incoming, Reply, Settings};
use crate::output::Printer;

/// The largest request head (request line and headers) read. A URL of this API is a few
/// hundred bytes (a key is at most 512 characters, three times that percent-encoded); 64 KiB
/// leaves room for big cookies of other sites on `localhost` while capping what a connection
/// can make the server hold.
const MAX_HEAD: usize = 64 * 1024;
/// The largest request body accepted (and dropped): no request of this API has one, but some
/// clients send an empty JSON document with a DELETE.
const MAX_BODY: u64 = 16 * 1024;
/// Threads that run handlers at once: a settings page and its API need few, and the 2-core CI
/// hosts this runs on are busy with jobs. More requests wait for a thread, not for a socket.
const HANDLER_THREADS: usize = 4;
/// How long the listener rests after a failed accept (out of file descriptors, say) before it
/// tries again, so that it does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The per-connection limits; see the module documentation.
#[derive(Debug, Clone)]
pub struct Limits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub write_timeout: Duration,
    pub max_connections: usize,
}

impl Default for Limits {
    /// Generous for a person on a slow link (a request head is a few hundred bytes, an answer
    /// rarely more than a megabyte), short enough that a client holding connections open
    /// without using them is cut off within seconds. 256 connections are far more than the
    /// six per host a browser opens, and cost little memory: at most [`MAX_HEAD`] of buffers
    /// each, about 16 MiB at the cap, and well under the usual limit of 1024 open files.
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            max_connections: 256,
        }
    }
}

/// A bound socket, its runtime and the signal handlers, ready to [`run`](Server::run).
pub struct Server {
    runtime: tokio::runtime::Runtime,
    listener: TcpListener,
    signals: Signals,
    limits: Limits,
}

impl Server {
    /// Binds `addr` and installs the signal handlers, so that a signal that arrives as soon as
    /// the address is printed is already a clean stop.
    pub fn bind(addr: SocketAddr, limits: Limits) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(HANDLER_THREADS)
            .build()
            .context("cannot start the server's runtime")?;
        let listener = std::net::TcpListener::bind(addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        let _context = runtime.enter();
        let listener = TcpListener::from_std(listener)
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        let signals = Signals::install()?;
        Ok(Self {
            runtime,
            listener,
            signals,
            limits,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until the first SIGINT or SIGTERM, then until the requests in flight are answered.
    pub fn run(self, settings: Arc<Settings>, printer: &Printer) {
        let Self {
            runtime,
            listener,
            mut signals,
            limits,
        } = self;
        let shared = Shared { settings, limits };
        runtime.block_on(async {
            let (stop, stopping) = watch::channel(false);
            let mut connections = FuturesUnordered::new();
            let mut backoff = pin!(tokio::time::sleep(Duration::ZERO));
            let mut resting = false;
            let mut signalled = pin!(signals.first());
            loop {
                let room = connections.len() < shared.limits.max_connections;
                tokio::select! {
                    () = &mut signalled => break,
                    Some(()) = connections.next(), if !connections.is_empty() => {}
                    () = &mut backoff, if resting => resting = false,
                    accepted = listener.accept(), if room && !resting => match accepted {
                        Ok((stream, peer)) => connections.push(connection(
                            stream,
                            peer,
                            &shared,
                            printer,
                            stopping.clone(),
                        )),
                        Err(err) => {
                            printer.warn(&format!("cannot accept a connection: {err}"));
                            backoff.as_mut().reset(tokio::time::Instant::now() + ACCEPT_BACKOFF);
                            resting = true;
                        }
                    },
                }
            }
            // New clients are refused from here on; the ones we have finish what they started.
            drop(listener);
            let open = connections.len();
            printer.status(&match open {
                0 => "Stopping".to_string(),
                1 => "Stopping: finishing the request of 1 open connection".to_string(),
                n => format!("Stopping: finishing the requests of {n} open connections"),
            });
            let _ = stop.send(true);
            while connections.next().await.is_some() {}
        });
        // Dropping the runtime waits for handlers still running on the blocking pool (those of
        // clients that hung up), so that a delete is never cut off half-way.
        drop(runtime);
    }
}

/// What every connection reads.
struct Shared {
    settings: Arc<Settings>,
    limits: Limits,
}

/// One connection, from the first byte to the close.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    printer: &Printer,
    mut stopping: watch::Receiver<bool>,
) {
    // Answers are written whole; waiting to coalesce them with more only adds latency.
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(WriteDeadline::new(stream, shared.limits.write_timeout));
    let service = service_fn(|request| answer(request, shared, printer));
    let mut conn = pin!(http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(shared.limits.header_timeout)
        .max_buf_size(MAX_HEAD)
        // Header names as people write them (Content-Type), as before hyper; clients compare
        // them case-insensitively anyway.
        .title_case_headers(true)
        .serve_connection(io, service));
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = stopping.wait_for(|stop| *stop) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(err) = result {
        // hyper's errors keep the cause (a timeout, a reset) as their source.
        let mut text = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        printer.detail(&format!("connection from {peer} closed: {text}"));
    }
}

/// Reads what the handlers need from one request, drops its body, runs the handler on the
/// blocking pool and turns its reply into a response.
async fn answer(
    request: Request<Body>,
    shared: &Shared,
    printer: &Printer,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let (head, body) = request.into_parts();
    let text = |v: &HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned();
    let incoming = Incoming {
        method: head.method,
        url: head
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), |pq| pq.as_str().to_string()),
        hosts: head
            .uri
            .authority()
            .map(|a| a.as_str().to_string())
            .into_iter()
            .chain(head.headers.get_all(HOST).iter().map(text))
            .collect(),
        authorization: head.headers.get(AUTHORIZATION).map(text),
    };
    let method = incoming.method.clone();
    let url = incoming.url.clone();
    let reply = if let Err(refusal) = drain(body, &shared.limits).await {
        refusal.with_header("Connection", "close")
    } else {
        let settings = Arc::clone(&shared.settings);
        tokio::task::spawn_blocking(move || super::respond(&incoming, &settings))
            .await
            .unwrap_or_else(|_| {
                Reply::json(
                    500,
                    &serde_json::json!({"error": "internal error: the request handler panicked"}),
                )
            })
    };
    printer.detail(&format!("{method} {url} -> {}", reply.status));
    Ok(response(reply))
}

/// Reads and drops a request body of at most [`MAX_BODY`] bytes; anything else is refused
/// with the reply to send.
async fn drain(body: Body, limits: &Limits) -> Result<(), Reply> {
    let too_large = || {
        Reply::json(
            413,
            &serde_json::json!({"error": format!(
                "the request body is larger than {MAX_BODY} bytes: no request of this API takes a body"
            )}),
        )
    };
    if body.size_hint().lower() > MAX_BODY {
        return Err(too_large());
    }
    let limited = Limited::new(body, MAX_BODY as usize);
    match tokio::time::timeout(limits.body_timeout, limited.collect()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) if err.is::<LengthLimitError>() => Err(too_large()),
        Ok(Err(err)) => Err(Reply::json(
            400,
            &serde_json::json!({"error": format!("cannot read the request body: {err}")}),
        )),
        Err(_) => Err(Reply::json(
            408,
            &serde_json::json!({"error": format!(
                "the request body did not arrive within {} s", limits.body_timeout.as_secs_f64()
            )}),
        )),
    }
}

fn response(reply: Reply) -> Response<Full<Bytes>> {
    let mut headers = HeaderMap::new();
    for (name, value) in reply.header_lines() {
        // Every name and value is ours; one that is not valid HTTP would be left out, not sent.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// SIGINT and SIGTERM, as the runtime sees them. The first of either starts a clean stop; the
/// handlers of `signal-hook`, installed first, end the process at the second.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Self> {
        let seen = Arc::new(AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // Exits when `seen` is already set, i.e. at the second signal; then marks it seen.
            signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&seen))
                .context("cannot install the signal handlers")?;
            signal_hook::flag::register(signal, Arc::clone(&seen))
                .context("cannot install the signal handlers")?;
        }
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())
                .context("cannot install the signal handlers")?,
            terminate: signal(SignalKind::terminate())
                .context("cannot install the signal handlers")?,
        })
    }

    async fn first(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// A socket whose writes fail once they have made no progress for `limit`: hyper has no write
/// timeout, and a client that never reads its answer would otherwise hold its connection (and
/// the answer's buffers) for as long as it likes.
struct WriteDeadline {
    io: TcpStream,
    limit: Duration,
    /// Armed when a write first finds the socket full; disarmed by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl WriteDeadline {
    fn new(io: TcpStream, limit: Duration) -> Self {
        Self {
            io,
            limit,
            stalled: None,
        }
    }

    fn watch<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let limit = self.limit;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the client read nothing of its answer for {} s",
                    limit.as_secs_f64()
                ),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for WriteDeadline {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteDeadline {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        this.watch(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_flush(cx);
        this.watch(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_shutdown(cx);
        this.watch(cx, poll)
    }
}
