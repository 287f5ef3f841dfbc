//! How much memory the machine has, to refuse models that cannot fit.

/// The machine's total RAM in bytes, from `/proc/meminfo`; `None` where that is
/// not available.
pub fn total_memory() -> Option<u128> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
