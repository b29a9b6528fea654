//! The startup check: SQLite's `quick_check` on the file, then every stored record decodes.
//!
//! droverd rebuilds its state from the store after a restart. A damaged file, or one record
//! that no longer decodes, would otherwise surface later as a task that cannot be listed, or
//! as a state rebuilt without some tasks, zones or pods: droverd would run on part of what
//! it was asked to do. So [`crate::SqliteStore::open`] refuses such a database, naming the
//! table and id of the first bad record. `quick_check` (not `integrity_check`) reads every
//! page but skips the index-content cross-checks, so it stays linear in the file size.

use std::path::Path;

use rusqlite::{Connection, ErrorCode};

use crate::StoreError;
use crate::record::{ContentsRecord, TaskRecord, ZoneRecord};

/// Most problems `quick_check` lists in the error.
const MAX_PROBLEMS: usize = 5;

/// A database error while opening: a file that is no database, or a damaged one, becomes
/// [`StoreError::Corrupt`]; anything else (permissions, a full disk) stays as it is.
pub(crate) fn classify(path: &Path, error: rusqlite::Error) -> StoreError {
    match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            path: path.display().to_string(),
            detail: error.to_string(),
        },
        _ => StoreError::Db(error),
    }
}

/// `PRAGMA quick_check`: `ok`, or the problems it found.
pub(crate) fn quick_check(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let rows = conn
        .prepare(&format!("PRAGMA quick_check({MAX_PROBLEMS})"))
        .and_then(|mut stmt| {
            stmt.query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<String>, _>>()
        })
        .map_err(|e| classify(path, e))?;
    if rows.len() == 1 && rows[0] == "ok" {
        return Ok(());
    }
    Err(StoreError::Corrupt {
        path: path.display().to_string(),
        detail: format!("quick_check: {}", rows.join("; ")),
    })
}

/// Decodes every stored record (task specs and statuses, zones, pods); the first that does
/// not decode is the error.
pub(crate) fn records(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let bad = |table: &'static str, id: String, error: String| StoreError::CorruptRecord {
        path: path.display().to_string(),
        table,
        id,
        error,
    };
    let mut stmt = conn
        .prepare("SELECT id, spec, status FROM tasks ORDER BY id")
        .map_err(|e| classify(path, e))?;
    let mut rows = stmt.query([]).map_err(|e| classify(path, e))?;
    while let Some(row) = rows.next().map_err(|e| classify(path, e))? {
        let id: i64 = row.get(0)?;
        let spec: Vec<u8> = row.get(1)?;
        let status: String = row.get(2)?;
        if let Err(e) = postcard::from_bytes::<TaskRecord>(&spec) {
            return Err(bad("tasks", id.to_string(), format!("spec: {e}")));
        }
        if crate::TaskStatus::parse(&status).is_none() {
            return Err(bad(
                "tasks",
                id.to_string(),
                format!("unknown status {status:?}"),
            ));
        }
    }
    let mut stmt = conn
        .prepare("SELECT id, body FROM zones ORDER BY id")
        .map_err(|e| classify(path, e))?;
    let mut rows = stmt.query([]).map_err(|e| classify(path, e))?;
    while let Some(row) = rows.next().map_err(|e| classify(path, e))? {
        let id: i64 = row.get(0)?;
        let body: Vec<u8> = row.get(1)?;
        if let Err(e) = postcard::from_bytes::<ZoneRecord>(&body) {
            return Err(bad("zones", id.to_string(), e.to_string()));
        }
    }
    let mut stmt = conn
        .prepare("SELECT name, contents FROM pods ORDER BY name")
        .map_err(|e| classify(path, e))?;
    let mut rows = stmt.query([]).map_err(|e| classify(path, e))?;
    while let Some(row) = rows.next().map_err(|e| classify(path, e))? {
        let name: String = row.get(0)?;
        let contents: Vec<u8> = row.get(1)?;
        if let Err(e) = postcard::from_bytes::<ContentsRecord>(&contents) {
            return Err(bad("pods", name, e.to_string()));
        }
    }
    Ok(())
}
