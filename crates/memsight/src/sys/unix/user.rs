//! User names from the system's user database (`getpwuid_r(3)`: /etc/passwd, NSS).
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::ffi::CStr;

/// The login name of `uid`, or the uid as decimal text when the user database has no entry for it
/// (psutil's `username()` rule).
pub(crate) fn name_or_uid(uid: u32) -> String {
    user_name(uid).unwrap_or_else(|| uid.to_string())
}

/// [`name_or_uid`] with its answers kept: a scan of every process asks about the same few uids
/// thousands of times, and each lookup may read `/etc/passwd` or ask NSS.
#[derive(Debug, Default)]
pub(crate) struct UserNames(HashMap<u32, String>);

impl UserNames {
    /// The name of `uid`, looked up the first time only.
    pub(crate) fn name(&mut self, uid: u32) -> String {
        self.0
            .entry(uid)
            .or_insert_with(|| name_or_uid(uid))
            .clone()
    }
}

/// The login name of `uid`, or `None` when the user database has no entry for it (or the lookup
/// fails).
pub(crate) fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: `passwd` is plain old data that getpwuid_r fills in; an all-zero value is valid.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call: `pwd` and `result` are live locals, `buf` is
        // a live allocation of `buf.len()` bytes that getpwuid_r may use for the strings.
        let rc = unsafe {
            libc::getpwuid_r(
                uid,
                &mut pwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        // SAFETY: on success `pw_name` points to a NUL-terminated string inside `buf`, which is
        // still alive here.
        let name = unsafe { CStr::from_ptr(pwd.pw_name) };
        return Some(name.to_string_lossy().into_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_unknown() {
        assert_eq!(user_name(0).as_deref(), Some("root"));
        assert_eq!(user_name(4_000_000_000), None);
        assert_eq!(name_or_uid(4_000_000_000), "4000000000");
        let mut names = UserNames::default();
        assert_eq!(names.name(0), "root");
        assert_eq!(names.name(4_000_000_000), "4000000000");
        assert_eq!(names.0.len(), 2);
    }
}
