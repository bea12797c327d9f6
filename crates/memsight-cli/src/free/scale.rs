//! How `memsight free` prints a number: its unit options and procps `free`'s `scale_size`, on signed
//! values because the `Comm:` line's third column (`CommitLimit - Committed_AS`) goes negative when
//! memory is overcommitted, and procps prints it negative.

/// How numbers are printed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    /// Divide bytes by `base^exponent` (truncating toward zero, as C does) and print the integer.
    Fixed { base: u64, exponent: u32 },
    /// Human-readable with the given base (1024 gives `Ki`, `Mi`...; 1000 gives `K`, `M`...).
    Human { base: u64 },
}

/// The unit options of `memsight free` (procps `free`'s), on every OS.
#[derive(Debug, clap::Args)]
pub struct Units {
    /// Show output in bytes.
    #[arg(short = 'b', long = "bytes", group = "unit")]
    bytes: bool,
    /// Show output in kilobytes (powers of 1000).
    #[arg(long, group = "unit")]
    kilo: bool,
    /// Show output in megabytes (powers of 1000).
    #[arg(long, group = "unit")]
    mega: bool,
    /// Show output in gigabytes (powers of 1000).
    #[arg(long, group = "unit")]
    giga: bool,
    /// Show output in terabytes (powers of 1000).
    #[arg(long, group = "unit")]
    tera: bool,
    /// Show output in petabytes (powers of 1000).
    #[arg(long, group = "unit")]
    peta: bool,
    /// Show output in kibibytes (the default).
    #[arg(short = 'k', long = "kibi", group = "unit")]
    kibi: bool,
    /// Show output in mebibytes.
    #[arg(short = 'm', long = "mebi", group = "unit")]
    mebi: bool,
    /// Show output in gibibytes.
    #[arg(short = 'g', long = "gibi", group = "unit")]
    gibi: bool,
    /// Show output in tebibytes.
    #[arg(long, group = "unit")]
    tebi: bool,
    /// Show output in pebibytes.
    #[arg(long, group = "unit")]
    pebi: bool,
    /// Show human-readable output (B, Ki, Mi, Gi...).
    #[arg(short = 'h', long = "human", group = "unit")]
    human: bool,
    /// Use powers of 1000, not 1024.
    #[arg(long)]
    si: bool,
}

impl Units {
    /// How numbers are printed: procps `free`'s `scale_size` options.
    pub fn scale(&self) -> Scale {
        let si = self.si || self.kilo || self.mega || self.giga || self.tera || self.peta;
        let base = if si { 1000 } else { 1024 };
        let exponent = [
            (self.bytes, 0),
            (self.kilo || self.kibi, 1),
            (self.mega || self.mebi, 2),
            (self.giga || self.gibi, 3),
            (self.tera || self.tebi, 4),
            (self.peta || self.pebi, 5),
        ]
        .into_iter()
        .find_map(|(set, exponent)| set.then_some(exponent))
        .unwrap_or(1);
        if self.human {
            Scale::Human { base }
        } else {
            Scale::Fixed { base, exponent }
        }
    }
}

/// Formats `bytes` as procps `free` does for this scale.
pub fn scale_size(bytes: i128, scale: Scale) -> String {
    match scale {
        Scale::Fixed { exponent: 0, .. } => bytes.to_string(),
        Scale::Fixed { base, exponent } => (bytes / i128::from(base).pow(exponent)).to_string(),
        Scale::Human { base } => human(bytes, base),
    }
}

/// procps `scale_size` in human mode: the shortest of `%.1f` and `%ld` that fits 4 characters
/// (SI: `9.2M`) or 5 (binary: `8.7Mi`), walking up from bytes.
fn human(bytes: i128, base: u64) -> String {
    let plain = format!("{bytes}B");
    if plain.len() <= 4 {
        return plain;
    }
    let si = base == 1000;
    let width = if si { 4 } else { 5 };
    let suffix = if si { "" } else { "i" };
    let mut text = plain;
    for (i, unit) in ["K", "M", "G", "T", "P"].iter().enumerate() {
        let divisor = i128::from(base).pow(i as u32 + 1);
        // procps divides in double and prints the quotient as a C float.
        let quotient = bytes as f64 / divisor as f64;
        text = format!("{:.1}{unit}{suffix}", quotient as f32);
        if text.len() <= width {
            return text;
        }
        text = format!("{}{unit}{suffix}", bytes / divisor);
        if text.len() <= width {
            return text;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_match_procps() {
        let bin = 1024;
        assert_eq!(human(0, bin), "0B");
        assert_eq!(human(1023, bin), "1.0Ki");
        assert_eq!(human(9_166_848, bin), "8.7Mi");
        assert_eq!(human(670_961_664, bin), "639Mi");
        assert_eq!(human(25_276_063_744, bin), "23Gi");
        assert_eq!(human(2_122_805_248, bin), "2.0Gi");
        assert_eq!(human(9_166_848, 1000), "9.2M");
        assert_eq!(human(373_000_000, 1000), "373M");
        assert_eq!(human(25_276_063_744, 1000), "25G");
    }

    /// procps 4.0.2's `free -v -h` on an overcommitted fixture (CommitLimit 100000 kB,
    /// Committed_AS 2500000 kB) prints `-2Gi`, `--si` `-2G`, `-m` `-2343`.
    #[test]
    fn negative_commit_headroom_prints_as_procps() {
        let bytes = -2_400_000 * 1024;
        assert_eq!(human(bytes, 1024), "-2Gi");
        assert_eq!(human(bytes, 1000), "-2G");
        assert_eq!(human(-5, 1024), "-5B");
        let mib = Scale::Fixed {
            base: 1024,
            exponent: 2,
        };
        assert_eq!(scale_size(bytes, mib), "-2343");
    }

    #[test]
    fn fixed_scales() {
        let kib = Scale::Fixed {
            base: 1024,
            exponent: 1,
        };
        assert_eq!(scale_size(25_276_063_744, kib), "24683656");
        let si = Scale::Fixed {
            base: 1000,
            exponent: 1,
        };
        assert_eq!(scale_size(25_276_063_744, si), "25276063");
        let bytes = Scale::Fixed {
            base: 1024,
            exponent: 0,
        };
        assert_eq!(scale_size(7, bytes), "7");
    }
}
