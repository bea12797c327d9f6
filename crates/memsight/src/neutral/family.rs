//! Children from a process table, the same rule on every OS that lists its processes in one
//! snapshot (Windows, macOS, FreeBSD; Linux walks `/proc` with the same check).

/// The pids of the children (with `recursive`, all descendants) of the process `(pid, start)` in
/// a table of `(pid, ppid, start)`, ascending. A process whose parent pid matches but that started
/// before the parent is not its child: the pid was reused (psutil's `children()` check). A pid that
/// is its own parent (pid 0 in the BSD kernels' tables) is not its own child.
#[cfg_attr(target_os = "linux", allow(dead_code))]
pub(crate) fn descendants<S: Copy + PartialOrd>(
    table: &[(u32, u32, S)],
    pid: u32,
    start: S,
    recursive: bool,
) -> Vec<u32> {
    let mut out = Vec::new();
    let mut queue = vec![(pid, start)];
    while let Some((parent, parent_start)) = queue.pop() {
        for &(child, ppid, child_start) in table {
            if ppid != parent || child == parent || child_start < parent_start {
                continue;
            }
            if out.contains(&child) {
                continue;
            }
            out.push(child);
            if recursive {
                queue.push((child, child_start));
            }
        }
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(descendants(&table, 10, 100, false), [11]);
        assert_eq!(descendants(&table, 10, 100, true), [11, 13]);
        assert_eq!(descendants(&table, 1, 1, false), [10, 14]);
        // pid 0 is its own parent in the kernel's table: not a child of itself.
        assert_eq!(descendants(&[(0, 0, 0)], 0, 0, true), Vec::<u32>::new());
        // A (seconds, microseconds) start compares as a pair.
        let t = [(2, 1, (5_i64, 1_i32)), (3, 1, (4, 999_999))];
        assert_eq!(descendants(&t, 1, (5, 0), false), [2]);
    }
}
