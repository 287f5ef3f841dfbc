//! The inner loops of the fused ops, kept apart so they can be tuned in one place.
//!
//! Every loop keeps the reference's order of summation for each output: vectorising
//! happens across independent outputs, never inside one sum. The loops are written
//! over fixed-size blocks so the compiler keeps the accumulators in registers.

/// `y[o] = sum_i wt[i * nout + o] * x[i]`, each sum left to right from 0: `W x`
/// from the transpose of a row-major `W`.
#[inline]
pub(crate) fn matvec_t(wt: &[f64], x: &[f64], y: &mut [f64]) {
    let nout = y.len();
    debug_assert_eq!(wt.len(), nout * x.len());
    let mut o = 0;
    while o + 32 <= nout {
        block::<32>(wt, x, nout, o, &mut y[o..o + 32]);
        o += 32;
    }
    while o + 8 <= nout {
        block::<8>(wt, x, nout, o, &mut y[o..o + 8]);
        o += 8;
    }
    while o < nout {
        block::<1>(wt, x, nout, o, &mut y[o..o + 1]);
        o += 1;
    }
}

/// Outputs `o0 .. o0 + B` of [`matvec_t`], accumulated in registers.
#[inline(always)]
fn block<const B: usize>(wt: &[f64], x: &[f64], nout: usize, o0: usize, y: &mut [f64]) {
    let mut acc = [0.0; B];
    for (i, &xi) in x.iter().enumerate() {
        let col = &wt[i * nout + o0..i * nout + o0 + B];
        for k in 0..B {
            acc[k] += col[k] * xi;
        }
    }
    y.copy_from_slice(&acc);
}

/// `y[i] += x[i] * a`. The product is `x * a`, the order the reference writes
/// `local_grad * grad` in.
#[inline]
pub(crate) fn axpy(y: &mut [f64], x: &[f64], a: f64) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += xi * a;
    }
}

/// `t = w^T` for a row-major `w` of `rows` rows.
pub(crate) fn transpose(w: &[f64], rows: usize, t: &mut [f64]) {
    let cols = w.len() / rows;
    for (r, row) in w.chunks_exact(cols).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            t[c * rows + r] = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matvec_t_sums_each_row_left_to_right() {
        // 37 rows exercise every block size; the sums must equal plain loops bit for bit.
        let (nout, nin) = (37, 5);
        let w: Vec<f64> = (0..nout * nin).map(|k| ((k as f64) * 0.37).sin()).collect();
        let x: Vec<f64> = (0..nin).map(|k| ((k as f64) * 1.3).cos()).collect();
        let mut wt = vec![0.0; w.len()];
        transpose(&w, nout, &mut wt);
        let mut y = vec![0.0; nout];
        matvec_t(&wt, &x, &mut y);
        for o in 0..nout {
            let mut acc = 0.0;
            for i in 0..nin {
                acc += w[o * nin + i] * x[i];
            }
            assert_eq!(acc.to_bits(), y[o].to_bits(), "row {o}");
        }
    }
}
