//! The order of a sorted GEOSEARCH reply, tie for tie as Redis 7.0 gives it on Debian 12.
//!
//! Redis sorts its matches by distance with a comparator that calls equal distances equal,
//! so the order of ties is whatever its sort leaves: without COUNT (or when COUNT covers every
//! match) it calls glibc's `qsort`, which in glibc 2.36 is a top-down merge sort (stable);
//! when COUNT cuts the list it calls its `pqsort`, a partial quicksort (Bentley and McIlroy's
//! "Engineering a Sort Function", 1993, that skips the partitions outside the wanted range),
//! which is not stable. Points in the same cell are at the same distance, so ties are real;
//! both algorithms are written here from their published descriptions so the replies agree.
//! Neither needs the comparator to be a total order (a NaN distance compares as "less"), and
//! neither panics on one.

use std::cmp::Ordering;

/// Sorts `v` stably: glibc 2.36's `msort` (split at `n / 2`, merge taking from the left run
/// while `cmp(left, right)` is not `Greater`).
pub(crate) fn merge_sort<T: Clone>(v: &mut [T], cmp: &impl Fn(&T, &T) -> Ordering) {
    let mut tmp = Vec::with_capacity(v.len());
    merge_sort_with(v, &mut tmp, cmp);
}

fn merge_sort_with<T: Clone>(v: &mut [T], tmp: &mut Vec<T>, cmp: &impl Fn(&T, &T) -> Ordering) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    merge_sort_with(&mut v[..n1], tmp, cmp);
    merge_sort_with(&mut v[n1..], tmp, cmp);
    tmp.clear();
    let (mut i, mut j) = (0, n1);
    while i < n1 && j < n {
        if cmp(&v[i], &v[j]) != Ordering::Greater {
            tmp.push(v[i].clone());
            i += 1;
        } else {
            tmp.push(v[j].clone());
            j += 1;
        }
    }
    // What is left of the left run goes after the merged part; the right run's rest is
    // already in place.
    tmp.extend_from_slice(&v[i..n1]);
    v[..tmp.len()].clone_from_slice(tmp);
}

/// Puts the elements `v[lo..=hi]` would hold if `v` were sorted there, in order (Redis's
/// `pqsort`). Elements outside the range end up in an unspecified order.
pub(crate) fn partial_sort<T>(
    v: &mut [T],
    lo: usize,
    hi: usize,
    cmp: &impl Fn(&T, &T) -> Ordering,
) {
    partial_sort_from(v, 0, lo, hi, cmp);
}

/// Sorts the part of `v` that overlaps `[lo, hi]`; `base` is `v`'s offset in the whole array
/// (the range is in whole-array positions).
fn partial_sort_from<T>(
    mut v: &mut [T],
    mut base: usize,
    lo: usize,
    hi: usize,
    cmp: &impl Fn(&T, &T) -> Ordering,
) {
    use Ordering::{Equal, Greater, Less};
    loop {
        let n = v.len();
        if n < 7 {
            for m in 1..n {
                let mut l = m;
                while l > 0 && cmp(&v[l - 1], &v[l]) == Greater {
                    v.swap(l, l - 1);
                    l -= 1;
                }
            }
            return;
        }
        let mut m = n / 2;
        if n > 7 {
            let (mut l, mut r) = (0, n - 1);
            if n > 40 {
                let d = n / 8;
                l = median_of_three(v, l, l + d, l + 2 * d, cmp);
                m = median_of_three(v, m - d, m, m + d, cmp);
                r = median_of_three(v, r - 2 * d, r - d, r, cmp);
            }
            m = median_of_three(v, l, m, r, cmp);
        }
        v.swap(0, m);
        // Bentley-McIlroy three-way partition around v[0]: equal keys gather at both ends
        // ([1, a) and (d, n)), then are swapped to the middle.
        let (mut a, mut b) = (1usize, 1usize);
        let (mut c, mut d) = (n as isize - 1, n as isize - 1);
        loop {
            while b as isize <= c {
                let o = cmp(&v[b], &v[0]);
                if o == Greater {
                    break;
                }
                if o == Equal {
                    v.swap(a, b);
                    a += 1;
                }
                b += 1;
            }
            while b as isize <= c {
                let o = cmp(&v[c as usize], &v[0]);
                if o == Less {
                    break;
                }
                if o == Equal {
                    v.swap(c as usize, d as usize);
                    d -= 1;
                }
                c -= 1;
            }
            if b as isize > c {
                break;
            }
            v.swap(b, c as usize);
            b += 1;
            c -= 1;
        }
        let r = a.min(b - a);
        swap_blocks(v, 0, b - r, r);
        let r = ((d - c) as usize).min(n - d as usize - 1);
        swap_blocks(v, b, n - r, r);
        // The smaller-than part is [0, b - a), the greater-than part the last d - c elements.
        let overlaps = |start: usize, len: usize| !(hi < start || lo >= start + len);
        let less = b - a;
        if less > 1 && overlaps(base, less) {
            partial_sort_from(&mut v[..less], base, lo, hi, cmp);
        }
        let greater = (d - c) as usize;
        if greater <= 1 || !overlaps(base + n - greater, greater) {
            return;
        }
        base += n - greater;
        v = &mut v[n - greater..];
    }
}

/// Swaps `v[x..x + len]` with `v[y..y + len]`, element by element from the front.
fn swap_blocks<T>(v: &mut [T], x: usize, y: usize, len: usize) {
    for i in 0..len {
        v.swap(x + i, y + i);
    }
}

/// The index of the median of three (the published `med3`, comparisons in its order).
fn median_of_three<T>(
    v: &[T],
    a: usize,
    b: usize,
    c: usize,
    cmp: &impl Fn(&T, &T) -> Ordering,
) -> usize {
    use Ordering::{Greater, Less};
    if cmp(&v[a], &v[b]) == Less {
        if cmp(&v[b], &v[c]) == Less {
            b
        } else if cmp(&v[a], &v[c]) == Less {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) == Greater {
        b
    } else if cmp(&v[a], &v[c]) == Less {
        a
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// Sorting (key, tag) pairs by key only: the tags show where ties went.
    fn by_key(a: &(u32, u32), b: &(u32, u32)) -> Ordering {
        a.0.cmp(&b.0)
    }

    #[test]
    fn merge_sort_is_stable_and_sorted() {
        let seed = lode_testkit::Seed::new("merge_sort_is_stable_and_sorted");
        let mut rng = seed.rng(0);
        for _ in 0..lode_testkit::iterations(300) {
            let n = rng.random_range(0..200);
            let mut v: Vec<(u32, u32)> = (0..n).map(|i| (rng.random_range(0..10), i)).collect();
            let mut want = v.clone();
            want.sort_by(by_key);
            merge_sort(&mut v, &by_key);
            assert_eq!(v, want);
        }
    }

    #[test]
    fn partial_sort_orders_the_requested_prefix() {
        let seed = lode_testkit::Seed::new("partial_sort_orders_the_requested_prefix");
        let mut rng = seed.rng(0);
        for _ in 0..lode_testkit::iterations(500) {
            let n = rng.random_range(1..300);
            let keys = rng.random_range(1..50);
            let mut v: Vec<(u32, u32)> = (0..n).map(|i| (rng.random_range(0..keys), i)).collect();
            let k = rng.random_range(0..n);
            let mut sorted_keys: Vec<u32> = v.iter().map(|p| p.0).collect();
            sorted_keys.sort_unstable();
            let mut all: Vec<(u32, u32)> = v.clone();
            all.sort_unstable();
            partial_sort(&mut v, 0, k as usize, &by_key);
            let got: Vec<u32> = v[..=k as usize].iter().map(|p| p.0).collect();
            assert_eq!(got, sorted_keys[..=k as usize]);
            // A permutation: nothing lost or duplicated.
            let mut after = v.clone();
            after.sort_unstable();
            assert_eq!(after, all);
        }
    }

    #[test]
    fn sorts_do_not_panic_on_a_comparator_that_is_not_an_order() {
        let nan_like = |a: &f64, b: &f64| {
            if a > b {
                Ordering::Greater
            } else if a == b {
                Ordering::Equal
            } else {
                Ordering::Less
            }
        };
        let mut v: Vec<f64> =
            (0..100).map(|i| if i % 7 == 0 { f64::NAN } else { f64::from(i % 13) }).collect();
        merge_sort(&mut v, &nan_like);
        partial_sort(&mut v, 0, 10, &nan_like);
        assert_eq!(v.len(), 100);
    }
}
