//! The threads of an upload run: `--jobs` upload workers that take
//! prepared crates from a shared queue, and one poller that watches the
//! index for every uploaded version at once (polls are cheap; they must not
//! hold an upload slot; see `confirm.rs`). Both only do network work and
//! report back over a channel; the journal stays with the calling thread.

use std::sync::{Mutex, mpsc};
use std::time::Instant;

use super::confirm::{ConfirmRequest, Seen, Watches};
use super::stop::LOOK_EVERY;
use super::{Prepared, SessionOpts};
use crate::model::FailureClass;
use crate::registry::{Lookup, Registry, UploadError};

/// One upload for a worker: the crate and the token to send it with.
pub(super) struct Task<'p> {
    pub prepared: &'p Prepared,
    pub token: crate::secret::Secret,
}

/// What a worker or the poller reports.
pub(super) enum Done {
    Uploaded {
        name: String,
        result: Result<(), UploadError>,
        ms: u64,
    },
    /// The poller's word on a version it watches.
    Seen(Seen),
}

pub(super) fn worker(
    registry: &dyn Registry,
    tasks: &Mutex<mpsc::Receiver<Task<'_>>>,
    done: mpsc::Sender<Done>,
) {
    loop {
        let task = tasks.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok(Task { prepared: p, token }) = task else {
            return;
        };
        let started = Instant::now();
        // A panic must not leave the scheduler waiting for an answer forever;
        // the request may have gone out, so it is ambiguous.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            registry.upload(&p.job, &token)
        }))
        .unwrap_or_else(|_| {
            Err(UploadError {
                class: FailureClass::Ambiguous,
                message: "the upload thread panicked".into(),
                retry_after: None,
                already_uploaded: false,
                auth: None,
            })
        });
        let message = Done::Uploaded {
            name: p.job.name.clone(),
            result,
            ms: started.elapsed().as_millis() as u64,
        };
        if done.send(message).is_err() {
            return;
        }
    }
}

/// Watch the index for every requested version at once (fresh reads, see
/// [`Watches`]), answering when one shows with our checksum or its time is
/// up, until the requests end and nothing is pending, or the run stops.
pub(super) fn poller(
    registry: &dyn Registry,
    opts: &SessionOpts,
    requests: mpsc::Receiver<ConfirmRequest>,
    done: mpsc::Sender<Done>,
) {
    let read = |r: &ConfirmRequest| {
        registry.lookup(&r.name, &r.version).map(|answer| {
            matches!(answer, Lookup::Present { sha256 } if sha256 == r.sha256 || r.sha256.is_empty())
        })
    };
    let mut watches = Watches::new(opts);
    let mut open = true;
    while open || !watches.is_empty() {
        // A stopping run does not wait for confirmations: the next run's.
        if opts.stop.is_raised() {
            return;
        }
        let received = match watches.next_due() {
            Some(next) if !open => {
                std::thread::sleep(
                    next.saturating_duration_since(Instant::now())
                        .min(LOOK_EVERY),
                );
                None
            }
            None if !open => None,
            None => requests.recv().ok(),
            Some(next) => {
                match requests.recv_timeout(next.saturating_duration_since(Instant::now())) {
                    Ok(request) => Some(request),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        open = false;
                        None
                    }
                }
            }
        };
        if let Some(request) = received {
            watches.add(request);
        } else if open && watches.is_empty() {
            open = false;
            continue;
        }
        if !watches.poll_due(read, |seen| done.send(Done::Seen(seen)).is_ok()) {
            return;
        }
    }
}
