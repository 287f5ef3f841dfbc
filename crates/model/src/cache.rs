//! The key/value cache: each layer's keys and values of the positions fed so far.

use autograd::{Float, Graph, Span, Var};

/// The keys and values of the positions fed so far, for every layer.
///
/// Make one with [`Gpt::new_cache`](crate::Gpt::new_cache); it is reset by
/// [`Gpt::start`](crate::Gpt::start) and can be reused, sequence after sequence,
/// without allocating.
///
/// After [`Gpt::loss_batch`](crate::Gpt::loss_batch) of several documents it
/// holds all their rows, one document after the other, each document's block of
/// keys its own (attention reads it so); it is then full, and decoding starts it
/// afresh.
#[derive(Clone, Debug, Default)]
pub struct KvCache {
    /// Positions fed since the last start.
    pub(crate) len: usize,
    /// Positions it has room for since the last start: 0 before the first.
    pub(crate) capacity: usize,
    pub(crate) layers: Vec<LayerKv>,
}

/// One layer's keys and values, in the form the engine that fills them uses.
#[derive(Clone, Debug)]
pub(crate) enum LayerKv {
    /// The fused engine: `(block_size, C)` rows of keys and of values, in the graph.
    Rows { keys: Span, values: Span },
    /// The scalar engine: the key and value nodes, `len * C` of each.
    Nodes { keys: Vec<Var>, values: Vec<Var> },
}

impl KvCache {
    /// How many positions the cache holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no position has been fed since the last start.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Empties the cache and gives each of `n_layer` layers room for `positions`
    /// rows of keys and of values of `width`, in `graph`, for the fused engine.
    pub(crate) fn start_rows<F: Float>(
        &mut self,
        graph: &mut Graph<F>,
        n_layer: usize,
        positions: usize,
        width: usize,
    ) {
        self.len = 0;
        self.capacity = positions;
        self.layers.clear();
        for _ in 0..n_layer {
            let keys = graph.alloc(positions * width);
            let values = graph.alloc(positions * width);
            self.layers.push(LayerKv::Rows { keys, values });
        }
    }

    /// Empties the cache for the scalar engine, with room for `positions`, keeping
    /// the node lists' memory.
    pub(crate) fn start_nodes(&mut self, n_layer: usize, positions: usize) {
        self.len = 0;
        self.capacity = positions;
        self.layers.truncate(n_layer);
        for layer in &mut self.layers {
            match layer {
                LayerKv::Nodes { keys, values } => {
                    keys.clear();
                    values.clear();
                }
                LayerKv::Rows { .. } => {
                    *layer = LayerKv::Nodes {
                        keys: Vec::new(),
                        values: Vec::new(),
                    }
                }
            }
        }
        self.layers.resize(
            n_layer,
            LayerKv::Nodes {
                keys: Vec::new(),
                values: Vec::new(),
            },
        );
    }

    /// Layer `l`'s rows of keys and of values, for the fused engine.
    ///
    /// # Panics
    /// If the cache was started for the scalar engine.
    pub(crate) fn rows(&self, l: usize) -> (Span, Span) {
        match self.layers[l] {
            LayerKv::Rows { keys, values } => (keys, values),
            LayerKv::Nodes { .. } => panic!("a scalar-engine cache used by the fused engine"),
        }
    }

    /// Layer `l`'s key and value nodes, for the scalar engine.
    ///
    /// # Panics
    /// If the cache was started for the fused engine.
    pub(crate) fn nodes(&mut self, l: usize) -> (&mut Vec<Var>, &mut Vec<Var>) {
        match &mut self.layers[l] {
            LayerKv::Nodes { keys, values } => (keys, values),
            LayerKv::Rows { .. } => panic!("a fused-engine cache used by the scalar engine"),
        }
    }
}
