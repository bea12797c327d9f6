//! psutil's OS constants (`psutil.LINUX`, `psutil.POSIX`, ...): which operating system memsight
//! was built for. Plain booleans fixed at compile time.

/// Built for a POSIX system (everything but Windows).
pub const POSIX: bool = cfg!(unix);
/// Built for Windows.
pub const WINDOWS: bool = cfg!(windows);
/// Built for Linux (the backend with the most figures: cgroups, PSS, every meminfo line).
pub const LINUX: bool = cfg!(target_os = "linux");
/// Built for macOS.
pub const MACOS: bool = cfg!(target_os = "macos");
/// Built for FreeBSD.
pub const FREEBSD: bool = cfg!(target_os = "freebsd");
/// Built for OpenBSD.
pub const OPENBSD: bool = cfg!(target_os = "openbsd");
/// Built for NetBSD.
pub const NETBSD: bool = cfg!(target_os = "netbsd");
/// Built for one of the BSDs.
pub const BSD: bool = FREEBSD || OPENBSD || NETBSD;
/// Built for Solaris or illumos.
pub const SUNOS: bool = cfg!(any(target_os = "solaris", target_os = "illumos"));
/// Built for AIX.
pub const AIX: bool = cfg!(target_os = "aix");
/// The address family psutil calls `AF_LINK` (link-layer, MAC addresses): `AF_PACKET` (17) on
/// Linux.
#[cfg(target_os = "linux")]
pub const AF_LINK: i32 = 17;
/// The address family psutil calls `AF_LINK` (link-layer, MAC addresses): -1 on Windows, which
/// has no such family (psutil's own value there).
#[cfg(windows)]
pub const AF_LINK: i32 = -1;
/// The address family psutil calls `AF_LINK` (link-layer, MAC addresses): the BSDs' and macOS's
/// `AF_LINK` (18).
#[cfg(not(any(target_os = "linux", windows)))]
pub const AF_LINK: i32 = 18;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_the_matching_constants_are_true() {
        // psutil's test_os_constants: each constant agrees with the running system's name.
        let os = std::env::consts::OS;
        assert_eq!(LINUX, os == "linux");
        assert_eq!(MACOS, os == "macos");
        assert_eq!(WINDOWS, os == "windows");
        assert_eq!(BSD, ["freebsd", "openbsd", "netbsd"].contains(&os));
        assert_eq!(SUNOS, ["solaris", "illumos"].contains(&os));
        assert_eq!(AIX, os == "aix");
        assert_eq!(POSIX, std::env::consts::FAMILY == "unix");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn af_link_is_the_kernels_af_packet() {
        assert_eq!(AF_LINK, libc::AF_PACKET);
    }
}
