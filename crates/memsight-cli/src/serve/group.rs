//! Folding processes into bounded series: groups by name or user, and the top N by PSS.

use std::collections::BTreeMap;

use super::collect::ProcessSample;
use super::{GroupBy, Top};

/// The summed memory of one group of processes, in bytes.
///
/// USS, PSS and swap are summed over the members where they could be read (`None` when no
/// member's could). RSS and VMS are plain sums, so memory shared between members is counted
/// once per member there, as in process-exporter; PSS is the figure that adds up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Group {
    /// How many processes are in the group.
    pub processes: u64,
    /// Sum of the members' USS.
    pub uss: Option<u64>,
    /// Sum of the members' PSS.
    pub pss: Option<u64>,
    /// Sum of the members' swap.
    pub swap: Option<u64>,
    /// Sum of the members' RSS.
    pub rss: u64,
    /// Sum of the members' VMS.
    pub vms: u64,
}

fn add(total: &mut Option<u64>, value: Option<u64>) {
    if let Some(v) = value {
        *total = Some(total.unwrap_or(0).saturating_add(v));
    }
}

/// Groups `processes` by name or by user, keyed by the group name in sorted order. Empty for
/// [`GroupBy::None`].
pub fn groups(processes: &[ProcessSample], by: GroupBy) -> BTreeMap<&str, Group> {
    let mut out: BTreeMap<&str, Group> = BTreeMap::new();
    for p in processes {
        let key = match by {
            GroupBy::Name => p.name.as_str(),
            GroupBy::User => p.user.as_str(),
            GroupBy::None => return BTreeMap::new(),
        };
        let g = out.entry(key).or_default();
        g.processes += 1;
        add(&mut g.uss, p.uss);
        add(&mut g.pss, p.pss);
        add(&mut g.swap, p.swap);
        g.rss = g.rss.saturating_add(p.rss);
        g.vms = g.vms.saturating_add(p.vms);
    }
    out
}

/// The processes that get their own series: all of them, or the `n` with the largest PSS (RSS
/// standing in where PSS is unknown), ties broken by the lower pid. Returned in pid order.
pub fn top(processes: &[ProcessSample], top: Top) -> Vec<&ProcessSample> {
    let mut chosen: Vec<&ProcessSample> = processes.iter().collect();
    if let Top::Count(n) = top
        && n < chosen.len()
    {
        chosen.sort_by(|a, b| {
            let size = |p: &ProcessSample| p.pss.unwrap_or(p.rss);
            size(b).cmp(&size(a)).then(a.pid.cmp(&b.pid))
        });
        chosen.truncate(n);
    }
    chosen.sort_by_key(|p| p.pid);
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(pid: u32, name: &str, user: &str, pss: Option<u64>, rss: u64) -> ProcessSample {
        ProcessSample {
            pid,
            name: name.into(),
            user: user.into(),
            cmdline: None,
            uss: pss.map(|p| p / 2),
            pss,
            swap: pss.map(|_| 1),
            rss,
            vms: rss * 4,
        }
    }

    #[test]
    fn groups_by_name_sum_members_and_skip_unknown_figures() {
        let ps = [
            proc(1, "bash", "root", Some(100), 1000),
            proc(2, "bash", "alice", None, 500),
            proc(3, "sleep", "alice", Some(10), 20),
        ];
        let g = groups(&ps, GroupBy::Name);
        assert_eq!(g.len(), 2);
        assert_eq!(
            g["bash"],
            Group {
                processes: 2,
                uss: Some(50),
                pss: Some(100),
                swap: Some(1),
                rss: 1500,
                vms: 6000
            }
        );
        assert_eq!(g["sleep"].pss, Some(10));
        let by_user = groups(&ps, GroupBy::User);
        assert_eq!(by_user["alice"].processes, 2);
        assert_eq!(by_user["alice"].pss, Some(10));
        assert_eq!(by_user["root"].rss, 1000);
        assert!(groups(&ps, GroupBy::None).is_empty());
    }

    #[test]
    fn group_with_no_readable_pss_has_none() {
        let ps = [proc(7, "x", "u", None, 5)];
        assert_eq!(groups(&ps, GroupBy::Name)["x"].pss, None);
    }

    #[test]
    fn top_picks_largest_pss_with_rss_fallback_and_returns_pid_order() {
        let ps = [
            proc(5, "a", "u", Some(10), 999),
            proc(3, "b", "u", None, 50),
            proc(9, "c", "u", Some(40), 1),
            proc(1, "d", "u", Some(40), 1),
        ];
        let pids = |v: Vec<&ProcessSample>| v.iter().map(|p| p.pid).collect::<Vec<_>>();
        assert_eq!(pids(top(&ps, Top::Count(2))), vec![1, 3]);
        assert_eq!(pids(top(&ps, Top::Count(3))), vec![1, 3, 9]);
        assert_eq!(pids(top(&ps, Top::Count(0))), Vec::<u32>::new());
        assert_eq!(pids(top(&ps, Top::All)), vec![1, 3, 5, 9]);
        assert_eq!(pids(top(&ps, Top::Count(10))), vec![1, 3, 5, 9]);
    }
}
