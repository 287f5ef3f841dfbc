//! Arbitrary bytes as a program of graph ops: no panic, and gradients that match
//! finite differences wherever they can be trusted. See `checks/autograd.rs`.
#![no_main]

#[path = "../checks/autograd.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    check::check(data);
});
