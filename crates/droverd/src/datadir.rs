//! The data dir belongs to one droverd at a time: [`lock`] takes its lock before anything
//! else starts (broker, API, robots), so a second droverd on the same data dir exits at once,
//! naming the first (pid, host, start time), instead of driving the same robots from a second
//! memory. The operating system releases the lock when droverd ends, however it ends.

use std::path::Path;

use drover_store::DirLock;

/// Locks `dir` for this process until the returned lock is dropped (or the process ends).
pub fn lock(dir: &Path) -> anyhow::Result<DirLock> {
    DirLock::acquire(dir, &holder()).map_err(anyhow::Error::new)
}

/// Who holds the lock, as a second droverd reports it.
pub fn holder() -> String {
    format!(
        "droverd pid {} on host {}, started {}",
        std::process::id(),
        hostname(),
        drover_vda5050::Timestamp(crate::clock::epoch_ms())
    )
}

/// The machine's name, for people: the kernel's, then `$HOSTNAME`, else a placeholder.
fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .chain(std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .find(|h| !h.is_empty())
        .unwrap_or_else(|| "(unknown)".to_string())
}
