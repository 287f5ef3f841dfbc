//! A dataset's fingerprint: which documents a run trained on, so that a resumed run
//! can tell the same data from other data.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::fnv::Fnv1a64;

/// The identity of a dataset's documents.
///
/// The hash is 64-bit FNV-1a over the documents in file order, each followed by the
/// byte `0xFF` (which never occurs in UTF-8, so `["ab", "c"]` and `["a", "bc"]` hash
/// apart). It is taken over the documents as read, not the file's bytes: two files
/// that differ only in blank lines, line endings or surrounding spaces hold the same
/// documents and train the same model. FNV-1a catches accidents, such as another
/// file or an edited one; it is no defence against a collision made on purpose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFingerprint {
    /// Where the documents came from: the path as given, or `<embedded names>`.
    pub name: String,
    /// How many documents.
    pub docs: usize,
    /// The FNV-1a hash, as 16 lowercase hex digits.
    pub fnv1a64: String,
}

impl DataFingerprint {
    /// The fingerprint of `dataset`.
    pub fn of(dataset: &Dataset) -> Self {
        let mut h = Fnv1a64::new();
        for doc in dataset.docs() {
            h.update(doc.as_bytes());
            h.update(&[0xff]);
        }
        DataFingerprint {
            name: dataset.name.clone(),
            docs: dataset.len(),
            fnv1a64: h.hex(),
        }
    }

    /// Whether both describe the same documents, whatever their names.
    pub fn same_docs(&self, other: &DataFingerprint) -> bool {
        self.docs == other.docs && self.fnv1a64 == other.fnv1a64
    }
}

impl fmt::Display for DataFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} documents, fingerprint {})",
            self.name, self.docs, self.fnv1a64
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(text: &str) -> DataFingerprint {
        DataFingerprint::of(&Dataset::from_text("t", text).unwrap())
    }

    #[test]
    fn same_documents_same_fingerprint_any_change_another() {
        let a = fp("emma\nliam\n");
        assert!(a.same_docs(&fp("  emma\r\n\nliam")), "layout is not data");
        for other in ["liam\nemma\n", "emma\nliamx\n", "emma\n", "emmal\niam\n"] {
            assert!(!a.same_docs(&fp(other)), "{other:?}");
        }
        let mut h = Fnv1a64::new();
        h.update(&[b'a', 0xff]);
        assert_eq!(fp("a").fnv1a64, h.hex());
    }
}
