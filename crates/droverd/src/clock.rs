//! The daemon's wall clock: milliseconds since the Unix epoch, for message timestamps and
//! stored times. The pure crates never read it; droverd passes it to them as a value.

/// Milliseconds since the Unix epoch (0 if the system clock is set before 1970).
pub fn epoch_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// [`epoch_ms`] as an unsigned count, for stored timestamps.
pub fn now_ms() -> u64 {
    epoch_ms().max(0) as u64
}
