//! Characters to token ids and back: the sorted distinct characters of the
//! documents, then BOS, which starts and ends every document.

use crate::error::{Error, Result};

/// The character-level tokenizer of the reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tokenizer {
    /// The vocabulary's characters, sorted by code point: id `i` is `chars[i]`.
    chars: Vec<char>,
}

impl Tokenizer {
    /// The vocabulary of `docs`: every distinct character, sorted by code point.
    pub fn new<S: AsRef<str>>(docs: &[S]) -> Self {
        Self::of_texts(docs.iter().map(AsRef::as_ref))
    }

    /// The vocabulary of a dataset's documents.
    pub fn of_dataset(dataset: &crate::data::Dataset) -> Self {
        Self::of_texts([dataset.text()])
    }

    /// Every distinct character of `texts`, in a set rather than a list of every
    /// character seen: 100 MB of text is 100 million characters, 27 of them
    /// distinct.
    fn of_texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut ascii = [false; 128];
        let mut other = std::collections::BTreeSet::new();
        for text in texts {
            for ch in text.chars() {
                match ascii.get_mut(ch as usize) {
                    Some(seen) => *seen = true,
                    None => {
                        other.insert(ch);
                    }
                }
            }
        }
        let chars = (0u8..128)
            .filter(|&b| ascii[usize::from(b)])
            .map(char::from)
            .chain(other)
            .collect();
        Tokenizer { chars }
    }

    /// A tokenizer for these characters, which must be sorted and distinct.
    ///
    /// # Errors
    /// If they are not.
    pub fn from_chars(chars: Vec<char>) -> Result<Self> {
        if chars.windows(2).any(|w| w[0] >= w[1]) {
            let why = "characters must be distinct and sorted by code point".into();
            return Err(Error::Invalid { what: "vocab", why });
        }
        Ok(Tokenizer { chars })
    }

    /// The vocabulary's characters, in id order.
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// The id of BOS: the number of characters.
    pub fn bos(&self) -> usize {
        self.chars.len()
    }

    /// Characters plus BOS.
    pub fn vocab_size(&self) -> usize {
        self.chars.len() + 1
    }

    /// The id of one character.
    ///
    /// # Errors
    /// If it is not in the vocabulary.
    pub fn id(&self, ch: char) -> Result<usize> {
        self.chars
            .binary_search(&ch)
            .map_err(|_| Error::UnknownChar {
                ch,
                code: ch as u32,
            })
    }

    /// Appends the ids of `text` to `out`.
    ///
    /// # Errors
    /// If a character is not in the vocabulary; `out` then holds the ids before it.
    pub fn encode_into(&self, text: &str, out: &mut Vec<usize>) -> Result<()> {
        for ch in text.chars() {
            out.push(self.id(ch)?);
        }
        Ok(())
    }

    /// The ids of `text`.
    ///
    /// # Errors
    /// If a character is not in the vocabulary.
    pub fn encode(&self, text: &str) -> Result<Vec<usize>> {
        let mut out = Vec::with_capacity(text.len());
        self.encode_into(text, &mut out)?;
        Ok(out)
    }

    /// Frames the ids that `ids` appends to `out` as a document is framed for the
    /// model: `[BOS] + ids + [BOS]`, BOS both the context it starts from and the
    /// token that ends it. The one place that says so.
    pub(crate) fn frame<R>(
        &self,
        out: &mut Vec<usize>,
        ids: impl FnOnce(&mut Vec<usize>) -> R,
    ) -> R {
        out.push(self.bos());
        let result = ids(out);
        out.push(self.bos());
        result
    }

    /// Appends a document as the model trains on it to `out`: `[BOS] + ids + [BOS]`.
    ///
    /// # Errors
    /// If a character is not in the vocabulary.
    pub fn encode_doc_into(&self, doc: &str, out: &mut Vec<usize>) -> Result<()> {
        self.frame(out, |out| self.encode_into(doc, out))
    }

    /// A document as the model trains on it: `[BOS] + ids + [BOS]`.
    ///
    /// # Errors
    /// If a character is not in the vocabulary.
    pub fn encode_doc(&self, doc: &str) -> Result<Vec<usize>> {
        let mut out = Vec::with_capacity(doc.len() + 2);
        self.encode_doc_into(doc, &mut out)?;
        Ok(out)
    }

    /// The text of `ids`, which must not hold BOS.
    ///
    /// # Errors
    /// If an id is BOS or beyond.
    pub fn decode(&self, ids: &[usize]) -> Result<String> {
        ids.iter()
            .map(|&id| {
                self.chars.get(id).copied().ok_or(Error::UnknownToken {
                    id,
                    vocab_size: self.vocab_size(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_code_point_order_and_bos_comes_last() {
        let t = Tokenizer::new(&["emma", "zoé", "Al"]);
        assert_eq!(t.chars(), ['A', 'a', 'e', 'l', 'm', 'o', 'z', 'é']);
        assert_eq!((t.bos(), t.vocab_size()), (8, 9));
        let ids = t.encode("zoé").unwrap();
        assert_eq!(ids, [6, 5, 7]);
        assert_eq!(t.decode(&ids).unwrap(), "zoé");
        assert_eq!(t.encode_doc("zoé").unwrap(), [8, 6, 5, 7, 8]);
    }

    #[test]
    fn unknown_characters_and_ids_are_named() {
        let t = Tokenizer::new(&["abc"]);
        let err = t.encode("cab!").unwrap_err();
        assert_eq!(
            err.to_string(),
            "character '!' (U+0021) is not in the vocabulary"
        );
        let err = t.decode(&[0, 3]).unwrap_err();
        assert!(err.to_string().contains("token id 3"), "{err}");
        assert!(Tokenizer::from_chars(vec!['b', 'a']).is_err());
    }
}
