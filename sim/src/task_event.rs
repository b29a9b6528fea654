//! A task event: an assignment or a finished errand, as the LoRR output file lists them.

/// A task event for the LoRR output file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskEvent {
    /// Step at which it happened.
    pub t: u64,
    /// The agent.
    pub agent: u32,
    /// The task id (LoRR's running id).
    pub task: u64,
    /// Assigned (`None`) or the number of errands of the task done so far.
    pub errands_done: Option<u32>,
}
