//! psutil's POSIX `name()` rule, for the kernels that cut a process's command name.

/// psutil's threshold (`__init__.py`, every POSIX system): a name of 15 characters or more may
/// have been cut by the kernel (Linux keeps `TASK_COMM_LEN - 1` = 15 bytes, macOS `MAXCOMLEN` =
/// 16, FreeBSD `COMMLEN` = 19), so psutil tries the first argument.
const CUT_NAME_CHARS: usize = 15;

/// Whether psutil suspects `comm` was cut: 15 characters or more, counting each byte that is not
/// part of a UTF-8 character as one (as Python's surrogateescape decoding does).
pub(crate) fn may_be_cut(comm: &[u8]) -> bool {
    let chars: usize = comm
        .utf8_chunks()
        .map(|c| c.valid().chars().count() + c.invalid().len())
        .sum();
    chars >= CUT_NAME_CHARS
}

/// psutil's extension: when `comm` may have been cut, the base name of the first argument if it
/// starts with `comm`; `None` when the name stays `comm`. Works on the exact bytes.
pub(crate) fn extension<'a>(comm: &[u8], first_arg: Option<&'a [u8]>) -> Option<&'a [u8]> {
    let first = first_arg.filter(|_| may_be_cut(comm))?;
    let base = first.rsplit(|&b| b == b'/').next().unwrap_or(first);
    base.starts_with(comm).then_some(base)
}

/// [`extension`] over text (the macOS and FreeBSD backends decode the name and the arguments).
#[cfg(any(test, target_os = "macos", target_os = "freebsd"))]
pub(crate) fn extended_name(comm: String, args: &[String]) -> String {
    match extension(comm.as_bytes(), args.first().map(|a| a.as_bytes())) {
        Some(base) => String::from_utf8_lossy(base).into_owned(),
        None => comm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(comm: &str, args: &[&str]) -> String {
        extended_name(
            comm.to_string(),
            &args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn extension_rule() {
        assert_eq!(
            ext(
                "gnome-keyring-d",
                &["/usr/bin/gnome-keyring-daemon", "--start"]
            ),
            "gnome-keyring-daemon"
        );
        assert_eq!(
            ext("memsight-collec", &["/usr/local/bin/memsight-collector"]),
            "memsight-collector"
        );
        assert_eq!(
            ext(
                "com.apple.WebKi",
                &["/S/L/com.apple.WebKit.WebContent", "-x"]
            ),
            "com.apple.WebKit.WebContent"
        );
        assert_eq!(
            ext("gnome-keyring-d", &["/usr/bin/other"]),
            "gnome-keyring-d"
        );
        assert_eq!(ext("kworker/0:1-eve", &[]), "kworker/0:1-eve");
        // A name under 15 characters was not cut: it stays, whatever argv[0] says.
        assert_eq!(ext("sleep", &["/bin/sleepy"]), "sleep");
    }

    #[test]
    fn extension_works_on_exact_bytes() {
        // 15 bytes, two of them not UTF-8: cut, and extended from the exact argument bytes.
        let comm = b"name-\xff\xfe-abcdefg";
        assert_eq!(comm.len(), 15);
        let arg: &[u8] = b"/x/name-\xff\xfe-abcdefghij";
        assert_eq!(
            extension(comm, Some(arg)),
            Some(&b"name-\xff\xfe-abcdefghij"[..])
        );
        // 15 bytes but 5 characters: not cut.
        let short = "ααααααα".as_bytes();
        assert!(!may_be_cut(&short[..10]));
        assert_eq!(extension(&short[..10], Some("/ααααααα".as_bytes())), None);
    }
}
