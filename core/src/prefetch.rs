//! Cache prefetch hints for walks over many objects that were written long
//! before they are read again (a plan's thousands of fresh allocations,
//! re-read by the plan applier after the whole pass): asking for the lines
//! of the objects a few steps ahead lets their misses overlap instead of
//! each stalling the walk in turn. A hint only: it changes no value, and on
//! targets without one (wasm32) it is nothing.

/// Asks for the cache line holding `p`.
#[inline(always)]
pub(crate) fn line<T: ?Sized>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` is a hint that never faults, whatever the
    // address, and SSE (which it needs) is part of the x86_64 baseline.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Asks for every cache line of `value` (its inline part).
#[inline(always)]
pub(crate) fn object<T>(value: &T) {
    let start = std::ptr::from_ref(value).cast::<u8>();
    let size = std::mem::size_of::<T>();
    // A line per 64 bytes from the start, and the line of the last byte
    // (the object need not begin on a line).
    for offset in (0..size).step_by(64) {
        line(start.wrapping_add(offset));
    }
    line(start.wrapping_add(size.saturating_sub(1)));
}

/// Asks for the line of an `Arc`'s reference counts (just before its
/// value, for the values the core shares: aligned to at most a word).
#[inline(always)]
pub(crate) fn counts<T: ?Sized>(shared: &std::sync::Arc<T>) {
    line(
        std::sync::Arc::as_ptr(shared)
            .cast::<u8>()
            .wrapping_sub(2 * std::mem::size_of::<usize>()),
    );
}

/// How many steps ahead a walk asks for what it will read.
pub(crate) const AHEAD: usize = 8;

/// An iterator that asks for what its walk will read before it gets there:
/// `far` of the item [`AHEAD`] steps on (the item's own lines), `near` of
/// the item half as far (what the item points to, its lines being in by
/// then).
pub(crate) struct Ahead<I: Iterator> {
    inner: I,
    far: I,
    near: I,
    on_far: fn(&I::Item),
    on_near: fn(&I::Item),
}

impl<I: Iterator + Clone> Ahead<I> {
    pub(crate) fn new(inner: I, on_far: fn(&I::Item), on_near: fn(&I::Item)) -> Self {
        let mut far = inner.clone();
        far.by_ref().take(AHEAD).for_each(|x| on_far(&x));
        let mut near = inner.clone();
        near.by_ref().take(AHEAD / 2).for_each(|x| on_near(&x));
        Ahead {
            inner,
            far,
            near,
            on_far,
            on_near,
        }
    }
}

impl<I: Iterator> Iterator for Ahead<I> {
    type Item = I::Item;

    #[inline]
    fn next(&mut self) -> Option<I::Item> {
        if let Some(x) = self.far.next() {
            (self.on_far)(&x);
        }
        if let Some(x) = self.near.next() {
            (self.on_near)(&x);
        }
        self.inner.next()
    }
}

/// A node's record (far) ...
pub(crate) fn node(n: &&crate::model::Node) {
    object(*n);
}

/// ... and the strings a pass reads of it (near).
pub(crate) fn node_strings(n: &&crate::model::Node) {
    line(n.status.as_ptr());
    line(n.datacenter.as_ptr());
    line(n.computed_class.as_ptr());
    line(n.id.as_ptr());
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    thread_local! {
        static ASKED: RefCell<Vec<(char, String)>> = const { RefCell::new(Vec::new()) };
    }

    fn far(s: &&String) {
        ASKED.with(|a| a.borrow_mut().push(('f', s.to_string())));
    }

    fn near(s: &&String) {
        ASKED.with(|a| a.borrow_mut().push(('n', s.to_string())));
    }

    #[test]
    fn a_walk_asks_for_each_item_once_ahead_and_yields_what_its_iterator_does() {
        for len in [0, 1, AHEAD / 2, AHEAD - 1, AHEAD, AHEAD + 1, 50] {
            ASKED.with(|a| a.borrow_mut().clear());
            let items: Vec<String> = (0..len).map(|i| format!("item {i}")).collect();
            let mut walked = Vec::new();
            for item in Ahead::new(items.iter(), far, near) {
                // When an item is handed out, the items up to AHEAD on were
                // asked for (far), and up to AHEAD / 2 on (near).
                let asked = ASKED.with(|a| a.borrow().clone());
                let i = walked.len();
                let fars = asked.iter().filter(|(k, _)| *k == 'f').count();
                let nears = asked.iter().filter(|(k, _)| *k == 'n').count();
                assert_eq!(fars, len.min(i + AHEAD + 1), "length {len}, item {i}");
                assert_eq!(nears, len.min(i + AHEAD / 2 + 1), "length {len}, item {i}");
                walked.push(item.clone());
            }
            assert_eq!(walked, items, "length {len}");
            let asked = ASKED.with(|a| a.borrow().clone());
            for kind in ['f', 'n'] {
                let order: Vec<&String> = asked
                    .iter()
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, s)| s)
                    .collect();
                assert_eq!(
                    order,
                    items.iter().collect::<Vec<_>>(),
                    "length {len}, {kind}"
                );
            }
        }
    }
}
