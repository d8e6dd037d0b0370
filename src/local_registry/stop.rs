//! Stopping `registry serve`: SIGINT or SIGTERM, listened for before the
//! registry says it is ready (a signal in between must stop it, not be
//! lost), on a small runtime of its own.

/// SIGINT or SIGTERM, with the handlers in place from `install` on.
pub struct StopSignal {
    runtime: tokio::runtime::Runtime,
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignal {
    pub fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (interrupt, terminate) = runtime.block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            ))
        })?;
        Ok(StopSignal {
            runtime,
            interrupt,
            terminate,
        })
    }

    /// Block until one arrives.
    pub fn wait(mut self) {
        self.runtime.block_on(async {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
        });
    }
}
