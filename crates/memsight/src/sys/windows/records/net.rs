//! Network adapter addresses as psutil's `net_if_addrs()` gives them on Windows.

/// An address family of [`NicAddr`], serialized as psutil's number for it on Windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// `AF_INET` (2).
    Inet,
    /// `AF_INET6` (23 on Windows).
    Inet6,
    /// psutil's `AF_LINK` for the MAC address: -1 on Windows, which has no such family
    /// ([`AF_LINK`](crate::constants::AF_LINK)).
    Link,
}

impl AddressFamily {
    /// The number psutil gives this family on Windows.
    pub fn number(self) -> i32 {
        match self {
            AddressFamily::Inet => 2,
            AddressFamily::Inet6 => 23,
            // psutil's AF_LINK on Windows (`constants::AF_LINK` there); a literal, because this
            // module is also compiled into the Linux unit tests.
            AddressFamily::Link => -1,
        }
    }

    /// The constant's name, as Python prints it (`AF_INET`).
    pub fn name(self) -> &'static str {
        match self {
            AddressFamily::Inet => "AF_INET",
            AddressFamily::Inet6 => "AF_INET6",
            AddressFamily::Link => "AF_LINK",
        }
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for AddressFamily {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_i32(self.number())
    }
}

/// One address of a network adapter (`GetAdaptersAddresses`). psutil's `snicaddr` on Windows,
/// where broadcast and point-to-point addresses are never given.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct NicAddr {
    /// `AF_INET`, `AF_INET6`, or psutil's `AF_LINK` for the MAC address.
    pub family: AddressFamily,
    /// Dotted IPv4, IPv6 as `inet_ntop` writes it, or the MAC as upper-case hex octets joined by
    /// `-` (`00-15-5D-01-02-03`), psutil's Windows form.
    pub address: String,
    /// The netmask from the address's `OnLinkPrefixLength`, in the address's notation; `None` for
    /// the MAC.
    pub netmask: Option<String>,
    /// Always `None` on Windows (psutil's too).
    pub broadcast: Option<String>,
    /// Always `None` on Windows.
    pub ptp: Option<String>,
}

impl NicAddr {
    /// The MAC record: psutil's Windows text, each octet as two upper-case hex digits joined by
    /// `-`, and no netmask.
    pub(crate) fn mac(octets: &[u8]) -> NicAddr {
        let address = octets
            .iter()
            .map(|o| format!("{o:02X}"))
            .collect::<Vec<_>>()
            .join("-");
        NicAddr {
            family: AddressFamily::Link,
            address,
            netmask: None,
            broadcast: None,
            ptp: None,
        }
    }

    /// An IP address's record, with the netmask of its prefix length.
    pub(crate) fn ip(ip: std::net::IpAddr, prefix: u8) -> NicAddr {
        let (family, netmask) = match ip {
            std::net::IpAddr::V4(_) => (AddressFamily::Inet, ipv4_netmask(prefix).to_string()),
            std::net::IpAddr::V6(_) => (AddressFamily::Inet6, ipv6_netmask(prefix).to_string()),
        };
        NicAddr {
            family,
            address: ip.to_string(),
            netmask: Some(netmask),
            broadcast: None,
            ptp: None,
        }
    }
}

/// The IPv4 netmask of a prefix length (`ConvertLengthToIpv4Mask`): 24 gives `255.255.255.0`;
/// lengths above 32 count as 32.
pub(crate) fn ipv4_netmask(prefix: u8) -> std::net::Ipv4Addr {
    let bits = u32::from(prefix.min(32));
    std::net::Ipv4Addr::from(u32::MAX.checked_shl(32 - bits).unwrap_or(0))
}

/// The IPv6 netmask of a prefix length: 64 gives `ffff:ffff:ffff:ffff::`; above 128 counts as 128.
pub(crate) fn ipv6_netmask(prefix: u8) -> std::net::Ipv6Addr {
    let bits = u32::from(prefix.min(128));
    std::net::Ipv6Addr::from(u128::MAX.checked_shl(128 - bits).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netmasks_and_macs_as_psutil_writes_them() {
        assert_eq!(ipv4_netmask(24).to_string(), "255.255.255.0");
        assert_eq!(ipv4_netmask(8).to_string(), "255.0.0.0");
        assert_eq!(ipv4_netmask(0).to_string(), "0.0.0.0");
        assert_eq!(ipv4_netmask(32).to_string(), "255.255.255.255");
        assert_eq!(ipv4_netmask(200).to_string(), "255.255.255.255");
        assert_eq!(ipv4_netmask(20).to_string(), "255.255.240.0");
        assert_eq!(ipv6_netmask(64).to_string(), "ffff:ffff:ffff:ffff::");
        assert_eq!(
            ipv6_netmask(128).to_string(),
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        );
        assert_eq!(ipv6_netmask(0).to_string(), "::");
        assert_eq!(ipv6_netmask(10).to_string(), "ffc0::");
        let mac = NicAddr::mac(&[0, 0x15, 0x5d, 1, 0xab, 0xff]);
        assert_eq!(
            (mac.family, mac.address.as_str(), mac.netmask),
            (AddressFamily::Link, "00-15-5D-01-AB-FF", None)
        );
        let v4 = NicAddr::ip([192, 0, 2, 2].into(), 24);
        assert_eq!(v4.family, AddressFamily::Inet);
        assert_eq!(
            (v4.address.as_str(), v4.netmask.as_deref()),
            ("192.0.2.2", Some("255.255.255.0"))
        );
        let v6 = NicAddr::ip("fe80::1".parse().unwrap(), 64);
        assert_eq!(v6.family, AddressFamily::Inet6);
        assert_eq!(v6.netmask.as_deref(), Some("ffff:ffff:ffff:ffff::"));
        assert_eq!(AddressFamily::Link.number(), -1);
        assert_eq!([v4.family, v6.family].map(AddressFamily::number), [2, 23]);
        assert_eq!(AddressFamily::Inet6.name(), "AF_INET6");
    }
}
