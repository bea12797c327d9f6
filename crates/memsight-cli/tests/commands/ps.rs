//! `memsight ps`: the table and `--json` against processes the test starts, psutil's figures,
//! the filters, the `nobody` view, broken pipes, and a scan under process churn.

// Runs the Linux binary against procps, psutil and /proc; tests/windows.rs is the Windows one.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

use crate::support;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Output, Stdio};

use memsight_test_support::python;
use support::memsight;

use serde_json::Value;

const MIB: u64 = 1 << 20;

struct Kid(Child);

impl Kid {
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ps_json(args: &[&str]) -> Value {
    let out = run(memsight().arg("ps").arg("--json").args(args));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A python child that writes `mib` MiB of private memory, then sleeps; `tag` lands in its
/// command line.
fn hog(mib: u64, tag: &str) -> Kid {
    let mut hog = Command::new(python());
    hog.arg("-c")
        .arg(format!(
            "import time\nb = bytearray(b'\\x01') * ({mib} << 20)\nprint('ready', flush=True)\ntime.sleep(100)"
        ))
        .arg(tag)
        .stdin(Stdio::null());
    let child = crate::hostile::spawn_ready(hog);
    // Let the interpreter settle into its sleep.
    std::thread::sleep(std::time::Duration::from_millis(300));
    Kid(child)
}

fn sleeper_as_nobody() -> Kid {
    let kid = Kid(Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "sleep",
            "100",
        ])
        .spawn()
        .unwrap());
    for _ in 0..500 {
        if std::fs::read(format!("/proc/{}/cmdline", kid.pid()))
            .is_ok_and(|c| c.starts_with(b"sleep"))
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    kid
}

fn entry(report: &Value, pid: u32) -> Option<&Value> {
    report["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == pid)
}

#[test]
fn json_report_shape_sort_and_totals() {
    let kid = hog(64, "memsight-ps-json-test");
    let report = ps_json(&[]);
    let procs = report["processes"].as_array().unwrap();
    let me = entry(&report, kid.pid()).expect("the 64 MiB child is listed");
    assert!(me["uss"].as_u64().unwrap() >= 64 * MIB, "{me}");
    assert!(me["pss"].as_u64().unwrap() >= me["uss"].as_u64().unwrap());
    assert!(me["rss"].as_u64().unwrap() >= 64 * MIB);
    assert!(me["vms"].as_u64().unwrap() >= me["rss"].as_u64().unwrap());
    assert_eq!(me["username"], "root");
    assert_eq!(me["name"], "python");
    assert_eq!(
        me["cmdline"].as_array().unwrap().last().unwrap(),
        "memsight-ps-json-test"
    );
    let keys: Vec<&String> = me.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "cmdline", "name", "pid", "pss", "rss", "swap", "username", "uss", "vms"
        ]
    );
    // Largest USS first.
    let uss: Vec<u64> = procs.iter().map(|p| p["uss"].as_u64().unwrap()).collect();
    assert!(uss.windows(2).all(|w| w[0] >= w[1]), "{uss:?}");
    assert!(
        uss.iter().all(|&u| u > 0),
        "kernel threads and zombies are left out"
    );
    // Totals are the sums of the processes listed.
    for key in ["uss", "pss", "swap", "rss"] {
        let sum: u64 = procs.iter().map(|p| p[key].as_u64().unwrap()).sum();
        assert_eq!(report["totals"][key].as_u64().unwrap(), sum, "{key}");
    }
    assert!(report["access_denied"].is_array());
    // No kernel thread is listed.
    assert!(entry(&report, 2).is_none());
}

#[test]
fn figures_match_psutil_and_ps() {
    let kid = hog(32, "memsight-ps-psutil-test");
    let report = ps_json(&["--pid", &kid.pid().to_string()]);
    let mine = entry(&report, kid.pid()).unwrap();
    let script = "import psutil, json, sys\np = psutil.Process(int(sys.argv[1]))\nwith p.oneshot():\n    m = p.memory_full_info()\n    print(json.dumps(dict(pid=p.pid, username=p.username(), name=p.name(), cmdline=p.cmdline(), uss=m.uss, pss=m.pss, swap=m.swap, rss=m.rss, vms=m.vms)))";
    let out = run(Command::new(python()).args(["-c", script, &kid.pid().to_string()]));
    let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["pid", "username", "name", "cmdline", "swap", "rss", "vms"] {
        assert_eq!(mine[key], theirs[key], "{key}");
    }
    // USS and PSS move as the oracle's own python (and other tests' pythons) map and unmap
    // libpython and libc, about 4 MiB of text: 8 MiB of slack.
    for key in ["uss", "pss"] {
        let (m, t) = (mine[key].as_u64().unwrap(), theirs[key].as_u64().unwrap());
        assert!(m.abs_diff(t) <= 8 * MIB, "{key}: {m} vs {t}");
    }
    let out = run(Command::new("ps").args(["-o", "rss=,vsz=", "-p", &kid.pid().to_string()]));
    let kb: Vec<u64> = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    assert_eq!(
        kb,
        [
            mine["rss"].as_u64().unwrap() / 1024,
            mine["vms"].as_u64().unwrap() / 1024
        ]
    );
}

#[test]
fn filters_sort_and_limit() {
    let big = hog(48, "memsight-filter-big");
    let small = hog(16, "memsight-filter-small");
    let nobody = sleeper_as_nobody();
    let pids = format!("{},{},{}", big.pid(), small.pid(), nobody.pid());
    let listed = |report: &Value| -> Vec<u32> {
        report["processes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["pid"].as_u64().unwrap() as u32)
            .collect()
    };
    let r = ps_json(&["--pid", &pids]);
    assert_eq!(listed(&r), [big.pid(), small.pid(), nobody.pid()]);
    let r = ps_json(&["--pid", &pids, "-r"]);
    assert_eq!(listed(&r), [nobody.pid(), small.pid(), big.pid()]);
    let r = ps_json(&["--pid", &pids, "--sort", "pid"]);
    let mut sorted = vec![big.pid(), small.pid(), nobody.pid()];
    sorted.sort();
    assert_eq!(listed(&r), sorted);
    let r = ps_json(&["--pid", &pids, "--sort", "rss", "--limit", "1"]);
    assert_eq!(listed(&r), [big.pid()]);
    let r = ps_json(&["--pid", &pids, "--user", "nobody"]);
    assert_eq!(listed(&r), [nobody.pid()]);
    assert_eq!(entry(&r, nobody.pid()).unwrap()["username"], "nobody");
    let r = ps_json(&["--pid", &pids, "--user", "65534"]);
    assert_eq!(listed(&r), [nobody.pid()]);
    let r = ps_json(&["--match", "memsight-filter-(big|small)$"]);
    assert_eq!(listed(&r), [big.pid(), small.pid()]);
    let r = ps_json(&["--pid", &pids, "--sort", "vms"]);
    let vms: Vec<u64> = r["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["vms"].as_u64().unwrap())
        .collect();
    assert!(vms.windows(2).all(|w| w[0] >= w[1]));
    // A bad regex or sort key is a usage error.
    let out = memsight().args(["ps", "--match", "("]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = memsight().args(["ps", "--sort", "size"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn human_table() {
    let kid = hog(64, "memsight-table-test");
    let out = run(memsight().args(["ps", "--totals", "--pid", &kid.pid().to_string()]));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["PID", "User", "USS", "PSS", "Swap", "RSS", "Cmdline"]
    );
    assert_eq!(lines[1], "=".repeat(78));
    let row: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(row[0], kid.pid().to_string());
    assert_eq!(row[1], "root");
    // 64 MiB and a bit: "64.xM" or more.
    let uss = row[2];
    assert!(uss.ends_with('M'), "{uss}");
    assert!(uss.trim_end_matches('M').parse::<f64>().unwrap() >= 64.0);
    assert!(lines[2].ends_with("memsight-table-test"), "{}", lines[2]);
    assert_eq!(lines[3], "-".repeat(78));
    assert!(lines[4].starts_with("Total"), "{}", lines[4]);
    assert!(lines[4].ends_with(" 1 process"), "{}", lines[4]);
}

/// A copy of the binary in a directory nobody may enter (the build's may not be), run as nobody.
struct NobodyMemsight {
    dir: tempfile::TempDir,
    exe: std::path::PathBuf,
}

impl NobodyMemsight {
    fn new() -> NobodyMemsight {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let exe = dir.path().join("memsight");
        std::fs::copy(env!("CARGO_BIN_EXE_memsight"), &exe).unwrap();
        NobodyMemsight { dir, exe }
    }

    /// `memsight ARGS...` as uid/gid 65534 with no supplementary groups; it must succeed.
    fn run(&self, args: &[&str]) -> Output {
        run(Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&self.exe)
            .args(args)
            .current_dir(self.dir.path()))
    }
}

#[test]
fn nobody_sees_access_denied_counted() {
    let root_kid = hog(8, "memsight-root-owned");
    let nobody = sleeper_as_nobody();
    let nobody_memsight = NobodyMemsight::new();
    let as_nobody = |args: &[&str]| nobody_memsight.run(args);
    let report: Value = serde_json::from_slice(&as_nobody(&["ps", "--json"]).stdout).unwrap();
    let denied: Vec<u64> = report["access_denied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap())
        .collect();
    assert!(denied.contains(&u64::from(root_kid.pid())), "{denied:?}");
    assert!(!denied.contains(&u64::from(nobody.pid())));
    assert!(entry(&report, nobody.pid()).is_some());
    assert!(entry(&report, root_kid.pid()).is_none());
    let out = as_nobody(&["ps"]);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        !table.contains("access denied"),
        "the footer is not in the table"
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    let footer = stderr.lines().last().unwrap();
    let n: usize = footer
        .strip_prefix("memsight: warning: access denied to the memory of ")
        .and_then(|s| s.strip_suffix(" processes; run as root to see them"))
        .unwrap_or_else(|| panic!("footer: {footer}"))
        .parse()
        .unwrap();
    // Processes come and go on the machine between the two runs: the counts are close.
    assert!(
        n > 0 && n.abs_diff(denied.len()) <= 20,
        "{n} vs {}",
        denied.len()
    );
}

#[test]
fn access_denied_footer_counts_only_pids_the_filters_show() {
    let root_kid = hog(8, "memsight-footer-root-owned");
    let nobody = sleeper_as_nobody();
    let nobody_memsight = NobodyMemsight::new();
    let as_nobody = |args: &[&str]| nobody_memsight.run(args);
    // Filtered to nobody's own processes: nothing is denied, no footer.
    let out = as_nobody(&["ps", "--user", "nobody"]);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Exactly one denied process matches: the footer is singular.
    let out = as_nobody(&["ps", "--match", "memsight-footer-root-owned$"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "memsight: warning: access denied to the memory of 1 process; run as root to see it\n"
    );
    let out = as_nobody(&["ps", "--json", "--match", "memsight-footer-root-owned$"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["access_denied"], serde_json::json!([root_kid.pid()]));
    // Root reads both: no footer for them.
    let pids = format!("{},{}", root_kid.pid(), nobody.pid());
    let out = run(memsight().args(["ps", "--pid", &pids]));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn unknown_user_is_a_usage_error() {
    let out = memsight()
        .args(["ps", "--user", "memsight-no-such-user"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no such user: memsight-no-such-user"),
        "{stderr}"
    );
    let out = memsight()
        .args(["ps", "--json", "--user", "root"])
        .output()
        .unwrap();
    memsight_test_support::assert_success(&out);
}

#[test]
fn sort_by_vms_shows_a_vms_column() {
    let kid = hog(8, "memsight-vms-column");
    let out = run(memsight().args([
        "ps",
        "--sort",
        "vms",
        "--totals",
        "--pid",
        &kid.pid().to_string(),
    ]));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["PID", "User", "USS", "PSS", "Swap", "RSS", "VMS", "Cmdline"]
    );
    // The VMS cell ends where its right-aligned title does.
    let end = lines[0].find("VMS").unwrap() + 3;
    let cell = lines[2][..end].split_whitespace().last().unwrap();
    let report = ps_json(&["--pid", &kid.pid().to_string()]);
    let vms = entry(&report, kid.pid()).unwrap()["vms"].as_u64().unwrap();
    assert_eq!(
        cell,
        format!("{:.1}M", vms as f64 / MIB as f64),
        "{}",
        lines[2]
    );
    assert!(lines[4].starts_with("Total") && lines[4].ends_with(" 1 process"));
    assert_eq!(lines[4].split_whitespace().count(), 8, "{}", lines[4]);
}

#[test]
fn trailing_empty_arguments_are_trimmed_in_the_table() {
    // bash waits on its stdin; its command line ends in two empty arguments.
    let mut child = Command::new("bash")
        .args(["-c", "read x", "memsight-trailing", "", ""])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let pid = child.id();
    let out = run(memsight().args(["ps", "--pid", &pid.to_string()]));
    let _ = child.kill();
    let _ = child.wait();
    let text = String::from_utf8(out.stdout).unwrap();
    let row = text.lines().nth(2).unwrap();
    assert!(row.ends_with("bash -c read x memsight-trailing"), "{row:?}");
}

#[test]
fn match_does_not_list_memsight_itself() {
    let report = ps_json(&["--match", "memsight-matches-nothing-but-itself"]);
    assert_eq!(report["processes"], serde_json::json!([]));
}

/// The comm a hostile process gives itself: retitle the terminal, then clear it.
const HOSTILE_COMM: &str = "\u{1b}]0;pwn\u{7}\u{1b}[2J";

/// `cat` run through a symlink named [`HOSTILE_COMM`] (the kernel takes the comm from the name
/// exec'd) with an empty argv[0] and nothing else, so its command line is empty and tables show
/// `[name]`. It lives until its stdin closes.
fn hostile_named_cat(dir: &std::path::Path) -> Kid {
    use std::os::unix::process::CommandExt;
    let link = dir.join(HOSTILE_COMM);
    std::os::unix::fs::symlink("/bin/cat", &link).unwrap();
    let kid = Kid(Command::new(&link)
        .arg0("")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap());
    // Until exec has happened, the child still has our name.
    for _ in 0..200 {
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", kid.pid())).unwrap_or_default();
        if comm.trim_end_matches('\n') == HOSTILE_COMM {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    kid
}

#[test]
fn escape_sequences_in_names_and_cmdlines_do_not_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let named = hostile_named_cat(dir.path());
    let argv = hog(1, "\u{1b}[31mred\u{1b}[0m");
    let pids = format!("{},{}", named.pid(), argv.pid());
    let out = run(memsight().args(["ps", "--pid", &pids]));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(!out.stdout.contains(&0x1b), "{table:?}");
    assert!(table.contains("[?]0;pwn??[2J]"), "{table:?}");
    assert!(table.contains("?[31mred?[0m"), "{table:?}");
    // JSON keeps the exact values.
    let report = ps_json(&["--pid", &pids]);
    assert_eq!(entry(&report, named.pid()).unwrap()["name"], HOSTILE_COMM);
    assert_eq!(
        entry(&report, argv.pid()).unwrap()["cmdline"]
            .as_array()
            .unwrap()
            .last()
            .unwrap(),
        "\u{1b}[31mred\u{1b}[0m"
    );
}

#[test]
fn stdout_closed_at_start_is_a_write_error_and_dev_null_read_write_is_not() {
    // `>&-`: procps's answer, a write error and exit 1.
    let out = Command::new("bash")
        .args([
            "-c",
            &format!("{} free >&-", env!("CARGO_BIN_EXE_memsight")),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("write error"), "{stderr}");
    // `/dev/null` opened read-write, as Python's subprocess.DEVNULL and systemd's
    // StandardOutput=null pass it: output discarded, exit 0.
    let devnull = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .unwrap();
    let out = run(memsight().arg("free").stdout(devnull));
    memsight_test_support::assert_success(&out);
}

#[test]
fn closed_stdout_ends_quietly() {
    // Through a real pipeline.
    let out = run(Command::new("bash").args([
        "-c",
        &format!(
            "set -o pipefail; {} ps | head -1",
            env!("CARGO_BIN_EXE_memsight")
        ),
    ]));
    assert!(String::from_utf8(out.stdout).unwrap().starts_with("PID"));
    let stderr = without_denied_footer(&out.stderr);
    assert!(stderr.is_empty(), "{stderr}");
    // And with the read end closed before memsight writes anything.
    let mut child = memsight()
        .args(["ps", "--totals"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(stderr.is_empty(), "{stderr}");
}

/// Lines of `stderr` other than the access-denied footer (which root gets too, for pids holding
/// capabilities it lacks, such as a container's init).
fn without_denied_footer(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| !l.starts_with("memsight: warning: access denied to the memory of "))
        .collect()
}

#[test]
fn scan_under_process_churn_never_fails() {
    // Two shells start and end short-lived processes as fast as they can while we scan.
    let churn: Vec<Kid> = (0..2)
        .map(|_| {
            Kid(Command::new("sh")
                .args(["-c", "while :; do /bin/true & /bin/true; wait; done"])
                .spawn()
                .unwrap())
        })
        .collect();
    let last_pid = || -> u64 {
        let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap();
        loadavg.split_whitespace().nth(4).unwrap().parse().unwrap()
    };
    let started = last_pid();
    // Processes created since the start (pids wrap at pid_max: then at least that many).
    let created = |now: u64| {
        if now >= started {
            now - started
        } else {
            u64::MAX
        }
    };
    // At least 15 scans, and on until 500 processes were created meanwhile (a fast machine
    // scans 15 times before the shells have made that many; a slow one takes longer), so every
    // scan ran under churn. Bounded: the shells make thousands a second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut scans = 0;
    while scans < 15 || created(last_pid()) < 500 {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} processes created in 120 s of churn",
            created(last_pid())
        );
        let out = memsight().args(["ps", "--json"]).output().unwrap();
        memsight_test_support::assert_success(&out);
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(!report["processes"].as_array().unwrap().is_empty());
        let text = memsight().arg("ps").output().unwrap();
        memsight_test_support::assert_success(&text);
        scans += 1;
    }
    drop(churn);
}

#[test]
fn threads_option_reads_the_same_processes_on_any_count() {
    let kid = hog(16, "memsight-ps-threads");
    for threads in ["1", "2", "7"] {
        let report = ps_json(&["--threads", threads]);
        let me = entry(&report, kid.pid()).expect("the 16 MiB child is listed");
        assert!(me["uss"].as_u64().unwrap() >= 16 * MIB, "{threads}: {me}");
    }
    let out = memsight().args(["ps", "--threads", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_pid_that_does_not_exist_is_an_error_as_in_info() {
    // 4194303 is the largest pid Linux can hand out (pid_max is at most 2^22), almost never live.
    if std::path::Path::new("/proc/4194303").exists() {
        eprintln!("skipped: pid 4194303 exists on this machine");
        return;
    }
    let out = memsight()
        .args(["ps", "--pid", "4194303"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no such process: 4194303"), "{err}");
    assert!(out.stdout.is_empty());
    // One existing pid among the given ones is a table, as procps `ps -p` prints.
    let me = std::process::id().to_string();
    let out = memsight()
        .args(["ps", "--pid", &format!("{me},4194303"), "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}
