//! The attempt policy both request loops follow (uploads in `upload.rs`,
//! yank requests in `yank.rs`): after a request that surely did not land,
//! give up or wait how long; how a registry's rate limit is waited out; how
//! often a lookup that could not answer is asked again; and the one
//! uncounted resend of a request refused because its token expired. One
//! place, so an upload and a yank meet a registry the same way.

use std::time::Duration;

use crate::model::FailureClass;
use crate::registry::{AuthRefusal, UploadError};

/// A registry's `Retry-After` is honoured up to this (a longer one is a
/// registry bug or an outage: the next run can wait instead).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(6 * 3600);

/// Retry delays double up to this (unless the first is longer).
const RETRY_CAP: Duration = Duration::from_secs(120);

/// How many times, and how patiently, a request is tried in one run.
#[derive(Debug, Clone, Copy)]
pub struct AttemptPolicy {
    /// Failures that count (not rate-limited) before giving up; lookups
    /// that cannot answer, likewise.
    pub max_attempts: u32,
    /// The first retry delay; it doubles, with jitter, up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
}

/// The requests about one item (a crate's upload, a version's yank) in a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Tries {
    /// Every request, rate-limited ones included (event numbering).
    pub attempt: u32,
    /// Those that count against `max_attempts` (not rate-limited).
    pub counted: u32,
    /// Lookups (the index, the web API) that could not answer about it.
    pub lookups_failed: u32,
    /// The attempt that was sent again with a renewed token (once each).
    renewed_attempt: u32,
}

impl Tries {
    /// Rate-limited answers so far.
    pub fn rate_limited(&self) -> u32 {
        self.attempt - self.counted
    }

    /// A request failed with `class`: counted unless rate-limited.
    pub fn failed(&mut self, class: FailureClass) {
        if class != FailureClass::RateLimited {
            self.counted += 1;
        }
    }

    /// The current attempt failed with `error`: whether it goes again with
    /// a fresh token, uncounted (refused before it was looked at because
    /// its token expired; once per attempt).
    pub fn resends_renewed(&mut self, error: &UploadError) -> bool {
        if error.auth != Some(AuthRefusal::Expired) || self.renewed_attempt == self.attempt {
            return false;
        }
        self.renewed_attempt = self.attempt;
        true
    }
}

/// After a failure that did not land.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    GiveUp,
    After(Duration),
}

impl AttemptPolicy {
    /// `max_attempts` tries, the first retry after `retry_base`, doubling
    /// up to two minutes (or the base, if longer).
    pub fn new(max_attempts: u32, retry_base: Duration) -> AttemptPolicy {
        AttemptPolicy {
            max_attempts,
            retry_base,
            retry_cap: RETRY_CAP.max(retry_base),
        }
    }

    /// Rate-limited answers are waited out without counting an attempt, up
    /// to this many (a registry that only ever says 429 must not hold the
    /// run forever).
    pub fn max_rate_limited(&self) -> u32 {
        self.max_attempts.saturating_mul(4)
    }

    /// The wait before a new try after `failures` counted failures.
    pub(super) fn backoff(&self, failures: u32) -> Duration {
        backoff(self.retry_base, self.retry_cap, failures)
    }

    /// After a failed request (`tries` already counting it) that surely did
    /// not land: give up, or try again after the registry's `retry_after`
    /// (rate limits) or a backoff.
    pub(super) fn after(
        &self,
        class: FailureClass,
        retry_after: Option<Duration>,
        tries: Tries,
    ) -> Retry {
        match class {
            FailureClass::Permanent => Retry::GiveUp,
            FailureClass::RateLimited if tries.rate_limited() >= self.max_rate_limited() => {
                Retry::GiveUp
            }
            FailureClass::RateLimited => Retry::After(
                retry_after.map_or_else(|| self.backoff(tries.attempt), |d| d.min(MAX_RETRY_AFTER)),
            ),
            FailureClass::Retryable | FailureClass::Ambiguous | FailureClass::Unknown
                if tries.counted >= self.max_attempts =>
            {
                Retry::GiveUp
            }
            FailureClass::Retryable | FailureClass::Ambiguous | FailureClass::Unknown => {
                Retry::After(self.backoff(tries.counted))
            }
        }
    }

    /// After a lookup that could not answer (`tries` already counting it):
    /// give up, or ask again after a backoff.
    pub(super) fn after_lookup(&self, tries: Tries) -> Retry {
        if tries.lookups_failed >= self.max_attempts {
            Retry::GiveUp
        } else {
            Retry::After(self.backoff(tries.lookups_failed))
        }
    }
}

/// Whether a failed request may have changed the registry anyway (a 5xx,
/// a connection dropped after sending, "already uploaded"): the registry
/// is asked before the item is tried again.
pub(super) fn may_have_landed(error: &UploadError) -> bool {
    error.already_uploaded
        || matches!(
            error.class,
            FailureClass::Ambiguous | FailureClass::Retryable | FailureClass::Unknown
        )
}

/// Exponential backoff with jitter: `base * 2^(attempt-1)`, capped, then a
/// random point in its upper half (so parallel runs spread out).
pub fn backoff(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let full = exp.min(cap);
    let half = full / 2;
    half + full.mul_f64(fastrand::f64() * 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> AttemptPolicy {
        AttemptPolicy {
            retry_base: Duration::from_millis(100),
            retry_cap: Duration::from_secs(1),
            max_attempts: 3,
        }
    }

    fn tries(attempt: u32, counted: u32) -> Tries {
        Tries {
            attempt,
            counted,
            ..Tries::default()
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(1);
        for attempt in 1..10 {
            let d = backoff(base, cap, attempt);
            let full = (base * 2u32.pow(attempt - 1)).min(cap);
            assert!(d >= full / 2 && d <= full, "{attempt}: {d:?}");
        }
    }

    #[test]
    fn counted_failures_give_up_at_max_attempts_and_rate_limits_do_not_count() {
        let p = policy();
        // A permanent failure at once.
        let permanent = p.after(FailureClass::Permanent, None, tries(1, 1));
        assert_eq!(permanent, Retry::GiveUp);
        for class in [FailureClass::Retryable, FailureClass::Ambiguous] {
            assert!(matches!(p.after(class, None, tries(2, 2)), Retry::After(_)));
            assert_eq!(p.after(class, None, tries(3, 3)), Retry::GiveUp);
            // Ten rate-limited answers before: still two counted failures.
            assert!(matches!(
                p.after(class, None, tries(12, 2)),
                Retry::After(_)
            ));
        }
        let mut t = Tries::default();
        for class in [FailureClass::RateLimited, FailureClass::Retryable] {
            t.attempt += 1;
            t.failed(class);
        }
        assert_eq!(t, tries(2, 1));
    }

    #[test]
    fn rate_limits_wait_what_the_registry_says_capped_and_give_up_eventually() {
        let p = policy();
        let said = Some(Duration::from_secs(7));
        assert_eq!(
            p.after(FailureClass::RateLimited, said, tries(1, 0)),
            Retry::After(Duration::from_secs(7))
        );
        assert_eq!(
            p.after(
                FailureClass::RateLimited,
                Some(Duration::from_secs(100 * 3600)),
                tries(1, 0)
            ),
            Retry::After(MAX_RETRY_AFTER)
        );
        assert!(matches!(
            p.after(FailureClass::RateLimited, None, tries(11, 0)),
            Retry::After(d) if d <= p.retry_cap
        ));
        // The twelfth rate-limited answer is the last (4 × max_attempts).
        assert_eq!(
            p.after(FailureClass::RateLimited, said, tries(12, 0)),
            Retry::GiveUp
        );
    }

    #[test]
    fn lookups_that_cannot_answer_are_asked_again_up_to_max_attempts() {
        let p = policy();
        let mut t = Tries {
            lookups_failed: 2,
            ..Tries::default()
        };
        assert!(matches!(p.after_lookup(t), Retry::After(d) if d <= p.retry_cap));
        t.lookups_failed = 3;
        assert_eq!(p.after_lookup(t), Retry::GiveUp);
    }

    #[test]
    fn an_attempt_refused_as_expired_is_sent_again_once() {
        let refusal = |auth| UploadError {
            class: FailureClass::Permanent,
            message: "HTTP 401".into(),
            retry_after: None,
            already_uploaded: false,
            auth: Some(auth),
        };
        let mut t = tries(1, 0);
        assert!(!t.resends_renewed(&refusal(AuthRefusal::Refused)));
        assert!(t.resends_renewed(&refusal(AuthRefusal::Expired)));
        assert!(
            !t.resends_renewed(&refusal(AuthRefusal::Expired)),
            "the resend was refused as expired too"
        );
        t.attempt += 1;
        assert!(
            t.resends_renewed(&refusal(AuthRefusal::Expired)),
            "a new attempt"
        );
    }
}
