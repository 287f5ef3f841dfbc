//! `CPython`'s `random.Random`, bit for bit.
//!
//! The reference program is a Python script that seeds the `random` module
//! (`random.seed(42)`), shuffles its documents with `random.shuffle`,
//! initialises every weight with `random.gauss(0, std)` and samples tokens with
//! `random.choices(range(vocab_size), weights=probs)`. Everything it prints —
//! the document order, the losses, the samples — is a function of that stream
//! of random numbers, so reproducing its output means reproducing `CPython`'s
//! generator exactly, not just statistically. This module is a faithful port of
//! `CPython` 3.11:
//!
//! * the Mersenne Twister core (MT19937, `Modules/_randommodule.c`): integer
//!   seeding through `init_by_array`, `genrand_uint32`, `random()`,
//!   `getrandbits(k)` and the `getstate()` layout;
//! * the pure-Python methods of `Lib/random.py` that the reference uses:
//!   `_randbelow` (the `getrandbits` rejection sampler), `shuffle`, `gauss`
//!   (with its stored spare value) and `choices` with weights and `k = 1`.
//!
//! Every floating-point operation is performed in the same order, with the same
//! constants, as `CPython` performs it, so results are identical bit for bit.
//! `gauss` calls `ln`, `sin`, `cos` and `sqrt` from the platform's C math
//! library, exactly as `CPython`'s `math` module does; on a given machine both
//! therefore use the same libm. The integration test
//! `crates/params/tests/pyrandom.rs` checks all of this against a fixture that
//! the installed `CPython` generates (`scripts/cpython_random_fixture.py`).

use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Number of 32-bit words in the Mersenne Twister state.
const N: usize = 624;
/// The MT19937 middle word offset.
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// `random.TWOPI` is defined as `2.0 * _pi`; doubling is exact, so this equals
/// `std::f64::consts::TAU`, but spelling it as `CPython` does keeps that obvious.
const TWOPI: f64 = 2.0 * PI;

/// A bit-exact re-implementation of `CPython` 3.11's `random.Random`.
///
/// Two generators created with the same seed — one here, one in `CPython` —
/// produce the same values from the same sequence of method calls.
#[derive(Clone, Debug, PartialEq)]
pub struct PyRandom {
    /// The 624-word Mersenne Twister state (`self->state` in `CPython`).
    mt: [u32; N],
    /// Position of the next word to temper; `N` means "regenerate first".
    index: usize,
    /// The second normal deviate of the last Box–Muller pair, which `gauss`
    /// returns on its next call (`self.gauss_next` in `random.py`).
    gauss_next: Option<f64>,
}

/// The complete state of a [`PyRandom`], laid out like `CPython`'s
/// `random.getstate()`.
///
/// `CPython` returns `(3, (*key, index), gauss_next)`: version 3, a tuple of the
/// 624 state words followed by the position index, and the stored `gauss`
/// spare (or `None`). The fields here are those three parts, minus the version
/// number, which is always 3.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PyRandomState {
    /// The 624 Mersenne Twister state words (the first 624 items of
    /// `CPython`'s internal state tuple). A `Vec` because serde's array support
    /// stops at 32 elements.
    pub key: Vec<u32>,
    /// The position index, `0..=624` (the 625th item of `CPython`'s internal
    /// state tuple); 624 means the next draw regenerates the whole block.
    pub index: usize,
    /// The stored spare of `gauss`, `None` when there is none.
    pub gauss_next: Option<f64>,
}

/// Why [`PyRandom::choices_index`] refused its weights.
///
/// The messages of the two total-related variants are `CPython`'s `ValueError`
/// messages, word for word.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ChoicesError {
    /// No weights at all. `CPython` raises `IndexError` here (it reads
    /// `cum_weights[-1]` of an empty list).
    #[error("weights must not be empty")]
    Empty,
    /// The weights sum to zero or less (including negative infinity).
    #[error("Total of weights must be greater than zero")]
    NonPositiveTotal {
        /// The offending total.
        total: f64,
    },
    /// The weights sum to infinity or NaN.
    #[error("Total of weights must be finite")]
    NonFiniteTotal {
        /// The offending total.
        total: f64,
    },
}

/// Why [`PyRandom::from_state`] refused a state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The key does not have exactly 624 words.
    #[error("state key has {len} words, expected 624")]
    WrongKeyLength {
        /// The length that was given.
        len: usize,
    },
    /// The position index is above 624.
    #[error("state index {index} is out of range 0..=624")]
    IndexOutOfRange {
        /// The index that was given.
        index: usize,
    },
}

impl PyRandom {
    /// Creates a generator seeded like `random.Random(seed)` (equivalently,
    /// `random.seed(seed)`) for a non-negative integer seed.
    ///
    /// `CPython` splits the integer into 32-bit words, least significant first,
    /// using as few words as hold it (at least one, so 0 gives `[0]`), and
    /// feeds them to MT19937's `init_by_array`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        // Truncation is the point: the low and high 32-bit words of the seed.
        let low = seed as u32;
        let high = (seed >> 32) as u32;
        let mut rng = Self {
            mt: [0; N],
            index: N,
            gauss_next: None,
        };
        if high == 0 {
            rng.init_by_array(&[low]);
        } else {
            rng.init_by_array(&[low, high]);
        }
        rng
    }

    /// MT19937's `init_genrand`: fills the state from a single 32-bit value.
    fn init_genrand(&mut self, s: u32) {
        self.mt[0] = s;
        for i in 1..N {
            let prev = self.mt[i - 1];
            // `i < 624`, so the cast is lossless.
            self.mt[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        self.index = N;
    }

    /// MT19937's `init_by_array`, as in `CPython` (which uses unsigned loop
    /// counters, a detail that changes nothing for non-empty keys).
    fn init_by_array(&mut self, key: &[u32]) {
        debug_assert!(!key.is_empty(), "CPython always passes at least one word");
        self.init_genrand(19_650_218);
        let mt = &mut self.mt;
        let mut i = 1usize;
        let mut j = 0usize;
        for _ in 0..N.max(key.len()) {
            let prev = mt[i - 1];
            // `j` indexes the key; CPython adds it as a `uint32_t`, so the
            // truncating cast is the intended behaviour.
            mt[i] = (mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = mt[i - 1];
            // `i < 624`, so the cast is lossless.
            mt[i] =
                (mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        // MSB is 1, assuring a non-zero initial array.
        mt[0] = UPPER_MASK;
    }

    /// Regenerates the whole block of 624 words (the first half of
    /// `CPython`'s `genrand_uint32`).
    fn twist(&mut self) {
        let mt = &mut self.mt;
        let mag01 = |y: u32| if y & 1 == 0 { 0 } else { MATRIX_A };
        for kk in 0..N - M {
            let y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
            mt[kk] = mt[kk + M] ^ (y >> 1) ^ mag01(y);
        }
        for kk in N - M..N - 1 {
            let y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
            mt[kk] = mt[kk + M - N] ^ (y >> 1) ^ mag01(y);
        }
        let y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
        mt[N - 1] = mt[M - 1] ^ (y >> 1) ^ mag01(y);
        self.index = 0;
    }

    /// The next 32-bit output, `CPython`'s `genrand_uint32` (also what
    /// `getrandbits(32)` returns).
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        // The standard MT19937 tempering.
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// A float in `[0, 1)` with 53 random bits, `CPython`'s `random()`.
    ///
    /// It takes 27 bits from one word and 26 from the next, and combines them
    /// with the exact expression `CPython` uses:
    /// `(a*67108864.0+b)*(1.0/9007199254740992.0)`.
    pub fn random(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A uniformly random integer with `k` bits, `CPython`'s `getrandbits(k)`,
    /// for `k` in `0..=64`.
    ///
    /// For `k <= 32` `CPython` keeps the top `k` bits of one word. For larger
    /// `k` it fills 32-bit words from least to most significant and keeps only
    /// the top bits of the last word it draws. `k = 0` returns 0 without
    /// drawing, as `CPython` 3.9 and later do.
    ///
    /// # Panics
    ///
    /// If `k > 64`, which the `u64` result cannot hold.
    pub fn getrandbits(&mut self, k: u32) -> u64 {
        assert!(k <= 64, "getrandbits({k}) does not fit in a u64");
        match k {
            0 => 0,
            1..=32 => u64::from(self.next_u32() >> (32 - k)),
            _ => {
                let low = u64::from(self.next_u32());
                let high = u64::from(self.next_u32() >> (64 - k));
                low | (high << 32)
            }
        }
    }

    /// A uniformly random integer in `0..n`, `CPython`'s
    /// `_randbelow_with_getrandbits(n)` (what `randrange(n)` calls).
    ///
    /// It draws `n.bit_length()` bits and rejects results `>= n`.
    ///
    /// # Panics
    ///
    /// If `n == 0` (`CPython` would loop forever; `randrange(0)` raises).
    pub fn randbelow(&mut self, n: u64) -> u64 {
        assert!(n > 0, "randbelow(0): empty range");
        let k = u64::BITS - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }

    /// Shuffles `x` in place, `CPython`'s `shuffle(x)`: a Fisher–Yates shuffle
    /// from the last element down, drawing each swap partner with
    /// [`randbelow`](Self::randbelow).
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            // `usize` is at most 64 bits on every supported target, so both
            // casts are lossless (and the result is `<= i`).
            let j = self.randbelow(i as u64 + 1) as usize;
            x.swap(i, j);
        }
    }

    /// A normal deviate with mean `mu` and standard deviation `sigma`,
    /// `CPython`'s `gauss(mu, sigma)`.
    ///
    /// Box–Muller produces two deviates from two `random()` draws; the second
    /// is stored and returned (scaled by that later call's `sigma`) by the next
    /// call. The result is `mu + z * sigma`, so with `mu = 0.0` and
    /// `sigma = 0.0` it is `+0.0` even when `z` is negative (`0.0 + -0.0` is
    /// `+0.0`), just as `CPython`'s `gauss(0, 0.0)` is.
    pub fn gauss(&mut self, mu: f64, sigma: f64) -> f64 {
        let z = match self.gauss_next.take() {
            Some(z) => z,
            None => {
                let x2pi = self.random() * TWOPI;
                let g2rad = (-2.0 * (1.0 - self.random()).ln()).sqrt();
                self.gauss_next = Some(x2pi.sin() * g2rad);
                x2pi.cos() * g2rad
            }
        };
        mu + z * sigma
    }

    /// The index that `choices(range(len(weights)), weights=weights)[0]`
    /// returns in `CPython`, without allocating.
    ///
    /// `CPython` accumulates the weights left to right into `cum_weights`, takes
    /// `total = cum_weights[-1] + 0.0`, draws `x = random() * total` and
    /// returns `bisect_right(cum_weights, x, 0, n - 1)`. Here the total is
    /// summed in a first pass and the binary search recomputes the partial
    /// sums it probes from the same left-to-right accumulation, so it sees the
    /// very same values (and, like `bisect_right`, gives `CPython`'s answer even
    /// for negative weights, whose partial sums are not monotonic).
    ///
    /// # Errors
    ///
    /// As `CPython`, before drawing anything: [`ChoicesError::Empty`] for no
    /// weights, [`ChoicesError::NonPositiveTotal`] when the total is `<= 0`,
    /// then [`ChoicesError::NonFiniteTotal`] when it is infinite or NaN.
    pub fn choices_index(&mut self, weights: &[f64]) -> Result<usize, ChoicesError> {
        if weights.is_empty() {
            return Err(ChoicesError::Empty);
        }
        let total = accumulate(weights) + 0.0;
        // CPython tests `total <= 0.0` first, so NaN falls through to the
        // finiteness check and -inf is reported as non-positive.
        if total <= 0.0 {
            return Err(ChoicesError::NonPositiveTotal { total });
        }
        if !total.is_finite() {
            return Err(ChoicesError::NonFiniteTotal { total });
        }
        let x = self.random() * total;
        Ok(bisect_right_cumulative(weights, x))
    }

    /// The complete state, as `CPython`'s `getstate()` holds it.
    #[must_use]
    pub fn state(&self) -> PyRandomState {
        PyRandomState {
            key: self.mt.to_vec(),
            index: self.index,
            gauss_next: self.gauss_next,
        }
    }

    /// Restores a generator from a state, as `CPython`'s `setstate()` does.
    ///
    /// # Errors
    ///
    /// [`StateError::WrongKeyLength`] unless the key has 624 words, and
    /// [`StateError::IndexOutOfRange`] if the index exceeds 624 (`CPython`
    /// raises `ValueError` for both). Like `CPython`, any 624 words are
    /// accepted, even all zeros.
    pub fn from_state(state: PyRandomState) -> Result<Self, StateError> {
        let PyRandomState {
            key,
            index,
            gauss_next,
        } = state;
        let mt: [u32; N] = key
            .try_into()
            .map_err(|key: Vec<u32>| StateError::WrongKeyLength { len: key.len() })?;
        if index > N {
            return Err(StateError::IndexOutOfRange { index });
        }
        Ok(Self {
            mt,
            index,
            gauss_next,
        })
    }
}

/// The last value of `itertools.accumulate(weights)`: the left-to-right sum.
///
/// `accumulate` starts from `weights[0]` itself, not from `0.0 + weights[0]`.
/// Starting from `-0.0` reproduces that exactly, because `-0.0 + w == w` bit
/// for bit for every `w`, signed zeros included (whereas `0.0 + -0.0` is
/// `+0.0`).
fn accumulate(weights: &[f64]) -> f64 {
    weights.iter().fold(-0.0, |acc, &w| acc + w)
}

/// `bisect_right(cum, x, 0, len - 1)` where `cum` is `accumulate(weights)`,
/// computed without materialising `cum`.
///
/// The search keeps the partial sum just before `lo`; probing `mid` sums the
/// weights from `lo` to `mid` onto it, which is the same sequence of additions
/// `accumulate` performs, so every probed value is identical to `CPython`'s.
/// When the search moves right, the probed sum becomes the new prefix; when it
/// moves left, the range halves. The work is therefore at most `len` additions.
fn bisect_right_cumulative(weights: &[f64], x: f64) -> usize {
    let mut lo = 0;
    let mut hi = weights.len() - 1;
    // Sum of weights[..lo]; see `accumulate` for why the empty sum is -0.0.
    let mut before_lo = -0.0;
    while lo < hi {
        // CPython's `(lo + hi) // 2`, written so that it cannot overflow.
        let mid = lo + (hi - lo) / 2;
        let cum_mid = weights[lo..=mid].iter().fold(before_lo, |acc, &w| acc + w);
        if x < cum_mid {
            hi = mid;
        } else {
            lo = mid + 1;
            before_lo = cum_mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Straightforward `bisect_right` over materialised cumulative weights,
    /// as `random.py` and `bisect.py` write it.
    fn naive_choice(weights: &[f64], x: f64) -> usize {
        let mut cum = Vec::with_capacity(weights.len());
        let mut acc = None;
        for &w in weights {
            let next = match acc {
                None => w,
                Some(a) => a + w,
            };
            cum.push(next);
            acc = Some(next);
        }
        let (mut lo, mut hi) = (0, cum.len() - 1);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if x < cum[mid] {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    }

    #[test]
    fn init_genrand_matches_the_mt19937_reference_output() {
        // mt19937ar.c's `init_genrand(5489)` produces 3499211612 first.
        let mut rng = PyRandom::new(0);
        rng.init_genrand(5489);
        assert_eq!(rng.next_u32(), 3_499_211_612);
    }

    #[test]
    fn init_by_array_matches_the_mt19937_reference_output() {
        // mt19937ar.out: init_by_array({0x123, 0x234, 0x345, 0x456}).
        let mut rng = PyRandom::new(0);
        rng.init_by_array(&[0x123, 0x234, 0x345, 0x456]);
        let first: Vec<u32> = (0..5).map(|_| rng.next_u32()).collect();
        assert_eq!(
            first,
            [
                1_067_595_299,
                955_945_823,
                477_289_528,
                4_107_218_783,
                4_228_976_476
            ]
        );
    }

    #[test]
    fn zero_plus_negative_zero_is_positive_zero() {
        // `gauss(0, 0.0)` relies on this: CPython returns 0 + z*0.0 == +0.0.
        let z = -1.234_f64;
        let r: f64 = 0.0 + z * 0.0;
        assert_eq!(r.to_bits(), 0.0_f64.to_bits());
        let mut rng = PyRandom::new(42);
        for _ in 0..1000 {
            assert_eq!(rng.gauss(0.0, 0.0).to_bits(), 0);
        }
    }

    #[test]
    fn from_state_rejects_a_short_or_long_key() {
        let mut state = PyRandom::new(1).state();
        state.key.pop();
        assert_eq!(
            PyRandom::from_state(state.clone()),
            Err(StateError::WrongKeyLength { len: 623 })
        );
        state.key.extend([7, 8]);
        assert_eq!(
            PyRandom::from_state(state),
            Err(StateError::WrongKeyLength { len: 625 })
        );
        let empty = PyRandomState {
            key: Vec::new(),
            index: 0,
            gauss_next: None,
        };
        assert_eq!(
            PyRandom::from_state(empty),
            Err(StateError::WrongKeyLength { len: 0 })
        );
    }

    #[test]
    fn from_state_rejects_an_index_above_624() {
        let mut state = PyRandom::new(1).state();
        state.index = 625;
        assert_eq!(
            PyRandom::from_state(state.clone()),
            Err(StateError::IndexOutOfRange { index: 625 })
        );
        state.index = usize::MAX;
        assert!(PyRandom::from_state(state.clone()).is_err());
        // 624 (fresh) and 0 (just twisted) are both valid.
        for index in [0, 624] {
            state.index = index;
            assert!(PyRandom::from_state(state.clone()).is_ok());
        }
    }

    #[test]
    fn state_round_trips_and_continues_identically() {
        let mut rng = PyRandom::new(12345);
        for _ in 0..1001 {
            rng.next_u32();
        }
        rng.gauss(0.0, 1.0); // leaves a spare behind
        let state = rng.state();
        assert_eq!(state.key.len(), 624);
        assert!(state.gauss_next.is_some());
        let json = serde_json::to_string(&state).unwrap();
        let back: PyRandomState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, state);
        let mut restored = PyRandom::from_state(back).unwrap();
        assert_eq!(restored, rng);
        for _ in 0..2000 {
            assert_eq!(restored.gauss(0.0, 0.02), rng.gauss(0.0, 0.02));
            assert_eq!(restored.next_u32(), rng.next_u32());
        }
    }

    #[test]
    fn choices_rejects_bad_weights_without_drawing() {
        use ChoicesError::{Empty, NonFiniteTotal, NonPositiveTotal};
        type Check = fn(&ChoicesError) -> bool;
        let cases: [(&[f64], Check); 9] = [
            (&[], |e| *e == Empty),
            (&[0.0], |e| *e == NonPositiveTotal { total: 0.0 }),
            (&[0.0, -0.0, 0.0], |e| *e == NonPositiveTotal { total: 0.0 }),
            (&[1.0, -2.0], |e| *e == NonPositiveTotal { total: -1.0 }),
            // CPython checks `total <= 0.0` first, so -inf is "not positive".
            (&[f64::NEG_INFINITY, 1.0], |e| {
                *e == NonPositiveTotal {
                    total: f64::NEG_INFINITY,
                }
            }),
            (&[1.0, f64::INFINITY], |e| {
                *e == NonFiniteTotal {
                    total: f64::INFINITY,
                }
            }),
            // Finite weights whose sum overflows.
            (&[1e308, 1e308], |e| {
                *e == NonFiniteTotal {
                    total: f64::INFINITY,
                }
            }),
            // NaN is not `<= 0.0`, so it is reported as not finite.
            (
                &[f64::NAN],
                |e| matches!(e, NonFiniteTotal { total } if total.is_nan()),
            ),
            (
                &[f64::INFINITY, f64::NEG_INFINITY],
                |e| matches!(e, NonFiniteTotal { total } if total.is_nan()),
            ),
        ];
        let mut rng = PyRandom::new(42);
        let before = rng.clone();
        for (weights, check) in cases {
            let err = rng.choices_index(weights).unwrap_err();
            assert!(check(&err), "weights {weights:?} gave {err:?}");
            assert_eq!(rng, before, "an error must not consume randomness");
        }
        assert_eq!(
            NonPositiveTotal { total: 0.0 }.to_string(),
            "Total of weights must be greater than zero"
        );
        assert_eq!(
            NonFiniteTotal { total: f64::NAN }.to_string(),
            "Total of weights must be finite"
        );
    }

    #[test]
    fn choices_with_one_weight_always_picks_it_but_still_draws() {
        let mut rng = PyRandom::new(3);
        let mut twin = rng.clone();
        assert_eq!(rng.choices_index(&[0.25]), Ok(0));
        twin.random();
        assert_eq!(rng, twin);
    }

    #[test]
    fn lazy_bisect_matches_materialised_bisect() {
        let mut rng = PyRandom::new(7);
        let weight_sets: [&[f64]; 6] = [
            &[1.0, -0.9, 5.0],
            &[0.1, 0.2, 0.3, 0.4],
            &[0.0, 0.0, 1.0, 0.0, 2.0, 0.0],
            &[3.0, -1.0, 0.5, -2.0, 4.0, 1e-9, -0.5, 2.0],
            &[-0.0, 1.0],
            &[5e-324, 5e-324, 5e-324],
        ];
        for weights in weight_sets {
            let total = accumulate(weights) + 0.0;
            for _ in 0..500 {
                let x = rng.random() * total;
                assert_eq!(
                    bisect_right_cumulative(weights, x),
                    naive_choice(weights, x),
                    "weights {weights:?}, x {x}"
                );
            }
            // The probes at the exact partial sums are where off-by-ones hide.
            let mut acc = -0.0;
            for &w in weights {
                acc += w;
                for x in [acc, f64::from_bits(acc.to_bits().wrapping_sub(1))] {
                    assert_eq!(
                        bisect_right_cumulative(weights, x),
                        naive_choice(weights, x)
                    );
                }
            }
        }
    }

    proptest::proptest! {
        /// Arbitrary weights, negative ones included (non-monotonic partial
        /// sums), and arbitrary probe points, not only `random() * total`.
        #[test]
        fn lazy_bisect_matches_materialised_bisect_everywhere(
            weights in proptest::collection::vec(-10.0f64..10.0, 1..40),
            x in -50.0f64..50.0,
        ) {
            proptest::prop_assert_eq!(
                bisect_right_cumulative(&weights, x),
                naive_choice(&weights, x)
            );
        }
    }

    #[test]
    fn getrandbits_zero_draws_nothing() {
        let mut rng = PyRandom::new(5);
        let before = rng.clone();
        assert_eq!(rng.getrandbits(0), 0);
        assert_eq!(rng, before);
    }

    #[test]
    #[should_panic(expected = "does not fit")]
    fn getrandbits_above_64_panics() {
        PyRandom::new(5).getrandbits(65);
    }

    #[test]
    #[should_panic(expected = "empty range")]
    fn randbelow_zero_panics() {
        PyRandom::new(5).randbelow(0);
    }

    #[test]
    fn randbelow_one_is_always_zero() {
        let mut rng = PyRandom::new(9);
        for _ in 0..100 {
            assert_eq!(rng.randbelow(1), 0);
        }
    }

    #[test]
    fn shuffle_of_short_slices() {
        let mut rng = PyRandom::new(11);
        let before = rng.clone();
        let mut empty: [u8; 0] = [];
        rng.shuffle(&mut empty);
        let mut one = [1];
        rng.shuffle(&mut one);
        assert_eq!(rng, before, "shuffling 0 or 1 items draws nothing");
        let mut v: Vec<u32> = (0..50).collect();
        rng.shuffle(&mut v);
        v.sort_unstable();
        assert!(v.iter().copied().eq(0..50));
    }
}
