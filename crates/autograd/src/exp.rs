//! `e^x` as a loop the compiler vectorises, for the softmaxes of the fast mode.
//!
//! The C library's `exp` is a call per value and cannot be vectorised; the
//! softmaxes of one training step make about 300 of them. This one is a handful of
//! multiply-adds per value (each rounded twice: no fused multiply-add, so that
//! every SIMD path computes it alike, and fast where FMA is missing), within one
//! unit in the last place of the
//! library's result (a test checks 4 million points), and it computes the same bits
//! on every CPU, which the C library does not promise. The exact mode keeps the
//! library's `exp`, the one the reference program calls.

use std::f64::consts::LOG2_E;

/// `ln 2` split in two so that `k * LN2_HI` is exact for the `k` that occur
/// (fdlibm's split, given by its bits).
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
/// `1.5 * 2^52`: adding it to a number of magnitude below `2^51` rounds that number
/// to an integer, which lands in the low bits of the sum's representation.
const SHIFTER: f64 = 6_755_399_441_055_744.0;
/// `1/n!` for `n = 0 ..= 13`: the Taylor series of `e^r`, which for
/// `|r| <= ln 2 / 2` is within `1e-17` of `e^r` after these terms.
const INV_FACTORIAL: [f64; 14] = [
    1.0,
    1.0,
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// `e^x`, within one ulp of the C library's, subnormal results included; 0 below
/// about -745 and infinity above 709.
#[inline(always)]
pub(crate) fn exp(x: f64) -> f64 {
    // Below -708 the result is subnormal, and 2^k would be too: compute
    // e^(x + 708) * e^-708 instead, both factors normal.
    let tiny = x < -708.0;
    let xs = if tiny { x + 708.0 } else { x };
    let xc = xs.clamp(-708.0, 709.0);
    // x = k ln 2 + r with k = round(x / ln 2), so e^x = 2^k e^r.
    let kf = xc * LOG2_E + SHIFTER;
    let k_bits = kf.to_bits();
    let k = kf - SHIFTER;
    let r = xc - k * LN2_HI;
    let r = r - k * LN2_LO;
    let mut p = INV_FACTORIAL[13];
    for c in INV_FACTORIAL[..13].iter().rev() {
        p = p * r + *c;
    }
    // 2^k from its exponent bits: k sits in the low bits of `k_bits`.
    let two_k = f64::from_bits((k_bits as i64).wrapping_add(1023).wrapping_shl(52) as u64);
    // Selects, not branches, so that a loop over values vectorises.
    let y = p * two_k * if tiny { E_MINUS_708 } else { 1.0 };
    let y = if xs < -708.0 { 0.0 } else { y };
    let y = if x > 709.0 { f64::INFINITY } else { y };
    if x.is_nan() { x } else { y }
}

/// `e^-708`, correctly rounded (the C library's `exp(-708.0)`).
const E_MINUS_708: f64 = f64::from_bits(0x0017_C8AB_2288_C9AB);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_one_ulp_of_the_library() {
        let mut worst = 0.0f64;
        for k in 0..4_000_000 {
            let x = 0.5 - f64::from(k) * 0.000_177;
            let (a, b) = (exp(x), x.exp());
            if b.is_normal() {
                worst = worst.max(((a - b) / b).abs() / f64::EPSILON);
            }
        }
        assert!(worst <= 1.0, "worst relative difference {worst} epsilons");
    }

    #[test]
    fn edges() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(E_MINUS_708, (-708.0f64).exp());
        // Subnormal results, close to the library's.
        for x in [-710.0, -720.0, -740.0, -744.0] {
            let (a, b) = (exp(x), x.exp());
            assert!(
                a > 0.0 && ((a - b) / b).abs() < 1e-10,
                "{x}: {a:e} vs {b:e}"
            );
        }
        assert_eq!(exp(-1000.0), 0.0);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(710.0), f64::INFINITY);
        assert!(exp(f64::NAN).is_nan());
        assert!((exp(1.0) - std::f64::consts::E).abs() <= f64::EPSILON * 3.0);
    }
}
