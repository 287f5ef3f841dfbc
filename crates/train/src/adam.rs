//! Adam with the reference's learning-rate decay (v1's half cosine or v2's linear
//! ramp), as one tight loop.

use autograd::{Arith, Float, Threads, py_pow, simd};
use serde::{Deserialize, Serialize};

/// Adam's settings. The defaults are the first reference's (v1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// Peak learning rate, decayed to 0 over the run by `schedule`.
    pub learning_rate: f64,
    /// Decay of the first moment (the mean gradient).
    pub beta1: f64,
    /// Decay of the second moment (the mean squared gradient).
    pub beta2: f64,
    /// Added to the root of the second moment, so a zero gradient divides safely.
    pub eps: f64,
    /// How the learning rate decays. Left out of files when it is v1's cosine, so
    /// that files written before it existed read as they always did.
    #[serde(default, skip_serializing_if = "LrSchedule::is_default")]
    pub schedule: LrSchedule,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            learning_rate: 0.01,
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            schedule: LrSchedule::Cosine,
        }
    }
}

impl AdamConfig {
    /// The revised reference's (v2): betas 0.85 and 0.99, linear decay.
    pub fn v2() -> Self {
        AdamConfig {
            beta1: 0.85,
            beta2: 0.99,
            schedule: LrSchedule::Linear,
            ..AdamConfig::default()
        }
    }
}

/// The learning rate's decay from its peak to 0 over the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum LrSchedule {
    /// `lr * 0.5 * (1 + cos(pi * step / num_steps))`: v1's.
    #[default]
    Cosine,
    /// `lr * (1 - step / num_steps)`: v2's.
    Linear,
}

impl LrSchedule {
    /// The learning rate of 0-based `step` out of `num_steps`, peaking at `lr`.
    pub fn lr(self, lr: f64, step: usize, num_steps: usize) -> f64 {
        match self {
            LrSchedule::Cosine => cosine_lr(lr, step, num_steps),
            LrSchedule::Linear => linear_lr(lr, step, num_steps),
        }
    }

    /// Its name on the command line and in files: `cosine` or `linear`.
    pub fn name(self) -> &'static str {
        match self {
            LrSchedule::Cosine => "cosine",
            LrSchedule::Linear => "linear",
        }
    }

    /// Whether it is v1's.
    pub fn is_default(&self) -> bool {
        *self == LrSchedule::default()
    }
}

/// The optimiser's state: a first and second moment per parameter, in the
/// parameters' type `F` (`f64`, or `f32` for an `f32` run). The settings and the
/// learning rate are `f64`s, rounded to `F` once a step.
#[derive(Clone, Debug, PartialEq)]
pub struct Adam<F: Float = f64> {
    /// Its settings.
    pub config: AdamConfig,
    /// The first moments, one per parameter.
    pub m: Vec<F>,
    /// The second moments, one per parameter.
    pub v: Vec<F>,
    arith: Arith,
}

/// The learning rate of 0-based `step` out of `num_steps`:
/// `lr * 0.5 * (1 + cos(pi * step / num_steps))`.
pub(crate) fn cosine_lr(lr: f64, step: usize, num_steps: usize) -> f64 {
    lr * 0.5 * (1.0 + (std::f64::consts::PI * step as f64 / num_steps as f64).cos())
}

/// The learning rate of 0-based `step` out of `num_steps`:
/// `lr * (1 - step / num_steps)`, the division a true one as in Python 3 (no `pow`
/// anywhere, so both arithmetics compute it alike).
pub(crate) fn linear_lr(lr: f64, step: usize, num_steps: usize) -> f64 {
    lr * (1.0 - step as f64 / num_steps as f64)
}

/// `x`, or 0 if it is subnormal (closer to 0 than the smallest normal number).
#[inline(always)]
fn flush<F: Float>(x: F) -> F {
    if x < F::MIN_POSITIVE && x > -F::MIN_POSITIVE {
        F::ZERO
    } else {
        x
    }
}

impl<F: Float> Adam<F> {
    /// Bytes of state it keeps per parameter: the two moments.
    pub const BYTES_PER_PARAM: u128 = 2 * size_of::<F>() as u128;

    /// Zero moments for `n` parameters. `arith` says how `g ** 2` and `v ** 0.5`
    /// are rounded: [`Arith::Exact`] calls `pow` as the reference does.
    pub fn new(config: AdamConfig, n: usize, arith: Arith) -> Self {
        Adam {
            config,
            m: vec![F::ZERO; n],
            v: vec![F::ZERO; n],
            arith,
        }
    }

    /// One update of every parameter from its gradient, for 0-based `step` of a
    /// `num_steps` schedule; then sets every gradient to 0, as the reference does.
    ///
    /// Returns `false`, before touching anything, if a gradient is not finite.
    pub fn step(
        &mut self,
        params: &mut [F],
        grads: &mut [F],
        step: usize,
        num_steps: usize,
    ) -> bool {
        self.step_on(params, grads, step, num_steps, &Threads::default())
    }

    /// [`Adam::step`], the fast arithmetic's update shared out among `threads`
    /// (each parameter's update is its own: the same bits on any number).
    pub fn step_on(
        &mut self,
        params: &mut [F],
        grads: &mut [F],
        step: usize,
        num_steps: usize,
        threads: &Threads,
    ) -> bool {
        let n = self.m.len();
        assert!(
            params.len() == n && grads.len() == n,
            "one gradient per parameter"
        );
        // One pass without a branch per value, on the CPU's widest vectors.
        let bad = simd::dispatch(
            #[inline(always)]
            || grads.iter().fold(false, |bad, g| bad | !g.is_finite()),
        );
        if bad {
            return false;
        }
        let AdamConfig {
            learning_rate,
            beta1,
            beta2,
            eps,
            schedule,
        } = self.config;
        let lr_t = schedule.lr(learning_rate, step, num_steps);
        let t = (step + 1) as f64;
        // beta ** (step + 1), a `pow` in the reference too
        let (bias1, bias2) = (1.0 - py_pow(beta1, t), 1.0 - py_pow(beta2, t));
        let (one_minus_b1, one_minus_b2) = (1.0 - beta1, 1.0 - beta2);
        // The settings in the parameters' type (for f64, themselves).
        let f = F::from_f64;
        let (lr_t, beta1, beta2, eps) = (f(lr_t), f(beta1), f(beta2), f(eps));
        let (one_minus_b1, one_minus_b2) = (f(one_minus_b1), f(one_minus_b2));
        let (m, v) = (&mut self.m[..n], &mut self.v[..n]);
        match self.arith {
            // The reference, term for term: `g ** 2` and `v_hat ** 0.5` through `pow`,
            // the bias corrections as divisions.
            Arith::Exact => {
                let (bias1, bias2) = (f(bias1), f(bias2));
                for i in 0..n {
                    let g = grads[i];
                    m[i] = beta1 * m[i] + one_minus_b1 * g;
                    v[i] = beta2 * v[i] + one_minus_b2 * g.powf(f(2.0));
                    let m_hat = m[i] / bias1;
                    let v_hat = v[i] / bias2;
                    params[i] -= lr_t * m_hat / (v_hat.powf(f(0.5)) + eps);
                    grads[i] = F::ZERO;
                }
            }
            // The same update with a square, a square root and the bias corrections
            // as multiplications: one division per parameter, and a loop the
            // compiler vectorises. A moment that decays into the subnormals (a
            // parameter with no gradient for some 750 steps in f32, 6,000 in f64)
            // becomes 0, and its update 0 where it was under 1e-29 of the learning
            // rate (1e-290 in f64): on x86,
            // arithmetic on subnormals is done in microcode, and a 60,000-step
            // f32 run took 2.3 times as long per step for it.
            Arith::Fast => {
                let (inv_bias1, inv_bias2) = (f(1.0 / bias1), f(1.0 / bias2));
                let (p, g) = (&mut params[..n], &mut grads[..n]);
                // Compiled for the CPU's widest vectors: the square roots and the
                // divisions, which bound this loop, go 2, 4 or 8 at a time.
                let update = |_: std::ops::Range<usize>, [p, g, m, v]: [&mut [F]; 4]| {
                    simd::dispatch(
                        #[inline(always)]
                        || {
                            for i in 0..p.len() {
                                let gi = g[i];
                                m[i] = flush(beta1 * m[i] + one_minus_b1 * gi);
                                v[i] = flush(beta2 * v[i] + one_minus_b2 * (gi * gi));
                                let m_hat = m[i] * inv_bias1;
                                let v_hat = v[i] * inv_bias2;
                                p[i] -= lr_t * m_hat / (v_hat.sqrt() + eps);
                                g[i] = F::ZERO;
                            }
                        },
                    );
                };
                // A square root and a division are worth some 16 multiply-adds.
                // (At the reference size that keeps Adam on one thread: shared
                // between two, the other thread's half took twice as long as the
                // whole, its parameters' cache lines being the first thread's.)
                threads.split(n, 16 * n, |i| [i; 4], [p, g, m, v], update);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_decays_from_lr_to_zero() {
        assert_eq!(cosine_lr(0.01, 0, 500), 0.01);
        assert!((cosine_lr(0.01, 250, 500) - 0.005).abs() < 1e-15);
        assert!(cosine_lr(0.01, 499, 500) < 1e-6);
        assert_eq!(linear_lr(0.01, 0, 1000), 0.01);
        assert_eq!(linear_lr(0.01, 500, 1000), 0.005);
        // 1 - 999/1000, then times 0.01, as Python rounds it
        assert_eq!(linear_lr(0.01, 999, 1000), 0.01 * (1.0 - 0.999));
        assert_eq!(LrSchedule::Linear.lr(0.01, 3, 7), linear_lr(0.01, 3, 7));
        assert_eq!(LrSchedule::Cosine.lr(0.01, 3, 7), cosine_lr(0.01, 3, 7));
    }

    #[test]
    fn v2_betas_weigh_the_moments() {
        // One step from zero moments: m = (1 - beta1) g, v = (1 - beta2) g^2.
        for arith in [Arith::Exact, Arith::Fast] {
            let mut adam = Adam::<f64>::new(AdamConfig::v2(), 1, arith);
            let (mut p, mut g) = ([1.0], [0.5]);
            assert!(adam.step(&mut p, &mut g, 0, 10));
            assert_eq!(adam.m[0], (1.0 - 0.85) * 0.5);
            assert!((adam.v[0] - (1.0 - 0.99) * 0.25).abs() < 1e-18);
        }
    }

    #[test]
    fn first_step_moves_each_parameter_by_about_lr_against_its_gradient() {
        // With bias correction, the first update is lr * g / (|g| + eps).
        for arith in [Arith::Exact, Arith::Fast] {
            let mut adam = Adam::<f64>::new(AdamConfig::default(), 3, arith);
            let mut p = [1.0, 1.0, 1.0];
            let mut g = [0.5, -2.0, 0.0];
            assert!(adam.step(&mut p, &mut g, 0, 10));
            assert!(
                (p[0] - 0.99).abs() < 1e-9 && (p[1] - 1.01).abs() < 1e-9,
                "{p:?}"
            );
            assert_eq!(p[2], 1.0);
            assert_eq!(g, [0.0; 3], "gradients are reset");
        }
    }

    #[test]
    fn moments_decaying_into_the_subnormals_are_flushed_to_zero_by_the_fast_update() {
        // A gradient of 0 halves m and v (betas 0.5): from the smallest normal
        // number, into the subnormals, where every operation on them costs a
        // microcode assist (a long f32 run went 2.3 times slower).
        let config = AdamConfig {
            beta1: 0.5,
            beta2: 0.5,
            ..AdamConfig::default()
        };
        for arith in [Arith::Exact, Arith::Fast] {
            let mut adam = Adam::<f32>::new(config, 2, arith);
            adam.m = vec![f32::MIN_POSITIVE, 4.0 * f32::MIN_POSITIVE];
            adam.v = adam.m.clone();
            let (mut p, mut g) = ([1.0f32, 1.0], [0.0f32, 0.0]);
            assert!(adam.step(&mut p, &mut g, 0, 10));
            let half = [f32::MIN_POSITIVE / 2.0, 2.0 * f32::MIN_POSITIVE];
            match arith {
                // The reference's arithmetic keeps them, as Python does.
                Arith::Exact => assert_eq!(adam.m, half, "{arith:?}"),
                Arith::Fast => assert_eq!(adam.m, [0.0, half[1]], "{arith:?}"),
            }
            assert_eq!(adam.v, adam.m, "{arith:?}");
        }
    }

    #[test]
    fn a_non_finite_gradient_changes_nothing() {
        let mut adam = Adam::<f64>::new(AdamConfig::default(), 2, Arith::Fast);
        let mut p = [1.0, 2.0];
        let mut g = [0.1, f64::NAN];
        assert!(!adam.step(&mut p, &mut g, 0, 10));
        assert_eq!(p, [1.0, 2.0]);
        assert_eq!(adam.m, [0.0, 0.0]);
    }

    #[test]
    fn an_f32_adam_follows_the_f64_one_to_f32_precision() {
        for arith in [Arith::Exact, Arith::Fast] {
            let mut wide = Adam::<f64>::new(AdamConfig::v2(), 2, arith);
            let mut narrow = Adam::<f32>::new(AdamConfig::v2(), 2, arith);
            let (mut p64, mut p32) = ([1.0, -0.5], [1.0f32, -0.5]);
            for step in 0..20 {
                let g = [0.3 + 0.01 * step as f64, -0.7];
                let (mut g64, mut g32) = (g, g.map(|x| x as f32));
                assert!(wide.step(&mut p64, &mut g64, step, 20));
                assert!(narrow.step(&mut p32, &mut g32, step, 20));
                assert_eq!(g32, [0.0; 2]);
            }
            for (a, b) in p64.iter().zip(&p32) {
                assert!((a - f64::from(*b)).abs() < 1e-6, "{arith:?}: {a} vs {b}");
            }
            assert_ne!(p64[0], f64::from(p32[0]), "the f32 update rounds in f32");
        }
    }
}
