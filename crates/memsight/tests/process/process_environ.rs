//! environ() and environ_os() on processes started with a known environment, against psutil.
#![cfg(target_os = "linux")] // /proc, ptrace modes, psutil oracles: see windows.rs for Windows
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

use memsight_test_support as support;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;

use memsight::Process;
use support::{Kid, psutil};

#[test]
fn known_environment() {
    let kid = Kid::spawn(
        Command::new("sleep")
            .arg("100")
            .env_clear()
            .env("A", "1")
            .env("OPTS", "x=y=z")
            .env("EMPTY", "")
            .env("BYTES", OsStr::from_bytes(b"caf\xe9")),
    );
    support::wait_until("sleep has exec'd", || {
        Process::new(kid.pid())
            .and_then(|p| p.name())
            .is_ok_and(|n| n == "sleep")
    });
    let p = Process::new(kid.pid()).unwrap();
    let env = p.environ().unwrap();
    let want: BTreeMap<String, String> = [
        ("A", "1"),
        ("BYTES", "caf\u{fffd}"),
        ("EMPTY", ""),
        ("OPTS", "x=y=z"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(env, want);
    let os = p.environ_os().unwrap();
    assert_eq!(os[OsStr::new("BYTES")].as_bytes(), b"caf\xe9");
    assert_eq!(os.len(), 4);
    // psutil agrees on the UTF-8 entries.
    let theirs = psutil(
        "e = psutil.Process(int(sys.argv[1])).environ()\nprint(json.dumps({k: v for k, v in e.items() if k != 'BYTES'}))",
        &[kid.pid().to_string()],
    );
    let mut mine = serde_json::to_value(&env).unwrap();
    mine.as_object_mut().unwrap().remove("BYTES");
    assert_eq!(mine, theirs);
}

#[test]
fn own_environment_matches_psutil() {
    let me = Process::current().unwrap();
    let env = me.environ().unwrap();
    assert!(env.contains_key("PATH"));
    let theirs = psutil(
        "print(json.dumps(psutil.Process(int(sys.argv[1])).environ()))",
        &[std::process::id().to_string()],
    );
    assert_eq!(serde_json::to_value(&env).unwrap(), theirs);
}
