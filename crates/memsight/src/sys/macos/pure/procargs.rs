//! `sysctl({CTL_KERN, KERN_PROCARGS2, pid})`: a process's arguments and environment, as psutil
//! reads them (`arch/osx/proc.c`).
//!
//! The buffer is `int argc | exec_path NUL | NUL padding | argc NUL-terminated arguments |
//! NUL-terminated KEY=value strings | NUL`.

use std::collections::BTreeMap;

/// The arguments and the environment strings of a `KERN_PROCARGS2` buffer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ProcArgs {
    /// `argv`, each argument as text (invalid UTF-8 replaced).
    pub args: Vec<String>,
    /// The bytes after the arguments: the environment block.
    pub env: Vec<u8>,
}

/// Splits a `KERN_PROCARGS2` buffer as psutil does: skip `argc`, the exec path and the NUL
/// padding after it; then `argc` NUL-terminated arguments (a last one cut off by the buffer's
/// end is dropped); the rest is the environment. A buffer too short for `argc` gives nothing.
pub(crate) fn parse(buf: &[u8]) -> ProcArgs {
    let Some(argc) = buf.get(..4).and_then(|b| b.try_into().ok()) else {
        return ProcArgs::default();
    };
    let mut argc = i32::from_ne_bytes(argc).max(0) as usize;
    let rest = &buf[4..];
    // The exec path.
    let Some(end) = rest.iter().position(|&b| b == 0) else {
        return ProcArgs::default();
    };
    let mut at = end + 1;
    // The padding.
    while at < rest.len() && rest[at] == 0 {
        at += 1;
    }
    let mut args = Vec::new();
    while argc > 0 && at < rest.len() {
        let Some(len) = rest[at..].iter().position(|&b| b == 0) else {
            break;
        };
        args.push(String::from_utf8_lossy(&rest[at..at + len]).into_owned());
        at += len + 1;
        argc -= 1;
    }
    ProcArgs {
        args,
        env: rest.get(at..).unwrap_or_default().to_vec(),
    }
}

/// psutil's `parse_environ_block` on POSIX: NUL-separated `KEY=value` strings up to the first
/// empty one; entries without `=`, or with `=` first, are skipped; split at the first `=`; keys
/// keep their case.
pub(crate) fn parse_environ(block: &[u8]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in block.split(|&b| b == 0) {
        if entry.is_empty() {
            break;
        }
        match entry.iter().position(|&b| b == b'=') {
            Some(eq) if eq > 0 => {
                out.insert(
                    String::from_utf8_lossy(&entry[..eq]).into_owned(),
                    String::from_utf8_lossy(&entry[eq + 1..]).into_owned(),
                );
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer(argc: i32, body: &[u8]) -> Vec<u8> {
        let mut b = argc.to_ne_bytes().to_vec();
        b.extend_from_slice(body);
        b
    }

    #[test]
    fn arguments_after_the_exec_path_and_padding() {
        let b = buffer(
            3,
            b"/bin/ls\0\0\0\0ls\0-l\0a b\0PATH=/bin\0HOME=/Users/me\0\0\0",
        );
        let p = parse(&b);
        assert_eq!(p.args, ["ls", "-l", "a b"]);
        let env = parse_environ(&p.env);
        assert_eq!(env.len(), 2);
        assert_eq!(env["PATH"], "/bin");
        assert_eq!(env["HOME"], "/Users/me");
    }

    #[test]
    fn environ_rules() {
        let env = parse_environ(b"A=1\0noequals\0=x\0B=c=d\0lower=ok\0\0C=after-end\0");
        assert_eq!(env.len(), 3);
        assert_eq!(env["A"], "1");
        assert_eq!(env["B"], "c=d");
        assert_eq!(env["lower"], "ok");
        assert!(parse_environ(b"").is_empty());
        assert!(parse_environ(b"\0A=1\0").is_empty());
    }

    #[test]
    fn short_and_cut_buffers() {
        assert_eq!(parse(&[1, 0]), ProcArgs::default());
        assert_eq!(parse(&buffer(2, b"/bin/x")), ProcArgs::default());
        // Only the exec path (a kernel process, or pid 0).
        assert!(parse(&buffer(0, b"/sbin/launchd\0")).args.is_empty());
        // argc says 3 but the buffer ends inside the second argument: one argument.
        assert_eq!(parse(&buffer(3, b"/bin/x\0x\0-l")).args, ["x"]);
        // A negative argc reads no arguments.
        let p = parse(&buffer(-1, b"/bin/x\0x\0A=1\0"));
        assert!(p.args.is_empty());
        assert_eq!(parse_environ(&p.env)["A"], "1");
    }
}
