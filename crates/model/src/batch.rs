//! The documents of one training step, and the rows they make.

use autograd::Var;

/// The documents of one training step, each as the model trains on it (`[BOS] +
/// doc + [BOS]` as token ids), back to back in one buffer.
///
/// Fill it with [`Batch::push`] or [`Batch::push_with`] and hand it to
/// [`Gpt::loss_batch`](crate::Gpt::loss_batch); [`Batch::clear`] it for the next
/// step. It keeps its memory, and that of the rows it makes for the forward pass,
/// from step to step: once warm, a step allocates nothing.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// Every document's tokens, one after the other.
    tokens: Vec<usize>,
    /// Where each document ends in `tokens`.
    ends: Vec<usize>,
    /// The rows of the forward pass, remade by [`Batch::rows`] at each step.
    pub(crate) rows: Rows,
}

/// What the fused forward pass of a batch is fed: every document's inputs back
/// to back, and how many rows each makes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Rows {
    /// The input tokens of every document, one row each.
    pub(crate) inputs: Vec<usize>,
    /// The token each row should predict.
    pub(crate) targets: Vec<usize>,
    /// The rows of each document.
    pub(crate) docs: Vec<usize>,
    /// Each document's mean loss.
    pub(crate) losses: Vec<Var>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Removes every document, keeping the memory.
    pub fn clear(&mut self) {
        self.tokens.clear();
        self.ends.clear();
    }

    /// Appends a document's tokens.
    pub fn push(&mut self, tokens: &[usize]) {
        self.push_with(|t| t.extend_from_slice(tokens));
    }

    /// Appends a document whose tokens `fill` appends to the buffer it is given.
    pub fn push_with<R>(&mut self, fill: impl FnOnce(&mut Vec<usize>) -> R) -> R {
        let result = fill(&mut self.tokens);
        self.ends.push(self.tokens.len());
        result
    }

    /// The number of documents.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the batch holds no document.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Each document's mean loss, as the last [`Gpt::doc_losses`](crate::Gpt::doc_losses)
    /// (or [`Gpt::loss_batch`](crate::Gpt::loss_batch)) of this batch built them.
    pub fn losses(&self) -> &[Var] {
        &self.rows.losses
    }

    /// The tokens of document `i`.
    ///
    /// # Panics
    /// If there is no document `i`.
    pub fn doc(&self, i: usize) -> &[usize] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.tokens[start..self.ends[i]]
    }

    /// Every document's tokens, in order.
    pub fn docs(&self) -> impl ExactSizeIterator<Item = &[usize]> {
        (0..self.len()).map(|i| self.doc(i))
    }

    /// The forward pass's rows of these documents, each trained on its first
    /// `min(block_size, len - 1)` positions: the inputs, the targets and each
    /// document's number of rows, in [`Batch::rows`]'s buffers.
    pub(crate) fn make_rows(&mut self, block_size: usize) {
        let rows = &mut self.rows;
        rows.inputs.clear();
        rows.targets.clear();
        rows.docs.clear();
        for i in 0..self.ends.len() {
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            let doc = &self.tokens[start..self.ends[i]];
            let n = block_size.min(doc.len() - 1);
            rows.inputs.extend_from_slice(&doc[..n]);
            rows.targets.extend_from_slice(&doc[1..=n]);
            rows.docs.push(n);
        }
    }
}
