//! The handles of the arena: a node is a `Var`, a run of consecutive nodes a
//! `Span`. Both are plain indices, `Copy`, and know nothing of the graph.

/// A scalar node of a [`Graph`](crate::Graph): a `Copy` index into its arena.
///
/// A `Var` is only meaningful for the graph that made it, and only until that graph
/// is truncated below it (see [`Graph::truncate`](crate::Graph::truncate)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Var(pub(crate) u32);

impl Var {
    /// The slot index of this node in its graph's arena.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A run of `len` consecutive nodes starting at `start`: a vector, or a row-major
/// matrix, of the arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    pub(crate) start: u32,
    pub(crate) len: u32,
}

impl Span {
    /// The first slot of the run.
    #[inline]
    pub fn start(self) -> usize {
        self.start as usize
    }

    /// The number of nodes in the run.
    #[inline]
    pub fn len(self) -> usize {
        self.len as usize
    }

    /// Whether the run holds no node.
    #[inline]
    pub fn is_empty(self) -> bool {
        self.len == 0
    }

    /// The slots of the run, as an index range into the arena.
    #[inline]
    pub fn range(self) -> std::ops::Range<usize> {
        self.start()..self.start() + self.len()
    }

    /// Whether every slot of `other` lies in this run.
    #[inline]
    pub fn contains(self, other: Span) -> bool {
        self.start() <= other.start() && other.range().end <= self.range().end
    }

    /// The `i`-th node of the run.
    ///
    /// # Panics
    /// If `i` is out of the run.
    #[inline]
    pub fn at(self, i: usize) -> Var {
        assert!(i < self.len(), "index {i} out of a span of {}", self.len);
        Var(self.start + i as u32)
    }

    /// Row `r` of the run read as a row-major matrix with rows of `width` nodes.
    ///
    /// # Panics
    /// If the row does not lie inside the run.
    #[inline]
    pub fn row(self, r: usize, width: usize) -> Span {
        self.sub(r * width, width)
    }

    /// The `len` nodes starting `offset` nodes into the run.
    ///
    /// # Panics
    /// If the sub-run does not lie inside the run.
    #[inline]
    pub fn sub(self, offset: usize, len: usize) -> Span {
        assert!(
            offset + len <= self.len(),
            "sub-span {offset}..{} out of a span of {}",
            offset + len,
            self.len
        );
        Span {
            start: self.start + offset as u32,
            len: len as u32,
        }
    }

    /// Every node of the run, in order.
    pub fn iter(self) -> impl ExactSizeIterator<Item = Var> {
        (self.start..self.start + self.len).map(Var)
    }
}
