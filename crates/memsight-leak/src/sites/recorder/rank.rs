//! Which stacks leak: the verdict's statistics applied to each stack's live bytes over the
//! attribution batches. Pure, tested on synthetic series.

use crate::stats::slope_ci;

/// The most snapshots a series may have (the recorder's history).
const MAX_POINTS: usize = super::record::HIST;

/// A stack judged to leak.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Judged {
    /// Live bytes per call: slope, 95% interval low and high.
    pub(crate) bytes: (f64, f64, f64),
    /// Live blocks per call (slope).
    pub(crate) blocks: f64,
    /// Batches in which live bytes grew.
    pub(crate) grew: usize,
}

/// Whether a stack leaks, given `calls[i]` calls in batch `i` and its live `bytes` and
/// `blocks` at each snapshot (one more than batches: before the first, after each).
///
/// Named when the slope of live bytes against calls has a 95% interval above zero and the
/// stack's live bytes grew in at least 7 of every 8 batches (the verdict's sign test). The
/// attribution batches are sized for the leak to add a few blocks to each, so a leaking stack
/// grows in every one; a stack that grows in some batches only cannot be told from a cache
/// still filling, and is not named.
///
/// Runs under the recorder's lock: it never allocates (the points live on the stack).
pub(crate) fn judge(calls: &[u64], bytes: &[i64], blocks: &[i64]) -> Option<Judged> {
    let n = calls.len();
    if n < 3 || n + 1 > MAX_POINTS || bytes.len() != n + 1 || blocks.len() != n + 1 {
        return None;
    }
    let mut x = [0f64; MAX_POINTS];
    let mut y = [0f64; MAX_POINTS];
    let mut yb = [0f64; MAX_POINTS];
    let mut grew_at = [false; MAX_POINTS];
    let mut c = 0u64;
    for i in 0..=n {
        if i > 0 {
            c += calls[i - 1];
            grew_at[i - 1] = bytes[i] > bytes[i - 1];
        }
        x[i] = c as f64;
        y[i] = bytes[i] as f64;
        yb[i] = blocks[i] as f64;
    }
    let (x, y, yb, grew_at) = (&x[..=n], &y[..=n], &yb[..=n], &grew_at[..n]);
    let grew = grew_at.iter().filter(|&&g| g).count();
    let (slope, lo, hi) = slope_ci(x, y);
    if lo <= 0.0 || slope <= 0.0 {
        return None;
    }
    let steady = grew * 8 >= n * 7;
    steady.then(|| Judged {
        bytes: (slope, lo, hi),
        blocks: slope_ci(x, yb).0,
        grew,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cumulative(per_batch: &[i64]) -> Vec<i64> {
        let mut v = vec![0];
        for d in per_batch {
            v.push(v.last().copied().unwrap_or(0) + d);
        }
        v
    }

    #[test]
    fn steady_leak_is_named_with_its_rate() {
        let calls = [128u64; 8];
        let bytes = cumulative(&[128 * 1024; 8]);
        let blocks = cumulative(&[128; 8]);
        let j = judge(&calls, &bytes, &blocks).unwrap();
        assert_eq!(j.bytes, (1024.0, 1024.0, 1024.0));
        assert_eq!(j.blocks, 1.0);
        assert_eq!(j.grew, 8);
    }

    #[test]
    fn cache_that_fills_then_stops_is_not_named() {
        // 64 entries of 100 bytes over the first three batches, then nothing.
        let calls = [128u64; 8];
        let bytes = cumulative(&[3000, 3000, 400, 0, 0, 0, 0, 0]);
        let blocks = cumulative(&[30, 30, 4, 0, 0, 0, 0, 0]);
        assert_eq!(judge(&calls, &bytes, &blocks), None);
    }

    #[test]
    fn churning_cache_is_not_named() {
        // An LRU cache evicting as it inserts: up and down around a level.
        let calls = [128u64; 8];
        let bytes = cumulative(&[500, -300, 200, -400, 300, -200, 100, -200]);
        let blocks = cumulative(&[5, -3, 2, -4, 3, -2, 1, -2]);
        assert_eq!(judge(&calls, &bytes, &blocks), None);
    }

    #[test]
    fn growth_in_some_batches_only_is_not_named() {
        // 32 bytes every 300 calls, batches of 128: grows in some batches only, like a cache
        // still filling. Batches sized for the leak's rate make a real leak grow in each.
        let calls = [128u64; 8];
        let mut bytes = vec![0i64];
        let mut blocks = vec![0i64];
        for i in 1..=8u64 {
            bytes.push((i * 128 / 300) as i64 * 32);
            blocks.push((i * 128 / 300) as i64);
        }
        assert_eq!(judge(&calls, &bytes, &blocks), None);
        // The same leak in batches of 1,200 calls (4 blocks each) is named.
        let calls = [1200u64; 8];
        let bytes: Vec<i64> = (0..=8).map(|i| i * 4 * 32).collect();
        let blocks: Vec<i64> = (0..=8).map(|i| i * 4).collect();
        let j = judge(&calls, &bytes, &blocks).unwrap();
        assert!((j.bytes.0 - 32.0 / 300.0).abs() < 1e-9, "{j:?}");
    }

    #[test]
    fn one_off_allocation_and_short_series_are_not_named() {
        let calls = [128u64; 8];
        let bytes = cumulative(&[4096, 0, 0, 0, 0, 0, 0, 0]);
        let blocks = cumulative(&[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(judge(&calls, &bytes, &blocks), None);
        assert_eq!(judge(&[128, 128], &[0, 10, 20], &[0, 1, 2]), None);
        assert_eq!(judge(&[128; 3], &[0, 10], &[0, 1]), None);
    }
}
