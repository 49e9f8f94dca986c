//! What a driver author writes: a blocking API over rusqlite, every method
//! guarded so that a caller on an async thread hears about it at once.

use std::path::Path;
use std::sync::Mutex;

use async_unsafe_runtime::{SynchronousOnlyOperation, async_unsafe};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// One stored note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// Assigned by the database.
    pub id: i64,
    /// What was written, byte for byte.
    pub text: String,
}

/// What the store's methods can fail with.
#[derive(Debug, thiserror::Error)]
pub enum NotesError {
    /// Called from an async context: the guard refused the call.
    #[error(transparent)]
    AsyncUnsafe(#[from] SynchronousOnlyOperation),
    /// No note has that id.
    #[error("no note with id {0}")]
    NotFound(i64),
    /// SQLite failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// A note store on a SQLite file. Every call blocks on disk I/O.
///
/// ```
/// use examples::notes::Notes;
///
/// let dir = tempfile::tempdir().unwrap();
/// let notes = Notes::open(&dir.path().join("notes.db")).unwrap();
/// let id = notes.add("buy milk").unwrap();
/// assert_eq!(notes.get(id).unwrap().text, "buy milk");
/// ```
pub struct Notes {
    conn: Mutex<Connection>,
}

// `track_caller`: the error names the caller's line (the handler that got it
// wrong), not this file.
#[async_unsafe(
    "Notes blocks on SQLite: call it through sync_to_async(move || notes.method(..)).await",
    track_caller
)]
impl Notes {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Notes, NotesError> {
        let conn = Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);",
        )?;
        Ok(Notes {
            conn: Mutex::new(conn),
        })
    }

    /// Stores `text`; returns its id.
    pub fn add(&self, text: &str) -> Result<i64, NotesError> {
        let conn = self.lock();
        conn.execute("INSERT INTO notes (text) VALUES (?1)", params![text])?;
        Ok(conn.last_insert_rowid())
    }

    /// The note with this id.
    pub fn get(&self, id: i64) -> Result<Note, NotesError> {
        self.lock()
            .query_row(
                "SELECT id, text FROM notes WHERE id = ?1",
                params![id],
                |row| {
                    Ok(Note {
                        id: row.get(0)?,
                        text: row.get(1)?,
                    })
                },
            )
            .optional()?
            .ok_or(NotesError::NotFound(id))
    }

    /// Every note, oldest first.
    pub fn list(&self) -> Result<Vec<Note>, NotesError> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT id, text FROM notes ORDER BY id")?;
        let notes = stmt.query_map([], |row| {
            Ok(Note {
                id: row.get(0)?,
                text: row.get(1)?,
            })
        })?;
        Ok(notes.collect::<Result<_, _>>()?)
    }

    /// How many notes there are.
    pub fn count(&self) -> Result<i64, NotesError> {
        Ok(self
            .lock()
            .query_row("SELECT COUNT(*) FROM notes", [], |row| row.get(0))?)
    }
}

// Outside the guarded block on purpose: a private helper that only the guarded
// methods call needs no check of its own, and guarding it would report every
// wrong call twice in warn mode (once for the method, once for the helper).
impl Notes {
    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written:
        // each statement is its own transaction.
        self.conn
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}
