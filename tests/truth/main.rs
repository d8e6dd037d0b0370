//! Issue 18, "verdicts that are true": one test per promise, each checked
//! from the registry's side (what it stores, its index, its upload count)
//! and the exit code, never from our own journal alone.

#[path = "../support/mod.rs"]
mod support;

mod content;
mod crates_io_rules;
mod next_commands;
mod rehearsal_guard;
mod rehearse_signals;
