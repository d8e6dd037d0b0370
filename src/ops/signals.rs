//! SIGINT and SIGTERM for the commands that change a registry (`publish`,
//! `resume`, `yank`): the first raises the run's [`StopFlag`] (the engine
//! stops starting anything and lets uploads in flight finish within the
//! grace period); a second exits at once with the interrupted code. That is
//! safe because every step is journaled before it happens: the next run
//! settles whatever was in flight.
//!
//! On Windows there are no signals: Ctrl-C and Ctrl-Break (what a console,
//! and a CI runner cancelling a job, send) play SIGINT's and SIGTERM's part,
//! with the same two steps.

use crate::engine::StopFlag;

/// The exit code of an interrupted run (128 + SIGINT, as shells report it).
pub const INTERRUPTED_EXIT: i32 = 130;

/// Listen for SIGINT and SIGTERM from now on (the handlers are in place
/// when this returns), on a thread of its own.
pub fn stop_on_signals() -> anyhow::Result<StopFlag> {
    let flag = StopFlag::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut interrupt, mut terminate) = runtime.block_on(listen())?;
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

/// The two ways a run is asked to stop, listened for from now on.
#[cfg(unix)]
async fn listen() -> std::io::Result<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)> {
    use tokio::signal::unix::{SignalKind, signal};
    Ok((
        signal(SignalKind::interrupt())?,
        signal(SignalKind::terminate())?,
    ))
}

/// Windows: Ctrl-C for SIGINT, Ctrl-Break for SIGTERM.
#[cfg(windows)]
async fn listen() -> std::io::Result<(
    tokio::signal::windows::CtrlC,
    tokio::signal::windows::CtrlBreak,
)> {
    Ok((
        tokio::signal::windows::ctrl_c()?,
        tokio::signal::windows::ctrl_break()?,
    ))
}
