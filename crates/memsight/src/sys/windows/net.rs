//! Network adapters' addresses on Windows: `GetAdaptersAddresses`, psutil's `net_if_addrs()`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use windows_sys::Win32::Foundation::{ERROR_BUFFER_OVERFLOW, ERROR_NO_DATA};
use windows_sys::Win32::NetworkManagement::IpHelper::{
    GAA_FLAG_SKIP_ANYCAST, GAA_FLAG_SKIP_DNS_SERVER, GAA_FLAG_SKIP_MULTICAST, GetAdaptersAddresses,
    IP_ADAPTER_ADDRESSES_LH,
};
use windows_sys::Win32::Networking::WinSock::{
    AF_INET, AF_INET6, AF_UNSPEC, SOCKADDR_IN, SOCKADDR_IN6,
};

pub use super::records::NicAddr;
use super::win_error;
use crate::error::Result;

/// Every adapter's addresses by its friendly name (`FriendlyName`, as psutil keys them): the MAC
/// first when the adapter has one, then each unicast address with the netmask of its
/// `OnLinkPrefixLength`. The buffer is grown to the size the call asks for.
pub fn net_if_addrs() -> Result<BTreeMap<String, Vec<NicAddr>>> {
    let mut size: u32 = 16 * 1024;
    // u64 words: the adapter records need pointer alignment.
    let mut buf: Vec<u64> = Vec::new();
    loop {
        buf.resize((size as usize).div_ceil(8), 0);
        // SAFETY: `buf` has at least `size` writable, 8-aligned bytes; `size` is ours.
        let rc = unsafe {
            GetAdaptersAddresses(
                u32::from(AF_UNSPEC),
                GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST | GAA_FLAG_SKIP_DNS_SERVER,
                std::ptr::null(),
                buf.as_mut_ptr().cast(),
                &mut size,
            )
        };
        match rc {
            0 => break,
            ERROR_NO_DATA => return Ok(BTreeMap::new()),
            ERROR_BUFFER_OVERFLOW if size as usize > buf.len() * 8 && size < 64 << 20 => continue,
            code => return Err(win_error(None, "GetAdaptersAddresses", code)),
        }
    }
    let mut out: BTreeMap<String, Vec<NicAddr>> = BTreeMap::new();
    let mut adapter = buf.as_ptr().cast::<IP_ADAPTER_ADDRESSES_LH>();
    while !adapter.is_null() {
        // SAFETY: the call filled `buf` with a linked list of adapter records whose pointers all
        // point inside `buf` (or are null), and `buf` outlives this walk.
        let a = unsafe { &*adapter };
        // SAFETY: FriendlyName is a NUL-terminated UTF-16 string inside `buf`, or null.
        let name = unsafe { wide_string(a.FriendlyName) };
        let addrs = out.entry(name).or_default();
        let mac_len = (a.PhysicalAddressLength as usize).min(a.PhysicalAddress.len());
        if mac_len > 0 {
            addrs.push(NicAddr::mac(&a.PhysicalAddress[..mac_len]));
        }
        let mut unicast = a.FirstUnicastAddress;
        while !unicast.is_null() {
            // SAFETY: a unicast record inside `buf`, as above.
            let u = unsafe { &*unicast };
            // SAFETY: lpSockaddr points at a sockaddr of at least the size its family implies.
            if let Some(addr) = unsafe { nic_addr(u.Address.lpSockaddr, u.OnLinkPrefixLength) } {
                addrs.push(addr);
            }
            unicast = u.Next;
        }
        adapter = a.Next;
    }
    Ok(out)
}

/// An IPv4 or IPv6 `SOCKADDR` with its prefix length as a record; other families give `None`.
///
/// # Safety
/// `sa` is null or points at a `SOCKADDR_IN` (family `AF_INET`) or `SOCKADDR_IN6` (`AF_INET6`).
unsafe fn nic_addr(
    sa: *const windows_sys::Win32::Networking::WinSock::SOCKADDR,
    prefix: u8,
) -> Option<NicAddr> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: the caller's contract; the family tells which struct `sa` is.
    let ip: IpAddr = unsafe {
        match (*sa).sa_family {
            AF_INET => {
                let v4 = &*sa.cast::<SOCKADDR_IN>();
                Ipv4Addr::from(u32::from_be(v4.sin_addr.S_un.S_addr)).into()
            }
            AF_INET6 => Ipv6Addr::from((*sa.cast::<SOCKADDR_IN6>()).sin6_addr.u.Byte).into(),
            _ => return None,
        }
    };
    Some(NicAddr::ip(ip, prefix))
}

/// A NUL-terminated UTF-16 string (empty for null), invalid units replaced.
///
/// # Safety
/// `p` is null or points at a NUL-terminated UTF-16 string.
unsafe fn wide_string(p: *const u16) -> String {
    if p.is_null() {
        return String::new();
    }
    let mut len = 0usize;
    // SAFETY: the caller's contract: every unit up to the NUL is readable.
    unsafe {
        while *p.add(len) != 0 {
            len += 1;
        }
        String::from_utf16_lossy(std::slice::from_raw_parts(p, len))
    }
}
