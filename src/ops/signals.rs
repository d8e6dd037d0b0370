//! SIGINT and SIGTERM for the commands that change a registry (`publish`,
//! `resume`, `yank`): the first raises the run's [`StopFlag`] (the engine
//! stops starting anything and lets uploads in flight finish within the
//! grace period); a second exits at once with the interrupted code. That is
//! safe because every step is journaled before it happens: the next run
//! settles whatever was in flight.

use crate::engine::StopFlag;

/// The exit code of an interrupted run (128 + SIGINT, as shells report it).
pub const INTERRUPTED_EXIT: i32 = 130;

/// Listen for SIGINT and SIGTERM from now on (the handlers are in place
/// when this returns), on a thread of its own.
pub fn stop_on_signals() -> anyhow::Result<StopFlag> {
    use tokio::signal::unix::{SignalKind, signal};
    let flag = StopFlag::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut interrupt, mut terminate) = runtime.block_on(async {
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        ))
    })?;
    let raised = flag.clone();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            runtime.block_on(async {
                for _ in 0..2 {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                    if raised.is_raised() {
                        // The second: now. The journal holds every intent.
                        std::process::exit(INTERRUPTED_EXIT);
                    }
                    raised.raise();
                }
            });
        })?;
    Ok(flag)
}
