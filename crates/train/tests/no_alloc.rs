//! Once warm, a training step allocates nothing: the arena, the tape and every
//! buffer keep their memory from step to step.
//!
//! A counting global allocator wraps the system one for this test binary alone.

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use params::Dtype;
use train::{Dataset, RngKind, Sizes, TrainConfig, Trainer};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the wrapper
// only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is passed on as it is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

// One test, the two runs in turn: the count is of every thread, and a pool's
// threads, started by one test, could allocate while another counts.
#[test]
fn a_warm_step_allocates_nothing_on_one_thread_or_on_a_pool() {
    for dtype in [Dtype::F64, Dtype::F32] {
        one_document_on_one_thread(dtype);
        a_batch_on_two_threads(dtype);
    }
}

fn one_document_on_one_thread(dtype: Dtype) {
    // The fast engine, which the performance targets are about.
    let config = TrainConfig {
        steps: 400,
        rng: RngKind::ChaCha,
        exact: false,
        dtype,
        ..TrainConfig::default()
    };
    let mut trainer =
        Trainer::new(Dataset::embedded(), Sizes::default(), config, u128::MAX).unwrap();
    // Warm-up: enough documents that one of them fills the whole block of 8
    // positions, the largest graph a step can build.
    for _ in 0..100 {
        trainer.step().unwrap();
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..300 {
        trainer.step().unwrap();
    }
    let during = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(
        during, 0,
        "{dtype}: 300 warm steps made {during} allocations"
    );
}

fn a_batch_on_two_threads(dtype: Dtype) {
    // A batch of 16 on 2 threads: the pool and the second graph are made once,
    // and the work is split by halving, on the stack.
    let config = TrainConfig {
        steps: 400,
        batch_size: 16,
        dtype,
        ..TrainConfig::default()
    };
    let mut trainer =
        Trainer::new(Dataset::embedded(), Sizes::default(), config, u128::MAX).unwrap();
    trainer
        .use_threads(train::Threads::new(2).unwrap().with_min_work(0))
        .unwrap();
    // Warm-up: long enough for each thread's graph to have met the largest share
    // of a batch it is given (up to 16 full blocks between them).
    for _ in 0..300 {
        trainer.step().unwrap();
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..30 {
        trainer.step().unwrap();
    }
    let during = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(
        during, 0,
        "{dtype}: 30 warm batched steps made {during} allocations"
    );
}
