//! The inner loops of the fused ops, kept apart so they can be tuned in one place.
//!
//! Every loop keeps the reference's order of summation for each output: vectorising
//! happens across independent outputs, never inside one sum.

/// `y[o] = sum_i w[o * nin + i] * x[i]`, each sum left to right from 0.
#[inline]
pub(crate) fn matvec(w: &[f64], x: &[f64], y: &mut [f64]) {
    let nin = x.len();
    debug_assert_eq!(w.len(), nin * y.len());
    for (yo, row) in y.iter_mut().zip(w.chunks_exact(nin)) {
        let mut acc = 0.0;
        for (wi, xi) in row.iter().zip(x) {
            acc += wi * xi;
        }
        *yo = acc;
    }
}

/// `y[i] += x[i] * a`. The product is `x * a`, the order the reference writes
/// `local_grad * grad` in.
#[inline]
pub(crate) fn axpy(y: &mut [f64], x: &[f64], a: f64) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += xi * a;
    }
}
