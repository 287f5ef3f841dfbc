//! The instruction set the hot loops run on, chosen when the program runs.
//!
//! The build targets each architecture's baseline (SSE2 on x86-64, NEON on
//! aarch64), so the binary runs on every CPU of its architecture. The hot loops
//! are written once, as plain Rust that the compiler vectorises, and each is
//! compiled again inside a wrapper with `#[target_feature]` for every wider
//! instruction set; [`dispatch`] calls the wrapper of the path chosen here:
//!
//! | path | on | vectors of f64 (of f32: twice as many) |
//! |---|---|---|
//! | `avx512` | x86-64 with AVX-512F | 8 |
//! | `avx2` | x86-64 with AVX2 | 4 |
//! | `sse2` | every x86-64 | 2 |
//! | `neon` | every aarch64 | 2 |
//! | `scalar` | everywhere | the baseline build |
//!
//! On x86-64 and aarch64 the `scalar` path is the baseline build itself, the same
//! code as `sse2` or `neon` (neither architecture has floating point outside its
//! vector registers, and the compiler vectorises a baseline build too); on any
//! other architecture it is the only path.
//!
//! # The same bits on every path
//! A path changes how many independent outputs one instruction computes, never the
//! order in which one output is summed, and no loop fuses a multiply and an add
//! (Rust never contracts `a * b + c` on its own, and the fast arithmetic writes no
//! `mul_add`): so every path computes the same bits as the scalar one.
//! `crates/train/tests/simd_paths.rs` trains on every path the CPU has and
//! compares every value.
//!
//! # Choosing a path
//! The widest path the CPU has, unless the environment variable `MICROGPT_SIMD`
//! names one (`scalar`, `sse2`, `avx2`, `avx512`, `neon`). A name that is unknown,
//! or a path this CPU lacks, is an error, not a silent fallback: a forced path is
//! a measurement or a test, and running another one would mislead it.
//! [`init`] reports it as a [`SimdError`] (the command line calls it first and
//! prints it); [`path`] panics with the same message if nothing called [`init`].
//!
//! This is the one module of the workspace allowed `unsafe`: calling a function
//! compiled for an instruction set is sound only on a CPU that has it.

#![allow(unsafe_code)]

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

/// An instruction set the hot loops can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimdPath {
    /// The baseline build of the architecture, with no wider instruction set.
    Scalar,
    /// x86-64's baseline: 128-bit vectors, two f64 each.
    Sse2,
    /// x86-64 with AVX2: 256-bit vectors, four f64 each.
    Avx2,
    /// x86-64 with AVX-512F: 512-bit vectors, eight f64 each.
    Avx512,
    /// aarch64's baseline: 128-bit vectors, two f64 each.
    Neon,
}

/// Every path, widest first.
const ALL: [SimdPath; 5] = [
    SimdPath::Avx512,
    SimdPath::Avx2,
    SimdPath::Sse2,
    SimdPath::Neon,
    SimdPath::Scalar,
];

/// The environment variable that forces a path.
pub const ENV_VAR: &str = "MICROGPT_SIMD";

impl SimdPath {
    /// Its name, as `MICROGPT_SIMD` takes it.
    pub fn name(self) -> &'static str {
        match self {
            SimdPath::Scalar => "scalar",
            SimdPath::Sse2 => "sse2",
            SimdPath::Avx2 => "avx2",
            SimdPath::Avx512 => "avx512",
            SimdPath::Neon => "neon",
        }
    }

    /// The width of its vector registers, in bytes (the baseline's on the scalar
    /// path, which is the baseline build).
    pub fn vector_bytes(self) -> usize {
        match self {
            SimdPath::Avx512 => 64,
            SimdPath::Avx2 => 32,
            SimdPath::Sse2 | SimdPath::Neon | SimdPath::Scalar => 16,
        }
    }

    /// The path named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<SimdPath> {
        ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether this CPU can run the path.
    pub fn is_available(self) -> bool {
        match self {
            SimdPath::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            SimdPath::Sse2 => true,
            #[cfg(target_arch = "x86_64")]
            SimdPath::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            SimdPath::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "aarch64")]
            SimdPath::Neon => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Every path this CPU can run, widest first (the scalar one last).
    pub fn available() -> Vec<SimdPath> {
        ALL.into_iter().filter(|p| p.is_available()).collect()
    }

    /// The widest path this CPU can run.
    pub fn widest() -> SimdPath {
        ALL.into_iter()
            .find(|p| p.is_available())
            .unwrap_or(SimdPath::Scalar)
    }

    fn to_u8(self) -> u8 {
        ALL.iter().position(|&p| p == self).expect("a path") as u8 + 1
    }

    fn from_u8(v: u8) -> SimdPath {
        ALL[usize::from(v - 1)]
    }
}

impl fmt::Display for SimdPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why `MICROGPT_SIMD` could not be followed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimdError {
    /// The value names no path.
    Unknown(String),
    /// The path exists, but this CPU cannot run it.
    Unavailable(SimdPath),
}

impl fmt::Display for SimdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let have = SimdPath::available()
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(", ");
        match self {
            SimdError::Unknown(v) => write!(
                f,
                "{ENV_VAR}={v:?} names no SIMD path; use one of {}, or unset it (this CPU has {have})",
                ALL.map(SimdPath::name).join(", ")
            ),
            SimdError::Unavailable(p) => write!(
                f,
                "{ENV_VAR}={p}: this CPU cannot run the {p} path; it has {have}"
            ),
        }
    }
}

impl std::error::Error for SimdError {}

/// The path `MICROGPT_SIMD` asks for (`value`, if set), or the widest.
pub fn choose(value: Option<&str>) -> Result<SimdPath, SimdError> {
    match value.map(str::trim) {
        None | Some("") => Ok(SimdPath::widest()),
        Some(v) => {
            let p = SimdPath::from_name(&v.to_ascii_lowercase())
                .ok_or_else(|| SimdError::Unknown(v.to_string()))?;
            if p.is_available() {
                Ok(p)
            } else {
                Err(SimdError::Unavailable(p))
            }
        }
    }
}

/// The path of this process, 0 until chosen: read on every [`dispatch`].
static CURRENT: AtomicU8 = AtomicU8::new(0);
/// The choice made from the environment, once.
static FROM_ENV: OnceLock<Result<SimdPath, SimdError>> = OnceLock::new();

/// Chooses the path from `MICROGPT_SIMD` and the CPU, once, and returns it.
///
/// # Errors
/// If `MICROGPT_SIMD` names no path, or a path this CPU lacks.
pub fn init() -> Result<SimdPath, SimdError> {
    let chosen = FROM_ENV.get_or_init(|| {
        let value = std::env::var(ENV_VAR).ok();
        choose(value.as_deref())
    });
    let p = chosen.clone()?;
    // A path set by `force` before stays.
    let _ = CURRENT.compare_exchange(0, p.to_u8(), Ordering::Relaxed, Ordering::Relaxed);
    Ok(SimdPath::from_u8(CURRENT.load(Ordering::Relaxed)))
}

/// The path the hot loops run on.
///
/// # Panics
/// On first use, if `MICROGPT_SIMD` cannot be followed and [`init`] was not
/// called to report it.
#[inline]
pub fn path() -> SimdPath {
    match CURRENT.load(Ordering::Relaxed) {
        0 => init().unwrap_or_else(|e| panic!("{e}")),
        v => SimdPath::from_u8(v),
    }
}

/// Runs every later hot loop of the process on `p`, whatever `MICROGPT_SIMD`
/// says: for tests and benchmarks that compare paths within one process. (Every
/// path computes the same bits, so a thread that sees the switch mid-step
/// still computes what it would have.)
///
/// # Errors
/// If this CPU cannot run `p`.
pub fn force(p: SimdPath) -> Result<(), SimdError> {
    if !p.is_available() {
        return Err(SimdError::Unavailable(p));
    }
    CURRENT.store(p.to_u8(), Ordering::Relaxed);
    Ok(())
}

/// Runs `f` compiled for the chosen path.
///
/// `f` must be a closure marked `#[inline(always)]`
/// (`dispatch(#[inline(always)] || ...)`): it is then compiled into each path's
/// wrapper, with that path's instruction set. Functions it calls are compiled
/// into it if they are inlined; the kernels mark theirs `#[inline(always)]`.
#[inline]
pub fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    match path() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `path()` is `Avx512` only if `is_available` saw AVX-512F on
        // this CPU (`force` and `choose` both check), so its instructions exist.
        SimdPath::Avx512 => unsafe { x86::avx512(f) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above, for AVX2.
        SimdPath::Avx2 => unsafe { x86::avx2(f) },
        // SSE2 and NEON are the baselines of x86-64 and aarch64: the plain build
        // already uses them.
        _ => f(),
    }
}

/// `t = w^T` for the whole tiles of a row-major `w` of `rows` rows (8 x 8 on the
/// AVX-512 path, 4 x 4 on the AVX2 one: the first `rows - rows % n` rows and
/// `cols - cols % n` columns), each row of `t` `stride` long, with the path's
/// shuffles; returns the tile size `n`, or `None` on a path without its own. The
/// compiler makes slow code of a generic tile transpose (it spills the tile and
/// moves values one by one), and these move only bits: every path still computes
/// the same numbers.
pub(crate) fn transpose_tiles(
    w: &[f64],
    rows: usize,
    t: &mut [f64],
    stride: usize,
) -> Option<usize> {
    match path() {
        #[cfg(target_arch = "x86_64")]
        SimdPath::Avx512 => {
            // SAFETY: the path is `Avx512` only on a CPU with AVX-512F (see `dispatch`).
            unsafe { x86::transpose_tiles_avx512(w, rows, t, stride) };
            Some(8)
        }
        #[cfg(target_arch = "x86_64")]
        SimdPath::Avx2 => {
            // SAFETY: the path is `Avx2` only on a CPU with AVX2 (see `dispatch`).
            unsafe { x86::transpose_tiles_avx2(w, rows, t, stride) };
            Some(4)
        }
        _ => {
            let _ = (w, rows, t, stride);
            None
        }
    }
}

/// [`transpose_tiles`] of `f32`s: 8 x 8 tiles on the AVX2 and AVX-512 paths (an
/// AVX2 tile of eight rows of eight `f32`s, one 256-bit register each), `None`
/// on the others.
pub(crate) fn transpose_tiles_f32(
    w: &[f32],
    rows: usize,
    t: &mut [f32],
    stride: usize,
) -> Option<usize> {
    match path() {
        #[cfg(target_arch = "x86_64")]
        SimdPath::Avx512 | SimdPath::Avx2 if std::arch::is_x86_feature_detected!("avx2") => {
            // SAFETY: this CPU has AVX2, checked just above.
            unsafe { x86::transpose_tiles_f32_avx2(w, rows, t, stride) };
            Some(8)
        }
        _ => {
            let _ = (w, rows, t, stride);
            None
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{
        __m256, __m256d, __m512d, _mm256_loadu_pd, _mm256_loadu_ps, _mm256_permute2f128_pd,
        _mm256_permute2f128_ps, _mm256_shuffle_ps, _mm256_storeu_pd, _mm256_storeu_ps,
        _mm256_unpackhi_pd, _mm256_unpackhi_ps, _mm256_unpacklo_pd, _mm256_unpacklo_ps,
        _mm512_loadu_pd, _mm512_permutex2var_pd, _mm512_set_epi64, _mm512_shuffle_f64x2,
        _mm512_storeu_pd, _mm512_unpackhi_pd, _mm512_unpacklo_pd,
    };

    /// See [`super::transpose_tiles`].
    #[target_feature(enable = "avx2")]
    pub(super) fn transpose_tiles_avx2(w: &[f64], rows: usize, t: &mut [f64], stride: usize) {
        let cols = w.len() / rows;
        let (rn, cn) = (rows - rows % 4, cols - cols % 4);
        for r in (0..rn).step_by(4) {
            for c in (0..cn).step_by(4) {
                let row = |i: usize| -> __m256d {
                    let s: &[f64] = &w[(r + i) * cols + c..][..4];
                    // SAFETY: `s` holds 4 f64, the 32 bytes the unaligned load reads.
                    unsafe { _mm256_loadu_pd(s.as_ptr()) }
                };
                let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
                // (r0[0], r1[0], r0[2], r1[2]) and (r0[1], r1[1], r0[3], r1[3]), and
                // the same of rows 2 and 3.
                let (e01, o01) = (_mm256_unpacklo_pd(r0, r1), _mm256_unpackhi_pd(r0, r1));
                let (e23, o23) = (_mm256_unpacklo_pd(r2, r3), _mm256_unpackhi_pd(r2, r3));
                // Low halves make columns 0 and 1, high halves columns 2 and 3.
                let cols4 = [
                    _mm256_permute2f128_pd::<0x20>(e01, e23),
                    _mm256_permute2f128_pd::<0x20>(o01, o23),
                    _mm256_permute2f128_pd::<0x31>(e01, e23),
                    _mm256_permute2f128_pd::<0x31>(o01, o23),
                ];
                for (j, v) in cols4.into_iter().enumerate() {
                    let s: &mut [f64] = &mut t[(c + j) * stride + r..][..4];
                    // SAFETY: `s` holds 4 f64, the 32 bytes the unaligned store writes.
                    unsafe { _mm256_storeu_pd(s.as_mut_ptr(), v) };
                }
            }
        }
    }

    /// See [`super::transpose_tiles_f32`].
    #[target_feature(enable = "avx2")]
    pub(super) fn transpose_tiles_f32_avx2(w: &[f32], rows: usize, t: &mut [f32], stride: usize) {
        let cols = w.len() / rows;
        let (rn, cn) = (rows - rows % 8, cols - cols % 8);
        for r in (0..rn).step_by(8) {
            for c in (0..cn).step_by(8) {
                let row = |i: usize| -> __m256 {
                    let s: &[f32] = &w[(r + i) * cols + c..][..8];
                    // SAFETY: `s` holds 8 f32, the 32 bytes the unaligned load reads.
                    unsafe { _mm256_loadu_ps(s.as_ptr()) }
                };
                let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
                let (r4, r5, r6, r7) = (row(4), row(5), row(6), row(7));
                // Rows i, i+1 interleaved, per 128-bit half: (ri[0], ri+1[0], ri[1],
                // ri+1[1] | ri[4], ri+1[4], ...) and the same of the odd pairs.
                let (a0, a1) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
                let (a2, a3) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
                let (a4, a5) = (_mm256_unpacklo_ps(r4, r5), _mm256_unpackhi_ps(r4, r5));
                let (a6, a7) = (_mm256_unpacklo_ps(r6, r7), _mm256_unpackhi_ps(r6, r7));
                // Four rows' columns j (low half) and j + 4 (high half).
                let b0 = _mm256_shuffle_ps::<0x44>(a0, a2);
                let b1 = _mm256_shuffle_ps::<0xEE>(a0, a2);
                let b2 = _mm256_shuffle_ps::<0x44>(a1, a3);
                let b3 = _mm256_shuffle_ps::<0xEE>(a1, a3);
                let b4 = _mm256_shuffle_ps::<0x44>(a4, a6);
                let b5 = _mm256_shuffle_ps::<0xEE>(a4, a6);
                let b6 = _mm256_shuffle_ps::<0x44>(a5, a7);
                let b7 = _mm256_shuffle_ps::<0xEE>(a5, a7);
                // The low halves make columns 0 to 3, the high halves 4 to 7.
                let cols8 = [
                    _mm256_permute2f128_ps::<0x20>(b0, b4),
                    _mm256_permute2f128_ps::<0x20>(b1, b5),
                    _mm256_permute2f128_ps::<0x20>(b2, b6),
                    _mm256_permute2f128_ps::<0x20>(b3, b7),
                    _mm256_permute2f128_ps::<0x31>(b0, b4),
                    _mm256_permute2f128_ps::<0x31>(b1, b5),
                    _mm256_permute2f128_ps::<0x31>(b2, b6),
                    _mm256_permute2f128_ps::<0x31>(b3, b7),
                ];
                for (j, v) in cols8.into_iter().enumerate() {
                    let s: &mut [f32] = &mut t[(c + j) * stride + r..][..8];
                    // SAFETY: `s` holds 8 f32, the 32 bytes the unaligned store writes.
                    unsafe { _mm256_storeu_ps(s.as_mut_ptr(), v) };
                }
            }
        }
    }

    /// See [`super::transpose_tiles`].
    #[target_feature(enable = "avx512f")]
    pub(super) fn transpose_tiles_avx512(w: &[f64], rows: usize, t: &mut [f64], stride: usize) {
        let cols = w.len() / rows;
        let (rn, cn) = (rows - rows % 8, cols - cols % 8);
        // Element k of the result is a's element idx[k], or b's if idx[k] >= 8.
        let pairs_lo = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
        let pairs_hi = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
        for r in (0..rn).step_by(8) {
            for c in (0..cn).step_by(8) {
                let row = |i: usize| -> __m512d {
                    let s: &[f64] = &w[(r + i) * cols + c..][..8];
                    // SAFETY: `s` holds 8 f64, the 64 bytes the unaligned load reads.
                    unsafe { _mm512_loadu_pd(s.as_ptr()) }
                };
                let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
                let (r4, r5, r6, r7) = (row(4), row(5), row(6), row(7));
                // Rows i, i+1 interleaved: (ri[0], ri+1[0], ri[2], ri+1[2], ...).
                let (e01, o01) = (_mm512_unpacklo_pd(r0, r1), _mm512_unpackhi_pd(r0, r1));
                let (e23, o23) = (_mm512_unpacklo_pd(r2, r3), _mm512_unpackhi_pd(r2, r3));
                let (e45, o45) = (_mm512_unpacklo_pd(r4, r5), _mm512_unpackhi_pd(r4, r5));
                let (e67, o67) = (_mm512_unpacklo_pd(r6, r7), _mm512_unpackhi_pd(r6, r7));
                // Four rows' column j and j+4: (r0[j], r1[j], r2[j], r3[j], r0[j+4], ...).
                let c04a = _mm512_permutex2var_pd(e01, pairs_lo, e23);
                let c26a = _mm512_permutex2var_pd(e01, pairs_hi, e23);
                let c15a = _mm512_permutex2var_pd(o01, pairs_lo, o23);
                let c37a = _mm512_permutex2var_pd(o01, pairs_hi, o23);
                let c04b = _mm512_permutex2var_pd(e45, pairs_lo, e67);
                let c26b = _mm512_permutex2var_pd(e45, pairs_hi, e67);
                let c15b = _mm512_permutex2var_pd(o45, pairs_lo, o67);
                let c37b = _mm512_permutex2var_pd(o45, pairs_hi, o67);
                // The low halves make column j, the high halves column j+4.
                let cols8 = [
                    _mm512_shuffle_f64x2::<0x44>(c04a, c04b),
                    _mm512_shuffle_f64x2::<0x44>(c15a, c15b),
                    _mm512_shuffle_f64x2::<0x44>(c26a, c26b),
                    _mm512_shuffle_f64x2::<0x44>(c37a, c37b),
                    _mm512_shuffle_f64x2::<0xEE>(c04a, c04b),
                    _mm512_shuffle_f64x2::<0xEE>(c15a, c15b),
                    _mm512_shuffle_f64x2::<0xEE>(c26a, c26b),
                    _mm512_shuffle_f64x2::<0xEE>(c37a, c37b),
                ];
                for (j, v) in cols8.into_iter().enumerate() {
                    let s: &mut [f64] = &mut t[(c + j) * stride + r..][..8];
                    // SAFETY: `s` holds 8 f64, the 64 bytes the unaligned store writes.
                    unsafe { _mm512_storeu_pd(s.as_mut_ptr(), v) };
                }
            }
        }
    }

    /// `f` with AVX-512F (which implies AVX2 and FMA to the compiler).
    #[target_feature(enable = "avx512f")]
    pub(super) fn avx512<R>(f: impl FnOnce() -> R) -> R {
        f()
    }

    /// `f` with AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn avx2<R>(f: impl FnOnce() -> R) -> R {
        f()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_values_are_refused() {
        for p in ALL {
            assert_eq!(SimdPath::from_name(p.name()), Some(p));
            assert_eq!(SimdPath::from_u8(p.to_u8()), p);
        }
        assert_eq!(choose(None), Ok(SimdPath::widest()));
        assert_eq!(choose(Some("")), Ok(SimdPath::widest()));
        assert_eq!(choose(Some(" Scalar ")), Ok(SimdPath::Scalar));
        let e = choose(Some("avx3")).unwrap_err();
        assert_eq!(e, SimdError::Unknown("avx3".into()));
        assert!(
            e.to_string().contains("avx512, avx2, sse2, neon, scalar"),
            "{e}"
        );
        // A path of another architecture is never available here.
        #[cfg(target_arch = "x86_64")]
        let foreign = SimdPath::Neon;
        #[cfg(not(target_arch = "x86_64"))]
        let foreign = SimdPath::Avx2;
        assert_eq!(
            choose(Some(foreign.name())),
            Err(SimdError::Unavailable(foreign))
        );
        assert!(SimdPath::available().ends_with(&[SimdPath::Scalar]));
    }

    #[test]
    fn the_widest_path_matches_what_the_cpu_reports() {
        #[cfg(target_arch = "x86_64")]
        {
            let expected = if std::arch::is_x86_feature_detected!("avx512f") {
                SimdPath::Avx512
            } else if std::arch::is_x86_feature_detected!("avx2") {
                SimdPath::Avx2
            } else {
                SimdPath::Sse2
            };
            assert_eq!(SimdPath::widest(), expected);
        }
        #[cfg(target_arch = "aarch64")]
        assert_eq!(SimdPath::widest(), SimdPath::Neon);
    }
}
