//! Where the core may split its work in two.
//!
//! The core never starts a thread. A host with a spare core passes a
//! [`Fork`] whose `join` runs its two halves side by side; the browser,
//! the plugin and the tests pass [`Sequential`]. The halves' results are
//! always put back together in order, so a forked run gives the same
//! values, and the same bytes, as a sequential one. Lists are always cut
//! at `len / 2`, so that a host which runs second halves on one helper
//! thread builds, reads and frees the same items there.

/// Jobs with at least this many task groups have their per-group work
/// split in two.
pub const MIN_GROUPS: usize = 16;

/// Runs two independent pieces of work, and frees values, as the host
/// sees fit.
pub trait Fork: Sync {
    /// Runs `a` and `b`, possibly at the same time, and returns both
    /// results. A panic in either is passed on once both have finished.
    fn join<A: Send, B: Send>(
        &self,
        a: impl FnOnce() -> A + Send,
        b: impl FnOnce() -> B + Send,
    ) -> (A, B);
}

/// Everything on the calling thread, in order.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sequential;

impl Fork for Sequential {
    fn join<A: Send, B: Send>(
        &self,
        a: impl FnOnce() -> A + Send,
        b: impl FnOnce() -> B + Send,
    ) -> (A, B) {
        (a(), b())
    }
}

/// `f` of each item, in order; the two halves of `items` are forked when
/// there are at least `min` of them.
pub fn map_halves<T: Sync, R: Send>(
    fork: &impl Fork,
    items: &[T],
    min: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    if items.len() < min.max(2) {
        return items.iter().map(f).collect();
    }
    let (head, tail) = items.split_at(items.len() / 2);
    let (mut out, rest) = fork.join(
        || {
            let mut out = Vec::with_capacity(items.len());
            out.extend(head.iter().map(&f));
            out
        },
        || tail.iter().map(&f).collect::<Vec<R>>(),
    );
    out.extend(rest);
    out
}

/// `f` of each item, in order, taking the items; the two halves are forked
/// when there are at least `min` of them.
pub fn map_owned_halves<T: Send, R: Send>(
    fork: &impl Fork,
    mut items: Vec<T>,
    min: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    if items.len() < min.max(2) {
        return items.into_iter().map(f).collect();
    }
    let tail = items.split_off(items.len() / 2);
    let len = items.len() + tail.len();
    let (mut out, rest) = fork.join(
        || {
            let mut out = Vec::with_capacity(len);
            out.extend(items.into_iter().map(&f));
            out
        },
        || tail.into_iter().map(&f).collect::<Vec<R>>(),
    );
    out.extend(rest);
    out
}

/// Drops `items`, their two halves over `fork` when there are at least
/// `min` of them (so that items built in halves are freed where they were
/// built).
pub fn drop_halves<T: Send>(fork: &impl Fork, mut items: Vec<T>, min: usize) {
    if items.len() < min.max(2) {
        return;
    }
    let tail = items.split_off(items.len() / 2);
    fork.join(move || drop(items), move || drop(tail));
}

/// For tests: runs the second half first, as a racing host might, and
/// counts joins. Code that passes with it does not depend on the order in
/// which the halves run.
#[derive(Debug, Default)]
pub struct SecondFirst(pub std::sync::atomic::AtomicUsize);

impl Fork for SecondFirst {
    fn join<A: Send, B: Send>(
        &self,
        a: impl FnOnce() -> A + Send,
        b: impl FnOnce() -> B + Send,
    ) -> (A, B) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let b = b();
        (a(), b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn halves_come_back_in_order_whatever_ran_first() {
        let items: Vec<u32> = (0..9).collect();
        let fork = SecondFirst::default();
        let squares = map_halves(&fork, &items, 4, |i| i * i);
        assert_eq!(squares, vec![0, 1, 4, 9, 16, 25, 36, 49, 64]);
        let names = map_owned_halves(&fork, items, 4, |i| format!("g{i}"));
        assert_eq!(names[0], "g0");
        assert_eq!(names[4], "g4");
        assert_eq!(names[8], "g8");
        assert_eq!(names.len(), 9);
        assert_eq!(fork.0.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn short_lists_are_not_forked() {
        let fork = SecondFirst::default();
        assert_eq!(map_halves(&fork, &[1, 2, 3], 4, |i| i + 1), vec![2, 3, 4]);
        assert_eq!(map_owned_halves(&fork, vec![5], 0, |i| i), vec![5]);
        assert!(map_halves(&fork, &[] as &[u8], 0, |i| *i).is_empty());
        assert_eq!(fork.0.load(Ordering::Relaxed), 0);
    }
}
