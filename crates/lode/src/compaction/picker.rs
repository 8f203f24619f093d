//! The compaction picker: which files to merge next, as a pure function of the version.
//!
//! Shape: L0 holds flushed files (overlapping); L1..L6 hold non-overlapping files. Level
//! targets are dynamic: the last level's size sets them (each level above is a tenth of the
//! one below) up to the first level whose target is at or under `base_level_bytes`: that is the
//! *base level*, where L0 compacts into; the levels above it stay empty. A database smaller than
//! the base size lives in L0 and L6.
//!
//! Every candidate gets a score; the highest at or above 1 wins:
//! - L0: files / `l0_trigger` (4 files make 1.0).
//! - a level from the base level down to L5: bytes / target.
//! - a file whose tombstones are at least `tombstone_ratio` of its entries: 1.0 + the ratio,
//!   so deleted space comes back even when no level is over its target.
//! - space amplification: when the levels above the last hold more than `space_amp_ratio` of
//!   the last level's bytes (overwrites and deletes that have not met the data they shadow),
//!   1.0: push the fullest upper level down. This is what brings the directory back near the
//!   live size once a workload settles.

use crate::ikey;
use crate::version::{FileMeta, LEVELS, Version};
use std::sync::Arc;

/// The policy's knobs (from `Options`).
#[derive(Debug, Clone)]
pub(crate) struct Picker {
    pub l0_trigger: usize,
    pub fanout: u64,
    pub base_level_bytes: u64,
    /// Files with at least this share of tombstones are compacted for their tombstones.
    pub tombstone_ratio: f64,
    /// Files need this many entries before their tombstone ratio counts.
    pub tombstone_min_entries: u64,
    /// Upper levels holding more than this share of the last level trigger a push down.
    pub space_amp_ratio: f64,
    /// Below this many bytes in all, space amplification is not worth a compaction.
    pub space_amp_min_bytes: u64,
}

/// Why a task was picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    L0Files,
    LevelSize,
    Tombstones,
    SpaceAmp,
    Manual,
}

impl Reason {
    /// The word log lines use.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Reason::L0Files => "l0-files",
            Reason::LevelSize => "level-size",
            Reason::Tombstones => "tombstones",
            Reason::SpaceAmp => "space-amp",
            Reason::Manual => "manual",
        }
    }
}

/// One compaction: merge `inputs` (from `level`) with `overlaps` (from `output_level`).
#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub level: usize,
    pub output_level: usize,
    pub inputs: Vec<Arc<FileMeta>>,
    pub overlaps: Vec<Arc<FileMeta>>,
    /// Nothing below `output_level` overlaps the output: tombstones seen by all can go.
    pub bottommost: bool,
    pub reason: Reason,
}

impl Task {
    /// The task moves one file down a level without rewriting it.
    pub(crate) fn is_trivial_move(&self) -> bool {
        self.inputs.len() == 1
            && self.overlaps.is_empty()
            && self.level != self.output_level
            && matches!(self.reason, Reason::L0Files | Reason::LevelSize)
    }

    /// Every file the task reads.
    pub(crate) fn all_inputs(&self) -> impl Iterator<Item = &Arc<FileMeta>> {
        self.inputs.iter().chain(&self.overlaps)
    }
}

pub(crate) const LAST: usize = LEVELS - 1;

fn level_bytes(files: &[Arc<FileMeta>]) -> u64 {
    files.iter().map(|f| f.file_bytes).sum()
}

/// The user-key range `[lo, hi]` covered by `files`.
fn range(files: &[Arc<FileMeta>]) -> Option<(Vec<u8>, Vec<u8>)> {
    let lo = files.iter().map(|f| ikey::user_key(&f.smallest)).min()?;
    let hi = files.iter().map(|f| ikey::user_key(&f.largest)).max()?;
    Some((lo.to_vec(), hi.to_vec()))
}

fn overlapping(files: &[Arc<FileMeta>], lo: &[u8], hi: &[u8]) -> Vec<Arc<FileMeta>> {
    files.iter().filter(|f| f.overlaps(Some(lo), Some(hi))).cloned().collect()
}

impl Picker {
    /// The base level and each level's target bytes (0 above the base level and for L0).
    pub(crate) fn targets(&self, v: &Version) -> (usize, [u64; LEVELS]) {
        let mut targets = [0u64; LEVELS];
        let bottom = (1..LEVELS).map(|l| level_bytes(&v.levels[l])).max().unwrap_or(0);
        targets[LAST] = bottom.max(self.base_level_bytes);
        // Walk up while the level below is over the base size: the base level is the first
        // whose target is at or under it (RocksDB's dynamic rule), so L0 lands in a level at
        // most `base_level_bytes` big instead of in the (much bigger) last level.
        let mut base = LAST;
        while base > 1 && targets[base] > self.base_level_bytes {
            targets[base - 1] = targets[base] / self.fanout;
            base -= 1;
        }
        // Never below a level that holds files (they are left there when the tree shrinks):
        // L0 compacts into the base level, and passing over older data would put newer data
        // below it. Those levels get their (small) targets and drain down level by level.
        if let Some(first) = (1..base).find(|&l| !v.levels[l].is_empty()) {
            for l in (first..base).rev() {
                targets[l] = (targets[l + 1] / self.fanout).max(1);
            }
            base = first;
        }
        (base, targets)
    }

    /// Bytes that compaction must still move for the tree to be in shape: what every level
    /// holds over its target, plus L0 once it reaches its trigger. Writers slow down on it.
    pub(crate) fn pending_bytes(&self, v: &Version) -> u64 {
        let (_, targets) = self.targets(v);
        let mut pending = 0;
        if v.levels[0].len() >= self.l0_trigger {
            pending += level_bytes(&v.levels[0]);
        }
        for (files, target) in v.levels.iter().zip(targets).take(LAST).skip(1) {
            pending += level_bytes(files).saturating_sub(target);
        }
        pending
    }

    /// The next compaction, if any is due.
    pub(crate) fn pick(&self, v: &Version) -> Option<Task> {
        let (base, targets) = self.targets(v);
        let mut candidates: Vec<(f64, Option<Task>)> = Vec::new();
        let l0 = &v.levels[0];
        candidates.push((
            l0.len() as f64 / self.l0_trigger as f64,
            self.l0_task(v, base, Reason::L0Files),
        ));
        for (l, (files, target)) in v.levels.iter().zip(targets).enumerate().take(LAST).skip(1) {
            let bytes = level_bytes(files);
            if bytes == 0 {
                continue;
            }
            debug_assert!(l >= base, "levels above the base level hold no files");
            candidates
                .push((bytes as f64 / target as f64, self.file_task(v, l, Reason::LevelSize)));
        }
        if let Some((score, task)) = self.tombstone_task(v, base) {
            candidates.push((score, Some(task)));
        }
        let best = candidates
            .into_iter()
            .filter_map(|(score, task)| Some((score, task?)))
            .filter(|(score, _)| *score >= 1.0)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        match best {
            Some((_, task)) => Some(task),
            None => self.space_amp_task(v, base),
        }
    }

    /// Nothing below `output_level` overlaps anything the task merges. The range is that of
    /// the inputs *and* the overlapping files: a tombstone from an overlapping file is merged
    /// (and may be dropped) as much as one from an input.
    fn bottommost(
        v: &Version,
        output_level: usize,
        inputs: &[Arc<FileMeta>],
        overlaps: &[Arc<FileMeta>],
    ) -> bool {
        let all: Vec<Arc<FileMeta>> = inputs.iter().chain(overlaps).cloned().collect();
        let Some((lo, hi)) = range(&all) else { return true };
        (output_level + 1..LEVELS).all(|l| overlapping(&v.levels[l], &lo, &hi).is_empty())
    }

    /// All of L0 into the base level.
    fn l0_task(&self, v: &Version, base: usize, reason: Reason) -> Option<Task> {
        let inputs = v.levels[0].clone();
        let (lo, hi) = range(&inputs)?;
        let overlaps = overlapping(&v.levels[base], &lo, &hi);
        let bottommost = Self::bottommost(v, base, &inputs, &overlaps);
        Some(Task { level: 0, output_level: base, inputs, overlaps, bottommost, reason })
    }

    /// One file of `level` into the next level: the file that rewrites the least of the next
    /// level per byte it moves (RocksDB's "min overlapping ratio").
    fn file_task(&self, v: &Version, level: usize, reason: Reason) -> Option<Task> {
        let next = level + 1;
        let cost = |f: &Arc<FileMeta>| {
            let o = overlapping(
                &v.levels[next],
                ikey::user_key(&f.smallest),
                ikey::user_key(&f.largest),
            );
            level_bytes(&o) as f64 / f.file_bytes.max(1) as f64
        };
        let file = v.levels[level]
            .iter()
            .min_by(|a, b| cost(a).total_cmp(&cost(b)).then(a.number.cmp(&b.number)))?;
        Some(self.one_file(v, level, next, file, reason))
    }

    fn one_file(
        &self,
        v: &Version,
        level: usize,
        output_level: usize,
        file: &Arc<FileMeta>,
        reason: Reason,
    ) -> Task {
        let (lo, hi) = (ikey::user_key(&file.smallest), ikey::user_key(&file.largest));
        let overlaps = if output_level == level {
            Vec::new()
        } else {
            overlapping(&v.levels[output_level], lo, hi)
        };
        let inputs = vec![Arc::clone(file)];
        let bottommost = Self::bottommost(v, output_level, &inputs, &overlaps);
        Task { level, output_level, inputs, overlaps, bottommost, reason }
    }

    /// The file with the highest tombstone share, if it passes the threshold. L0 tombstones
    /// go down with all of L0 (L0 files overlap, so one cannot jump over an older one).
    fn tombstone_task(&self, v: &Version, base: usize) -> Option<(f64, Task)> {
        let ratio = |f: &FileMeta| {
            if f.entries < self.tombstone_min_entries {
                0.0
            } else {
                f.tombstones as f64 / f.entries as f64
            }
        };
        let mut best: Option<(f64, usize, &Arc<FileMeta>)> = None;
        for (l, files) in v.levels.iter().enumerate() {
            for f in files {
                let r = ratio(f);
                if r >= self.tombstone_ratio && best.is_none_or(|b| r > b.0) {
                    best = Some((r, l, f));
                }
            }
        }
        let (r, level, file) = best?;
        let task = if level == 0 {
            self.l0_task(v, base, Reason::Tombstones)?
        } else {
            // Always the next level: jumping to the base level could pass over files in the
            // levels between (left there when the base level moved down), putting newer data
            // below older data.
            let output = if level == LAST { LAST } else { level + 1 };
            let task = self.one_file(v, level, output, file, Reason::Tombstones);
            // A bottom file's tombstones go only if nothing below needs them and every reader
            // sees them; rewriting it otherwise gains nothing.
            if level == LAST && !task.bottommost {
                return None;
            }
            task
        };
        Some((1.0 + r, task))
    }

    /// Push the fullest upper level down when upper levels hold too much next to the last.
    fn space_amp_task(&self, v: &Version, base: usize) -> Option<Task> {
        let last = level_bytes(&v.levels[LAST]);
        let upper: u64 = (0..LAST).map(|l| level_bytes(&v.levels[l])).sum();
        if upper + last < self.space_amp_min_bytes
            || (upper as f64) <= self.space_amp_ratio * last as f64
        {
            return None;
        }
        if !v.levels[0].is_empty() {
            return self.l0_task(v, base, Reason::SpaceAmp);
        }
        let level = (1..LAST).max_by_key(|&l| level_bytes(&v.levels[l]))?;
        self.file_task(v, level, Reason::SpaceAmp)
    }

    /// Step `step` of a manual compaction: steps 0 to 5 merge all of level `step` into the
    /// next level (newer data stays above older at every step), step 6 rewrites the last level,
    /// dropping every version no snapshot needs (metadata cannot tell whether it holds any, so
    /// a full compaction always rewrites it). `None` when the step has nothing to do.
    pub(crate) fn manual_step(v: &Version, step: usize) -> Option<Task> {
        Picker::range_step(v, step, None)
    }

    /// One step of `Db::compact_range`: as [`Picker::manual_step`], but below L0 only the
    /// files that overlap `lo..=hi` (and what they overlap in the next level) take part. L0
    /// moves down whole if any of its files overlaps, since its files overlap each other.
    pub(crate) fn range_step(
        v: &Version,
        step: usize,
        bounds: Option<(&[u8], &[u8])>,
    ) -> Option<Task> {
        let (level, output_level) = if step < LAST { (step, step + 1) } else { (LAST, LAST) };
        let inputs = match bounds {
            None => v.levels[level].clone(),
            Some(_) if level == 0 => v.levels[0].clone(),
            Some((lo, hi)) => overlapping(&v.levels[level], lo, hi),
        };
        if let Some((lo, hi)) = bounds
            && level == 0
            && overlapping(&inputs, lo, hi).is_empty()
        {
            return None;
        }
        if inputs.is_empty() {
            return None;
        }
        let (lo, hi) = range(&inputs)?;
        let overlaps = if level == output_level {
            Vec::new()
        } else {
            overlapping(&v.levels[output_level], &lo, &hi)
        };
        let bottommost = Self::bottommost(v, output_level, &inputs, &overlaps);
        Some(Task { level, output_level, inputs, overlaps, bottommost, reason: Reason::Manual })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ikey::ValueKind;
    use crate::version::VersionEdit;

    fn picker() -> Picker {
        Picker {
            l0_trigger: 4,
            fanout: 10,
            base_level_bytes: 1000,
            tombstone_ratio: 0.3,
            tombstone_min_entries: 10,
            space_amp_ratio: 0.25,
            space_amp_min_bytes: 0,
        }
    }

    /// A file `number` in `level` covering user keys `lo..=hi` with `bytes` bytes.
    fn file(number: u64, lo: &str, hi: &str, bytes: u64) -> FileMeta {
        FileMeta {
            number,
            file_bytes: bytes,
            smallest: ikey::make(lo.as_bytes(), 100, ValueKind::Put),
            largest: ikey::make(hi.as_bytes(), 1, ValueKind::Put),
            entries: 100,
            tombstones: 0,
        }
    }

    fn version(files: Vec<(usize, FileMeta)>) -> Version {
        Version::default()
            .apply(&VersionEdit { new_files: files, ..Default::default() })
            .expect("a valid version")
    }

    fn numbers(files: &[Arc<FileMeta>]) -> Vec<u64> {
        let mut n: Vec<u64> = files.iter().map(|f| f.number).collect();
        n.sort_unstable();
        n
    }

    #[test]
    fn picker_idle_on_a_tree_in_shape() {
        let v = version(vec![(0, file(1, "a", "z", 100)), (6, file(2, "a", "z", 10_000))]);
        assert!(picker().pick(&v).is_none());
    }

    #[test]
    fn picker_compacts_l0_at_four_files_into_the_base_level() {
        let v = version(vec![
            (0, file(1, "a", "c", 10)),
            (0, file(2, "b", "d", 10)),
            (0, file(3, "c", "e", 10)),
            (0, file(4, "x", "y", 10)),
            (6, file(5, "a", "b", 300)),
            (6, file(6, "f", "g", 300)),
            (6, file(7, "x", "x", 300)),
        ]);
        let t = picker().pick(&v).expect("L0 is due");
        assert_eq!((t.level, t.output_level, t.reason), (0, 6, Reason::L0Files));
        assert_eq!(numbers(&t.inputs), vec![1, 2, 3, 4]);
        // L0's inputs span a..y together, so f..g is inside the output range and must be merged
        // (an output file could otherwise overlap it).
        assert_eq!(numbers(&t.overlaps), vec![5, 6, 7]);
        assert!(t.bottommost);
    }

    #[test]
    fn picker_dynamic_targets_follow_the_last_level() {
        let p = picker();
        let small = version(vec![(6, file(1, "a", "z", 900))]);
        assert_eq!(p.targets(&small).0, 6, "a tree under the base size has only the last level");
        let two = version(vec![(6, file(1, "a", "z", 5_000))]);
        assert_eq!(
            p.targets(&two),
            (5, [0, 0, 0, 0, 0, 500, 5_000]),
            "5k is over 1000: L5 is the base"
        );
        let big = version(vec![(6, file(1, "a", "z", 500_000))]);
        let (base, t) = p.targets(&big);
        assert_eq!(base, 3, "500k, 50k, 5k are over 1000; 500 is the first target under it");
        assert_eq!((t[3], t[4], t[5], t[6]), (500, 5_000, 50_000, 500_000));
    }

    #[test]
    fn picker_moves_a_level_over_target_one_file_with_least_overlap() {
        let v = version(vec![
            (5, file(1, "a", "b", 40_000)),
            (5, file(2, "m", "n", 40_000)),
            (6, file(3, "a", "c", 200_000)),
            (6, file(4, "k", "l", 10)),
            (6, file(5, "o", "p", 100_000)),
        ]);
        // Targets: L6 300k, L5 30k (over: 80k), L4 3k, L3 300 (the base level).
        let t = picker().pick(&v).expect("L5 is over target");
        assert_eq!((t.level, t.output_level, t.reason), (5, 6, Reason::LevelSize));
        assert_eq!(numbers(&t.inputs), vec![2], "m..n overlaps nothing below");
        assert!(t.overlaps.is_empty() && t.is_trivial_move());
    }

    #[test]
    fn picker_base_level_rises_to_a_level_left_with_files() {
        let v = version(vec![(2, file(1, "a", "b", 10)), (6, file(2, "a", "z", 5_000))]);
        assert_eq!(picker().targets(&v).0, 2, "the base level stops at L2, which holds a file");
        let t = picker().pick(&v).expect("L2 is over its small target");
        assert_eq!((t.level, t.output_level, t.reason), (2, 3, Reason::LevelSize));
    }

    #[test]
    fn picker_chases_tombstones_and_drops_them_only_at_the_bottom() {
        let mut f = file(1, "a", "c", 100);
        f.tombstones = 50;
        let v = version(vec![(5, f.clone()), (6, file(2, "a", "z", 100_000))]);
        let t = picker().pick(&v).expect("tombstone-heavy file");
        assert_eq!((t.level, t.output_level, t.reason), (5, 6, Reason::Tombstones));
        assert_eq!(numbers(&t.overlaps), vec![2]);
        assert!(t.bottommost && !t.is_trivial_move());

        let bottom = version(vec![(6, f)]);
        let t = picker().pick(&bottom).expect("bottom file with tombstones");
        assert_eq!((t.level, t.output_level), (6, 6));
        let mut few = file(1, "a", "c", 100);
        (few.entries, few.tombstones) = (5, 5);
        assert!(picker().pick(&version(vec![(6, few)])).is_none(), "too few entries to bother");
    }

    #[test]
    fn picker_bottommost_covers_the_overlapping_files_too() {
        // The input covers only "b"; the L5 file it overlaps reaches "m", which L6 also holds.
        // A tombstone for "m" from the L5 file is merged, so the task is not bottommost.
        let v = version(vec![
            (4, file(1, "b", "b", 100)),
            (5, file(2, "a", "m", 100)),
            (6, file(3, "k", "z", 100_000)),
        ]);
        let input = Arc::clone(&v.levels[4][0]);
        let t = picker().one_file(&v, 4, 5, &input, Reason::LevelSize);
        assert_eq!(numbers(&t.overlaps), vec![2]);
        assert!(!t.bottommost, "L6's k..z overlaps the merged range a..m");
        for step in 0..6 {
            if let Some(t) = Picker::manual_step(&v, step) {
                let merged: Vec<_> = t.all_inputs().cloned().collect();
                let (lo, hi) = range(&merged).expect("files");
                let below = (t.output_level + 1..LEVELS)
                    .any(|l| !overlapping(&v.levels[l], &lo, &hi).is_empty());
                assert_eq!(t.bottommost, !below, "step {step}: {t:?}");
            }
        }
    }

    #[test]
    fn picker_base_level_is_never_below_a_level_with_files() {
        // A small tree (its dynamic base would be L6) that still has files in L4.
        let v = version(vec![
            (0, file(1, "a", "c", 10)),
            (0, file(2, "a", "c", 10)),
            (0, file(3, "a", "c", 10)),
            (0, file(4, "a", "c", 10)),
            (4, file(5, "a", "c", 100)),
            (6, file(6, "a", "z", 900)),
        ]);
        let (base, t) = picker().targets(&v);
        assert_eq!(base, 4);
        assert_eq!((t[4], t[5], t[6]), (10, 100, 1000));
        let l0 = picker().l0_task(&v, base, Reason::L0Files).expect("L0 has files");
        assert_eq!(l0.output_level, 4, "L0 must land above L4's older data, not in L6");
        let first = picker().pick(&v).expect("work");
        assert_eq!(
            (first.level, first.output_level),
            (4, 5),
            "L4, 10x over its target, goes first"
        );
    }

    #[test]
    fn picker_tombstone_task_never_jumps_over_a_level_with_files() {
        // The base level is L6 (a small tree), but L3 and L4 still hold files from a larger
        // past. A tombstone-heavy L3 file must go to L4, above L4's older data, not to L6.
        let mut f = file(1, "a", "c", 100);
        f.tombstones = 60;
        let v = version(vec![(3, f), (4, file(2, "a", "c", 100)), (6, file(3, "a", "z", 900))]);
        assert_eq!(picker().targets(&v).0, 3, "the base level stops at the first level with files");
        for task in [
            picker().tombstone_task(&v, 6).expect("tombstones").1,
            picker().pick(&v).expect("work"),
        ] {
            assert_eq!(task.output_level, task.level + 1, "{task:?}");
        }
    }

    #[test]
    fn picker_pushes_down_when_upper_levels_amplify_space() {
        let v = version(vec![(0, file(1, "a", "z", 300)), (6, file(2, "a", "z", 1_000))]);
        let t = picker().pick(&v).expect("L0 holds 30% of L6");
        assert_eq!((t.level, t.reason), (0, Reason::SpaceAmp));
        let v = version(vec![(0, file(1, "a", "z", 200)), (6, file(2, "a", "z", 1_000))]);
        assert!(picker().pick(&v).is_none(), "20% is under the threshold");
    }

    #[test]
    fn picker_pending_bytes_counts_excess() {
        let v = version(vec![(5, file(1, "a", "b", 40_000)), (6, file(3, "c", "d", 260_000))]);
        // L6 260k sets L5's target at 26k: 14k over (L4 and L3, the base, are empty).
        assert_eq!(picker().pending_bytes(&v), 14_000);
    }

    #[test]
    fn picker_manual_steps_go_level_by_level() {
        let v = version(vec![
            (0, file(1, "a", "b", 1)),
            (3, file(2, "c", "d", 1)),
            (6, file(3, "a", "z", 1)),
        ]);
        let t = Picker::manual_step(&v, 0).expect("L0 has files");
        assert_eq!((t.level, t.output_level, numbers(&t.inputs)), (0, 1, vec![1]));
        assert!(!t.bottommost, "a..b still overlaps L6");
        assert!(Picker::manual_step(&v, 1).is_none(), "L1 is empty");
        let t = Picker::manual_step(&v, 3).expect("L3 has a file");
        assert_eq!((t.output_level, numbers(&t.overlaps)), (4, vec![]));
        let t = Picker::manual_step(&v, 6).expect("the last level is always rewritten");
        assert!(t.bottommost && (t.level, t.output_level) == (6, 6));
        assert!(Picker::manual_step(&version(vec![(0, file(1, "a", "b", 1))]), 6).is_none());
    }
}
