//! A process's sockets: `/proc/PID/fd/N` links of the form `socket:[INODE]` joined with the
//! socket tables `/proc/PID/net/{tcp,tcp6,udp,udp6,unix}` (the process's own network namespace).

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::net::{IpAddr, SocketAddr};
use std::os::unix::ffi::OsStrExt;

use crate::error::{Error, Result};
use crate::sys::process::Process;
use crate::sys::procfs::{self, net_tcp, net_unix};

/// Which sockets [`Process::net_connections`](crate::Process::net_connections) reports, psutil's `kind` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectionKind {
    /// TCP and UDP over IPv4 and IPv6 (psutil's default, `inet`).
    #[default]
    Inet,
    /// TCP and UDP over IPv4.
    Inet4,
    /// TCP and UDP over IPv6.
    Inet6,
    /// TCP over IPv4 and IPv6.
    Tcp,
    /// TCP over IPv4.
    Tcp4,
    /// TCP over IPv6.
    Tcp6,
    /// UDP over IPv4 and IPv6.
    Udp,
    /// UDP over IPv4.
    Udp4,
    /// UDP over IPv6.
    Udp6,
    /// UNIX domain sockets.
    Unix,
    /// All of the above.
    All,
}

impl ConnectionKind {
    /// The socket tables this kind reads: (file under `net/`, family, type).
    fn tables(self) -> &'static [(&'static str, AddressFamily, SocketType)] {
        use AddressFamily::{Inet as V4, Inet6 as V6, Unix};
        use SocketType::{Dgram as D, Stream as S};
        const TCP4: (&str, AddressFamily, SocketType) = ("net/tcp", V4, S);
        const TCP6: (&str, AddressFamily, SocketType) = ("net/tcp6", V6, S);
        const UDP4: (&str, AddressFamily, SocketType) = ("net/udp", V4, D);
        const UDP6: (&str, AddressFamily, SocketType) = ("net/udp6", V6, D);
        const UNIX: (&str, AddressFamily, SocketType) = ("net/unix", Unix, S);
        match self {
            ConnectionKind::Inet => &[TCP4, TCP6, UDP4, UDP6],
            ConnectionKind::Inet4 => &[TCP4, UDP4],
            ConnectionKind::Inet6 => &[TCP6, UDP6],
            ConnectionKind::Tcp => &[TCP4, TCP6],
            ConnectionKind::Tcp4 => &[TCP4],
            ConnectionKind::Tcp6 => &[TCP6],
            ConnectionKind::Udp => &[UDP4, UDP6],
            ConnectionKind::Udp4 => &[UDP4],
            ConnectionKind::Udp6 => &[UDP6],
            ConnectionKind::Unix => &[UNIX],
            ConnectionKind::All => &[TCP4, TCP6, UDP4, UDP6, UNIX],
        }
    }
}

/// A socket address family (`AF_*`), serialized as its number as psutil's JSON would be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddressFamily {
    /// `AF_UNIX` (1).
    Unix,
    /// `AF_INET` (2).
    Inet,
    /// `AF_INET6` (10).
    Inet6,
    /// `AF_PACKET` (17), psutil's `AF_LINK` on Linux.
    Packet,
}

impl AddressFamily {
    /// The `AF_*` number.
    pub fn number(self) -> i32 {
        match self {
            AddressFamily::Unix => libc::AF_UNIX,
            AddressFamily::Inet => libc::AF_INET,
            AddressFamily::Inet6 => libc::AF_INET6,
            AddressFamily::Packet => libc::AF_PACKET,
        }
    }

    /// The constant's name, as Python prints it (`AF_INET`).
    pub fn name(self) -> &'static str {
        match self {
            AddressFamily::Unix => "AF_UNIX",
            AddressFamily::Inet => "AF_INET",
            AddressFamily::Inet6 => "AF_INET6",
            AddressFamily::Packet => "AF_PACKET",
        }
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for AddressFamily {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_i32(self.number())
    }
}

/// A socket type (`SOCK_*`), serialized as its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketType {
    /// `SOCK_STREAM` (1): TCP, stream UNIX sockets.
    Stream,
    /// `SOCK_DGRAM` (2): UDP, datagram UNIX sockets.
    Dgram,
    /// `SOCK_SEQPACKET` (5).
    SeqPacket,
    /// Another `SOCK_*` number.
    Other(u32),
}

impl SocketType {
    /// The `SOCK_*` number.
    pub fn number(self) -> u32 {
        match self {
            SocketType::Stream => 1,
            SocketType::Dgram => 2,
            SocketType::SeqPacket => 5,
            SocketType::Other(n) => n,
        }
    }

    /// The constant's name (`SOCK_STREAM`), or the number.
    pub fn name(self) -> String {
        match self {
            SocketType::Stream => "SOCK_STREAM".into(),
            SocketType::Dgram => "SOCK_DGRAM".into(),
            SocketType::SeqPacket => "SOCK_SEQPACKET".into(),
            SocketType::Other(n) => n.to_string(),
        }
    }

    fn from_number(n: u32) -> SocketType {
        match n {
            1 => SocketType::Stream,
            2 => SocketType::Dgram,
            5 => SocketType::SeqPacket,
            n => SocketType::Other(n),
        }
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for SocketType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u32(self.number())
    }
}

/// One end of a connection. Serialized as psutil's JSON would be: `["127.0.0.1", 80]` for an IP
/// address, the path string for a UNIX socket, `[]` for none.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// An IPv4 or IPv6 address and port.
    Inet(SocketAddr),
    /// A UNIX socket path (`@name` for the abstract namespace; empty when unbound or unknown).
    /// Lossy: bytes that are not UTF-8 become U+FFFD; [`Connection::laddr_os`] holds the exact
    /// bytes of a local path.
    Unix(String),
    /// No address: an unconnected socket's remote end, or port 0 (psutil's empty tuple).
    None,
}

impl Address {
    /// The IP address, for `Inet`.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Address::Inet(a) => Some(a.ip()),
            _ => None,
        }
    }

    /// The port, for `Inet`.
    pub fn port(&self) -> Option<u16> {
        match self {
            Address::Inet(a) => Some(a.port()),
            _ => None,
        }
    }
}

impl std::fmt::Display for Address {
    /// `127.0.0.1:80`, `[::1]:80`, the UNIX path, or nothing.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Inet(a) => write!(f, "{a}"),
            Address::Unix(p) => f.write_str(p),
            Address::None => Ok(()),
        }
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        match self {
            Address::Inet(a) => {
                let mut t = s.serialize_tuple(2)?;
                t.serialize_element(&a.ip().to_string())?;
                t.serialize_element(&a.port())?;
                t.end()
            }
            Address::Unix(p) => s.serialize_str(p),
            Address::None => s.serialize_tuple(0)?.end(),
        }
    }
}

/// A TCP connection state, psutil's `CONN_*` constants; `NONE` for UDP and UNIX sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "SCREAMING_SNAKE_CASE"))]
#[allow(missing_docs)]
pub enum ConnectionStatus {
    Established,
    SynSent,
    SynRecv,
    FinWait1,
    FinWait2,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    Closing,
    /// Not a TCP socket (psutil's `CONN_NONE`).
    None,
}

impl ConnectionStatus {
    /// The state for a `st` number of `/proc/net/tcp` (the kernel's `TCP_*` enum).
    fn from_tcp_state(st: u8) -> ConnectionStatus {
        match st {
            1 => ConnectionStatus::Established,
            2 => ConnectionStatus::SynSent,
            3 => ConnectionStatus::SynRecv,
            4 => ConnectionStatus::FinWait1,
            5 => ConnectionStatus::FinWait2,
            6 => ConnectionStatus::TimeWait,
            7 => ConnectionStatus::Close,
            8 => ConnectionStatus::CloseWait,
            9 => ConnectionStatus::LastAck,
            10 => ConnectionStatus::Listen,
            11 => ConnectionStatus::Closing,
            _ => ConnectionStatus::None,
        }
    }

    /// psutil's string (`ESTABLISHED`, `LISTEN`, `NONE`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::Established => "ESTABLISHED",
            ConnectionStatus::SynSent => "SYN_SENT",
            ConnectionStatus::SynRecv => "SYN_RECV",
            ConnectionStatus::FinWait1 => "FIN_WAIT1",
            ConnectionStatus::FinWait2 => "FIN_WAIT2",
            ConnectionStatus::TimeWait => "TIME_WAIT",
            ConnectionStatus::Close => "CLOSE",
            ConnectionStatus::CloseWait => "CLOSE_WAIT",
            ConnectionStatus::LastAck => "LAST_ACK",
            ConnectionStatus::Listen => "LISTEN",
            ConnectionStatus::Closing => "CLOSING",
            ConnectionStatus::None => "NONE",
        }
    }
}

/// One socket of a process. psutil's `pconn`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Connection {
    /// The descriptor number.
    pub fd: u32,
    /// `AF_INET`, `AF_INET6` or `AF_UNIX`.
    pub family: AddressFamily,
    /// `SOCK_STREAM`, `SOCK_DGRAM`, ... (psutil's `type`).
    #[cfg_attr(feature = "serde", serde(rename = "type"))]
    pub kind: SocketType,
    /// The local address (`[]` when the port is 0, as psutil). Lossy for a UNIX path.
    pub laddr: Address,
    /// For a UNIX socket, the exact bytes of its bound path (`/proc/PID/net/unix`; empty when
    /// unbound); `None` for the other families. Exact. Serialized as `laddr_bytes`, only when
    /// not UTF-8.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "laddr_bytes",
            skip_serializing_if = "crate::sys::exact::utf8_or_none",
            serialize_with = "crate::sys::exact::ser::opt_bytes"
        )
    )]
    pub laddr_os: Option<OsString>,
    /// The remote address (`[]` when not connected; `""` for UNIX sockets).
    pub raddr: Address,
    /// The TCP state; `NONE` for UDP and UNIX.
    pub status: ConnectionStatus,
}

impl Process {
    /// Backs [`crate::Process::net_connections`], where it is documented with every OS's source.
    pub fn net_connections(&self, kind: ConnectionKind) -> Result<Vec<Connection>> {
        let fds = self
            .list_numbers("fd")
            .map_err(|e| self.error_for("fd", e))?;
        let mut inodes: HashMap<u64, Vec<u32>> = HashMap::new();
        for fd in fds {
            let Ok(link) = self.readlink(&format!("fd/{fd}")) else {
                continue;
            };
            if let Some(inode) = link
                .strip_prefix(b"socket:[")
                .and_then(|rest| rest.strip_suffix(b"]"))
                .and_then(|digits| std::str::from_utf8(digits).ok()?.parse::<u64>().ok())
            {
                inodes.entry(inode).or_default().push(fd);
            }
        }
        let mut connections = Vec::new();
        if inodes.is_empty() {
            return Ok(connections);
        }
        for &(table, family, kind) in kind.tables() {
            let found = procfs::with_buffer(|buf| match self.read_into(table, buf) {
                Ok(()) => collect(buf, family, kind, &inodes).map_err(|e| e.at(self.path(table))),
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) && self.alive() => {
                    if table.ends_with('6') {
                        // No IPv6 in this kernel: no tcp6/udp6 table, as psutil skips it.
                        Ok(Vec::new())
                    } else {
                        Err(Error::from_io(Some(self.pid()), self.path(table), e))
                    }
                }
                Err(e) => Err(self.error_for(table, e)),
            })?;
            connections.extend(found);
        }
        connections.sort_by_key(|c| c.fd);
        connections.dedup();
        if connections.is_empty() && !self.alive() {
            return Err(Error::NoSuchProcess {
                pid: self.pid(),
                name: None,
            });
        }
        Ok(connections)
    }
}

/// The connections of one socket table whose inodes are in `inodes`, one per descriptor.
fn collect(
    data: &[u8],
    family: AddressFamily,
    kind: SocketType,
    inodes: &HashMap<u64, Vec<u32>>,
) -> Result<Vec<Connection>, crate::error::ParseError> {
    let wanted = |inode: u64| inodes.contains_key(&inode);
    let mut out = Vec::new();
    if family == AddressFamily::Unix {
        for socket in net_unix::parse(data, wanted)? {
            for &fd in inodes.get(&socket.inode).into_iter().flatten() {
                out.push(Connection {
                    fd,
                    family,
                    kind: SocketType::from_number(socket.kind),
                    laddr: Address::Unix(String::from_utf8_lossy(&socket.path).into_owned()),
                    laddr_os: Some(OsStr::from_bytes(&socket.path).to_owned()),
                    raddr: Address::Unix(String::new()),
                    status: ConnectionStatus::None,
                });
            }
        }
    } else {
        for socket in net_tcp::parse(data, wanted)? {
            let status = match kind {
                SocketType::Stream => ConnectionStatus::from_tcp_state(socket.state),
                _ => ConnectionStatus::None,
            };
            for &fd in inodes.get(&socket.inode).into_iter().flatten() {
                out.push(Connection {
                    fd,
                    family,
                    kind,
                    laddr: inet_address(socket.local),
                    laddr_os: None,
                    raddr: inet_address(socket.remote),
                    status,
                });
            }
        }
    }
    Ok(out)
}

/// psutil's `decode_address`: port 0 means no address.
fn inet_address(addr: SocketAddr) -> Address {
    if addr.port() == 0 {
        Address::None
    } else {
        Address::Inet(addr)
    }
}
