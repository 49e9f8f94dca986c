//! Integration tests of the workspace crates live under `tests/`; this library is empty.
