//! Issue 18, "verdicts that are true": one test per promise, each checked
//! from the registry's side (what it stores, its index, its upload count)
//! and the exit code, never from our own journal alone.

mod content;
mod contradiction;
mod crates_io_rules;
mod flag_bounds;
mod gate;
mod latest;
mod next_commands;
mod rehearsal_guard;
mod rehearse_signals;
mod status_preflight;
mod yank_undo;
