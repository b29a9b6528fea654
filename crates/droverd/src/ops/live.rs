//! The live view after each tick: robots, stations with their KPIs, zones and alerts for the API
//! and dashboard, the events SSE clients get, and the metrics.

use std::collections::HashMap;
use std::sync::Arc;

use drover_alloc::{Activity, PodId, PodLoc, StationId};
use drover_core::session::Session;
use drover_store::{TaskStatus, ZoneSpec};
use serde::Serialize;

use super::OpsLoop;

/// One robot as the API shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RobotOut {
    /// Serial number.
    pub serial: String,
    /// Cell it last reported.
    pub cell: u32,
    /// Column and row of that cell.
    pub col: u32,
    /// Row.
    pub row: u32,
    /// Position in metres (VDA 5050 map frame, y north).
    pub x: f64,
    /// y.
    pub y: f64,
    /// Heading, radians (0 east, counter-clockwise).
    pub theta: f64,
    /// Battery, percent.
    pub battery: f64,
    /// What it is doing (`idle`, `to_pod`, `presenting`, `charging`, ...).
    pub activity: String,
    /// The client task it works on, if any.
    pub task: Option<u64>,
    /// The pod it carries, if any.
    pub carrying: Option<String>,
    /// VDA connection state ONLINE.
    pub online: bool,
    /// No fresh state: its task went back to the queue, its cells stay blocked.
    pub silent: bool,
    /// Taken out of service by an operator.
    pub out_of_service: bool,
    /// The robot reports itself paused.
    pub paused: bool,
    /// Held in a blocked zone (paused until the zone is deleted).
    pub zone_held: bool,
    /// Errors the robot reports (type: description).
    pub errors: Vec<String>,
    /// Why it is not driven, if it is not: an order it refused, a FATAL error, an emergency
    /// stop or mode, a position away from its cells (`POST /api/robots/{serial}/reset`
    /// clears a refusal).
    pub fault: Option<String>,
    /// The VDA 5050 version it speaks (orders go out in it).
    pub version: String,
}

/// One station as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StationOut {
    /// Name.
    pub name: String,
    /// `pick`, `stow` or `pack`.
    pub kind: String,
    /// The associate working it.
    pub associate: Option<String>,
    /// Robots on their way or queued (tickets).
    pub robots: usize,
    /// Robots in the lane.
    pub queue: usize,
    /// Target queue from the associate's pace.
    pub target: usize,
    /// Pod at the face.
    pub presented: Option<String>,
    /// Pods presented and released so far.
    pub presentations: u64,
    /// Units handled per hour since start.
    pub uph: f64,
    /// Share of staffed time with no pod at the face, percent.
    pub starvation_pct: f64,
}

/// A zone as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ZoneOut {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Cell ids.
    pub cells: Vec<u32>,
    /// `blocked` or `slow`.
    pub mode: String,
    /// Speed limit for `slow`, m/s.
    pub max_speed: Option<f32>,
    /// Cells of the associates' access path into a blocked zone (closed to robots too).
    pub access: Vec<u32>,
}

/// The shift's key figures, live.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Kpis {
    /// Seconds since the coordinator started driving.
    pub uptime_s: f64,
    /// Tasks by status (all tasks ever accepted).
    pub tasks: HashMap<String, u64>,
    /// Client tasks done per hour since start.
    pub tasks_per_hour: f64,
    /// Units handled per hour, all stations.
    pub uph: f64,
    /// Robots by activity.
    pub robots: HashMap<String, u64>,
    /// Staffed stations with no pod at the face right now.
    pub starving_stations: Vec<String>,
    /// Mean starvation over staffed stations, percent.
    pub starvation_pct: f64,
    /// Coordinator tick p99 over the last minute, ms.
    pub tick_ms_p99: f64,
    /// A commit failed and its writes are still owed: the fleet is paused and no order goes
    /// out until the store takes them.
    pub store_failing: bool,
    /// Commits the store refused since droverd started (`drover_store_commit_failures_total`).
    pub store_commit_failures: u64,
}

/// The live view, rebuilt every tick.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Live {
    /// Coordinator tick.
    pub tick: u64,
    /// Robots (empty until they are located).
    pub robots: Vec<RobotOut>,
    /// Stations.
    pub stations: Vec<StationOut>,
    /// Zones.
    pub zones: Vec<ZoneOut>,
    /// KPIs.
    pub kpis: Kpis,
    /// Alerts for people: robot errors, silent robots, starving stations.
    pub alerts: Vec<String>,
    /// Cells where a pod stands (in a slot, or stranded); a lifted pod rides on its robot
    /// (`carrying`).
    pub pods: Vec<u32>,
    /// An operator paused the whole fleet (`POST /api/fleet/pause`). The store's own pause
    /// (while commits fail) is `kpis.store_failing`, with an alert.
    pub fleet_paused: bool,
}

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
            tick_ms_p99: crate::stats::percentile(&sorted, 0.99),
            store_failing: self.failing.is_some(),
            store_commit_failures: self.committer.failures(),
        };
        metrics::counter!("drover_store_commit_failures_total").absolute(self.committer.failures());
        metrics::gauge!("drover_store_owed_writes").set(self.owed.writes.len() as f64);
        let alloc = coord.alloc();
        let pods = (0..alloc.n_pods() as u32)
            .filter_map(|p| match alloc.pod_loc(PodId(p)) {
                PodLoc::Slot(c) | PodLoc::Stranded(c) => Some(c.0),
                PodLoc::Robot(_) => None,
            })
            .collect();
        if self.operator_paused {
            alerts.insert(
                0,
                "the fleet is paused (resume: POST /api/fleet/resume)".to_string(),
            );
        }
        if let Some(f) = &self.failing {
            alerts.insert(
                0,
                format!(
                    "the store refuses commits ({}): {} writes not durable, {} failed commits in {} s; the fleet is paused and no order goes out until they succeed",
                    f.error,
                    self.owed.writes.len(),
                    f.tries,
                    f.since.elapsed().as_secs()
                ),
            );
        }
        let live = Live {
            fleet_paused: self.operator_paused,
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

/// A zone as stored -> as shown.
pub(crate) fn zone_out(id: u64, z: &ZoneSpec) -> ZoneOut {
    ZoneOut {
        id,
        name: z.name.clone(),
        cells: z.cells.clone(),
        access: z.access.clone(),
        mode: if z.max_speed.is_some() {
            "slow"
        } else {
            "blocked"
        }
        .into(),
        max_speed: z.max_speed,
    }
}

fn activity_name(a: Activity) -> &'static str {
    match a {
        Activity::OutOfService => "out_of_service",
        Activity::Idle => "idle",
        Activity::Parked => "parked",
        Activity::ToPod => "to_pod",
        Activity::Lifting => "lifting",
        Activity::ToStation => "to_station",
        Activity::Queueing => "queueing",
        Activity::Presenting => "presenting",
        Activity::Returning => "returning",
        Activity::Transport => "transport",
        Activity::ToCharger => "to_charger",
        Activity::Charging => "charging",
    }
}
