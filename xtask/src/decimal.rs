//! A loss with four decimals, as `{:.4}` (and the reference's `:.4f`) prints it,
//! without the cost of the general formatter.
//!
//! The step line is printed after every step. `format!("{:.4}", x)` computes the
//! digits of `x` exactly, and at batch 1 it and its arithmetic on big integers
//! were about 2.5% of a step under `perf`. A loss is a positive number of modest
//! size, and for those the four decimals come from one product: `x * 10^4`
//! rounded to the nearest integer, ties to even, as the general formatter rounds
//! the exact value. The product is rounded itself, so its rounding error, which a
//! fused multiply-add gives exactly, settles the one case where it matters: a
//! product that lands on a half.

use std::fmt::Write;

/// Below this, `x * 10^4` is under 2^44: its rounding error is under 2^-9, and
/// the difference between it and the nearest integer is exact.
const FAST_BELOW: f64 = 1e9;

/// Appends `x` to `out` with four decimals, the same text as `{:.4}`.
pub(crate) fn push_fixed4(out: &mut String, x: f64) {
    // Not NaN, not negative (nor -0.0, which prints its sign), and small.
    if !(x.is_sign_positive() && x < FAST_BELOW) {
        let _ = write!(out, "{x:.4}");
        return;
    }
    let p = x * 1e4;
    // x * 10^4 is exactly p + e.
    let e = x.mul_add(1e4, -p);
    let n = p.round_ties_even();
    // If p is a half, the exact value is above it, below it, or on it (then the
    // even neighbour, which `n` already is). Otherwise p is less than a half from
    // n, and e (at most half of p's last place) cannot carry it across.
    let d = p - n;
    let n = if d == 0.5 && e > 0.0 {
        n + 1.0
    } else if d == -0.5 && e < 0.0 {
        n - 1.0
    } else {
        n
    };
    let n = n as u64;
    let _ = write!(out, "{}.{:04}", n / 10_000, n % 10_000);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fixed4(x: f64) -> String {
        let mut s = String::new();
        push_fixed4(&mut s, x);
        s
    }

    #[test]
    fn halves_round_to_even_as_the_general_formatter_does() {
        // k / 32 is exact in binary, and * 10^4 lands on a half when k is odd.
        for k in 0..4096 {
            let x = f64::from(k) / 32.0;
            assert_eq!(fixed4(x), format!("{x:.4}"), "{k}/32");
        }
        assert_eq!(fixed4(0.03125), "0.0312");
        assert_eq!(fixed4(0.09375), "0.0938");
    }

    #[test]
    fn values_next_to_a_half_round_by_their_exact_value() {
        for k in (1..2000).step_by(2) {
            let half = f64::from(k) / 32.0;
            for x in [half.next_up(), half.next_down(), half.next_up().next_up()] {
                assert_eq!(fixed4(x), format!("{x:.4}"), "{x:e}");
            }
        }
        // Decimal halves are not binary ones: their nearest doubles fall either side.
        for x in [1.00005, 0.00015, 2.54475, 3.29625, 0.99995] {
            assert_eq!(fixed4(x), format!("{x:.4}"), "{x}");
        }
    }

    #[test]
    fn everything_else_goes_to_the_general_formatter() {
        for x in [
            -0.0,
            -1.5,
            f64::NAN,
            f64::INFINITY,
            FAST_BELOW,
            1e300,
            f64::MIN_POSITIVE,
            0.0,
        ] {
            assert_eq!(fixed4(x), format!("{x:.4}"), "{x}");
        }
    }

    proptest! {
        #[test]
        fn matches_the_general_formatter(x in 0.0..FAST_BELOW) {
            prop_assert_eq!(fixed4(x), format!("{x:.4}"));
        }

        #[test]
        fn matches_it_on_any_bits(bits in any::<u64>()) {
            let x = f64::from_bits(bits);
            prop_assert_eq!(fixed4(x), format!("{x:.4}"));
        }

        #[test]
        fn matches_it_on_losses(x in 0.0..10.0f64) {
            prop_assert_eq!(fixed4(x), format!("{x:.4}"));
        }
    }
}
