//! The dataset check, shared by the `dataset` fuzz target and the regression test
//! `crates/train/tests/fuzz_regressions.rs`: arbitrary bytes as a data file.
//!
//! Parsing either fails with the right error or gives documents that are non-empty,
//! stripped, one line each, and in the file's order; the tokenizer built on them
//! knows every character, and every document encodes and decodes back to itself.

use train::{Dataset, Error, Tokenizer, is_py_space};

/// What one input did, for the regression test to check that a fixture still
/// reaches the path it was kept for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Parsed into this many documents, each round-tripped through the tokenizer.
    Docs(usize),
    /// Refused as not UTF-8.
    NotUtf8,
    /// Refused as holding no document.
    NoDocuments,
    Binary,
}

/// Runs every check on `data`; panics with a message naming the broken invariant.
pub(crate) fn check(data: &[u8]) -> Outcome {
    let dataset = match Dataset::from_bytes("fuzz", data) {
        Ok(dataset) => dataset,
        Err(Error::NotUtf8 { name, line, byte }) => {
            let e = std::str::from_utf8(data).expect_err("valid UTF-8 was refused as not UTF-8");
            let at = e.valid_up_to();
            assert_eq!(name, "fuzz");
            assert_eq!(
                byte, data[at],
                "the reported byte is not the first invalid one"
            );
            assert_eq!(
                line,
                line_of(&data[..at]),
                "wrong line for the invalid byte"
            );
            return Outcome::NotUtf8;
        }
        Err(Error::Binary { name, line }) => {
            assert_eq!(name, "fuzz");
            let nul = data
                .iter()
                .position(|&b| b == 0)
                .expect("refused as binary without a NUL");
            assert_eq!(line, line_of(&data[..nul]), "wrong line for the NUL byte");
            return Outcome::Binary;
        }
        Err(Error::NoDocuments { name }) => {
            assert_eq!(name, "fuzz");
            let text = std::str::from_utf8(data).expect("bytes refused as empty are UTF-8");
            // A leading byte-order mark is dropped, not a document.
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            assert!(
                text.chars()
                    .all(|c| c == '\n' || c == '\r' || is_py_space(c)),
                "a text with a non-blank character was refused as empty: {text:?}"
            );
            return Outcome::NoDocuments;
        }
        Err(e) => panic!("unexpected error from Dataset::from_bytes: {e}"),
    };
    let text = std::str::from_utf8(data).expect("parsed bytes are UTF-8");
    assert!(!data.contains(&0), "a NUL byte was let through");
    assert_eq!(dataset.notes.bom.is_some(), text.starts_with('\u{feff}'));
    // The reference keeps a leading byte-order mark; the default read drops it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for c in text.chars() {
        assert_eq!(
            is_py_space(c),
            PY_SPACE.contains(&c),
            "is_py_space({c:?}) differs from Python's"
        );
    }
    assert_eq!(
        dataset.docs().collect::<Vec<_>>(),
        reference_docs(text),
        "documents differ from the reference's"
    );
    for doc in dataset.docs() {
        assert!(!doc.is_empty(), "an empty document");
        assert!(
            !doc.contains(['\n', '\r']),
            "a document spans lines: {doc:?}"
        );
        let first = doc.chars().next().expect("non-empty");
        let last = doc.chars().next_back().expect("non-empty");
        assert!(
            !is_py_space(first) && !is_py_space(last),
            "a document is not stripped: {doc:?}"
        );
    }

    let tokenizer = Tokenizer::of_dataset(&dataset);
    let chars = tokenizer.chars();
    assert!(
        chars.windows(2).all(|w| w[0] < w[1]),
        "vocabulary not sorted and distinct"
    );
    assert_eq!(tokenizer.bos(), chars.len());
    assert_eq!(tokenizer.vocab_size(), chars.len() + 1);
    assert_eq!(
        Tokenizer::from_chars(chars.to_vec()).ok().as_ref(),
        Some(&tokenizer)
    );
    let mut ids = Vec::new();
    for doc in dataset.docs() {
        ids.clear();
        tokenizer
            .encode_into(doc, &mut ids)
            .expect("every character of the data is known");
        assert_eq!(ids.len(), doc.chars().count());
        assert!(
            ids.iter().all(|&id| id < tokenizer.bos()),
            "a character encoded as BOS or beyond"
        );
        let back = tokenizer
            .decode(&ids)
            .expect("ids of the vocabulary decode");
        assert_eq!(&back, doc, "a document does not survive encode then decode");
        for (ch, &id) in doc.chars().zip(&ids) {
            assert_eq!(chars[id], ch);
        }
    }
    assert!(
        tokenizer.decode(&[tokenizer.bos()]).is_err(),
        "BOS decoded as a character"
    );
    if let Some(ch) = ['a', '\u{0}', '\u{10ffff}']
        .into_iter()
        .find(|c| !chars.contains(c))
    {
        assert!(
            tokenizer.encode(&ch.to_string()).is_err(),
            "{ch:?} is not in the vocabulary"
        );
    }
    Outcome::Docs(dataset.len())
}

/// Every character for which Python 3.11's `str.isspace()` is true.
const PY_SPACE: [char; 29] = [
    '\t', '\n', '\u{b}', '\u{c}', '\r', '\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}', ' ', '\u{85}',
    '\u{a0}', '\u{1680}', '\u{2000}', '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}',
    '\u{2006}', '\u{2007}', '\u{2008}', '\u{2009}', '\u{200a}', '\u{2028}', '\u{2029}', '\u{202f}',
    '\u{205f}', '\u{3000}',
];

/// The reference's reading, written as plainly as Python says it: universal newlines
/// (`\r\n` and lone `\r` become `\n`), `strip()`, `split('\n')`, `strip()` each line,
/// keep the non-empty ones.
fn reference_docs(text: &str) -> Vec<String> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    text.trim_matches(is_py_space)
        .split('\n')
        .map(|line| line.trim_matches(is_py_space))
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The 1-based line that follows `before`, counting `\n`, `\r\n` and lone `\r`.
fn line_of(before: &[u8]) -> usize {
    let mut line = 1;
    let mut i = 0;
    while i < before.len() {
        match before[i] {
            b'\n' => line += 1,
            b'\r' => {
                line += 1;
                if before.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    line
}
