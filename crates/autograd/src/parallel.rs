//! The threads, fenced off: a pool made once, and the ways of using it.
//!
//! Work on several threads is split into parts whose *outputs are independent*
//! (the documents of a batch, each on its own graph, in `sharded.rs`; rows of
//! `W` for their gradients; parameters for Adam; or, with
//! [`Graph::set_threads`](crate::Graph::set_threads), rows of one op's outputs),
//! and each part is computed whole by one thread, with the very loops one thread
//! would run. No sum is ever split between threads, so every output receives its
//! terms in the same order whatever the number of threads, and the bits never
//! depend on it.
//!
//! The parts are found by halving, with `rayon::join`: no allocation, and no
//! thread is made after the pool. While a step runs, another thread of the pool
//! is kept awake looking for its parts ([`Threads::install_awake`]).
//!
//! The thread that makes the pool is one of its threads (it runs the steps, and
//! the others join in), so that a step does not have to be handed to another
//! thread and back, which costs about as much as a small step. Rayon never frees
//! such a pool, so each thread keeps the pools it made, one per size, and every
//! run on that thread reuses them.

use std::cell::{Cell, RefCell};
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

thread_local! {
    /// The pools made on this thread, at most one of each size.
    static POOLS: RefCell<Vec<Arc<rayon::ThreadPool>>> = const { RefCell::new(Vec::new()) };
}

/// A pool of `n` threads, this one among them if it is in no pool yet: made on
/// the first call on this thread, the same one after.
fn pool(n: usize) -> Result<Arc<rayon::ThreadPool>, ThreadsError> {
    POOLS.with_borrow_mut(|pools| {
        if let Some(pool) = pools.iter().find(|p| p.current_num_threads() == n) {
            return Ok(Arc::clone(pool));
        }
        let builder = || {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .thread_name(|i| format!("autograd-{i}"))
        };
        // A thread can be in one pool only; in a second, it hands the work over.
        let pool = match builder().use_current_thread().build() {
            Ok(pool) => pool,
            Err(_) => builder().build().map_err(ThreadsError)?,
        };
        let pool = Arc::new(pool);
        pools.push(Arc::clone(&pool));
        Ok(pool)
    })
}

/// The multiply-adds (or the like) below which [`Threads::split`] keeps work
/// (an op of a graph given threads, Adam's update) on one thread: some tens of
/// microseconds of it. Below it, on the 2-vCPU hosts this was tuned on, handing
/// half of it to the other thread cost about what it saved.
pub const DEFAULT_MIN_WORK: usize = 1 << 17;

/// How many threads there are, and the pool they run on.
///
/// The default is one thread and no pool: everything runs on the calling
/// thread. Make them once per run ([`Threads::new`]).
#[derive(Clone, Debug, Default)]
pub struct Threads {
    pool: Option<Arc<rayon::ThreadPool>>,
    min_work: usize,
}

/// The pool could not be made (the system refused a thread).
#[derive(Debug)]
pub struct ThreadsError(rayon::ThreadPoolBuildError);

impl std::fmt::Display for ThreadsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot start the thread pool: {}", self.0)
    }
}

impl std::error::Error for ThreadsError {}

impl Threads {
    /// `n` threads (0 is taken as 1): for `n > 1`, a pool of `n` threads, this
    /// one and `n - 1` more, made now (or the one this thread made before). Run
    /// the steps on this thread.
    ///
    /// # Errors
    /// If the system refuses to start a thread.
    pub fn new(n: usize) -> Result<Self, ThreadsError> {
        let pool = if n > 1 { Some(pool(n)?) } else { None };
        Ok(Threads {
            pool,
            min_work: DEFAULT_MIN_WORK,
        })
    }

    /// The same threads, splitting work of at least `min_work` multiply-adds (0
    /// splits all of it: for tests of the splitting itself).
    pub fn with_min_work(self, min_work: usize) -> Self {
        Threads { min_work, ..self }
    }

    /// The number of threads.
    pub fn count(&self) -> usize {
        self.pool.as_ref().map_or(1, |p| p.current_num_threads())
    }

    /// The work below which [`Threads::split`] stays on one thread.
    pub fn min_work(&self) -> usize {
        self.min_work
    }

    /// Runs `f` on the pool (or here, with one thread). Run a whole training step
    /// so: its parts then go to threads that are already running it, instead of
    /// each waking the pool from outside.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }

    /// [`Threads::install`], with another thread of the pool kept awake until `f`
    /// returns, looking for work: for a step whose parts are a few microseconds
    /// each, which a sleeping thread would take longer than that to wake up for
    /// (as OpenMP's threads spin for a while by default). One thread only: with
    /// more, the first to spin would take the others' spinning jobs too.
    pub fn install_awake<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        let Some(pool) = &self.pool else {
            return f();
        };
        let done = AtomicBool::new(false);
        pool.install(|| {
            let (r, ()) = rayon::join(
                || {
                    // Set however `f` ends: a panic must reach the caller, not
                    // wait for a spinner that waits for `done`.
                    let _done = SetOnDrop(&done);
                    busy(f)
                },
                || spin(&done),
            );
            r
        })
    }

    /// Runs `a` and `b`, on two threads of the pool if it has them (`a` on this
    /// one if it is in the pool), and returns both results.
    pub fn join<RA: Send, RB: Send>(
        &self,
        a: impl FnOnce() -> RA + Send,
        b: impl FnOnce() -> RB + Send,
    ) -> (RA, RB) {
        match &self.pool {
            Some(pool) => pool.install(|| rayon::join(|| busy(a), || busy(b))),
            None => (a(), b()),
        }
    }

    /// Runs `f` on each of `items`, each item whole on one thread, with no
    /// threshold: for items (graphs, matrices) that are each work enough.
    pub fn for_each<T: Send>(&self, items: &mut [T], f: impl Fn(&mut T) + Sync) {
        let n = items.len();
        self.split(
            n,
            usize::MAX,
            |i| [i],
            [items],
            |_, [part]| {
                part.iter_mut().for_each(&f);
            },
        );
    }

    /// Computes `items` independent items (rows, documents) whose outputs lie in
    /// `outs`: `f(range, parts)` computes the items of `range`, and `parts[k]` is
    /// the piece of `outs[k]` that they own, from `at(range.start)[k]` to
    /// `at(range.end)[k]`. `at(i)` is where item `i` starts in each output (an
    /// increasing function, `at(0)` all zeros, `at(items)` the outputs' lengths).
    ///
    /// With one thread, or `work` below [`Threads::min_work`], this is
    /// `f(0..items, outs)`. Otherwise the items are halved, recursively, across the
    /// pool; since every item is computed whole by one call of `f`, the results
    /// are the same bits either way.
    pub fn split<const N: usize, T, A, F>(
        &self,
        items: usize,
        work: usize,
        at: A,
        outs: [&mut [T]; N],
        f: F,
    ) where
        T: Send,
        A: Fn(usize) -> [usize; N] + Sync,
        F: Fn(Range<usize>, [&mut [T]; N]) + Sync,
    {
        let threads = self.count();
        if threads == 1 || work < self.min_work || items < 2 {
            f(0..items, outs);
            return;
        }
        // A few parts per thread, so that uneven items (documents) even out.
        let grain = items.div_ceil(4 * threads).max(1);
        self.install(|| halve(0..items, grain, &at, outs, &f));
    }
}

thread_local! {
    /// How many jobs of a step this thread is inside: a thread that waits for
    /// part of a job to finish runs other jobs meanwhile, and must not spin in
    /// one of them.
    static BUSY: Cell<usize> = const { Cell::new(0) };
}

/// `f`, counted as work in [`BUSY`].
fn busy<R>(f: impl FnOnce() -> R) -> R {
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            BUSY.set(BUSY.get() - 1);
        }
    }
    BUSY.set(BUSY.get() + 1);
    let _leave = Leave;
    f()
}

/// Sets its flag when dropped.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Does the pool's work until `done`, on a thread that is inside no other job
/// (one that is, waiting for a part of it, leaves at once: spinning there would
/// keep its own job, and so `done`, from ever finishing).
fn spin(done: &AtomicBool) {
    if BUSY.get() > 0 {
        return;
    }
    while !done.load(Ordering::Acquire) {
        if rayon::yield_now() == Some(rayon::Yield::Idle) {
            // Hands the core to another process if one is waiting for it (a
            // system call of well under a microsecond otherwise): a spinning
            // thread must not take a busy machine's cores from the very threads
            // this step waits on.
            std::thread::yield_now();
        }
    }
}

/// [`Threads::split`] of the items `range`, whose pieces of the outputs are
/// `outs`: halved until at most `grain` items are left.
fn halve<const N: usize, T, A, F>(
    range: Range<usize>,
    grain: usize,
    at: &A,
    outs: [&mut [T]; N],
    f: &F,
) where
    T: Send,
    A: Fn(usize) -> [usize; N] + Sync,
    F: Fn(Range<usize>, [&mut [T]; N]) + Sync,
{
    if range.len() <= grain {
        f(range, outs);
        return;
    }
    let mid = range.start + range.len() / 2;
    let (start, cut) = (at(range.start), at(mid));
    let mut right: [&mut [T]; N] = std::array::from_fn(|_| Default::default());
    let mut k = 0;
    let left = outs.map(|out| {
        let (l, r) = out.split_at_mut(cut[k] - start[k]);
        right[k] = r;
        k += 1;
        l
    });
    rayon::join(
        || busy(|| halve(range.start..mid, grain, at, left, f)),
        || busy(|| halve(mid..range.end, grain, at, right, f)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_a_step_on_an_awake_pool_reaches_the_caller() {
        // The other thread spins until the step is done; a step that panics is
        // done too (before, this waited for ever).
        let t = Threads::new(2).unwrap();
        let step = std::panic::AssertUnwindSafe(|| {
            t.install_awake(|| {
                std::thread::sleep(std::time::Duration::from_millis(20));
                panic!("a step that fails");
            })
        });
        assert!(std::panic::catch_unwind(step).is_err());
        // And the pool still works.
        assert_eq!(t.install_awake(|| 1 + 1), 2);
    }

    #[test]
    fn every_item_is_computed_once_whatever_the_threads() {
        // Items of uneven sizes (1, 2, 3, ... values), each filled with its index.
        let items = 37;
        let at = |i: usize| [i * (i + 1) / 2];
        for threads in [1, 2, 3] {
            let t = Threads::new(threads).unwrap().with_min_work(0);
            let mut out = vec![-1.0; at(items)[0]];
            t.split(items, 1, at, [&mut out], |range, [part]| {
                let base = at(range.start)[0];
                for i in range {
                    part[at(i)[0] - base..at(i + 1)[0] - base].fill(i as f64);
                }
            });
            for i in 0..items {
                assert!(out[at(i)[0]..at(i + 1)[0]].iter().all(|&v| v == i as f64));
            }
        }
    }
}
