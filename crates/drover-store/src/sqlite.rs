//! The SQLite store: bundled SQLite, WAL, `synchronous=FULL`, migrations by `user_version`.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use crate::record::{ContentsRecord, TaskRecord, ZoneRecord, decode, encode};
use crate::{
    AuditQuery, AuditRow, Outcome, Recovered, Store, StoreError, TaskQuery, TaskRow, TaskStatus,
    Write,
};

/// Migrations in order; `user_version` counts how many ran. Never edit one that shipped.
const MIGRATIONS: &[&str] = &[
    // 1: tasks with their transitions, staffing, zones, pods.
    "CREATE TABLE tasks (
        id INTEGER PRIMARY KEY,
        key TEXT UNIQUE,
        spec BLOB NOT NULL,
        status TEXT NOT NULL,
        robot TEXT,
        reason TEXT,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
     );
     CREATE INDEX tasks_status ON tasks (status, id);
     CREATE TABLE transitions (
        seq INTEGER PRIMARY KEY,
        task INTEGER NOT NULL REFERENCES tasks (id),
        status TEXT NOT NULL,
        robot TEXT,
        at_ms INTEGER NOT NULL
     );
     CREATE INDEX transitions_task ON transitions (task, status);
     CREATE TABLE stations (name TEXT PRIMARY KEY, associate TEXT);
     CREATE TABLE zones (id INTEGER PRIMARY KEY, body BLOB NOT NULL);
     CREATE TABLE pods (name TEXT PRIMARY KEY, slot INTEGER NOT NULL, contents BLOB NOT NULL);",
    // 2: floor-wide settings (a fleet-wide pause survives a restart).
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    // 3: the API's audit trail (plain columns, readable with the sqlite3 shell).
    "CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at_ms INTEGER NOT NULL,
        role TEXT NOT NULL,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        summary TEXT NOT NULL,
        status INTEGER NOT NULL,
        task INTEGER
     );",
];

/// The SQLite store: one writer connection and one reader connection on one file.
pub struct SqliteStore {
    write: Mutex<Connection>,
    read: Mutex<Connection>,
}

/// A database error while opening, with a damaged file told apart.
fn classify_open(path: &Path, error: StoreError) -> StoreError {
    match error {
        StoreError::Db(e) => crate::check::classify(path, e),
        other => other,
    }
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, checks it (`quick_check`, then
    /// every record decodes: a damaged file is [`StoreError::Corrupt`], a bad record
    /// [`StoreError::CorruptRecord`] naming its table and id) and runs pending migrations.
    /// Takes no lock: a daemon holds [`crate::DirLock`] on the data dir first.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|error| StoreError::Dir {
                path: dir.display().to_string(),
                error,
            })?;
        }
        let mut write = open(path).map_err(|e| classify_open(path, e))?;
        crate::check::quick_check(&write, path)?;
        let version: i64 = write
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| crate::check::classify(path, e))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew {
                found: version,
                known,
            });
        }
        for (k, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = write.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (k + 1) as i64)?;
            tx.commit()?;
            tracing::info!(version = k + 1, "store migrated");
        }
        crate::check::records(&write, path)?;
        let read = open(path).map_err(|e| classify_open(path, e))?;
        Ok(SqliteStore {
            write: Mutex::new(write),
            read: Mutex::new(read),
        })
    }
}

fn row_to_task(row: &rusqlite::Row<'_>) -> rusqlite::Result<(TaskRowRaw, Vec<u8>)> {
    Ok((
        TaskRowRaw {
            id: row.get::<_, i64>(0)? as u64,
            key: row.get(1)?,
            status: row.get(3)?,
            robot: row.get(4)?,
            reason: row.get(5)?,
            created_ms: row.get::<_, i64>(6)? as u64,
            updated_ms: row.get::<_, i64>(7)? as u64,
        },
        row.get(2)?,
    ))
}

struct TaskRowRaw {
    id: u64,
    key: Option<String>,
    status: String,
    robot: Option<String>,
    reason: Option<String>,
    created_ms: u64,
    updated_ms: u64,
}

fn finish(raw: TaskRowRaw, spec: &[u8]) -> Result<TaskRow, StoreError> {
    let TaskRecord::V1(spec) = decode("task", &raw.id, spec)?;
    let status = TaskStatus::parse(&raw.status).ok_or_else(|| StoreError::Decode {
        what: "task status",
        id: raw.id.to_string(),
        error: format!("unknown status {:?}", raw.status),
    })?;
    Ok(TaskRow {
        id: raw.id,
        key: raw.key,
        spec,
        status,
        robot: raw.robot,
        reason: raw.reason,
        created_ms: raw.created_ms,
        updated_ms: raw.updated_ms,
    })
}

const TASK_COLUMNS: &str = "id, key, spec, status, robot, reason, created_ms, updated_ms";

fn query_tasks(
    conn: &Connection,
    sql: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<TaskRow>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let raws = stmt
        .query_map(args, row_to_task)?
        .collect::<Result<Vec<_>, _>>()?;
    raws.into_iter()
        .map(|(raw, spec)| finish(raw, &spec))
        .collect()
}

impl Store for SqliteStore {
    fn apply(&self, writes: &[Write]) -> Result<Vec<Outcome>, StoreError> {
        let mut conn = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction()?;
        let mut outcomes = Vec::with_capacity(writes.len());
        for w in writes {
            let outcome = match w {
                Write::InsertTask { key, spec, at_ms } => {
                    let blob = encode(&TaskRecord::V1(spec.clone()));
                    let existing = match key {
                        Some(k) => tx
                            .prepare_cached("SELECT id, spec FROM tasks WHERE key = ?1")?
                            .query_row([k], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
                            .optional()?,
                        None => None,
                    };
                    match existing {
                        Some((id, old)) if old == blob => Outcome::Existing { id: id as u64 },
                        Some((id, _)) => Outcome::KeyConflict { id: id as u64 },
                        None => {
                            tx.prepare_cached(
                                "INSERT INTO tasks (key, spec, status, created_ms, updated_ms)
                                 VALUES (?1, ?2, 'queued', ?3, ?3)",
                            )?
                            .execute(params![
                                key,
                                blob,
                                *at_ms as i64
                            ])?;
                            let id = tx.last_insert_rowid();
                            tx.prepare_cached(
                                "INSERT INTO transitions (task, status, at_ms) VALUES (?1, 'queued', ?2)",
                            )?
                            .execute(params![id, *at_ms as i64])?;
                            Outcome::Inserted { id: id as u64 }
                        }
                    }
                }
                Write::Transition {
                    id,
                    status,
                    robot,
                    reason,
                    at_ms,
                } => {
                    let current: Option<String> = tx
                        .prepare_cached("SELECT status FROM tasks WHERE id = ?1")?
                        .query_row([*id as i64], |r| r.get(0))
                        .optional()?;
                    match current.as_deref().map(TaskStatus::parse) {
                        None => Outcome::Refused {
                            reason: format!("no task {id}"),
                        },
                        Some(Some(s)) if s.is_final() => Outcome::Refused {
                            reason: format!("task {id} is already {}", s.name()),
                        },
                        _ => {
                            tx.prepare_cached(
                                "UPDATE tasks SET status = ?2, robot = COALESCE(?3, robot),
                                 reason = ?4, updated_ms = ?5 WHERE id = ?1",
                            )?
                            .execute(params![
                                *id as i64,
                                status.name(),
                                robot,
                                reason,
                                *at_ms as i64
                            ])?;
                            tx.prepare_cached(
                                "INSERT INTO transitions (task, status, robot, at_ms) VALUES (?1, ?2, ?3, ?4)",
                            )?
                            .execute(params![*id as i64, status.name(), robot, *at_ms as i64])?;
                            Outcome::Moved
                        }
                    }
                }
                Write::Staff { station, associate } => {
                    tx.prepare_cached(
                        "INSERT INTO stations (name, associate) VALUES (?1, ?2)
                         ON CONFLICT (name) DO UPDATE SET associate = excluded.associate",
                    )?
                    .execute(params![station, associate])?;
                    Outcome::Ok
                }
                Write::PutZone { id, zone } => {
                    tx.prepare_cached(
                        "INSERT INTO zones (id, body) VALUES (?1, ?2)
                         ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                    )?
                    .execute(params![*id as i64, encode(zone)])?;
                    Outcome::Ok
                }
                Write::DeleteZone { id } => {
                    tx.prepare_cached("DELETE FROM zones WHERE id = ?1")?
                        .execute([*id as i64])?;
                    Outcome::Ok
                }
                Write::PutPod {
                    name,
                    slot,
                    contents,
                } => {
                    tx.prepare_cached(
                        "INSERT INTO pods (name, slot, contents) VALUES (?1, ?2, ?3)
                         ON CONFLICT (name) DO UPDATE SET slot = excluded.slot, contents = excluded.contents",
                    )?
                    .execute(params![name, *slot as i64, encode(contents)])?;
                    Outcome::Ok
                }
                Write::Setting { key, value } => {
                    tx.prepare_cached(
                        "INSERT INTO settings (key, value) VALUES (?1, ?2)
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    )?
                    .execute(params![key, value])?;
                    Outcome::Ok
                }
                Write::Audit(entry) => {
                    crate::audit::append(&tx, entry)?;
                    Outcome::Ok
                }
            };
            outcomes.push(outcome);
        }
        tx.commit()?;
        Ok(outcomes)
    }

    fn recover(&self) -> Result<Recovered, StoreError> {
        let conn = self.read.lock().unwrap_or_else(|p| p.into_inner());
        let open = query_tasks(
            &conn,
            &format!(
                "SELECT {TASK_COLUMNS} FROM tasks
                 WHERE status IN ('queued', 'assigned', 'in_progress') ORDER BY id"
            ),
            &[],
        )?;
        let staffed = conn
            .prepare(
                "SELECT name, associate FROM stations WHERE associate IS NOT NULL ORDER BY name",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let zones = conn
            .prepare("SELECT id, body FROM zones ORDER BY id")?
            .query_map([], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Vec<u8>>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(|(id, body)| Ok((id, decode::<ZoneRecord>("zone", &id, &body)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let pods = conn
            .prepare("SELECT name, slot, contents FROM pods ORDER BY name")?
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)? as u32,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(|(name, slot, body)| {
                let contents = decode::<ContentsRecord>("pod", &name, &body)?;
                Ok((name, slot, contents))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let counts = conn
            .prepare("SELECT status, COUNT(*) FROM tasks GROUP BY status")?
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter_map(|(s, n)| TaskStatus::parse(&s).map(|s| (s, n)))
            .collect();
        let settings = conn
            .prepare("SELECT key, value FROM settings ORDER BY key")?
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Recovered {
            open,
            staffed,
            zones,
            pods,
            counts,
            settings,
        })
    }

    fn tasks(&self, query: &TaskQuery) -> Result<Vec<TaskRow>, StoreError> {
        let conn = self.read.lock().unwrap_or_else(|p| p.into_inner());
        let limit = query.limit.clamp(1, 10_000) as i64;
        // A cursor past i64::MAX saturates: `as` would wrap it negative and list everything.
        let after = i64::try_from(query.after.unwrap_or(0)).unwrap_or(i64::MAX);
        let mut sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id > ?1");
        if !query.statuses.is_empty() {
            let names: Vec<String> = query
                .statuses
                .iter()
                .map(|s| format!("'{}'", s.name()))
                .collect();
            sql.push_str(&format!(" AND status IN ({})", names.join(", ")));
        }
        sql.push_str(" ORDER BY id LIMIT ?2");
        query_tasks(&conn, &sql, &[&after, &limit])
    }

    fn task(&self, id: u64) -> Result<Option<TaskRow>, StoreError> {
        let conn = self.read.lock().unwrap_or_else(|p| p.into_inner());
        let Ok(id) = i64::try_from(id) else {
            return Ok(None);
        };
        Ok(query_tasks(
            &conn,
            &format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?1"),
            &[&id],
        )?
        .pop())
    }

    fn entered(&self, id: u64, status: TaskStatus) -> Result<u64, StoreError> {
        let conn = self.read.lock().unwrap_or_else(|p| p.into_inner());
        let n: i64 = conn
            .prepare_cached("SELECT COUNT(*) FROM transitions WHERE task = ?1 AND status = ?2")?
            .query_row(params![id as i64, status.name()], |r| r.get(0))?;
        Ok(n as u64)
    }

    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRow>, StoreError> {
        let conn = self.read.lock().unwrap_or_else(|p| p.into_inner());
        crate::audit::page(&conn, query)
    }
}
