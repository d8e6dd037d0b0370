//! How the tests share the machine. Most of them spend their time waiting
//! (on a registry's latency, a child run, an index poll), so the suite runs
//! more of them at once than there are cores (`RUST_TEST_THREADS` in
//! `.cargo/config.toml`). A test whose assertion bounds a duration from
//! above (a stop within a second, pacing within 2 % of the optimum) must
//! not share the cores with a compiler: it calls [`alone`] first and runs
//! while no test that compiles does.
//!
//! A test that compiles (a verified publish, a rehearsal's consumer build,
//! real `cargo`) holds a shared lane from its first such run until its
//! thread ends (libtest runs each test on a thread of its own when it runs
//! more than one at a time; on a single test thread, nothing is held).

use std::cell::RefCell;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

static LANES: RwLock<()> = RwLock::new(());

enum Held {
    Shared(#[allow(dead_code)] RwLockReadGuard<'static, ()>),
    Alone(#[allow(dead_code)] RwLockWriteGuard<'static, ()>),
}

thread_local! {
    // Dropped when the test's thread ends, passed or panicked.
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

/// libtest names a test's thread after the test. One test thread
/// (`--test-threads 1`) runs tests on the main thread, whose thread-locals
/// live to the end: nothing to share there anyway. A thread a test spawns
/// is unnamed and holds nothing (its test holds the lane for it).
fn on_test_thread() -> bool {
    matches!(std::thread::current().name(), Some(name) if name != "main")
}

/// Hold a shared lane for the rest of this test (idempotent).
pub fn share() {
    if !on_test_thread() {
        return;
    }
    HELD.with(|held| {
        if held.borrow().is_none() {
            let guard = LANES.read().unwrap_or_else(|e| e.into_inner());
            *held.borrow_mut() = Some(Held::Shared(guard));
        }
    });
}

/// Hold a shared lane when `args` (a `cargo shipper` command line) builds
/// crates: `rehearse` (its consumer build), and `publish`/`resume`/
/// `preflight` unless `--no-verify`.
pub fn share_if_compiling(args: &[&str]) {
    let builds = match args.first() {
        Some(&"rehearse") => true,
        Some(&("publish" | "resume" | "preflight")) => !args.contains(&"--no-verify"),
        _ => false,
    };
    if builds {
        share();
    }
}

/// Run the rest of this test while no test that compiles runs. Call it
/// first, before any fixture or registry.
pub fn alone() {
    if !on_test_thread() {
        return;
    }
    HELD.with(|held| {
        assert!(
            held.borrow().is_none(),
            "`alone()` comes before any fixture or registry"
        );
        let guard = LANES.write().unwrap_or_else(|e| e.into_inner());
        *held.borrow_mut() = Some(Held::Alone(guard));
    });
}
