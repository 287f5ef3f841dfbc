//! The inner loops of the fused ops, kept apart so they can be tuned in one place.
//!
//! Every loop keeps the reference's order of summation for each output: vectorising
//! happens across independent outputs, never inside one sum. The loops are written
//! over fixed-size blocks so the compiler keeps the accumulators in registers.
//!
//! The multiply-adds come in two roundings, chosen by the const parameter `FMA`:
//! `acc + a * b` rounded twice, as the reference computes, or `a.mul_add(b, acc)`,
//! rounded once, which is one instruction instead of two and is as exact on every
//! CPU with fused multiply-add. [`Arith::Fast`](crate::Arith::Fast) takes the
//! latter.

/// `acc + a * b`, with one rounding if `FMA`, else with two.
#[inline(always)]
pub(crate) fn mac<const FMA: bool>(acc: f64, a: f64, b: f64) -> f64 {
    if FMA { a.mul_add(b, acc) } else { acc + a * b }
}

/// The number of outputs [`matvec_t`] computes at once, in registers.
pub(crate) const LANES: usize = 16;

/// `Y = X W^T` for rows of `X` (`T x nin`) and `Y` (`T x nout`), from the
/// transpose of a row-major `W`, whose rows are padded to `stride`, a multiple of
/// [`LANES`], so that every block is whole: `y[t][o] = sum_i wt[i][o] * x[t][i]`,
/// each sum left to right from 0.
///
/// Two rows go through at once: each column of `W^T` is loaded once for both, and
/// twice as many independent sums are in flight, enough to hide the latency of the
/// multiply-adds.
#[inline]
pub(crate) fn matmul_t<const FMA: bool>(wt: &[f64], stride: usize, x: &[f64], y: &mut [f64]) {
    let nin = wt.len() / stride;
    let nout = y.len() * nin / x.len();
    debug_assert!(stride.is_multiple_of(LANES) && stride >= nout && x.len().is_multiple_of(nin));
    let mut xs = x.chunks_exact(nin);
    let mut ys = y.chunks_exact_mut(nout);
    while let (Some(x0), Some(y0)) = (xs.next(), ys.next()) {
        match (xs.next(), ys.next()) {
            (Some(x1), Some(y1)) => rows::<2, FMA>(wt, stride, [x0, x1], [y0, y1]),
            _ => rows::<1, FMA>(wt, stride, [x0], [y0]),
        }
    }
}

/// `R` rows of [`matmul_t`] at once, a block of [`LANES`] outputs at a time.
#[inline(always)]
fn rows<const R: usize, const FMA: bool>(
    wt: &[f64],
    stride: usize,
    x: [&[f64]; R],
    mut y: [&mut [f64]; R],
) {
    let nout = y[0].len();
    for o0 in (0..nout).step_by(LANES) {
        let mut acc = [[0.0; LANES]; R];
        for (i, col) in wt.chunks_exact(stride).enumerate() {
            let col: &[f64; LANES] = col[o0..o0 + LANES].try_into().expect("a whole block");
            for (acc, x) in acc.iter_mut().zip(&x) {
                let xi = x[i];
                for k in 0..LANES {
                    acc[k] = mac::<FMA>(acc[k], col[k], xi);
                }
            }
        }
        let end = nout.min(o0 + LANES);
        for (acc, y) in acc.iter().zip(y.iter_mut()) {
            store(&mut y[o0..end], acc);
        }
    }
}

/// Writes the first `out.len()` values of a block.
#[inline(always)]
fn store(out: &mut [f64], acc: &[f64; LANES]) {
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
/// The loop runs over `W`'s rows once, in column blocks: a block of `W[o]` and of
/// `dW[o]` stays in registers while every row `t` passes, so `W` and `dW` are each
/// read and written once, and only the small `dX` is updated in memory.
#[inline]
pub(crate) fn linear_backward<const FMA: bool>(
    w: &[f64],
    nin: usize,
    x: &[f64],
    dy: &[f64],
    dw: &mut [f64],
    dx: &mut [f64],
) {
    debug_assert!(w.len() == dw.len() && x.len() == dx.len() && w.len().is_multiple_of(nin));
    let mut c = 0;
    while c + 16 <= nin {
        backward_block::<16, FMA>(w, nin, x, dy, dw, dx, c);
        c += 16;
    }
    while c + 4 <= nin {
        backward_block::<4, FMA>(w, nin, x, dy, dw, dx, c);
        c += 4;
    }
    while c < nin {
        backward_block::<1, FMA>(w, nin, x, dy, dw, dx, c);
        c += 1;
    }
}

/// Columns `c0 .. c0 + B` of [`linear_backward`].
#[inline(always)]
fn backward_block<const B: usize, const FMA: bool>(
    w: &[f64],
    nin: usize,
    x: &[f64],
    dy: &[f64],
    dw: &mut [f64],
    dx: &mut [f64],
    c0: usize,
) {
    let nout = w.len() / nin;
    let rows = x.len() / nin;
    for o in (0..nout).rev() {
        let at = o * nin + c0;
        let wb: [f64; B] = w[at..at + B].try_into().expect("a block of B");
        let mut dwb: [f64; B] = dw[at..at + B].try_into().expect("a block of B");
        for t in (0..rows).rev() {
            let g = dy[t * nout + o];
            let xt = &x[t * nin + c0..t * nin + c0 + B];
            let dxt = &mut dx[t * nin + c0..t * nin + c0 + B];
            for k in 0..B {
                // d(w*x)/dx = w: the product is `w * g`, as the reference writes
                // `local_grad * grad`.
                dxt[k] = mac::<FMA>(dxt[k], wb[k], g);
                // d(w*x)/dw = x
                dwb[k] = mac::<FMA>(dwb[k], xt[k], g);
            }
        }
        dw[at..at + B].copy_from_slice(&dwb);
    }
}

/// `t = w^T` for a row-major `w` of `rows` rows, each row of `t` padded to
/// `stride`; in 4 x 4 tiles so that both the reads and the writes run along rows.
pub(crate) fn transpose(w: &[f64], rows: usize, t: &mut [f64], stride: usize) {
    let cols = w.len() / rows;
    let (r4, c4) = (rows - rows % 4, cols - cols % 4);
    for r in (0..r4).step_by(4) {
        for c in (0..c4).step_by(4) {
            let row = |i: usize| -> [f64; 4] {
                w[(r + i) * cols + c..][..4].try_into().expect("4 values")
            };
            let (a, b, cc, d) = (row(0), row(1), row(2), row(3));
            for j in 0..4 {
                t[(c + j) * stride + r..][..4].copy_from_slice(&[a[j], b[j], cc[j], d[j]]);
            }
        }
    }
    // The ragged edges, one by one.
    for r in 0..rows {
        let from = if r < r4 { c4 } else { 0 };
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
        for (rows, cols) in [(1, 1), (4, 4), (5, 7), (27, 16), (16, 64), (3, 9)] {
            let w: Vec<f64> = (0..rows * cols).map(|k| k as f64).collect();
            let stride = rows + 3;
            let mut t = vec![-1.0; stride * cols];
            transpose(&w, rows, &mut t, stride);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(
                        t[c * stride + r],
                        w[r * cols + c],
                        "{rows}x{cols} at {r},{c}"
                    );
                }
            }
        }
    }

    #[test]
    fn linear_backward_adds_terms_in_the_reference_order() {
        // 41 columns make blocks of 16, 4 and 1; 3 rows, 5 outputs.
        let (nout, nin, rows) = (5, 41, 3);
        let w: Vec<f64> = (0..nout * nin).map(|k| ((k as f64) * 0.71).sin()).collect();
        let x: Vec<f64> = (0..rows * nin).map(|k| ((k as f64) * 0.3).cos()).collect();
        let dy: Vec<f64> = (0..rows * nout).map(|k| 1.0 / (k as f64 + 1.5)).collect();
        let (mut dw, mut dx) = (vec![0.25; w.len()], vec![0.5; rows * nin]);
        linear_backward::<false>(&w, nin, &x, &dy, &mut dw, &mut dx);
        for i in 0..nin {
            for t in 0..rows {
                // dX[t][i]: the outputs from last to first.
                let mut acc = 0.5;
                for o in (0..nout).rev() {
                    acc += w[o * nin + i] * dy[t * nout + o];
                }
                assert_eq!(acc.to_bits(), dx[t * nin + i].to_bits(), "dx[{t}][{i}]");
            }
            for o in 0..nout {
                // dW[o][i]: the rows from last to first.
                let mut acc = 0.25;
                for t in (0..rows).rev() {
                    acc += x[t * nin + i] * dy[t * nout + o];
                }
                assert_eq!(acc.to_bits(), dw[o * nin + i].to_bits(), "dw[{o}][{i}]");
            }
        }
    }

    #[test]
    fn matmul_t_sums_each_output_left_to_right() {
        // 37 outputs make a ragged last block, 3 rows a pair and a single; the sums
        // must equal plain loops bit for bit.
        let (nout, nin, rows): (usize, usize, usize) = (37, 5, 3);
        let w: Vec<f64> = (0..nout * nin).map(|k| ((k as f64) * 0.37).sin()).collect();
        let x: Vec<f64> = (0..rows * nin).map(|k| ((k as f64) * 1.3).cos()).collect();
        let stride = nout.next_multiple_of(LANES);
        let mut wt = vec![0.0; stride * nin];
        transpose(&w, nout, &mut wt, stride);
        let mut y = vec![0.0; rows * nout];
        matmul_t::<false>(&wt, stride, &x, &mut y);
        for t in 0..rows {
            for o in 0..nout {
                let mut acc = 0.0;
                for i in 0..nin {
                    acc += w[o * nin + i] * x[t * nin + i];
                }
                assert_eq!(
                    acc.to_bits(),
                    y[t * nout + o].to_bits(),
                    "row {t}, output {o}"
                );
            }
        }
    }
}
