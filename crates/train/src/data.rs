//! The dataset: one document per line, read the way the reference reads it.
//!
//! The reference opens the file as text, which turns `\r\n` and lone `\r` into
//! `\n`; strips the whole text; splits it on `\n`; strips each line; and keeps the
//! lines that are not empty. "Strip" means Python's `str.strip()`, whose idea of
//! whitespace is Unicode's plus the four separators U+001C..U+001F.

use std::path::Path;

use crate::error::{Error, Result};
use crate::fingerprint::DataFingerprint;

/// The default dataset, compiled into the binary: 29,910 lowercase first names,
/// the US Social Security Administration's baby names of 2017 (public domain),
/// most frequent first. `crates/train/data/README.md` says how it was made.
const EMBEDDED_NAMES: &str = include_str!("../data/names.txt");

/// The documents of a dataset, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    /// Where the documents came from, for messages.
    pub name: String,
    /// One string per document.
    pub docs: Vec<String>,
}

/// Python's `str.isspace()` for one character.
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

impl Dataset {
    /// The embedded names.
    pub fn embedded() -> Self {
        Self::from_text("<embedded names>", EMBEDDED_NAMES)
            .expect("the embedded names are non-empty")
    }

    /// Reads a data file.
    ///
    /// # Errors
    /// If it cannot be read (missing, a directory, no permission), is not UTF-8, or
    /// holds no document.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.into(),
            source,
        })?;
        Self::from_bytes(&path.display().to_string(), &bytes)
    }

    /// Parses the bytes of a data file named `name`.
    ///
    /// # Errors
    /// If they are not UTF-8 (naming the line), or hold no document.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Self> {
        match std::str::from_utf8(bytes) {
            Ok(text) => Self::from_text(name, text),
            Err(e) => {
                let at = e.valid_up_to();
                // Lines as the reader counts them: \n, \r\n and a lone \r each end one.
                let before = &bytes[..at];
                let lone_cr = before
                    .windows(2)
                    .filter(|w| w[0] == b'\r' && w[1] != b'\n')
                    .count()
                    + usize::from(before.last() == Some(&b'\r'));
                let line = 1 + before.iter().filter(|&&b| b == b'\n').count() + lone_cr;
                Err(Error::NotUtf8 {
                    name: name.into(),
                    line,
                    byte: bytes[at],
                })
            }
        }
    }

    /// The fingerprint of the documents, by which a resumed run knows its data.
    pub fn fingerprint(&self) -> DataFingerprint {
        DataFingerprint::of(&self.name, &self.docs)
    }

    /// Parses text: universal newlines, strip, split on `\n`, strip each line, drop
    /// the empty ones.
    ///
    /// # Errors
    /// If no document remains.
    pub fn from_text(name: &str, text: &str) -> Result<Self> {
        let docs: Vec<String> = text
            .split(['\n', '\r'])
            .map(|line| line.trim_matches(is_py_space))
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect();
        if docs.is_empty() {
            return Err(Error::NoDocuments { name: name.into() });
        }
        Ok(Dataset {
            name: name.into(),
            docs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_like_the_reference_reads_them() {
        let d = Dataset::from_text(
            "t",
            "  emma \r\nliam\r\n\n\t\nava\rmia\u{1c}\n\u{a0}zoe\u{2003}\n",
        )
        .unwrap();
        assert_eq!(d.docs, ["emma", "liam", "ava", "mia", "zoe"]);
        // Inner spaces stay: a document is a line, not a word.
        let d = Dataset::from_text("t", "mary ann\n").unwrap();
        assert_eq!(d.docs, ["mary ann"]);
        // A byte-order mark is not whitespace to Python; it stays in the first line.
        let d = Dataset::from_text("t", "\u{feff}ann\n").unwrap();
        assert_eq!(d.docs, ["\u{feff}ann"]);
    }

    #[test]
    fn the_fingerprint_is_of_the_documents_not_the_layout() {
        let a = Dataset::from_text("a", "emma\nliam\n").unwrap();
        let b = Dataset::from_text("b", "  emma\r\n\nliam").unwrap();
        assert!(
            a.fingerprint().same_docs(&b.fingerprint()),
            "layout is not data"
        );
        let c = Dataset::from_text("a", "liam\nemma\n").unwrap();
        assert!(
            !a.fingerprint().same_docs(&c.fingerprint()),
            "order is data"
        );
    }

    #[test]
    fn empty_blank_and_binary_data_are_refused() {
        for text in ["", "\n\n", "  \t \r\n \u{3000}\n"] {
            let err = Dataset::from_text("blank.txt", text).unwrap_err();
            assert!(
                err.to_string().contains("blank.txt holds no documents"),
                "{err}"
            );
        }
        let err = Dataset::from_bytes("bad.txt", b"ann\r\nbob\nc\xffd\n").unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
        assert!(err.to_string().contains("0xff"), "{err}");
        let err = Dataset::from_bytes("bad.txt", b"a\rb\r\xc3").unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    #[test]
    fn the_embedded_names_are_what_the_provenance_note_says() {
        let d = Dataset::embedded();
        // crates/train/data/README.md: 29,910 names, most frequent first.
        assert_eq!(d.docs.len(), 29_910);
        assert_eq!(
            &d.docs[..10],
            [
                "emma", "liam", "olivia", "noah", "ava", "isabella", "logan", "william", "sophia",
                "james"
            ]
        );
        assert!(
            d.docs
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_lowercase()))
        );
        assert_eq!(d.docs.last().unwrap(), "zyrie");
    }
}
