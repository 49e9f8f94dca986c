//! A small, real service for the examples and their tests: a SQLite-backed
//! note store whose methods are marked `#[async_unsafe]`, as the author of a
//! blocking driver would mark them ([`notes`]), and an axum server that uses
//! it correctly through `sync_to_async`, plus one deliberately wrong route
//! ([`service`]).

pub mod notes;
pub mod service;
