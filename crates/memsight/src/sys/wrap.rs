//! psutil's `wrap_numbers`: counters that went down (a 32-bit kernel counter wrapped) keep
//! growing, per device and field. Used by `disk_io_counters(nowrap)` on every OS.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// The `nowrap` state of every key a call was made with (Linux: procfs root and `perdisk`;
/// Windows: `perdisk`), as psutil keeps one per call signature.
pub(crate) type WrapStates<K, const N: usize> = Mutex<Vec<(K, WrapNumbers<N>)>>;

/// Compensates `raw` with the state kept for `key` in `states` (made on first use).
pub(crate) fn run_keyed<K: PartialEq, const N: usize>(
    states: &WrapStates<K, N>,
    key: K,
    raw: Vec<(String, [u64; N])>,
) -> Vec<(String, [u64; N])> {
    let mut states = states.lock().unwrap_or_else(PoisonError::into_inner);
    let i = match states.iter().position(|(k, _)| *k == key) {
        Some(i) => i,
        None => {
            states.push((key, WrapNumbers::default()));
            states.len() - 1
        }
    };
    states[i].1.run(raw)
}

/// Forgets every key's state (psutil's `cache_clear()`).
pub(crate) fn clear<K, const N: usize>(states: &WrapStates<K, N>) {
    states
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
}

/// The field-wise sum of every device's counters (saturating); `None` when there is no device
/// (psutil's `None` total).
pub(crate) fn total<const N: usize>(raw: &[(String, [u64; N])]) -> Option<[u64; N]> {
    if raw.is_empty() {
        return None;
    }
    let mut sum = [0u64; N];
    for (_, a) in raw {
        for (s, v) in sum.iter_mut().zip(a) {
            *s = s.saturating_add(*v);
        }
    }
    Some(sum)
}

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

    #[test]
    fn total_sums_each_field_saturating_and_none_without_devices() {
        assert_eq!(total::<2>(&[]), None);
        let raw = vec![("a".to_owned(), [1, u64::MAX]), ("b".to_owned(), [2, 5])];
        assert_eq!(total(&raw), Some([3, u64::MAX]));
    }

    #[test]
    fn each_key_keeps_its_own_state() {
        let states: WrapStates<bool, 1> = Mutex::new(Vec::new());
        let dev = |v| vec![("d".to_owned(), [v])];
        assert_eq!(run_keyed(&states, true, dev(10)), dev(10));
        assert_eq!(run_keyed(&states, false, dev(3)), dev(3));
        // Under `true` the counter went 10 -> 4: it wrapped, so 10 is carried.
        assert_eq!(run_keyed(&states, true, dev(4)), dev(14));
        clear(&states);
        assert_eq!(run_keyed(&states, true, dev(4)), dev(4));
    }

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
