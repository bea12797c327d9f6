//! Bounds on label values. Every label value the exporter takes from a process or the kernel is
//! cut to a documented length, so a hostile local user cannot inflate a scrape (and the
//! exporter's memory) with a huge `argv[0]`, user name, command line or cgroup path.
//!
//! Values are cut on a character boundary, never mid-UTF-8; a cut value is not marked.

/// Longest `name` / `groupname` (by name) label, in bytes. A process name is the kernel's comm
/// (at most 15 bytes) or, as psutil does for a comm of 15 characters, the base name of `argv[0]`
/// when it starts with that comm: only this is ever taken from argv, and only this much.
pub const MAX_NAME: usize = 128;

/// Longest `groupname` (by user) label, in bytes (login names are at most 32 on most systems).
pub const MAX_USER: usize = 64;

/// Longest `cmdline` label (`--cmdline` only), in bytes.
pub const MAX_CMDLINE: usize = 256;

/// The kernel's longest comm, in bytes (`TASK_COMM_LEN` - 1).
const COMM_LEN: usize = 15;

/// The `name` label of a process name: a name longer than a comm can be came from `argv[0]`
/// (psutil's rule), and is cut at its first whitespace, so that arguments a process put into
/// `argv[0]` (`exec -a "name --token=..."`) are never exported without `--cmdline`; then bounded
/// to [`MAX_NAME`].
pub fn name_label(name: &str) -> String {
    let name = if name.len() > COMM_LEN {
        name.split(char::is_whitespace).next().unwrap_or(name)
    } else {
        name
    };
    bounded(name, MAX_NAME)
}

/// `s` cut to at most `max` bytes on a character boundary.
pub fn bounded(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_on_a_character_boundary() {
        assert_eq!(bounded("short", 128), "short");
        assert_eq!(bounded(&"x".repeat(200_000), MAX_NAME).len(), MAX_NAME);
        assert_eq!(bounded("aé", 2), "a");
        assert_eq!(bounded("", 0), "");
    }

    #[test]
    fn names_from_argv0_keep_no_arguments() {
        assert_eq!(name_label("Web Content"), "Web Content");
        assert_eq!(name_label("gnome-keyring-daemon"), "gnome-keyring-daemon");
        assert_eq!(
            name_label("gnome-keyring-d --token=hunter2"),
            "gnome-keyring-d"
        );
        assert_eq!(name_label(&"n".repeat(1 << 17)).len(), MAX_NAME);
    }
}
