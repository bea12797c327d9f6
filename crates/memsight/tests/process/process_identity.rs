//! name, cmdline, uids, gids, username and owner_uid against psutil, `/proc/PID/status` and
//! processes the test starts with known names, arguments and users.
#![cfg(target_os = "linux")] // /proc, ptrace modes, psutil oracles: see windows.rs for Windows
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

use memsight_test_support as support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use memsight::{Error, Process};
use serde_json::{Value, json};
use support::{Kid, kernel_thread, psutil};

fn memsight_view(pid: u32) -> Option<Value> {
    let p = Process::new(pid).ok()?;
    p.oneshot(|p| {
        let uids = p.uids().ok()?;
        let gids = p.gids().ok()?;
        Some(json!({
            "name": p.name().ok()?,
            "cmdline": p.cmdline().ok()?,
            "uids": [uids.real, uids.effective, uids.saved],
            "gids": [gids.real, gids.effective, gids.saved],
            "username": p.username().ok()?,
        }))
    })
}

const PSUTIL_VIEW: &str = r#"
out = {}
for p in psutil.process_iter():
    try:
        with p.oneshot():
            out[str(p.pid)] = {"name": p.name(), "cmdline": p.cmdline(), "uids": list(p.uids()),
                "gids": list(p.gids()), "username": p.username()}
    except psutil.Error:
        pass
print(json.dumps(out))
"#;

#[test]
fn every_process_matches_psutil() {
    // A child whose name is cut at 15 characters, run as another user, with odd arguments.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let long = dir.path().join("a-rather-long-program-name");
    std::fs::copy("/bin/sleep", &long).unwrap();
    let _long = Kid::spawn(Command::new(&long).arg("100"));
    let _nobody = Kid::spawn(Command::new("setpriv").args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "sleep",
        "100",
        "1e0",
    ]));
    std::thread::sleep(std::time::Duration::from_millis(200));

    let before: BTreeMap<u32, Value> = memsight::pids()
        .unwrap()
        .into_iter()
        .filter_map(|pid| Some((pid, memsight_view(pid)?)))
        .collect();
    let oracle = psutil(PSUTIL_VIEW, &[]);
    let mut compared = 0;
    let mut suspects: Vec<u32> = Vec::new();
    for (pid, mine) in &before {
        if let Some(theirs) = oracle.get(pid.to_string()) {
            compared += 1;
            if mine != theirs {
                suspects.push(*pid);
            }
        }
    }
    // Names and command lines change (kworkers rename themselves, processes exec): a pid only
    // counts as a mismatch if the two keep disagreeing over several fresh reads.
    let mut mismatches = Vec::new();
    for pid in suspects {
        let agreed = (0..5).any(|_| {
            let theirs = psutil(
                "try:\n    p = psutil.Process(int(sys.argv[1]))\n    print(json.dumps({'name': p.name(), 'cmdline': p.cmdline(), 'uids': list(p.uids()), 'gids': list(p.gids()), 'username': p.username()}))\nexcept psutil.Error:\n    print('null')",
                &[pid.to_string()],
            );
            // A process that exited meanwhile cannot disagree.
            theirs.is_null() || memsight_view(pid).is_none_or(|mine| mine == theirs)
        });
        if !agreed {
            mismatches.push((pid, memsight_view(pid)));
        }
    }
    assert!(compared > 5, "compared only {compared} processes");
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    let long_view = before.get(&_long.pid()).expect("long-named child seen");
    assert_eq!(long_view["name"], "a-rather-long-program-name");
    let nobody_view = before.get(&_nobody.pid()).expect("nobody child seen");
    assert_eq!(nobody_view["username"], "nobody");
    assert_eq!(nobody_view["uids"], json!([65534, 65534, 65534]));
    assert_eq!(nobody_view["cmdline"], json!(["sleep", "100", "1e0"]));
}

#[test]
fn owner_uid_is_the_directory_owner() {
    let nobody = Kid::spawn(Command::new("setpriv").args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "sleep",
        "100",
    ]));
    support::wait_until("setpriv has exec'd sleep", || {
        Process::new(nobody.pid())
            .and_then(|p| p.cmdline())
            .is_ok_and(|c| c.first().map(String::as_str) == Some("sleep"))
    });
    let p = Process::new(nobody.pid()).unwrap();
    assert_eq!(p.owner_uid().unwrap(), 65534);
    assert_eq!(p.uids().unwrap().real, 65534);
    let me = Process::current().unwrap();
    assert_eq!(me.owner_uid().unwrap(), rustix::process::geteuid().as_raw());
}

#[test]
fn kernel_thread_has_a_name_and_no_cmdline() {
    let p = Process::new(kernel_thread()).unwrap();
    assert!(!p.name().unwrap().is_empty());
    assert_eq!(p.cmdline().unwrap(), Vec::<String>::new());
    assert_eq!(p.username().unwrap(), "root");
}

#[test]
fn zombie_has_a_name_but_no_cmdline() {
    let zombie = Kid::spawn(Command::new("true"));
    support::wait_until("child is a zombie", || {
        support::state(zombie.pid()) == Some(b'Z')
    });
    let p = Process::new(zombie.pid()).unwrap();
    assert_eq!(p.name().unwrap(), "true");
    assert!(
        matches!(p.cmdline(), Err(Error::ZombieProcess { pid, .. }) if pid == zombie.pid()),
        "{:?}",
        p.cmdline()
    );
    assert_eq!(p.uids().unwrap().real, 0);
}
