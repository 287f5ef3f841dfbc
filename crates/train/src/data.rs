//! The dataset: one document per line, read the way the reference reads it, from
//! a stream with a size limit, into one buffer.
//!
//! The reference opens the file as text, which turns `\r\n` and lone `\r` into
//! `\n`; strips the whole text; splits it on `\n`; strips each line; and keeps the
//! lines that are not empty. "Strip" means Python's `str.strip()`, whose idea of
//! whitespace is Unicode's plus the four separators U+001C..U+001F.
//!
//! Where this differs from the reference, on purpose: a file with a NUL byte is
//! refused as binary (the reference would train on it), and a leading byte-order
//! mark is dropped (the reference keeps U+FEFF as a character of the first name)
//! unless [`ReadOptions::keep_bom`] asks for the reference's behaviour. Other
//! control characters stay, as in the reference, and are listed in
//! [`Dataset::notes`] with their lines.
//!
//! The documents are kept end to end in one `String` with one `u32` offset each,
//! not a `String` apiece: 100 MB of names is 14 million documents, and a `String`
//! per name would cost three words of header plus an allocation each.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::error::{Error, Result};
use crate::fingerprint::DataFingerprint;
use crate::memory::try_reserve;

/// The default dataset, compiled into the binary: 29,910 lowercase first names,
/// the US Social Security Administration's baby names of 2017 (public domain),
/// most frequent first. `crates/train/data/README.md` says how it was made.
const EMBEDDED_NAMES: &str = include_str!("../data/names.txt");

/// The largest file read unless the caller says otherwise: 1 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// How a data file is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadOptions {
    /// Refuse files larger than this many bytes.
    pub max_bytes: u64,
    /// The memory the read may use, in bytes; a file that would need more is
    /// refused before it is read.
    pub memory_limit: u128,
    /// Keep a leading byte-order mark as a character, as the reference does.
    pub keep_bom: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_bytes: DEFAULT_MAX_BYTES,
            memory_limit: u128::MAX,
            keep_bom: false,
        }
    }
}

/// Bytes of memory per byte of data file that reading and tokenizing it may take
/// at their peak: the documents (at most the file), one offset per document
/// (4 bytes per name of at least 2 bytes with its newline), and the token ids (at
/// most one byte each while the vocabulary fits a byte), rounded up.
pub const MEMORY_PER_DATA_BYTE: u128 = 3;

/// What reading found in the text that a user should hear about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextNotes {
    /// A leading byte-order mark: `Some(true)` if it was kept as a character,
    /// `Some(false)` if dropped.
    pub bom: Option<bool>,
    /// The first control characters inside documents (other than whitespace), up
    /// to [`MAX_CONTROL_NOTES`], with their 1-based lines.
    pub control: Vec<(usize, char)>,
    /// How many control characters there are in all.
    pub control_count: usize,
}

/// How many control characters [`TextNotes::control`] lists.
pub const MAX_CONTROL_NOTES: usize = 5;

/// The documents of a dataset, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    /// Where the documents came from, for messages.
    pub name: String,
    /// The documents, end to end.
    text: String,
    /// `ends[i]` is the byte offset in `text` where document `i` ends.
    ends: Vec<u32>,
    /// What reading noticed.
    pub notes: TextNotes,
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

    /// A dataset of these documents, as they are (not stripped or split).
    ///
    /// # Errors
    /// If there is none, or they do not fit one buffer of 4 GiB.
    pub fn from_docs<'a>(name: &str, docs: impl IntoIterator<Item = &'a str>) -> Result<Self> {
        let mut builder = Builder::new(name, 0)?;
        for doc in docs {
            builder.push(doc)?;
        }
        builder.finish()
    }

    /// Reads a data file with the default [`ReadOptions`].
    ///
    /// # Errors
    /// See [`Dataset::load_with`].
    pub fn load(path: &Path) -> Result<Self> {
        Self::load_with(path, &ReadOptions::default())
    }

    /// Reads a data file, streaming: at most `options.max_bytes` are read, and a
    /// NUL byte stops the read where it is found.
    ///
    /// # Errors
    /// If it cannot be read (missing, a directory, no permission), is larger than
    /// the limit or than memory allows, holds a NUL byte, is not UTF-8, or holds no
    /// document.
    pub fn load_with(path: &Path, options: &ReadOptions) -> Result<Self> {
        let read_error = |source| Error::Read {
            path: path.into(),
            source,
        };
        let name = path.display().to_string();
        let file = File::open(path).map_err(read_error)?;
        let meta = file.metadata().map_err(read_error)?;
        // A regular file says its size up front; a FIFO or a device is checked as
        // it streams.
        let size = meta.is_file().then_some(meta.len());
        if let Some(size) = size {
            if size > options.max_bytes {
                return Err(Error::TooLarge {
                    name,
                    size: Some(size),
                    limit: options.max_bytes,
                });
            }
            let needed = u128::from(size) * MEMORY_PER_DATA_BYTE;
            if needed > options.memory_limit {
                return Err(Error::OutOfMemory {
                    what: format!("reading and tokenizing {name}"),
                    needed,
                    available: options.memory_limit,
                });
            }
        }
        let capacity = usize::try_from(size.unwrap_or(0)).unwrap_or(usize::MAX);
        let reader = BufReader::with_capacity(1 << 16, file);
        parse(&name, reader, capacity, options)
    }

    /// Parses the bytes of a data file named `name`, with the default options.
    ///
    /// # Errors
    /// If they hold a NUL byte or are not UTF-8 (naming the line), or hold no
    /// document.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Self> {
        let options = ReadOptions {
            max_bytes: u64::MAX,
            ..ReadOptions::default()
        };
        parse(name, bytes, bytes.len(), &options)
    }

    /// Parses text: universal newlines, strip, split on `\n`, strip each line, drop
    /// the empty ones.
    ///
    /// # Errors
    /// If no document remains, or the text holds a NUL.
    pub fn from_text(name: &str, text: &str) -> Result<Self> {
        Self::from_bytes(name, text.as_bytes())
    }

    /// The number of documents.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there is no document (never, for a dataset that loaded).
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Document `i`.
    ///
    /// # Panics
    /// If `i` is out of range.
    pub fn doc(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    /// The documents, in file order.
    pub fn docs(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.doc(i))
    }

    /// The fingerprint of the documents, by which a resumed run knows its data.
    pub fn fingerprint(&self) -> DataFingerprint {
        DataFingerprint::of(&self.name, self.docs())
    }

    /// Every document end to end: the text whose characters are the vocabulary.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The buffer and the offsets, taken apart for tokenizing.
    pub(crate) fn into_parts(self) -> (String, Vec<u32>) {
        (self.text, self.ends)
    }
}

/// Collects documents into one buffer, growing it fallibly.
struct Builder {
    name: String,
    text: String,
    ends: Vec<u32>,
    notes: TextNotes,
}

impl Builder {
    fn new(name: &str, capacity: usize) -> Result<Self> {
        let mut text = String::new();
        try_reserve(&mut text, capacity, "the documents")?;
        Ok(Builder {
            name: name.into(),
            text,
            ends: Vec::new(),
            notes: TextNotes::default(),
        })
    }

    fn push(&mut self, doc: &str) -> Result<()> {
        if self.text.capacity() - self.text.len() < doc.len() {
            let more = doc.len().max(self.text.len());
            try_reserve(&mut self.text, more, "the documents")?;
        }
        self.text.push_str(doc);
        let end = u32::try_from(self.text.len()).map_err(|_| Error::TooLarge {
            name: self.name.clone(),
            size: None,
            limit: u64::from(u32::MAX),
        })?;
        if self.ends.len() == self.ends.capacity() {
            let more = self.ends.len().max(1024);
            try_reserve(&mut self.ends, more, "the document offsets")?;
        }
        self.ends.push(end);
        Ok(())
    }

    fn finish(self) -> Result<Dataset> {
        if self.ends.is_empty() {
            return Err(Error::NoDocuments { name: self.name });
        }
        Ok(Dataset {
            name: self.name,
            text: self.text,
            ends: self.ends,
            notes: self.notes,
        })
    }
}

/// Reads lines from `reader` into a dataset, `capacity` bytes reserved up front.
fn parse(
    name: &str,
    mut reader: impl BufRead,
    capacity: usize,
    options: &ReadOptions,
) -> Result<Dataset> {
    let mut builder = Builder::new(name, capacity)?;
    // The line being read, its 1-based number, and whether the byte before was a
    // `\r` (so that `\r\n` ends one line, not two).
    let mut line: Vec<u8> = Vec::new();
    let mut number = 1;
    let mut after_cr = false;
    let mut total: u64 = 0;
    let mut first = true;
    loop {
        let chunk = reader.fill_buf().map_err(|source| Error::Read {
            path: name.into(),
            source,
        })?;
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len();
        total += n as u64;
        if total > options.max_bytes {
            return Err(Error::TooLarge {
                name: name.into(),
                size: None,
                limit: options.max_bytes,
            });
        }
        let mut start = 0;
        for (i, &b) in chunk.iter().enumerate() {
            match b {
                0 => {
                    return Err(Error::Binary {
                        name: name.into(),
                        line: number,
                    });
                }
                b'\n' | b'\r' => {
                    line.extend_from_slice(&chunk[start..i]);
                    start = i + 1;
                    if !(b == b'\n' && after_cr) {
                        end_line(&mut builder, &mut line, number, &mut first, options)?;
                        number += 1;
                    }
                    after_cr = b == b'\r';
                }
                _ => after_cr = false,
            }
        }
        line.extend_from_slice(&chunk[start..]);
        reader.consume(n);
    }
    end_line(&mut builder, &mut line, number, &mut first, options)?;
    builder.finish()
}

/// Ends line `number`: checks it is UTF-8, strips it, and keeps it if non-empty.
fn end_line(
    builder: &mut Builder,
    line: &mut Vec<u8>,
    number: usize,
    first: &mut bool,
    options: &ReadOptions,
) -> Result<()> {
    let text = std::str::from_utf8(line).map_err(|e| Error::NotUtf8 {
        name: builder.name.clone(),
        line: number,
        byte: line[e.valid_up_to()],
    })?;
    let mut text = text;
    if std::mem::take(first) && text.starts_with('\u{feff}') {
        builder.notes.bom = Some(options.keep_bom);
        if !options.keep_bom {
            text = &text['\u{feff}'.len_utf8()..];
        }
    }
    let doc = text.trim_matches(is_py_space);
    if !doc.is_empty() {
        for ch in doc.chars().filter(|c| c.is_control()) {
            builder.notes.control_count += 1;
            if builder.notes.control.len() < MAX_CONTROL_NOTES {
                builder.notes.control.push((number, ch));
            }
        }
        builder.push(doc)?;
    }
    line.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(d: &Dataset) -> Vec<&str> {
        d.docs().collect()
    }

    #[test]
    fn lines_are_read_like_the_reference_reads_them() {
        let d = Dataset::from_text(
            "t",
            "  emma \r\nliam\r\n\n\t\nava\rmia\u{1c}\n\u{a0}zoe\u{2003}\n",
        )
        .unwrap();
        assert_eq!(docs(&d), ["emma", "liam", "ava", "mia", "zoe"]);
        assert_eq!(d.text(), "emmaliamavamiazoe");
        // Inner spaces stay: a document is a line, not a word.
        let d = Dataset::from_text("t", "mary ann\n").unwrap();
        assert_eq!(docs(&d), ["mary ann"]);
    }

    #[test]
    fn a_bom_is_dropped_unless_kept_and_control_characters_are_noted() {
        let d = Dataset::from_text("t", "\u{feff}ann\nbob\n").unwrap();
        assert_eq!(docs(&d), ["ann", "bob"]);
        assert_eq!(d.notes.bom, Some(false));
        // The reference keeps it: a byte-order mark is not whitespace to Python.
        let keep = ReadOptions {
            keep_bom: true,
            ..ReadOptions::default()
        };
        let d = parse("t", "\u{feff}ann\n".as_bytes(), 0, &keep).unwrap();
        assert_eq!(docs(&d), ["\u{feff}ann"]);
        assert_eq!(d.notes.bom, Some(true));
        // Only at the start of the file.
        let d = Dataset::from_text("t", "ann\n\u{feff}bob\n").unwrap();
        assert_eq!(docs(&d), ["ann", "\u{feff}bob"]);
        assert_eq!(d.notes.bom, None);

        let d = Dataset::from_text("t", "a\u{7}b\nok\r\nc\u{1b}[0m\n").unwrap();
        assert_eq!(d.notes.control, [(1, '\u{7}'), (3, '\u{1b}')]);
        assert_eq!(d.notes.control_count, 2);
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
        let err = Dataset::from_bytes("z.bin", b"ann\r\nb\0b\n").unwrap_err();
        assert!(matches!(err, Error::Binary { line: 2, .. }), "{err}");
    }

    #[test]
    fn a_read_stops_at_its_limit() {
        let options = ReadOptions {
            max_bytes: 100_000,
            ..ReadOptions::default()
        };
        // An endless stream, as /dev/urandom is, of text.
        let endless = std::io::repeat(b'a');
        let err = parse("stream", BufReader::new(endless), 0, &options).unwrap_err();
        assert!(
            matches!(
                err,
                Error::TooLarge {
                    limit: 100_000,
                    size: None,
                    ..
                }
            ),
            "{err}"
        );
        let zeros = std::io::repeat(0);
        let err = parse("zeros", BufReader::new(zeros), 0, &options).unwrap_err();
        assert!(matches!(err, Error::Binary { line: 1, .. }), "{err}");
    }

    #[test]
    fn the_embedded_names_are_what_the_provenance_note_says() {
        let d = Dataset::embedded();
        // crates/train/data/README.md: 29,910 names, most frequent first.
        assert_eq!(d.len(), 29_910);
        assert_eq!(
            docs(&d)[..10],
            [
                "emma", "liam", "olivia", "noah", "ava", "isabella", "logan", "william", "sophia",
                "james"
            ]
        );
        assert!(d.docs().all(|n| n.chars().all(|c| c.is_ascii_lowercase())));
        assert_eq!(d.doc(d.len() - 1), "zyrie");
    }
}
