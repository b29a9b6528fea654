//! Percentiles of measured durations: tick times for the loop's summary and the live KPIs,
//! command latencies for the demo report.

/// The `p` quantile (0..=1) of sorted values, 0 for none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let k = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[k.min(sorted.len() - 1)]
}
