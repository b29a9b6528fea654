//! drover-store: the durable record of what clients asked for and what became of it.
//!
//! droverd commits a task before it answers the client, and commits task transitions before
//! it publishes the orders that follow from them. After a crash it rebuilds its state from
//! [`Store::recover`]: open tasks, station staffing, zones, pods (slot and contents).
//!
//! [`Store`] is the seam for other databases (PostgreSQL for sites with several
//! coordinators); [`SqliteStore`] is the one shipped: bundled SQLite, WAL,
//! `synchronous=FULL`, versioned migrations. [`Committer`] is the single writer thread that
//! batches concurrent writes into one transaction (group commit), so many clients share one
//! fsync.
//!
//! Records cross the database boundary as postcard blobs of versioned enums
//! ([`record::TaskRecord`]); the column layout holds only what queries filter on.
//!
//! The store fails safe: [`DirLock`] keeps a second process off a data dir, and
//! [`SqliteStore::open`] refuses a damaged file or a record that does not decode rather than
//! hand back part of the state. A failed commit is returned to the caller (and counted,
//! [`Committer::failures`]); droverd then holds its orders until commits succeed again.

mod audit;
#[cfg(test)]
mod audit_tests;
mod check;
mod error;
mod lock;
pub mod record;
mod sqlite;
#[cfg(test)]
mod tests;

pub use audit::{AuditEntry, AuditQuery, AuditRow};
pub use error::StoreError;
pub use lock::{DirLock, LOCK_FILE};
pub use record::{
    ContentsRecord, ErrandKind, ErrandSpec, PodChoice, SpecKind, TaskRecord, TaskSpec, ZoneRecord,
    ZoneSpec, ZoneSpecV1,
};
pub use sqlite::SqliteStore;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;

/// A task's life-cycle state as stored (the allocator's, without robot details).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Waiting for a robot.
    Queued,
    /// A robot is on its way.
    Assigned,
    /// Under way.
    InProgress,
    /// Finished.
    Done,
    /// Cannot be done.
    Failed,
    /// Withdrawn.
    Cancelled,
}

impl TaskStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [TaskStatus; 6] = [
        TaskStatus::Queued,
        TaskStatus::Assigned,
        TaskStatus::InProgress,
        TaskStatus::Done,
        TaskStatus::Failed,
        TaskStatus::Cancelled,
    ];

    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            TaskStatus::Queued => "queued",
            TaskStatus::Assigned => "assigned",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Done => "done",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Done, failed or cancelled.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskStatus::Done | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }
}

/// One write. A batch of writes commits atomically.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// A new client task. With a key, a second insert with the same key returns the first
    /// task (or a conflict when the specs differ) and stores nothing.
    InsertTask {
        /// Client idempotency key.
        key: Option<String>,
        /// What the client asked for.
        spec: TaskSpec,
        /// Wall-clock ms.
        at_ms: u64,
    },
    /// A task moved on. Transitions into a final state are refused for tasks already final,
    /// so no task is ever done twice.
    Transition {
        /// Task id.
        id: u64,
        /// New status.
        status: TaskStatus,
        /// The robot holding it, if any.
        robot: Option<String>,
        /// Why (failures, cancellations).
        reason: Option<String>,
        /// Wall-clock ms.
        at_ms: u64,
    },
    /// An associate takes (`Some`) or leaves (`None`) a station.
    Staff {
        /// Station name.
        station: String,
        /// Associate id.
        associate: Option<String>,
    },
    /// A zone is created or replaced.
    PutZone {
        /// Zone id.
        id: u64,
        /// The zone.
        zone: ZoneRecord,
    },
    /// A zone is removed.
    DeleteZone {
        /// Zone id.
        id: u64,
    },
    /// A pod's slot and contents.
    PutPod {
        /// Pod name.
        name: String,
        /// Storage cell id.
        slot: u32,
        /// SKU -> units.
        contents: ContentsRecord,
    },
    /// A floor-wide setting (`fleet_paused`), replacing its last value.
    Setting {
        /// Name.
        key: String,
        /// Value.
        value: String,
    },
    /// An operator action on the API, appended to the audit trail.
    Audit(AuditEntry),
}

/// What one write did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A task was stored under this id.
    Inserted {
        /// The id.
        id: u64,
    },
    /// The key was seen before with the same spec: the first task's id.
    Existing {
        /// The id.
        id: u64,
    },
    /// The key was seen before with a different spec: nothing stored.
    KeyConflict {
        /// The first task's id.
        id: u64,
    },
    /// A transition was stored.
    Moved,
    /// A transition was refused: no such task, or the task is already final.
    Refused {
        /// Why.
        reason: String,
    },
    /// Anything else went through.
    Ok,
}

/// A stored task as clients see it.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskRow {
    /// Id.
    pub id: u64,
    /// Client key.
    pub key: Option<String>,
    /// What was asked.
    pub spec: TaskSpec,
    /// Where it is.
    pub status: TaskStatus,
    /// The robot holding it (or that last held it).
    pub robot: Option<String>,
    /// Why it failed or was cancelled.
    pub reason: Option<String>,
    /// Accepted at, wall-clock ms.
    pub created_ms: u64,
    /// Last change, wall-clock ms.
    pub updated_ms: u64,
}

/// A filter for [`Store::tasks`].
#[derive(Clone, Debug, Default)]
pub struct TaskQuery {
    /// Only these statuses (empty: all).
    pub statuses: Vec<TaskStatus>,
    /// Only ids above this (paging).
    pub after: Option<u64>,
    /// At most this many (the store caps it at 10,000).
    pub limit: usize,
}

/// Everything droverd needs to carry on after a restart.
#[derive(Clone, Debug, Default)]
pub struct Recovered {
    /// Tasks not yet final, in id order.
    pub open: Vec<TaskRow>,
    /// Station -> associate, for staffed stations.
    pub staffed: Vec<(String, String)>,
    /// Zones by id.
    pub zones: Vec<(u64, ZoneRecord)>,
    /// Pod name -> (slot, contents), for every pod ever stored.
    pub pods: Vec<(String, u32, ContentsRecord)>,
    /// Count of tasks by status.
    pub counts: Vec<(TaskStatus, u64)>,
    /// Floor-wide settings, by name.
    pub settings: Vec<(String, String)>,
}

/// A durable store. Implementations are internally synchronised: one writer at a time,
/// readers concurrent with it.
pub trait Store: Send + Sync {
    /// Commits a batch in one transaction; one outcome per write, in order.
    fn apply(&self, writes: &[Write]) -> Result<Vec<Outcome>, StoreError>;
    /// What a restart needs.
    fn recover(&self) -> Result<Recovered, StoreError>;
    /// Tasks matching a query, by id.
    fn tasks(&self, query: &TaskQuery) -> Result<Vec<TaskRow>, StoreError>;
    /// One task.
    fn task(&self, id: u64) -> Result<Option<TaskRow>, StoreError>;
    /// How many times a task entered `status` (audits: every done task is done once).
    fn entered(&self, id: u64, status: TaskStatus) -> Result<u64, StoreError>;
    /// A page of the API's audit trail, oldest first.
    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRow>, StoreError>;
}

type Reply = tokio::sync::oneshot::Sender<Result<Vec<Outcome>, String>>;

/// The single writer: a thread that drains every pending request into one transaction.
/// Cloning shares the thread; it ends when the last handle is dropped.
#[derive(Clone)]
pub struct Committer {
    tx: std_mpsc::Sender<(Vec<Write>, Reply)>,
    store: Arc<dyn Store>,
    failures: Arc<AtomicU64>,
}

/// Requests per transaction at most (bounds commit latency under a flood).
const MAX_BATCH: usize = 4096;

impl Committer {
    /// Starts the writer thread over `store`.
    pub fn start(store: Arc<dyn Store>) -> Committer {
        let (tx, rx) = std_mpsc::channel::<(Vec<Write>, Reply)>();
        let writer = store.clone();
        let failures = Arc::new(AtomicU64::new(0));
        let failed = failures.clone();
        std::thread::Builder::new()
            .name("drover-store".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut pending = vec![first];
                    while pending.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(next) => pending.push(next),
                            Err(_) => break,
                        }
                    }
                    let writes: Vec<Write> = pending
                        .iter()
                        .flat_map(|(w, _)| w.iter().cloned())
                        .collect();
                    match writer.apply(&writes) {
                        Ok(outcomes) => {
                            let mut it = outcomes.into_iter();
                            for (w, reply) in pending {
                                let mine: Vec<Outcome> = it.by_ref().take(w.len()).collect();
                                let _ = reply.send(Ok(mine));
                            }
                        }
                        Err(e) => {
                            // Every caller gets the error and reports it (droverd logs once per
                            // episode of failures, not once per retry).
                            failed.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!(error = %e, writes = writes.len(), "commit failed");
                            for (_, reply) in pending {
                                let _ = reply.send(Err(e.to_string()));
                            }
                        }
                    }
                }
            })
            .expect("spawning the store writer thread");
        Committer {
            tx,
            store,
            failures,
        }
    }

    /// Transactions that failed since the writer started (a batch of several requests
    /// counts once).
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Commits `writes` (batched with whatever else is pending) and returns their outcomes
    /// once they are durable.
    pub async fn commit(&self, writes: Vec<Write>) -> Result<Vec<Outcome>, StoreError> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, wait) = tokio::sync::oneshot::channel();
        self.tx
            .send((writes, reply))
            .map_err(|_| StoreError::Closed)?;
        match wait.await {
            Ok(Ok(outcomes)) => Ok(outcomes),
            Ok(Err(e)) => Err(StoreError::Commit(e)),
            Err(_) => Err(StoreError::Closed),
        }
    }

    /// The store, for reads.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}
