//! Bytes that may not be UTF-8, and how records serialize them.
//!
//! Linux hands over paths, names, arguments and environment entries as bytes with no encoding.
//! Every record field that carries one comes in two forms: a `String` decoded as UTF-8 with each
//! invalid sequence replaced by U+FFFD (lossy, for display), and the exact bytes (`OsString` or
//! `PathBuf`, named `*_os` where a lossy field of the same name exists, or the `PathBuf` field
//! itself).
//!
//! Serialized (JSON, Python), the rule is one for every record: the field's key holds the lossy
//! string, and only when the exact value is not valid UTF-8 a sibling key `KEY_bytes` follows with
//! the exact bytes: an array of integers 0-255 for a string or path, an array of such arrays for a
//! list (`cmdline_bytes`), an array of `[key, value]` pairs of such arrays for a map
//! (`environ_bytes`). A consumer that needs the bytes reads `KEY_bytes` when present, else
//! `KEY` (which is then exact).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// Whether every string in the value is valid UTF-8 (then its lossy form is exact and no
/// `_bytes` sibling is written).
pub(crate) trait IsUtf8 {
    fn is_utf8(&self) -> bool;
}

impl<T: AsRef<OsStr>> IsUtf8 for T {
    fn is_utf8(&self) -> bool {
        self.as_ref().to_str().is_some()
    }
}

/// `true` when the optional value is absent or UTF-8: the `skip_serializing_if` of a `_bytes`
/// sibling.
#[cfg_attr(not(feature = "serde"), allow(dead_code))]
pub(crate) fn utf8_or_none<T: AsRef<OsStr>>(value: &Option<T>) -> bool {
    value.as_ref().is_none_or(|v| v.is_utf8())
}

/// [`utf8_or_none`] for a list: absent or every item UTF-8.
#[cfg_attr(not(feature = "serde"), allow(dead_code))]
pub(crate) fn all_utf8_or_none<T: AsRef<OsStr>>(value: &Option<Vec<T>>) -> bool {
    value.as_ref().is_none_or(|v| v.iter().all(|s| s.is_utf8()))
}

/// [`utf8_or_none`] for a map: absent or every key and value UTF-8.
#[cfg_attr(not(feature = "serde"), allow(dead_code))]
pub(crate) fn map_utf8_or_none(value: &Option<BTreeMap<OsString, OsString>>) -> bool {
    value
        .as_ref()
        .is_none_or(|m| m.iter().all(|(k, v)| k.is_utf8() && v.is_utf8()))
}

/// `true` when every item of the list is UTF-8: the `skip_serializing_if` of a list's `_bytes`.
#[cfg_attr(not(feature = "serde"), allow(dead_code))]
pub(crate) fn all_utf8<T: AsRef<OsStr>>(value: &[T]) -> bool {
    value.iter().all(|s| s.is_utf8())
}

/// The exact bytes of a string from the kernel.
#[cfg_attr(not(feature = "serde"), allow(dead_code))]
pub(crate) fn bytes_of(value: &impl AsRef<OsStr>) -> &[u8] {
    value.as_ref().as_bytes()
}

/// The lossy form: UTF-8 with invalid sequences replaced by U+FFFD.
pub(crate) fn lossy(value: &impl AsRef<OsStr>) -> String {
    value.as_ref().to_string_lossy().into_owned()
}

#[cfg(feature = "serde")]
pub(crate) mod ser {
    //! `serialize_with` helpers for the rule in the parent module.

    use std::collections::BTreeMap;
    use std::ffi::{OsStr, OsString};
    use std::path::PathBuf;

    use serde::Serializer;
    use serde::ser::{SerializeMap, SerializeSeq};

    use super::{IsUtf8, bytes_of};

    /// An `OsStr` as its bytes (an array of integers).
    struct Bytes<'a>(&'a OsStr);

    impl serde::Serialize for Bytes<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let bytes = bytes_of(&self.0);
            let mut seq = s.serialize_seq(Some(bytes.len()))?;
            for b in bytes {
                seq.serialize_element(b)?;
            }
            seq.end()
        }
    }

    /// The exact bytes of an optional string (written only when not UTF-8).
    pub(crate) fn opt_bytes<T: AsRef<OsStr>, S: Serializer>(
        value: &Option<T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_some(&Bytes(v.as_ref())),
            None => s.serialize_none(),
        }
    }

    /// The exact bytes of a string.
    pub(crate) fn bytes<T: AsRef<OsStr>, S: Serializer>(
        value: &T,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_some(&Bytes(value.as_ref()))
    }

    /// The exact bytes of each string of a list.
    pub(crate) fn list<T: AsRef<OsStr>, S: Serializer>(
        value: &[T],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(value.iter().map(|v| Bytes(v.as_ref())))
    }

    /// The exact bytes of each string of an optional list.
    pub(crate) fn list_bytes<T: AsRef<OsStr>, S: Serializer>(
        value: &Option<Vec<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(list) => s.collect_seq(list.iter().map(|v| Bytes(v.as_ref()))),
            None => s.serialize_none(),
        }
    }

    /// The exact bytes of each key and value of an optional map, as `[key, value]` pairs (a JSON
    /// object key must be a string).
    pub(crate) fn map_bytes<S: Serializer>(
        value: &Option<BTreeMap<OsString, OsString>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(map) => s.collect_seq(map.iter().map(|(k, v)| (Bytes(k), Bytes(v)))),
            None => s.serialize_none(),
        }
    }

    /// Writes `key` with the lossy path and, when it is not UTF-8, `key_bytes` with its bytes:
    /// for a `PathBuf` field that is itself exact (used with `#[serde(flatten)]`).
    pub(crate) fn path_entries<M: SerializeMap>(
        map: &mut M,
        key: &'static str,
        key_bytes: &'static str,
        path: Option<&PathBuf>,
    ) -> Result<(), M::Error> {
        map.serialize_entry(key, &path.map(|p| p.to_string_lossy()))?;
        if let Some(p) = path.filter(|p| !p.is_utf8()) {
            map.serialize_entry(key_bytes, &Bytes(p.as_os_str()))?;
        }
        Ok(())
    }

    /// Defines `fn $name` for `#[serde(flatten, serialize_with = "...")]` on a `PathBuf` (or
    /// `Option<PathBuf>`) field: writes `$key` lossy and `$key_bytes` when needed.
    macro_rules! path_field {
        ($name:ident, $key:literal) => {
            pub(crate) fn $name<P: $crate::sys::exact::ser::AsOptPath, S: serde::Serializer>(
                path: &P,
                s: S,
            ) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut map = s.serialize_map(None)?;
                $crate::sys::exact::ser::path_entries(
                    &mut map,
                    $key,
                    concat!($key, "_bytes"),
                    path.as_opt_path(),
                )?;
                map.end()
            }
        };
    }
    pub(crate) use path_field;

    /// A `PathBuf` or an `Option<PathBuf>`, for [`path_field`].
    pub(crate) trait AsOptPath {
        fn as_opt_path(&self) -> Option<&PathBuf>;
    }

    impl AsOptPath for PathBuf {
        fn as_opt_path(&self) -> Option<&PathBuf> {
            Some(self)
        }
    }

    impl AsOptPath for Option<PathBuf> {
        fn as_opt_path(&self) -> Option<&PathBuf> {
            self.as_ref()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossy_and_exact() {
        let bad = OsStr::from_bytes(b"a\xffb");
        assert!(!bad.is_utf8());
        assert_eq!(lossy(&bad), "a\u{fffd}b");
        assert_eq!(bytes_of(&bad), b"a\xffb");
        assert!(utf8_or_none::<OsString>(&None));
        assert!(!utf8_or_none(&Some(bad)));
        assert!(all_utf8_or_none(&Some(vec!["x", "y"])));
        assert!(!all_utf8_or_none(&Some(vec![OsStr::new("x"), bad])));
        let mut m = BTreeMap::new();
        m.insert(OsString::from("K"), bad.to_owned());
        assert!(!map_utf8_or_none(&Some(m)));
    }
}
