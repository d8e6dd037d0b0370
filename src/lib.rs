//! cargo-shipper: publish the crates of a Rust workspace reliably.
//!
//! Layers, imports pointing one way: `cli` -> `ops` -> (`engine`, `plan`,
//! `journal`, `registry`, `workspace`, `cargo_backend`); `report` renders
//! what `ops` returns. Only `workspace` and `cargo_backend` touch the cargo
//! library. See `docs/architecture.md`.

pub mod atomic;
pub mod cargo_backend;
pub mod cargo_output;
pub mod cli;
pub mod crate_file;
pub mod crates_io;
pub mod engine;
pub mod failpoint;
pub mod journal;
pub mod local_registry;
pub mod manifest_edit;
pub mod model;
pub mod ops;
pub mod plan;
pub mod registry;
pub mod report;
pub mod secret;
pub mod workspace;
