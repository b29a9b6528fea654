//! The range of every number the API takes. JSON that does not fit the field's type is a 400
//! (serde's message); a number of the right type outside its range is a 422 `out_of_range`
//! naming the field, the range and the value. Without these, `units: 4294967295` was
//! accepted and a station's UPH read 71,781,560,758, and `?after=18446744073709551615`
//! wrapped to -1 in SQLite and listed everything again.

use std::fmt::Display;
use std::ops::RangeInclusive;

use crate::error::ApiError;

/// Units of one pick or stow line.
pub(super) const UNITS: RangeInclusive<u32> = 1..=10_000;
/// Task priority (higher goes first).
pub(super) const PRIORITY: RangeInclusive<i32> = -1_000..=1_000;
/// Ticks of one dwell errand (an hour at 100 ms ticks).
pub(super) const DWELL_TICKS: RangeInclusive<u32> = 1..=36_000;
/// Errands of one transport.
pub(super) const ERRANDS: RangeInclusive<usize> = 1..=1_000;
/// Earliest deadline accepted, Unix ms (2020-01-01); the latest is a year from now.
pub(super) const DEADLINE_MIN_MS: u64 = 1_577_836_800_000;
/// How far ahead a deadline may lie, ms (366 days).
pub(super) const DEADLINE_AHEAD_MS: u64 = 366 * 24 * 3600 * 1000;
/// Paging cursors and ids in paths: SQLite's integers are i64.
pub(super) const ID: RangeInclusive<u64> = 0..=i64::MAX as u64;
/// Page size of task lists.
pub(super) const TASK_PAGE: RangeInclusive<usize> = 1..=10_000;
/// Page size of the audit trail.
pub(super) const AUDIT_PAGE: RangeInclusive<usize> = 1..=1_000;
/// Names, keys, pods, SKUs, stations and associates, bytes.
pub(super) const NAME_BYTES: RangeInclusive<usize> = 1..=200;

/// `value` if it lies in `range`, else a 422 naming `field`.
pub(super) fn check<T: PartialOrd + Display + Copy>(
    field: &str,
    value: T,
    range: &RangeInclusive<T>,
) -> Result<T, ApiError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(out_of_range(field, range.start(), range.end(), value))
    }
}

/// A 422 saying `field` must lie in `lo..=hi`.
pub(super) fn out_of_range(
    field: &str,
    lo: impl Display,
    hi: impl Display,
    value: impl Display,
) -> ApiError {
    ApiError::new(
        422,
        "out_of_range",
        format!("{field} must be {lo} to {hi}, got {value}"),
    )
}

/// A deadline between 2020 and a year from `now_ms`.
pub(super) fn deadline(field: &str, value: u64, now_ms: u64) -> Result<u64, ApiError> {
    check(
        field,
        value,
        &(DEADLINE_MIN_MS..=now_ms.saturating_add(DEADLINE_AHEAD_MS)),
    )
}

/// A name's length in bytes (a 400: strings are not numbers, but a 4 MB SKU name is not one
/// either).
pub(super) fn name(field: &str, value: &str) -> Result<(), ApiError> {
    if NAME_BYTES.contains(&value.len()) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "{field} must be {} to {} bytes, got {}",
            NAME_BYTES.start(),
            NAME_BYTES.end(),
            value.len()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_names_the_field_and_the_range() {
        let e = check("units", 4_294_967_295u32, &UNITS).unwrap_err();
        assert_eq!(e.status, 422);
        assert_eq!(e.message, "units must be 1 to 10000, got 4294967295");
        assert_eq!(check("units", 3, &UNITS), Ok(3));
        assert!(check("after", u64::MAX, &ID).is_err());
        assert!(deadline("deadline_ms", 0, DEADLINE_MIN_MS).is_err());
    }
}
