//! The jobs offered to free robots in a batch: queued transports, and each station's next pods
//! (the line and pod chosen by distance, queue age and pile-on) up to its pacing target.

use super::*;

/// A job offered to the free robots this tick.
pub(super) struct Demand {
    pub(super) tasks: Vec<TaskId>,
    pub(super) pod: Option<PodId>,
    pub(super) station: Option<StationId>,
    pub(super) first: Cell,
    /// Cells driven after reaching `first`, charger trip included (for the energy check).
    pub(super) rest_cells: u32,
    /// Cells from `first` to the last errand (for `trip_weight`).
    pub(super) legs: u32,
    pub(super) lifts: u32,
    /// Extra cost of a job whose station is less short of pods than others, so that a
    /// robot takes it over a needier station's only when that saves more driving.
    pub(super) slack: u32,
}

/// Cells of detour worth one more order line served by the same pod presentation.
const PILE_ON_WEIGHT: i64 = 10;

/// Cells of driving a robot may save by serving a station at its pacing target rather
/// than one with none of its pods on the way (in proportion between): robots serve
/// stations near them, but not at the cost of starving a far one. Starvation measured on
/// fc-large at 5 robots per station, seeds 0 and 1: 5.8 / 4.9% at 100, 5.7 / 4.6% at 0,
/// 6.5 / 5.0% at 300; on the demo floor with 15 robots for 2 h, seeds 1-3: 1.6 / 1.5 / 3.9%
/// at 100, 2.1 / 2.2 / 4.3% at 0, and at 300 one seed starved a station (17%).
const URGENCY_CELLS: u32 = 100;

/// Queued lines a station's next pod is chosen for: the line whose best pod is nearest,
/// among the first this many it can serve (fc-large, 5 robots per station, seeds 0 and 1:
/// starvation 5.8 / 4.9% with the oldest line only, 4.3 / 3.4% with 4, 3.6 / 2.6% with 16,
/// 3.2 / 2.7% with 32, 2.8 / 2.3% with 64, but order cycle p95 grew with the window).
const LINE_WINDOW: usize = 32;

/// Not yet computed, in the per-call caches of empty trips to pods and of their pile-on.
const NOT_FETCHED: u32 = UNREACHABLE - 1;

/// Cells of driving worth serving a line one place earlier in the queue (so old lines are
/// not passed over for ever: with 3, the order cycle p95 stayed at 3,377 / 4,030 s against
/// 3,530 / 3,960 s with the oldest line only, and starvation fell to 2.8 / 2.2%).
const LINE_AGE_CELLS: i64 = 3;

impl Allocator {
    /// Jobs for the free robots to choose from: transports first (a full tote cart holds up
    /// its station), then a pod for every place a station is short of its pacing target
    /// (most short first, one each per round), then, if that is fewer than the robots, pods
    /// up to capacity.
    pub(super) fn demands(&mut self, free: &[Cell], costs: &mut dyn Costs) -> Vec<Demand> {
        let limit = free.len();
        let mut out = Vec::new();
        let mut claimed: BTreeSet<TaskId> = BTreeSet::new();
        let mut pods_claimed: BTreeSet<PodId> = BTreeSet::new();
        let mut want: Vec<usize> = self
            .stations
            .iter()
            .map(|st| {
                if st.staffed.is_some() && st.kind != StationKind::Pack {
                    st.target().saturating_sub(st.tickets.len())
                } else {
                    0
                }
            })
            .collect();
        let transports: Vec<TaskId> = self
            .queue
            .iter()
            .map(|k| k.2)
            .filter(|t| matches!(self.tasks[t.0 as usize].kind, TaskKind::Transport { .. }))
            .take(limit.saturating_mul(self.config.transport_window))
            .collect();
        for t in transports {
            let task = &self.tasks[t.0 as usize];
            let TaskKind::Transport { errands } = &task.kind else {
                continue;
            };
            let rest = &errands[task.resume_at..];
            let need_legs = self.config.battery.is_some() || self.config.trip_weight > 0;
            let legs = match self.legs[t.0 as usize] {
                Some(l) => l,
                None if need_legs => {
                    let mut l = 0u32;
                    for w in rest.windows(2) {
                        l = l.saturating_add(costs.cost(w[0].cell, w[1].cell));
                    }
                    self.legs[t.0 as usize] = Some(l);
                    l
                }
                None => 0,
            };
            let last = rest.last().expect("resume_at < errands").cell;
            let cells = legs.saturating_add(self.to_charger(last));
            let lifts = rest
                .iter()
                .filter(|e| matches!(e.action, ErrandAction::Lift | ErrandAction::Drop))
                .count() as u32;
            out.push(Demand {
                tasks: vec![t],
                pod: None,
                station: None,
                first: rest[0].cell,
                rest_cells: cells,
                legs,
                lifts,
                slack: 0,
            });
        }
        // First up to each station's pacing target, every station short of it (not only as
        // many as there are free robots: the assignment then sends each robot to a station
        // it is near, where taking the neediest stations first sent robots freed in the
        // north to the south side and back); then, only if robots would otherwise stay
        // idle, up to capacity: a deeper queue costs nothing when robots are spare.
        let mut sent = vec![0usize; self.stations.len()];
        // Per pod: the empty trip from the nearest free robot, once computed.
        let mut fetched = vec![NOT_FETCHED; self.pods.len()];
        // Per pod: other queued lines it could serve (capped), once counted.
        let mut piled = vec![NOT_FETCHED; self.pods.len()];
        for pass in 0..2 {
            if pass == 1 && out.len() >= limit {
                break;
            }
            let cap = if pass == 0 { usize::MAX } else { limit };
            if pass == 1 {
                for (k, st) in self.stations.iter().enumerate() {
                    want[k] = if st.staffed.is_some() && st.kind != StationKind::Pack {
                        st.capacity.saturating_sub(st.tickets.len() + sent[k])
                    } else {
                        0
                    };
                }
            }
            let mut stuck = vec![false; self.stations.len()];
            // Per mille of its target (capacity, in the second pass) a station is short.
            let short = |k: usize, want: &[usize]| {
                let st = &self.stations[k];
                let of = if pass == 0 { st.target() } else { st.capacity };
                want[k] * 1000 / of.max(1)
            };
            while out.len() < cap {
                // The station furthest below its target goes next.
                let Some(s) = (0..self.stations.len())
                    .filter(|&k| want[k] > 0 && !stuck[k])
                    .max_by_key(|&k| (short(k, &want), Reverse(k)))
                else {
                    break;
                };
                // Short of its target by a larger share: less slack.
                let short = short(s, &want).min(1000) as u32;
                match self.station_demand(
                    StationId(s as u16),
                    free,
                    &claimed,
                    &pods_claimed,
                    costs,
                    &mut fetched,
                    &mut piled,
                ) {
                    Some(mut d) => {
                        d.slack = URGENCY_CELLS * (1000 - short) / 1000;
                        claimed.extend(d.tasks.iter().copied());
                        pods_claimed.extend(d.pod);
                        want[s] -= 1;
                        sent[s] += 1;
                        out.push(d);
                    }
                    None => stuck[s] = true,
                }
            }
        }
        out
    }

    /// The next pod for station `s`: among the first [`LINE_WINDOW`] queued tasks (fewer
    /// with more than four free robots) of the
    /// highest priority it can serve, the task and pod with the best score, and other queued
    /// lines that pod can serve at the same presentation (pile-on). A pod's score is the
    /// shortest empty trip from a free robot plus the loaded trip to the face, less a bonus
    /// for the other lines it serves, plus [`LINE_AGE_CELLS`] per place in the queue.
    pub(super) fn station_demand(
        &self,
        s: StationId,
        free: &[Cell],
        claimed: &BTreeSet<TaskId>,
        pods_claimed: &BTreeSet<PodId>,
        costs: &mut dyn Costs,
        fetched: &mut [u32],
        piled: &mut [u32],
    ) -> Option<Demand> {
        let st = &self.stations[s.0 as usize];
        let face = st.face();
        let serves = |t: &Task| match (&t.kind, st.kind) {
            (TaskKind::Pick { station, .. }, StationKind::Pick)
            | (TaskKind::Stow { station, .. }, StationKind::Stow) => {
                station.is_none() || *station == Some(s)
            }
            _ => false,
        };
        let free_pod = |p: PodId| {
            let pod = &self.pods[p.0 as usize];
            let PodLoc::Slot(slot) = pod.loc else {
                return false;
            };
            !pod.busy
                && !self.slot_blocked[self.slot_of_cell[slot.index()] as usize]
                && !pods_claimed.contains(&p)
        };
        let slot_of = |p: PodId| match self.pods[p.0 as usize].loc {
            PodLoc::Slot(c) => c,
            _ => unreachable!("free pods stand in slots"),
        };
        // The best (line, pod) among the first lines of the highest priority this station
        // can serve: older lines first, but not at any distance.
        // Each line costs a scan of the free robots per candidate pod, so the window
        // narrows as they grow (with many free robots, the assignment has choice anyway).
        let window = (LINE_WINDOW * 4 / free.len().max(1)).clamp(1, LINE_WINDOW);
        let mut chosen: Option<(i64, TaskId, PodId)> = None;
        let mut seen = 0usize;
        let mut top: Option<Reverse<i32>> = None;
        for key in &self.queue {
            let t = &self.tasks[key.2.0 as usize];
            if claimed.contains(&t.id) || !serves(t) {
                continue;
            }
            if top.is_some_and(|p| p != key.0) && chosen.is_some() {
                break;
            }
            top = Some(key.0);
            let Some((sel, units, stow)) = pod_line(&t.kind) else {
                continue;
            };
            let candidates: Vec<PodId> = match sel {
                PodSel::Pod(p) => vec![*p],
                PodSel::Sku(sku) if !stow => self.sku_pods[sku.0 as usize]
                    .iter()
                    .copied()
                    .filter(|p| self.pod_units(*p, *sku) >= units)
                    .collect(),
                PodSel::Sku(_) => (0..self.pods.len() as u32)
                    .map(PodId)
                    .filter(|p| self.pods[p.0 as usize].units() + units <= self.config.pod_capacity)
                    .collect(),
            };
            let best = candidates
                .into_iter()
                .filter(|&p| free_pod(p))
                .map(|p| {
                    let slot = slot_of(p);
                    let d = costs.cost(slot, face);
                    if d == UNREACHABLE {
                        return (i64::MAX, p);
                    }
                    // The same pods come up for many lines and stations in one call.
                    let cached = &mut fetched[p.0 as usize];
                    if *cached == NOT_FETCHED {
                        *cached = free
                            .iter()
                            .map(|&r| costs.cost(r, slot))
                            .min()
                            .unwrap_or(UNREACHABLE);
                    }
                    let fetch = *cached;
                    if fetch == UNREACHABLE {
                        return (i64::MAX, p);
                    }
                    let mut score = d as i64 + fetch as i64;
                    if let PodSel::Sku(sku) = sel {
                        if stow {
                            // Spread a SKU over several pods so later picks do not converge.
                            score += 20 * self.pod_units(p, *sku).min(1) as i64;
                        } else {
                            // Prefer pods that also serve other open lines (pile-on): each
                            // extra line saves a whole pod trip.
                            let cached = &mut piled[p.0 as usize];
                            if *cached == NOT_FETCHED {
                                let others: u32 = self.pods[p.0 as usize]
                                    .contents
                                    .keys()
                                    .map(|k| self.queued_lines[k.0 as usize])
                                    .sum::<u32>()
                                    .saturating_sub(1);
                                let cap = self.config.pile_on_max.saturating_sub(1) as u32;
                                *cached = others.min(cap);
                            }
                            score -= PILE_ON_WEIGHT * *cached as i64;
                        }
                    }
                    (score, p)
                })
                .filter(|(d, _)| *d != i64::MAX)
                .min();
            let Some((score, pod)) = best else {
                continue;
            };
            let score = score + LINE_AGE_CELLS * seen as i64;
            if chosen.is_none_or(|c| score < c.0) {
                chosen = Some((score, t.id, pod));
            }
            seen += 1;
            if seen >= window {
                break;
            }
        }
        let (_, chosen_task, pod) = chosen?;
        let t = &self.tasks[chosen_task.0 as usize];
        let (sel, units, stow) = pod_line(&t.kind).expect("only picks and stows are chosen");
        let slot = slot_of(pod);
        let mut tasks = vec![t.id];
        if !stow {
            // Pile-on: other queued picks this pod can serve at this station.
            let mut left: BTreeMap<SkuId, u32> = self.pods[pod.0 as usize].contents.clone();
            if let PodSel::Sku(sku) = sel {
                *left.get_mut(sku).expect("candidate holds it") -= units;
            }
            for other in &self.queue {
                if tasks.len() >= self.config.pile_on_max {
                    break;
                }
                let o = &self.tasks[other.2.0 as usize];
                if o.id == t.id || claimed.contains(&o.id) || !serves(o) {
                    continue;
                }
                if let TaskKind::Pick {
                    pod: PodSel::Sku(sku),
                    units,
                    ..
                } = &o.kind
                    && let Some(q) = left.get_mut(sku)
                    && *q >= *units
                {
                    *q -= units;
                    tasks.push(o.id);
                }
            }
        }
        let there = costs.cost(slot, face);
        let back = costs.cost(face, slot);
        Some(Demand {
            tasks,
            pod: Some(pod),
            station: Some(s),
            first: slot,
            rest_cells: there
                .saturating_add(back)
                .saturating_add(self.to_charger(slot)),
            legs: there,
            lifts: 2,
            slack: 0,
        })
    }
}

/// A pick or stow line: which pod it needs, how many units, and whether it is a stow.
fn pod_line(kind: &TaskKind) -> Option<(&PodSel, u32, bool)> {
    match kind {
        TaskKind::Pick { pod, units, .. } => Some((pod, *units, false)),
        TaskKind::Stow { pod, units, .. } => Some((pod, *units, true)),
        _ => None,
    }
}
