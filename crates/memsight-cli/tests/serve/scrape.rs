//! What `memsight serve`'s tests share: the exporter started on a loopback port, a plain HTTP/1.1
//! client, `promtool`, and a real Prometheus server.
#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::Guard;

/// A running `memsight serve` and the address it printed.
pub struct Exporter {
    pub addr: SocketAddr,
    pub child: Guard,
}

impl Exporter {
    /// Spawns `serve` (a `memsight serve ...` command) and waits for its "listening on" line.
    pub fn spawn(mut serve: Command) -> Exporter {
        let mut child = serve
            .stdout(Stdio::piped())
            .spawn()
            .expect("memsight serve starts");
        let stdout = child.stdout.take().unwrap();
        let child = Guard(child);
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        // "memsight serve: listening on http://127.0.0.1:PORT/metrics"
        let addr = line
            .trim()
            .strip_prefix("memsight serve: listening on http://")
            .and_then(|s| s.strip_suffix("/metrics"))
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .parse()
            .unwrap();
        Exporter { addr, child }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.0.try_wait().unwrap().is_none()
    }
}

/// An HTTP/1.1 answer: the status, the head (status line and headers) and the body.
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Sends raw bytes, reads until the server closes, and parses the HTTP/1.1 answer.
pub fn raw(addr: SocketAddr, request: &[u8]) -> Response {
    try_raw(addr, request).unwrap_or_else(|e| panic!("no HTTP answer from {addr}: {e}"))
}

/// [`raw`], with a refused connection or an answer that is not HTTP as an error.
pub fn try_raw(addr: SocketAddr, request: &[u8]) -> std::io::Result<Response> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.write_all(request)?;
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {text:?}")))?;
    Ok(Response {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    })
}

/// `GET path` with extra header lines (each ending in `\r\n`), on a connection closed after it.
pub fn get(addr: SocketAddr, path: &str, headers: &str) -> Response {
    raw(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n").as_bytes(),
    )
}

/// The value of the one sample named exactly `series` (name plus labels as exposed).
pub fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// `promtool check metrics` on an exposition: whether it passed, and what it printed.
pub fn promtool(body: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed by scripts/setup.sh");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), report)
}

// --- A real Prometheus server ---------------------------------------------------------------

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An instant query against Prometheus's HTTP API: the vector result's (labels, value); empty
/// while Prometheus is not answering yet.
pub fn query(prom: SocketAddr, promql: &str) -> Vec<(serde_json::Value, f64)> {
    let path = format!("/api/v1/query?query={}", url_encode(promql));
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let Ok(r) = try_raw(prom, request.as_bytes()) else {
        return Vec::new();
    };
    if r.status != 200 {
        return Vec::new();
    }
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    v["data"]["result"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    let value = r["value"][1].as_str().unwrap().parse().unwrap();
                    (r["metric"].clone(), value)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Prometheus scraping `target` every second, its data and log in `dir`; and its address.
pub fn start_prometheus(dir: &Path, target: SocketAddr) -> (Guard, SocketAddr) {
    spawn_prometheus(
        dir,
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: memsight\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
}

/// A Prometheus on a free loopback port with `config` (YAML) as its `prometheus.yml`; its
/// config, data and log in `dir`, its data started afresh.
pub fn spawn_prometheus(dir: &Path, config: &str) -> (Guard, SocketAddr) {
    let config_file = dir.join("prometheus.yml");
    std::fs::write(&config_file, config).unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let _ = std::fs::remove_dir_all(dir.join("data"));
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config_file.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("prometheus is installed by scripts/setup.sh");
    (Guard(child), addr)
}
