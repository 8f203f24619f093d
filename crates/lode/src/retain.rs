//! Which versions of a key a flush (and later a compaction) must keep: a pure policy.
//!
//! Versions of one user key arrive newest first. The newest is always kept; an older one is
//! kept only if some live snapshot sees it, i.e. it is the newest version at or below that
//! snapshot's seqno. Snapshots cut seqnos into stripes; the first version met in each stripe
//! is kept, the rest are shadowed and dropped. Tombstones are kept (they hide older versions
//! in lower levels), except where a caller knows nothing lies below.

use crate::ikey::SeqNo;

/// What to do with one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    /// Some reader can see this version.
    pub keep: bool,
    /// It is at or below the oldest snapshot: every reader that sees this key sees this
    /// version or a newer one, and none sees anything older.
    pub seen_by_all: bool,
    /// It is the newest version of its key in this stream.
    pub newest: bool,
}

/// Streaming keep/drop decisions over entries in internal-key order.
#[derive(Debug)]
pub(crate) struct Retainer {
    /// Live snapshot seqnos, ascending.
    snapshots: Vec<SeqNo>,
    current_key: Option<Vec<u8>>,
    last_stripe: usize,
}

impl Retainer {
    pub(crate) fn new(mut snapshots: Vec<SeqNo>) -> Retainer {
        snapshots.sort_unstable();
        snapshots.dedup();
        Retainer { snapshots, current_key: None, last_stripe: usize::MAX }
    }

    /// Whether the entry `(user_key, seq)` must be kept, and whether every reader (every
    /// snapshot and the present) sees it: then, at the bottom level, a kept tombstone can go.
    pub(crate) fn keep(&mut self, user_key: &[u8], seq: SeqNo) -> Decision {
        let stripe = self.snapshots.partition_point(|&s| s < seq);
        let seen_by_all = stripe == 0;
        if self.current_key.as_deref() != Some(user_key) {
            self.current_key = Some(user_key.to_vec());
            self.last_stripe = stripe;
            return Decision { keep: true, seen_by_all, newest: true };
        }
        if stripe == self.last_stripe {
            return Decision { keep: false, seen_by_all, newest: false };
        }
        self.last_stripe = stripe;
        Decision { keep: true, seen_by_all, newest: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(snapshots: Vec<SeqNo>, entries: &[(&str, SeqNo)]) -> Vec<(String, SeqNo)> {
        let mut r = Retainer::new(snapshots);
        entries
            .iter()
            .filter(|(k, s)| r.keep(k.as_bytes(), *s).keep)
            .map(|(k, s)| (k.to_string(), *s))
            .collect()
    }

    #[test]
    fn retainer_without_snapshots_keeps_only_newest() {
        let got = kept(vec![], &[("a", 9), ("a", 5), ("a", 1), ("b", 3), ("b", 2)]);
        assert_eq!(got, vec![("a".into(), 9), ("b".into(), 3)]);
    }

    #[test]
    fn retainer_keeps_newest_version_visible_to_each_snapshot() {
        // Snapshots at 4 and 7: stripes (7, inf) [5..=7] [..=4].
        let got = kept(vec![7, 4], &[("a", 9), ("a", 8), ("a", 7), ("a", 6), ("a", 3), ("a", 1)]);
        assert_eq!(got, vec![("a".into(), 9), ("a".into(), 7), ("a".into(), 3)]);
    }

    #[test]
    fn retainer_model_matches_brute_force() {
        use rand::Rng;
        let seed = lode_testkit::Seed::new("retainer_model");
        let mut rng = seed.rng(0);
        for _ in 0..lode_testkit::iterations(300) {
            let snaps: Vec<SeqNo> =
                (0..rng.random_range(0..4)).map(|_| rng.random_range(0..30)).collect();
            let mut seqs: Vec<SeqNo> =
                (0..rng.random_range(1..10)).map(|_| rng.random_range(1..30)).collect();
            seqs.sort_unstable_by(|a, b| b.cmp(a));
            seqs.dedup();
            let entries: Vec<(&str, SeqNo)> = seqs.iter().map(|&s| ("k", s)).collect();
            let got: Vec<SeqNo> = kept(snaps.clone(), &entries).into_iter().map(|e| e.1).collect();
            // Brute force: what each reader (every snapshot, and "now") sees must survive.
            let mut want: Vec<SeqNo> = snaps
                .iter()
                .chain(std::iter::once(&SeqNo::MAX))
                .filter_map(|&s| seqs.iter().copied().find(|&q| q <= s))
                .collect();
            want.sort_unstable_by(|a, b| b.cmp(a));
            want.dedup();
            assert_eq!(got, want, "snapshots {snaps:?} versions {seqs:?}");
        }
    }
}
