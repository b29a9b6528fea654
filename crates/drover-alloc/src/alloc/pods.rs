//! Pods and storage slots: where each pod is, what it holds, inventory imports, and the slot a
//! pod goes back to (fast movers near the stations).

use super::*;

/// Where a pod is: always exactly one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodLoc {
    /// Standing in a storage slot.
    Slot(Cell),
    /// Lifted by a robot.
    Robot(u32),
    /// Left on the floor by a robot that went out of service.
    Stranded(Cell),
}

pub(super) struct Pod {
    pub(super) loc: PodLoc,
    /// The slot it came from (for `slotting = false` and for reports).
    pub(super) home: Cell,
    /// SKU -> units.
    pub(super) contents: BTreeMap<SkuId, u32>,
    /// On a job (visit or return): no other job may take it.
    pub(super) busy: bool,
    pub(super) demand: f64,
    pub(super) demand_at: u64,
}

impl Pod {
    pub(super) fn units(&self) -> u32 {
        self.contents.values().sum()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Slot {
    Empty,
    Pod(PodId),
    Reserved(PodId),
}

impl Allocator {
    pub(super) fn intern(&mut self, sku: &str) -> SkuId {
        if let Some(&id) = self.sku_index.get(sku) {
            return id;
        }
        let id = SkuId(self.skus.len() as u32);
        self.skus.push(sku.to_string());
        self.sku_index.insert(sku.to_string(), id);
        self.sku_pods.push(Vec::new());
        self.queued_lines.push(0);
        id
    }

    /// The id of a SKU name, if any pod has held it.
    pub fn sku(&self, name: &str) -> Option<SkuId> {
        self.sku_index.get(name).copied()
    }

    /// SKU names, indexed by [`SkuId`].
    pub fn sku_names(&self) -> &[String] {
        &self.skus
    }

    /// A pod's id as the floor file names it.
    pub fn pod_name(&self, pod: PodId) -> &str {
        &self.pod_ids[pod.0 as usize]
    }

    /// Number of pods.
    pub fn n_pods(&self) -> usize {
        self.pods.len()
    }

    /// Where a pod is.
    pub fn pod_loc(&self, pod: PodId) -> PodLoc {
        self.pods[pod.0 as usize].loc
    }

    /// Units of `sku` in `pod`.
    pub fn pod_units(&self, pod: PodId, sku: SkuId) -> u32 {
        self.pods[pod.0 as usize]
            .contents
            .get(&sku)
            .copied()
            .unwrap_or(0)
    }

    /// Which pod stands in a storage slot (`None` for an empty slot or a non-slot cell).
    pub fn pod_in_slot(&self, cell: Cell) -> Option<PodId> {
        match self.slot_of_cell.get(cell.index()) {
            Some(&k) if k != u32::MAX => match self.slots[k as usize] {
                Slot::Pod(p) => Some(p),
                _ => None,
            },
            _ => None,
        }
    }

    /// The pod called `name`.
    pub fn pod_by_name(&self, name: &str) -> Option<PodId> {
        self.pod_ids
            .iter()
            .position(|p| p == name)
            .map(|k| PodId(k as u32))
    }

    /// A pod's contents, SKU -> units, for the store.
    pub fn pod_contents(&self, pod: PodId) -> Vec<(SkuId, u32)> {
        self.pods[pod.0 as usize]
            .contents
            .iter()
            .map(|(s, q)| (*s, *q))
            .collect()
    }

    /// Replaces a pod's contents (an inventory import): SKU name -> units. Refused for a pod
    /// out of its slot or held by a task (on its way to, at, or back from a station): that
    /// visit is about to change its contents.
    pub fn set_pod_contents(
        &mut self,
        pod: PodId,
        contents: &[(String, u32)],
    ) -> Result<(), AllocError> {
        self.may_import(pod)?;
        let mut new = BTreeMap::new();
        for (name, units) in contents.iter().filter(|c| c.1 > 0) {
            let sku = self.intern(name);
            *new.entry(sku).or_insert(0) += units;
            if !self.sku_pods[sku.0 as usize].contains(&pod) {
                self.sku_pods[sku.0 as usize].push(pod);
            }
        }
        self.pods[pod.0 as usize].contents = new;
        self.dirty = true;
        Ok(())
    }

    /// Whether [`Allocator::set_pod_contents`] would take new contents for `pod` now.
    pub fn may_import(&self, pod: PodId) -> Result<(), AllocError> {
        let p = self
            .pods
            .get(pod.0 as usize)
            .ok_or(AllocError::UnknownPod(pod))?;
        if p.busy || !matches!(p.loc, PodLoc::Slot(_)) {
            return Err(AllocError::PodOnTheMove {
                pod,
                name: self.pod_ids[pod.0 as usize].clone(),
            });
        }
        Ok(())
    }

    /// Picks and reserves the slot a pod goes back to: the free slot nearest to `from` (the
    /// station it leaves) among those no better ranked than half the pod's demand rank, so
    /// slow movers stay out of the slots nearest the stations.
    pub(super) fn choose_slot(&mut self, pod: PodId, from: Cell) -> Cell {
        self.choose_slot_where(pod, from, &|_| true)
            .unwrap_or_else(|| {
                // No free slot at all: the pod's own.
                let home = self.pods[pod.0 as usize].home;
                let k = self.slot_of_cell[home.index()] as usize;
                self.slots[k] = Slot::Reserved(pod);
                home
            })
    }

    /// [`Allocator::choose_slot`] among the free slots `ok` accepts; `None` (nothing
    /// reserved) when there is none.
    pub(super) fn choose_slot_where(
        &mut self,
        pod: PodId,
        from: Cell,
        ok: &dyn Fn(Cell) -> bool,
    ) -> Option<Cell> {
        let n = self.slots.len();
        let home = self.pods[pod.0 as usize].home;
        let home_k = self.slot_of_cell[home.index()] as usize;
        let pick = if !self.config.slotting && self.slots[home_k] == Slot::Empty && ok(home) {
            home_k
        } else {
            let now = self.now;
            let hl = self.config.demand_half_life;
            let mine = {
                let p = &self.pods[pod.0 as usize];
                decayed(p.demand, p.demand_at, now, hl)
            };
            let hotter = self
                .pods
                .iter()
                .filter(|p| decayed(p.demand, p.demand_at, now, hl) > mine)
                .count();
            let target = hotter.min(n.saturating_sub(1));
            // The slot nearest to where the pod is (the station it leaves), among the slots
            // no nearer the stations than half its demand rank: hot pods may take any slot,
            // slow movers are kept out of the best ones. A short return frees the robot
            // sooner, and pods in demand settle near the stations that ask for them.
            let empty = |k: usize| {
                self.slots[k] == Slot::Empty && !self.slot_blocked[k] && ok(self.storage_cells[k])
            };
            let steps = self.grid.steps_from(from, true, true);
            let nearest = |ranks: std::ops::Range<usize>| {
                ranks
                    .map(|rank| self.slots_by_rank[rank] as usize)
                    .filter(|&k| empty(k))
                    .min_by_key(|&k| {
                        let c = self.storage_cells[k];
                        (steps[c.index()], grid_manhattan(&self.grid, from, c), k)
                    })
            };
            nearest(target / 2..n).or_else(|| nearest(0..target / 2))?
        };
        self.slots[pick] = Slot::Reserved(pod);
        Some(self.storage_cells[pick])
    }

    /// The slot a loaded robot boxed in at `cell` (it cannot leave the slot it lifted `pod`
    /// from) returns `pod` to: that slot, whose pods are then not chosen until cells open or
    /// close again ([`Allocator::avoid`]); if it stands elsewhere, any slot, re-chosen
    /// ([`Allocator::reslot`]) once a way opens.
    pub(super) fn set_down_boxed_in(&mut self, pod: PodId, cell: Cell) -> Cell {
        match self.choose_slot_where(pod, cell, &|c| c == cell) {
            Some(slot) => {
                let k = self.slot_of_cell[slot.index()] as usize;
                self.slot_blocked[k] = true;
                slot
            }
            None => self.choose_slot(pod, cell),
        }
    }

    pub(super) fn unreserve(&mut self, slot: Cell) {
        let k = self.slot_of_cell[slot.index()] as usize;
        if let Slot::Reserved(_) = self.slots[k] {
            self.slots[k] = Slot::Empty;
        }
    }
}

fn grid_manhattan(grid: &Grid, a: Cell, b: Cell) -> u32 {
    let (ar, ac) = grid.row_col(a);
    let (br, bc) = grid.row_col(b);
    ar.abs_diff(br) + ac.abs_diff(bc)
}

pub(super) fn decayed(value: f64, at: u64, now: u64, half_life: f64) -> f64 {
    value * 0.5f64.powf(now.saturating_sub(at) as f64 / half_life.max(1.0))
}
