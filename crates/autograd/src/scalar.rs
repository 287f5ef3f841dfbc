//! The scalar ops of micrograd: each computes its output from its inputs' values and
//! says how to send a gradient back. Derived ops (`neg`, `sub`, `div`) are built from
//! the primitives, as in the reference, and need no backward of their own.

use crate::arith::py_pow;
use crate::float::Float;
use crate::graph::Graph;
use crate::op::Op;
use crate::span::Var;

/// Either side of a binary op: a node, or a plain number.
///
/// A plain number mixed with a node behaves as a constant leaf, as in the reference
/// (`x + 1`, `2 * x`, `x / 3`): it receives no gradient. It is an `f64`, rounded
/// to the graph's element type where it meets a node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Operand {
    /// A node of the graph.
    Var(Var),
    /// A plain number.
    Const(f64),
}

impl From<Var> for Operand {
    fn from(v: Var) -> Self {
        Operand::Var(v)
    }
}

impl From<f64> for Operand {
    fn from(c: f64) -> Self {
        Operand::Const(c)
    }
}

/// A scalar op: one output node, one or two inputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum ScalarOp {
    Add(Var, Var),
    AddConst(Var, f64),
    Mul(Var, Var),
    MulConst(Var, f64),
    Pow(Var, f64),
    Log(Var),
    Exp(Var),
    Relu(Var),
    /// `args[start..start + len]`, summed left to right from 0.
    Sum {
        start: u32,
        len: u32,
    },
}

impl<F: Float> Graph<F> {
    fn scalar(&mut self, value: F, op: ScalarOp) -> Var {
        let out = self.push(value);
        self.record(Op::Scalar { out, op });
        out
    }

    /// `a + b`.
    pub fn add(&mut self, a: impl Into<Operand>, b: impl Into<Operand>) -> Var {
        match (a.into(), b.into()) {
            (Operand::Var(a), Operand::Var(b)) => {
                self.scalar(self.value(a) + self.value(b), ScalarOp::Add(a, b))
            }
            (Operand::Var(a), Operand::Const(c)) | (Operand::Const(c), Operand::Var(a)) => {
                self.scalar(self.value(a) + F::from_f64(c), ScalarOp::AddConst(a, c))
            }
            (Operand::Const(a), Operand::Const(b)) => self.constant(F::from_f64(a + b)),
        }
    }

    /// `a * b`.
    pub fn mul(&mut self, a: impl Into<Operand>, b: impl Into<Operand>) -> Var {
        match (a.into(), b.into()) {
            (Operand::Var(a), Operand::Var(b)) => {
                self.scalar(self.value(a) * self.value(b), ScalarOp::Mul(a, b))
            }
            (Operand::Var(a), Operand::Const(c)) | (Operand::Const(c), Operand::Var(a)) => {
                self.scalar(self.value(a) * F::from_f64(c), ScalarOp::MulConst(a, c))
            }
            (Operand::Const(a), Operand::Const(b)) => self.constant(F::from_f64(a * b)),
        }
    }

    /// `a ** k` for a constant exponent, with the C library's `pow`.
    pub fn pow(&mut self, a: Var, k: f64) -> Var {
        self.scalar(self.value(a).powf(F::from_f64(k)), ScalarOp::Pow(a, k))
    }

    /// `ln a`.
    pub fn log(&mut self, a: Var) -> Var {
        self.scalar(self.value(a).ln(), ScalarOp::Log(a))
    }

    /// `e ** a`.
    pub fn exp(&mut self, a: Var) -> Var {
        self.scalar(self.value(a).exp(), ScalarOp::Exp(a))
    }

    /// `max(0, a)`.
    pub fn relu(&mut self, a: Var) -> Var {
        let x = self.value(a);
        // Written as a comparison, like Python's `max(0, x)`: NaN maps to 0.
        self.scalar(if x > F::ZERO { x } else { F::ZERO }, ScalarOp::Relu(a))
    }

    /// `-a`, computed as `a * -1`.
    pub fn neg(&mut self, a: Var) -> Var {
        self.mul(a, -1.0)
    }

    /// `a - b`, computed as `a + (-b)`.
    pub fn sub(&mut self, a: impl Into<Operand>, b: impl Into<Operand>) -> Var {
        let minus_b = match b.into() {
            Operand::Var(b) => Operand::Var(self.neg(b)),
            Operand::Const(c) => Operand::Const(-c),
        };
        self.add(a, minus_b)
    }

    /// `a / b`, computed as `a * b ** -1`. A plain divisor `c` becomes the constant
    /// `c ** -1`, through `pow` as in the reference.
    pub fn div(&mut self, a: impl Into<Operand>, b: impl Into<Operand>) -> Var {
        let inv_b = match b.into() {
            Operand::Var(b) => Operand::Var(self.pow(b, -1.0)),
            Operand::Const(c) => Operand::Const(py_pow(c, -1.0)),
        };
        self.mul(a, inv_b)
    }

    /// The sum of `terms`, left to right starting from 0, as one op.
    ///
    /// An empty sum is the constant 0.
    pub fn sum<I>(&mut self, terms: I) -> Var
    where
        I: IntoIterator,
        I::Item: std::borrow::Borrow<Var>,
    {
        use std::borrow::Borrow;
        let start = self.args.len();
        self.args.extend(terms.into_iter().map(|t| *t.borrow()));
        let len = self.args.len() - start;
        if len == 0 {
            return self.constant(F::ZERO);
        }
        let total = self.args[start..]
            .iter()
            .fold(F::ZERO, |acc, &t| acc + self.val[t.index()]);
        let start = u32::try_from(start).expect("at most u32::MAX sum operands");
        self.scalar(
            total,
            ScalarOp::Sum {
                start,
                len: len as u32,
            },
        )
    }
}

impl ScalarOp {
    /// Sends `grad[out]` back to the inputs: `grad[input] += local derivative * grad[out]`.
    #[inline]
    pub(crate) fn backward<F: Float>(self, out: Var, val: &[F], grad: &mut [F], args: &[Var]) {
        let g = grad[out.index()];
        match self {
            ScalarOp::Add(a, b) => {
                // d(a+b)/da = 1, d(a+b)/db = 1
                grad[a.index()] += g;
                grad[b.index()] += g;
            }
            ScalarOp::AddConst(a, _) => {
                // d(a+c)/da = 1
                grad[a.index()] += g;
            }
            ScalarOp::Mul(a, b) => {
                // d(a*b)/da = b, d(a*b)/db = a. When a and b are one node (x*x),
                // both lines run, giving 2x as it should.
                let (va, vb) = (val[a.index()], val[b.index()]);
                grad[a.index()] += vb * g;
                grad[b.index()] += va * g;
            }
            ScalarOp::MulConst(a, c) => {
                // d(a*c)/da = c
                grad[a.index()] += F::from_f64(c) * g;
            }
            ScalarOp::Pow(a, k) => {
                // d(a^k)/da = k * a^(k-1). For k = 0 that is 0 everywhere; written out,
                // it would be 0 * 0^-1 = 0 * inf = NaN at a = 0 (found by fuzzing).
                let local = if k == 0.0 {
                    F::ZERO
                } else {
                    F::from_f64(k) * val[a.index()].powf(F::from_f64(k - 1.0))
                };
                grad[a.index()] += local * g;
            }
            ScalarOp::Log(a) => {
                // d(ln a)/da = 1/a
                grad[a.index()] += F::ONE / val[a.index()] * g;
            }
            ScalarOp::Exp(a) => {
                // d(e^a)/da = e^a, the output itself
                grad[a.index()] += val[out.index()] * g;
            }
            ScalarOp::Relu(a) => {
                // d(max(0,a))/da = 1 if a > 0 else 0
                let local = if val[a.index()] > F::ZERO {
                    F::ONE
                } else {
                    F::ZERO
                };
                grad[a.index()] += local * g;
            }
            ScalarOp::Sum { start, len } => {
                // d(sum)/d(term) = 1, once per occurrence of the term
                for &t in &args[start as usize..(start + len) as usize] {
                    grad[t.index()] += g;
                }
            }
        }
    }

    /// The `k`-th input node, in the order the reference lists a node's children.
    #[inline]
    pub(crate) fn input(self, k: usize, args: &[Var]) -> Option<Var> {
        match (self, k) {
            (ScalarOp::Add(a, _) | ScalarOp::Mul(a, _), 0) => Some(a),
            (ScalarOp::Add(_, b) | ScalarOp::Mul(_, b), 1) => Some(b),
            (
                ScalarOp::AddConst(a, _)
                | ScalarOp::MulConst(a, _)
                | ScalarOp::Pow(a, _)
                | ScalarOp::Log(a)
                | ScalarOp::Exp(a)
                | ScalarOp::Relu(a),
                0,
            ) => Some(a),
            (ScalarOp::Sum { start, len }, k) if k < len as usize => Some(args[start as usize + k]),
            _ => None,
        }
    }
}
