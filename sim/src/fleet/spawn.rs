//! Setting up a simulated floor: coordinator settings, stocked pods, and drive units with the
//! session that discovered them the way droverd does.

use drover_core::session::{Discovery, Session, SessionConfig};
use drover_grid::load::Floor;
use drover_vda5050::Topic;

use super::wire::{EPOCH_MS, INTERFACE, unit_topic};
use crate::floor::{alloc_config, sku_count, start_cells, stock_floor};
use crate::unit::DriveUnit;

/// The serial of unit `k` (0-based).
pub fn serial(k: usize) -> String {
    format!("du-{:04}", k + 1)
}

/// The tick length [`coord_config`]'s tick counts are meant for, ms.
pub const TICK_MS: u64 = 250;

/// Coordinator settings for simulated floors (droverd's defaults in `config/droverd.toml`).
pub fn coord_config(seed: u64) -> drover_core::coord::CoordConfig {
    let mut alloc = alloc_config();
    // Lifts and set-downs are the unit's own `pick`/`drop` actions, which hold it in place.
    alloc.lift_ticks = 0;
    alloc.drop_ticks = 0;
    alloc.optimal_max = 64;
    drover_core::coord::CoordConfig {
        alloc,
        seed,
        table_cache_bytes: 256 << 20,
        base_ahead: 2,
        max_lag: 3,
        resend_ticks: 10,
        max_orders_per_tick: 0,
        silent_ticks: 100,
        map_id: "floor".into(),
        placement: drover_core::orders::Placement::IDENTITY,
        manufacturer: "drover-sim".into(),
        actions: drover_core::orders::ActionNames::standard(),
        action_retries: 2,
        // One coordinator per simulated run: plain ids keep snapshots stable.
        instance: String::new(),
    }
}

/// A floor ready for a simulated shift: pods without contents get SKUs (seeded).
pub fn stocked(mut floor: Floor, seed: u64) -> Floor {
    let n_skus = sku_count(&floor);
    stock_floor(&mut floor, n_skus, &mut crate::sim_rng(seed));
    floor
}

/// `n` units standing on the floor's park cells (then chargers, then travel cells), facing
/// east, and the session that found them as droverd does: from their factsheets and first
/// states, through [`Discovery`].
pub fn spawn(
    floor: &Floor,
    n: usize,
    config: drover_core::coord::CoordConfig,
    unit: &crate::unit::UnitConfig,
) -> anyhow::Result<(Session, Vec<DriveUnit>)> {
    let specs = robot_specs(floor, n)?;
    let frame = drover_core::orders::MapFrame::new(&config.map_id, &floor.grid, floor.cell_size_m)
        .placed(config.placement);
    let mut units = units_at(&specs, &config.manufacturer, &frame, unit);
    let mut discovery = Discovery::new(
        floor,
        frame.clone(),
        SessionConfig {
            interface: INTERFACE.to_string(),
            manufacturer: config.manufacturer.clone(),
            serials: specs.iter().map(|s| s.serial.clone()).collect(),
            tick_ms: TICK_MS,
            // droverd's defaults; units and session share the simulated clock.
            intake: drover_core::session::Intake {
                max_clock_skew_ms: 5000,
                connection_doubt_ms: 2000,
            },
        },
    );
    for u in &mut units {
        let sheet = serde_json::to_vec(&u.factsheet(0, EPOCH_MS))?;
        let state = serde_json::to_vec(&u.state(0, EPOCH_MS))?;
        for (topic, payload) in [(Topic::Factsheet, sheet), (Topic::State, state)] {
            let topic = unit_topic(u, &config.manufacturer, topic);
            let events = discovery.receive(&topic, &payload, EPOCH_MS);
            anyhow::ensure!(
                events.is_empty(),
                "unit {} at startup: {events:?}",
                u.serial()
            );
        }
    }
    let tables = drover_alloc::TargetTables::for_floor(floor);
    let (session, events) = discovery.start(config, tables)?;
    anyhow::ensure!(events.is_empty(), "startup: {events:?}");
    Ok((session, units))
}

/// Drive units for `specs` in `frame`.
pub fn units_at(
    specs: &[drover_core::coord::RobotSpec],
    manufacturer: &str,
    frame: &drover_core::orders::MapFrame,
    unit: &crate::unit::UnitConfig,
) -> Vec<DriveUnit> {
    specs
        .iter()
        .map(|s| {
            DriveUnit::new(
                manufacturer,
                &s.serial,
                frame.clone(),
                s.start.cell,
                s.start.heading,
                unit.clone(),
            )
        })
        .collect()
}

/// `n` robots on the floor's park cells (then chargers, then travel cells), facing east,
/// with serials `du-0001`...
pub fn robot_specs(floor: &Floor, n: usize) -> anyhow::Result<Vec<drover_core::coord::RobotSpec>> {
    Ok(start_cells(floor, n)?
        .into_iter()
        .enumerate()
        .map(|(k, cell)| drover_core::coord::RobotSpec {
            serial: serial(k),
            start: drover_plan::AgentState {
                cell,
                heading: drover_grid::Heading::East,
            },
        })
        .collect())
}
