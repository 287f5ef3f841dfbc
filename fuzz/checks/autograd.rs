//! The autograd check, shared by the `autograd` fuzz target and the regression test
//! `crates/autograd/tests/fuzz_regressions.rs`: arbitrary bytes as a small program of
//! graph ops.
//!
//! The bytes are read as: a few leaves (finite, in [-4, 4)), then ops, each over
//! nodes or spans made before it and sized so that the op is valid: the scalar ops
//! (`add mul sub div neg pow log exp relu sum`, with nodes or plain numbers) and the
//! fused ones over blocks of rows (`linear linear_into rmsnorm relu_sq add_vec
//! attention cross_entropy embed`). Now and then a few ops are made after a mark and
//! truncated away, so that later ops reuse their slots (and must not see anything
//! cached about them), as a training step does. The root is a weighted sum of every
//! node made. Reading past the end of the bytes gives zeros, so every input is a
//! program.
//!
//! Whatever the values, building the graph and both backward passes must not panic.
//! Where every value is finite and moderate, each leaf's gradient from
//! [`Graph::backward`] and from [`Graph::backward_depth_first`] must match central
//! differences. A leaf is not compared where differences cannot be trusted: where a
//! `relu` input is within reach of the kink at 0, a `log`/`pow` input within reach of
//! its pole at 0, a logit or rmsnorm input moves too far for its bend, or where
//! halving the step moves the difference itself.

use autograd::{Arith, AttentionShape, Graph, Span, Var};

/// Leaves in a program, at most.
const MAX_LEAVES: usize = 16;
/// Ops in a program, at most.
const MAX_OPS: usize = 40;
/// Nodes usable as operands, at most; ops past it are not read.
const MAX_NODES: usize = 400;
/// Values at or beyond this magnitude are not "moderate": no gradient comparison.
const MODERATE: f64 = 1e6;
/// The finite-difference step, relative to `max(1, |x|)`.
const STEP: f64 = 1e-5;
/// How far, in units of its bend, a curved op's input may move over the step.
const CURVE: f64 = 1e-3;
/// Allowed relative disagreement between a gradient and its difference quotient.
const RTOL: f64 = 1e-5;
/// Rounding allowance, in units of `eps * magnitude`, for the sums a program makes.
const ROUNDING: f64 = 512.0;
/// Plain numbers that ops mix with nodes.
const CONSTS: [f64; 9] = [-2.0, -1.0, -0.5, 0.0, 0.1, 0.5, 1.0, 2.0, 3.0];
/// Exponents of `pow`: those the model uses, and a few more.
const EXPONENTS: [f64; 9] = [0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, -0.5, 1.5];
/// Attention scales.
const SCALES: [f64; 4] = [1.0, 0.5, std::f64::consts::FRAC_1_SQRT_2, -0.3];

/// What one input did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Ops that ran (ops whose operands could not be found are skipped).
    pub(crate) ops: usize,
    /// Whether every value was finite and moderate, so gradients were compared.
    pub(crate) moderate: bool,
    /// Leaves whose gradients were compared with finite differences.
    pub(crate) compared: usize,
    /// Leaves left out because a difference quotient could not be trusted there.
    pub(crate) skipped: usize,
}

/// Runs every check on `data`; panics with a message naming the broken invariant.
pub(crate) fn check(data: &[u8]) -> Outcome {
    let base = run(data, None, true);
    let mut outcome = Outcome {
        ops: base.ops,
        ..Outcome::default()
    };
    // Both backward passes, on the same graph: neither may panic, whatever the values.
    // Each node's rounding error reaches the root times the node's gradient: the sum
    // of |gradient * value| over the nodes says what rounding does to the root.
    let mut g = base.graph.clone();
    let sensitivity = |g: &Graph| {
        base.nodes
            .iter()
            .map(|&v| (g.grad(v) * g.value(v)).abs())
            .sum::<f64>()
    };
    g.backward(base.root);
    let tape: Vec<f64> = g.grads(base.leaves).to_vec();
    let tape_sensitivity = sensitivity(&g);
    g.zero_grad();
    g.backward_depth_first(base.root);
    let depth_first: Vec<f64> = g.grads(base.leaves).to_vec();
    // The smaller of the two, so that one wrong pass cannot widen its own tolerance.
    let sensitivity = tape_sensitivity.min(sensitivity(&g));

    let Some(magnitude) = base.magnitude() else {
        return outcome; // something is not finite and moderate: no promise to keep
    };
    outcome.moderate = true;
    // What rounding can do to one evaluation of the root.
    let value_noise = ROUNDING * f64::EPSILON * magnitude.max(sensitivity);
    let grad_scale = tape
        .iter()
        .chain(&depth_first)
        .fold(0.0_f64, |m, g| m.max(g.abs()));
    let grad_noise = ROUNDING * f64::EPSILON * grad_scale.max(1.0);

    let x0 = base.graph.values(base.leaves).to_vec();
    for i in 0..x0.len() {
        let h = STEP * x0[i].abs().max(1.0);
        let (Some(coarse), Some(fine)) = (
            difference(data, &base, &x0, i, h),
            difference(data, &base, &x0, i, h / 2.0),
        ) else {
            outcome.skipped += 1;
            continue;
        };
        // What rounding and truncation can do to a difference quotient; rounding in
        // a quotient grows as the step shrinks.
        let fd_tol = |a: f64, b: f64| RTOL * a.abs().max(b.abs()) + 2.0 * value_noise / (h / 2.0);
        // ... and to a gradient, the sum of many terms.
        let tol = |a: f64, b: f64| fd_tol(a, b) + grad_noise;
        // Differences that move when the step halves are not converged: no verdict.
        // (Not `tol`: a huge gradient, such as that of rmsnorm nested on zeros, whose
        // slope is 316 a level, must not widen the test of the quotients.)
        if (coarse - fine).abs() > fd_tol(coarse, fine) {
            outcome.skipped += 1;
            continue;
        }
        for (pass, grad) in [("backward", &tape), ("backward_depth_first", &depth_first)] {
            let g = grad[i];
            assert!(
                (g - fine).abs() <= tol(g, fine),
                "{pass}: d(root)/d(leaf {i}) = {g:e}, but central differences give {fine:e} \
                 (step {h:e}: {coarse:e}); tolerance {:e}\nleaves: {x0:?}\nprogram:\n{}",
                tol(g, fine),
                base.trace.join("\n")
            );
        }
        outcome.compared += 1;
    }
    outcome
}

/// The program `data` makes, one op per line, as the check prints it.
#[allow(dead_code)] // used by the regression test, not by the fuzz target
pub(crate) fn program(data: &[u8]) -> String {
    run(data, None, true).trace.join("\n")
}

/// The central difference quotient of the root in leaf `i` with step `h`, or `None`
/// where it cannot be trusted: a value stops being finite and moderate, an input of
/// a `relu` or of a `log`/`pow` comes within reach of its kink or pole, or an input
/// of a curved op moves too far for a quotient to see its slope.
fn difference(data: &[u8], base: &Run, x0: &[f64], i: usize, h: f64) -> Option<f64> {
    let mut x = x0.to_vec();
    x[i] = x0[i] + h;
    let plus = run(data, Some(&x), false);
    x[i] = x0[i] - h;
    let minus = run(data, Some(&x), false);
    plus.magnitude()?;
    minus.magnitude()?;
    // The inputs of kinks and poles must be recorded in the same order each run.
    assert_eq!(plus.watch.len(), base.watch.len());
    assert_eq!(minus.watch.len(), base.watch.len());
    for ((w0, wp), wm) in base.watch.iter().zip(&plus.watch).zip(&minus.watch) {
        let (a0, ap, am) = (w0.value, wp.value, wm.value);
        // How far the input moves over the step: the kink or pole must be further.
        let reach = (ap - a0).abs().max((am - a0).abs());
        let clear = match w0.kind {
            Watch::Kink => {
                (a0 > 0.0) == (ap > 0.0) && (a0 > 0.0) == (am > 0.0) && a0.abs() > 2.0 * reach
            }
            Watch::Pole => a0.abs() > 300.0 * reach,
            Watch::Curve => reach <= CURVE * w0.scale,
        };
        if !clear {
            return None;
        }
    }
    // Divide by the step the floats actually took.
    let (xp, xm) = (x0[i] + h, x0[i] - h);
    Some((plus.graph.value(plus.root) - minus.graph.value(minus.root)) / (xp - xm))
}

/// An input whose value must stay clear of a point where the op is not smooth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Watch {
    /// `relu` (alone or in `relu_sq`): a kink at 0.
    Kink,
    /// `log`, and `pow` with a negative or fractional exponent: a pole, or an
    /// infinite slope, at 0.
    Pole,
    /// Smooth, but bending over a distance of `scale` of this input: `exp` and the
    /// softmaxes' logits (scale 1), rmsnorm's inputs (the row's rms). A step that
    /// moves it further sees a chord, not the slope: logits a million apart that
    /// tie at one point swing the softmax from uniform to one-hot within 1e-7.
    Curve,
}

#[derive(Clone, Copy, Debug)]
struct Watched {
    kind: Watch,
    value: f64,
    /// For [`Watch::Curve`], the distance over which the op bends.
    scale: f64,
}

/// One execution of a program.
struct Run {
    graph: Graph,
    leaves: Span,
    root: Var,
    /// Every node made, in order: the root's terms.
    nodes: Vec<Var>,
    /// The inputs to keep clear of kinks and poles, in the order the ops ran.
    watch: Vec<Watched>,
    ops: usize,
    /// The program, one line per op, when asked for.
    trace: Vec<String>,
}

impl Run {
    /// The largest magnitude of a node or of a term of the root, if every value is
    /// finite and moderate.
    fn magnitude(&self) -> Option<f64> {
        let mut max = 0.0_f64;
        let mut terms = 0.0;
        for (k, &v) in self.nodes.iter().enumerate() {
            let x = self.graph.value(v);
            if !x.is_finite() || x.abs() >= MODERATE {
                return None;
            }
            max = max.max(x.abs());
            terms += (weight(k) * x).abs();
        }
        let root = self.graph.value(self.root);
        (root.abs() < MODERATE).then_some(max.max(terms))
    }
}

/// The weight of the `k`-th node in the root: distinct enough that no two nodes'
/// mistakes cancel.
fn weight(k: usize) -> f64 {
    1.0 + 0.25 * (k % 5) as f64 - 0.125 * (k % 3) as f64
}

/// The bytes of a program, read front to back; past the end every byte is 0.
struct Bytes<'a> {
    data: &'a [u8],
}

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// A number in `0..n`, `n > 0`.
    fn below(&mut self, n: usize) -> usize {
        if n <= 256 {
            usize::from(self.byte()) % n
        } else {
            usize::from(u16::from_le_bytes([self.byte(), self.byte()])) % n
        }
    }

    /// A number in `1..=n`.
    fn upto(&mut self, n: usize) -> usize {
        1 + self.below(n)
    }

    fn pick<T: Copy>(&mut self, options: &[T]) -> T {
        options[self.below(options.len())]
    }

    fn arith(&mut self) -> Arith {
        if self.byte() & 1 == 0 {
            Arith::Fast
        } else {
            Arith::Exact
        }
    }
}

/// A node, or a plain number, as an operand.
#[derive(Clone, Copy)]
enum Operand {
    Var(Var),
    Const(f64),
}

impl std::fmt::Display for Operand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Operand::Var(v) => write!(f, "n{}", v.index()),
            Operand::Const(c) => write!(f, "{c:?}"),
        }
    }
}

impl From<Operand> for autograd::Operand {
    fn from(o: Operand) -> Self {
        match o {
            Operand::Var(v) => autograd::Operand::Var(v),
            Operand::Const(c) => autograd::Operand::Const(c),
        }
    }
}

fn show(s: Span) -> String {
    format!("n{}..n{}", s.start(), s.start() + s.len())
}

fn overlap(a: Span, b: Span) -> bool {
    a.start() < b.start() + b.len() && b.start() < a.start() + a.len()
}

/// Builds the graph of the program in `data`, with the leaves it says or, for the
/// difference quotients, with `leaves`.
fn run(data: &[u8], leaves: Option<&[f64]>, trace: bool) -> Run {
    let mut b = Bytes { data };
    let n_leaves = b.upto(MAX_LEAVES);
    let mut x: Vec<f64> = (0..n_leaves)
        .map(|_| f64::from(i16::from_le_bytes([b.byte(), b.byte()])) / 8192.0)
        .collect();
    if let Some(given) = leaves {
        x.copy_from_slice(given);
    }
    let mut g = Graph::new();
    let leaf_span = g.leaves(&x);
    let mut p = Builder {
        g,
        nodes: leaf_span.iter().collect(),
        spans: vec![leaf_span],
        watch: Vec::new(),
        ops: 0,
        trace: trace.then(|| vec![format!("{} = leaves {x:?}", show(leaf_span))]),
    };
    for _ in 0..MAX_OPS {
        if b.data.is_empty() || p.nodes.len() > MAX_NODES {
            break;
        }
        match b.byte() % 16 {
            14 => p.reuse(&mut b),
            15 => p.discard(&mut b),
            _ => p.op(&mut b),
        }
    }
    // root = sum_k weight(k) * node_k
    let terms: Vec<Var> = p
        .nodes
        .iter()
        .enumerate()
        .map(|(k, &v)| p.g.mul(v, weight(k)))
        .collect();
    let root = p.g.sum(&terms);
    Run {
        graph: p.g,
        leaves: leaf_span,
        root,
        nodes: p.nodes,
        watch: p.watch,
        ops: p.ops,
        trace: p.trace.unwrap_or_default(),
    }
}

/// A program being built: the graph, and what later ops may use.
struct Builder {
    g: Graph,
    /// Every node made so far, usable as a scalar operand.
    nodes: Vec<Var>,
    /// The leaves and the outputs of fused ops: runs of nodes, usable as vectors.
    spans: Vec<Span>,
    watch: Vec<Watched>,
    ops: usize,
    trace: Option<Vec<String>>,
}

impl Builder {
    fn log(&mut self, line: impl FnOnce() -> String) {
        if let Some(trace) = &mut self.trace {
            trace.push(line());
        }
    }

    /// A node made so far.
    fn any(&self, b: &mut Bytes<'_>) -> Var {
        self.nodes[b.below(self.nodes.len())]
    }

    /// A node, or now and then a plain number.
    fn operand(&self, b: &mut Bytes<'_>) -> Operand {
        if b.byte().is_multiple_of(4) {
            Operand::Const(b.pick(&CONSTS))
        } else {
            Operand::Var(self.any(b))
        }
    }

    /// A run of `len` nodes inside one span made so far, if one is that long.
    fn sub(&self, b: &mut Bytes<'_>, len: usize) -> Option<Span> {
        let long: Vec<Span> = self
            .spans
            .iter()
            .copied()
            .filter(|s| s.len() >= len)
            .collect();
        if long.is_empty() || len == 0 {
            return None;
        }
        let s = b.pick(&long);
        Some(s.sub(b.below(s.len() - len + 1), len))
    }

    fn watch(&mut self, kind: Watch, v: Var) {
        let value = self.g.value(v);
        self.watch.push(Watched {
            kind,
            value,
            scale: 1.0,
        });
    }

    /// Watches a value the op computes inside (a logit) over a bend of `scale`.
    fn curve(&mut self, value: f64, scale: f64) {
        self.watch.push(Watched {
            kind: Watch::Curve,
            value,
            scale,
        });
    }

    /// Ops that the rest of the program cannot see: made after a mark, then
    /// truncated away. The slots they used are reused by the ops that follow.
    fn discard(&mut self, b: &mut Bytes<'_>) {
        let mark = self.g.mark();
        let kept = (
            self.nodes.len(),
            self.spans.len(),
            self.watch.len(),
            self.ops,
        );
        self.log(|| "mark".into());
        for _ in 0..b.upto(4) {
            self.op(b);
        }
        self.g.truncate(mark);
        self.nodes.truncate(kept.0);
        self.spans.truncate(kept.1);
        self.watch.truncate(kept.2);
        self.ops = kept.3;
        self.log(|| "truncate to the mark".into());
    }

    /// A training step's pattern: a matrix made after a mark, multiplied by, and
    /// truncated away; then another matrix of the same size in the same slots,
    /// multiplied by again. The second product must not use anything cached about
    /// the first matrix.
    fn reuse(&mut self, b: &mut Bytes<'_>) {
        let (nin, rows, nout) = (b.upto(6), b.upto(3), b.upto(8));
        let (into, arith) = (b.byte() % 2 == 1, b.arith());
        let (Some(x), Some(p), Some(q)) = (
            self.sub(b, rows * nin),
            self.sub(b, nout * nin),
            self.sub(b, nout * nin),
        ) else {
            return;
        };
        let mark = self.g.mark();
        self.g.set_arith(arith);
        let w0 = self.g.add_vec(p, p);
        self.g.linear(w0, x, nout);
        self.g.truncate(mark);
        let w = self.g.add_vec(p, q);
        let y = if into {
            let y = self.g.alloc(rows * nout);
            self.g.linear_into(w, x, y, nout);
            y
        } else {
            self.g.linear(w, x, nout)
        };
        self.ops += 2;
        self.log(|| {
            format!(
                "(linear(add_vec({p}, {p}), {x}, {nout}, {arith:?}), truncated away)\n\
                 n{}.. = add_vec({p}, {q})\nn{}.. = linear{}(n{}.., {x}, {nout}, {arith:?})",
                w.start(),
                y.start(),
                if into { "_into" } else { "" },
                w.start(),
                p = show(p),
                q = show(q),
                x = show(x),
            )
        });
        self.nodes.extend(w.iter().chain(y.iter()));
        self.spans.extend([w, y]);
    }

    /// Reads one op and makes it, if its operands can be found.
    fn op(&mut self, b: &mut Bytes<'_>) {
        let made = match b.byte() % 19 {
            0..=3 => {
                let (p, q) = (self.operand(b), self.operand(b));
                let (v, name) = match b.byte() % 4 {
                    0 => (self.g.add(p, q), "add"),
                    1 => (self.g.mul(p, q), "mul"),
                    2 => (self.g.sub(p, q), "sub"),
                    _ => {
                        if let Operand::Var(q) = q {
                            self.watch(Watch::Pole, q);
                        }
                        (self.g.div(p, q), "div")
                    }
                };
                Some((vec![v], None, format!("{name}({p}, {q})")))
            }
            4 => {
                let a = self.any(b);
                let v = self.g.neg(a);
                Some((vec![v], None, format!("neg(n{})", a.index())))
            }
            5 => {
                let (a, k) = (self.any(b), b.pick(&EXPONENTS));
                if k < 0.0 || k.fract() != 0.0 {
                    self.watch(Watch::Pole, a);
                }
                let v = self.g.pow(a, k);
                Some((vec![v], None, format!("pow(n{}, {k:?})", a.index())))
            }
            6 => {
                let a = self.any(b);
                self.watch(Watch::Pole, a);
                let v = self.g.log(a);
                Some((vec![v], None, format!("log(n{})", a.index())))
            }
            7 => {
                let a = self.any(b);
                self.watch(Watch::Curve, a);
                let v = self.g.exp(a);
                Some((vec![v], None, format!("exp(n{})", a.index())))
            }
            8 => {
                let a = self.any(b);
                self.watch(Watch::Kink, a);
                let v = self.g.relu(a);
                Some((vec![v], None, format!("relu(n{})", a.index())))
            }
            9 => {
                let terms: Vec<Var> = (0..b.below(7)).map(|_| self.any(b)).collect();
                let v = self.g.sum(&terms);
                let names: Vec<String> = terms.iter().map(|t| format!("n{}", t.index())).collect();
                Some((vec![v], None, format!("sum([{}])", names.join(", "))))
            }
            10 | 11 => self.linear(b),
            12 => {
                let (width, rows, arith) = (b.upto(8), b.upto(3), b.arith());
                self.sub(b, rows * width).map(|x| {
                    let values = self.g.values(x).to_vec();
                    for row in values.chunks(width) {
                        let ms = row.iter().map(|v| v * v).sum::<f64>() / width as f64;
                        let rms = (ms + autograd::RMSNORM_EPS).sqrt();
                        for &v in row {
                            self.curve(v, rms);
                        }
                    }
                    self.g.set_arith(arith);
                    let y = self.g.rmsnorm(x, width);
                    let line = format!("rmsnorm({}, {width}, {arith:?})", show(x));
                    (y.iter().collect(), Some(y), line)
                })
            }
            13 => {
                let (len, arith) = (b.upto(12), b.arith());
                self.sub(b, len).map(|x| {
                    for v in x.iter() {
                        self.watch(Watch::Kink, v);
                    }
                    self.g.set_arith(arith);
                    let y = self.g.relu_sq(x);
                    (
                        y.iter().collect(),
                        Some(y),
                        format!("relu_sq({}, {arith:?})", show(x)),
                    )
                })
            }
            14 => {
                let len = b.upto(12);
                let (p, q) = (self.sub(b, len), self.sub(b, len));
                p.zip(q).map(|(p, q)| {
                    let y = self.g.add_vec(p, q);
                    (
                        y.iter().collect(),
                        Some(y),
                        format!("add_vec({}, {})", show(p), show(q)),
                    )
                })
            }
            15 | 16 => self.attention(b),
            17 => {
                // (T, V) logits, one target per row.
                let (rows, v, arith) = (b.upto(3), b.upto(8), b.arith());
                let targets: Vec<usize> = (0..rows).map(|_| b.below(v)).collect();
                self.sub(b, rows * v).map(|l| {
                    for v in self.g.values(l).to_vec() {
                        self.curve(v, 1.0);
                    }
                    self.g.set_arith(arith);
                    let y = self.g.cross_entropy(l, &targets);
                    let line = format!("cross_entropy({}, {targets:?}, {arith:?})", show(l));
                    (y.iter().collect(), Some(y), line)
                })
            }
            _ => {
                // (T, C) = table rows (V, C) picked by tokens, plus (T, C) positions.
                let (width, n_rows, rows) = (b.upto(4), b.upto(4), b.upto(3));
                let tokens: Vec<usize> = (0..rows).map(|_| b.below(n_rows)).collect();
                let table = self.sub(b, n_rows * width);
                let positions = self.sub(b, rows * width);
                match (table, positions) {
                    (Some(t), Some(p)) if !overlap(t, p) => {
                        let y = self.g.embed(t, p, width, &tokens);
                        let line = format!("embed({}, {}, {width}, {tokens:?})", show(t), show(p));
                        Some((y.iter().collect(), Some(y), line))
                    }
                    _ => None,
                }
            }
        };
        if let Some((outs, span, line)) = made {
            self.ops += 1;
            self.log(|| format!("n{}.. = {line}", outs[0].index()));
            self.nodes.extend(outs);
            self.spans.extend(span);
        }
    }

    /// `Y = X W^T` over T rows: X (T, nin) from one span, W (nout, nin) from
    /// another or from a part of the same one that does not overlap it.
    fn linear(&mut self, b: &mut Bytes<'_>) -> Made {
        let (nin, rows, nout) = (b.upto(6), b.upto(3), b.upto(8));
        let (into, arith) = (b.byte() % 2 == 1, b.arith());
        let x = self.sub(b, rows * nin)?;
        let w = self.sub(b, nout * nin)?;
        if overlap(w, x) {
            return None;
        }
        self.g.set_arith(arith);
        let y = if into {
            let y = self.g.alloc(rows * nout);
            self.g.linear_into(w, x, y, nout);
            y
        } else {
            self.g.linear(w, x, nout)
        };
        let name = if into { "linear_into" } else { "linear" };
        let line = format!("{name}({}, {}, {nout}, {arith:?})", show(w), show(x));
        Some((y.iter().collect(), Some(y), line))
    }

    /// Tq query rows at positions pos0.. attending over Tk rows of keys and
    /// values, all of width C = n_head * hd, pairwise disjoint.
    fn attention(&mut self, b: &mut Bytes<'_>) -> Made {
        let (n_head, hd, t_len) = (b.upto(3), b.upto(3), b.upto(4));
        let width = n_head * hd;
        let rows = b.upto(t_len);
        let pos0 = b.below(t_len - rows + 1);
        let (scale, arith) = (b.pick(&SCALES), b.arith());
        let q = self.sub(b, rows * width)?;
        let k = self.sub(b, t_len * width)?;
        let v = self.sub(b, t_len * width)?;
        if overlap(q, k) || overlap(q, v) || overlap(k, v) {
            return None;
        }
        // The logits each query row sees: (q_h . k_t,h) * scale, for t <= pos0 + r.
        let hd = width / n_head;
        let (qv, kv) = (self.g.values(q).to_vec(), self.g.values(k).to_vec());
        for r in 0..rows {
            for h in 0..n_head {
                for t in 0..=pos0 + r {
                    let qh = &qv[r * width + h * hd..r * width + (h + 1) * hd];
                    let kh = &kv[t * width + h * hd..t * width + (h + 1) * hd];
                    let dot: f64 = qh.iter().zip(kh).map(|(a, b)| a * b).sum();
                    self.curve(dot * scale, 1.0);
                }
            }
        }
        self.g.set_arith(arith);
        let shape = AttentionShape {
            width,
            n_head,
            pos0,
            scale,
        };
        let y = self.g.attention(q, k, v, shape).out;
        let line = format!(
            "attention({}, {}, {}, {width}, {n_head}, {pos0}, {scale:?}, {arith:?})",
            show(q),
            show(k),
            show(v)
        );
        Some((y.iter().collect(), Some(y), line))
    }
}

/// An op's output nodes, its output span if it is a fused op, and its line.
type Made = Option<(Vec<Var>, Option<Span>, String)>;
