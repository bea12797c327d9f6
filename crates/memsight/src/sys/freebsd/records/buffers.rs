//! The buffers FreeBSD's `kern.proc.*` sysctls return, walked without FFI: NUL-separated strings
//! (`kern.proc.args`, `kern.proc.env`) and packed variable-size records (`kern.proc.vmmap`,
//! `kern.proc.filedesc`), which is what libutil's `kinfo_getvmmap` and `kinfo_getfile` unpack.
//!
//! The kernel packs each record to `kve_structsize` / `kf_structsize` bytes: the fixed part plus
//! the path up to its NUL, rounded up to 8. The offsets below are those of `struct kinfo_vmentry`
//! and `struct kinfo_file` in `<sys/user.h>` (amd64 and every 64-bit FreeBSD 12+ target); the
//! FreeBSD build asserts them against the `libc` crate's structs.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use super::pages;
use super::process::{MemoryMap, OpenFile};
use crate::neutral::maps::GroupableMap;

/// `KINFO_VMENTRY_SIZE`: the unpacked `struct kinfo_vmentry`.
pub(crate) const KINFO_VMENTRY_SIZE: usize = 1160;
/// Offsets in `struct kinfo_vmentry`.
pub(crate) const KVE_TYPE: usize = 4;
pub(crate) const KVE_START: usize = 8;
pub(crate) const KVE_END: usize = 16;
pub(crate) const KVE_RESIDENT: usize = 48;
pub(crate) const KVE_PRIVATE_RESIDENT: usize = 52;
pub(crate) const KVE_PROTECTION: usize = 56;
pub(crate) const KVE_REF_COUNT: usize = 60;
pub(crate) const KVE_SHADOW_COUNT: usize = 64;
pub(crate) const KVE_PATH: usize = 136;

/// `KINFO_FILE_SIZE`: the unpacked `struct kinfo_file`.
pub(crate) const KINFO_FILE_SIZE: usize = 1392;
/// Offsets in `struct kinfo_file`.
pub(crate) const KF_TYPE: usize = 4;
pub(crate) const KF_FD: usize = 8;
pub(crate) const KF_OFFSET: usize = 24;
/// `kf_vnode_type`, the first member of the `kf_un` union that follows `kf_offset`.
pub(crate) const KF_VNODE_TYPE: usize = 32;
pub(crate) const KF_PATH: usize = 368;

// In both structs the path, `char[PATH_MAX]`, is the last field.
const _: () = assert!(KINFO_VMENTRY_SIZE - KVE_PATH == 1024 && KINFO_FILE_SIZE - KF_PATH == 1024);

/// `KF_TYPE_VNODE`, `KF_VTYPE_VREG` and `KF_FD_TYPE_CWD` of `<sys/user.h>`.
const KF_TYPE_VNODE: i32 = 1;
const KF_VTYPE_VREG: i32 = 1;
const KF_FD_TYPE_CWD: i32 = -1;
/// `KVME_PROT_READ`, `_WRITE`, `_EXEC`.
const KVME_PROT_READ: i32 = 1;
const KVME_PROT_WRITE: i32 = 2;
const KVME_PROT_EXEC: i32 = 4;

/// The NUL-terminated strings of a `kern.proc.args` / `kern.proc.env` buffer, as psutil walks it
/// (`strlen` + 1 at a time to the end): `a\0\0b\0` is `a`, ``, `b`; an empty buffer (a kernel
/// process) is no strings; a last string without its NUL is kept.
pub(crate) fn split_strings(buf: &[u8]) -> Vec<&[u8]> {
    let body = buf.strip_suffix(b"\0").unwrap_or(buf);
    if buf.is_empty() {
        return Vec::new();
    }
    body.split(|&b| b == 0).collect()
}

/// The arguments of a `kern.proc.args` buffer (invalid UTF-8 replaced by U+FFFD).
pub(crate) fn args(buf: &[u8]) -> Vec<String> {
    split_strings(buf)
        .into_iter()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// The variables of a `kern.proc.env` buffer, as psutil's C code builds the dict: each string
/// split at its first `=`, strings without one skipped, keys kept as they are (a later duplicate
/// wins).
pub(crate) fn environ(buf: &[u8]) -> BTreeMap<String, String> {
    split_strings(buf)
        .into_iter()
        .filter_map(|s| {
            let eq = s.iter().position(|&b| b == b'=')?;
            Some((
                String::from_utf8_lossy(&s[..eq]).into_owned(),
                String::from_utf8_lossy(&s[eq + 1..]).into_owned(),
            ))
        })
        .collect()
}

fn i32_at(rec: &[u8], at: usize) -> i32 {
    rec.get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, i32::from_ne_bytes)
}

fn u64_at(rec: &[u8], at: usize) -> u64 {
    rec.get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_ne_bytes)
}

/// The bytes of a C string field starting at `at`, up to its NUL or the record's end.
fn c_string_at(rec: &[u8], at: usize) -> Vec<u8> {
    let field = rec.get(at..).unwrap_or(&[]);
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    field[..end].to_vec()
}

/// The bytes of a C `char` array up to its NUL (`ki_comm`).
pub(crate) fn c_chars(chars: &[u8]) -> Vec<u8> {
    c_string_at(chars, 0)
}

/// The records of a packed buffer, each `*_structsize` bytes (its first `int`). The walk stops at
/// a size of 0 (as libutil's does), at a size smaller than `fixed` (the record before the path)
/// or running past the buffer: a damaged buffer gives fewer records, never a panic.
fn records(buf: &[u8], fixed: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= buf.len() {
        let size = usize::try_from(i32_at(buf, at)).unwrap_or(0);
        if size < fixed || at + size > buf.len() {
            break;
        }
        out.push(&buf[at..at + size]);
        at += size;
    }
    out
}

/// One `kinfo_vmentry`, the fields psutil uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct VmEntry {
    pub kind: i32,
    pub start: u64,
    pub end: u64,
    pub resident: i32,
    pub private_resident: i32,
    pub protection: i32,
    pub ref_count: i32,
    pub shadow_count: i32,
    pub path: Vec<u8>,
}

/// The entries of a `kern.proc.vmmap` buffer.
pub(crate) fn vm_entries(buf: &[u8]) -> Vec<VmEntry> {
    records(buf, KVE_PATH)
        .into_iter()
        .map(|r| VmEntry {
            kind: i32_at(r, KVE_TYPE),
            start: u64_at(r, KVE_START),
            end: u64_at(r, KVE_END),
            resident: i32_at(r, KVE_RESIDENT),
            private_resident: i32_at(r, KVE_PRIVATE_RESIDENT),
            protection: i32_at(r, KVE_PROTECTION),
            ref_count: i32_at(r, KVE_REF_COUNT),
            shadow_count: i32_at(r, KVE_SHADOW_COUNT),
            path: c_string_at(r, KVE_PATH),
        })
        .collect()
}

/// C's `%#jx`: `0x`-prefixed lower-case hex, except that 0 prints as `0`.
fn c_hex(v: u64) -> String {
    if v == 0 {
        "0".to_string()
    } else {
        format!("{v:#x}")
    }
}

/// psutil's three permission letters for `kve_protection`.
fn perms(protection: i32) -> String {
    [
        (KVME_PROT_READ, 'r'),
        (KVME_PROT_WRITE, 'w'),
        (KVME_PROT_EXEC, 'x'),
    ]
    .iter()
    .map(|&(bit, c)| if protection & bit != 0 { c } else { '-' })
    .collect()
}

/// psutil's placeholder path for a mapping without a file, by `kve_type` (`KVME_TYPE_*`).
fn placeholder(kind: i32) -> &'static str {
    match kind {
        0 => "[none]",
        1 => "[default]",
        2 => "[vnode]",
        3 => "[swap]",
        4 => "[device]",
        5 => "[phys]",
        6 => "[dead]",
        7 => "[sg]",
        255 => "[unknown]",
        _ => "[?]",
    }
}

/// psutil 8's FreeBSD `memory_maps()` record for one entry (`grouped=False`).
pub(crate) fn memory_map(e: &VmEntry, page_size: u64) -> MemoryMap {
    MemoryMap {
        addr: format!("{}-{}", c_hex(e.start), c_hex(e.end)),
        perms: perms(e.protection),
        path: if e.path.is_empty() {
            placeholder(e.kind).to_string()
        } else {
            String::from_utf8_lossy(&e.path).into_owned()
        },
        rss: pages(i64::from(e.resident), page_size),
        private: pages(i64::from(e.private_resident), page_size),
        ref_count: u64::try_from(e.ref_count).unwrap_or(0),
        shadow_count: u64::try_from(e.shadow_count).unwrap_or(0),
    }
}

impl GroupableMap for MemoryMap {
    type Key = String;

    fn group_key(&self) -> &String {
        &self.path
    }

    fn add(&mut self, m: &MemoryMap) {
        self.rss = self.rss.saturating_add(m.rss);
        self.private = self.private.saturating_add(m.private);
        self.ref_count = self.ref_count.saturating_add(m.ref_count);
        self.shadow_count = self.shadow_count.saturating_add(m.shadow_count);
    }

    fn forget_address(&mut self) {
        self.addr.clear();
        self.perms.clear();
    }
}

/// One `kinfo_file`, the fields memsight uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct FileEntry {
    pub kind: i32,
    pub fd: i32,
    pub offset: i64,
    pub vnode_type: i32,
    pub path: Vec<u8>,
}

/// The entries of a `kern.proc.filedesc` buffer.
pub(crate) fn file_entries(buf: &[u8]) -> Vec<FileEntry> {
    records(buf, KF_PATH)
        .into_iter()
        .map(|r| FileEntry {
            kind: i32_at(r, KF_TYPE),
            fd: i32_at(r, KF_FD),
            offset: u64_at(r, KF_OFFSET) as i64,
            vnode_type: i32_at(r, KF_VNODE_TYPE),
            path: c_string_at(r, KF_PATH),
        })
        .collect()
}

/// Real descriptors only: entries with `kf_fd >= 0`. psutil 8 counts every entry, including the
/// cwd, root, jail, text and ctty pseudo-entries (negative `kf_fd`), so its `num_fds()` is up to
/// five more than the process has open.
pub(crate) fn num_fds(entries: &[FileEntry]) -> usize {
    entries.iter().filter(|e| e.fd >= 0).count()
}

/// The working directory: the path of the `KF_FD_TYPE_CWD` entry (`None` when there is none).
pub(crate) fn cwd(entries: &[FileEntry]) -> Option<PathBuf> {
    entries
        .iter()
        .find(|e| e.fd == KF_FD_TYPE_CWD)
        .map(|e| PathBuf::from(OsString::from_vec(e.path.clone())))
}

/// psutil's `open_files()` on FreeBSD: descriptors of vnodes that are regular files.
pub(crate) fn open_files(entries: &[FileEntry]) -> Vec<OpenFile> {
    entries
        .iter()
        .filter(|e| e.kind == KF_TYPE_VNODE && e.vnode_type == KF_VTYPE_VREG && e.fd >= 0)
        .map(|e| OpenFile {
            path: PathBuf::from(OsString::from_vec(e.path.clone())),
            fd: e.fd as u32,
            position: u64::try_from(e.offset).unwrap_or(0),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neutral::maps::group_maps;

    fn put_i32(rec: &mut [u8], at: usize, v: i32) {
        rec[at..at + 4].copy_from_slice(&v.to_ne_bytes());
    }

    fn put_u64(rec: &mut [u8], at: usize, v: u64) {
        rec[at..at + 8].copy_from_slice(&v.to_ne_bytes());
    }

    /// A packed record as the kernel writes it: the fixed part, the path and its NUL, rounded up
    /// to 8 bytes, with the size in the first `int`.
    fn packed(fixed: usize, path: &[u8], fill: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let size = (fixed + path.len() + 1).next_multiple_of(8);
        let mut rec = vec![0u8; size];
        rec[fixed..fixed + path.len()].copy_from_slice(path);
        put_i32(&mut rec, 0, size as i32);
        fill(&mut rec);
        rec
    }

    fn vme(
        kind: i32,
        start: u64,
        end: u64,
        prot: i32,
        res: i32,
        private: i32,
        path: &[u8],
    ) -> Vec<u8> {
        packed(KVE_PATH, path, |r| {
            put_i32(r, KVE_TYPE, kind);
            put_u64(r, KVE_START, start);
            put_u64(r, KVE_END, end);
            put_i32(r, KVE_RESIDENT, res);
            put_i32(r, KVE_PRIVATE_RESIDENT, private);
            put_i32(r, KVE_PROTECTION, prot);
            put_i32(r, KVE_REF_COUNT, 2);
            put_i32(r, KVE_SHADOW_COUNT, 1);
        })
    }

    #[test]
    fn args_split_like_psutils_strlen_walk() {
        assert_eq!(
            args(b"/bin/sh\0-c\0echo hi\0"),
            ["/bin/sh", "-c", "echo hi"]
        );
        assert_eq!(args(b"a\0\0b\0"), ["a", "", "b"]);
        assert_eq!(args(b"no-nul"), ["no-nul"]);
        assert_eq!(args(b"\0"), [""]);
        assert!(args(b"").is_empty());
        assert_eq!(args(b"caf\xe9\0"), ["caf\u{fffd}"]);
    }

    #[test]
    fn environ_splits_at_the_first_equals_and_skips_the_rest() {
        let env = environ(b"HOME=/root\0JUNK\0EQ=a=b\0=empty-key\0PATH=/bin\0");
        let want: BTreeMap<String, String> = [
            ("", "empty-key"),
            ("EQ", "a=b"),
            ("HOME", "/root"),
            ("PATH", "/bin"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(env, want);
        assert!(environ(b"").is_empty());
    }

    #[test]
    fn vmmap_records_walk_by_structsize_and_convert_like_psutil() {
        let mut buf = vme(2, 0x8_0020_0000, 0x8_0021_9000, 5, 25, 0, b"/lib/libc.so.7");
        buf.extend(vme(1, 0x8_0100_0000, 0x8_0120_0000, 3, 100, 90, b""));
        buf.extend(vme(9, 0x7fff_dfff_e000, 0x7fff_e000_0000, 0, 0, 0, b""));
        // 136 fixed bytes + 14 + NUL = 151, rounded to 152.
        assert_eq!(i32_at(&buf, 0), 152);
        let maps: Vec<MemoryMap> = vm_entries(&buf)
            .iter()
            .map(|e| memory_map(e, 4096))
            .collect();
        assert_eq!(maps.len(), 3);
        assert_eq!(
            maps[0],
            MemoryMap {
                addr: "0x800200000-0x800219000".into(),
                perms: "r-x".into(),
                path: "/lib/libc.so.7".into(),
                rss: 25 * 4096,
                private: 0,
                ref_count: 2,
                shadow_count: 1,
            }
        );
        assert_eq!(
            (
                maps[1].perms.as_str(),
                maps[1].path.as_str(),
                maps[1].rss,
                maps[1].private
            ),
            ("rw-", "[default]", 409_600, 368_640)
        );
        assert_eq!(
            (maps[2].perms.as_str(), maps[2].path.as_str()),
            ("---", "[?]")
        );
    }

    #[test]
    fn a_damaged_vmmap_buffer_stops_the_walk() {
        let good = vme(2, 0x1000, 0x2000, 1, 1, 1, b"/a");
        let mut buf = good.clone();
        buf.extend(&good[..good.len() - 8]); // cut short
        assert_eq!(vm_entries(&buf).len(), 1);
        let mut zero = good.clone();
        put_i32(&mut zero, 0, 0);
        assert!(vm_entries(&zero).is_empty());
        let mut tiny = good;
        put_i32(&mut tiny, 0, 8); // smaller than the fixed part
        assert!(vm_entries(&tiny).is_empty());
        assert!(vm_entries(&[1, 2]).is_empty());
    }

    #[test]
    fn placeholders_and_hex_follow_psutils_c() {
        let names: Vec<&str> = [0, 1, 2, 3, 4, 5, 6, 7, 8, 255].map(placeholder).to_vec();
        assert_eq!(
            names,
            [
                "[none]",
                "[default]",
                "[vnode]",
                "[swap]",
                "[device]",
                "[phys]",
                "[dead]",
                "[sg]",
                "[?]",
                "[unknown]"
            ]
        );
        assert_eq!(c_hex(0), "0");
        assert_eq!(c_hex(0xdead_beef), "0xdeadbeef");
        assert_eq!(perms(7), "rwx");
        assert_eq!(perms(2), "-w-");
    }

    #[test]
    fn grouping_sums_every_number_per_path_in_first_seen_order() {
        let m = |path: &str, rss, private, refs, shadows| MemoryMap {
            addr: "0x1-0x2".into(),
            perms: "r--".into(),
            path: path.into(),
            rss,
            private,
            ref_count: refs,
            shadow_count: shadows,
        };
        let grouped = group_maps(vec![
            m("/bin/sh", 4096, 0, 3, 0),
            m("[default]", 8192, 8192, 1, 1),
            m("/bin/sh", 12288, 4096, 3, 1),
        ]);
        assert_eq!(
            grouped,
            [
                MemoryMap {
                    addr: String::new(),
                    perms: String::new(),
                    ..m("/bin/sh", 16384, 4096, 6, 1)
                },
                MemoryMap {
                    addr: String::new(),
                    perms: String::new(),
                    ..m("[default]", 8192, 8192, 1, 1)
                },
            ]
        );
    }

    fn kf(kind: i32, fd: i32, vtype: i32, offset: i64, path: &[u8]) -> Vec<u8> {
        packed(KF_PATH, path, |r| {
            put_i32(r, KF_TYPE, kind);
            put_i32(r, KF_FD, fd);
            put_u64(r, KF_OFFSET, offset as u64);
            put_i32(r, KF_VNODE_TYPE, vtype);
        })
    }

    #[test]
    fn filedesc_gives_cwd_real_fds_and_regular_files() {
        // cwd (-1), root (-2), text (-5), stdin on a tty (VCHR = 4), a regular file at offset
        // 10, a pipe (KF_TYPE_PIPE = 3), a directory (VDIR = 2).
        let mut buf = kf(1, -1, 2, 0, b"/home/me");
        buf.extend(kf(1, -2, 2, 0, b"/"));
        buf.extend(kf(1, -5, 1, 0, b"/usr/bin/prog"));
        buf.extend(kf(1, 0, 4, 0, b"/dev/pts/0"));
        buf.extend(kf(1, 3, 1, 10, b"/tmp/log.txt"));
        buf.extend(kf(3, 4, 0, 0, b""));
        buf.extend(kf(1, 5, 2, 0, b"/etc"));
        let entries = file_entries(&buf);
        assert_eq!(entries.len(), 7);
        assert_eq!(cwd(&entries), Some(PathBuf::from("/home/me")));
        assert_eq!(num_fds(&entries), 4); // psutil would say 7
        assert_eq!(
            open_files(&entries),
            [OpenFile {
                path: "/tmp/log.txt".into(),
                fd: 3,
                position: 10
            }]
        );
        assert_eq!(cwd(&entries[1..]), None);
        assert!(file_entries(&[]).is_empty());
    }

    #[test]
    fn comm_stops_at_nul() {
        assert_eq!(c_chars(b"sh\0\0junk"), b"sh");
        assert_eq!(c_chars(b"nonul"), b"nonul");
    }
}
