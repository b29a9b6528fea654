//! The data dir's lock: one process at a time writes a data dir.
//!
//! A second droverd on the same data dir would be a second writer on the same tasks: both
//! would drive robots from their own memory and commit over each other. [`DirLock`] takes an
//! exclusive lock on `drover.lock` in the data dir (`flock` on Unix, `LockFileEx` on
//! Windows, through `std::fs::File::try_lock`) and writes who holds it into the file. The
//! operating system drops the lock when the process ends, however it ends (`kill -9`
//! included), which a pid file alone cannot promise: a stale pid file would need guessing
//! whether its pid still runs, or is the same process.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::StoreError;

/// The lock file's name inside the data dir.
pub const LOCK_FILE: &str = "drover.lock";

/// An exclusive lock on a data dir, held until dropped (or the process ends).
#[derive(Debug)]
pub struct DirLock {
    /// Kept open: closing it releases the lock.
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// Creates `dir` if needed and locks it, writing `holder` (who, e.g. pid, host and start
    /// time) into the lock file. Fails at once, naming the holder, when another process
    /// holds it.
    pub fn acquire(dir: &Path, holder: &str) -> Result<DirLock, StoreError> {
        std::fs::create_dir_all(dir).map_err(|error| StoreError::Dir {
            path: dir.display().to_string(),
            error,
        })?;
        let path = dir.join(LOCK_FILE);
        let lock_error = |error| StoreError::Lock {
            path: path.display().to_string(),
            error,
        };
        // Not truncated on open: the holder's name must survive a second process opening it.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(lock_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = match text.trim() {
                    "" => "another process (it has not written its name yet)".to_string(),
                    name => name.to_string(),
                };
                return Err(StoreError::Locked {
                    dir: dir.display().to_string(),
                    holder,
                });
            }
            Err(TryLockError::Error(error)) => return Err(lock_error(error)),
        }
        file.set_len(0).map_err(lock_error)?;
        file.rewind().map_err(lock_error)?;
        file.write_all(format!("{holder}\n").as_bytes())
            .map_err(lock_error)?;
        file.flush().map_err(lock_error)?;
        Ok(DirLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
