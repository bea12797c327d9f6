//! psutil's `memory_maps(grouped=True)`, for the backends whose maps are records with a path.

use std::collections::HashMap;
use std::hash::Hash;

/// A mapping record that can be grouped by path: the backend says which numbers it sums.
pub(crate) trait GroupableMap {
    /// What the mappings are grouped by: the path (Linux keeps its exact bytes).
    type Key: Eq + Hash + Clone;
    /// The path of this mapping.
    fn group_key(&self) -> &Self::Key;
    /// Adds every number of `other` to this group, saturating (psutil sums every numeric field,
    /// reference and shadow counts too).
    fn add(&mut self, other: &Self);
    /// Empties the address and the permissions: a group has neither.
    fn forget_address(&mut self);
}

/// One record per path, in the order paths first appear, each the sum of its mappings (see
/// [`GroupableMap`]).
pub(crate) fn group_maps<M: GroupableMap>(maps: Vec<M>) -> Vec<M> {
    let mut out: Vec<M> = Vec::new();
    let mut index: HashMap<M::Key, usize> = HashMap::new();
    for mut m in maps {
        match index.get(m.group_key()) {
            Some(&i) => out[i].add(&m),
            None => {
                index.insert(m.group_key().clone(), out.len());
                m.forget_address();
                out.push(m);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Map(&'static str, &'static str, u64);

    impl GroupableMap for Map {
        type Key = &'static str;
        fn group_key(&self) -> &&'static str {
            &self.1
        }
        fn add(&mut self, other: &Self) {
            self.2 = self.2.saturating_add(other.2);
        }
        fn forget_address(&mut self) {
            self.0 = "";
        }
    }

    #[test]
    fn groups_by_path_in_first_seen_order() {
        let g = group_maps(vec![
            Map("0x1", "/b", 10),
            Map("0x2", "/a", 4),
            Map("0x3", "/b", u64::MAX),
        ]);
        assert_eq!(g, [Map("", "/b", u64::MAX), Map("", "/a", 4)]);
        assert!(group_maps(Vec::<Map>::new()).is_empty());
    }
}
