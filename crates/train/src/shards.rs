//! A batch spread over the threads, fenced off: one graph per thread, each with
//! a copy of the parameters and some of the batch's documents.
//!
//! A step runs in five parts. The run's graph remakes its transposed weights,
//! shared out among the threads; the other graphs copy its parameters and take
//! those transposes as they are. Each graph builds the forward pass of its
//! documents (the first graph the first ones, in order) and differentiates it
//! down to everything but the parameters ([`Graph::backward_except`]), all the
//! graphs at once. The parameters' gradients are summed from every graph's rows,
//! each row of a matrix by one thread, in the order one graph of the whole batch
//! would sum them ([`add_param_grads`]). And Adam updates the parameters (shared
//! out when there are enough of them). So the documents of a batch go forward and
//! back with no thread waiting on another, and every number is the same bits
//! whatever the number of threads.

use autograd::{Float, Graph, Mark, Span, Threads, add_param_grads};
use model::{Batch, Gpt, KvCache};

use crate::error::Result;

/// The threads of a run whose batches are spread over them, and the graphs of
/// all but the first (which is the run's own).
#[derive(Debug)]
pub(crate) struct Shards<F: Float> {
    threads: Threads,
    /// The first thread's documents, on the run's graph.
    first: Batch,
    /// The other threads' graphs, caches and documents.
    others: Vec<Shard<F>>,
    /// How many graphs the current batch is spread over: all of them, unless
    /// the batch has fewer documents than that.
    used: usize,
}

/// A graph of some of a batch's documents.
#[derive(Debug)]
struct Shard<F: Float> {
    graph: Graph<F>,
    cache: KvCache,
    batch: Batch,
    /// What building this shard's forward pass gave, kept here for the step to
    /// read once every thread is done (a job on the pool returns nothing).
    result: Result<()>,
}

/// How many graphs a batch of `batch_size` documents is spread over on
/// `threads` threads: one per thread, as many as the batch can keep busy.
pub(crate) fn graphs(threads: usize, batch_size: usize) -> usize {
    threads.min(batch_size).max(1)
}

impl<F: Float> Shards<F> {
    /// `threads` for batches of up to `batch_size` documents, `graph` the run's
    /// graph holding the parameters and nothing after them: one copy of it for
    /// each thread after the first, as many as the batch can keep busy.
    pub(crate) fn new(threads: Threads, graph: &Graph<F>, gpt: &Gpt, batch_size: usize) -> Self {
        let n = graphs(threads.count(), batch_size);
        let others = (1..n)
            .map(|_| Shard {
                graph: graph.clone(),
                cache: gpt.new_cache(),
                batch: Batch::new(),
                result: Ok(()),
            })
            .collect();
        Shards {
            threads,
            first: Batch::new(),
            others,
            used: 1,
        }
    }

    /// The threads.
    pub(crate) fn threads(&self) -> &Threads {
        &self.threads
    }

    /// The mean loss of `batch`, with every gradient but the parameters' (see
    /// [`Shards::add_param_grads`]): its documents are spread over the graphs in
    /// order, each graph's share of about the same number of rows.
    ///
    /// # Errors
    /// If a document cannot be trained on (too short, or a token out of the
    /// vocabulary).
    pub(crate) fn loss(
        &mut self,
        gpt: &Gpt,
        graph: &mut Graph<F>,
        cache: &mut KvCache,
        mark: Mark,
        params: Span,
        batch: &Batch,
    ) -> Result<F> {
        self.share_out(gpt, batch);
        let Shards {
            threads,
            first,
            others,
            used,
        } = self;
        let others = &mut others[..*used - 1];
        // d(mean)/d(loss of a document) = 1 / B, rounded as the graph of the mean
        // gives it (`MulConst`, times a gradient of 1).
        let seed = F::from_f64(1.0 / batch.len() as f64) * F::ONE;
        // The other graphs take the parameters as they are now, and the run's
        // graph's transposes of them, made once for all by all the threads.
        graph.refresh_transposes(threads);
        let main = &*graph;
        threads.for_each(others, |shard| {
            shard.graph.truncate(mark);
            shard.graph.take_params_from(main, params);
        });
        let run = |graph: &mut Graph<F>, cache: &mut KvCache, batch: &mut Batch| -> Result<()> {
            let losses = gpt.doc_losses(graph, cache, batch)?;
            graph.backward_except(losses, seed, params);
            Ok(())
        };
        // The others' forward passes are done with the transposes: let them go,
        // so that the next step remakes them in place.
        let run_other = |s: &mut Shard<F>| {
            s.result = run(&mut s.graph, &mut s.cache, &mut s.batch);
            s.graph.forget_transposes();
        };
        let (result, ()) = threads.join(
            || run(graph, cache, first),
            || threads.for_each(others, run_other),
        );
        result?;
        for shard in others.iter_mut() {
            std::mem::replace(&mut shard.result, Ok(()))?;
        }
        // (1 / B) * sum(losses), in document order, as the graph of the mean adds them.
        let mut total = F::ZERO;
        for &l in first.losses() {
            total += graph.value(l);
        }
        for s in others.iter() {
            for &l in s.batch.losses() {
                total += s.graph.value(l);
            }
        }
        Ok(total * F::from_f64(1.0 / batch.len() as f64))
    }

    /// Adds the parameters' gradients of the batch of the last [`Shards::loss`]
    /// into `graph`'s.
    pub(crate) fn add_param_grads(&self, graph: &mut Graph<F>, params: Span) {
        let others = &self.others[..self.used - 1];
        add_param_grads(graph, others, params, &self.threads);
    }

    /// Spreads `batch` over the graphs in order: the first `k` documents to the
    /// first graph and so on, cut where the rows reach each graph's share.
    fn share_out(&mut self, gpt: &Gpt, batch: &Batch) {
        let block = gpt.config().block_size;
        let rows = |doc: &[usize]| block.min(doc.len().saturating_sub(1));
        let total: usize = batch.docs().map(rows).sum();
        let n = (self.others.len() + 1).min(batch.len());
        self.first.clear();
        for s in &mut self.others {
            s.batch.clear();
        }
        let (mut part, mut done) = (0, 0);
        for (d, doc) in batch.docs().enumerate() {
            // Move on to the next graph once this one has its share, leaving at
            // least one document for each graph after it.
            while part + 1 < n
                && (done * n >= total * (part + 1) || batch.len() - d < n - part)
                && self.part_len(part) > 0
            {
                part += 1;
            }
            match part {
                0 => self.first.push(doc),
                k => self.others[k - 1].batch.push(doc),
            }
            done += rows(doc);
        }
        self.used = n;
    }

    fn part_len(&self, part: usize) -> usize {
        match part {
            0 => self.first.len(),
            k => self.others[k - 1].batch.len(),
        }
    }
}

impl<F: Float> std::borrow::Borrow<Graph<F>> for Shard<F> {
    fn borrow(&self) -> &Graph<F> {
        &self.graph
    }
}
