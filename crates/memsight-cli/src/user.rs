//! `--user NAME|UID`: a user argument resolved to a uid when the command line is parsed, so an
//! unknown user is a usage error (exit 2), as in procps `ps -u nosuchuser`.

use std::process::Command;

/// Resolves a login name or a decimal uid. Names are looked up with `getent passwd` (the
/// system's user database, NSS included), falling back to `/etc/passwd` when `getent` cannot be
/// run.
pub fn parse_user(arg: &str) -> Result<u32, String> {
    if !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_digit()) {
        return arg
            .parse()
            .map_err(|_| format!("user id {arg} is out of range"));
    }
    let entry = match Command::new("getent").args(["passwd", "--", arg]).output() {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Ok(_) => None,
        Err(_) => std::fs::read_to_string("/etc/passwd").ok().and_then(|all| {
            all.lines()
                .find(|l| name_of(l) == Some(arg))
                .map(str::to_owned)
        }),
    };
    entry
        .as_deref()
        .and_then(uid_of)
        .ok_or_else(|| format!("no such user: {arg}"))
}

/// The name field of a passwd line (`name:x:uid:gid:...`).
fn name_of(line: &str) -> Option<&str> {
    line.split(':').next()
}

/// The uid field of a passwd line.
fn uid_of(line: &str) -> Option<u32> {
    line.trim_end().split(':').nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uids() {
        assert_eq!(parse_user("0"), Ok(0));
        assert_eq!(parse_user("65534"), Ok(65534));
        assert_eq!(parse_user("root"), Ok(0));
        assert!(parse_user("no-such-user-memsight").is_err());
        assert!(parse_user("99999999999").is_err());
        assert_eq!(
            uid_of("nobody:x:65534:65534:nobody:/:/bin/false\n"),
            Some(65534)
        );
    }
}
