//! `/proc/PID/cmdline`: the arguments, each ended by a NUL byte. See proc_pid_cmdline(5).
//!
//! A process may rewrite its argument area (setproctitle, Chrome): then the text may be separated
//! by spaces and not end in a NUL. The rules are psutil's (`_pslinux.py` `cmdline`, #1179).

use crate::error::ParseError;

/// Splits the contents of `/proc/PID/cmdline` into arguments, decoding each as UTF-8 (invalid
/// sequences become U+FFFD):
/// - data ending in NUL is split on NUL (after dropping the final NUL); if that gives a single
///   argument containing a space, it is split on spaces instead;
/// - data not ending in NUL is split on spaces (after dropping one final space);
/// - empty data gives no arguments (a kernel thread, or a zombie: the caller tells them apart).
pub(crate) fn parse(data: &[u8]) -> Result<Vec<String>, ParseError> {
    Ok(split(data)
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect())
}

/// The arguments of `data` as byte slices, by the rules of [`parse`]. Allocates nothing.
pub(crate) fn split(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let (sep, body) = match data.split_last() {
        None => (b' ', None),
        Some((0, body)) => {
            let sep = if !body.contains(&0) && body.contains(&b' ') {
                b' '
            } else {
                0
            };
            (sep, Some(body))
        }
        Some((b' ', body)) => (b' ', Some(body)),
        Some(_) => (b' ', Some(data)),
    };
    body.into_iter()
        .flat_map(move |b| b.split(move |&c| c == sep))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn args(data: &[u8]) -> Vec<String> {
        parse(data).unwrap()
    }

    #[test]
    fn nul_separated() {
        assert_eq!(args(b"sleep\x00100\x00"), ["sleep", "100"]);
        assert_eq!(
            args(b"a b\x00c\x00"),
            ["a b", "c"],
            "spaces inside arguments kept"
        );
        assert_eq!(args(b"x\x00\x00"), ["x", ""], "an empty last argument");
    }

    #[test]
    fn setproctitle_forms() {
        // Not NUL-terminated: split on spaces.
        assert_eq!(
            args(b"nginx: worker process"),
            ["nginx:", "worker", "process"]
        );
        assert_eq!(args(b"postgres: writer "), ["postgres:", "writer"]);
        // NUL-terminated but one argument with spaces (psutil #1179 comment).
        assert_eq!(
            args(b"chrome --type=renderer\x00"),
            ["chrome", "--type=renderer"]
        );
    }

    #[test]
    fn empty() {
        assert!(args(b"").is_empty());
        assert_eq!(args(b"\x00"), [""]);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(args(b"caf\xe9\x00"), ["caf\u{fffd}"]);
    }

    proptest! {
        #[test]
        fn never_panics(data: Vec<u8>) {
            let _ = parse(&data);
        }

        #[test]
        fn nul_joined_args_round_trip(list in proptest::collection::vec("[a-z=/.-]{1,8}", 1..6)) {
            let mut data = list.join("\0").into_bytes();
            data.push(0);
            prop_assert_eq!(args(&data), list);
        }
    }
}
