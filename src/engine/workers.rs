//! The threads of an upload run: `--jobs` upload workers that take
//! prepared crates from a shared queue, and one poller that watches the
//! index for every uploaded version at once (polls are cheap; they must not
//! hold an upload slot). Both only do network work and report back over a
//! channel; the journal stays with the calling thread.

use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use super::EngineOpts;
use super::upload::Prepared;
use crate::model::FailureClass;
use crate::registry::{IndexError, Lookup, Registry, UploadError};

/// One upload for a worker: the crate and the token to send it with.
pub(super) struct Task<'p> {
    pub prepared: &'p Prepared,
    pub token: crate::secret::Secret,
}

/// Watch the index for this version.
pub(super) struct ConfirmRequest {
    pub name: String,
    pub version: String,
    pub sha256: String,
}

/// What a worker or the poller reports.
pub(super) enum Done {
    Uploaded {
        name: String,
        result: Result<(), UploadError>,
        ms: u64,
    },
    Confirmed {
        name: String,
        visible: bool,
        ms: u64,
        /// The index's last failure, if it could not be read at the end.
        index_error: Option<String>,
    },
    /// The index started failing (or failed differently) while confirming.
    IndexFailing { name: String, error: String },
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

/// How often the poller looks at the stop flag while it sleeps.
const STOP_POLL: Duration = Duration::from_millis(50);

/// Watch the index for every requested version: fresh reads, a short
/// interval while a new version usually appears, then gentle backoff, with
/// jitter; answers when the version shows with our checksum or its time is up.
pub(super) fn poller(
    registry: &dyn Registry,
    opts: &EngineOpts,
    requests: mpsc::Receiver<ConfirmRequest>,
    done: mpsc::Sender<Done>,
) {
    struct Pending {
        request: ConfirmRequest,
        started: Instant,
        next: Instant,
        interval: Duration,
        /// The last read's failure, if it failed.
        failing: Option<String>,
    }
    let mut pending: Vec<Pending> = Vec::new();
    // The failure last reported: said once when it starts (or changes),
    // not once per crate and poll.
    let mut reported: Option<String> = None;
    let mut open = true;
    while open || !pending.is_empty() {
        // A stopping run does not wait for confirmations: the next run's.
        if opts.stop.is_raised() {
            return;
        }
        let received = match pending.iter().map(|p| p.next).min() {
            Some(next) if !open => {
                std::thread::sleep(
                    next.saturating_duration_since(Instant::now())
                        .min(STOP_POLL),
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
            let now = Instant::now();
            pending.push(Pending {
                request,
                started: now,
                next: now,
                interval: opts.confirm_poll,
                failing: None,
            });
        } else if open && pending.is_empty() {
            open = false;
            continue;
        }
        let now = Instant::now();
        let mut still = Vec::new();
        for mut p in pending.drain(..) {
            if p.next > now {
                still.push(p);
                continue;
            }
            let r = &p.request;
            let answer = registry.lookup(&r.name, &r.version);
            let visible = matches!(
                &answer,
                Ok(Lookup::Present { sha256 }) if *sha256 == r.sha256 || r.sha256.is_empty()
            );
            match &answer {
                Ok(_) => {
                    p.failing = None;
                    reported = None;
                }
                Err(error) => {
                    let error = index_failure(error);
                    if reported.as_ref() != Some(&error) {
                        reported = Some(error.clone());
                        let message = Done::IndexFailing {
                            name: r.name.clone(),
                            error: error.clone(),
                        };
                        if done.send(message).is_err() {
                            return;
                        }
                    }
                    p.failing = Some(error);
                }
            }
            let elapsed = p.started.elapsed();
            if visible || elapsed >= opts.confirm_timeout {
                let message = Done::Confirmed {
                    name: p.request.name,
                    visible,
                    ms: elapsed.as_millis() as u64,
                    index_error: p.failing,
                };
                if done.send(message).is_err() {
                    return;
                }
                continue;
            }
            p.next = Instant::now() + p.interval.mul_f64(0.9 + fastrand::f64() * 0.2);
            if elapsed > Duration::from_secs(2) {
                p.interval = p.interval.mul_f64(1.25).min(Duration::from_secs(2));
            }
            still.push(p);
        }
        pending = still;
    }
}

/// What a failed index read answered, without the crate's name (the same
/// failure for every crate is one failure).
fn index_failure(error: &IndexError) -> String {
    match error {
        IndexError::Status { status, .. } | IndexError::Unauthorized { status, .. } => {
            format!("HTTP {status}")
        }
        IndexError::Transport(e) => e.source.to_string(),
        IndexError::Malformed { .. } => "an answer that is not an index entry".into(),
        IndexError::InvalidName(_) => error.to_string(),
    }
}
