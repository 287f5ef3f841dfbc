//! 64-bit FNV-1a: the hash of a dataset's documents and of a checkpoint's text.
//!
//! Each byte is xored in, then the state multiplied by an odd prime: both steps
//! are bijections of the 64-bit state, so inputs that differ in one byte always
//! hash apart. It catches accidents (a flipped bit, an edited digit, another
//! file); it is no defence against a collision made on purpose.

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// A running FNV-1a 64 hash.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fnv1a64(u64);

impl Fnv1a64 {
    pub(crate) fn new() -> Self {
        Fnv1a64(OFFSET)
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(PRIME);
        }
    }

    /// The hash as 16 lowercase hex digits.
    pub(crate) fn hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_values() {
        assert_eq!(Fnv1a64::new().hex(), "cbf29ce484222325");
        let mut h = Fnv1a64::new();
        h.update(b"a");
        assert_eq!(
            h.hex(),
            "af63dc4c8601ec8c",
            "the published FNV-1a 64 of \"a\""
        );
    }
}
