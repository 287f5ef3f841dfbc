//! How a fused op rounds: exactly as the reference Python program, or faster.
//!
//! The reference computes every power with the C library's `pow`, even `x ** 2`,
//! `x ** 0.5` and `x ** -1`. glibc's `pow` is not correctly rounded: on random inputs
//! it disagrees with `x * x`, `sqrt(x)` and `1.0 / x` about once in 1,200 calls (the
//! measurement is in the README). Reproducing the reference digit for digit therefore
//! means calling `pow` itself, which costs tens of nanoseconds a call.

use std::hint::black_box;

/// The arithmetic a fused op uses where the reference calls `pow`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Arith {
    /// `pow` and `exp` from the C library wherever the reference calls them, and
    /// every multiply-add rounded twice: the digits of the reference, at the price
    /// of a library call per power.
    Exact,
    /// `x * x`, `sqrt`, `1.0 / x` instead of `pow`, a vectorised `exp`, and fused
    /// multiply-adds in the matrix products: the same maths, several times faster,
    /// the same bits on every CPU, and different from the reference in the last bits.
    #[default]
    Fast,
}

/// `x ** y` as CPython computes it for two floats: the C library's `pow`.
///
/// The exponent goes through [`black_box`] so that LLVM cannot see a constant and
/// rewrite `pow(x, 2.0)` as `x * x` or `pow(x, -1.0)` as `1.0 / x`, rewrites it makes
/// even without fast-math and which change the last bit.
#[inline]
pub fn py_pow(x: f64, y: f64) -> f64 {
    x.powf(black_box(y))
}

/// The largest of `values`, found as Python's `max` finds it: the first value,
/// replaced by each later one that is greater (so a NaN first stays, and a NaN
/// later is passed over).
///
/// # Panics
/// If `values` is empty.
#[inline]
pub fn py_max(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values = values.into_iter();
    let first = values.next().expect("max of no values");
    values.fold(first, |m, v| if v > m { v } else { m })
}

impl Arith {
    /// `x ** 2`.
    #[inline]
    pub fn square(self, x: f64) -> f64 {
        match self {
            Arith::Exact => py_pow(x, 2.0),
            Arith::Fast => x * x,
        }
    }

    /// `x ** -1`.
    #[inline]
    pub fn recip(self, x: f64) -> f64 {
        match self {
            Arith::Exact => py_pow(x, -1.0),
            Arith::Fast => 1.0 / x,
        }
    }

    /// `x ** -2`.
    #[inline]
    pub fn recip_square(self, x: f64) -> f64 {
        match self {
            Arith::Exact => py_pow(x, -2.0),
            Arith::Fast => {
                let r = 1.0 / x;
                r * r
            }
        }
    }

    /// `x ** 0.5`.
    #[inline]
    pub fn sqrt(self, x: f64) -> f64 {
        match self {
            Arith::Exact => py_pow(x, 0.5),
            Arith::Fast => x.sqrt(),
        }
    }

    /// `x ** -0.5`.
    #[inline]
    pub fn rsqrt(self, x: f64) -> f64 {
        match self {
            Arith::Exact => py_pow(x, -0.5),
            Arith::Fast => 1.0 / x.sqrt(),
        }
    }

    /// `e ** x` for every value of `xs`, in place: the C library's `exp` (the
    /// reference's) when exact, a vectorised one within an ulp of it when fast.
    #[inline]
    pub fn exp_in_place(self, xs: &mut [f64]) {
        match self {
            Arith::Exact => xs.iter_mut().for_each(|x| *x = x.exp()),
            Arith::Fast => xs.iter_mut().for_each(|x| *x = crate::exp::exp(*x)),
        }
    }

    /// `x ** -1.5`.
    #[inline]
    pub fn rsqrt_cubed(self, x: f64) -> f64 {
        match self {
            Arith::Exact => py_pow(x, -1.5),
            Arith::Fast => {
                let r = 1.0 / x.sqrt();
                r * r * r
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_fast_agree_to_rounding() {
        for &x in &[0.3, 1.7, 12.5, 1e-5, 3.0e7] {
            for (a, b) in [
                (Arith::Exact.square(x), Arith::Fast.square(x)),
                (Arith::Exact.recip(x), Arith::Fast.recip(x)),
                (Arith::Exact.recip_square(x), Arith::Fast.recip_square(x)),
                (Arith::Exact.sqrt(x), Arith::Fast.sqrt(x)),
                (Arith::Exact.rsqrt(x), Arith::Fast.rsqrt(x)),
                (Arith::Exact.rsqrt_cubed(x), Arith::Fast.rsqrt_cubed(x)),
            ] {
                assert!(
                    (a - b).abs() <= 4.0 * f64::EPSILON * a.abs(),
                    "{x}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn py_pow_is_the_library_pow() {
        // 1.1 ** 2 in CPython is 1.2100000000000002, as is 1.1 * 1.1; both go
        // through here and must agree with the value CPython prints.
        assert_eq!(py_pow(1.1, 2.0), 1.2100000000000002);
        assert_eq!(py_pow(2.0, -1.0), 0.5);
        assert_eq!(py_pow(4.0, 0.5), 2.0);
    }
}
