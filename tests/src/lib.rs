//! Helpers for the integration tests under `tests/`.

pub mod corpus;
