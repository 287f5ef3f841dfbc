//! `e^x` in `f32` as a loop the compiler vectorises, for the softmaxes of an `f32`
//! graph: the same construction as `exp.rs`'s `f64` one, with `f32` constants and
//! a shorter polynomial, so that sixteen values fit one AVX-512 register.
//!
//! Like `exp.rs`'s, it has no fused multiply-add: every multiply-add is rounded
//! twice, so that every SIMD path computes it alike, and it is fast where FMA is
//! missing.
//!
//! Error bound: within 1 unit in the last place of the correctly rounded `e^x` (the
//! `f64` `exp` rounded to `f32`) and of the C library's `expf`, for every normal
//! result; a test checks 4 million points over [-103, 88.7]. It computes the same
//! bits on every CPU, which `expf` does not promise.

use std::f32::consts::LOG2_E;

/// `ln 2` split in two (Cody and Waite's, as in Cephes' `expf`): `LN2_HI` has 9
/// significant bits, so `k * LN2_HI` is exact for every `k` that occurs.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// `1.5 * 2^23`: adding it to a number of magnitude below `2^22` rounds that number
/// to an integer, which lands in the low bits of the sum's representation.
const SHIFTER: f32 = 12_582_912.0;
/// `1/n!` for `n = 0 ..= 7`: the Taylor series of `e^r`, which for
/// `|r| <= ln 2 / 2` is within `6e-9` (a tenth of an ulp) of `e^r` after these terms.
const INV_FACTORIAL: [f32; 8] = [
    1.0,
    1.0,
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
];
/// Below this the result is near the subnormal range, and 2^(k-1) below would
/// leave the normal one: computed as `e^(x + 86) * e^-86`.
const TINY: f32 = -86.0;
/// `e^-86`, correctly rounded.
const E_MINUS_86: f32 = f32::from_bits(0x0173_9362);
/// Above this `e^x` overflows `f32`.
const HUGE: f32 = 88.722_84;

/// `e^x`, within one ulp of the correctly rounded result for normal results
/// (subnormal ones within a step of the subnormal grid); 0 below about -104 and infinity above 88.72.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    let tiny = x < TINY;
    let xs = if tiny { x - TINY } else { x };
    let xc = xs.clamp(TINY, HUGE);
    // x = k ln 2 + r with k = round(x / ln 2), so e^x = 2^k e^r.
    let kf = xc * LOG2_E + SHIFTER;
    let k_bits = kf.to_bits();
    let k = kf - SHIFTER;
    let r = xc - k * LN2_HI;
    let r = r - k * LN2_LO;
    let mut p = INV_FACTORIAL[7];
    for c in INV_FACTORIAL[..7].iter().rev() {
        p = p * r + *c;
    }
    // 2^(k-1) from its exponent bits (k sits in the low bits of `k_bits`), then
    // times 2, an exact step: k reaches 128, whose 2^k no `f32` holds.
    let two_k1 = f32::from_bits((k_bits as i32).wrapping_add(126).wrapping_shl(23) as u32);
    // Selects, not branches, so that a loop over values vectorises.
    let y = p * two_k1 * 2.0 * if tiny { E_MINUS_86 } else { 1.0 };
    let y = if xs < TINY { 0.0 } else { y };
    let y = if x > HUGE { f32::INFINITY } else { y };
    if x.is_nan() { x } else { y }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The distance between `a` and `b` in units of the last place of `b`.
    fn ulps(a: f32, b: f32) -> f64 {
        let ulp = f64::from(f32::from_bits(b.to_bits() + 1) - b);
        (f64::from(a) - f64::from(b)).abs() / ulp
    }

    #[test]
    fn within_one_ulp_of_the_correctly_rounded_result_and_of_expf() {
        let (mut worst_exact, mut worst_libm) = (0.0f64, 0.0f64);
        for k in 0..4_000_000 {
            let x = 88.7 - k as f32 * 0.000_048;
            let exact = f64::from(x).exp() as f32;
            if exact.is_normal() {
                worst_exact = worst_exact.max(ulps(exp(x), exact));
                worst_libm = worst_libm.max(ulps(exp(x), x.exp()));
            }
        }
        assert!(worst_exact <= 1.0, "{worst_exact} ulps from e^x rounded");
        assert!(worst_libm <= 1.0, "{worst_libm} ulps from expf");
    }

    #[test]
    fn edges() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(E_MINUS_86, (-86.0f64).exp() as f32);
        // Subnormal results, within a step of the subnormal grid of e^x.
        let step = f64::from(f32::from_bits(1));
        for x in [-88.0f32, -90.0, -95.0, -100.0, -103.0] {
            let (a, b) = (exp(x), (f64::from(x)).exp());
            assert!(
                a > 0.0 && (f64::from(a) - b).abs() <= step,
                "{x}: {a:e} vs {b:e}"
            );
        }
        assert_eq!(exp(-110.0), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(89.0), f32::INFINITY);
        assert!(exp(88.72).is_finite());
        assert!(exp(f32::NAN).is_nan());
        assert!((exp(1.0) - std::f32::consts::E).abs() <= f32::EPSILON * 3.0);
    }
}
