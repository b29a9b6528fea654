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
}
