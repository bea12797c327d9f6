//! `/proc/PID/environ`: the process's initial environment, `KEY=value` entries each ended by a NUL
//! byte. See proc_pid_environ(5).

/// Splits the contents of `/proc/PID/environ` into `(key, value)` pairs with psutil's rules
/// (`parse_environ_block`): stop at an empty entry (`\0\0`) or at a last entry with no final NUL;
/// skip entries without `=` or starting with `=`; split at the first `=`. Later duplicates come
/// later, so collecting into a map keeps the last one, as psutil does. Allocates nothing.
pub(crate) fn parse(data: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        loop {
            let end = rest.iter().position(|&b| b == 0)?;
            if end == 0 {
                return None;
            }
            let entry = &rest[..end];
            rest = &rest[end + 1..];
            match entry.iter().position(|&b| b == b'=') {
                Some(eq) if eq > 0 => return Some((&entry[..eq], &entry[eq + 1..])),
                _ => continue,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(data: &[u8]) -> Vec<(String, String)> {
        parse(data)
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect()
    }

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    // The cases of psutil's test_misc.py::test_parse_environ_block and test_weird_environ.
    #[test]
    fn psutil_cases() {
        assert_eq!(pairs(b"a=1\0"), owned(&[("a", "1")]));
        assert_eq!(pairs(b"a=1\0b=2\0\0"), owned(&[("a", "1"), ("b", "2")]));
        assert_eq!(pairs(b"a=1\0b=\0\0"), owned(&[("a", "1"), ("b", "")]));
        // Ignore everything after \0\0.
        assert_eq!(
            pairs(b"a=1\0b=2\0\0c=3\0"),
            owned(&[("a", "1"), ("b", "2")])
        );
        // Ignore everything that is not an assignment.
        assert_eq!(pairs(b"xxx\0a=1\0"), owned(&[("a", "1")]));
        assert_eq!(pairs(b"a=1\0=b=2\0"), owned(&[("a", "1")]));
        // Do not fail if the block is incomplete: the unterminated last entry is dropped.
        assert_eq!(pairs(b"a=1\0b=2"), owned(&[("a", "1")]));
        assert_eq!(pairs(b"A=1\0X\0C=3\0"), owned(&[("A", "1"), ("C", "3")]));
    }

    #[test]
    fn value_keeps_later_equals() {
        assert_eq!(pairs(b"OPTS=a=b=c\0"), owned(&[("OPTS", "a=b=c")]));
        assert!(pairs(b"").is_empty());
    }

    proptest! {
        #[test]
        fn never_panics(data: Vec<u8>) {
            let _ = parse(&data).count();
        }

        #[test]
        fn terminated_assignments_round_trip(
            list in proptest::collection::vec(("[A-Z_]{1,8}", "[a-z0-9=/:]{0,8}"), 0..8)
        ) {
            let data: Vec<u8> = list.iter().flat_map(|(k, v)| format!("{k}={v}\0").into_bytes()).collect();
            prop_assert_eq!(pairs(&data), list);
        }
    }
}
