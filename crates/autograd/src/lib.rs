//! A scalar reverse-mode autograd engine in the spirit of micrograd, laid out as an
//! arena.
//!
//! A [`Graph`] owns every node: their values and gradients live in two parallel
//! `Vec<F>`s, and a node is a `Copy` index, [`Var`]. Each operation appends its
//! output node and records one op on a tape. Because a node is always created after
//! its inputs, the tape is already in topological order, and [`Graph::backward`] is a
//! single loop over it in reverse. There is no `Rc<RefCell<_>>`, no boxed closure
//! and no recursion.
//!
//! # Scalar ops
//! [`Graph::add`], [`Graph::mul`], [`Graph::pow`], [`Graph::log`], [`Graph::exp`],
//! [`Graph::relu`], and the derived [`Graph::neg`], [`Graph::sub`], [`Graph::div`];
//! a node mixes freely with a plain `f64`. [`Graph::sum`] adds many nodes in one op.
//! Every backward rule sits beside its derivative in `scalar.rs`.
//!
//! # Fused ops
//! A GPT built from scalar nodes makes tens of thousands of them per step. The fused
//! ops ([`Graph::embed`], [`Graph::linear`], [`Graph::rmsnorm`],
//! [`Graph::attention`], [`Graph::cross_entropy`], [`Graph::relu_sq`],
//! [`Graph::relu_vec`], [`Graph::add_vec`]) cover a whole `(T, C)` block of rows, a layer step for every
//! position of a sequence, with one tape entry, and run their forward and backward
//! as tight loops. How they round is set once, on the graph
//! ([`Graph::with_arith`]): with [`Arith::Exact`] they compute the very sums of the
//! scalar chains they replace, in the same order; [`Arith::Fast`] trades the
//! reference's last bits for a vectorised `exp` and no `pow`.
//!
//! # Instruction sets
//! The hot loops are compiled for every SIMD instruction set of the architecture
//! and run on the widest the CPU has, or the one `MICROGPT_SIMD` names
//! ([`simd`], the one module allowed `unsafe`): every path computes the same bits.
//! Each op names what it saves for its backward pass, as llm.c does (`att`,
//! `rstd`, ...).
//!
//! # Element type
//! A graph holds `f64`s unless asked otherwise: [`Graph::new`] and
//! [`Graph::with_arith`] make a `Graph<f64>`, [`Graph::empty`] a graph of any
//! [`Float`], such as `Graph::<f32>::empty(Arith::Fast)`. Every op is generic over
//! it; settings (a plain operand, an attention scale, the norm's epsilon) are
//! `f64`s rounded to the element type where they meet a value. In `f32` the fast
//! `exp` is `exp32.rs`'s, within one ulp of the C library's `expf`.
//!
//! # Batches and threads
//! [`Graph::embed_batch`] and [`Graph::attention_batch`] take the rows of
//! several documents at once, each at its own positions and attending only to
//! itself; the other fused ops are row by row already, so a batch is one op each.
//! A batch can be spread over several graphs, one per thread, each holding some
//! of its documents: [`Graph::backward_except`] stops short of the parameters,
//! and [`add_param_grads`] adds their gradients from every graph in the order one
//! graph of the whole batch would. Or the threads can be set on one graph
//! ([`Graph::set_threads`]), and each op shares out its independent outputs
//! (rows, documents). Either way no sum is split, so the bits are the same for
//! any number of threads.
//!
//! # Memory
//! Parameters are created first and outlive a training step; everything a step makes
//! comes after a [`Mark`] and goes with [`Graph::truncate`]. The vectors keep their
//! capacity, so once warm a step allocates nothing.
//!
//! # Example
//! ```
//! use autograd::Graph;
//!
//! let mut g = Graph::new();
//! let a = g.leaf(-4.0);
//! let b = g.leaf(2.0);
//! // c = a * b + b ** 3
//! let ab = g.mul(a, b);
//! let b3 = g.pow(b, 3.0);
//! let c = g.add(ab, b3);
//! // d = relu(c) / 2 + 1
//! let r = g.relu(c);
//! let half = g.div(r, 2.0);
//! let d = g.add(half, 1.0);
//! g.backward(d);
//! println!("d = {}, dd/da = {}, dd/db = {}", g.value(d), g.grad(a), g.grad(b));
//! assert_eq!(g.value(d), 1.0); // relu(-8 + 8) / 2 + 1
//! assert_eq!(g.grad(a), 0.0); // relu is flat at 0
//! ```

mod arith;
mod backward;
mod exp;
mod exp32;
mod float;
mod footprint;
mod fused;
mod graph;
mod kernels;
mod op;
mod parallel;
mod scalar;
mod sharded;
pub mod simd;
mod span;
mod transpose;

pub use arith::{Arith, py_max, py_pow};
pub use float::Float;
pub use footprint::Footprint;
pub use fused::{AttentionOutput, AttentionShape, RMSNORM_EPS};
pub use graph::{Graph, Mark};
pub use parallel::{DEFAULT_MIN_WORK, Threads, ThreadsError};
pub use scalar::Operand;
pub use sharded::add_param_grads;
pub use span::{Span, Var};
