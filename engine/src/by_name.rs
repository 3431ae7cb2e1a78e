//! Look-ups by name in a list of named things (scripts, tracked files and processes, groups,
//! instances), built once per list.
//!
//! The configuration's cross-references (an instance's `track_script`, a sync group's
//! members, the old engine's script of the same name on a reload) were found by scanning the
//! list once per reference: references x definitions, which a large generated file (or the
//! config fuzzer's `~SEQ`) turns into seconds. A list sorted by name answers in log steps and
//! keeps the scan's rule that the first of a name wins. Sorted rather than hashed: with the
//! one or two definitions of a typical file, a look-up is a comparison or two where a hash set's
//! was a hash and a probe (+281,000 instructions for `vigild -t` on the 1,000-instance
//! benchmark file, callgrind, 2026-12-05).

/// Positions of a list's items sorted by name; for equal names, in list order.
pub(crate) struct ByName<'a> {
    sorted: Vec<(&'a str, usize)>,
}

impl<'a> ByName<'a> {
    /// Index `names`, the names of a list's items in list order.
    pub(crate) fn new(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut sorted: Vec<(&str, usize)> = names.into_iter().zip(0..).collect();
        // Stable: equal names keep their list order, so the first of a name comes first.
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        ByName { sorted }
    }

    /// The position of the first item named `name`, as a scan from the start would find it.
    pub(crate) fn first(&self, name: &str) -> Option<usize> {
        let at = self.sorted.partition_point(|(n, _)| *n < name);
        match self.sorted.get(at) {
            Some(&(n, i)) if n == name => Some(i),
            _ => None,
        }
    }

    /// Whether an item is named `name`.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.first(name).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::ByName;
    use proptest::prelude::*;

    proptest! {
        /// The index answers what a scan from the start of the list answers.
        #[test]
        fn first_is_the_scans_answer(
            names in proptest::collection::vec("[a-c]{0,2}", 0..12),
            asked in "[a-c]{0,2}",
        ) {
            let by = ByName::new(names.iter().map(String::as_str));
            prop_assert_eq!(by.first(&asked), names.iter().position(|n| *n == asked));
            prop_assert_eq!(by.contains(&asked), names.contains(&asked));
        }
    }
}
