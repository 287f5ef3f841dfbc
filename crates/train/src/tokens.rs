//! The training documents as token ids, held compactly: one buffer of ids in the
//! narrowest type the vocabulary fits (a byte for up to 256 tokens, so the names'
//! 27 take one byte a character), one `u32` end offset per document, and the
//! shuffled order as `u32` indices. A 100 MB file so costs about twice its size,
//! where `usize` ids and a `String` per document cost about ten times.

use crate::data::Dataset;
use crate::error::Result;
use crate::memory::try_reserve;
use crate::rng::RunRng;
use crate::tokenizer::Tokenizer;

/// Token ids end to end, in the narrowest type that holds every id.
#[derive(Clone, Debug)]
enum Ids {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
}

/// The documents of a run, tokenized, in the run's shuffled order.
#[derive(Clone, Debug)]
pub(crate) struct Corpus {
    ids: Ids,
    /// `ends[j]` ends document `j` (file order) in `ids`.
    ends: Vec<u32>,
    /// `order[i]` is the file-order index of the `i`-th document of the run.
    order: Vec<u32>,
}

impl Corpus {
    /// Tokenizes `dataset` (consuming it, so its text is freed before the order
    /// is allocated), then shuffles the order with `rng`, as the reference
    /// shuffles its list of documents.
    ///
    /// # Errors
    /// If the memory for the ids cannot be had; the characters are all known, the
    /// tokenizer being the dataset's.
    pub(crate) fn new(
        dataset: Dataset,
        tokenizer: &Tokenizer,
        rng: &mut RunRng,
        seed: u64,
    ) -> Result<Self> {
        let (text, mut ends) = dataset.into_parts();
        let ids = if tokenizer.vocab_size() <= 1 << 8 {
            Ids::U8(encode(&text, &mut ends, tokenizer)?)
        } else if tokenizer.vocab_size() <= 1 << 16 {
            Ids::U16(encode(&text, &mut ends, tokenizer)?)
        } else {
            Ids::U32(encode(&text, &mut ends, tokenizer)?)
        };
        drop(text);
        let mut order = Vec::new();
        try_reserve(&mut order, ends.len(), "the document order")?;
        // Documents are fewer than bytes, and the text fits u32 offsets.
        order.extend((0..ends.len()).map(|j| u32::try_from(j).expect("fewer than 2^32")));
        // The same swaps as shuffling the documents themselves: a shuffle's draws
        // depend only on the length.
        rng.shuffle(seed, &mut order);
        Ok(Corpus { ids, ends, order })
    }

    /// The number of documents.
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    /// Appends the ids of the `i`-th document of the run to `out`.
    pub(crate) fn extend_doc(&self, i: usize, out: &mut Vec<usize>) {
        let j = self.order[i] as usize;
        let start = if j == 0 { 0 } else { self.ends[j - 1] as usize };
        let end = self.ends[j] as usize;
        match &self.ids {
            Ids::U8(ids) => out.extend(ids[start..end].iter().map(|&id| usize::from(id))),
            Ids::U16(ids) => out.extend(ids[start..end].iter().map(|&id| usize::from(id))),
            Ids::U32(ids) => out.extend(ids[start..end].iter().map(|&id| id as usize)),
        }
    }
}

/// The ids of `text`, each converted to `T`; rewrites `ends` from byte offsets in
/// `text` into offsets in the ids (never larger: a character is at least a byte).
fn encode<T: TryFrom<usize>>(
    text: &str,
    ends: &mut [u32],
    tokenizer: &Tokenizer,
) -> Result<Vec<T>> {
    let mut ids: Vec<T> = Vec::new();
    try_reserve(&mut ids, text.len(), "the token ids")?;
    let mut start = 0;
    for end in ends.iter_mut() {
        for ch in text[start..*end as usize].chars() {
            let id = tokenizer.id(ch)?;
            ids.push(
                T::try_from(id)
                    .ok()
                    .expect("the id type fits the vocabulary"),
            );
        }
        start = *end as usize;
        *end = u32::try_from(ids.len()).expect("no more ids than bytes");
    }
    Ok(ids)
}
