//! The recording format of `memsight record -o` and `memsight plot`: JSON lines (one
//! [`Sample`] a line) or CSV (a row per process and a `total` row per sample), written and read
//! here only. Reading is separate from the file: the parsers take bytes.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use anyhow::{Context, anyhow, bail};
use memsight::record::{Figures, ProcessSample, Sample};

/// Whether a recording file is CSV (by its extension) rather than JSON lines.
pub fn is_csv(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// The CSV columns: one row per process per sample, then the sample's `total` row (empty pid).
pub const CSV_HEADER: &str = "time,duration,pid,name,rss,vms,uss,pss,swap";

/// The largest recording `plot` reads, in bytes: 256 MiB (about 4 million CSV rows). The samples
/// are held in memory to be drawn; a device such as /dev/zero must not be read until memory
/// runs out.
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// The largest time (and sample duration) a recording may hold, in seconds: 10^9 s, about 31
/// years. An infinite or absurd span has no axis to draw.
pub const MAX_SECONDS: f64 = 1e9;

/// Writes the CSV header line.
pub fn write_csv_header(w: &mut impl Write) -> io::Result<()> {
    writeln!(w, "{CSV_HEADER}")
}

/// Writes one sample as CSV rows: its processes, then a `total` row with an empty pid. Sizes in
/// bytes; a field not recorded (USS in fast mode) is empty.
pub fn write_csv(w: &mut impl Write, s: &Sample) -> io::Result<()> {
    for p in &s.processes {
        let (time, duration, pid, name) = (s.time, s.duration, p.pid, csv_field(&p.name));
        let figures = csv_figures(&p.memory);
        writeln!(w, "{time:.6},{duration:.6},{pid},{name},{figures}")?;
    }
    let (time, duration, figures) = (s.time, s.duration, csv_figures(&s.total));
    writeln!(w, "{time:.6},{duration:.6},,total,{figures}")
}

/// `rss,vms,uss,pss,swap` in bytes; a figure not recorded (USS in fast mode) is empty.
fn csv_figures(f: &Figures) -> String {
    let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    let (rss, vms, uss, pss, swap) = (f.rss, f.vms, opt(f.uss), opt(f.pss), opt(f.swap));
    format!("{rss},{vms},{uss},{pss},{swap}")
}

/// A CSV field, quoted (RFC 4180) when it holds a comma, quote or line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes one sample as a JSON object on one line.
pub fn write_jsonl(w: &mut impl Write, s: &Sample) -> io::Result<()> {
    serde_json::to_writer(&mut *w, s)?;
    writeln!(w)
}

/// A recording read back: its samples, and whether a cut last line was left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// The complete samples, in file order.
    pub samples: Vec<Sample>,
    /// Whether the file ended in a line without its newline (the recorder was stopped mid-write,
    /// or its disk filled): that line was dropped, since a cut number would be wrong.
    pub cut_line_dropped: bool,
}

/// Reads the recording at `path`: CSV by extension, else JSON lines. Only a regular file of at
/// most [`MAX_FILE_BYTES`] is read.
pub fn read_file(path: &Path) -> anyhow::Result<Recording> {
    let mut options = File::options();
    options.read(true);
    // Non-blocking: opening a FIFO must not wait for a writer (a regular file ignores the flag).
    // Windows has no FIFO that a plain open waits on.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        bail!("not a regular file (a recording of `memsight record -o`)");
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        bail!(
            "larger than {} MiB, the most `memsight plot` reads",
            MAX_FILE_BYTES >> 20
        );
    }
    if is_csv(path) {
        read_csv(&bytes)
    } else {
        read_jsonl(&bytes)
    }
}

/// The lines of `bytes`, numbered from 1, without a last line that lacks its newline; and whether
/// there was one.
fn complete_lines(bytes: &[u8]) -> anyhow::Result<(Vec<(usize, &str)>, bool)> {
    let (complete, cut) = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(end) => (&bytes[..=end], end + 1 < bytes.len()),
        None => (&bytes[..0], !bytes.is_empty()),
    };
    let text = std::str::from_utf8(complete).map_err(|e| {
        let line = complete[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        anyhow!("line {}: not UTF-8", line + 1)
    })?;
    Ok((
        text.lines().enumerate().map(|(i, l)| (i + 1, l)).collect(),
        cut,
    ))
}

/// Checks a sample's clock: finite, from 0 to [`MAX_SECONDS`].
fn check_times(s: &Sample) -> anyhow::Result<()> {
    for (what, v) in [("time", s.time), ("duration", s.duration)] {
        if !(0.0..=MAX_SECONDS).contains(&v) {
            bail!("{what} {v:?} is not a number of seconds from 0 to {MAX_SECONDS:e}");
        }
    }
    Ok(())
}

/// Reads a JSON-lines recording: one [`Sample`] a line; blank lines are skipped, and so is a
/// last line without its newline.
pub fn read_jsonl(bytes: &[u8]) -> anyhow::Result<Recording> {
    let (lines, cut_line_dropped) = complete_lines(bytes)?;
    let samples = lines
        .into_iter()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l)
                .map_err(anyhow::Error::from)
                .and_then(|s: Sample| check_times(&s).map(|()| s))
                .with_context(|| format!("line {n}"))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Recording {
        samples,
        cut_line_dropped,
    })
}

/// Reads a CSV recording (see [`CSV_HEADER`]): process rows, each sample closed by its `total`
/// row (empty pid). Process rows after the last total row (a cut-off file) are dropped, and so is
/// a last line without its newline.
pub fn read_csv(bytes: &[u8]) -> anyhow::Result<Recording> {
    let (lines, cut_line_dropped) = complete_lines(bytes)?;
    let mut lines = lines.into_iter();
    match lines.next() {
        Some((_, h)) if h.trim() == CSV_HEADER => {}
        _ => bail!("line 1: not the header {CSV_HEADER}"),
    }
    let mut samples = Vec::new();
    let mut current: Vec<ProcessSample> = Vec::new();
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let mut row = || -> anyhow::Result<()> {
            let f = split_csv(line);
            let [time, duration, pid, name, rss, vms, uss, pss, swap] = f.as_slice() else {
                bail!("expected 9 fields, found {}", f.len());
            };
            let num = |s: &str| -> anyhow::Result<u64> {
                s.parse().map_err(|_| anyhow!("not a number: {s}"))
            };
            let opt = |s: &str| -> anyhow::Result<Option<u64>> {
                if s.is_empty() {
                    Ok(None)
                } else {
                    num(s).map(Some)
                }
            };
            let secs = |s: &str| -> anyhow::Result<f64> {
                s.parse().map_err(|_| anyhow!("not a time: {s}"))
            };
            let figures = Figures {
                rss: num(rss)?,
                vms: num(vms)?,
                uss: opt(uss)?,
                pss: opt(pss)?,
                swap: opt(swap)?,
            };
            if pid.is_empty() {
                let sample = Sample {
                    time: secs(time)?,
                    duration: secs(duration)?,
                    total: figures,
                    processes: std::mem::take(&mut current),
                };
                check_times(&sample)?;
                samples.push(sample);
            } else {
                current.push(ProcessSample {
                    pid: pid.parse().map_err(|_| anyhow!("not a pid: {pid}"))?,
                    name: name.clone(),
                    name_bytes: None,
                    memory: figures,
                });
            }
            Ok(())
        };
        row().with_context(|| format!("line {n}"))?;
    }
    Ok(Recording {
        samples,
        cut_line_dropped,
    })
}

/// Splits one CSV line into fields, undoing RFC 4180 quoting.
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                push(&mut fields, '"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => push(&mut fields, c),
        }
    }
    fields
}

fn push(fields: &mut [String], c: char) {
    if let Some(last) = fields.last_mut() {
        last.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Sample> {
        (0..5u64)
            .map(|i| {
                let mut s = Sample {
                    time: i as f64 * 0.125,
                    duration: 0.001,
                    processes: vec![
                        ProcessSample {
                            pid: 10,
                            name: "x, \"y\"".into(),
                            name_bytes: None,
                            memory: Figures {
                                rss: (i + 1) << 20,
                                vms: 8 << 20,
                                uss: Some(i << 20),
                                pss: Some(i << 20),
                                swap: Some(0),
                            },
                        },
                        ProcessSample {
                            pid: 11,
                            name: "child".into(),
                            name_bytes: None,
                            memory: Figures {
                                rss: 1 << 20,
                                vms: 4 << 20,
                                uss: None,
                                pss: None,
                                swap: None,
                            },
                        },
                    ],
                    ..Sample::default()
                };
                s.sum();
                s
            })
            .collect()
    }

    fn csv_bytes() -> Vec<u8> {
        let mut buf = Vec::new();
        write_csv_header(&mut buf).unwrap();
        for s in samples() {
            write_csv(&mut buf, &s).unwrap();
        }
        buf
    }

    fn jsonl_bytes() -> Vec<u8> {
        let mut buf = Vec::new();
        for s in samples() {
            write_jsonl(&mut buf, &s).unwrap();
        }
        buf
    }

    #[test]
    fn csv_rows_and_total() {
        let mut s = samples().remove(1);
        s.processes.truncate(1);
        s.sum();
        let mut buf = Vec::new();
        write_csv_header(&mut buf).unwrap();
        write_csv(&mut buf, &s).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "time,duration,pid,name,rss,vms,uss,pss,swap\n\
             0.125000,0.001000,10,\"x, \"\"y\"\"\",2097152,8388608,1048576,1048576,0\n\
             0.125000,0.001000,,total,2097152,8388608,1048576,1048576,0\n"
        );
    }

    #[test]
    fn csv_round_trip() {
        let mut buf = csv_bytes();
        // A file cut off after a process row keeps only complete samples.
        buf.extend_from_slice(b"0.5,0.001,10,x,1,2,3,4,5\n");
        let r = read_csv(&buf).unwrap();
        assert_eq!((r.samples, r.cut_line_dropped), (samples(), false));
    }

    #[test]
    fn jsonl_round_trip() {
        let mut buf = jsonl_bytes();
        buf.extend_from_slice(b"\n");
        let r = read_jsonl(&buf).unwrap();
        assert_eq!((r.samples, r.cut_line_dropped), (samples(), false));
        let v: serde_json::Value =
            serde_json::from_str(std::str::from_utf8(&buf).unwrap().lines().next().unwrap())
                .unwrap();
        assert_eq!(v["processes"][1]["pid"], 11);
    }

    #[test]
    fn a_cut_last_line_is_dropped_even_when_it_parses() {
        // "0.625,...,,total,12" cut from "...,1234\n" would read as a wrong number.
        let mut csv = csv_bytes();
        csv.extend_from_slice(b"0.625000,0.001000,,total,12");
        let r = read_csv(&csv).unwrap();
        assert_eq!((r.samples, r.cut_line_dropped), (samples(), true));
        let mut jsonl = jsonl_bytes();
        jsonl.extend_from_slice(b"{\"time\":0.7,\"duration\":0.001,\"rss\":1,\"vms\":1,\"proc");
        let r = read_jsonl(&jsonl).unwrap();
        assert_eq!((r.samples, r.cut_line_dropped), (samples(), true));
        let r = read_jsonl(b"{\"time\":0.7").unwrap();
        assert_eq!((r.samples.len(), r.cut_line_dropped), (0, true));
    }

    #[test]
    fn bad_files_name_the_line() {
        let err = read_csv(b"nope\n").unwrap_err();
        assert!(format!("{err:#}").contains("line 1"));
        let bad = format!("{CSV_HEADER}\n0.1,0.1,,total,x,1,,,\n");
        let err = read_csv(bad.as_bytes()).unwrap_err();
        assert!(
            format!("{err:#}").contains("line 2: not a number: x"),
            "{err:#}"
        );
        let err = read_jsonl(b"{}\n{\"time\":\n").unwrap_err();
        assert!(format!("{err:#}").contains("line 1"), "{err:#}");
        let err = read_jsonl(b"\n\n\xff\n").unwrap_err();
        assert!(format!("{err:#}").contains("line 3: not UTF-8"), "{err:#}");
    }

    #[test]
    fn infinite_and_absurd_times_are_refused_with_their_line() {
        let csv = format!("{CSV_HEADER}\n0,0,,total,1,1,1,1,1\ninf,0,,total,2,2,2,2,2\n");
        let err = format!("{:#}", read_csv(csv.as_bytes()).unwrap_err());
        assert!(err.contains("line 3: time inf"), "{err}");
        let csv = format!("{CSV_HEADER}\nNaN,0,,total,1,1,1,1,1\n");
        let err = format!("{:#}", read_csv(csv.as_bytes()).unwrap_err());
        assert!(err.contains("line 2: time NaN"), "{err}");
        let csv = format!("{CSV_HEADER}\n0,1e300,,total,1,1,1,1,1\n");
        let err = format!("{:#}", read_csv(csv.as_bytes()).unwrap_err());
        assert!(err.contains("line 2: duration"), "{err}");
        let jsonl = b"{\"time\":-1.7e308,\"duration\":0,\"rss\":1,\"vms\":1,\"processes\":[]}\n\
                      {\"time\":1.7e308,\"duration\":0,\"rss\":1,\"vms\":1,\"processes\":[]}\n";
        let err = format!("{:#}", read_jsonl(jsonl).unwrap_err());
        assert!(err.contains("line 1: time -1.7e308"), "{err}");
        let jsonl = b"{\"time\":1.7e308,\"duration\":0,\"rss\":1,\"vms\":1,\"processes\":[]}\n";
        let err = format!("{:#}", read_jsonl(jsonl).unwrap_err());
        assert!(err.contains("line 1: time"), "{err}");
    }

    #[test]
    fn csv_quotes() {
        assert_eq!(split_csv("a,\"b,\"\"c\"\"\",,d"), ["a", "b,\"c\"", "", "d"]);
    }

    #[test]
    fn only_regular_files_of_bounded_size_are_read() {
        let dir = tempfile::tempdir().unwrap();
        #[cfg(unix)]
        {
            let err = format!("{:#}", read_file(Path::new("/dev/zero")).unwrap_err());
            assert!(err.contains("not a regular file"), "{err}");
            // A FIFO with no writer: refused at once, not waited on.
            let fifo = dir.path().join("fifo.jsonl");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            if made.is_ok_and(|s| s.success()) {
                let err = format!("{:#}", read_file(&fifo).unwrap_err());
                assert!(err.contains("not a regular file"), "{err}");
            }
        }
        let big = dir.path().join("big.csv");
        let f = File::create(&big).unwrap();
        // Sparse: no disk used.
        f.set_len(MAX_FILE_BYTES + 1).unwrap();
        let err = format!("{:#}", read_file(&big).unwrap_err());
        assert!(err.contains("larger than 256 MiB"), "{err}");
    }

    /// Property: any bytes give samples or an error, never a panic; and a recording written by
    /// the writers reads back the same after any cut, minus at most its last sample.
    #[test]
    fn readers_survive_arbitrary_and_cut_bytes() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let csv = csv_bytes();
        let jsonl = jsonl_bytes();
        for _ in 0..2000 {
            let mut junk = csv.clone();
            for _ in 0..(next() % 4) {
                let i = (next() as usize) % junk.len();
                junk[i] = next() as u8;
            }
            let _ = read_csv(&junk);
            let _ = read_jsonl(&junk);
        }
        for (bytes, read) in [
            (&csv, read_csv as fn(&[u8]) -> anyhow::Result<Recording>),
            (&jsonl, read_jsonl),
        ] {
            for cut in 0..bytes.len() {
                let Ok(r) = read(&bytes[..cut]) else {
                    // Only a CSV cut inside its header line may fail.
                    assert!(cut < CSV_HEADER.len() + 1, "cut at {cut}");
                    continue;
                };
                let all = samples();
                assert!(r.samples.len() <= all.len());
                assert_eq!(r.samples[..], all[..r.samples.len()], "cut at {cut}");
            }
        }
    }
}
