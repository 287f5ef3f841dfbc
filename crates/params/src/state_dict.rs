//! The state dict: the model's named tensors, as leaves of the autograd graph.

use autograd::{Float, Graph, Span};

use crate::config::ModelConfig;
use crate::error::{Error, Result};
use crate::init::InitSource;
use crate::init_std::InitStd;
use crate::layout::{LayerTensor, TensorName, layout};

/// One named tensor: `rows x cols`, row-major, in one span of the graph.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tensor {
    /// Its name.
    pub name: TensorName,
    /// Rows: `nout`.
    pub rows: usize,
    /// Columns: `nin`.
    pub cols: usize,
    /// The std it was initialised with.
    pub std: f64,
    /// Its values and gradients in the graph, row-major.
    pub span: Span,
}

impl Tensor {
    /// Row `r`, as a span of `cols` nodes.
    #[inline]
    pub fn row(&self, r: usize) -> Span {
        self.span.row(r, self.cols)
    }
}

/// The model's parameters: every tensor of the layout, in the reference's order, in
/// one contiguous block of graph leaves.
#[derive(Clone, Debug, PartialEq)]
pub struct StateDict {
    config: ModelConfig,
    tensors: Vec<Tensor>,
    all: Span,
}

impl StateDict {
    /// Validates `config`, then creates every tensor as leaves of `graph`, drawing
    /// the initial values from `init` in state-dict order, row-major, with v1's
    /// stds ([`InitStd::V1`]).
    pub fn new<F: Float>(
        graph: &mut Graph<F>,
        config: &ModelConfig,
        init: &mut dyn InitSource,
    ) -> Result<Self> {
        Self::with_std(graph, config, &InitStd::V1, init)
    }

    /// [`StateDict::new`] with the stds of `std`. The draws are `f64`s, the same
    /// whatever the graph's element type, rounded to it (for `f32`).
    pub fn with_std<F: Float>(
        graph: &mut Graph<F>,
        config: &ModelConfig,
        std: &InitStd,
        init: &mut dyn InitSource,
    ) -> Result<Self> {
        config.validate()?;
        let all = graph.alloc(config.num_params());
        let mut offset = 0;
        let mut draws = Vec::new();
        let tensors = layout(config)
            .map(|spec| {
                let span = all.sub(offset, spec.numel());
                offset += spec.numel();
                let std = std.of(spec.name);
                draws.resize(spec.numel(), 0.0);
                init.fill_gaussian(std, &mut draws);
                let values = graph.values_mut(span);
                for (v, &d) in values.iter_mut().zip(&draws) {
                    *v = F::from_f64(d);
                }
                Tensor {
                    name: spec.name,
                    rows: spec.rows,
                    cols: spec.cols,
                    std,
                    span,
                }
            })
            .collect();
        Ok(StateDict {
            config: *config,
            tensors,
            all,
        })
    }

    /// The configuration the tensors were made for.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The tensor called `name`, such as `"layer0.attn_wq"`.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.iter().find(|t| t.name.to_string() == name)
    }

    /// The tensor `name`.
    ///
    /// # Panics
    /// If `name` is a layer this model does not have.
    pub fn tensor(&self, name: TensorName) -> &Tensor {
        let index = match name {
            TensorName::Wte => 0,
            TensorName::Wpe => 1,
            TensorName::LmHead => 2,
            TensorName::Layer(i, lt) => {
                assert!(
                    i < self.config.n_layer,
                    "layer {i} of a {}-layer model",
                    self.config.n_layer
                );
                let k = LayerTensor::ALL
                    .iter()
                    .position(|&x| x == lt)
                    .expect("every kind is listed");
                3 + LayerTensor::ALL.len() * i + k
            }
        };
        &self.tensors[index]
    }

    /// Every tensor, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Tensor> {
        self.tensors.iter()
    }

    /// The flat parameter list, in the reference's order: every tensor, row-major,
    /// end to end.
    pub fn params(&self) -> Span {
        self.all
    }

    /// The number of parameters.
    pub fn num_params(&self) -> usize {
        self.all.len()
    }

    /// Copies `values` into the parameters, in flat order, rounded to the graph's
    /// element type.
    ///
    /// # Errors
    /// If the count differs from [`StateDict::num_params`].
    pub fn set_values<F: Float>(&self, graph: &mut Graph<F>, values: &[f64]) -> Result<()> {
        if values.len() != self.num_params() {
            return Err(Error::TensorShape {
                name: "(all parameters)".into(),
                expected_rows: 1,
                expected_cols: self.num_params(),
                found: format!("{} values", values.len()),
            });
        }
        for (v, &x) in graph.values_mut(self.all).iter_mut().zip(values) {
            *v = F::from_f64(x);
        }
        Ok(())
    }
}
