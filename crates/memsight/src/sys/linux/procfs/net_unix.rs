//! `/proc/net/unix` (read as `/proc/PID/net/unix`): one line per UNIX domain socket:
//! `Num RefCount Protocol Flags Type St Inode Path`. See proc_net(5) and unix(7).

use crate::error::ParseError;
use crate::sys::procfs::text::parse_u64;

/// One UNIX socket line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnixSocket {
    /// `Type`: 1 (`SOCK_STREAM`), 2 (`SOCK_DGRAM`) or 5 (`SOCK_SEQPACKET`).
    pub kind: u32,
    /// `Inode`.
    pub inode: u64,
    /// `Path`: the bound path's exact bytes (`@name` for the abstract namespace), empty when
    /// unbound.
    pub path: Vec<u8>,
}

/// The fields of a socket line up to its inode: `Num: RefCount Protocol Flags Type St Inode`
/// in the kernel's fixed format (`%pK: %08X %08X %08X %04X %02X %5lu`). Returns the type, the
/// inode and where the inode ends; `None` for a line that is not the start of a socket line.
fn socket_head(line: &[u8]) -> Option<(u32, u64, usize)> {
    let hex = |f: &[u8], len: Option<usize>| {
        !f.is_empty() && f.iter().all(u8::is_ascii_hexdigit) && len.is_none_or(|n| f.len() == n)
    };
    let mut rest = line;
    let mut fields = [&b""[..]; 7];
    for field in &mut fields {
        rest = rest.trim_ascii_start();
        let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        *field = &rest[..end];
        rest = &rest[end..];
    }
    let [num, refs, proto, flags, kind, state, inode] = fields;
    let ok = num.strip_suffix(b":").is_some_and(|n| hex(n, None))
        && hex(refs, Some(8))
        && hex(proto, Some(8))
        && hex(flags, Some(8))
        && hex(kind, Some(4))
        && hex(state, Some(2));
    if !ok {
        return None;
    }
    let inode_value = parse_u64(inode)?;
    let kind = u32::from_str_radix(std::str::from_utf8(kind).ok()?, 16).ok()?;
    Some((kind, inode_value, line.len() - rest.len()))
}

/// Parses the table, keeping the sockets whose inode `wanted` accepts. The path is the rest of
/// the line after the inode and one space, byte for byte (psutil takes the 8th field only, so it
/// loses paths with spaces).
///
/// The kernel prints a bound path raw, so a path holding a newline spreads over several lines:
/// a line that does not start as a socket line does (the fixed-format fields up to the inode) is
/// taken as the continuation of the previous socket's path and joined to it with the newline.
/// Such a line right after the header, with no socket before it, is skipped. Any user may bind
/// such a name, so one must never make the whole table unreadable. (A path can still hold text
/// that looks like a whole socket line: the table's format leaves that ambiguous, and the line is
/// then read as a socket of its own.)
pub(crate) fn parse(
    data: &[u8],
    mut wanted: impl FnMut(u64) -> bool,
) -> Result<Vec<UnixSocket>, ParseError> {
    let mut sockets = Vec::new();
    // Whether the last socket line was kept (its continuation lines then extend its path).
    let mut last_kept = false;
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    for line in body.split(|&b| b == b'\n').skip(1) {
        match socket_head(line) {
            Some((kind, inode, end)) => {
                last_kept = wanted(inode);
                if last_kept {
                    let path = line.get(end + 1..).unwrap_or_default().to_vec();
                    sockets.push(UnixSocket { kind, inode, path });
                }
            }
            None => {
                if let Some(socket) = sockets.last_mut().filter(|_| last_kept) {
                    socket.path.push(b'\n');
                    socket.path.extend_from_slice(line);
                }
            }
        }
    }
    Ok(sockets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_bound_and_unbound_sockets() {
        let data = b"Num       RefCount Protocol Flags    Type St Inode Path\n\
00000000599fca3b: 00000003 00000000 00000000 0001 03  1586\n\
0000000012345678: 00000002 00000000 00010000 0001 01 20001 /run/dbus/system_bus_socket\n\
0000000012345679: 00000002 00000000 00000000 0002 01 20002 @abstract\n\
000000001234567a: 00000002 00000000 00000000 0005 01 20003 /tmp/my socket\n";
        let all = parse(data, |_| true).unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!((all[3].kind, &all[3].path[..]), (5, &b"/tmp/my socket"[..]));
        assert_eq!(
            all[0],
            UnixSocket {
                kind: 1,
                inode: 1586,
                path: Vec::new()
            }
        );
        assert_eq!(all[1].path, b"/run/dbus/system_bus_socket");
        assert_eq!((all[2].kind, &all[2].path[..]), (2, &b"@abstract"[..]));
        assert_eq!(parse(data, |i| i == 20001).unwrap().len(), 1);
    }

    const HEADER: &[u8] = b"Num       RefCount Protocol Flags    Type St Inode Path\n";

    fn line(inode: u64, path: &[u8]) -> Vec<u8> {
        let mut l =
            format!("0000000000000000: 00000002 00000000 00010000 0001 01 {inode:5}").into_bytes();
        if !path.is_empty() {
            l.push(b' ');
            l.extend_from_slice(path);
        }
        l.push(b'\n');
        l
    }

    fn table(sockets: &[(u64, &[u8])]) -> Vec<u8> {
        let mut data = HEADER.to_vec();
        for (inode, path) in sockets {
            data.extend(line(*inode, path));
        }
        data
    }

    #[test]
    fn a_path_with_newlines_is_rejoined() {
        // What the kernel printed for a socket bound at "/tmp/s\nx" by another user, between two
        // ordinary sockets: the table used to fail whole ("too few fields").
        let data = table(&[(7, b"/a"), (8, b"/tmp/s\nx"), (9, b"/b\n\n"), (10, b"")]);
        let all = parse(&data, |_| true).unwrap();
        let paths: Vec<&[u8]> = all.iter().map(|s| &s.path[..]).collect();
        assert_eq!(paths, [&b"/a"[..], b"/tmp/s\nx", b"/b\n\n", b""]);
        assert_eq!(
            all.iter().map(|s| s.inode).collect::<Vec<_>>(),
            [7, 8, 9, 10]
        );
        // Not wanted: its continuation lines are dropped with it.
        let some = parse(&data, |i| i != 8).unwrap();
        assert_eq!(some.iter().map(|s| s.inode).collect::<Vec<_>>(), [7, 9, 10]);
        assert_eq!(some[0].path, b"/a");
    }

    #[test]
    fn exact_bytes_and_leading_spaces_kept() {
        let data = table(&[(5, b" lead\xff"), (6, b"@x y")]);
        let all = parse(&data, |_| true).unwrap();
        assert_eq!(all[0].path, b" lead\xff");
        assert_eq!(all[1].path, b"@x y");
    }

    #[test]
    fn a_stray_line_is_skipped() {
        let mut data = HEADER.to_vec();
        data.extend_from_slice(b"00: 1 0 0 0001\n");
        data.extend(line(3, b"/c"));
        let all = parse(&data, |_| true).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!((all[0].inode, &all[0].path[..]), (3, &b"/c"[..]));
    }

    proptest! {
        #[test]
        fn never_panics(data: Vec<u8>) {
            let _ = parse(&data, |_| true);
        }

        #[test]
        fn any_paths_round_trip(
            paths in proptest::collection::vec(
                proptest::collection::vec(
                    prop_oneof![Just(b'\n'), Just(b' '), Just(b'a'), Just(b'@'), Just(b':'), any::<u8>()],
                    0..24,
                ),
                0..8,
            )
        ) {
            // Paths no longer than the fixed head cannot look like a socket line: each comes back
            // exactly, newlines and all.
            let sockets: Vec<(u64, &[u8])> =
                paths.iter().enumerate().map(|(i, p)| (i as u64 + 1, &p[..])).collect();
            let all = parse(&table(&sockets), |_| true).unwrap();
            prop_assert_eq!(all.len(), sockets.len());
            for (got, (inode, path)) in all.iter().zip(&sockets) {
                prop_assert_eq!(got.inode, *inode);
                prop_assert_eq!(&got.path[..], *path);
            }
        }
    }
}
