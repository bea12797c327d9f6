//! `--user`: a user argument checked when the command line is parsed, so an unknown user is a
//! usage error (exit 2), as in procps `ps -u nosuchuser`. On Linux, macOS and FreeBSD a login
//! name or a decimal uid, resolved to the uid; on Windows an account name, compared with the
//! process's `DOMAIN\user`.

/// A `--user` argument: the uid (Unix).
#[cfg(unix)]
pub type User = u32;

/// A `--user` argument: the account name, with or without its domain (Windows).
#[cfg(windows)]
pub type User = String;

/// Resolves a login name or a decimal uid. Names are looked up with `getent passwd` (the
/// system's user database, NSS included); where `getent` cannot be run (macOS has none), with
/// POSIX `id -u` (which asks Directory Services there), and last in `/etc/passwd`.
#[cfg(unix)]
pub fn parse_user(arg: &str) -> Result<User, String> {
    use std::process::Command;

    if !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_digit()) {
        return arg
            .parse()
            .map_err(|_| format!("user id {arg} is out of range"));
    }
    if arg.is_empty() {
        return Err("the user name is empty".to_owned());
    }
    let uid = match Command::new("getent").args(["passwd", "--", arg]).output() {
        Ok(out) if out.status.success() => uid_of(&String::from_utf8_lossy(&out.stdout)),
        Ok(_) => None,
        Err(_) => id_uid(arg).unwrap_or_else(|| passwd_uid(arg)),
    };
    uid.ok_or_else(|| format!("no such user: {arg}"))
}

/// The uid of `name` in `/etc/passwd`, when it is there.
#[cfg(unix)]
fn passwd_uid(name: &str) -> Option<u32> {
    let all = std::fs::read_to_string("/etc/passwd").ok()?;
    all.lines()
        .find(|l| name_of(l) == Some(name))
        .and_then(uid_of)
}

/// `id -u -- NAME`: `None` when `id` cannot be run, `Some(None)` when it knows no such user.
#[cfg(unix)]
fn id_uid(name: &str) -> Option<Option<u32>> {
    let out = std::process::Command::new("id")
        .args(["-u", "--", name])
        .output()
        .ok()?;
    Some(if out.status.success() {
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    } else {
        None
    })
}

/// Accepts an account name (`DOMAIN\user` or `user`); Windows has no uids to give instead.
#[cfg(windows)]
pub fn parse_user(arg: &str) -> Result<User, String> {
    if arg.is_empty() {
        return Err("the user name is empty".to_owned());
    }
    Ok(arg.to_owned())
}

/// Whether `username` (`DOMAIN\user`) is `want`, given with or without the domain, in any case
/// (Windows account names are case-insensitive).
#[cfg(windows)]
pub fn name_is(username: &str, want: &str) -> bool {
    let bare = username.rsplit('\\').next().unwrap_or(username);
    username.eq_ignore_ascii_case(want) || bare.eq_ignore_ascii_case(want)
}

/// The name field of a passwd line (`name:x:uid:gid:...`).
#[cfg(unix)]
fn name_of(line: &str) -> Option<&str> {
    line.split(':').next()
}

/// The uid field of a passwd line.
#[cfg(unix)]
fn uid_of(line: &str) -> Option<u32> {
    line.trim_end().split(':').nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn names_and_uids() {
        assert_eq!(parse_user("0"), Ok(0));
        assert_eq!(parse_user("65534"), Ok(65534));
        assert_eq!(parse_user("root"), Ok(0));
        assert!(parse_user("no-such-user-memsight").is_err());
        assert!(parse_user("99999999999").is_err());
        assert!(parse_user("").is_err());
        assert_eq!(id_uid("root"), Some(Some(0)));
        assert_eq!(id_uid("no-such-user-memsight"), Some(None));
        assert_eq!(passwd_uid("root"), Some(0));
        assert_eq!(passwd_uid("no-such-user-memsight"), None);
        assert_eq!(
            uid_of("nobody:x:65534:65534:nobody:/:/bin/false\n"),
            Some(65534)
        );
    }

    #[cfg(windows)]
    #[test]
    fn users_match_with_or_without_the_domain() {
        assert!(name_is("WINE\\alice", "alice"));
        assert!(name_is("WINE\\alice", "wine\\ALICE"));
        assert!(!name_is("WINE\\alice", "bob"));
        assert!(!name_is("", "alice"));
        assert!(parse_user("").is_err());
    }
}
