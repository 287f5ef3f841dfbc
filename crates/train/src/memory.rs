//! How much memory this process may still use, to refuse work that cannot fit
//! with a clear error before the kernel's OOM killer or an allocation abort ends
//! it; and fallible reservations for the large buffers.

use std::collections::TryReserveError;

use crate::error::{Error, Result};

/// The bytes this process may still allocate: the least of the memory the kernel
/// counts as available (`MemAvailable`), what this process's cgroup still allows
/// (v2 `memory.max` less `memory.current`, or v1's limit less its usage), and what
/// `RLIMIT_AS` (`ulimit -v`) leaves of the address space. `None` where none of
/// them can be read (not Linux).
pub fn available_memory() -> Option<u128> {
    [
        meminfo("MemAvailable:"),
        cgroup_room(),
        address_space_room(),
    ]
    .into_iter()
    .flatten()
    .min()
}

fn meminfo(key: &str) -> Option<u128> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    kib_field(&info, key)
}

/// The number after `key` in `text`, in KiB, as bytes.
fn kib_field(text: &str, key: &str) -> Option<u128> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kib: u128 = line[key.len()..].split_whitespace().next()?.parse().ok()?;
    Some(kib * 1024)
}

fn read_number(path: &str) -> Option<u128> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The room left under this process's cgroup memory limit, if it has one.
fn cgroup_room() -> Option<u128> {
    // The process's own cgroup (v2: one line `0::/path`).
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = format!("/sys/fs/cgroup{}", path.trim_end_matches('/'));
    let room = |limit: &str, usage: &str| {
        let limit = read_number(limit)?;
        let usage = read_number(usage).unwrap_or(0);
        Some(limit.saturating_sub(usage))
    };
    // `memory.max` holds `max` when there is no limit: read_number gives None.
    room(
        &format!("{dir}/memory.max"),
        &format!("{dir}/memory.current"),
    )
    .or_else(|| room("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"))
    .or_else(|| {
        room(
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        )
    })
}

/// The address space `RLIMIT_AS` leaves: its soft limit, from
/// `/proc/self/limits`, less the process's current size (`VmSize`).
fn address_space_room() -> Option<u128> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))?;
    let soft: u128 = line
        .trim_start_matches("Max address space")
        .split_whitespace()
        .next()?
        .parse()
        .ok()?; // `unlimited` does not parse: no limit
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let size = kib_field(&status, "VmSize:").unwrap_or(0);
    Some(soft.saturating_sub(size))
}

/// A buffer that can grow fallibly.
pub(crate) trait Reserve {
    /// The size of one element, for messages.
    const ELEMENT: usize;
    fn try_reserve_more(&mut self, additional: usize) -> std::result::Result<(), TryReserveError>;
}

impl Reserve for String {
    const ELEMENT: usize = 1;
    fn try_reserve_more(&mut self, additional: usize) -> std::result::Result<(), TryReserveError> {
        self.try_reserve(additional)
    }
}

impl<T> Reserve for Vec<T> {
    const ELEMENT: usize = size_of::<T>();
    fn try_reserve_more(&mut self, additional: usize) -> std::result::Result<(), TryReserveError> {
        self.try_reserve(additional)
    }
}

/// Reserves room for `additional` more elements in `buf`, for `what`.
///
/// # Errors
/// [`Error::Alloc`] if the allocator refuses, instead of an abort.
pub(crate) fn try_reserve<B: Reserve>(
    buf: &mut B,
    additional: usize,
    what: &'static str,
) -> Result<()> {
    buf.try_reserve_more(additional).map_err(|_| Error::Alloc {
        what,
        bytes: additional.saturating_mul(B::ELEMENT),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_parse_and_an_impossible_reservation_is_an_error() {
        assert_eq!(
            kib_field("MemAvailable:   2048 kB\n", "MemAvailable:"),
            Some(2 << 20)
        );
        if let Some(room) = available_memory() {
            assert!(room > 0);
        }
        let mut v: Vec<u64> = Vec::new();
        let err = try_reserve(&mut v, usize::MAX / 4, "a test").unwrap_err();
        assert!(err.to_string().contains("cannot allocate"), "{err}");
        assert!(err.to_string().contains("for a test"), "{err}");
    }
}
