//! The simulator's event queue, ordered by (virtual time, class, sequence number): exactly the
//! order the run loop has always used, made cheaper than `BinaryHeap<Reverse<Queued>>`.
//!
//! A run keeps a few dozen events queued (one timer per node, the frames in flight, the faults
//! still to come), and almost every new one is due soon: a vector sorted latest first, popped
//! from its end and searched from its end, beats a binary heap there (one pop is a
//! `Vec::pop`; a push looks at the last few entries, then searches the rest by halves). Each entry is a 128-bit key and the event; the key is
//! `at << 64 | class << 56 | seq`, so a comparison is one 128-bit compare. `seq` counts pushes
//! from 1 and is unique, so no two keys are equal and the order is exactly (time, class,
//! sequence number), as with the `BinaryHeap` this replaces. `seq` stays below 2^56 (it would
//! take years of pushes to reach), so it never reaches the class bits; [`EventQueue::push`]
//! saturates rather than wrap, should it ever.

/// Events of type `E` by (time, class, sequence number), earliest first.
#[derive(Debug)]
pub(crate) struct EventQueue<E> {
    /// Sorted by key, latest first: the next event is the last one.
    events: Vec<(u128, E)>,
    seq: u64,
}

const SEQ_MASK: u64 = (1 << 56) - 1;

impl<E> EventQueue<E> {
    /// An empty queue with room for `capacity` events before it grows.
    pub(crate) fn with_capacity(capacity: usize) -> EventQueue<E> {
        EventQueue {
            events: Vec::with_capacity(capacity),
            seq: 0,
        }
    }

    /// The key of the next push.
    #[inline]
    fn next_key(&mut self, at: u64, class: u8) -> u128 {
        self.seq = (self.seq + 1).min(SEQ_MASK);
        (u128::from(at) << 64) | u128::from((u64::from(class) << 56) | self.seq)
    }

    /// Queue `ev` at virtual time `at` in `class` (0 before 1 at the same instant); among
    /// equal (time, class), first pushed, first popped.
    #[inline]
    pub(crate) fn push(&mut self, at: u64, class: u8, ev: E) {
        let key = self.next_key(at, class);
        self.insert(key, ev);
    }

    /// Queue every `(at, event)` of `batch` in `class`, as that many [`EventQueue::push`]es in
    /// the batch's order would (the same keys, so the same order), and empty it. One advert's
    /// copies to every receiver arrive together: pushed one by one, each later copy of an
    /// equal time belongs before all the earlier ones and moves them (quadratic in the number
    /// of receivers); inserted last to first, each lands next to the one before.
    pub(crate) fn push_batch(&mut self, class: u8, batch: &mut Vec<(u64, E)>) {
        let base = self.seq;
        let k = batch.len() as u64;
        self.seq = base.saturating_add(k).min(SEQ_MASK);
        for (j, (at, ev)) in batch.drain(..).enumerate().rev() {
            let seq = base.saturating_add(j as u64 + 1).min(SEQ_MASK);
            let key = (u128::from(at) << 64) | u128::from((u64::from(class) << 56) | seq);
            self.insert(key, ev);
        }
    }

    #[inline]
    fn insert(&mut self, key: u128, ev: E) {
        // Most events are due soon (frames in flight, the next timer): their place is near the
        // end, so the search looks at the last few entries first (and the insertion moves only
        // the entries due before it); a binary search over the rest keeps large queues cheap.
        let len = self.events.len();
        let mut pos = len;
        while pos > 0 && len - pos < 8 && self.events[pos - 1].0 < key {
            pos -= 1;
        }
        if pos > 0 && len - pos == 8 && self.events[pos - 1].0 < key {
            pos = self.events[..pos].partition_point(|e| e.0 > key);
        }
        self.events.insert(pos, (key, ev));
    }

    /// The earliest event and its time.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(u64, E)> {
        let (key, ev) = self.events.pop()?;
        Some(((key >> 64) as u64, ev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{SimRng, Stream};

    /// The same order as the `BinaryHeap<Reverse<(at, class, seq)>>` it replaces, over random
    /// interleavings of pushes and pops with many ties.
    #[test]
    fn same_order_as_a_binary_heap() {
        use core::cmp::Reverse;
        use std::collections::BinaryHeap;
        let mut rng = SimRng::new(5, Stream::Network);
        for _ in 0..50 {
            let mut q = EventQueue::with_capacity(0);
            let mut h = BinaryHeap::new();
            let mut seq = 0u64;
            for _ in 0..2_000 {
                if rng.chance(0.1) {
                    // A batch (one advert's copies), mostly at one time.
                    let mut batch = Vec::new();
                    for _ in 0..rng.between(1, 12) {
                        let at = rng.below(3) + 5;
                        seq += 1;
                        batch.push((at, seq));
                        h.push(Reverse((at, 0, seq)));
                    }
                    q.push_batch(0, &mut batch);
                    assert!(batch.is_empty());
                } else if rng.below(3) < 2 {
                    // Mostly soon, sometimes far ahead (both searches), many ties.
                    let at = rng.below(20) + if rng.chance(0.2) { 1_000 } else { 0 };
                    let class = u8::from(rng.chance(0.3));
                    seq += 1;
                    q.push(at, class, seq);
                    h.push(Reverse((at, class, seq)));
                } else {
                    let want = h.pop().map(|Reverse((at, _, s))| (at, s));
                    assert_eq!(q.pop(), want);
                }
            }
            while let Some(Reverse((at, _, s))) = h.pop() {
                assert_eq!(q.pop(), Some((at, s)));
            }
            assert_eq!(q.pop(), None);
        }
    }
}
