//! Bytes that are not UTF-8 reach the caller exactly: a child whose working directory, executable
//! (a copy of `sleep` under a non-UTF-8 name, so also its name and a mapped file), open file,
//! arguments and environment are not UTF-8. The lossy strings carry U+FFFD, the exact accessors
//! the bytes, and the serialized records the `_bytes` siblings.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use std::os::unix::ffi::OsStrExt;

use memsight::Process;
use memsight_test_support::non_utf8::{Kid, os};

fn kid() -> Kid {
    Kid::spawn()
}

#[test]
fn exact_accessors_give_the_bytes_and_lossy_ones_u_fffd() {
    let kid = kid();
    let p = Process::new(kid.child.id()).unwrap();
    assert_eq!(p.exe().unwrap(), kid.exe);
    assert_eq!(p.cwd().unwrap(), kid.cwd);
    assert_eq!(p.name_os().unwrap(), os(b"sl\xffeep"));
    assert_eq!(p.name().unwrap(), "sl\u{fffd}eep");
    assert_eq!(p.cmdline_os().unwrap(), [os(b"zero-\xff"), os(b"100")]);
    assert_eq!(p.cmdline().unwrap(), ["zero-\u{fffd}", "100"]);
    let env = p.environ_os().unwrap();
    assert_eq!(env.get(&os(b"KEY\xff")), Some(&os(b"value\xfe")));
    let files = p.open_files().unwrap();
    assert!(
        files.iter().any(|f| f.path == kid.file && f.fd == 0),
        "{files:?}"
    );
    for grouped in [false, true] {
        let maps = p.memory_maps(grouped).unwrap();
        let exe = maps
            .iter()
            .find(|m| m.path_os == kid.exe)
            .unwrap_or_else(|| panic!("{maps:?}"));
        assert_eq!(exe.path, kid.exe.to_string_lossy());
    }
}

#[test]
fn serialized_records_carry_the_bytes_beside_the_lossy_string() {
    let kid = kid();
    let p = Process::new(kid.child.id()).unwrap();
    let info = p.info().unwrap();
    assert!(info.access_denied.is_empty(), "{:?}", info.access_denied);
    let text = serde_json::to_string(&info).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let bytes = |v: &serde_json::Value| -> Vec<u8> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|b| u8::try_from(b.as_u64().unwrap()).unwrap())
            .collect()
    };
    assert_eq!(bytes(&v["cwd_bytes"]), kid.cwd.as_os_str().as_bytes());
    assert_eq!(v["cwd"], kid.cwd.to_string_lossy().as_ref());
    assert_eq!(bytes(&v["exe_bytes"]), kid.exe.as_os_str().as_bytes());
    assert_eq!(bytes(&v["name_bytes"]), b"sl\xffeep");
    assert_eq!(v["name"], "sl\u{fffd}eep");
    assert_eq!(bytes(&v["cmdline_bytes"][0]), b"zero-\xff");
    assert_eq!(bytes(&v["cmdline_bytes"][1]), b"100");
    let env = v["environ_bytes"].as_array().unwrap();
    assert!(
        env.iter()
            .any(|pair| bytes(&pair[0]) == b"KEY\xff" && bytes(&pair[1]) == b"value\xfe"),
        "{env:?}"
    );
    assert_eq!(v["environ"]["PLAIN"], "yes");
    let files = v["open_files"].as_array().unwrap();
    assert!(
        files
            .iter()
            .any(|f| f["fd"] == 0 && bytes(&f["path_bytes"]) == kid.file.as_os_str().as_bytes()),
        "{files:?}"
    );
    let maps = v["memory_maps"].as_array().unwrap();
    assert!(
        maps.iter().any(|m| m
            .get("path_bytes")
            .is_some_and(|b| bytes(b) == kid.exe.as_os_str().as_bytes())),
        "{maps:?}"
    );
    // A UTF-8 field has no `_bytes` sibling.
    assert!(v.get("terminal_bytes").is_none());
    assert!(
        maps.iter()
            .any(|m| m["path"] == "[stack]" && m.get("path_bytes").is_none())
    );
}

/// A UNIX socket bound at a path holding newlines (any user may bind one, and
/// `/proc/net/unix` prints it raw): the table still parses for every process, and the path
/// comes back exactly, for the socket's owner.
#[test]
fn a_unix_socket_path_with_a_newline_breaks_nothing() {
    use memsight::process::{Address, ConnectionKind};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(os(b"s\nx\n0000000000000000: 00000002\xff"));
    let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let me = Process::current().unwrap();
    for kind in [ConnectionKind::Unix, ConnectionKind::All] {
        let conns = me.net_connections(kind).unwrap();
        let ours = conns
            .iter()
            .find(|c| c.laddr_os.as_deref() == Some(path.as_os_str()))
            .unwrap_or_else(|| panic!("{conns:?}"));
        assert_eq!(
            ours.laddr,
            Address::Unix(path.to_string_lossy().into_owned())
        );
        let v = serde_json::to_value(ours).unwrap();
        assert_eq!(
            v["laddr_bytes"],
            serde_json::json!(path.as_os_str().as_bytes())
        );
    }
    // Another process's table holds the line too: it parses.
    let kid = kid();
    Process::new(kid.child.id())
        .unwrap()
        .net_connections(ConnectionKind::All)
        .unwrap();
}
