//! Background runs of the binary that tests interrupt: SIGINT reset to its
//! default in the child (a non-interactive shell starts background jobs
//! with it ignored), waiting for a journal event, signalling, collecting.

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// SIGINT at its default in the child, whatever the test runner's is.
pub fn sigint_default(cmd: &mut Command) -> &mut Command {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    cmd
}

/// Wait until the journal `events` (an `events.jsonl`) holds `n` events
/// of `kind`; the child must still be running.
pub fn wait_for_event(events: &Path, child: &mut Child, kind: &str, n: usize) {
    let needle = format!("\"kind\":\"{kind}\"");
    let started = Instant::now();
    loop {
        let seen = std::fs::read_to_string(events).map_or(0, |t| t.matches(&needle).count());
        if seen >= n {
            return;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run ended first");
        assert!(started.elapsed() < Duration::from_secs(120), "no {kind}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

pub fn signal(child: &Child, signal: i32) {
    // SAFETY: a plain kill(2) of our own child.
    let rc = unsafe { libc::kill(child.id() as i32, signal) };
    assert_eq!(rc, 0);
}

/// Wait for the child (its stderr piped): exit code, stderr, and how long
/// it took.
pub fn finish(mut child: Child) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let mut stderr = String::new();
    use std::io::Read as _;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    (status.code(), stderr, started.elapsed())
}
