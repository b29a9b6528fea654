//! The audit trail: one row per operator action on droverd's API (who, when, what, and the
//! answer), appended with [`crate::Write::Audit`] and read back in id order with paging.
//!
//! Unlike tasks and zones, entries are plain columns rather than postcard blobs: an audit
//! trail must stay readable with the `sqlite3` shell alone, by people who do not run drover,
//! and nothing in it is ever decoded back into droverd's state.

use rusqlite::{Connection, Transaction, params};

use crate::StoreError;

/// One operator action as droverd records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// When it was answered, wall-clock ms.
    pub at_ms: u64,
    /// Who: `operator` (the operator token) or `open` (writes open, no token configured).
    pub role: String,
    /// HTTP method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// A short summary of the request body (never a token).
    pub summary: String,
    /// The HTTP status answered.
    pub status: u16,
    /// The task it created or concerned, when there is one.
    pub task: Option<u64>,
}

/// A stored [`AuditEntry`] with its id (ids only grow).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    /// Id.
    pub id: u64,
    /// The entry.
    pub entry: AuditEntry,
}

/// A page of the audit trail for [`crate::Store::audit`].
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// Only ids above this (paging).
    pub after: Option<u64>,
    /// At most this many (the store caps it at 10,000).
    pub limit: usize,
}

/// Appends one entry inside the batch's transaction.
pub(crate) fn append(tx: &Transaction<'_>, e: &AuditEntry) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO audit (at_ms, role, method, path, summary, status, task)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        clamp(e.at_ms),
        e.role,
        e.method,
        e.path,
        e.summary,
        e.status,
        e.task.map(clamp),
    ])?;
    Ok(())
}

/// Reads a page, oldest first.
pub(crate) fn page(conn: &Connection, query: &AuditQuery) -> Result<Vec<AuditRow>, StoreError> {
    let limit = query.limit.clamp(1, 10_000) as i64;
    // SQLite integers are i64: a cursor past i64::MAX must not wrap into a negative one
    // (which would list everything again).
    let after = clamp(query.after.unwrap_or(0));
    let mut stmt = conn.prepare_cached(
        "SELECT id, at_ms, role, method, path, summary, status, task FROM audit
         WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![after, limit], |r| {
            Ok(AuditRow {
                id: r.get::<_, i64>(0)? as u64,
                entry: AuditEntry {
                    at_ms: r.get::<_, i64>(1)? as u64,
                    role: r.get(2)?,
                    method: r.get(3)?,
                    path: r.get(4)?,
                    summary: r.get(5)?,
                    status: r.get(6)?,
                    task: r.get::<_, Option<i64>>(7)?.map(|t| t as u64),
                },
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A u64 as SQLite's i64, saturating instead of wrapping.
fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
