//! `/proc/net/{tcp,tcp6,udp,udp6}` (here read as `/proc/PID/net/...`, the process's own network
//! namespace): one line per socket, addresses as hex in host byte order
//! (`0100007F:1F90` is 127.0.0.1:8080 on a little-endian machine). See proc_net(5) and the
//! kernel's `tcp4_seq_show`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::ParseError;
use crate::sys::procfs::text::{numbered_lines, parse_u64};

/// One socket line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InetSocket {
    /// `local_address`.
    pub local: SocketAddr,
    /// `rem_address` (all zeros when not connected).
    pub remote: SocketAddr,
    /// `st`: the TCP state number (`0A` is LISTEN); UDP sockets use 07 (CLOSE) or 01.
    pub state: u8,
    /// `inode`: the socket's inode, which `/proc/PID/fd/N` shows as `socket:[inode]`.
    pub inode: u64,
}

/// Parses a tcp/udp table (IPv4 or IPv6, told apart by the address length), keeping the lines
/// whose inode `wanted` accepts. The header line is skipped.
pub(crate) fn parse(
    data: &[u8],
    mut wanted: impl FnMut(u64) -> bool,
) -> Result<Vec<InetSocket>, ParseError> {
    let mut sockets = Vec::new();
    for (number, line) in numbered_lines(data).skip(1) {
        let bad = |what: &str| ParseError::new(number, format!("bad {what}"));
        let mut fields = line.split(|&b| b == b' ').filter(|f| !f.is_empty());
        let (Some(_slot), Some(local), Some(remote), Some(state)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad("line: too few fields"));
        };
        // tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
        let inode = fields
            .nth(5)
            .and_then(parse_u64)
            .ok_or_else(|| bad("inode"))?;
        if !wanted(inode) {
            continue;
        }
        sockets.push(InetSocket {
            local: parse_address(local).ok_or_else(|| bad("local address"))?,
            remote: parse_address(remote).ok_or_else(|| bad("remote address"))?,
            state: parse_hex(state)
                .and_then(|s| u8::try_from(s).ok())
                .ok_or_else(|| bad("state"))?,
            inode,
        });
    }
    Ok(sockets)
}

/// `0100007F:1F90` or a 32-hex-digit IPv6 address and a port.
fn parse_address(field: &[u8]) -> Option<SocketAddr> {
    let colon = field.iter().position(|&b| b == b':')?;
    let (ip, port) = (&field[..colon], &field[colon + 1..]);
    let port = u16::try_from(parse_hex(port)?).ok()?;
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(ip)?.to_ne_bytes())),
        32 => {
            let mut bytes = [0u8; 16];
            for (chunk, hex) in bytes.chunks_exact_mut(4).zip(ip.chunks_exact(8)) {
                chunk.copy_from_slice(&word(hex)?.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

fn word(hex: &[u8]) -> Option<u32> {
    u32::try_from(parse_hex(hex)?).ok()
}

fn parse_hex(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        let d = (b as char).to_digit(16)?;
        Some(acc << 4 | u64::from(d))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v4(a: [u8; 4]) -> [u8; 8] {
        let mut out = [0u8; 8];
        let hex = format!("{:08X}", u32::from_ne_bytes(a));
        out.copy_from_slice(hex.as_bytes());
        out
    }

    #[test]
    fn parses_ipv4_lines_in_host_byte_order() {
        let local = String::from_utf8(v4([127, 0, 0, 1]).to_vec()).unwrap();
        let data = format!(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: {local}:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1590 1 000000009371174c 100 0 0 10 0\n   1: {local}:0035 {local}:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 77 2 0 20 4 1 10 -1\n"
        );
        let all = parse(data.as_bytes(), |_| true).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].local, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(all[0].remote, "0.0.0.0:0".parse().unwrap());
        assert_eq!((all[0].state, all[0].inode), (0x0A, 1590));
        assert_eq!(all[1].remote, "127.0.0.1:40000".parse().unwrap());
        let only = parse(data.as_bytes(), |inode| inode == 77).unwrap();
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].local.port(), 53);
    }

    #[test]
    fn parses_ipv6_words_in_host_byte_order() {
        let ip: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let hex: String = ip
            .octets()
            .chunks_exact(4)
            .map(|c| format!("{:08X}", u32::from_ne_bytes([c[0], c[1], c[2], c[3]])))
            .collect();
        let data = format!(
            "header\n 0: {hex}:0050 00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 4242 1\n"
        );
        let all = parse(data.as_bytes(), |_| true).unwrap();
        assert_eq!(all[0].local, "[2001:db8::1]:80".parse().unwrap());
        assert_eq!(all[0].inode, 4242);
    }

    #[test]
    fn bad_lines_name_the_line() {
        assert_eq!(
            parse(b"h\n 0: 0100007F:1F90\n", |_| true).unwrap_err().line,
            2
        );
        let err = parse(b"h\n 0: 0100007F:XYZ 0:0 0A 0:0 0:0 0 0 0 5 1\n", |_| true).unwrap_err();
        assert_eq!(err.line, 2);
    }

    proptest! {
        #[test]
        fn never_panics(data: Vec<u8>) {
            let _ = parse(&data, |_| true);
        }
    }
}
