//! Network interface addresses: `getifaddrs(3)`, psutil's `net_if_addrs`.
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{Error, Result};
use crate::sys::process::AddressFamily;

/// One address of a network interface. psutil's `snicaddr`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct NicAddr {
    /// `AF_INET`, `AF_INET6`, or `AF_PACKET` for the MAC address (psutil's `AF_LINK`).
    pub family: AddressFamily,
    /// The address: dotted IPv4, IPv6 (link-local ones with `%interface`), or a lower-case
    /// colon-separated MAC padded to 6 octets.
    pub address: String,
    /// The netmask, in the same notation; `None` for `AF_PACKET`.
    pub netmask: Option<String>,
    /// The broadcast address when the interface has `IFF_BROADCAST` (`ff:ff:ff:ff:ff:ff` for
    /// `AF_PACKET`).
    pub broadcast: Option<String>,
    /// The peer address of a point-to-point interface (`IFF_POINTOPOINT`, when not broadcast).
    pub ptp: Option<String>,
}

/// Every interface's addresses, by interface name (IPv4 aliases such as `eth0:1` are their own
/// keys), each list ordered by family number as psutil sorts it (IPv4, IPv6, then the MAC).
/// Addresses of other families, and link-layer addresses of length 0, are skipped.
///
/// ```
/// let nics = memsight::net_if_addrs()?;
/// if let Some(lo) = nics.get("lo") {
///     assert!(lo.iter().any(|a| a.address == "127.0.0.1"));
/// }
/// # Ok::<(), memsight::Error>(())
/// ```
pub fn net_if_addrs() -> Result<BTreeMap<String, Vec<NicAddr>>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list pointer into `head`, which is freed below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(Error::call_failed("getifaddrs", io::Error::last_os_error()));
    }
    let mut out: BTreeMap<String, Vec<NicAddr>> = BTreeMap::new();
    let mut cursor = head;
    while !cursor.is_null() {
        // SAFETY: `cursor` is a node of the list getifaddrs returned, not yet freed.
        let ifa = unsafe { &*cursor };
        cursor = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let name = unsafe { CStr::from_ptr(ifa.ifa_name) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: ifa_addr is non-null and points at a sockaddr of the family it names.
        let Some((family, address)) = (unsafe { sockaddr_to_string(ifa.ifa_addr) }) else {
            continue;
        };
        // SAFETY: as above; each pointer is null or a valid sockaddr.
        let convert = |p: *mut libc::sockaddr| unsafe { sockaddr_to_string(p) }.map(|(_, s)| s);
        let netmask = convert(ifa.ifa_netmask);
        let flags = ifa.ifa_flags;
        let (broadcast, ptp) = if flags & libc::IFF_BROADCAST as u32 != 0 {
            (convert(ifa.ifa_ifu), None)
        } else if flags & libc::IFF_POINTOPOINT as u32 != 0 {
            (None, convert(ifa.ifa_ifu))
        } else {
            (None, None)
        };
        out.entry(name).or_default().push(NicAddr {
            family,
            address,
            netmask,
            broadcast,
            ptp,
        });
    }
    // SAFETY: `head` came from getifaddrs and is freed once; nothing borrowed from it survives.
    unsafe { libc::freeifaddrs(head) };
    for addrs in out.values_mut() {
        addrs.sort_by_key(|a| a.family.number());
    }
    Ok(out)
}

/// Formats a sockaddr as psutil does; `None` for other families, null, or an empty MAC.
///
/// # Safety
/// `addr` must be null or point at a valid sockaddr whose size matches its family.
unsafe fn sockaddr_to_string(addr: *const libc::sockaddr) -> Option<(AddressFamily, String)> {
    if addr.is_null() {
        return None;
    }
    // SAFETY: the caller promises a valid sockaddr; sa_family is its first field.
    let family = i32::from(unsafe { (*addr).sa_family });
    match family {
        libc::AF_INET => {
            // SAFETY: AF_INET addresses are sockaddr_in.
            let sin = unsafe { &*(addr as *const libc::sockaddr_in) };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some((AddressFamily::Inet, ip.to_string()))
        }
        libc::AF_INET6 => {
            // SAFETY: AF_INET6 addresses are sockaddr_in6.
            let sin6 = unsafe { &*(addr as *const libc::sockaddr_in6) };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some((AddressFamily::Inet6, format_ipv6(ip, sin6.sin6_scope_id)))
        }
        libc::AF_PACKET => {
            // SAFETY: AF_PACKET addresses are sockaddr_ll.
            let sll = unsafe { &*(addr as *const libc::sockaddr_ll) };
            let len = usize::from(sll.sll_halen).min(sll.sll_addr.len());
            if len == 0 {
                return None;
            }
            Some((AddressFamily::Packet, format_mac(&sll.sll_addr[..len])))
        }
        _ => None,
    }
}

/// `inet_ntop` notation plus the `%scope` `getnameinfo(NI_NUMERICHOST)` appends: the interface
/// name for link-local addresses, else the number.
fn format_ipv6(ip: Ipv6Addr, scope_id: u32) -> String {
    let seg = ip.segments();
    // glibc prints IPv4-compatible addresses (::a.b.c.d) in dotted form.
    let mut text = if seg[..6] == [0; 6] && seg[6] != 0 {
        let o = ip.octets();
        format!("::{}", Ipv4Addr::new(o[12], o[13], o[14], o[15]))
    } else {
        ip.to_string()
    };
    if scope_id != 0 {
        let link_local = (seg[0] & 0xffc0) == 0xfe80 || (seg[0] & 0xff0f) == 0xff02;
        let name = link_local.then(|| interface_name(scope_id)).flatten();
        text.push('%');
        text.push_str(&name.unwrap_or_else(|| scope_id.to_string()));
    }
    text
}

fn interface_name(index: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: buf has IF_NAMESIZE bytes, as if_indextoname requires.
    let ret = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if ret.is_null() {
        return None;
    }
    // SAFETY: on success buf holds a NUL-terminated name.
    Some(
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// Lower-case `xx:xx:...`, padded with `:00` to 6 octets (psutil #786).
fn format_mac(bytes: &[u8]) -> String {
    let mut parts: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    while parts.len() < 6 {
        parts.push("00".into());
    }
    parts.join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_is_padded_and_lower_case() {
        assert_eq!(format_mac(&[0xAB, 0x01]), "ab:01:00:00:00:00");
        assert_eq!(
            format_mac(&[0, 0x16, 0x3e, 0xff, 0x10, 0x2a]),
            "00:16:3e:ff:10:2a"
        );
    }

    #[test]
    fn ipv6_like_inet_ntop() {
        assert_eq!(format_ipv6("::1".parse().unwrap(), 0), "::1");
        assert_eq!(format_ipv6("::".parse().unwrap(), 0), "::");
        assert_eq!(
            format_ipv6("::ffff:10.0.0.1".parse().unwrap(), 0),
            "::ffff:10.0.0.1"
        );
        assert_eq!(format_ipv6("::10.0.0.1".parse().unwrap(), 0), "::10.0.0.1");
        assert_eq!(
            format_ipv6("2001:db8::1".parse().unwrap(), 0),
            "2001:db8::1"
        );
        assert_eq!(format_ipv6("fe80::1".parse().unwrap(), 1), "fe80::1%lo");
    }
}
