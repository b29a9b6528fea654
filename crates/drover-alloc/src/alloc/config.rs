//! Allocator settings: batching, batteries, lift times, pacing priors and slotting.

/// Battery thresholds (fractions of a full charge, 0..=1) and the energy model.
#[derive(Clone, Debug)]
pub struct BatteryConfig {
    /// Never plan a job that would end below this, trip to the nearest charger included.
    pub critical: f64,
    /// An idle robot below this goes to charge.
    pub go_charge: f64,
    /// A charging robot at or above this may be taken off the charger for work.
    pub may_work: f64,
    /// Charging stops here.
    pub full: f64,
    /// Charge used per cell driven.
    pub per_cell: f64,
    /// Charge used per lift or set-down.
    pub per_lift: f64,
}

/// Allocator settings. No `Default`: callers choose (the simulator and droverd document theirs).
#[derive(Clone, Debug)]
pub struct AllocConfig {
    /// Batches with at most this many robots or tasks are solved exactly (Hungarian method);
    /// larger ones greedily.
    pub optimal_max: usize,
    /// Batteries and chargers; `None` ignores energy (benchmarks without chargers).
    pub battery: Option<BatteryConfig>,
    /// Ticks to lift a pod.
    pub lift_ticks: u32,
    /// Ticks to set one down.
    pub drop_ticks: u32,
    /// Most order lines served by one pod presentation (pile-on).
    pub pile_on_max: usize,
    /// Units a pod holds at most (stow picks pods with room).
    pub pod_capacity: u32,
    /// Pacing prior: ticks an associate needs per pod before any is observed.
    pub prior_service_ticks: f64,
    /// Pacing prior: ticks from dispatch until the pod reaches the queue.
    pub prior_lead_ticks: f64,
    /// Weight of the newest observation in the pacing averages (0..1).
    pub smoothing: f64,
    /// Half-life of a pod's demand score, in ticks (re-slotting).
    pub demand_half_life: f64,
    /// Return pods to a slot chosen by demand (fast movers near the stations); `false`
    /// returns each pod to the slot it came from when that is free.
    pub slotting: bool,
    /// Send idle robots to park cells.
    pub park_idle: bool,
    /// Queued transports offered to each free robot: a batch has at most
    /// `free robots × transport_window` transport columns, oldest first.
    pub transport_window: usize,
    /// Most free robots in one batch; the rest wait for the next tick (bounds the matrix
    /// when thousands of robots start at once).
    pub max_batch: usize,
    /// Weight of a transport's own length (first errand to last) in its cost: above 0 the
    /// batch prefers short jobs, which finishes more of them per robot-hour.
    pub trip_weight: u32,
}

impl AllocConfig {
    /// The settings of a sortable fulfilment centre as drover runs one (the simulated shift
    /// and droverd start from these): batteries for about 1.5 hours of driving per charge at
    /// one cell per second, lifts of 2 ticks, demand-based slotting, idle robots parked.
    pub fn fulfilment_centre() -> AllocConfig {
        AllocConfig {
            optimal_max: 150,
            battery: Some(BatteryConfig {
                critical: 0.15,
                go_charge: 0.30,
                may_work: 0.60,
                full: 0.95,
                // About 1.5 hours of driving per charge at one cell per second.
                per_cell: 1.0 / 6000.0,
                per_lift: 1.0 / 2000.0,
            }),
            lift_ticks: 2,
            drop_ticks: 2,
            pile_on_max: 6,
            pod_capacity: 400,
            prior_service_ticks: 40.0,
            prior_lead_ticks: 120.0,
            smoothing: 0.2,
            demand_half_life: 3600.0,
            slotting: true,
            park_idle: true,
            transport_window: 4,
            max_batch: 4096,
            trip_weight: 1,
        }
    }
}
