//! crates.io's publish rate limits, emulated (`registry serve --rate-limit
//! crates-io`): a token bucket per token and action. A bucket starts full;
//! whole tokens come back one per interval counted from the last refill
//! (crates.io's `publish_limit_buckets`); an action without a token is
//! answered 429 with crates.io's body and a `Retry-After`. `time_scale`
//! runs the clock N times faster, for tests and benchmarks.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a request spends a token on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Publishing a crate the registry does not know.
    NewCrate,
    /// Publishing a new version of a known crate.
    NewVersion,
    /// Yanking or unyanking.
    Yank,
}

impl Action {
    /// crates.io's defaults: (burst, interval).
    fn limits(self) -> (u32, Duration) {
        match self {
            Action::NewCrate => (5, Duration::from_secs(600)),
            Action::NewVersion => (30, Duration::from_secs(60)),
            Action::Yank => (100, Duration::from_secs(60)),
        }
    }

    /// crates.io's words for the 429.
    pub fn refusal(self, retry_at: &str) -> String {
        let what = match self {
            Action::NewCrate => "published too many new crates",
            Action::NewVersion => "published too many updates to existing crates",
            Action::Yank => "yanked or unyanked too many versions",
        };
        format!(
            "You have {what} in a short period of time. Please try again after {retry_at} or email help@crates.io to have your limit increased."
        )
    }
}

/// The `--rate-limit` profile and its clock speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// The clock runs this many times faster (1: real time).
    pub time_scale: u32,
}

#[derive(Debug)]
struct Bucket {
    tokens: u32,
    last_refill: Instant,
}

/// The buckets of a running registry.
#[derive(Debug)]
pub struct Limiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<(String, Action), Bucket>>,
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Self {
        Limiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Spend a token of `token`'s bucket for `action`, or say how long
    /// until the next one (in real time).
    pub fn take(&self, token: &str, action: Action) -> Result<(), Duration> {
        let (burst, every) = action.limits();
        let every = every / self.limit.time_scale.max(1);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry((token.to_owned(), action)).or_insert(Bucket {
            tokens: burst,
            last_refill: now,
        });
        let refills = (now.duration_since(bucket.last_refill).as_nanos() / every.as_nanos().max(1))
            .min(u128::from(u32::MAX)) as u32;
        bucket.tokens = bucket.tokens.saturating_add(refills).min(burst);
        bucket.last_refill += every * refills;
        if bucket.tokens >= 1 {
            bucket.tokens -= 1;
            Ok(())
        } else {
            Err((bucket.last_refill + every).saturating_duration_since(now))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_per_interval() {
        let limiter = Limiter::new(RateLimit { time_scale: 6000 });
        for _ in 0..5 {
            assert_eq!(limiter.take("t", Action::NewCrate), Ok(()));
        }
        let wait = limiter.take("t", Action::NewCrate).unwrap_err();
        assert!(
            wait <= Duration::from_millis(100) && wait > Duration::from_millis(90),
            "{wait:?}"
        );
        // Other actions and other tokens have buckets of their own.
        assert_eq!(limiter.take("t", Action::NewVersion), Ok(()));
        assert_eq!(limiter.take("u", Action::NewCrate), Ok(()));
        std::thread::sleep(wait);
        assert_eq!(limiter.take("t", Action::NewCrate), Ok(()));
        assert!(limiter.take("t", Action::NewCrate).is_err());
    }
}
