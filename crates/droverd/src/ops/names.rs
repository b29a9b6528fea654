//! The names clients use (SKUs, pods, stations, cells), checked before anything is committed,
//! and the associates' walk to a zone.

use std::collections::HashMap;

use drover_grid::load::{Floor, StationKind};
use drover_grid::{Cell, CellKind};
use drover_store::{PodChoice, SpecKind, TaskSpec};

use crate::error::ApiError;

/// Names clients use, checked before anything is committed.
#[derive(Debug)]
pub struct FloorNames {
    /// SKU names some pod holds or held (an inventory import adds to them).
    pub skus: std::sync::RwLock<std::collections::HashSet<String>>,
    /// Pod names.
    pub pods: std::collections::HashSet<String>,
    /// Station name -> kind.
    pub stations: HashMap<String, StationKind>,
    /// Cells robots may use (errands, zones).
    pub free: Vec<bool>,
    /// Cells people may walk on to reach a zone (free, not storage).
    pub walkable: Vec<bool>,
    /// Grid width (cells are `row * width + col`).
    pub width: u32,
    /// Grid height.
    pub height: u32,
}

impl FloorNames {
    /// From a stocked floor.
    pub fn new(floor: &Floor) -> FloorNames {
        let grid = &floor.grid;
        FloorNames {
            skus: std::sync::RwLock::new(
                floor
                    .pods
                    .iter()
                    .flat_map(|p| p.contents.keys().cloned())
                    .collect(),
            ),
            pods: floor.pods.iter().map(|p| p.id.clone()).collect(),
            stations: floor
                .stations
                .iter()
                .map(|s| (s.name.clone(), s.kind))
                .collect(),
            free: (0..grid.n_cells() as u32)
                .map(|c| grid.is_free(Cell(c)))
                .collect(),
            walkable: (0..grid.n_cells() as u32)
                .map(|c| grid.is_free(Cell(c)) && grid.kind(Cell(c)) != CellKind::Storage)
                .collect(),
            width: grid.width(),
            height: grid.height(),
        }
    }

    /// The associates' access path into a zone: the shortest walk over walkable cells from
    /// the floor's edge (a walkable cell next to the outer wall) to the zone, without the
    /// zone's own cells, edge cell first. `None` if no walk reaches the zone.
    pub fn access_path(&self, zone: &[u32]) -> Option<Vec<u32>> {
        let (w, h) = (self.width, self.height);
        let n = (w * h) as usize;
        let at_edge = |c: u32| {
            let (r, k) = (c / w, c % w);
            r <= 1 || k <= 1 || r + 2 >= h || k + 2 >= w
        };
        let mut from = vec![u32::MAX; n];
        let mut queue = std::collections::VecDeque::new();
        for &c in zone {
            if (c as usize) < n && from[c as usize] == u32::MAX {
                from[c as usize] = c;
                queue.push_back(c);
            }
        }
        while let Some(c) = queue.pop_front() {
            // Zone cells are the search's roots: they point to themselves.
            let inside = |c: u32| from[c as usize] == c;
            if at_edge(c) && (self.walkable[c as usize] || inside(c)) {
                // Walk back to the zone.
                let mut path = Vec::new();
                let mut cur = c;
                while !inside(cur) {
                    path.push(cur);
                    cur = from[cur as usize];
                }
                return Some(path);
            }
            let (r, k) = (c / w, c % w);
            let next = [
                (r > 0).then(|| c - w),
                (r + 1 < h).then(|| c + w),
                (k > 0).then(|| c - 1),
                (k + 1 < w).then(|| c + 1),
            ];
            for m in next.into_iter().flatten() {
                if self.walkable[m as usize] && from[m as usize] == u32::MAX {
                    from[m as usize] = c;
                    queue.push_back(m);
                }
            }
        }
        None
    }

    /// Checks a spec against the floor; the message names what is wrong. A malformed spec is
    /// a 400; one this floor cannot serve (no such pod, SKU or station) a 422.
    pub fn check(&self, spec: &TaskSpec) -> Result<(), ApiError> {
        match &spec.kind {
            SpecKind::Pick {
                pod,
                station,
                units,
            }
            | SpecKind::Stow {
                pod,
                station,
                units,
            } => {
                let want = if matches!(spec.kind, SpecKind::Pick { .. }) {
                    StationKind::Pick
                } else {
                    StationKind::Stow
                };
                if *units == 0 {
                    return Err(ApiError::invalid("units must be at least 1"));
                }
                match pod {
                    PodChoice::Pod(p) if !self.pods.contains(p) => {
                        return Err(ApiError::unprocessable(format!(
                            "no pod {p:?} on this floor"
                        )));
                    }
                    PodChoice::Sku(s)
                        if !self
                            .skus
                            .read()
                            .unwrap_or_else(|e| e.into_inner())
                            .contains(s) =>
                    {
                        return Err(ApiError::unprocessable(format!("no pod holds SKU {s:?}")));
                    }
                    _ => {}
                }
                match station {
                    Some(name) => match self.stations.get(name) {
                        None => {
                            return Err(ApiError::unprocessable(format!(
                                "no station {name:?} on this floor"
                            )));
                        }
                        Some(kind) if *kind != want => {
                            return Err(ApiError::invalid(format!(
                                "station {name:?} is a {} station, the task needs {}",
                                kind.name(),
                                want.name()
                            )));
                        }
                        _ => {}
                    },
                    None if !self.stations.values().any(|k| *k == want) => {
                        return Err(ApiError::unprocessable(format!(
                            "this floor has no {} station",
                            want.name()
                        )));
                    }
                    None => {}
                }
            }
            SpecKind::Transport { errands } => {
                if errands.is_empty() {
                    return Err(ApiError::invalid("a transport needs at least one errand"));
                }
                if errands.len() > 64 {
                    return Err(ApiError::invalid("a transport takes at most 64 errands"));
                }
                for (k, e) in errands.iter().enumerate() {
                    if !self.free.get(e.cell as usize).copied().unwrap_or(false) {
                        return Err(ApiError::invalid(format!(
                            "errand {k}: cell {} is not a free floor cell",
                            e.cell
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}
