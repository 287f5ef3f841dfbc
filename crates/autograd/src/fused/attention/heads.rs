//! Attention over `G` heads at once, for small heads.
//!
//! `forward_doc` and `backward_doc` in `attention.rs` take one head at a time:
//! each key then costs loops `hd` long, 4 at the reference size, which the
//! compiler makes scalar code. Here a key's work for `G` adjacent heads,
//! `W = G * HD` dims of the row, is one pass over `W` lanes: the products, the
//! weighted sums of the values and the updates of `dv`, `dq` and `dk`, with each
//! head's weight spread over its dims. Only the sums over one head's dims (its
//! dot products) stay a chain of their own.
//!
//! Every value gets the same terms in the same order as head by head: heads
//! touch disjoint dims and disjoint `(r, h)` entries, and each dim's sums still
//! come key by key in the same order, so the bits are the same. (The per-lane
//! loops are `array::from_fn`s: written as indexed loops over arrays, the
//! compiler made scalar code of them too.)

use super::{Dims, exps, less_max, weights};
use crate::arith::Arith;
use crate::float::Float;

/// One document's attention, `G` heads of `HD` dims at a time (`W = G * HD`;
/// `d.n_head` a multiple of `G`). The arguments are those of `forward_doc`.
#[inline(always)]
pub(super) fn forward_doc<const HD: usize, const G: usize, const W: usize, F: Float>(
    d: &Dims,
    scale: F,
    arith: Arith,
    (qv, kv, vv): (&[F], &[F], &[F]),
    (ov, ev, wv, sv): (&mut [F], &mut [F], &mut [F], &mut [F]),
) {
    debug_assert!(W == G * HD && d.hd == HD && d.n_head.is_multiple_of(G));
    let (c, n_head) = (d.c, d.n_head);
    // (Tq, H, Tk) logits: each query row's heads against the keys it sees, scaled,
    // less their maximum (a plain number); `exps` holds them until the exp.
    for r in 0..d.rows {
        let seen = d.seen(r);
        for h0 in (0..n_head).step_by(G) {
            let c0 = h0 * HD;
            let at: [usize; G] = std::array::from_fn(|i| d.at(r, h0 + i));
            let qh: &[F; W] = lanes(qv, r * c + c0);
            for t in 0..seen {
                let kt: &[F; W] = lanes(kv, t * c + c0);
                let prod: [F; W] = std::array::from_fn(|l| qh[l] * kt[l]);
                for i in 0..G {
                    let mut dot = F::ZERO;
                    for &p in &prod[i * HD..(i + 1) * HD] {
                        dot += p;
                    }
                    ev[at[i] + t] = dot * scale;
                }
            }
            for &a in &at {
                less_max(&mut ev[a..a + seen]);
            }
        }
    }
    exps(arith, ev);
    // (Tq, H, Tk) softmax weights, then the (Tq, C) outputs: the weighted sums
    // of the values, each from 0, key by key.
    for r in 0..d.rows {
        let seen = d.seen(r);
        for h0 in (0..n_head).step_by(G) {
            let c0 = h0 * HD;
            let at: [usize; G] = std::array::from_fn(|i| d.at(r, h0 + i));
            for (i, &a) in at.iter().enumerate() {
                sv[r * n_head + h0 + i] = weights(arith, &ev[a..a + seen], &mut wv[a..a + seen]);
            }
            let v0: &[F; W] = lanes(vv, c0);
            let w0 = spread::<G, HD, W, F>(|i| wv[at[i]]);
            let mut out: [F; W] = std::array::from_fn(|l| F::ZERO + w0[l] * v0[l]);
            for t in 1..seen {
                let vt: &[F; W] = lanes(vv, t * c + c0);
                let wt = spread::<G, HD, W, F>(|i| wv[at[i] + t]);
                out = std::array::from_fn(|l| out[l] + wt[l] * vt[l]);
            }
            *lanes_mut(ov, r * c + c0) = out;
        }
    }
}

/// One document's backward pass, `G` heads of `HD` dims at a time (`W = G * HD`;
/// `d.n_head` a multiple of `G`). The arguments are those of `backward_doc`.
#[inline(always)]
#[allow(clippy::type_complexity)]
pub(super) fn backward_doc<const HD: usize, const G: usize, const W: usize, F: Float>(
    arith: Arith,
    scale: F,
    d: &Dims,
    (q, k, v): (&[F], &[F], &[F]),
    (exps, att, sums, dout): (&[F], &[F], &[F], &[F]),
    (dq, dk, dv, datt): (&mut [F], &mut [F], &mut [F], &mut [F]),
) {
    debug_assert!(W == G * HD && d.hd == HD && d.n_head.is_multiple_of(G));
    let c = d.c;
    // Last row first, as the reference meets the positions.
    for r in (0..d.rows).rev() {
        let seen = d.seen(r);
        for h0 in (0..d.n_head).step_by(G) {
            let c0 = h0 * HD;
            // Where each head's (r, h) entries start in the (Tq, H, Tk) buffers.
            let at: [usize; G] = std::array::from_fn(|i| d.at(r, h0 + i));
            let mut inv = [F::ZERO; G];
            let mut dinv_dtotal = [F::ZERO; G];
            for i in 0..G {
                let total = sums[r * d.n_head + h0 + i];
                inv[i] = arith.recip(total);
                // -1 * total ** -2, the derivative of total ** -1
                dinv_dtotal[i] = -arith.recip_square(total);
            }
            let g: &[F; W] = lanes(dout, r * c + c0);

            let mut dtotal = [F::ZERO; G];
            for t in (0..seen).rev() {
                let vt: &[F; W] = lanes(v, t * c + c0);
                let dvt: &mut [F; W] = lanes_mut(dv, t * c + c0);
                // out_j = sum_t w_t * v_t,j: d/d(v_t,j) = w_t, and d/d(w_t) = v_t,j
                // summed, last dim first
                let w = spread::<G, HD, W, F>(|i| att[at[i] + t]);
                let prod: [F; W] = std::array::from_fn(|l| vt[l] * g[l]);
                let upd: [F; W] = std::array::from_fn(|l| dvt[l] + w[l] * g[l]);
                *dvt = upd;
                for i in 0..G {
                    let mut dwt = F::ZERO;
                    for j in (0..HD).rev() {
                        dwt += prod[i * HD + j];
                    }
                    // w_t = e_t * total**-1: d/d(total**-1) = e_t, then on to total
                    dtotal[i] += dinv_dtotal[i] * (exps[at[i] + t] * dwt);
                    datt[at[i] + t] = dwt;
                }
            }

            let qh: &[F; W] = lanes(q, r * c + c0);
            let mut dqh: [F; W] = *lanes(dq, r * c + c0);
            for t in (0..seen).rev() {
                let kt: &[F; W] = lanes(k, t * c + c0);
                let dkt: &mut [F; W] = lanes_mut(dk, t * c + c0);
                let ddot = spread::<G, HD, W, F>(|i| {
                    // d(w_t)/d(e_t) = total**-1, and total = sum_t e_t passes dtotal on.
                    let de = inv[i] * datt[at[i] + t] + dtotal[i];
                    // e_t = exp(logit_t - max): d/d(logit_t) = e_t
                    let dlogit = exps[at[i] + t] * de;
                    // logit_t = dot_t * scale: d/d(dot_t) = scale
                    scale * dlogit
                });
                // dot_t = sum_j q_j * k_t,j: d/d(q_j) = k_t,j, d/d(k_t,j) = q_j
                dqh = std::array::from_fn(|l| dqh[l] + kt[l] * ddot[l]);
                *dkt = std::array::from_fn(|l| dkt[l] + qh[l] * ddot[l]);
            }
            *lanes_mut(dq, r * c + c0) = dqh;
        }
    }
}

/// `W` values from `at`.
#[inline(always)]
fn lanes<const W: usize, F>(x: &[F], at: usize) -> &[F; W] {
    x[at..at + W].try_into().expect("W values")
}

/// `W` values from `at`, to write.
#[inline(always)]
fn lanes_mut<const W: usize, F>(x: &mut [F], at: usize) -> &mut [F; W] {
    (&mut x[at..at + W]).try_into().expect("W values")
}

/// Each of `G` heads' values `head(i)` over its `HD` dims.
#[inline(always)]
fn spread<const G: usize, const HD: usize, const W: usize, F: Float>(
    head: impl Fn(usize) -> F,
) -> [F; W] {
    let heads: [F; G] = std::array::from_fn(head);
    std::array::from_fn(|l| heads[l / HD])
}

#[cfg(test)]
mod tests {
    use super::super::{backward_doc as one_head_backward, forward_doc as one_head_forward};
    use super::*;

    /// Values of both signs and of many sizes, from a small generator.
    fn values<F: Float>(n: usize, seed: &mut u64) -> Vec<F> {
        (0..n)
            .map(|_| {
                *seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (*seed >> 11) as f64 / (1u64 << 53) as f64;
                F::from_f64((u - 0.5) * 4.0)
            })
            .collect()
    }

    fn bits<F: Float>(x: &[F]) -> Vec<f64> {
        x.iter().map(|v| v.to_f64()).collect()
    }

    /// Both passes, head by head and `G` heads at once, from the same inputs:
    /// every output and gradient the same bits.
    fn same_bits<const HD: usize, const G: usize, const W: usize, F: Float>(
        n_head: usize,
        rows: usize,
        pos0: usize,
    ) {
        let c = n_head * HD;
        let d = Dims {
            c,
            rows,
            t_len: pos0 + rows,
            n_head,
            hd: HD,
            pos0,
        };
        let mut state = (c * 1000 + rows * 10 + pos0) as u64;
        let seed = &mut state;
        let (q, k, v) = (
            values::<F>(rows * c, seed),
            values::<F>(d.t_len * c, seed),
            values::<F>(d.t_len * c, seed),
        );
        let dout = values::<F>(rows * c, seed);
        // Gradients that already hold something, as they do in a graph.
        let (dq0, dk0, dv0) = (
            values::<F>(rows * c, seed),
            values::<F>(d.t_len * c, seed),
            values::<F>(d.t_len * c, seed),
        );
        let scale = F::from_f64(1.0 / (HD as f64).sqrt());
        for arith in [Arith::Exact, Arith::Fast] {
            let forward = |grouped: bool| {
                let mut o = vec![F::ZERO; rows * c];
                let (mut e, mut w) = (vec![F::ZERO; d.block()], vec![F::ZERO; d.block()]);
                let mut s = vec![F::ZERO; rows * n_head];
                let outs = (&mut o[..], &mut e[..], &mut w[..], &mut s[..]);
                let ins = (&q[..], &k[..], &v[..]);
                if grouped {
                    forward_doc::<HD, G, W, F>(&d, scale, arith, ins, outs);
                } else {
                    one_head_forward::<HD, F>(&d, scale, arith, ins, outs);
                }
                (o, e, w, s)
            };
            let (o, e, w, s) = forward(false);
            let grouped = forward(true);
            assert_eq!(
                (bits(&o), bits(&e), bits(&w), bits(&s)),
                (
                    bits(&grouped.0),
                    bits(&grouped.1),
                    bits(&grouped.2),
                    bits(&grouped.3)
                ),
                "forward, {n_head} heads of {HD}, {rows} rows from {pos0}, {arith:?}"
            );
            let backward = |grouped: bool| {
                let (mut dq, mut dk, mut dv) = (dq0.clone(), dk0.clone(), dv0.clone());
                let mut datt = vec![F::ZERO; d.block()];
                let saved = (&q[..], &k[..], &v[..]);
                let acts = (&e[..], &w[..], &s[..], &dout[..]);
                let grads = (&mut dq[..], &mut dk[..], &mut dv[..], &mut datt[..]);
                if grouped {
                    backward_doc::<HD, G, W, F>(arith, scale, &d, saved, acts, grads);
                } else {
                    one_head_backward::<HD, F>(arith, scale, &d, saved, acts, grads);
                }
                [bits(&dq), bits(&dk), bits(&dv), bits(&datt)]
            };
            assert_eq!(
                backward(false),
                backward(true),
                "backward, {n_head} heads of {HD}, {rows} rows from {pos0}, {arith:?}"
            );
        }
    }

    #[test]
    fn several_heads_at_once_give_the_bits_of_one_at_a_time() {
        for (n_head, rows, pos0) in [(4, 1, 0), (4, 7, 0), (4, 3, 5), (8, 16, 0), (12, 5, 2)] {
            same_bits::<4, 4, 16, f64>(n_head, rows, pos0);
            same_bits::<4, 4, 16, f32>(n_head, rows, pos0);
        }
        for (n_head, rows, pos0) in [(2, 6, 0), (4, 9, 1), (6, 2, 3)] {
            same_bits::<8, 2, 16, f64>(n_head, rows, pos0);
            same_bits::<8, 2, 16, f32>(n_head, rows, pos0);
        }
    }
}
