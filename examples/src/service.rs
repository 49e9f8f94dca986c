//! What an application developer writes: an axum server over [`Notes`].
//!
//! Every correct handler moves the blocking call off the async threads with
//! `sync_to_async`. `GET /wrong/count` calls the store directly from the
//! handler, the mistake the guard exists for: it answers 500 with the
//! `SynchronousOnlyOperation` text, and the server carries on.
//! `GET /wrong/sleep` makes the mistake nobody can mark, `std::thread::sleep`
//! in the handler: only `syscalls::watch` (the demo's `--watch`) sees it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_unsafe_runtime::sync_to_async;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;

use crate::notes::{Note, Notes, NotesError};

type Store = Arc<Notes>;

/// The routes: `POST /notes` (body: the text; answers the new id),
/// `GET /notes`, `GET /notes/{id}`, `GET /notes/count`, and the wrong
/// `GET /wrong/count` and `GET /wrong/sleep`.
///
/// ```no_run
/// # async fn demo(notes: examples::notes::Notes) {
/// let app = examples::service::router(std::sync::Arc::new(notes));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// axum::serve(listener, app).await.unwrap();
/// # }
/// ```
pub fn router(notes: Store) -> Router {
    Router::new()
        .route("/notes", get(list).post(add))
        .route("/notes/count", get(count))
        .route("/notes/{id}", get(one))
        .route("/wrong/count", get(count_wrongly))
        .route("/wrong/sleep", get(sleep_wrongly))
        .with_state(notes)
}

/// Serves `notes` on `listener` until `shutdown` completes, then finishes the
/// requests in flight, closes the store off the event loop (closing SQLite
/// syncs and removes its journal: blocking calls `--watch` reported when the
/// last handle was dropped in this task) and returns.
///
/// ```no_run
/// # async fn demo(notes: examples::notes::Notes) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// examples::service::serve(listener, notes, std::future::pending()).await
/// # }
/// ```
pub async fn serve(
    listener: TcpListener,
    notes: Notes,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let notes = Arc::new(notes);
    let served = axum::serve(listener, router(Arc::clone(&notes)))
        .with_graceful_shutdown(shutdown)
        .await;
    sync_to_async(move || drop(notes)).await;
    served
}

async fn add(State(notes): State<Store>, text: String) -> Result<(StatusCode, String), NotesError> {
    let id = sync_to_async(move || notes.add(&text)).await?;
    Ok((StatusCode::CREATED, id.to_string()))
}

async fn list(State(notes): State<Store>) -> Result<Json<Vec<Note>>, NotesError> {
    Ok(Json(sync_to_async(move || notes.list()).await?))
}

async fn one(State(notes): State<Store>, Path(id): Path<i64>) -> Result<Json<Note>, NotesError> {
    Ok(Json(sync_to_async(move || notes.get(id)).await?))
}

async fn count(State(notes): State<Store>) -> Result<String, NotesError> {
    Ok(sync_to_async(move || notes.count()).await?.to_string())
}

/// The mistake: a blocking call straight from the handler.
async fn count_wrongly(State(notes): State<Store>) -> Result<String, NotesError> {
    Ok(notes.count()?.to_string())
}

/// The mistake nobody can mark: the worker thread sleeps, and every task
/// queued behind it waits (`tokio::time::sleep` was meant).
async fn sleep_wrongly() -> &'static str {
    std::thread::sleep(Duration::from_millis(20));
    "slept"
}

impl IntoResponse for NotesError {
    fn into_response(self) -> Response {
        let status = match self {
            NotesError::NotFound(_) => StatusCode::NOT_FOUND,
            NotesError::AsyncUnsafe(_) | NotesError::Sqlite(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, self.to_string()).into_response()
    }
}
