//! A dataset's fingerprint: which documents a run trained on, so that a resumed run
//! can tell the same data from other data.

use std::fmt;

use serde::{Deserialize, Serialize};

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

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl DataFingerprint {
    /// The fingerprint of the documents `docs`, read from `name`.
    pub fn of<S: AsRef<str>>(name: &str, docs: &[S]) -> Self {
        let mut h = FNV_OFFSET;
        for doc in docs {
            for &b in doc.as_ref().as_bytes().iter().chain(&[0xff]) {
                h ^= u64::from(b);
                h = h.wrapping_mul(FNV_PRIME);
            }
        }
        DataFingerprint {
            name: name.into(),
            docs: docs.len(),
            fnv1a64: format!("{h:016x}"),
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
        DataFingerprint::of("t", docs)
    }

    #[test]
    fn same_documents_same_fingerprint_any_change_another() {
        let a = fp(&["emma", "liam"]);
        assert!(a.same_docs(&DataFingerprint::of("other name", &["emma", "liam"])));
        for other in [
            &["liam", "emma"][..],
            &["emma", "liamx"],
            &["emma"],
            &["emmal", "iam"],
        ] {
            assert!(!a.same_docs(&fp(other)), "{other:?}");
        }
        // FNV-1a of the empty input is its offset basis; of "a" a known constant.
        let mut h = FNV_OFFSET;
        for b in [b'a', 0xff] {
            h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
        assert_eq!(fp(&["a"]).fnv1a64, format!("{h:016x}"));
        assert_eq!(
            (FNV_OFFSET ^ u64::from(b'a')).wrapping_mul(FNV_PRIME),
            0xaf63_dc4c_8601_ec8c,
            "the published FNV-1a 64 of \"a\""
        );
    }
}
