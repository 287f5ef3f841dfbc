//! The element type of a graph: `f64` (the default, the reference's) or `f32`.
//!
//! [`Float`] holds what the ops need of a number and nothing more: the four
//! operations, the C library's `exp`, `ln`, `sqrt` and
//! `pow`, a vectorised `exp` for the fast mode, and conversions from and to `f64`,
//! the type of every setting (a learning rate, an attention scale). For `f64`
//! every method is the inherent one, so a graph of `f64` computes the very bits it
//! computed before it was generic.

use std::fmt::{Debug, Display};
use std::hint::black_box;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// A floating-point type the graph can hold: implemented for `f64` and `f32`
/// (and sealed: the kernels have what each needs, see `Kernels`).
pub trait Float:
    sealed::Kernels
    + Copy
    + Default
    + Debug
    + Display
    + PartialEq
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// The smallest positive normal number.
    const MIN_POSITIVE: Self;
    /// Its name: `f64` or `f32`.
    const NAME: &'static str;
    /// The fast arithmetic's floor for attention's softmax numerators
    /// `exp(logit - max)`: a smaller one becomes 0. 2^-64 for `f32`, none (0) for
    /// `f64`. See `fused/attention.rs`.
    const SOFTMAX_FLOOR: Self;

    /// `x` rounded to the nearest `Self` (exact for `f64`).
    fn from_f64(x: f64) -> Self;
    /// `self` as an `f64` (always exact).
    fn to_f64(self) -> f64;
    /// `e ** self`, the C library's.
    fn exp(self) -> Self;
    /// `e ** self`, vectorisable, as the fast mode computes it: `exp.rs` for
    /// `f64`, `exp32.rs` for `f32`, each with its error bound.
    fn exp_fast(self) -> Self;
    /// The natural logarithm.
    fn ln(self) -> Self;
    /// The square root, correctly rounded.
    fn sqrt(self) -> Self;
    /// `self ** y`, the C library's `pow`. The exponent goes through
    /// [`black_box`] so that LLVM cannot rewrite `pow(x, 2.0)` as `x * x`, which
    /// changes the last bit (see [`py_pow`](crate::py_pow)).
    fn powf(self, y: Self) -> Self;
    /// Whether it is neither infinite nor NaN.
    fn is_finite(self) -> bool;
}

impl Float for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const MIN_POSITIVE: Self = f64::MIN_POSITIVE;
    const NAME: &'static str = "f64";
    const SOFTMAX_FLOOR: Self = 0.0;

    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn exp(self) -> Self {
        f64::exp(self)
    }
    #[inline(always)]
    fn exp_fast(self) -> Self {
        crate::exp::exp(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        f64::ln(self)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn powf(self, y: Self) -> Self {
        f64::powf(self, black_box(y))
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
}

impl Float for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const MIN_POSITIVE: Self = f32::MIN_POSITIVE;
    const NAME: &'static str = "f32";
    // 2^-64: a biased exponent of 63 and no fraction.
    const SOFTMAX_FLOOR: Self = f32::from_bits(63 << 23);

    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn exp(self) -> Self {
        f32::exp(self)
    }
    #[inline(always)]
    fn exp_fast(self) -> Self {
        crate::exp32::exp(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        f32::ln(self)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn powf(self, y: Self) -> Self {
        f32::powf(self, black_box(y))
    }
    #[inline(always)]
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
}

mod sealed {
    /// What the kernels do differently per type: the SIMD path's own tile
    /// transposes (`simd.rs`), one set for `f64` and one for `f32`.
    pub trait Kernels: Sized {
        /// The tile transposes of the SIMD path for this type, if it has them.
        fn transpose_tiles(w: &[Self], rows: usize, t: &mut [Self], stride: usize)
        -> Option<usize>;
    }

    impl Kernels for f64 {
        #[inline]
        fn transpose_tiles(
            w: &[Self],
            rows: usize,
            t: &mut [Self],
            stride: usize,
        ) -> Option<usize> {
            crate::simd::transpose_tiles(w, rows, t, stride)
        }
    }

    impl Kernels for f32 {
        #[inline]
        fn transpose_tiles(
            w: &[Self],
            rows: usize,
            t: &mut [Self],
            stride: usize,
        ) -> Option<usize> {
            crate::simd::transpose_tiles_f32(w, rows, t, stride)
        }
    }
}
