//! Every op's gradient against central finite differences.

use autograd::{Arith, AttentionShape, Float, Graph, Span, Var};

/// Checks d(out)/d(x_i) from both backward passes against central differences.
fn check(name: &str, x0: &[f64], build: &dyn Fn(&mut Graph, Span) -> Var) {
    check_in(Arith::default(), name, x0, build);
}

/// [`check`] on graphs whose fused ops round as `arith` says.
fn check_in(arith: Arith, name: &str, x0: &[f64], build: &dyn Fn(&mut Graph, Span) -> Var) {
    let eval = |x: &[f64]| {
        let mut g = Graph::with_arith(arith);
        let xs = g.leaves(x);
        let out = build(&mut g, xs);
        g.value(out)
    };
    for depth_first in [false, true] {
        let mut g = Graph::with_arith(arith);
        let xs = g.leaves(x0);
        let out = build(&mut g, xs);
        if depth_first {
            g.backward_depth_first(out);
        } else {
            g.backward(out);
        }
        for i in 0..x0.len() {
            let h = 1e-6 * x0[i].abs().max(1.0);
            let mut up = x0.to_vec();
            let mut down = x0.to_vec();
            up[i] += h;
            down[i] -= h;
            let numeric = (eval(&up) - eval(&down)) / (2.0 * h);
            let analytic = g.grad(xs.at(i));
            let tol = 1e-6 * (1.0 + numeric.abs());
            assert!(
                (numeric - analytic).abs() <= tol,
                "{name} ({arith:?}, depth-first: {depth_first}): d/dx{i} analytic {analytic} vs numeric {numeric}"
            );
        }
    }
}

#[test]
fn scalar_ops() {
    let x = [0.7, -1.3];
    check("add", &x, &|g, s| g.add(s.at(0), s.at(1)));
    check("add const", &x, &|g, s| g.add(s.at(0), 2.5));
    check("mul", &x, &|g, s| g.mul(s.at(0), s.at(1)));
    check("mul self", &x, &|g, s| g.mul(s.at(0), s.at(0)));
    check("mul const", &x, &|g, s| g.mul(3.0, s.at(1)));
    check("sub", &x, &|g, s| g.sub(s.at(0), s.at(1)));
    check("sub from const", &x, &|g, s| g.sub(1.5, s.at(1)));
    check("neg", &x, &|g, s| g.neg(s.at(0)));
    check("div", &x, &|g, s| g.div(s.at(0), s.at(1)));
    check("div by const", &x, &|g, s| g.div(s.at(1), 4.0));
    check("const div", &x, &|g, s| g.div(2.0, s.at(1)));
    check("pow 3", &x, &|g, s| g.pow(s.at(1), 3.0));
    check("pow -0.5", &[0.7], &|g, s| g.pow(s.at(0), -0.5));
    check("log", &[0.7], &|g, s| g.log(s.at(0)));
    check("exp", &x, &|g, s| g.exp(s.at(1)));
    check("relu +", &x, &|g, s| g.relu(s.at(0)));
    check("relu -", &x, &|g, s| g.relu(s.at(1)));
    check("sum", &[0.7, -1.3, 2.0], &|g, s| {
        let terms = [s.at(0), s.at(1), s.at(0), s.at(2)];
        g.sum(terms)
    });
}

/// Reduces a span to one number with distinct weights, so that every output's
/// gradient is different and a mix-up shows.
fn weigh<F: Float>(g: &mut Graph<F>, y: Span) -> Var {
    let terms: Vec<Var> = (0..y.len())
        .map(|i| g.mul(y.at(i), 0.3 + 0.17 * i as f64))
        .collect();
    g.sum(terms)
}

fn pattern(n: usize, seed: f64) -> Vec<f64> {
    (0..n)
        .map(|i| ((i as f64 + seed) * 1.618_033_988).sin() * 0.9)
        .collect()
}

/// The fused ops under test, each on a small input, reduced to one number: one
/// definition for both element types.
#[derive(Clone, Copy, Debug)]
enum Fused {
    /// W is 3 x 4, x is 2 rows of 4.
    Linear,
    RmsNorm,
    ReluSq,
    ReluVec,
    AddVec,
    AddVecSelf,
    /// A table of 4 rows of 3, positions 3 rows of 3; token 2 used twice.
    Embed,
    CrossEntropy,
    /// C = 4, 2 heads, 3 query rows over 3 keys (causal).
    Attention,
    /// One query row at position 2 against a cache of 3 keys.
    AttentionOneRow,
    /// Two documents of 2 and 1 rows, each from position 0.
    EmbedBatch,
    /// C = 4, 2 heads, documents of 2 and 3 rows over their own keys.
    AttentionBatch,
}

impl Fused {
    const ALL: [Fused; 12] = [
        Fused::Linear,
        Fused::RmsNorm,
        Fused::ReluSq,
        Fused::ReluVec,
        Fused::AddVec,
        Fused::AddVecSelf,
        Fused::Embed,
        Fused::CrossEntropy,
        Fused::Attention,
        Fused::AttentionOneRow,
        Fused::EmbedBatch,
        Fused::AttentionBatch,
    ];

    fn input(self) -> Vec<f64> {
        match self {
            Fused::Linear => pattern(12 + 8, 0.5),
            Fused::RmsNorm => pattern(10, 1.0),
            Fused::ReluSq | Fused::ReluVec => pattern(6, 2.0),
            Fused::AddVec => pattern(6, 3.0),
            Fused::AddVecSelf => pattern(3, 3.0),
            Fused::Embed => pattern(12 + 9, 3.5),
            Fused::CrossEntropy => pattern(10, 4.0),
            Fused::Attention => pattern(12 + 12 + 12, 5.0),
            Fused::AttentionOneRow => pattern(4 + 12 + 12, 6.0),
            Fused::EmbedBatch => pattern(12 + 9, 3.5),
            Fused::AttentionBatch => pattern(20 * 3, 5.5),
        }
    }

    fn build<F: Float>(self, g: &mut Graph<F>, s: Span) -> Var {
        let shape = |pos0| AttentionShape {
            width: 4,
            n_head: 2,
            pos0,
            scale: 0.7,
        };
        let y = match self {
            Fused::Linear => g.linear(s.sub(0, 12), s.sub(12, 8), 3),
            Fused::RmsNorm => g.rmsnorm(s, 5),
            Fused::ReluSq => g.relu_sq(s),
            Fused::ReluVec => g.relu_vec(s),
            Fused::AddVec => g.add_vec(s.sub(0, 3), s.sub(3, 3)),
            Fused::AddVecSelf => g.add_vec(s, s),
            Fused::Embed => g.embed(s.sub(0, 12), s.sub(12, 9), 3, &[2, 0, 2]),
            Fused::CrossEntropy => g.cross_entropy(s, &[2, 4]),
            Fused::Attention => {
                g.attention(s.sub(0, 12), s.sub(12, 12), s.sub(24, 12), shape(0))
                    .out
            }
            Fused::AttentionOneRow => {
                g.attention(s.sub(0, 4), s.sub(4, 12), s.sub(16, 12), shape(2))
                    .out
            }
            Fused::EmbedBatch => g.embed_batch(s.sub(0, 12), s.sub(12, 9), 3, &[2, 0, 2], &[2, 1]),
            Fused::AttentionBatch => {
                let (q, k, v) = (s.sub(0, 20), s.sub(20, 20), s.sub(40, 20));
                g.attention_batch(q, k, v, shape(0), &[2, 3]).out
            }
        };
        weigh(g, y)
    }
}

#[test]
fn fused_ops() {
    for arith in [Arith::Exact, Arith::Fast] {
        for op in Fused::ALL {
            check_in(arith, &format!("{op:?}"), &op.input(), &|g, s| {
                op.build(g, s)
            });
        }
    }
}

#[test]
fn fused_ops_in_f32() {
    // The f32 gradients of each op against central differences of the same op in
    // f64, at the same inputs (the f32 ones, which f64 holds exactly). f32 keeps
    // about 7 digits, and a few ops in a row lose one or two of them: a tolerance
    // of 1e-4 leaves that room, and still catches any wrong term.
    for arith in [Arith::Exact, Arith::Fast] {
        for op in Fused::ALL {
            let x32: Vec<f32> = op.input().iter().map(|&x| x as f32).collect();
            let x0: Vec<f64> = x32.iter().map(|&x| f64::from(x)).collect();
            let eval = |x: &[f64]| {
                let mut g = Graph::with_arith(arith);
                let xs = g.leaves(x);
                let out = op.build(&mut g, xs);
                g.value(out)
            };
            let mut g = Graph::<f32>::empty(arith);
            let xs = g.leaves(&x32);
            let out = op.build(&mut g, xs);
            let value = f64::from(g.value(out));
            assert!(
                (value - eval(&x0)).abs() <= 1e-5 * (1.0 + value.abs()),
                "{op:?} ({arith:?}): f32 value {value} vs f64 {}",
                eval(&x0)
            );
            g.backward(out);
            for i in 0..x0.len() {
                let h = 1e-6 * x0[i].abs().max(1.0);
                let (mut up, mut down) = (x0.clone(), x0.clone());
                up[i] += h;
                down[i] -= h;
                let numeric = (eval(&up) - eval(&down)) / (2.0 * h);
                let analytic = f64::from(g.grad(xs.at(i)));
                assert!(
                    (numeric - analytic).abs() <= 1e-4 * (1.0 + numeric.abs()),
                    "{op:?} ({arith:?}, f32): d/dx{i} analytic {analytic} vs numeric {numeric}"
                );
            }
        }
    }
}

#[test]
fn fused_ops_match_scalar_chains() {
    // A fused op must compute the very sums of the scalar chain it replaces.
    let w = pattern(12, 0.1);
    let x = pattern(4, 0.2);
    let mut g = Graph::with_arith(Arith::Exact);
    let (ws, xs) = (g.leaves(&w), g.leaves(&x));
    let fused = g.linear(ws, xs, 3);
    for o in 0..3 {
        let mut acc = g.constant(0.0);
        for i in 0..4 {
            let p = g.mul(ws.at(o * 4 + i), xs.at(i));
            acc = g.add(acc, p);
        }
        assert_eq!(
            g.value(acc).to_bits(),
            g.value(fused.at(o)).to_bits(),
            "row {o}"
        );
    }

    let mut g = Graph::with_arith(Arith::Exact);
    let xs = g.leaves(&x);
    let fused = g.rmsnorm(xs, 4);
    let sq: Vec<Var> = xs.iter().map(|v| g.mul(v, v)).collect();
    let sumsq = g.sum(&sq);
    let ms = g.div(sumsq, 4.0);
    let ms_eps = g.add(ms, autograd::RMSNORM_EPS);
    let scale = g.pow(ms_eps, -0.5);
    for i in 0..4 {
        let y = g.mul(xs.at(i), scale);
        assert_eq!(
            g.value(y).to_bits(),
            g.value(fused.at(i)).to_bits(),
            "rmsnorm {i}"
        );
    }

    // relu over a span is the scalar relu, element for element, NaN and -0 included.
    let mut g = Graph::new();
    let xs = g.leaves(&[0.5, -0.25, 0.0, -0.0, f64::NAN, 3.0]);
    let fused = g.relu_vec(xs);
    for i in 0..xs.len() {
        let y = g.relu(xs.at(i));
        assert_eq!(
            g.value(y).to_bits(),
            g.value(fused.at(i)).to_bits(),
            "relu {i}"
        );
    }
}

#[test]
fn cross_entropy_of_an_all_but_impossible_target_stays_finite() {
    // The target's probability is about e^-720, below the normal range: the loss is
    // about 720 nats, and the gradient (p - onehot) is finite (found by fuzzing).
    for arith in [Arith::Exact, Arith::Fast] {
        let mut g = Graph::with_arith(arith);
        let l = g.leaves(&[0.0, -720.0]);
        let loss = g.cross_entropy(l, &[1]);
        g.backward(loss.at(0));
        assert!(
            (g.value(loss.at(0)) - 720.0).abs() < 1e-9,
            "{arith:?}: {}",
            g.value(loss.at(0))
        );
        let (d0, d1) = (g.grad(l.at(0)), g.grad(l.at(1)));
        assert!(
            (d0 - 1.0).abs() < 1e-12 && (d1 + 1.0).abs() < 1e-12,
            "{arith:?}: {d0}, {d1}"
        );
    }
}

#[test]
fn cross_entropy_of_a_target_whose_probability_underflows_to_zero_stays_finite() {
    // A logit gap of 200 makes exp(-200) exactly 0 in f32 (found by a long f32
    // run, whose loss had become infinite): the loss is still the gap plus
    // log(total), and the gradient (p - onehot); in f64 the same gap is an
    // ordinary subnormal probability. Past 700 nats (where f64's exp gives 0 too)
    // the loss is infinite in both, the mark of a diverged run.
    fn check<F: autograd::Float>(gap: f64) {
        let mut g = Graph::<F>::empty(Arith::Fast);
        let vals = [F::from_f64(0.0), F::from_f64(-gap)];
        let l = g.leaves(&vals);
        let loss = g.cross_entropy(l, &[1]);
        g.backward(loss.at(0));
        let value = g.value(loss.at(0)).to_f64();
        assert!((value - gap).abs() < 1e-3, "{}: {value}", F::NAME);
        let (d0, d1) = (g.grad(l.at(0)).to_f64(), g.grad(l.at(1)).to_f64());
        assert!(
            (d0 - 1.0).abs() < 1e-6 && (d1 + 1.0).abs() < 1e-6,
            "{}: {d0}, {d1}",
            F::NAME
        );
    }
    check::<f32>(200.0);
    check::<f64>(200.0);
    check::<f32>(650.0);
    fn diverged<F: autograd::Float>(gap: f64) {
        let mut g = Graph::<F>::empty(Arith::Fast);
        let vals = [F::from_f64(0.0), F::from_f64(-gap)];
        let l = g.leaves(&vals);
        let loss = g.cross_entropy(l, &[1]);
        let value = g.value(loss.at(0)).to_f64();
        assert_eq!(value, f64::INFINITY, "{}", F::NAME);
    }
    diverged::<f32>(800.0);
    diverged::<f64>(800.0);
}

#[test]
fn a_batch_of_documents_is_each_document_alone_on_any_threads() {
    // Three documents of 3, 1 and 4 rows (C = 8, 2 heads): embedded, normalised,
    // projected, attending each to itself; the values equal each document's own
    // graph bit for bit, and the gradients are the same bits on 1, 2 or 3 threads
    // that split every op.
    use autograd::Threads;
    let (c, docs, vocab) = (8, [3usize, 1, 4], 5);
    let tokens = [1, 4, 2, 0, 3, 3, 1, 2];
    let params = pattern(vocab * c + 4 * c + c * c + 4 * c, 0.37);
    let build = |g: &mut Graph, p: Span, tokens: &[usize], docs: &[usize]| {
        let (wte, wpe, w) = (
            p.sub(0, vocab * c),
            p.sub(vocab * c, 4 * c),
            p.sub((vocab + 4) * c, c * c),
        );
        let x = g.embed_batch(wte, wpe, c, tokens, docs);
        let x = g.rmsnorm(x, c);
        let q = g.linear(w, x, c);
        let shape = AttentionShape {
            width: c,
            n_head: 2,
            pos0: 0,
            scale: 0.5,
        };
        let k = g.linear(w, q, c);
        let y = g.attention_batch(q, k, x, shape, docs);
        let y = g.linear(w, y.out, c);
        // The output rows as logits over C classes, each row's token its target.
        let losses = g.cross_entropy(y, tokens);
        (y, losses)
    };
    // Alone: each document in a graph of its own.
    let mut alone = Vec::new();
    let mut row = 0;
    for &n in &docs {
        let mut g = Graph::new();
        let p = g.leaves(&params);
        let (y, _) = build(&mut g, p, &tokens[row..row + n], &[n]);
        alone.extend(g.values(y).iter().map(|v| v.to_bits()));
        row += n;
    }
    let mut grads = Vec::new();
    for threads in [1, 2, 3] {
        let mut g = Graph::new();
        g.set_threads(Threads::new(threads).unwrap().with_min_work(0));
        let p = g.leaves(&params);
        let (y, losses) = build(&mut g, p, &tokens, &docs);
        let together: Vec<u64> = g.values(y).iter().map(|v| v.to_bits()).collect();
        assert_eq!(together, alone, "{threads} threads");
        let total = g.sum(losses.iter());
        g.backward(total);
        grads.push(g.grads(p).iter().map(|v| v.to_bits()).collect::<Vec<_>>());
    }
    assert!(grads[0].iter().any(|&b| b != 0));
    assert_eq!(grads[0], grads[1]);
    assert_eq!(grads[0], grads[2]);
}
