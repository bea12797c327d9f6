//! The HTTP/1.1 side: hyper serving `/`, `/metrics` and nothing else, with limits on what a
//! client may hold.
//!
//! Every request that hyper can parse gets an answer (200, 404, 405, 503); what it cannot parse
//! gets hyper's 400 or 431; a head over [`MAX_HEADER_BYTES`] always gets 431. A client that does not finish its
//! headers within `--header-timeout` is disconnected (slowloris), a connection lives at most
//! [`MAX_CONNECTION_LIFE`], and at most `--max-connections` are open at once; when they are all
//! taken, the one idle longest makes room for a newcomer (see [`super::conns`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};

use super::Args;
use super::conns::Connections;
use super::gzip;
use super::scan::Scanner;

/// Largest request head (request line plus headers) accepted; hyper answers 431 beyond it.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Longest a connection is kept, keep-alive included; then it is shut down gracefully (the
/// response in progress, if any, gets [`SHUTDOWN_GRACE`] to finish). Bounds what a client that
/// never reads its response can hold.
pub const MAX_CONNECTION_LIFE: Duration = Duration::from_secs(300);

/// Time a connection being shut down gets to finish its response.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Limits applied to clients, from the command line.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// See `--header-timeout`.
    pub header_timeout: Duration,
    /// See `--scrape-timeout`.
    pub scrape_timeout: Duration,
    /// See `--max-connections`.
    pub max_connections: u32,
}

impl From<&Args> for Limits {
    fn from(args: &Args) -> Self {
        Limits {
            header_timeout: args.header_timeout,
            scrape_timeout: args.scrape_timeout,
            max_connections: args.max_connections,
        }
    }
}

/// SIGINT and SIGTERM, which stop the server.
pub struct Shutdown {
    interrupt: Signal,
    terminate: Signal,
}

impl Shutdown {
    /// Installs the handlers (inside the runtime).
    pub fn new() -> std::io::Result<Shutdown> {
        Ok(Shutdown {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn requested(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// Serves `listener` until `shutdown` is requested.
pub async fn serve(
    listener: TcpListener,
    scanner: Scanner,
    limits: Limits,
    mut shutdown: Shutdown,
) -> anyhow::Result<()> {
    let connections = Connections::new(limits.max_connections as usize);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEADER_BYTES)
        .keep_alive(true);
    let http = Arc::new(http);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.requested() => return Ok(()),
        };
        let (stream, _peer) = match accepted {
            Ok(conn) => conn,
            // Out of fds or a connection reset before accept: keep serving the others.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let Some(slot) = connections.admit() else {
            drop(stream); // every slot is serving a request: close at once rather than queue
            continue;
        };
        let _ = stream.set_nodelay(true);
        let scanner = scanner.clone();
        let http = http.clone();
        tokio::spawn(async move {
            let handle = slot.handle();
            let service = hyper::service::service_fn(move |req| {
                let scanner = scanner.clone();
                let serving = handle.serving();
                async move {
                    let response = respond(req, &scanner, limits).await;
                    drop(serving);
                    Ok::<_, Infallible>(response)
                }
            });
            let conn = http.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                // Another client needed the slot this idle one held: close it now.
                _ = slot.evicted() => {}
                _ = tokio::time::sleep(MAX_CONNECTION_LIFE) => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
                }
            }
            drop(slot);
        });
    }
}

type Body = Full<Bytes>;

const INDEX: &str = concat!(
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>memsight exporter</title></head>\n",
    "<body><h1>memsight exporter</h1>\n",
    "<p>System, cgroup and per-process memory (USS, PSS, swap, RSS, VMS) for Prometheus.</p>\n",
    "<p><a href=\"/metrics\">Metrics</a></p>\n",
    "<p>memsight ",
    env!("CARGO_PKG_VERSION"),
    "</p>\n</body></html>\n"
);

/// Content type of the classic text format.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Content type of OpenMetrics.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

async fn respond(req: Request<Incoming>, scanner: &Scanner, limits: Limits) -> Response<Body> {
    // hyper's buffer limit is not exact (a head that arrives in one large read passes it).
    if head_len(&req) > MAX_HEADER_BYTES {
        let mut resp = plain(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request head over 32 KiB\n",
        );
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return resp;
    }
    let path = req.uri().path();
    if path != "/" && path != "/metrics" {
        return plain(StatusCode::NOT_FOUND, "Not found: try /metrics\n");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut resp = plain(StatusCode::METHOD_NOT_ALLOWED, "Only GET and HEAD\n");
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    if path == "/" {
        return with_type(
            Response::new(Full::new(Bytes::from_static(INDEX.as_bytes()))),
            "text/html; charset=utf-8",
        );
    }
    let openmetrics = req
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(prefers_openmetrics);
    let gzip = req
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(gzip::accepts_gzip);
    let deadline = scrape_deadline(req.headers(), limits.scrape_timeout);
    match tokio::time::timeout(deadline, scanner.scrape()).await {
        Ok(Some(scrape)) => {
            let content_type = if openmetrics {
                OPENMETRICS_CONTENT_TYPE
            } else {
                TEXT_CONTENT_TYPE
            };
            let body = if gzip {
                scrape.gzipped(openmetrics).await
            } else {
                scrape.body(openmetrics)
            };
            let mut resp = with_type(Response::new(Full::new(body)), content_type);
            let headers = resp.headers_mut();
            headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
            if gzip {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            resp
        }
        Ok(None) => plain(StatusCode::INTERNAL_SERVER_ERROR, "The scan failed\n"),
        Err(_) => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "The scan did not finish in time; it goes on and the next scrape will share it\n",
        ),
    }
}

/// The size of the request head as sent: request line and header lines with their CRLFs
/// (exact for the usual `Name: value` spelling).
fn head_len<B>(req: &Request<B>) -> usize {
    let request_line = req.method().as_str().len() + req.uri().to_string().len() + 12;
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    request_line + headers + 2
}

/// How long a scrape may wait: `--scrape-timeout`, or less when Prometheus says its own deadline
/// (`X-Prometheus-Scrape-Timeout-Seconds`) is sooner, keeping half a second to send the answer.
fn scrape_deadline(headers: &hyper::HeaderMap, configured: Duration) -> Duration {
    headers
        .get("x-prometheus-scrape-timeout-seconds")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64((s - 0.5).clamp(0.1, 86_400.0)))
        .map_or(configured, |theirs| theirs.min(configured))
}

/// Whether an `Accept` header value ranks OpenMetrics 1.0.0 above the classic text format, as
/// Prometheus's does (`application/openmetrics-text;version=1.0.0,...,text/plain;version=0.0.4;q=0.5`).
pub fn prefers_openmetrics(accept: &str) -> bool {
    let mut best_om = 0.0_f64;
    let mut best_text = 0.0_f64;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let mut q = 1.0_f64;
        let mut version = None;
        for param in parts {
            let Some((key, value)) = param.split_once('=') else {
                continue;
            };
            match key.trim().to_ascii_lowercase().as_str() {
                "q" => q = value.trim().parse().unwrap_or(0.0),
                "version" => version = Some(value.trim().trim_matches('"').to_owned()),
                _ => {}
            }
        }
        if !(q.is_finite() && q > 0.0) {
            continue;
        }
        match media.as_str() {
            "application/openmetrics-text" if version.as_deref().is_none_or(|v| v == "1.0.0") => {
                best_om = best_om.max(q)
            }
            "text/plain" | "text/*" | "*/*" => best_text = best_text.max(q),
            _ => {}
        }
    }
    best_om > 0.0 && best_om >= best_text
}

fn with_type(mut resp: Response<Body>, content_type: &'static str) -> Response<Body> {
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut resp = with_type(
        Response::new(Full::new(Bytes::from_static(text.as_bytes()))),
        "text/plain; charset=utf-8",
    );
    *resp.status_mut() = status;
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrape_deadline_follows_a_sooner_prometheus_timeout() {
        let ours = Duration::from_secs(30);
        let with = |v: &str| {
            let mut h = hyper::HeaderMap::new();
            h.insert(
                "X-Prometheus-Scrape-Timeout-Seconds",
                HeaderValue::from_str(v).unwrap(),
            );
            scrape_deadline(&h, ours)
        };
        assert_eq!(scrape_deadline(&hyper::HeaderMap::new(), ours), ours);
        assert_eq!(with("10"), Duration::from_secs_f64(9.5));
        assert_eq!(with(" 2.5 "), Duration::from_secs(2));
        assert_eq!(with("0.2"), Duration::from_millis(100));
        assert_eq!(with("120"), ours);
        for bad in ["", "abc", "-1", "0", "NaN", "inf", "1e400"] {
            assert_eq!(with(bad), ours, "{bad:?}");
        }
    }

    #[test]
    fn head_len_counts_the_bytes_sent() {
        // "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n" is 23 + 9 + 2 bytes.
        let req = Request::get("/metrics")
            .header("Host", "a")
            .body(())
            .unwrap();
        assert_eq!(head_len(&req), 34);
    }

    #[test]
    fn prometheus_accept_header_gets_openmetrics() {
        // What Prometheus 2.42 sends.
        assert!(prefers_openmetrics(
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        ));
        assert!(prefers_openmetrics("application/openmetrics-text"));
        assert!(prefers_openmetrics(
            "Application/OpenMetrics-Text; version=\"1.0.0\"; q=0.9, text/plain; q=0.5"
        ));
    }

    #[test]
    fn others_get_the_classic_text_format() {
        assert!(!prefers_openmetrics("*/*"));
        assert!(!prefers_openmetrics("text/plain;version=0.0.4"));
        assert!(!prefers_openmetrics(
            "application/openmetrics-text;q=0.5,text/plain"
        ));
        assert!(!prefers_openmetrics("application/openmetrics-text;q=0"));
        assert!(!prefers_openmetrics(
            "application/openmetrics-text;version=0.0.1"
        ));
        assert!(!prefers_openmetrics(""));
        assert!(!prefers_openmetrics(";;;,,=q=;"));
    }
}
