//! Confirming changes in the index: [`Watches`] holds the versions being
//! watched and reads the index for each when its next poll is due, at the
//! [`Cadence`] this run has learned; it says when one shows (or its time is
//! up) and when the index starts failing. The upload run's poller thread
//! (`workers.rs`) drives it for every uploaded version at once; a yank run
//! drives it inline for its one request at a time.

use std::time::{Duration, Instant};

use super::SessionOpts;
use crate::registry::IndexError;

/// Watch the index for this version.
pub(super) struct ConfirmRequest {
    pub name: String,
    pub version: String,
    /// The checksum it must show with (empty: any, or not about checksums).
    pub sha256: String,
}

/// What watching the index has to say.
pub(super) enum Seen {
    /// A version showed, or its time is up.
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

/// A version being watched.
struct Watch {
    request: ConfirmRequest,
    started: Instant,
    next: Instant,
    interval: Duration,
    /// When the last read that did not show the version was answered.
    last_miss: Option<Duration>,
    /// The last read's failure, if it failed.
    failing: Option<String>,
}

/// The versions a run is confirming, and what it learned of the index's delay.
pub(super) struct Watches {
    cadence: Cadence,
    pending: Vec<Watch>,
    /// The failure last reported: said once when it starts (or changes),
    /// not once per version and poll.
    reported: Option<String>,
    confirm_poll: Duration,
    confirm_timeout: Duration,
}

impl Watches {
    pub fn new(opts: &SessionOpts) -> Watches {
        Watches {
            cadence: Cadence::new(opts.confirm_poll),
            pending: Vec::new(),
            reported: None,
            confirm_poll: opts.confirm_poll,
            confirm_timeout: opts.confirm_timeout,
        }
    }

    /// Start watching; the first read is due at once.
    pub fn add(&mut self, request: ConfirmRequest) {
        let now = Instant::now();
        self.pending.push(Watch {
            request,
            started: now,
            next: now,
            interval: self.confirm_poll,
            last_miss: None,
            failing: None,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Stop watching everything (a stopping run: the next run confirms).
    pub fn clear(&mut self) {
        self.pending.clear();
    }

    /// When the next read is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.pending.iter().map(|w| w.next).min()
    }

    /// Read the index for each version whose read is due; `read` says
    /// whether it shows the change. Each thing to say goes to `report`,
    /// which answers whether anyone still listens (`false` ends the
    /// round; the caller stops too).
    pub fn poll_due(
        &mut self,
        read: impl Fn(&ConfirmRequest) -> Result<bool, IndexError>,
        mut report: impl FnMut(Seen) -> bool,
    ) -> bool {
        let now = Instant::now();
        let mut still = Vec::new();
        for mut w in std::mem::take(&mut self.pending) {
            if w.next > now {
                still.push(w);
                continue;
            }
            let answer = read(&w.request);
            match &answer {
                Ok(_) => {
                    w.failing = None;
                    self.reported = None;
                }
                Err(error) => {
                    let error = index_failure(error);
                    if self.reported.as_ref() != Some(&error) {
                        self.reported = Some(error.clone());
                        let seen = Seen::IndexFailing {
                            name: w.request.name.clone(),
                            error: error.clone(),
                        };
                        if !report(seen) {
                            return false;
                        }
                    }
                    w.failing = Some(error);
                }
            }
            let visible = matches!(answer, Ok(true));
            let elapsed = w.started.elapsed();
            if visible {
                self.cadence.observe(w.last_miss, elapsed);
            } else if w.failing.is_none() {
                w.last_miss = Some(elapsed);
            }
            if visible || elapsed >= self.confirm_timeout {
                let seen = Seen::Confirmed {
                    name: w.request.name,
                    visible,
                    ms: elapsed.as_millis() as u64,
                    index_error: w.failing,
                };
                if !report(seen) {
                    return false;
                }
                continue;
            }
            let jitter = 0.9 + fastrand::f64() * 0.2;
            w.next = w.started + self.cadence.next_poll(elapsed, w.interval, jitter);
            if elapsed > Duration::from_secs(2) {
                w.interval = w.interval.mul_f64(1.25).min(Duration::from_secs(2));
            }
            still.push(w);
        }
        self.pending = still;
        true
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
