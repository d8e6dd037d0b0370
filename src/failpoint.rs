//! Crash-test failpoints: `SHIPPER_FAILPOINT=<name>` makes the process run
//! the failpoint's action and abort at that point, as a power cut or a
//! killed CI job would. Unset (always, outside tests), a failpoint is one
//! environment lookup.

/// Abort the process here if `SHIPPER_FAILPOINT` names this point. `before`
/// runs first (for example, to leave a half-written line behind).
pub fn hit(name: &str, before: impl FnOnce()) {
    if std::env::var_os("SHIPPER_FAILPOINT").is_some_and(|v| v == name) {
        before();
        std::process::abort();
    }
}
