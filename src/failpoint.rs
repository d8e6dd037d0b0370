//! Crash-test failpoints: `SHIPPER_FAILPOINT=<name>` (or `<name>@<n>` for
//! the nth time the point is reached) runs the failpoint's action and
//! aborts the process there, as a power cut or a killed CI job would; with
//! a `:panic` suffix it panics there instead, as a bug would.
//! Unset, as always outside tests, a failpoint is one environment lookup.

use std::sync::atomic::{AtomicU32, Ordering};

static HITS: AtomicU32 = AtomicU32::new(0);

/// Abort here if `SHIPPER_FAILPOINT` names this point. `before` runs first
/// (for example, to leave a half-written line behind).
pub fn hit(name: &str, before: impl FnOnce()) {
    let Some(value) = std::env::var_os("SHIPPER_FAILPOINT") else {
        return;
    };
    let value = value.to_string_lossy();
    let (value, panic) = match value.strip_suffix(":panic") {
        Some(point) => (point, true),
        None => (value.as_ref(), false),
    };
    let (point, nth) = match value.split_once('@') {
        Some((point, n)) => (point, n.parse().unwrap_or(1)),
        None => (value, 1),
    };
    if point == name && HITS.fetch_add(1, Ordering::SeqCst) + 1 == nth {
        before();
        if panic {
            panic!("failpoint `{name}`: a bug, simulated");
        }
        std::process::abort();
    }
}
