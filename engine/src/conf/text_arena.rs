//! Text the parser makes while it reads (included files, lines changed by `$PARAMETER`
//! substitution, quoted words with escapes or glued parts), kept for as long as the tokens that
//! borrow it.
//!
//! Tokens borrow their text ([`super::lexer::Token`]): a word of the file is a slice of the
//! file's text, with no copy. The text that is not in the caller's string (an included file's,
//! a substituted line's, a word built from several quoted parts) goes here: it is handed over
//! once and lent back for the arena's life. Nothing is ever removed, so a slice lent out stays
//! valid while the arena lives, and adding more text takes only a shared reference (the reader
//! adds text while earlier tokens borrow what it already holds).
//!
//! Written without `unsafe` (the engine forbids it): each piece sits in a [`OnceCell`] slot,
//! set once and then only read; the slots come in chunks that double in size, linked from the
//! first, so a piece never moves.

use std::cell::{Cell, OnceCell};

/// Slots in the first chunk (the next one has twice as many, and so on).
const FIRST_CHUNK: usize = 16;

/// An append-only store of strings that lends each one out for its own life (see the module
/// documentation).
pub struct TextArena {
    first: Chunk,
    /// How many strings are stored.
    len: Cell<usize>,
}

struct Chunk {
    slots: Box<[OnceCell<String>]>,
    next: OnceCell<Box<Chunk>>,
}

impl Chunk {
    fn new(n: usize) -> Self {
        Chunk {
            slots: (0..n).map(|_| OnceCell::new()).collect(),
            next: OnceCell::new(),
        }
    }
}

impl Default for TextArena {
    fn default() -> Self {
        Self::new()
    }
}

impl TextArena {
    /// An empty arena.
    pub fn new() -> Self {
        TextArena {
            first: Chunk::new(FIRST_CHUNK),
            len: Cell::new(0),
        }
    }

    /// Stores `text` and lends it out for the arena's life.
    pub fn keep(&self, text: String) -> &str {
        let mut i = self.len.get();
        self.len.set(i + 1);
        let mut chunk = &self.first;
        // Chunk sizes double: a few steps for any number of strings.
        while i >= chunk.slots.len() {
            i -= chunk.slots.len();
            let n = chunk.slots.len().saturating_mul(2);
            chunk = chunk.next.get_or_init(|| Box::new(Chunk::new(n)));
        }
        let mut text = Some(text);
        // The slot is empty (`len` counts every stored string, and slots are filled in order).
        chunk.slots[i]
            .get_or_init(|| text.take().unwrap_or_default())
            .as_str()
    }

    /// How many strings are stored.
    pub fn len(&self) -> usize {
        self.len.get()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::TextArena;

    #[test]
    fn every_string_kept_stays_readable_while_more_are_added() {
        let a = TextArena::new();
        let mut lent: Vec<&str> = Vec::new();
        for i in 0..1000 {
            lent.push(a.keep(format!("s{i}")));
        }
        assert_eq!(a.len(), 1000);
        for (i, s) in lent.iter().enumerate() {
            assert_eq!(*s, format!("s{i}"));
        }
        assert!(TextArena::new().is_empty());
    }
}
