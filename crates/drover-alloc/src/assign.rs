//! Minimum-cost robot-to-task assignment: exact (Hungarian) for small batches, a bucketed
//! greedy above the crossover.

use pathfinding::kuhn_munkres::kuhn_munkres_min;
use pathfinding::matrix::Matrix;

/// Cost meaning "this pair must not be matched" (too far, too little battery).
pub const FORBIDDEN: u32 = u32::MAX;

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

/// Global greedy: repeatedly match the cheapest remaining pair. Pairs are bucket-sorted by
/// cost (costs are grid distances, small integers), so this is linear in the matrix size.
pub fn greedy(rows: usize, cols: usize, costs: &[u32]) -> Vec<Option<usize>> {
    let mut out = vec![None; rows];
    // Counting sort of pair indices by cost; very large costs share the last bucket.
    const BUCKETS: usize = 1 << 16;
    let bucket = |c: u32| (c as usize).min(BUCKETS - 1);
    let mut start = vec![0u32; BUCKETS + 1];
    for &c in costs.iter().filter(|&&c| c != FORBIDDEN) {
        start[bucket(c) + 1] += 1;
    }
    for b in 0..BUCKETS {
        start[b + 1] += start[b];
    }
    let mut order = vec![0u32; start[BUCKETS] as usize];
    let mut fill = start.clone();
    for (i, &c) in costs.iter().enumerate() {
        if c != FORBIDDEN {
            let b = bucket(c);
            order[fill[b] as usize] = i as u32;
            fill[b] += 1;
        }
    }
    // Ties inside the overflow bucket: sort them properly.
    let tail = start[BUCKETS - 1] as usize;
    order[tail..].sort_by_key(|&i| costs[i as usize]);
    let mut col_used = vec![false; cols];
    let mut left = rows.min(cols);
    for i in order {
        let (r, c) = (i as usize / cols, i as usize % cols);
        if out[r].is_none() && !col_used[c] {
            out[r] = Some(c);
            col_used[c] = true;
            left -= 1;
            if left == 0 {
                break;
            }
        }
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
