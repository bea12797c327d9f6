//! `/proc/net/unix` (read as `/proc/PID/net/unix`): one line per UNIX domain socket:
//! `Num RefCount Protocol Flags Type St Inode Path`. See proc_net(5) and unix(7).

use crate::error::ParseError;
use crate::sys::procfs::text::{numbered_lines, parse_u64};

/// One UNIX socket line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnixSocket {
    /// `Type`: 1 (`SOCK_STREAM`), 2 (`SOCK_DGRAM`) or 5 (`SOCK_SEQPACKET`).
    pub kind: u32,
    /// `Inode`.
    pub inode: u64,
    /// `Path`: the bound path (`@name` for the abstract namespace), empty when unbound.
    pub path: String,
}

/// Parses the table, keeping the lines whose inode `wanted` accepts. The path is the rest of the
/// line after the inode (psutil takes the 8th field only, so it loses paths with spaces).
pub(crate) fn parse(
    data: &[u8],
    mut wanted: impl FnMut(u64) -> bool,
) -> Result<Vec<UnixSocket>, ParseError> {
    let mut sockets = Vec::new();
    for (number, line) in numbered_lines(data).skip(1) {
        let bad = |what: &str| ParseError::new(number, format!("bad {what}"));
        let fields: Vec<&[u8]> = line
            .split(u8::is_ascii_whitespace)
            .filter(|f| !f.is_empty())
            .collect();
        if fields.len() < 7 {
            return Err(bad("line: too few fields"));
        }
        let inode = parse_u64(fields[6]).ok_or_else(|| bad("inode"))?;
        if !wanted(inode) {
            continue;
        }
        let kind = u32::from_str_radix(&String::from_utf8_lossy(fields[4]), 16)
            .map_err(|_| bad("type"))?;
        // The path is everything after the inode field, so a path with spaces stays whole.
        let path = match fields.get(7) {
            Some(first) => {
                let start = first.as_ptr() as usize - line.as_ptr() as usize;
                String::from_utf8_lossy(line[start..].trim_ascii_end()).into_owned()
            }
            None => String::new(),
        };
        sockets.push(UnixSocket { kind, inode, path });
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
        assert_eq!((all[3].kind, all[3].path.as_str()), (5, "/tmp/my socket"));
        assert_eq!(
            all[0],
            UnixSocket {
                kind: 1,
                inode: 1586,
                path: String::new()
            }
        );
        assert_eq!(all[1].path, "/run/dbus/system_bus_socket");
        assert_eq!((all[2].kind, all[2].path.as_str()), (2, "@abstract"));
        assert_eq!(parse(data, |i| i == 20001).unwrap().len(), 1);
    }

    #[test]
    fn short_line_is_an_error() {
        assert_eq!(parse(b"h\n00: 1 0 0 0001\n", |_| true).unwrap_err().line, 2);
    }

    proptest! {
        #[test]
        fn never_panics(data: Vec<u8>) {
            let _ = parse(&data, |_| true);
        }
    }
}
