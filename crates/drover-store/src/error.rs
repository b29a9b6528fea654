//! What can go wrong in the store.

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused (IO, corruption, a full disk).
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    /// A stored record did not decode (written by a newer drover?).
    #[error("record {what} {id}: {error}")]
    Decode {
        /// Table.
        what: &'static str,
        /// Row.
        id: String,
        /// Why.
        error: String,
    },
    /// The database was written by a newer drover.
    #[error("database schema version {found} is newer than this drover's {known}")]
    TooNew {
        /// In the file.
        found: i64,
        /// Known here.
        known: i64,
    },
    /// The data dir could not be created.
    #[error("cannot create data dir {path}: {error}")]
    Dir {
        /// The dir.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The writer thread reported a failed commit (nothing of the batch was stored).
    #[error("commit failed: {0}")]
    Commit(String),
    /// The writer thread is gone (the store was closed).
    #[error("the store is closed")]
    Closed,
    /// Another process holds the data dir's lock (another droverd runs on it).
    #[error(
        "data dir {dir} is in use by {holder} (it holds {dir}/drover.lock); stop that one first, or give this one another data dir"
    )]
    Locked {
        /// The data dir.
        dir: String,
        /// Who holds it, as the holder wrote it into the lock file.
        holder: String,
    },
    /// The data dir's lock file could not be created or locked.
    #[error("cannot lock {path}: {error}")]
    Lock {
        /// The lock file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The database file is damaged: SQLite's `quick_check` failed, or the file is no database.
    #[error(
        "the database {path} is damaged ({detail}); refusing to run on it: restore the data dir from a backup, or move the file away to start with an empty store"
    )]
    Corrupt {
        /// The database file.
        path: String,
        /// What SQLite reported.
        detail: String,
    },
    /// A stored record does not decode, found by the startup check: running would mean
    /// running on part of the state.
    #[error(
        "the database {path} holds a corrupt record: table {table}, id {id} ({error}); refusing to run on part of the state: restore the data dir from a backup"
    )]
    CorruptRecord {
        /// The database file.
        path: String,
        /// Table.
        table: &'static str,
        /// The row's id (a pod's name).
        id: String,
        /// Why it does not decode.
        error: String,
    },
}
