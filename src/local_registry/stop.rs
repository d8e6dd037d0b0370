//! Stopping `registry serve`: SIGINT or SIGTERM, listened for before the
//! registry says it is ready (a signal in between must stop it, not be
//! lost), on a small runtime of its own. On Windows: Ctrl-C or Ctrl-Break.

/// SIGINT or SIGTERM, with the handlers in place from `install` on.
pub struct StopSignal {
    runtime: tokio::runtime::Runtime,
    interrupt: Interrupt,
    terminate: Terminate,
}

#[cfg(unix)]
type Interrupt = tokio::signal::unix::Signal;
#[cfg(unix)]
type Terminate = tokio::signal::unix::Signal;
#[cfg(windows)]
type Interrupt = tokio::signal::windows::CtrlC;
#[cfg(windows)]
type Terminate = tokio::signal::windows::CtrlBreak;

impl StopSignal {
    pub fn install() -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (interrupt, terminate) = runtime.block_on(async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{SignalKind, signal};
                Ok::<_, std::io::Error>((
                    signal(SignalKind::interrupt())?,
                    signal(SignalKind::terminate())?,
                ))
            }
            #[cfg(windows)]
            {
                Ok::<_, std::io::Error>((
                    tokio::signal::windows::ctrl_c()?,
                    tokio::signal::windows::ctrl_break()?,
                ))
            }
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
