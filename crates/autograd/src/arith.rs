//! How a fused op rounds: exactly as the reference Python program, or faster.
//!
//! The reference computes every power with the C library's `pow`, even `x ** 2`,
//! `x ** 0.5` and `x ** -1`. glibc's `pow` is not correctly rounded: on random inputs
//! it disagrees with `x * x`, `sqrt(x)` and `1.0 / x` in the last bit about once in
//! 1,100 calls (CPython 3.11 on glibc: 525 of 600,000 squares, square roots and
//! reciprocals of uniform numbers in [0.001, 1000]), and those bits add up over a
//! run. Reproducing the reference digit for digit
//! therefore means calling `pow` itself, which costs tens of nanoseconds a call.
//! Set once on a graph ([`Graph::with_arith`](crate::Graph::with_arith)), the
//! choice holds for every fused op recorded on it.

use std::hint::black_box;

use crate::float::Float;

/// The arithmetic a fused op uses where the reference calls `pow`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Arith {
    /// `pow` and `exp` from the C library wherever the reference calls them, and
    /// every multiply-add rounded twice: the digits of the reference, at the price
    /// of a library call per power.
    Exact,
    /// `x * x`, `sqrt`, `1.0 / x` instead of `pow`, and a vectorised `exp`: the
    /// same maths, several times faster, the same bits on every CPU and every SIMD
    /// path, and different from the reference in the last bits.
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
pub fn py_max<F: Float>(values: impl IntoIterator<Item = F>) -> F {
    let mut values = values.into_iter();
    let first = values.next().expect("max of no values");
    values.fold(first, |m, v| if v > m { v } else { m })
}

impl Arith {
    /// `x ** 2`.
    #[inline]
    pub fn square<F: Float>(self, x: F) -> F {
        match self {
            Arith::Exact => x.powf(F::from_f64(2.0)),
            Arith::Fast => x * x,
        }
    }

    /// `x ** -1`.
    #[inline]
    pub fn recip<F: Float>(self, x: F) -> F {
        match self {
            Arith::Exact => x.powf(F::from_f64(-1.0)),
            Arith::Fast => F::ONE / x,
        }
    }

    /// `x ** -2`.
    #[inline]
    pub fn recip_square<F: Float>(self, x: F) -> F {
        match self {
            Arith::Exact => x.powf(F::from_f64(-2.0)),
            Arith::Fast => {
                let r = F::ONE / x;
                r * r
            }
        }
    }

    /// `x ** 0.5`.
    #[inline]
    pub fn sqrt<F: Float>(self, x: F) -> F {
        match self {
            Arith::Exact => x.powf(F::from_f64(0.5)),
            Arith::Fast => x.sqrt(),
        }
    }

    /// `x ** -0.5`.
    #[inline]
    pub fn rsqrt<F: Float>(self, x: F) -> F {
        match self {
            Arith::Exact => x.powf(F::from_f64(-0.5)),
            Arith::Fast => F::ONE / x.sqrt(),
        }
    }

    /// `e ** x` for every value of `xs`, in place: the C library's `exp` (the
    /// reference's) when exact, a vectorised one within an ulp of it when fast.
    #[inline(always)]
    pub fn exp_in_place<F: Float>(self, xs: &mut [F]) {
        // Plain loops, not `for_each` with a closure: a closure the compiler keeps
        // out of line is compiled without the caller's SIMD instruction set.
        match self {
            Arith::Exact => {
                for x in xs.iter_mut() {
                    *x = x.exp();
                }
            }
            Arith::Fast => {
                for x in xs.iter_mut() {
                    *x = x.exp_fast();
                }
            }
        }
    }

    /// `softmax(logits / temperature)` of plain numbers into `probs`, as the
    /// reference computes it: each logit times `temperature ** -1`, the maximum
    /// subtracted, `exp`, a left-to-right sum, and each exponential times
    /// `total ** -1`; the two powers round as `self` says. For sampling, and for
    /// looking at what a model predicts.
    ///
    /// # Panics
    /// If `logits` is empty or `probs` is shorter than it.
    pub fn softmax(self, logits: &[f64], temperature: f64, probs: &mut [f64]) {
        let probs = &mut probs[..logits.len()];
        let inv_t = self.recip(temperature);
        for (p, &l) in probs.iter_mut().zip(logits) {
            *p = l * inv_t;
        }
        let max = py_max(probs.iter().copied());
        let mut total = 0.0;
        for p in probs.iter_mut() {
            *p = (*p - max).exp();
            total += *p;
        }
        let inv_total = self.recip(total);
        for p in probs.iter_mut() {
            *p *= inv_total;
        }
    }

    /// `x ** -1.5`.
    #[inline]
    pub fn rsqrt_cubed<F: Float>(self, x: F) -> F {
        match self {
            Arith::Exact => x.powf(F::from_f64(-1.5)),
            Arith::Fast => {
                let r = F::ONE / x.sqrt();
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
        for &x in &[0.3f64, 1.7, 12.5, 1e-5, 3.0e7] {
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
