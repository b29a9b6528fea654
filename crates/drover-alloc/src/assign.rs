//! Minimum-cost robot-to-task assignment: exact (Hungarian) for small batches, a bucketed
//! greedy above the crossover.

use pathfinding::kuhn_munkres::kuhn_munkres_min;
use pathfinding::matrix::Matrix;

/// Cost meaning "this pair must not be matched" (too far, too little battery). Equal to
/// [`drover_grid::UNREACHABLE`], so distances can be copied into a matrix unchanged.
pub const FORBIDDEN: u32 = drover_grid::UNREACHABLE;

/// How a batch was solved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `pathfinding::kuhn_munkres`: optimal, O(n³).
    Optimal,
    /// Global greedy by cost (bucket sort), O(rows × cols).
    Greedy,
}

/// Assigns rows to columns at minimum total cost; `costs` is row-major `rows × cols`.
/// Returns for each row the column it got, or `None`. Pairs costing [`FORBIDDEN`] are never
/// matched. Uses the Hungarian method while `min(rows, cols) <= optimal_max`, else greedy.
pub fn assign(
    rows: usize,
    cols: usize,
    costs: &[u32],
    optimal_max: usize,
) -> (Vec<Option<usize>>, Method) {
    assert_eq!(costs.len(), rows * cols, "cost matrix is rows x cols");
    if rows == 0 || cols == 0 {
        return (vec![None; rows], Method::Optimal);
    }
    if rows.min(cols) <= optimal_max {
        (optimal(rows, cols, costs), Method::Optimal)
    } else {
        (greedy(rows, cols, costs), Method::Greedy)
    }
}

/// Exact minimum-cost assignment. Forbidden pairs get a cost above any feasible total, so the
/// solver only uses them when it must, and they are dropped afterwards.
pub fn optimal(rows: usize, cols: usize, costs: &[u32]) -> Vec<Option<usize>> {
    let max = costs
        .iter()
        .filter(|&&c| c != FORBIDDEN)
        .map(|&c| c as i64)
        .max()
        .unwrap_or(0);
    // Larger than any sum of feasible costs: a forbidden pair is never worth a feasible one.
    let big = (max + 1) * (rows.min(cols) as i64 + 1);
    let cost = |r: usize, c: usize| match costs[r * cols + c] {
        FORBIDDEN => big,
        c => c as i64,
    };
    // kuhn_munkres needs rows <= columns: transpose when there are more robots than tasks.
    let pairs: Vec<(usize, usize)> = if rows <= cols {
        let m = Matrix::from_fn(rows, cols, |(r, c)| cost(r, c));
        let (_, cols_of) = kuhn_munkres_min(&m);
        cols_of.into_iter().enumerate().collect()
    } else {
        let m = Matrix::from_fn(cols, rows, |(c, r)| cost(r, c));
        let (_, rows_of) = kuhn_munkres_min(&m);
        rows_of
            .into_iter()
            .enumerate()
            .map(|(c, r)| (r, c))
            .collect()
    };
    let mut out = vec![None; rows];
    for (r, c) in pairs {
        if costs[r * cols + c] != FORBIDDEN {
            out[r] = Some(c);
        }
    }
    out
}

/// Global greedy: repeatedly match the cheapest remaining pair. Only the cheapest few pairs
/// per row are ever needed, so each round takes the pairs under a cost threshold (found from
/// a histogram), sorts just those and matches them; rows left over go to the next round with
/// a doubled threshold. Two sequential scans of the matrix per round, no full sort.
pub fn greedy(rows: usize, cols: usize, costs: &[u32]) -> Vec<Option<usize>> {
    let mut out = vec![None; rows];
    let mut row_done = vec![false; rows];
    let mut col_used = vec![false; cols];
    let mut left = rows.min(cols);
    // Histogram of feasible costs (large costs share the last bucket).
    const BUCKETS: usize = 1 << 12;
    // Estimated from a strided sample: the threshold only needs to be roughly right.
    let stride = (costs.len() / 65_536).max(1);
    let mut hist = vec![0u64; BUCKETS];
    for &c in costs.iter().step_by(stride) {
        if c != FORBIDDEN {
            hist[(c as usize).min(BUCKETS - 1)] += stride as u64;
        }
    }
    // First threshold: enough pairs for several candidates per row.
    let want = (left as u64).saturating_mul(8);
    let mut acc = 0;
    let mut threshold = BUCKETS as u64 - 1;
    for (b, &h) in hist.iter().enumerate() {
        acc += h;
        if acc >= want {
            threshold = b as u64;
            break;
        }
    }
    let mut lower: u64 = 0;
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    while left > 0 {
        pairs.clear();
        let last_round = threshold >= BUCKETS as u64 - 1;
        for r in 0..rows {
            if row_done[r] {
                continue;
            }
            let row = &costs[r * cols..(r + 1) * cols];
            for (c, &cost) in row.iter().enumerate() {
                let k = cost as u64;
                if cost != FORBIDDEN && !col_used[c] && k >= lower && (k <= threshold || last_round)
                {
                    pairs.push((cost, (r * cols + c) as u32));
                }
            }
        }
        if pairs.is_empty() && last_round {
            break;
        }
        pairs.sort_unstable();
        for &(_, i) in &pairs {
            let (r, c) = (i as usize / cols, i as usize % cols);
            if !row_done[r] && !col_used[c] {
                out[r] = Some(c);
                row_done[r] = true;
                col_used[c] = true;
                left -= 1;
                if left == 0 {
                    break;
                }
            }
        }
        if last_round {
            break;
        }
        // Pairs at or below the threshold are all matched or blocked now.
        lower = threshold + 1;
        threshold = (threshold * 2 + 1).min(BUCKETS as u64 - 1);
    }
    out
}

/// Total cost of an assignment (for reports and tests).
pub fn total(cols: usize, costs: &[u32], assignment: &[Option<usize>]) -> u64 {
    assignment
        .iter()
        .enumerate()
        .filter_map(|(r, c)| c.map(|c| costs[r * cols + c] as u64))
        .sum()
}
