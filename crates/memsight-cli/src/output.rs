//! Output helpers shared by the subcommands: JSON writing that keeps I/O errors visible, the
//! closed-pipe rule, a closed-stdout check, terminal-safe text, and sizes and dates for people.

use std::borrow::Cow;
use std::io::{self, Write};
#[cfg(target_os = "linux")]
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

/// The rule every `--json` follows for bytes that are not UTF-8, shown by `memsight --help`
/// (the README's "Bytes that are not UTF-8" says the same). The records implement it in the
/// library's serialization, so every command writes the same shape.
pub const JSON_BYTES_RULE: &str = "JSON and bytes that are not UTF-8 (Linux): paths, names, arguments and \
environment entries are written as strings with U+FFFD for invalid bytes; when a value is not \
UTF-8, a sibling key KEY_bytes follows with its exact bytes (an array of integers 0-255; for \
cmdline an array of such arrays; for environ an array of [key, value] pairs). Valid UTF-8 has no \
sibling. Human output shows control and bidirectional formatting characters as '?'.";

/// Whether `err` is (or wraps) a write to a closed pipe, which ends the command quietly.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Writes `value` as JSON and a newline. A failed write comes back as the `io::Error` it is
/// (serde_json's error hides it from [`is_broken_pipe`] otherwise), so `| head -c 10` ends quietly.
pub fn write_json(out: &mut impl Write, value: &impl Serialize, pretty: bool) -> io::Result<()> {
    let written = if pretty {
        serde_json::to_writer_pretty(&mut *out, value)
    } else {
        serde_json::to_writer(&mut *out, value)
    };
    written.map_err(io::Error::from)?;
    writeln!(out)
}

/// Whether standard output was open when memsight started. A shell's `>&-` closes it, and
/// before `main` Rust's runtime puts `/dev/null`, opened read-write, on a closed descriptor 0-2:
/// every write would then silently succeed where procps reports a write error. That `/dev/null`
/// looks exactly like one a parent hands over on purpose (Python's `subprocess.DEVNULL` and
/// systemd's `StandardOutput=null` open it read-write too), so the question is asked before
/// Rust's runtime starts: glibc runs the functions of `.init_array` first, with the descriptors
/// as the parent left them.
#[cfg(target_os = "linux")]
pub fn stdout_is_open() -> bool {
    !STDOUT_CLOSED_AT_START.load(Ordering::Relaxed)
}

#[cfg(target_os = "linux")]
static STDOUT_CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // a constructor in .init_array, and fcntl on a bare descriptor number
#[unsafe(link_section = ".init_array")]
#[used]
static CHECK_STDOUT_AT_START: extern "C" fn() = {
    extern "C" fn check() {
        // SAFETY: fcntl(F_GETFD) only asks the kernel about descriptor 1, open or not; no
        // memory is passed and nothing is changed. It fails (EBADF) only if 1 is closed.
        let closed = unsafe { libc::fcntl(1, libc::F_GETFD) } == -1;
        STDOUT_CLOSED_AT_START.store(closed, Ordering::Relaxed);
    }
    check
};

/// Whether standard output was open when memsight started: taken as yes off Linux. On Windows a
/// closed handle makes the first write fail, and that is reported as a write error; on macOS and
/// FreeBSD (no `.init_array` check there yet) the output of `>&-` goes to the `/dev/null` Rust's
/// runtime puts in its place.
#[cfg(not(target_os = "linux"))]
pub fn stdout_is_open() -> bool {
    true
}

/// Whether `c` may not reach a terminal as it is: a control character (newline, tab, ESC, DEL,
/// the C1 range including CSI), or a bidirectional formatting character (U+061C, U+200E, U+200F,
/// U+202A-U+202E, U+2066-U+2069), which reorders what follows it on screen so a name could
/// pass for another (the "Trojan Source" trick: U+202E shows `exe.txt` as `txt.exe`).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every character [`is_unsafe_char`] finds replaced by `?`, as procps `ps` shows
/// control characters in command lines: a process cannot retitle, clear or otherwise drive the
/// terminal of whoever lists it, nor reorder what is shown. For human output only; JSON keeps the
/// exact value.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_unsafe_char) {
        Cow::Owned(
            text.chars()
                .map(|c| if is_unsafe_char(c) { '?' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

/// psutil's `bytes2human` (and procsmem's `convert_bytes`): one decimal and K/M/G/T/P/E (powers
/// of 1024), or `NB` below 1 KiB.
pub fn bytes2human(n: u64) -> String {
    const SYMBOLS: [char; 6] = ['K', 'M', 'G', 'T', 'P', 'E'];
    for (i, symbol) in SYMBOLS.iter().enumerate().rev() {
        let unit = 1u64 << ((i + 1) * 10);
        if n >= unit {
            return format!("{:.1}{symbol}", n as f64 / unit as f64);
        }
    }
    format!("{n}B")
}

/// `%Y-%m-%d %H:%M` of a Unix time, in UTC.
pub fn format_time(epoch: f64) -> String {
    let secs = epoch.floor() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes2human_like_psutil_and_procsmem() {
        assert_eq!(bytes2human(0), "0B");
        assert_eq!(bytes2human(1023), "1023B");
        assert_eq!(bytes2human(1024), "1.0K");
        assert_eq!(bytes2human(10_000), "9.8K");
        assert_eq!(bytes2human(15 * 1024 * 1024 + 300 * 1024), "15.3M");
        assert_eq!(bytes2human(100_001_221), "95.4M");
        assert_eq!(bytes2human(3 << 30), "3.0G");
        assert_eq!(bytes2human(u64::MAX), "16.0E");
    }

    #[test]
    fn control_characters_become_question_marks() {
        assert_eq!(sanitize("plain name"), "plain name");
        assert_eq!(sanitize("\x1b]0;owned\x07\x1b[2J"), "?]0;owned??[2J");
        assert_eq!(sanitize("a\nb\tc\x7f\u{9b}d"), "a?b?c??d");
        assert_eq!(sanitize("ünïcödé"), "ünïcödé");
    }

    #[test]
    fn bidirectional_controls_become_question_marks() {
        assert_eq!(sanitize("evil\u{202E}txt.exe"), "evil?txt.exe");
        for c in [
            '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
            '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
        ] {
            assert_eq!(sanitize(&format!("a{c}b")), "a?b", "U+{:04X}", c as u32);
        }
        // Neighbours that are not formatting controls stay.
        assert_eq!(
            sanitize("\u{2029}\u{2070}\u{200D}"),
            "\u{2029}\u{2070}\u{200D}"
        );
    }

    #[test]
    fn dates_in_utc() {
        assert_eq!(format_time(0.0), "1970-01-01 00:00");
        assert_eq!(format_time(1_795_465_608.7), "2026-11-23 20:26");
        assert_eq!(format_time(951_825_600.0), "2000-02-29 12:00");
    }
}
