//! A set of allocation positions as a sorted list.
//!
//! The reconciler splits a group's allocations into sets (untainted,
//! migrating, lost, stopped, ignored…) and combines them a few times per
//! group. Built, walked and combined as sorted lists, the sets cost a
//! vector each, where `BTreeSet`s cost a tree of nodes to build, walk and
//! free. Reads like the `BTreeSet<usize>` it replaces: ascending, no
//! duplicates.

/// Ascending, duplicate-free positions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IndexSet(Vec<usize>);

impl IndexSet {
    pub fn new() -> Self {
        IndexSet(Vec::new())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, usize> {
        self.0.iter()
    }

    pub fn contains(&self, i: &usize) -> bool {
        self.0.binary_search(i).is_ok()
    }

    /// Adds `i`; false if it was there.
    pub fn insert(&mut self, i: usize) -> bool {
        match self.0.binary_search(&i) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, i);
                true
            }
        }
    }

    /// Removes `i`; false if it was not there.
    pub fn remove(&mut self, i: &usize) -> bool {
        match self.0.binary_search(i) {
            Ok(at) => {
                self.0.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    /// The positions in either set, ascending.
    pub fn union<'s>(&'s self, other: &'s IndexSet) -> impl Iterator<Item = &'s usize> + 's {
        Merge {
            a: self.0.iter().peekable(),
            b: other.0.iter().peekable(),
            keep: Keep::Union,
        }
    }

    /// The positions of this set not in `other`, ascending.
    pub fn difference<'s>(&'s self, other: &'s IndexSet) -> impl Iterator<Item = &'s usize> + 's {
        Merge {
            a: self.0.iter().peekable(),
            b: other.0.iter().peekable(),
            keep: Keep::Difference,
        }
    }
}

/// Which positions a [`Merge`] yields.
#[derive(Clone, Copy)]
enum Keep {
    Union,
    Difference,
}

/// One walk of two sorted lists.
struct Merge<'s> {
    a: std::iter::Peekable<std::slice::Iter<'s, usize>>,
    b: std::iter::Peekable<std::slice::Iter<'s, usize>>,
    keep: Keep,
}

impl<'s> Iterator for Merge<'s> {
    type Item = &'s usize;

    fn next(&mut self) -> Option<&'s usize> {
        loop {
            let (x, y) = match (self.a.peek(), self.b.peek()) {
                (None, None) => return None,
                (Some(_), None) => return self.a.next(),
                (None, Some(_)) => {
                    return match self.keep {
                        Keep::Union => self.b.next(),
                        Keep::Difference => None,
                    };
                }
                (Some(&&x), Some(&&y)) => (x, y),
            };
            match (x.cmp(&y), self.keep) {
                (std::cmp::Ordering::Less, _) => return self.a.next(),
                (std::cmp::Ordering::Equal, Keep::Union) => {
                    self.b.next();
                    return self.a.next();
                }
                (std::cmp::Ordering::Equal, Keep::Difference) => {
                    self.a.next();
                    self.b.next();
                }
                (std::cmp::Ordering::Greater, Keep::Union) => return self.b.next(),
                (std::cmp::Ordering::Greater, Keep::Difference) => {
                    self.b.next();
                }
            }
        }
    }
}

impl FromIterator<usize> for IndexSet {
    /// Positions listed in increasing order (the usual case) are taken as
    /// they are; any other order is sorted and deduplicated.
    fn from_iter<I: IntoIterator<Item = usize>>(iter: I) -> Self {
        let mut v: Vec<usize> = iter.into_iter().collect();
        if !v.windows(2).all(|w| w[0] < w[1]) {
            v.sort_unstable();
            v.dedup();
        }
        IndexSet(v)
    }
}

impl Extend<usize> for IndexSet {
    fn extend<I: IntoIterator<Item = usize>>(&mut self, iter: I) {
        self.0.extend(iter);
        if !self.0.windows(2).all(|w| w[0] < w[1]) {
            self.0.sort_unstable();
            self.0.dedup();
        }
    }
}

impl IntoIterator for IndexSet {
    type Item = usize;
    type IntoIter = std::vec::IntoIter<usize>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'s> IntoIterator for &'s IndexSet {
    type Item = &'s usize;
    type IntoIter = std::slice::Iter<'s, usize>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// For comparisons with the `BTreeSet` it replaces.
    fn as_btree(s: &IndexSet) -> std::collections::BTreeSet<usize> {
        s.iter().copied().collect()
    }

    fn set(v: &[usize]) -> IndexSet {
        v.iter().copied().collect()
    }

    #[test]
    fn reads_like_a_btree_set() {
        // Any order, duplicates: sorted and deduplicated.
        let s = set(&[5, 1, 3, 1, 9]);
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), [1, 3, 5, 9]);
        assert_eq!((s.len(), s.is_empty()), (4, false));
        assert!(s.contains(&3) && !s.contains(&4));
        let mut t = set(&[2, 3, 4]);
        assert!(t.insert(1) && !t.insert(3));
        assert!(t.remove(&4) && !t.remove(&7));
        assert_eq!(t, set(&[1, 2, 3]));
        t.extend([8, 0, 2]);
        assert_eq!(t.clone().into_iter().collect::<Vec<_>>(), [0, 1, 2, 3, 8]);
        let union: Vec<usize> = s.union(&t).copied().collect();
        assert_eq!(union, [0, 1, 2, 3, 5, 8, 9]);
        let difference: Vec<usize> = s.difference(&t).copied().collect();
        assert_eq!(difference, [5, 9]);
        let back: Vec<usize> = t.difference(&s).copied().collect();
        assert_eq!(back, [0, 2, 8]);
        assert!(IndexSet::new().union(&IndexSet::new()).next().is_none());
        assert_eq!(set(&[4]).difference(&IndexSet::new()).count(), 1);
        assert_eq!(IndexSet::new().difference(&set(&[4])).count(), 0);
        // The same answers as the BTreeSet.
        let (bs, bt) = (as_btree(&s), as_btree(&t));
        assert_eq!(
            s.union(&t).copied().collect::<Vec<_>>(),
            bs.union(&bt).copied().collect::<Vec<_>>()
        );
        assert_eq!(
            t.difference(&s).copied().collect::<Vec<_>>(),
            bt.difference(&bs).copied().collect::<Vec<_>>()
        );
    }
}
