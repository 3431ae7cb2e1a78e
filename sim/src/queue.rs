//! The simulator's event queue: a binary min-heap ordered by (virtual time, class, sequence
//! number), exactly the order the run loop has always used, made cheaper than
//! `BinaryHeap<Reverse<Queued>>`.
//!
//! The heap holds small entries (a 128-bit key and a slot number, 32 bytes); the events
//! themselves stay put in a slab whose free slots are reused, so sifting moves no event and a
//! comparison is one 128-bit compare. The key is `at << 64 | class << 56 | seq`: `seq` counts
//! pushes from 1 and is unique, so no two keys are equal and any correct heap pops the same
//! sequence as any other (the order does not depend on the heap's shape). `seq` stays below
//! 2^56 (it would take years of pushes to reach), so it never reaches the class bits;
//! [`EventQueue::push`] saturates rather than wrap, should it ever.

/// Keys are unique: the entry's place in the order, and where its event sits.
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: u128,
    slot: u32,
}

/// Events of type `E` by (time, class, sequence number), earliest first.
#[derive(Debug)]
pub(crate) struct EventQueue<E> {
    heap: Vec<Entry>,
    slots: Vec<Option<E>>,
    free: Vec<u32>,
    seq: u64,
    /// Events known before the run (boots, faults, expectations), sorted latest first: they
    /// never enter the heap, which stays small (timers and frames in flight); `pop` merges the
    /// two by key.
    fixed: Vec<(u128, E)>,
    /// `fixed` is sorted.
    sorted: bool,
}

const SEQ_MASK: u64 = (1 << 56) - 1;

impl<E> EventQueue<E> {
    /// An empty queue.
    pub(crate) fn new() -> EventQueue<E> {
        EventQueue {
            heap: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
            seq: 0,
            fixed: Vec::new(),
            sorted: true,
        }
    }

    /// The key of the next push.
    fn next_key(&mut self, at: u64, class: u8) -> u128 {
        self.seq = (self.seq + 1).min(SEQ_MASK);
        (u128::from(at) << 64) | u128::from((u64::from(class) << 56) | self.seq)
    }

    /// Queue `ev` as [`EventQueue::push`] does (same numbering, same order), for an event known
    /// in advance: it waits in a sorted list instead of the heap.
    pub(crate) fn push_fixed(&mut self, at: u64, class: u8, ev: E) {
        let key = self.next_key(at, class);
        self.fixed.push((key, ev));
        self.sorted = false;
    }

    /// Queue `ev` at virtual time `at` in `class` (0 before 1 at the same instant); among
    /// equal (time, class), first pushed, first popped.
    pub(crate) fn push(&mut self, at: u64, class: u8, ev: E) {
        let key = self.next_key(at, class);
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(ev);
                s
            }
            None => {
                self.slots.push(Some(ev));
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
            }
        };
        // Sift up with a hole: parents move down until the new key's place is found.
        let mut pos = self.heap.len();
        self.heap.push(Entry { key, slot });
        while pos > 0 {
            let parent = (pos - 1) / 2;
            let p = self.heap[parent];
            if p.key <= key {
                break;
            }
            self.heap[pos] = p;
            pos = parent;
        }
        self.heap[pos] = Entry { key, slot };
    }

    /// The earliest event and its time.
    pub(crate) fn pop(&mut self) -> Option<(u64, E)> {
        if !self.sorted {
            self.fixed.sort_unstable_by(|a, b| b.0.cmp(&a.0));
            self.sorted = true;
        }
        if let Some(&(key, _)) = self.fixed.last() {
            if self.heap.first().is_none_or(|e| key < e.key) {
                let (key, ev) = self.fixed.pop()?;
                return Some(((key >> 64) as u64, ev));
            }
        }
        let last = self.heap.pop()?;
        let top = if self.heap.is_empty() {
            last
        } else {
            let top = self.heap[0];
            // Sift `last` down from the root with a hole.
            let len = self.heap.len();
            let mut pos = 0;
            loop {
                let mut child = 2 * pos + 1;
                if child >= len {
                    break;
                }
                if child + 1 < len && self.heap[child + 1].key < self.heap[child].key {
                    child += 1;
                }
                if last.key <= self.heap[child].key {
                    break;
                }
                self.heap[pos] = self.heap[child];
                pos = child;
            }
            self.heap[pos] = last;
            top
        };
        let ev = self.slots.get_mut(top.slot as usize)?.take()?;
        self.free.push(top.slot);
        Some(((top.key >> 64) as u64, ev))
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
            let mut q = EventQueue::new();
            let mut h = BinaryHeap::new();
            let mut seq = 0u64;
            for _ in 0..2_000 {
                if rng.below(3) < 2 {
                    let at = rng.below(20);
                    let class = u8::from(rng.chance(0.3));
                    seq += 1;
                    if rng.chance(0.2) {
                        q.push_fixed(at, class, seq);
                    } else {
                        q.push(at, class, seq);
                    }
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
