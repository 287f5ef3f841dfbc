//! How much memory the machine has, to refuse models that cannot fit.

/// The most memory a model may take: the machine's total RAM in bytes, or no limit
/// where that is not known.
pub(crate) fn limit() -> u128 {
    total_memory().unwrap_or(u128::MAX)
}

/// The machine's total RAM in bytes, from `/proc/meminfo`; `None` where that is
/// not available.
fn total_memory() -> Option<u128> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
