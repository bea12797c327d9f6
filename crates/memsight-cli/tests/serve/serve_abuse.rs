//! `memsight serve` against hostile local users: processes with huge argv[0]s, keep-alive
//! holders, oversized request heads, hostile `--procfs` trees; and the `--listen` forms and root
//! checks that fail at start-up. Real processes, real sockets on loopback, bounded loops.

// Runs the Linux binary against procps, psutil and /proc; tests/windows.rs is the Windows one.
#![cfg(target_os = "linux")]
#![cfg(feature = "serve")]
#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use crate::support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::scrape::{Exporter, promtool};
use support::{Guard, memsight};

/// `memsight serve --listen LISTEN EXTRA...`, its stderr discarded.
fn start(listen: &str, extra: &[&str]) -> Exporter {
    let mut serve = memsight();
    serve
        .args(["serve", "--listen", listen])
        .args(extra)
        .stderr(Stdio::null());
    Exporter::spawn(serve)
}

/// Sends `request` on a fresh connection and returns the status and body (the server closes).
fn exchange(addr: SocketAddr, request: &[u8]) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.write_all(request)?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_owned()))
}

fn scrape(addr: SocketAddr) -> (u16, String) {
    exchange(
        addr,
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap()
}

/// `sleep 300` run as nobody through a symlink named `memsight-label-bomb` (so its comm is the
/// 15 characters `memsight-label-` and psutil's rule takes the name from argv[0]), with `argv0`.
fn bomb(dir: &Path, argv0: &str) -> Guard {
    Guard(
        Command::new(dir.join("memsight-label-bomb"))
            .arg0(argv0)
            .arg("300")
            .uid(65534)
            .gid(65534)
            .spawn()
            .unwrap(),
    )
}

#[test]
fn huge_argv0_cannot_inflate_labels_or_leak_arguments() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/bin/sleep", dir.path().join("memsight-label-bomb")).unwrap();
    // The kernel's limit on one argument is 128 KiB.
    let huge = format!("memsight-label-bomb{}", "A".repeat(130_000));
    let mut bombs: Vec<Guard> = (0..20).map(|_| bomb(dir.path(), &huge)).collect();
    bombs.push(bomb(dir.path(), "memsight-label-bomb --token=hunter2"));
    std::thread::sleep(Duration::from_millis(300));
    let ex = start("127.0.0.1:0", &["--top", "all"]);
    let (status, body) = scrape(ex.addr);
    assert_eq!(status, 200);
    // Every name label is at most 128 bytes: the bombs' names are their first 128.
    let cut = &huge[..128];
    assert!(body.contains(&format!("name=\"{cut}\"")), "no bounded name");
    assert!(body.contains(&format!("groupname=\"{cut}\"")));
    assert!(!body.contains(&huge[..129]), "a name longer than 128 bytes");
    // argv[0]'s arguments are not a way around --cmdline.
    assert!(body.contains("name=\"memsight-label-bomb\""));
    assert!(!body.contains("hunter2"));
    // 21 bombs add a few KiB, not the 13 MB that 21 x 5 unbounded series were.
    assert!(body.len() < 4 << 20, "{} bytes", body.len());
    let longest = body.lines().map(str::len).max().unwrap();
    assert!(longest < 1024, "a line of {longest} bytes");
    drop(bombs);
}

/// A local client holding `n` keep-alive connections: every round it sends each a tiny request
/// and reads the answer, and reconnects any the server closed.
struct Holders {
    conns: Vec<Option<TcpStream>>,
    addr: SocketAddr,
}

impl Holders {
    fn new(addr: SocketAddr, n: usize) -> Holders {
        let mut h = Holders {
            conns: (0..n).map(|_| None).collect(),
            addr,
        };
        h.round();
        h
    }

    /// One round; returns how many connections are open (answered their last ping) after it.
    fn round(&mut self) -> usize {
        let addr = self.addr;
        for slot in &mut self.conns {
            if slot.as_mut().is_some_and(|s| Self::ping(s).is_ok()) {
                continue;
            }
            *slot = TcpStream::connect(addr).ok().and_then(|mut s| {
                s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
                Self::ping(&mut s).ok()?;
                Some(s)
            });
        }
        self.conns.iter().filter(|c| c.is_some()).count()
    }

    fn ping(s: &mut TcpStream) -> std::io::Result<()> {
        s.write_all(b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")?;
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.ends_with(b"try /metrics\n") {
            let n = s.read(&mut buf)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            got.extend_from_slice(&buf[..n]);
        }
        Ok(())
    }
}

#[test]
fn keep_alive_holders_cannot_starve_a_scraper() {
    let ex = start("127.0.0.1:0", &["--max-connections", "64"]);
    let addr = ex.addr;
    let mut holders = Holders::new(addr, 72);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let holding = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut most = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                most = most.max(holders.round());
                std::thread::sleep(Duration::from_millis(500));
            }
            most
        })
    };
    std::thread::sleep(Duration::from_secs(1));
    let tries = 20;
    let mut served = 0;
    for _ in 0..tries {
        if matches!(
            exchange(
                addr,
                b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            ),
            Ok((200, _))
        ) {
            served += 1;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let most_held = holding.join().unwrap();
    assert!(
        most_held >= 60,
        "the holders held only {most_held} connections at most"
    );
    assert!(
        served * 10 >= tries * 9,
        "{served} of {tries} scrapes served"
    );
}

#[test]
fn request_heads_over_32_kib_get_431() {
    let ex = start("127.0.0.1:0", &[]);
    let head = |size: usize| {
        let filler = "a".repeat(size - 60);
        format!("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Fill: {filler}\r\n\r\n")
    };
    assert_eq!(exchange(ex.addr, head(30_000).as_bytes()).unwrap().0, 200);
    assert_eq!(exchange(ex.addr, head(40_000).as_bytes()).unwrap().0, 431);
    assert_eq!(exchange(ex.addr, head(33_000).as_bytes()).unwrap().0, 431);
}

/// A --procfs tree whose meminfo has a key with a backslash and a quote in it.
fn hostile_meminfo_root(dir: &Path) {
    let proc = dir.join("proc");
    std::fs::create_dir_all(proc.join("self")).unwrap();
    std::fs::write(
        proc.join("meminfo"),
        "MemTotal:       16000000 kB\nMemFree:         8000000 kB\nMemAvailable:   12000000 kB\nBuffers:          100000 kB\nCached:          2000000 kB\nBack\\sla\"sh:          42 kB\n",
    )
    .unwrap();
}

#[test]
fn help_text_with_a_backslash_passes_promtool() {
    let dir = tempfile::tempdir().unwrap();
    hostile_meminfo_root(dir.path());
    let procfs = dir.path().join("proc");
    let ex = start("127.0.0.1:0", &["--procfs", procfs.to_str().unwrap()]);
    let (status, body) = scrape(ex.addr);
    assert_eq!(status, 200);
    assert!(
        body.contains(
            "# HELP node_memory_Back_sla_sh_bytes /proc/meminfo Back\\\\sla\"sh, in bytes.\n"
        ),
        "{body}"
    );
    let (_, report) = promtool(&body);
    for line in report.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            line.contains("camelCase")
                || line
                    .contains("non-histogram and non-summary metrics should not have \"_total\""),
            "promtool: {line}\n{report}"
        );
    }
}

#[test]
fn listen_accepts_localhost_ipv6_and_a_bare_port() {
    let ex = start("localhost:0", &[]);
    assert!(
        ex.addr.ip().is_loopback() && ex.addr.is_ipv4(),
        "{}",
        ex.addr
    );
    assert_eq!(scrape(ex.addr).0, 200);
    let ex = start(":0", &[]);
    assert!(ex.addr.ip().is_unspecified(), "{}", ex.addr);
    let local = SocketAddr::from(([127, 0, 0, 1], ex.addr.port()));
    assert_eq!(scrape(local).0, 200);
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        let ex = start("[::1]:0", &[]);
        assert_eq!(ex.addr.to_string().split(']').next(), Some("[::1"));
        assert_eq!(scrape(ex.addr).0, 200);
    }
    let out = memsight()
        .args(["serve", "--listen", "example.com:80"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn serve_with(args: &[&str]) -> Output {
    let mut child = memsight()
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A bad root must end it at once; a good one would serve until killed.
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

#[test]
fn missing_or_fake_procfs_root_fails_at_start_up() {
    let empty = tempfile::tempdir().unwrap();
    let empty = empty.path().to_str().unwrap().to_owned();
    for (args, says) in [
        (
            vec!["--procfs", "/nonexistent-memsight"],
            "cannot use /nonexistent-memsight",
        ),
        (vec!["--procfs", empty.as_str()], "is not a procfs"),
        (vec!["--procfs", "/etc/hostname"], "is not a directory"),
        (vec!["--sysfs", empty.as_str()], "is not a sysfs"),
    ] {
        let out = serve_with(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?} listened");
    }
}
