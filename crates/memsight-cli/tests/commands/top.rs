//! `memsight top`: the full-screen view driven under tmux as a person uses it (keys in,
//! screen out), and batch mode's JSON for the growth verdict on real children.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a failed unwrap is a failed test

use crate::support;

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use support::{Guard, memsight};

/// A python3 child running `script`, with `tag` as its `argv[0]` (so the command column starts
/// with it) and its last argument; returned once it prints `ready`, killed on drop.
fn kid(script: &str, tag: &str) -> Guard {
    let mut c = Command::new("python3");
    c.arg0(tag).args(["-c", script, tag]).stdin(Stdio::null());
    Guard(crate::hostile::spawn_ready(c))
}

/// A child holding `mib` MiB of private memory it wrote.
fn hog(mib: u64, tag: &str) -> Guard {
    kid(
        &format!(
            "import time\nb = b'x' * ({mib} << 20)\nprint('ready', flush=True)\ntime.sleep(600)"
        ),
        tag,
    )
}

/// A unique tag for this test's children.
fn tag(name: &str) -> String {
    format!("memsight-top-{name}-{}", std::process::id())
}

/// A tmux server of our own (its socket in a temporary directory) with one window running a
/// command; killed on drop.
struct Tmux {
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmux {
    fn start(command: &str, width: u16, height: u16) -> Tmux {
        if Command::new("tmux").arg("-V").output().is_err() {
            support::skip_or_fail("tmux is not installed", false);
        }
        let dir = tempfile::tempdir().unwrap();
        let t = Tmux {
            socket: dir.path().join("tmux.sock"),
            _dir: dir,
        };
        t.run(&[
            "new-session",
            "-d",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            command,
        ]);
        t
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// `/`, `text`, Enter: the view's filter, typed (on the command line it would match the
    /// tmux and shell processes that carry it).
    fn filter(&self, text: &str) {
        self.keys(&["/", "C-u"]);
        self.type_text(text);
        self.keys(&["Enter"]);
    }

    /// Typed text, sent literally.
    fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "0", "-l", text]);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "0"])
    }

    /// The screen once `ready` holds for it; a generous bound, so a loaded machine only waits.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "waited 90 s for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn resize(&self, width: u16, height: u16) {
        self.run(&[
            "resize-window",
            "-t",
            "0",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// `memsight top ARGS` in a tmux window; after it exits the window runs `stty -a` and waits.
fn top_in_tmux(args: &str, width: u16, height: u16) -> Tmux {
    let bin = env!("CARGO_BIN_EXE_memsight");
    Tmux::start(
        &format!("{bin} top {args}; echo top-exited-$?; stty -a; sleep 600"),
        width,
        height,
    )
}

/// The screen's row of `pid`, split on white space.
fn row_of(screen: &str, pid: u32) -> Option<Vec<String>> {
    screen.lines().find_map(|l| {
        let cells: Vec<String> = l.split_whitespace().map(str::to_owned).collect();
        (cells.first().map(String::as_str) == Some(&pid.to_string())).then_some(cells)
    })
}

/// bytes2human's text back into bytes (`64.3M`).
fn human(text: &str) -> f64 {
    let (num, unit) = text.split_at(text.len() - 1);
    let shift = match unit {
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "B" => 0,
        _ => panic!("not a size: {text}"),
    };
    num.parse::<f64>().unwrap() * (1u64 << shift) as f64
}

fn ps_uss(pid: u32) -> f64 {
    let out = memsight()
        .args(["ps", "--json", "--pid", &pid.to_string()])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["processes"][0]["uss"].as_f64().unwrap()
}

#[test]
fn screen_shows_the_header_and_a_childs_uss_as_ps_does() {
    let tag = tag("row");
    let child = hog(64, &tag);
    let pid = child.0.id();
    let t = top_in_tmux("", 200, 60);
    t.wait_for("the table", |x| x.contains("COMMAND"));
    t.filter(&tag);
    let screen = t.wait_for("the child's row", |s| row_of(s, pid).is_some());
    for head in [
        "memsight top",
        "Mem:",
        "Swap:",
        "PSI:",
        "USS",
        "PSS",
        "EPSS",
        "PEAK",
    ] {
        assert!(screen.contains(head), "no {head:?} in:\n{screen}");
    }
    let cells = row_of(&screen, pid).unwrap();
    // PID USER USS ...
    let shown = human(&cells[2]);
    let ps = ps_uss(pid);
    assert!(
        (shown - ps).abs() <= ps * 0.05,
        "top shows USS {} for {pid}, ps --json says {ps}",
        cells[2]
    );
    assert!(shown >= 64.0 * 1048576.0, "{shown}");
    // Enter: the child's detail (info's memory rows, maps by path, USS/PSS sparklines).
    t.keys(&["Enter"]);
    let screen = t.wait_for("the detail", |x| {
        x.contains(&format!("Process {pid}")) && x.contains("[heap]")
    });
    for part in [
        "memory-ex  peak_rss=",
        "memory-full uss=",
        "USS: now",
        "PSS: now",
        "PATH (maps grouped)",
    ] {
        assert!(screen.contains(part), "no {part:?} in:\n{screen}");
    }
    // Back, `p` pauses, `?` helps.
    t.keys(&["Escape"]);
    t.wait_for("the table again", |x| row_of(x, pid).is_some());
    t.keys(&["p"]);
    t.wait_for("paused", |x| {
        x.contains("PAUSED") && row_of(x, pid).is_some()
    });
    t.keys(&["?"]);
    t.wait_for("the help", |x| {
        x.contains("leak suspect") && x.contains("Keys:")
    });
}

#[test]
fn sort_keys_reorder_and_the_filter_hides_others() {
    let tag = tag("sort");
    let small = hog(16, &format!("{tag}-small"));
    let big = hog(96, &format!("{tag}-big"));
    let (s, b) = (small.0.id(), big.0.id());
    let t = top_in_tmux("", 200, 60);
    t.wait_for("the table", |x| x.contains("COMMAND"));
    t.filter(&tag);
    let position = |screen: &str, pid: u32| {
        screen
            .lines()
            .position(|l| l.split_whitespace().next() == Some(&pid.to_string()))
    };
    let both = |s_: &str| position(s_, s).is_some() && position(s_, b).is_some();
    // Sorted by USS: the big one first.
    let screen = t.wait_for("both children", both);
    assert!(position(&screen, b) < position(&screen, s), "{screen}");
    // `N`: by pid, the smaller pid first (the small one's, unless pids wrapped in between).
    t.keys(&["N"]);
    let (first, second) = (s.min(b), s.max(b));
    let screen = t.wait_for("pid order", |x| {
        both(x) && position(x, first) < position(x, second) && x.contains("PID*")
    });
    assert!(screen.contains("PID*"));
    // `<` and `>` walk the columns: from PID, `>` twice is USS again.
    t.keys(&[">", ">"]);
    t.wait_for("USS order", |x| {
        both(x) && position(x, b) < position(x, s) && x.contains("USS*")
    });
    // The filter: `/`, the small one's tag, Enter: the big one is gone.
    t.filter(&format!("{tag}-small"));
    let screen = t.wait_for("the filter", |x| {
        position(x, s).is_some() && position(x, b).is_none()
    });
    // Nothing else either: the one row is the small child's.
    let rows = screen
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|w| w.parse::<u32>().is_ok())
        })
        .count();
    assert_eq!(rows, 1, "{screen}");
}

#[test]
fn tree_and_cgroup_grouping() {
    let tag = tag("tree");
    // A parent holding 8 MiB with a child holding 24 MiB (its argv[0] the tag too), which ends
    // when its parent's pipe closes.
    let script = "import shutil, subprocess, sys, time\n\
                  b = b'x' * (8 << 20)\n\
                  c = subprocess.Popen([sys.argv[1] + '-child', '-c', \
                  'import sys\\nb = b\"y\" * (24 << 20)\\nprint(\"ready\", flush=True)\\nsys.stdin.read()'], \
                  executable=shutil.which('python3'), stdin=subprocess.PIPE, stdout=subprocess.PIPE)\n\
                  c.stdout.readline()\n\
                  print('ready', flush=True)\n\
                  try:\n    time.sleep(600)\nfinally:\n    c.kill()";
    let parent = kid(script, &tag);
    let ppid = parent.0.id();
    let child_tag = format!("{tag}-child");
    let t = top_in_tmux("", 200, 60);
    t.wait_for("the table", |x| x.contains("COMMAND"));
    t.filter(&tag);
    let index = |x: &str, what: &str| x.lines().position(|l| l.contains(what));
    let parent_line = |x: &str| {
        x.lines()
            .position(|l| l.split_whitespace().next() == Some(&ppid.to_string()))
    };
    let screen = t.wait_for("both rows", |x| {
        parent_line(x).is_some() && index(x, &child_tag).is_some()
    });
    // By USS the child (24 MiB) comes first, not indented.
    assert!(
        index(&screen, &child_tag) < parent_line(&screen),
        "{screen}"
    );
    assert!(!screen.contains(&format!("`- {child_tag}")), "{screen}");
    t.keys(&["t"]);
    let screen = t.wait_for("the tree", |x| x.contains(&format!("`- {child_tag}")));
    assert_eq!(
        index(&screen, &child_tag),
        parent_line(&screen).map(|i| i + 1),
        "the child is not under its parent:\n{screen}"
    );
    t.keys(&["c"]);
    let screen = t.wait_for("cgroup rows", |x| {
        x.contains("cgroups") && x.contains("processes)")
    });
    // One row per cgroup: the sums, no pid. The test's cgroup holds both (and more).
    assert!(row_of(&screen, ppid).is_none(), "{screen}");
    let biggest = screen
        .lines()
        .filter(|l| l.contains(" processes)") || l.contains(" process)"))
        .map(|l| human(l.split_whitespace().nth(1).unwrap()))
        .fold(0.0, f64::max);
    assert!(biggest >= 32.0 * 1048576.0, "{screen}");
}

#[test]
fn resizing_keeps_it_readable_and_q_restores_the_terminal() {
    let tag = tag("resize");
    let child = hog(8, &tag);
    let pid = child.0.id();
    let t = top_in_tmux("", 200, 60);
    t.wait_for("the table", |x| x.contains("COMMAND") && x.contains("help"));
    for (w, h) in [(80u16, 24u16), (200, 60), (80, 24)] {
        t.resize(w, h);
        let screen = t.wait_for(&format!("{w}x{h}"), |x| {
            x.lines().count() <= usize::from(h)
                && x.lines()
                    .any(|l| l.contains("COMMAND") && l.contains("USS"))
                && x.lines().last().is_some_and(|l| l.contains("q quit"))
                && x.lines()
                    .next()
                    .is_some_and(|l| l.starts_with("memsight top"))
        });
        for line in screen.lines() {
            assert!(line.chars().count() <= usize::from(w), "{line}");
        }
        for head in [
            "Mem:", "Swap:", "PSI:", "PID", "USER", "USS", "PSS", "RSS", "GROW/m",
        ] {
            assert!(screen.contains(head), "{w}x{h}: no {head}:\n{screen}");
        }
    }
    // Quitting leaves a terminal in cooked mode with echo, as the shell needs it.
    let _ = pid;
    t.keys(&["q"]);
    let screen = t.wait_for("stty -a after top", |x| {
        x.contains("top-exited-0") && x.contains("icanon")
    });
    assert!(!screen.contains("-icanon"), "raw mode left on:\n{screen}");
    assert!(!screen.contains("-echo "), "echo left off:\n{screen}");
    assert!(
        screen.contains(" icanon") && screen.contains(" echo "),
        "{screen}"
    );
}

/// Frames of `memsight top -b --json` over `frames` refreshes.
fn json_frames(args: &[&str], frames: u32) -> Vec<Value> {
    let out = memsight()
        .args(["top", "-b", "--json", "-n", &frames.to_string()])
        .args(args)
        .output()
        .unwrap();
    memsight_test_support::assert_success(&out);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn suspect_in(frame: &Value, pid: u32) -> bool {
    frame["suspects"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p.as_u64() == Some(u64::from(pid)))
}

#[test]
fn a_steady_grower_is_flagged_a_jump_and_an_oscillation_never() {
    let tag = tag("growth");
    // 1 MiB/s in quarter-MiB steps.
    let grower = kid(
        "import time\nprint('ready', flush=True)\nk = []\n\
         while True:\n    k.append(b'x' * (256 << 10)); time.sleep(0.25)",
        &format!("{tag}-grow"),
    );
    // 200 MiB once, five seconds in (inside the window), then held.
    let jumper = kid(
        "import time\nprint('ready', flush=True)\ntime.sleep(5)\nb = b'x' * (200 << 20)\ntime.sleep(600)",
        &format!("{tag}-jump"),
    );
    // 64 MiB allocated and freed, over and over.
    let wave = kid(
        "import time\nprint('ready', flush=True)\n\
         while True:\n    b = b'x' * (64 << 20); time.sleep(1.5); del b; time.sleep(1.5)",
        &format!("{tag}-wave"),
    );
    let (g, j, w) = (grower.0.id(), jumper.0.id(), wave.0.id());
    // Only these three (`-p`): a refresh stays short however many processes the machine runs,
    // so the 30 s bound measures the verdict, not the scan.
    let pids = format!("{g},{j},{w}");
    let frames = json_frames(&["-d", "1", "-p", &pids], 40);
    assert_eq!(frames.len(), 40);
    let first = frames
        .iter()
        .find(|f| suspect_in(f, g))
        .unwrap_or_else(|| panic!("the grower {g} was never flagged"));
    let elapsed = first["elapsed"].as_f64().unwrap();
    assert!(elapsed <= 30.0, "flagged only after {elapsed} s");
    let row = first["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"].as_u64() == Some(u64::from(g)))
        .unwrap();
    // About 60 MiB a minute.
    let rate = row["growth"].as_f64().unwrap() / 1048576.0;
    // (A starved child grows slower than it means to: a wide bound.)
    assert!((15.0..=120.0).contains(&rate), "{rate} MiB/min");
    for f in &frames {
        assert!(!suspect_in(f, j), "the 200 MiB jump was flagged: {f}");
        assert!(!suspect_in(f, w), "the oscillation was flagged: {f}");
    }
    // The jumper's jump is in the frames: the test did exercise it.
    let uss_of = |f: &Value, pid: u32| {
        f["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pid"].as_u64() == Some(u64::from(pid)))
            .and_then(|p| p["uss"].as_u64())
    };
    assert!(uss_of(frames.last().unwrap(), j).unwrap() > 200 << 20);
    drop((grower, jumper, wave));
}

#[test]
fn json_frames_have_stable_keys_and_bytes() {
    let tag = tag("json");
    let child = hog(32, &tag);
    let frames = json_frames(&["-d", "0.2", "--filter", &tag], 2);
    assert_eq!(frames.len(), 2);
    let f = &frames[1];
    for key in [
        "time",
        "elapsed",
        "mem",
        "swap",
        "cgroup",
        "pressure",
        "processes",
        "access_denied",
        "suspects",
    ] {
        assert!(f.get(key).is_some(), "no {key} in {f}");
    }
    assert!(f["mem"]["total"].as_u64().unwrap() > 0);
    let procs = f["processes"].as_array().unwrap();
    let p = procs
        .iter()
        .find(|p| p["pid"].as_u64() == Some(u64::from(child.0.id())))
        .unwrap();
    for key in [
        "ppid", "username", "name", "cmdline", "cgroup", "uss", "pss", "swap_pss", "epss", "swap",
        "rss", "peak_rss", "growth", "suspect",
    ] {
        assert!(p.get(key).is_some(), "no {key} in {p}");
    }
    let (uss, rss, peak) = (
        p["uss"].as_u64().unwrap(),
        p["rss"].as_u64().unwrap(),
        p["peak_rss"].as_u64().unwrap(),
    );
    assert!(uss >= 32 << 20 && rss >= uss && peak >= rss, "{p}");
    assert_eq!(p["ppid"].as_u64(), Some(u64::from(std::process::id())));
    // Two frames are too few for a growth verdict.
    assert!(p["growth"].is_null());
}

#[test]
fn escapes_in_names_never_reach_the_terminal() {
    // A child whose command line retitles and clears the terminal that prints it.
    let tag = tag("hostile");
    let hostile = kid(
        "import time\nprint('ready', flush=True)\ntime.sleep(600)",
        &format!("{tag}{}", crate::hostile::HOSTILE),
    );
    let out = memsight()
        .args(["top", "-b", "-n", "1", "--filter", &tag])
        .output()
        .unwrap();
    memsight_test_support::assert_success(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with(&format!("{:>7}", hostile.0.id()))),
        "{text}"
    );
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(text.contains("?]0;pwn??[2J"), "{text}");
}

#[test]
fn processes_exiting_mid_refresh_drop_out_silently() {
    // A shell that starts and ends short-lived processes all along.
    let churn = Guard(
        Command::new("sh")
            .args([
                "-c",
                "while :; do for i in 1 2 3 4 5 6 7 8; do sleep 0.01 & done; wait; done",
            ])
            .spawn()
            .unwrap(),
    );
    let out = memsight()
        .args(["top", "-b", "-n", "5", "-d", "0.2"])
        .output()
        .unwrap();
    drop(churn);
    memsight_test_support::assert_success(&out);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.matches("memsight top - ").count(), 5);
}

#[test]
fn header_shows_the_cgroup_limit_and_pressure_or_na() {
    let dir = tempfile::tempdir().unwrap();
    support::copy_tree(&support::fixture("cgroup-v2"), dir.path());
    let (proc_root, sys_root) = (dir.path().join("proc"), dir.path().join("sys"));
    let frame = || {
        let out = memsight()
            .arg("--procfs")
            .arg(&proc_root)
            .arg("--sysfs")
            .arg(&sys_root)
            .args(["top", "-b", "-n", "1"])
            .output()
            .unwrap();
        memsight_test_support::assert_success(&out);
        String::from_utf8(out.stdout).unwrap()
    };
    // No /proc/pressure (a kernel without PSI): n/a, and the fixture cgroup's 128 MiB limit.
    let text = frame();
    assert!(text.contains("PSI:  some n/a, full n/a"), "{text}");
    assert!(
        text.contains(
            "Cgroup: 128.0M limit, 64.0M used (50.0%), 56.0M working set, /kubepods/pod1/ctr"
        ),
        "{text}"
    );
    assert!(text.contains("Mem:  976.6M total"), "{text}");
    std::fs::create_dir(proc_root.join("pressure")).unwrap();
    std::fs::write(
        proc_root.join("pressure/memory"),
        "some avg10=1.25 avg60=0.50 avg300=0.10 total=123\nfull avg10=0.75 avg60=0.25 avg300=0.05 total=45\n",
    )
    .unwrap();
    let text = frame();
    assert!(
        text.contains("PSI:  some avg10 1.25% avg60 0.50%, full avg10 0.75% avg60 0.25%"),
        "{text}"
    );
}

#[test]
fn denied_rows_show_rss_with_a_marker_and_the_footer_counts_them() {
    support::require_root("running memsight as nobody through setpriv");
    let tag = tag("denied");
    let child = hog(16, &tag);
    let pid = u64::from(child.0.id());
    let as_nobody = |args: &[&str]| {
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_memsight"))
            .args(["top", "-b", "-n", "1", "--filter", &tag])
            .args(args)
            .output()
            .unwrap();
        memsight_test_support::assert_success(&out);
        String::from_utf8(out.stdout).unwrap()
    };
    let frame: Value = serde_json::from_str(&as_nobody(&["--json"])).unwrap();
    let p = frame["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"].as_u64() == Some(pid))
        .unwrap_or_else(|| panic!("{frame}"));
    assert!(p["uss"].is_null() && p["pss"].is_null(), "{p}");
    assert!(p["rss"].as_u64().unwrap() >= 16 << 20, "{p}");
    assert!(
        frame["access_denied"]
            .as_array()
            .unwrap()
            .contains(&pid.into())
    );
    let text = as_nobody(&[]);
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{pid:>7}")))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains(" d "), "{line}");
    assert!(
        text.contains("1 process denied (d: RSS only; run as root to see them)"),
        "{text}"
    );
}
