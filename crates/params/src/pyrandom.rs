//! CPython's `random.Random`, bit for bit (in progress).
