//! The inner loops of the fused ops, kept apart so they can be tuned in one place.
//!
//! Every loop keeps the reference's order of summation for each output: vectorising
//! happens across independent outputs, never inside one sum. So an output's bits
//! do not depend on which other outputs are computed with it: each kernel can run
//! on any subset of its output rows (rows of `Y` or `dX`, rows of `dW`), on any
//! SIMD path, and give the same numbers. The loops are written
//! over fixed-size blocks so the compiler keeps the accumulators in registers.
//!
//! Every multiply-add is `acc + a * b`, rounded twice, as the reference computes
//! it, in both arithmetics: a fused multiply-add would be one instruction instead
//! of two on CPUs that have it, but a library call on those that do not, and the
//! same bits on every path matter more (see the performance section of the
//! README for what FMA was measured to be worth: nothing at batch 1, about a
//! tenth of a batch-16 step on an AVX-512 Xeon).
//!
//! Each public kernel runs its body through [`simd::dispatch`], so it is compiled
//! for every instruction set and runs on the one chosen for this CPU.

use crate::float::Float;
use crate::simd;

/// `acc + a * b`, the product and the sum each rounded.
#[inline(always)]
fn mac<F: Float>(acc: F, a: F, b: F) -> F {
    acc + a * b
}

/// The number of outputs [`matmul_t`] computes at once, in registers.
pub(crate) const LANES: usize = 16;

/// `Y = X W^T` for rows of `X` (`T x nin`) and `Y` (`T x nout`), from the
/// transpose of a row-major `W`, whose rows are padded to `stride`, a multiple of
/// [`LANES`], so that every block is whole: `y[t][o] = sum_i wt[i][o] * x[t][i]`,
/// each sum left to right from 0.
///
/// Several rows go through at once (see [`group`]): each column of `W^T` is
/// loaded once for all of them, and as many times more independent sums are in
/// flight, to hide the latency of the multiply-adds.
pub(crate) fn matmul_t<F: Float>(wt: &[F], stride: usize, x: &[F], y: &mut [F]) {
    let group = group::<F>();
    simd::dispatch(
        #[inline(always)]
        || match group {
            4 => matmul_t_body::<4, F>(wt, stride, x, y),
            2 => matmul_t_body::<2, F>(wt, stride, x, y),
            _ => matmul_t_body::<1, F>(wt, stride, x, y),
        },
    );
}

/// [`matmul_t`] for the path's instruction set, `G` rows at a time.
#[inline(always)]
fn matmul_t_body<const G: usize, F: Float>(wt: &[F], stride: usize, x: &[F], y: &mut [F]) {
    let nin = wt.len() / stride;
    let nout = y.len() * nin / x.len();
    debug_assert!(stride.is_multiple_of(LANES) && stride >= nout && x.len().is_multiple_of(nin));
    let (mut xs, mut ys) = (x.chunks_exact(nin), y.chunks_exact_mut(nout));
    let mut left = ys.len();
    while left >= G {
        rows::<G, F>(wt, stride, take(&mut xs), &mut take(&mut ys));
        left -= G;
    }
    if G > 2 && left >= 2 {
        rows::<2, F>(wt, stride, take(&mut xs), &mut take(&mut ys));
        left -= 2;
    }
    for _ in 0..left {
        rows::<1, F>(wt, stride, take(&mut xs), &mut take(&mut ys));
    }
}

/// How many rows the kernels take at once, each in its own registers, on this
/// path and for `F`: about 8 vectors of sums, enough to keep two adders busy
/// through an add's latency of 3 or 4 cycles (2 rows of `f64` left half of
/// AVX-512's idle), and no more than the 16 registers of SSE2 and AVX2 hold
/// (4 rows of `f64` made AVX2's products spill). 4 rows on AVX-512, and for
/// `f32` on AVX2; 2 for `f64` on AVX2; and so on. Which rows go together
/// changes no sum. (8 rows of `f32` on AVX-512 made the products 4 times
/// slower: the sums were no longer kept in registers.)
fn group<F: Float>() -> usize {
    let per_row = (LANES * size_of::<F>()).div_ceil(simd::path().vector_bytes());
    (8 / per_row).clamp(1, 4)
}

/// The next `R` items of `it`, which has them.
#[inline(always)]
fn take<const R: usize, T>(it: &mut impl Iterator<Item = T>) -> [T; R] {
    std::array::from_fn(|_| it.next().expect("R items left"))
}

/// `R` rows of [`matmul_t`] at once, a block of [`LANES`] outputs at a time.
#[inline(always)]
fn rows<const R: usize, F: Float>(wt: &[F], stride: usize, x: [&[F]; R], y: &mut [&mut [F]; R]) {
    let nout = y[0].len();
    let nin = wt.len() / stride;
    for o0 in (0..nout).step_by(LANES) {
        // Indexed by constants only, once the loops over R and LANES unroll, so
        // that the sums stay in registers (iterating over `acc` by reference made
        // the compiler store them to the stack at every step of `i`).
        let mut acc = [[F::ZERO; LANES]; R];
        for i in 0..nin {
            let col: &[F; LANES] = wt[i * stride + o0..][..LANES]
                .try_into()
                .expect("a whole block");
            let mut xi = [F::ZERO; R];
            for r in 0..R {
                xi[r] = x[r][i];
            }
            for r in 0..R {
                for k in 0..LANES {
                    acc[r][k] = mac(acc[r][k], col[k], xi[r]);
                }
            }
        }
        let end = nout.min(o0 + LANES);
        for r in 0..R {
            // A copy, so that only it is read by the variable-length store and
            // `acc` itself can live in registers.
            let block: [F; LANES] = acc[r];
            store(&mut y[r][o0..end], &block);
        }
    }
}

/// Writes the first `out.len()` values of a block.
#[inline(always)]
fn store<F: Float>(out: &mut [F], acc: &[F; LANES]) {
    if out.len() == LANES {
        out.copy_from_slice(acc);
    } else {
        out.copy_from_slice(&acc[..out.len()]);
    }
}

/// The backward pass of `Y = X W^T` for a row-major `W` (`nout x nin`) and rows of
/// `X` (`T x nin`): `dX[t] += sum_o dY[t][o] W[o]` and `dW[o] += sum_t dY[t][o] X[t]`.
///
/// Each gradient receives its terms in the reference's order: `dX[t][i]` from the
/// last output `o` to the first, `dW[o][i]` from the last row `t` to the first.
/// Two passes, [`linear_backward_dx`] and [`linear_backward_dw`], each keeping its
/// sums in registers for a whole block of columns, so that every gradient is
/// loaded and stored once.
pub(crate) fn linear_backward<F: Float>(
    w: &[F],
    nin: usize,
    x: &[F],
    dy: &[F],
    dw: &mut [F],
    dx: &mut [F],
) {
    debug_assert!(w.len() == dw.len() && x.len() == dx.len() && w.len().is_multiple_of(nin));
    linear_backward_dx(w, nin, dy, dx);
    linear_backward_dw(x, nin, dy, dw);
}

/// `dX[t] += sum_o dY[t][o] W[o]` for rows of `dY` (`T x nout`) and `dX`
/// (`T x nin`), the outputs `o` from last to first; rows of `dX` are independent,
/// so any subset of them can be computed apart.
pub(crate) fn linear_backward_dx<F: Float>(w: &[F], nin: usize, dy: &[F], dx: &mut [F]) {
    let group = group::<F>();
    simd::dispatch(
        #[inline(always)]
        || match group {
            4 => dx_body::<4, F>(w, nin, dy, dx),
            2 => dx_body::<2, F>(w, nin, dy, dx),
            _ => dx_body::<1, F>(w, nin, dy, dx),
        },
    );
}

/// [`linear_backward_dx`] for the path's instruction set, `G` rows at a time.
#[inline(always)]
fn dx_body<const G: usize, F: Float>(w: &[F], nin: usize, dy: &[F], dx: &mut [F]) {
    let nout = w.len() / nin;
    let (mut dys, mut dxs) = (dy.chunks_exact(nout), dx.chunks_exact_mut(nin));
    let mut left = dxs.len();
    while left >= G {
        dx_rows::<G, F>(w, nin, take(&mut dys), take(&mut dxs));
        left -= G;
    }
    if G > 2 && left >= 2 {
        dx_rows::<2, F>(w, nin, take(&mut dys), take(&mut dxs));
        left -= 2;
    }
    for _ in 0..left {
        dx_rows::<1, F>(w, nin, take(&mut dys), take(&mut dxs));
    }
}

/// `R` rows of [`linear_backward_dx`], in column blocks of 16, 4 and 1.
#[inline(always)]
fn dx_rows<const R: usize, F: Float>(w: &[F], nin: usize, g: [&[F]; R], mut dx: [&mut [F]; R]) {
    let mut c = 0;
    while c + 16 <= nin {
        dx_block::<16, R, F>(w, nin, &g, &mut dx, c);
        c += 16;
    }
    while c + 4 <= nin {
        dx_block::<4, R, F>(w, nin, &g, &mut dx, c);
        c += 4;
    }
    while c < nin {
        dx_block::<1, R, F>(w, nin, &g, &mut dx, c);
        c += 1;
    }
}

/// Columns `c0 .. c0 + B` of `R` rows of `dX`: each row's block in registers while
/// `W`'s rows pass, last first.
#[inline(always)]
fn dx_block<const B: usize, const R: usize, F: Float>(
    w: &[F],
    nin: usize,
    g: &[&[F]; R],
    dx: &mut [&mut [F]; R],
    c0: usize,
) {
    // Indexed by constants only, as in `rows`, so that the sums stay in registers.
    let nout = w.len() / nin;
    assert!(c0 + B <= nin && g.iter().all(|g| g.len() == nout));
    let mut acc = [[F::ZERO; B]; R];
    for r in 0..R {
        acc[r].copy_from_slice(&dx[r][c0..c0 + B]);
    }
    // By index: `chunks_exact(..).enumerate().rev()` divided to find each
    // chunk's index, an integer division in the innermost loop.
    for o in (0..nout).rev() {
        let wb: &[F; B] = w[o * nin + c0..][..B].try_into().expect("a block of B");
        let mut go = [F::ZERO; R];
        for r in 0..R {
            go[r] = g[r][o];
        }
        for r in 0..R {
            for k in 0..B {
                // d(w*x)/dx = w: the product is `w * g`, as the reference writes
                // `local_grad * grad`.
                acc[r][k] = mac(acc[r][k], wb[k], go[r]);
            }
        }
    }
    for r in 0..R {
        dx[r][c0..c0 + B].copy_from_slice(&acc[r]);
    }
}

/// `dW[o] += sum_t dY[t][o] X[t]` for every row `o` of `dW` (`nout x nin`), the
/// rows `t` of `X` from last to first; rows of `dW` are independent.
pub(crate) fn linear_backward_dw<F: Float>(x: &[F], nin: usize, dy: &[F], dw: &mut [F]) {
    linear_backward_dw_rows(x, nin, dy, dw.len() / nin, 0, dw);
}

/// [`linear_backward_dw`] for the rows `o0 .. o0 + dw.len() / nin` of a `dW` of
/// `nout` rows, `dw` holding just those rows: what one thread computes when the
/// rows of `dW` are shared out.
pub(crate) fn linear_backward_dw_rows<F: Float>(
    x: &[F],
    nin: usize,
    dy: &[F],
    nout: usize,
    o0: usize,
    dw: &mut [F],
) {
    let group = group::<F>();
    simd::dispatch(
        #[inline(always)]
        || match group {
            4 => dw_body::<4, F>(x, nin, dy, nout, o0, dw),
            2 => dw_body::<2, F>(x, nin, dy, nout, o0, dw),
            _ => dw_body::<1, F>(x, nin, dy, nout, o0, dw),
        },
    );
}

/// [`linear_backward_dw_rows`] for the path's instruction set, `G` rows of `dW`
/// at a time.
#[inline(always)]
fn dw_body<const G: usize, F: Float>(
    x: &[F],
    nin: usize,
    dy: &[F],
    nout: usize,
    o0: usize,
    dw: &mut [F],
) {
    let mut dws = dw.chunks_exact_mut(nin);
    let (mut o, end) = (o0, o0 + dws.len());
    while o + G <= end {
        dw_rows::<G, F>(x, nin, dy, nout, o, take(&mut dws));
        o += G;
    }
    if G > 2 && o + 2 <= end {
        dw_rows::<2, F>(x, nin, dy, nout, o, take(&mut dws));
        o += 2;
    }
    for o in o..end {
        dw_rows::<1, F>(x, nin, dy, nout, o, take(&mut dws));
    }
}

/// `R` rows `o0 ..` of [`linear_backward_dw`], in column blocks of 16, 4 and 1.
#[inline(always)]
fn dw_rows<const R: usize, F: Float>(
    x: &[F],
    nin: usize,
    dy: &[F],
    nout: usize,
    o0: usize,
    mut dw: [&mut [F]; R],
) {
    let mut c = 0;
    while c + 16 <= nin {
        dw_block::<16, R, F>(x, nin, dy, nout, o0, &mut dw, c);
        c += 16;
    }
    while c + 4 <= nin {
        dw_block::<4, R, F>(x, nin, dy, nout, o0, &mut dw, c);
        c += 4;
    }
    while c < nin {
        dw_block::<1, R, F>(x, nin, dy, nout, o0, &mut dw, c);
        c += 1;
    }
}

/// Columns `c0 .. c0 + B` of rows `o0 .. o0 + R` of `dW`: each row's block in
/// registers while `X`'s rows pass, last first.
#[inline(always)]
fn dw_block<const B: usize, const R: usize, F: Float>(
    x: &[F],
    nin: usize,
    dy: &[F],
    nout: usize,
    o0: usize,
    dw: &mut [&mut [F]; R],
    c0: usize,
) {
    // Indexed by constants only, as in `rows`, so that the sums stay in registers.
    assert!(c0 + B <= nin && o0 + R <= nout);
    let mut acc = [[F::ZERO; B]; R];
    for r in 0..R {
        acc[r].copy_from_slice(&dw[r][c0..c0 + B]);
    }
    for (xrow, g) in x.chunks_exact(nin).zip(dy.chunks_exact(nout)).rev() {
        let xb: &[F; B] = xrow[c0..c0 + B].try_into().expect("a block of B");
        let g: &[F; R] = g[o0..o0 + R].try_into().expect("R outputs");
        for r in 0..R {
            for k in 0..B {
                // d(w*x)/dw = x
                acc[r][k] = mac(acc[r][k], xb[k], g[r]);
            }
        }
    }
    for r in 0..R {
        dw[r][c0..c0 + B].copy_from_slice(&acc[r]);
    }
}

/// `t = w^T` for a row-major `w` of `rows` rows, each row of `t` padded to
/// `stride`; in 8 x 8 tiles held in registers, so that both the reads and the
/// writes run along rows, eight values at a time.
pub(crate) fn transpose<F: Float>(w: &[F], rows: usize, t: &mut [F], stride: usize) {
    if let Some(n) = F::transpose_tiles(w, rows, t, stride) {
        transpose_edges(w, rows, t, stride, n);
        return;
    }
    simd::dispatch(
        #[inline(always)]
        || transpose_body(w, rows, t, stride),
    );
}

/// [`transpose`] for the path's instruction set.
#[inline(always)]
fn transpose_body<F: Float>(w: &[F], rows: usize, t: &mut [F], stride: usize) {
    const N: usize = 8;
    let cols = w.len() / rows;
    let (rn, cn) = (rows - rows % N, cols - cols % N);
    for r in (0..rn).step_by(N) {
        for c in (0..cn).step_by(N) {
            let row =
                |i: usize| -> [F; N] { w[(r + i) * cols + c..][..N].try_into().expect("N values") };
            let tile = [
                row(0),
                row(1),
                row(2),
                row(3),
                row(4),
                row(5),
                row(6),
                row(7),
            ];
            for j in 0..N {
                let out: &mut [F; N] = (&mut t[(c + j) * stride + r..][..N])
                    .try_into()
                    .expect("N values");
                for i in 0..N {
                    out[i] = tile[i][j];
                }
            }
        }
    }
    transpose_edges(w, rows, t, stride, N);
}

/// The part of [`transpose`] outside its whole `n x n` tiles, value by value.
#[inline(always)]
fn transpose_edges<F: Float>(w: &[F], rows: usize, t: &mut [F], stride: usize, n: usize) {
    let cols = w.len() / rows;
    let (rn, cn) = (rows - rows % n, cols - cols % n);
    for r in 0..rows {
        let from = if r < rn { cn } else { 0 };
        for c in from..cols {
            t[c * stride + r] = w[r * cols + c];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_handles_ragged_edges() {
        for (rows, cols) in [(1, 1), (4, 4), (5, 7), (27, 16), (16, 64), (3, 9), (17, 25)] {
            let w: Vec<f64> = (0..rows * cols).map(|k| k as f64).collect();
            let stride = rows + 3;
            // The path's (AVX-512's shuffles, where the CPU has them) and the
            // generic one.
            let mut t = vec![-1.0; stride * cols];
            transpose(&w, rows, &mut t, stride);
            let mut generic = vec![-1.0; stride * cols];
            transpose_body(&w, rows, &mut generic, stride);
            for r in 0..rows {
                for c in 0..cols {
                    let want = w[r * cols + c];
                    assert_eq!(t[c * stride + r], want, "{rows}x{cols} at {r},{c}");
                    assert_eq!(generic[c * stride + r], want, "{rows}x{cols} at {r},{c}");
                }
            }
        }
    }

    #[test]
    fn f32_transposes_are_exact_on_every_path() {
        // The f32 tiles (8 x 8 on AVX2 and AVX-512) and the generic loop alike; every
        // path computes the same bits, so switching it under other tests is harmless.
        for path in crate::simd::SimdPath::available() {
            crate::simd::force(path).unwrap();
            for (rows, cols) in [
                (1usize, 1usize),
                (8, 8),
                (5, 7),
                (27, 16),
                (16, 64),
                (64, 16),
                (19, 33),
            ] {
                let w: Vec<f32> = (0..rows * cols).map(|k| k as f32).collect();
                let stride = rows.next_multiple_of(LANES);
                let mut t = vec![-1.0f32; stride * cols];
                transpose(&w, rows, &mut t, stride);
                for r in 0..rows {
                    for c in 0..cols {
                        assert_eq!(t[c * stride + r], w[r * cols + c], "{path} {rows}x{cols}");
                    }
                }
            }
        }
        crate::simd::force(crate::simd::SimdPath::widest()).unwrap();
    }

    /// `linear_backward` against plain loops in the reference's order, bit for bit.
    fn check_linear_backward_order<F: Float>(nout: usize, nin: usize, rows: usize) {
        let f = |x: f64| F::from_f64(x);
        let w: Vec<F> = (0..nout * nin)
            .map(|k| f((k as f64 * 0.71).sin()))
            .collect();
        let x: Vec<F> = (0..rows * nin).map(|k| f((k as f64 * 0.3).cos())).collect();
        let dy: Vec<F> = (0..rows * nout)
            .map(|k| f(1.0 / (k as f64 + 1.5)))
            .collect();
        let (mut dw, mut dx) = (vec![f(0.25); w.len()], vec![f(0.5); rows * nin]);
        linear_backward(&w, nin, &x, &dy, &mut dw, &mut dx);
        let bits = |v: F| v.to_f64().to_bits();
        for i in 0..nin {
            for t in 0..rows {
                // dX[t][i]: the outputs from last to first.
                let mut acc = f(0.5);
                for o in (0..nout).rev() {
                    acc += w[o * nin + i] * dy[t * nout + o];
                }
                assert_eq!(bits(acc), bits(dx[t * nin + i]), "dx[{t}][{i}]");
            }
            for o in 0..nout {
                // dW[o][i]: the rows from last to first.
                let mut acc = f(0.25);
                for t in (0..rows).rev() {
                    acc += x[t * nin + i] * dy[t * nout + o];
                }
                assert_eq!(bits(acc), bits(dw[o * nin + i]), "dw[{o}][{i}]");
            }
        }
    }

    #[test]
    fn linear_backward_adds_terms_in_the_reference_order() {
        // 41 columns make blocks of 16, 4 and 1; 3 rows, 5 outputs.
        check_linear_backward_order::<f64>(5, 41, 3);
        // Rows go in groups of up to four: 7 rows and 7 outputs make a quad, a
        // pair and a single of each.
        check_linear_backward_order::<f32>(7, 41, 7);
        check_linear_backward_order::<f64>(7, 41, 7);
    }

    #[test]
    fn matmul_t_sums_each_output_left_to_right() {
        // 37 outputs make a ragged last block, 3 rows a pair and a single; the sums
        // must equal plain loops bit for bit.
        matmul_t_matches_plain_loops::<f64>(37, 5, 3);
    }

    #[test]
    fn row_groups_change_no_sum_on_any_path() {
        // 7 and 11 rows (and outputs) make groups of 4, 2 and 1 on AVX-512, of 2 and
        // 1 for f64 on AVX2, single rows on SSE2; in both dtypes, on every path this
        // CPU has, products and both gradients must equal plain loops bit for bit.
        for path in crate::simd::SimdPath::available() {
            crate::simd::force(path).unwrap();
            for (nout, nin, rows) in [(7, 41, 7), (11, 16, 11), (27, 16, 5), (64, 16, 9)] {
                matmul_t_matches_plain_loops::<f64>(nout, nin, rows);
                matmul_t_matches_plain_loops::<f32>(nout, nin, rows);
                backward_matches_plain_loops::<f64>(nout, nin, rows);
                backward_matches_plain_loops::<f32>(nout, nin, rows);
            }
        }
        crate::simd::force(crate::simd::SimdPath::widest()).unwrap();
    }

    fn matmul_t_matches_plain_loops<F: Float>(nout: usize, nin: usize, rows: usize) {
        let f = |v: f64| F::from_f64(v);
        let w: Vec<F> = (0..nout * nin)
            .map(|k| f((k as f64 * 0.37).sin()))
            .collect();
        let x: Vec<F> = (0..rows * nin).map(|k| f((k as f64 * 1.3).cos())).collect();
        let stride = nout.next_multiple_of(LANES);
        let mut wt = vec![F::ZERO; stride * nin];
        transpose(&w, nout, &mut wt, stride);
        let mut y = vec![F::ZERO; rows * nout];
        matmul_t(&wt, stride, &x, &mut y);
        let path = crate::simd::path();
        for t in 0..rows {
            for o in 0..nout {
                let mut acc = F::ZERO;
                for i in 0..nin {
                    acc += w[o * nin + i] * x[t * nin + i];
                }
                let (want, got) = (acc.to_f64().to_bits(), y[t * nout + o].to_f64().to_bits());
                assert_eq!(want, got, "{path} {}: row {t}, output {o}", F::NAME);
            }
        }
    }

    fn backward_matches_plain_loops<F: Float>(nout: usize, nin: usize, rows: usize) {
        let f = |v: f64| F::from_f64(v);
        let w: Vec<F> = (0..nout * nin)
            .map(|k| f((k as f64 * 0.71).sin()))
            .collect();
        let x: Vec<F> = (0..rows * nin).map(|k| f((k as f64 * 0.3).cos())).collect();
        let dy: Vec<F> = (0..rows * nout)
            .map(|k| f(1.0 / (k as f64 + 1.5)))
            .collect();
        let (mut dw, mut dx) = (vec![f(0.25); w.len()], vec![f(0.5); rows * nin]);
        linear_backward(&w, nin, &x, &dy, &mut dw, &mut dx);
        let path = crate::simd::path();
        let bits = |v: F| v.to_f64().to_bits();
        for i in 0..nin {
            for t in 0..rows {
                let mut acc = f(0.5);
                for o in (0..nout).rev() {
                    acc += w[o * nin + i] * dy[t * nout + o];
                }
                let got = dx[t * nin + i];
                assert_eq!(bits(acc), bits(got), "{path} {}: dx[{t}][{i}]", F::NAME);
            }
            for o in 0..nout {
                let mut acc = f(0.25);
                for t in (0..rows).rev() {
                    acc += x[t * nin + i] * dy[t * nout + o];
                }
                let got = dw[o * nin + i];
                assert_eq!(bits(acc), bits(got), "{path} {}: dw[{o}][{i}]", F::NAME);
            }
        }
    }
}
