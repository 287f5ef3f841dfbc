//! The backward pass of `Y = X W^T` in two halves, for an op split among threads:
//! `dW` by rows of `W`, `dX` by rows of `X`, each half a loop of its own.
//!
//! `kernels::linear_backward` computes both in one sweep over `W`, which is
//! faster on one thread; but a thread given some rows of `W` cannot also own whole
//! rows of `dX`. Each gradient here receives the same terms in the same order as
//! there (`dX[t][i]` from the last output `o` to the first, `dW[o][i]` from the
//! last row `t` to the first), one multiply-add at a time with the same rounding,
//! so the two ways give the same bits.

use crate::kernels::mac;

/// `dW[o] += sum_t dY[t][o] X[t]` for the rows `o0 .. o0 + dw.len() / nin` of
/// `dW`, the rows `t` from last to first; `dy` is `(T, nout)`.
pub(crate) fn linear_backward_dw<const FMA: bool>(
    nin: usize,
    nout: usize,
    x: &[f64],
    dy: &[f64],
    dw: &mut [f64],
    o0: usize,
) {
    let mut c = 0;
    while c + 16 <= nin {
        dw_block::<16, FMA>(nin, nout, x, dy, dw, o0, c);
        c += 16;
    }
    while c + 4 <= nin {
        dw_block::<4, FMA>(nin, nout, x, dy, dw, o0, c);
        c += 4;
    }
    while c < nin {
        dw_block::<1, FMA>(nin, nout, x, dy, dw, o0, c);
        c += 1;
    }
}

/// Columns `c0 .. c0 + B` of [`linear_backward_dw`], a row of `dW` at a time in
/// registers.
#[inline(always)]
fn dw_block<const B: usize, const FMA: bool>(
    nin: usize,
    nout: usize,
    x: &[f64],
    dy: &[f64],
    dw: &mut [f64],
    o0: usize,
    c0: usize,
) {
    let rows = x.len() / nin;
    for k in (0..dw.len() / nin).rev() {
        let (o, at) = (o0 + k, k * nin + c0);
        let mut dwb: [f64; B] = dw[at..at + B].try_into().expect("a block of B");
        for t in (0..rows).rev() {
            let g = dy[t * nout + o];
            let xt = &x[t * nin + c0..t * nin + c0 + B];
            for k in 0..B {
                // d(w*x)/dw = x
                dwb[k] = mac::<FMA>(dwb[k], xt[k], g);
            }
        }
        dw[at..at + B].copy_from_slice(&dwb);
    }
}

/// `dX[t] += sum_o dY[t][o] W[o]` for the rows of `dx` (and of `dy`, `(T, nout)`),
/// the outputs `o` from last to first; `w` is `(nout, nin)` row-major.
pub(crate) fn linear_backward_dx<const FMA: bool>(
    w: &[f64],
    nin: usize,
    dy: &[f64],
    dx: &mut [f64],
) {
    let mut c = 0;
    while c + 16 <= nin {
        dx_block::<16, FMA>(w, nin, dy, dx, c);
        c += 16;
    }
    while c + 4 <= nin {
        dx_block::<4, FMA>(w, nin, dy, dx, c);
        c += 4;
    }
    while c < nin {
        dx_block::<1, FMA>(w, nin, dy, dx, c);
        c += 1;
    }
}

/// Columns `c0 .. c0 + B` of [`linear_backward_dx`]: a block of `W[o]` in
/// registers while every row passes.
#[inline(always)]
fn dx_block<const B: usize, const FMA: bool>(
    w: &[f64],
    nin: usize,
    dy: &[f64],
    dx: &mut [f64],
    c0: usize,
) {
    let nout = w.len() / nin;
    let rows = dx.len() / nin;
    for o in (0..nout).rev() {
        let at = o * nin + c0;
        let wb: [f64; B] = w[at..at + B].try_into().expect("a block of B");
        for t in 0..rows {
            let g = dy[t * nout + o];
            let dxt = &mut dx[t * nin + c0..t * nin + c0 + B];
            for k in 0..B {
                // d(w*x)/dx = w: the product is `w * g`, as the reference writes
                // `local_grad * grad`.
                dxt[k] = mac::<FMA>(dxt[k], wb[k], g);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::linear_backward;

    #[test]
    fn the_halves_give_the_bits_of_the_whole() {
        // 41 columns make blocks of 16, 4 and 1; 5 rows, 7 outputs.
        let (nout, nin, rows) = (7, 41, 5);
        let w: Vec<f64> = (0..nout * nin).map(|k| ((k as f64) * 0.71).sin()).collect();
        let x: Vec<f64> = (0..rows * nin).map(|k| ((k as f64) * 0.3).cos()).collect();
        let dy: Vec<f64> = (0..rows * nout).map(|k| 1.0 / (k as f64 + 1.5)).collect();
        let (mut dw, mut dx) = (vec![0.25; w.len()], vec![0.5; rows * nin]);
        linear_backward::<true>(&w, nin, &x, &dy, &mut dw, &mut dx);
        let (mut dw2, mut dx2) = (vec![0.25; w.len()], vec![0.5; rows * nin]);
        // dW in two pieces of rows, dX in two pieces of rows.
        let (top, bottom) = dw2.split_at_mut(3 * nin);
        linear_backward_dw::<true>(nin, nout, &x, &dy, top, 0);
        linear_backward_dw::<true>(nin, nout, &x, &dy, bottom, 3);
        let (first, rest) = dx2.split_at_mut(2 * nin);
        linear_backward_dx::<true>(&w, nin, &dy[..2 * nout], first);
        linear_backward_dx::<true>(&w, nin, &dy[2 * nout..], rest);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&dw), bits(&dw2));
        assert_eq!(bits(&dx), bits(&dx2));
    }
}
