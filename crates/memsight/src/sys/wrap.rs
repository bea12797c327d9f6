//! psutil's `wrap_numbers`: counters that went down (a 32-bit kernel counter wrapped) keep
//! growing, per device and field. Used by `disk_io_counters(nowrap)` on every OS.

use std::collections::HashMap;

/// psutil's `_WrapNumbers`: remembers the last raw values and, for each (device, field) that went
/// down, a running total of the values it had before dropping.
#[derive(Debug)]
pub(crate) struct WrapNumbers<const N: usize> {
    last: Option<HashMap<String, [u64; N]>>,
    reminders: HashMap<String, [u64; N]>,
}

impl<const N: usize> WrapNumbers<N> {
    /// Compensates `input` and remembers it.
    pub(crate) fn run(&mut self, input: Vec<(String, [u64; N])>) -> Vec<(String, [u64; N])> {
        let Some(last) = self.last.take() else {
            self.last = Some(input.iter().cloned().collect());
            return input;
        };
        // Devices that disappeared lose their reminders.
        self.reminders
            .retain(|name, _| input.iter().any(|(n, _)| n == name));
        let mut out = Vec::with_capacity(input.len());
        for (name, values) in &input {
            let Some(old) = last.get(name) else {
                out.push((name.clone(), *values));
                continue;
            };
            let reminder = self.reminders.entry(name.clone()).or_insert([0; N]);
            let mut compensated = [0u64; N];
            for i in 0..N {
                if values[i] < old[i] {
                    reminder[i] = reminder[i].saturating_add(old[i]);
                }
                compensated[i] = values[i].saturating_add(reminder[i]);
            }
            out.push((name.clone(), compensated));
        }
        self.last = Some(input.into_iter().collect());
        out
    }
}

impl<const N: usize> Default for WrapNumbers<N> {
    fn default() -> Self {
        WrapNumbers {
            last: None,
            reminders: HashMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one(v: u64) -> Vec<(String, [u64; 9])> {
        vec![("sda".to_owned(), [v; 9])]
    }

    #[test]
    fn wrap_adds_the_old_value_from_then_on() {
        let mut w = WrapNumbers::default();
        assert_eq!(w.run(one(100))[0].1, [100; 9]);
        assert_eq!(w.run(one(150))[0].1, [150; 9]);
        // Wrapped: 150 is remembered.
        assert_eq!(w.run(one(10))[0].1, [160; 9]);
        assert_eq!(w.run(one(20))[0].1, [170; 9]);
        // Wrapped again: 20 more.
        assert_eq!(w.run(one(5))[0].1, [175; 9]);
    }

    #[test]
    fn gone_device_forgets_its_reminder() {
        let mut w = WrapNumbers::default();
        w.run(one(100));
        w.run(one(1));
        w.run(vec![("sdb".to_owned(), [7; 9])]);
        assert_eq!(w.run(one(3))[0].1, [3; 9]);
    }

    proptest! {
        #[test]
        fn compensated_counters_never_go_down(values in proptest::collection::vec(0u64..1_000_000, 1..40)) {
            let mut w = WrapNumbers::default();
            let mut previous = 0;
            for v in values {
                let out = w.run(one(v))[0].1[0];
                prop_assert!(out >= previous);
                previous = out;
            }
        }
    }
}
