//! A dataset's fingerprint: which documents a run trained on, so that a resumed run
//! can tell the same data from other data.

use std::fmt;

use serde::{Deserialize, Serialize};

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
    /// The fingerprint of the documents `docs`, read from `name`.
    pub fn of<'a>(name: &str, docs: impl IntoIterator<Item = &'a str>) -> Self {
        let mut h = Fnv1a64::new();
        let mut count = 0;
        for doc in docs {
            h.update(doc.as_bytes());
            h.update(&[0xff]);
            count += 1;
        }
        DataFingerprint {
            name: name.into(),
            docs: count,
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

    fn fp(docs: &[&str]) -> DataFingerprint {
        DataFingerprint::of("t", docs.iter().copied())
    }

    #[test]
    fn same_documents_same_fingerprint_any_change_another() {
        let a = fp(&["emma", "liam"]);
        let renamed = DataFingerprint::of("other name", ["emma", "liam"]);
        assert!(a.same_docs(&renamed), "the name is not data");
        for other in [
            &["liam", "emma"][..],
            &["emma", "liamx"],
            &["emma"],
            &["emmal", "iam"],
        ] {
            assert!(!a.same_docs(&fp(other)), "{other:?}");
        }
        assert_eq!(fp(&["emma", "liam"]).docs, 2);
        let mut h = Fnv1a64::new();
        h.update(&[b'a', 0xff]);
        assert_eq!(fp(&["a"]).fnv1a64, h.hex());
    }
}
