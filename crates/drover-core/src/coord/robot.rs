//! What the coordinator keeps per robot, and whether it may be driven.

use super::*;

pub(super) struct Robot {
    pub(super) serial: String,
    pub(super) battery: f64,
    /// Tick of the last state message (robots are known from their first state: 0).
    pub(super) last_state: u64,
    pub(super) online: bool,
    pub(super) silent: bool,
    /// Taken out of service by an operator.
    pub(super) manual_out: bool,
    /// Paused by an operator.
    pub(super) manual_pause: bool,
    /// Stands in (or was released into) a blocked zone: paused and held until it is lifted.
    pub(super) zone_held: bool,
    pub(super) order: OrderTrack,
    /// The goal and action last attached to the plan, so each is attached once, and the
    /// global entry index that carries it.
    pub(super) attached: Option<(Cell, GoalAction, u64)>,
    /// Instant actions waiting for their echo: (message, sent at).
    pub(super) instant: Option<(InstantActions, u64)>,
    /// A `cancelOrder` sent and not yet reported finished: its action id.
    pub(super) cancelling: Option<String>,
    /// A `stateRequest` went out since the last state.
    pub(super) state_requested: bool,
    /// Errors with which the robot refused an order of ours (its own text): the order is
    /// not resent, and the robot is down until no error names it or an operator resets it.
    pub(super) refused: Vec<String>,
    /// FATAL errors it reports.
    pub(super) fatal: Vec<String>,
    /// Error texts an operator acknowledged (`reset`): they refuse nothing any more.
    pub(super) acked: Vec<String>,
    /// Every error it reports, as text (warnings are shown, nothing more).
    pub(super) errors: Vec<String>,
    /// Emergency stop, protective field or operating mode: why it may not be driven.
    pub(super) safety: Option<String>,
    /// It reports itself paused (`paused: true`): held where it is.
    pub(super) self_paused: bool,
    /// Its position lies off the map or away from its released cells: why, and the cell
    /// it stands on if that is on the floor (closed to the others).
    pub(super) misplaced: Option<(String, Option<Cell>)>,
    /// A fault the wire side found (an unsupported protocol version).
    pub(super) link_fault: Option<String>,
    /// Its last reported pose: x, y (m), theta (rad).
    pub(super) pose: Option<(f64, f64, f64)>,
    /// Not driven (silent, or any reason above): tasks back in the queue, cells closed.
    pub(super) down: bool,
    /// The misplaced cell the closed cells were last computed with.
    pub(super) closed_at: Option<Cell>,
    /// Its factsheet's `speedMax`, m/s (`INFINITY`: unknown).
    pub(super) speed_max: f64,
    /// Failed node actions already acted on (ids, while the robot still reports them).
    pub(super) failed_seen: Vec<String>,
    /// `startCharging` failures in a row: at `action_retries` it is sent to no charger.
    pub(super) charge_failures: u32,
}

impl Robot {
    /// Whether the robot may not be driven ([`Robot::why_down`] without building the text:
    /// the tick asks this of every robot).
    pub(super) fn is_down(&self) -> bool {
        self.silent
            || self.link_fault.is_some()
            || !self.refused.is_empty()
            || !self.fatal.is_empty()
            || self.safety.is_some()
            || self.misplaced.is_some()
    }

    /// Why the robot may not be driven, if it may not.
    pub(super) fn why_down(&self) -> Option<String> {
        let mut why: Vec<String> = Vec::new();
        if self.silent {
            why.push("silent".to_string());
        }
        if let Some(f) = &self.link_fault {
            why.push(f.clone());
        }
        for e in &self.refused {
            why.push(format!("refused an order: {e}"));
        }
        for e in &self.fatal {
            why.push(format!("FATAL {e}"));
        }
        if let Some(s) = &self.safety {
            why.push(s.clone());
        }
        if let Some((m, _)) = &self.misplaced {
            why.push(m.clone());
        }
        (!why.is_empty()).then(|| why.join("; "))
    }
}
