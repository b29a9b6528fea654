//! The live view after each tick: robots, stations with their KPIs, zones and alerts for the API
//! and dashboard, the events SSE clients get, and the metrics.

use super::*;

impl OpsLoop {
    /// Rebuilds the live view, emits robot and station events, and updates metrics.
    pub fn publish(&mut self, session: &Session, uptime_s: f64) {
        let coord = session.coordinator();
        let alloc = coord.alloc();
        let frame = coord.frame();
        let n = coord.n_robots();
        if self.last_cells.len() != n {
            self.last_cells = vec![u32::MAX; n];
        }
        let mut robots = Vec::with_capacity(n);
        let mut moved = Vec::new();
        let mut by_activity: HashMap<String, u64> = HashMap::new();
        let mut alerts = Vec::new();
        for r in 0..n as u32 {
            let cell = coord.position(r);
            let (x, y) = frame.position(cell);
            let activity = activity_name(alloc.activity(r));
            *by_activity.entry(activity.to_string()).or_default() += 1;
            let task = alloc
                .robot_tasks(r)
                .iter()
                .find_map(|t| self.by_alloc.get(t).copied());
            let (row, col) = (cell.0 / frame.width, cell.0 % frame.width);
            let out = RobotOut {
                serial: coord.serial(r).to_string(),
                cell: cell.0,
                col,
                row,
                x,
                y,
                theta: coord.pose(r).map_or(0.0, |p| p.2),
                battery: (coord.battery(r) * 1000.0).round() / 10.0,
                activity: activity.to_string(),
                task,
                carrying: alloc.carrying(r).map(|p| alloc.pod_name(p).to_string()),
                online: coord.is_online(r),
                silent: coord.is_silent(r),
                out_of_service: coord.is_out_of_service(r),
                paused: coord.is_self_paused(r),
                zone_held: coord.is_zone_held(r),
                errors: coord.errors(r).to_vec(),
                fault: coord.down_reason(r).filter(|w| w != "silent"),
                version: session.version(r).to_string(),
            };
            if out.silent {
                alerts.push(format!("robot {} is silent", out.serial));
            }
            if out.zone_held {
                alerts.push(format!(
                    "robot {} is held in a blocked zone until it is deleted",
                    out.serial
                ));
            }
            if let Some(f) = &out.fault {
                alerts.push(format!("robot {} is not driven: {f}", out.serial));
            }
            for e in &out.errors {
                alerts.push(format!("robot {}: {e}", out.serial));
            }
            if self.last_cells[r as usize] != cell.0 {
                self.last_cells[r as usize] = cell.0;
                moved.push(serde_json::json!({
                    "serial": out.serial, "cell": cell.0, "col": col, "row": row,
                    "theta": out.theta, "carrying": out.carrying, "activity": activity,
                }));
            }
            robots.push(out);
        }
        if !moved.is_empty() {
            self.events.push("robots", &moved);
        }
        let hours = (uptime_s / 3600.0).max(1e-9);
        let mut stations = Vec::new();
        let mut starving = Vec::new();
        let mut starvation_sum = 0.0;
        let mut staffed_n = 0;
        let mut units_total = 0;
        for s in 0..alloc.n_stations() {
            let id = StationId(s as u16);
            let st = &mut self.stats[s];
            let presented = alloc.presented(id);
            let now = presented.as_ref().map(|p| (p.robot, p.units));
            if st.last_presented.is_some() && st.last_presented != now {
                st.presentations += 1;
            }
            st.last_presented = now;
            // Units count once the associate released the pod: picked (or stowed).
            st.units = alloc.units_done(id);
            // A station starves only while staffed, with work for it and no pod to present;
            // the share is of the ticks it was staffed with work.
            let staffed = alloc.staffed(id).is_some();
            if staffed && alloc.has_work(id) {
                st.demand_ticks += 1;
                if presented.is_none() {
                    st.starved_ticks += 1;
                    starving.push(alloc.station_name(id).to_string());
                }
            }
            let starvation = if st.demand_ticks > 0 {
                100.0 * st.starved_ticks as f64 / st.demand_ticks as f64
            } else {
                0.0
            };
            if staffed {
                starvation_sum += starvation;
                staffed_n += 1;
            }
            units_total += st.units;
            let (tickets, _) = alloc.station_load(id);
            stations.push(StationOut {
                name: alloc.station_name(id).to_string(),
                kind: alloc.station_kind(id).name().to_string(),
                associate: alloc.staffed(id).map(str::to_string),
                robots: tickets,
                queue: alloc.station_queue(id),
                target: alloc.station_target(id),
                presented: presented.map(|p| alloc.pod_name(p.pod).to_string()),
                presentations: st.presentations,
                uph: (st.units as f64 / hours * 10.0).round() / 10.0,
                starvation_pct: (starvation * 10.0).round() / 10.0,
            });
            metrics::gauge!("drover_station_uph", "station" => alloc.station_name(id).to_string())
                .set(st.units as f64 / hours);
            metrics::gauge!("drover_station_starvation_ratio", "station" => alloc.station_name(id).to_string())
                .set(starvation / 100.0);
        }
        for (k, s) in stations.iter().enumerate() {
            if self.last_stations.get(k) != Some(s) {
                let changed = self.last_stations.get(k).is_none_or(|o| {
                    (&o.associate, o.queue, &o.presented) != (&s.associate, s.queue, &s.presented)
                });
                if changed {
                    self.events.push("station", s);
                }
            }
        }
        self.last_stations = stations.clone();
        let mut tasks: HashMap<String, u64> = HashMap::new();
        for s in TaskStatus::ALL {
            tasks.insert(
                s.name().to_string(),
                self.finals.get(&s).copied().unwrap_or(0),
            );
        }
        for (_, status, _) in self.open.values() {
            *tasks.entry(status.name().to_string()).or_default() += 1;
        }
        for (status, count) in &tasks {
            metrics::gauge!("drover_tasks", "status" => status.clone()).set(*count as f64);
        }
        for (activity, count) in &by_activity {
            metrics::gauge!("drover_robots", "activity" => activity.clone()).set(*count as f64);
        }
        if !starving.is_empty() && uptime_s > 60.0 {
            alerts.push(format!("starving: {}", starving.join(", ")));
        }
        let mut sorted: Vec<f64> = self.ticks_ms.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let kpis = Kpis {
            uptime_s: (uptime_s * 10.0).round() / 10.0,
            tasks,
            tasks_per_hour: (self.done_since_start as f64 / hours).round(),
            uph: (units_total as f64 / hours).round(),
            robots: by_activity,
            starving_stations: starving,
            starvation_pct: if staffed_n > 0 {
                (starvation_sum / staffed_n as f64 * 10.0).round() / 10.0
            } else {
                0.0
            },
            tick_ms_p99: crate::percentile(&sorted, 0.99),
        };
        let alloc = coord.alloc();
        let pods = (0..alloc.n_pods() as u32)
            .filter_map(|p| match alloc.pod_loc(PodId(p)) {
                PodLoc::Slot(c) | PodLoc::Stranded(c) => Some(c.0),
                PodLoc::Robot(_) => None,
            })
            .collect();
        if coord.is_fleet_paused() {
            alerts.insert(
                0,
                "the fleet is paused (resume: POST /api/fleet/resume)".to_string(),
            );
        }
        let live = Live {
            fleet_paused: coord.is_fleet_paused(),
            tick: coord.now(),
            robots,
            stations,
            zones: self.zones.clone(),
            kpis,
            alerts,
            pods,
        };
        self.live.send_replace(Arc::new(live));
    }
}
