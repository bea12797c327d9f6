//! The statistics behind a leak verdict, shared with other front ends (`memsight top` judges a
//! process's growth with them): a least-squares slope with its 95% confidence interval, and the
//! sign-test window that makes a growth *sustained*.

/// The sign-test window: growth is sustained when the figure grew in at least [`SUSTAINED_GREW`]
/// of the last `SUSTAINED_WINDOW` steps (batches of calls for the harness, equal slices of time
/// for a live process), so that one jump, or a level with noise around it, is never a leak.
pub const SUSTAINED_WINDOW: usize = 8;

/// How many of the [`SUSTAINED_WINDOW`] steps must have grown.
pub const SUSTAINED_GREW: usize = 7;

/// Two-sided 95% Student t quantiles for 1..=30 degrees of freedom.
const T95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

fn t95(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T95[df - 1],
        _ => 1.96,
    }
}

/// Least-squares slope of `y` against `x` (in `y` units per `x` unit) and its two-sided 95%
/// Student-t interval, as `(slope, low, high)`. With fewer than three points the interval is
/// unbounded unless the points lie exactly on a line; so is it when every `x` is equal.
pub fn slope_ci(x: &[f64], y: &[f64]) -> (f64, f64, f64) {
    let n = x.len().min(y.len());
    if n < 2 {
        return (0.0, f64::NEG_INFINITY, f64::INFINITY);
    }
    let nf = n as f64;
    let mx = x[..n].iter().sum::<f64>() / nf;
    let my = y[..n].iter().sum::<f64>() / nf;
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for i in 0..n {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
    }
    if sxx == 0.0 {
        return (0.0, f64::NEG_INFINITY, f64::INFINITY);
    }
    let b = sxy / sxx;
    let a = my - b * mx;
    let ssr: f64 = (0..n).map(|i| (y[i] - a - b * x[i]).powi(2)).sum();
    // Integer-valued counters on an exact line leave only rounding noise.
    if ssr <= 1e-9 * (1.0 + my.abs()) {
        return (b, b, b);
    }
    if n < 3 {
        return (b, f64::NEG_INFINITY, f64::INFINITY);
    }
    let se = (ssr / (nf - 2.0) / sxx).sqrt();
    let half = t95(n - 2) * se;
    (b, b - half, b + half)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_line_has_zero_width_interval() {
        let x = [0.0, 128.0, 256.0, 512.0];
        let y: Vec<f64> = x.iter().map(|v| 16.0 * v + 5.0).collect();
        assert_eq!(slope_ci(&x, &y), (16.0, 16.0, 16.0));
    }

    #[test]
    fn flat_noise_interval_contains_zero() {
        let x = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [0.0, 4096.0, 0.0, 4096.0, 0.0, 4096.0];
        let (_, lo, hi) = slope_ci(&x, &y);
        assert!(lo < 0.0 && hi > 0.0);
    }

    #[test]
    fn staircase_leak_interval_excludes_zero() {
        // One 32-byte chunk every 100 calls, batches of 128.
        let x: Vec<f64> = (0..9).map(|i| (i * 128) as f64).collect();
        let y: Vec<f64> = x.iter().map(|v| (v / 100.0).floor() * 32.0).collect();
        let (b, lo, _) = slope_ci(&x, &y);
        assert!(lo > 0.0 && (b - 0.32).abs() < 0.05, "{b} {lo}");
    }
}
