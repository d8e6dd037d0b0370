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

/// Watch the index for every requested version: fresh reads, at the
/// [`Cadence`], answering when the version shows with our checksum or its
/// time is up.
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
        /// When the last read that did not show the version was answered.
        last_miss: Option<Duration>,
        /// The last read's failure, if it failed.
        failing: Option<String>,
    }
    let mut cadence = Cadence::new(opts.confirm_poll);
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
                last_miss: None,
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
            if visible {
                cadence.observe(p.last_miss, elapsed);
            } else if p.failing.is_none() {
                p.last_miss = Some(elapsed);
            }
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
            let jitter = 0.9 + fastrand::f64() * 0.2;
            p.next = p.started + cadence.next_poll(elapsed, p.interval, jitter);
            if elapsed > Duration::from_secs(2) {
                p.interval = p.interval.mul_f64(1.25).min(Duration::from_secs(2));
            }
            still.push(p);
        }
        pending = still;
    }
}

/// When to read the index again for a version being confirmed. Without
/// knowledge: every `--confirm-poll-ms` (with jitter), backing off after
/// 2 s. Once this run has seen versions appear, it knows about when the
/// next one will: until 90 % of that it polls less often (every quarter
/// of the expected delay, at most 2 s apart), and up to 120 % densely (a
/// fortieth of it, at least a quarter of `--confirm-poll-ms` and 10 ms),
/// so a version is seen within a few percent of its propagation delay
/// instead of within a whole interval, with no more requests per crate
/// than the plain schedule. After that window the plain schedule resumes,
/// so a slower registry is still watched as before.
struct Cadence {
    base: Duration,
    /// Smoothed time from upload to visible, from this run's confirmations.
    expected: Option<Duration>,
}

impl Cadence {
    fn new(base: Duration) -> Cadence {
        Cadence {
            base,
            expected: None,
        }
    }

    /// A version showed between `last_miss` (if any) and `seen`.
    fn observe(&mut self, last_miss: Option<Duration>, seen: Duration) {
        // Visible somewhere in (last_miss, seen]: the middle is the best guess.
        let guess = match last_miss {
            Some(miss) => miss + (seen.saturating_sub(miss)) / 2,
            None => seen,
        };
        self.expected = Some(match self.expected {
            None => guess,
            Some(before) => before.mul_f64(0.7) + guess.mul_f64(0.3),
        });
    }

    /// When (since the confirmation started) to poll next, `elapsed` after
    /// it started, with the plain schedule's `interval` and a `jitter`
    /// factor near 1.
    fn next_poll(&self, elapsed: Duration, interval: Duration, jitter: f64) -> Duration {
        let plain = elapsed + interval.mul_f64(jitter);
        let Some(expected) = self.expected else {
            return plain;
        };
        let window_start = expected.mul_f64(0.9);
        let window_end = expected.mul_f64(1.2);
        // `--confirm-poll-ms` scales it too: a gentler setting stays gentle.
        let dense = (expected / 40)
            .max(self.base / 4)
            .max(Duration::from_millis(10));
        if elapsed < window_start {
            // Never sparser than the plain schedule gets (2 s), should the
            // registry get faster than it was.
            let sparse = interval.max(expected / 4).min(Duration::from_secs(2));
            (elapsed + sparse.mul_f64(jitter)).min(window_start)
        } else if elapsed < window_end {
            elapsed + dense.mul_f64(jitter)
        } else {
            plain
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn without_knowledge_the_plain_interval() {
        let cadence = Cadence::new(100 * MS);
        assert_eq!(cadence.next_poll(Duration::ZERO, 100 * MS, 1.0), 100 * MS);
        assert_eq!(cadence.next_poll(350 * MS, 100 * MS, 1.0), 450 * MS);
    }

    #[test]
    fn a_learned_delay_polls_sparsely_then_densely_around_it() {
        let mut cadence = Cadence::new(100 * MS);
        // Seen at 1050 ms, missed at 950 ms: about 1 s.
        cadence.observe(Some(950 * MS), 1050 * MS);
        assert_eq!(cadence.expected, Some(1000 * MS));
        // Before the window: a quarter of the delay, landing on its start.
        assert_eq!(cadence.next_poll(Duration::ZERO, 100 * MS, 1.0), 250 * MS);
        assert_eq!(cadence.next_poll(750 * MS, 100 * MS, 1.0), 900 * MS);
        // In it: every 25 ms.
        assert_eq!(cadence.next_poll(900 * MS, 100 * MS, 1.0), 925 * MS);
        assert_eq!(cadence.next_poll(1175 * MS, 100 * MS, 1.0), 1200 * MS);
        // After it: the plain schedule.
        assert_eq!(cadence.next_poll(1200 * MS, 100 * MS, 1.0), 1300 * MS);
        // Fewer reads than the plain schedule up to the delay.
        let mut at = Duration::ZERO;
        let mut reads = 1;
        while at < 1000 * MS {
            at = cadence.next_poll(at, 100 * MS, 1.0);
            reads += 1;
        }
        assert!(reads <= 11, "{reads} reads, as many as the plain schedule");
        assert!(at - 1000 * MS <= 25 * MS, "seen {at:?}");
    }

    #[test]
    fn a_long_delay_is_watched_no_harder_than_the_plain_schedule() {
        // crates.io-like: versions show after about 30 s.
        let mut cadence = Cadence::new(100 * MS);
        cadence.observe(None, 30_000 * MS);
        let (mut at, mut reads) = (Duration::ZERO, 1);
        while at < 36_000 * MS {
            at = cadence.next_poll(at, 2_000 * MS, 1.0);
            reads += 1;
        }
        // The plain schedule: 20 reads in its first 2 s, then one per 2 s.
        assert!(reads <= 20 + 17, "{reads} reads");
        // Before the window, never more than 2 s apart.
        assert_eq!(cadence.next_poll(Duration::ZERO, 100 * MS, 1.0), 2_000 * MS);
        // A gentler `--confirm-poll-ms` keeps the window gentle.
        let mut gentle = Cadence::new(2_000 * MS);
        gentle.observe(None, 1_000 * MS);
        assert_eq!(gentle.next_poll(900 * MS, 2_000 * MS, 1.0), 1_400 * MS);
    }

    #[test]
    fn observations_are_smoothed() {
        let mut cadence = Cadence::new(100 * MS);
        cadence.observe(None, 1000 * MS);
        cadence.observe(None, 2000 * MS);
        assert_eq!(cadence.expected, Some(1300 * MS));
    }
}
