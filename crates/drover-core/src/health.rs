//! What a robot's state says about whether it may be driven: errors (an order it rejected,
//! FATAL, WARNING), safety (emergency stop, protective field, operating mode) and its own
//! pause, read from one `state` message.

use drover_vda5050::{EStop, ErrorLevel, OperatingMode, RobotError, State};

/// Error types that mean an order was refused (2.1 names these; 3.0's equivalents too).
const ORDER_REFUSALS: [&str; 10] = [
    "validationError",
    "orderError",
    "orderUpdateError",
    "noRouteError",
    "VALIDATION_FAILURE",
    "INVALID_ORDER",
    "INVALID_ORDER_ACTION",
    "OUTDATED_ORDER_UPDATE",
    "NO_ROUTE_TO_TARGET",
    "START_NODE_OUT_OF_RANGE",
];

/// One error as an operator reads it: `type: description`.
pub fn error_text(e: &RobotError) -> String {
    match &e.error_description {
        Some(d) if !d.is_empty() => format!("{}: {d}", e.error_type),
        _ => e.error_type.clone(),
    }
}

/// Whether `e` refuses an order of ours: it references an order id starting with
/// `id_prefix` (this robot's orders of this coordinator run), or it is an order refusal
/// while one of our orders waits for its echo (robots that reference nothing).
pub fn refuses_order(e: &RobotError, id_prefix: &str, awaiting_echo: bool) -> bool {
    let refs = e.error_references.iter().flatten();
    let mut names_order = false;
    for r in refs {
        if r.reference_key == "orderId" {
            let rest = r.reference_value.strip_prefix(id_prefix);
            if rest.is_some_and(|rest| rest.starts_with('-')) {
                return true;
            }
            names_order = true;
        }
    }
    // An error that names another order (an earlier coordinator's) is not about ours.
    !names_order && awaiting_echo && ORDER_REFUSALS.contains(&e.error_type.as_str())
}

/// Why the robot's safety system or mode keeps the fleet from driving it, if it does:
/// an emergency stop, a protective field violation, or a mode other than AUTOMATIC.
pub fn safety_stop(state: &State) -> Option<String> {
    let mut why = Vec::new();
    if state.safety_state.e_stop != EStop::None {
        let kind = format!("{:?}", state.safety_state.e_stop).to_uppercase();
        why.push(format!("emergency stop {kind}"));
    }
    if state.safety_state.field_violation {
        why.push("protective field violated".to_string());
    }
    if state.operating_mode != OperatingMode::Automatic {
        let mode = format!("{:?}", state.operating_mode).to_uppercase();
        why.push(format!("operating mode {mode}"));
    }
    (!why.is_empty()).then(|| why.join(", "))
}

/// The robot's FATAL errors, as text (warnings are only shown: [`error_text`] of each).
pub fn fatal_errors(state: &State) -> Vec<String> {
    state
        .errors
        .iter()
        .filter(|e| e.error_level == ErrorLevel::Fatal)
        .map(error_text)
        .collect()
}
