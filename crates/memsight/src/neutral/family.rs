//! Children from a process table, the same rule on every OS that lists its processes in one
//! snapshot (Windows, macOS, FreeBSD; Linux walks `/proc` with the same check).

/// The children (with `recursive`, all descendants) of the process `(pid, start)` among the
/// entries of a process table, in pid order; `link` gives an entry's `(pid, ppid, start)`. A
/// process whose parent pid matches but that started before the parent is not its child: the pid
/// was reused (psutil's `children()` check). A pid that is its own parent (pid 0 in the BSD
/// kernels' tables) is not its own child.
#[cfg_attr(target_os = "linux", allow(dead_code))]
pub(crate) fn descendants<T, S: Copy + PartialOrd>(
    table: &[T],
    link: impl Fn(&T) -> (u32, u32, S),
    pid: u32,
    start: S,
    recursive: bool,
) -> Vec<&T> {
    let links: Vec<(u32, u32, S)> = table.iter().map(link).collect();
    let mut out: Vec<usize> = Vec::new();
    let mut queue = vec![(pid, start)];
    while let Some((parent, parent_start)) = queue.pop() {
        for (i, &(child, ppid, child_start)) in links.iter().enumerate() {
            if ppid != parent || child == parent || child_start < parent_start {
                continue;
            }
            if out.iter().any(|&o| links[o].0 == child) {
                continue;
            }
            out.push(i);
            if recursive {
                queue.push((child, child_start));
            }
        }
    }
    out.sort_unstable_by_key(|&i| links[i].0);
    out.into_iter().map(|i| &table[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pids<S: Copy + PartialOrd>(t: &[(u32, u32, S)], pid: u32, start: S, rec: bool) -> Vec<u32> {
        descendants(t, |&e| e, pid, start, rec)
            .into_iter()
            .map(|e| e.0)
            .collect()
    }

    #[test]
    fn children_skip_reused_pids_and_recurse_on_demand() {
        let table = [
            (1, 0, 1),
            (10, 1, 100),
            (11, 10, 101),
            (12, 10, 99), // started before 10: its ppid is a reused pid
            (13, 11, 102),
            (14, 1, 103),
        ];
        assert_eq!(pids(&table, 10, 100, false), [11]);
        assert_eq!(pids(&table, 10, 100, true), [11, 13]);
        assert_eq!(pids(&table, 1, 1, false), [10, 14]);
        // pid 0 is its own parent in the kernel's table: not a child of itself.
        assert_eq!(pids(&[(0, 0, 0)], 0, 0, true), Vec::<u32>::new());
        // A (seconds, microseconds) start compares as a pair.
        let t = [(2, 1, (5_i64, 1_i32)), (3, 1, (4, 999_999))];
        assert_eq!(pids(&t, 1, (5, 0), false), [2]);
    }
}
