//! `-s SECONDS` / `-c COUNT`: procps `free`'s repeat loop. `-c` alone waits 1 s between reports,
//! `-s` alone repeats until interrupted; SIGINT or SIGTERM during the wait ends the command with
//! status 0 after the last complete report.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

/// When to print the next report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Repeat {
    /// The wait between two reports.
    pub interval: Duration,
    /// How many reports in all; `None` until interrupted.
    pub count: Option<u64>,
}

impl Repeat {
    /// The schedule for `-s` and `-c` (`None`: print one report, as without either).
    pub fn new(seconds: Option<f64>, count: Option<u64>) -> Option<Repeat> {
        if seconds.is_none() && count.is_none() {
            return None;
        }
        Some(Repeat {
            interval: Duration::from_secs_f64(seconds.unwrap_or(1.0)),
            count,
        })
    }
}

/// Parses `-s`: seconds, a positive finite number (procps rejects 0 and negatives too).
pub fn parse_seconds(arg: &str) -> Result<f64, String> {
    let seconds: f64 = arg
        .parse()
        .map_err(|_| format!("`{arg}` is not a number of seconds"))?;
    if (1e-6..=1e9).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(format!(
            "`{arg}` is not a positive number of seconds (at least 0.000001)"
        ))
    }
}

/// Runs `report` as the schedule says, calling `between` after every report but the last.
/// Returns early (with `Ok`) when SIGINT or SIGTERM arrives during a wait.
pub fn run(
    repeat: Repeat,
    mut report: impl FnMut() -> anyhow::Result<()>,
    mut between: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot handle SIGINT/SIGTERM")?;
    }
    let mut done = 0u64;
    loop {
        report()?;
        done += 1;
        if repeat.count.is_some_and(|count| done >= count) {
            return Ok(());
        }
        between()?;
        if !sleep_unless(&stop, repeat.interval) {
            return Ok(());
        }
    }
}

/// Sleeps for `duration` in short steps; false as soon as `stop` is set.
fn sleep_unless(stop: &AtomicBool, duration: Duration) -> bool {
    const STEP: Duration = Duration::from_millis(20);
    let end = Instant::now() + duration;
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= end {
            return true;
        }
        std::thread::sleep((end - now).min(STEP));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_alone_waits_one_second_and_seconds_alone_never_ends() {
        assert_eq!(Repeat::new(None, None), None);
        let count = Repeat::new(None, Some(3)).unwrap();
        assert_eq!(
            (count.interval, count.count),
            (Duration::from_secs(1), Some(3))
        );
        let seconds = Repeat::new(Some(0.5), None).unwrap();
        assert_eq!(
            (seconds.interval, seconds.count),
            (Duration::from_millis(500), None)
        );
    }

    #[test]
    fn seconds_must_be_positive() {
        assert_eq!(parse_seconds("0.25"), Ok(0.25));
        assert_eq!(parse_seconds("2"), Ok(2.0));
        for bad in ["0", "-1", "abc", "inf", "NaN", ""] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reports_count_times_with_a_separator_between() {
        let repeat = Repeat {
            interval: Duration::from_millis(1),
            count: Some(3),
        };
        let log = std::cell::RefCell::new(String::new());
        run(
            repeat,
            || {
                log.borrow_mut().push('r');
                Ok(())
            },
            || {
                log.borrow_mut().push('|');
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(log.into_inner(), "r|r|r");
    }
}
