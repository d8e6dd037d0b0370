//! The integration test suite, one binary (as cargo's own testsuite is):
//! each module drives the built `cargo-shipper` against the embedded
//! registry; `support` holds the fixtures and the registry harness. One
//! binary links the cargo library once instead of once per file.

mod action;
mod bad_state;
mod cargo_flags;
mod cargo_http;
mod chaos;
mod cli_docs;
mod crash;
mod differential;
mod faults;
mod fix_forward;
mod hostile;
mod interrupt;
mod journal_format;
mod output;
mod pacing;
mod pass_through;
mod patch_release;
mod plan;
mod plan_registry;
mod preflight;
mod publish;
mod rate_limit;
mod registry;
mod registry_cargo;
mod registry_serve;
mod rehearse;
mod resume;
mod scheduler;
mod serve_trusted;
mod shapes;
mod status;
mod support;
mod trusted;
mod trusted_registry;
mod trusted_remediation;
mod truth;
mod unsettled;
mod yank;
