//! Registry pacing: a token bucket per kind of upload (new crate, new
//! version), replayed from the upload times in the journal, so a resumed run
//! keeps the pace the interrupted one had. The run waits instead of
//! collecting 429s.

use std::time::Duration;

use crate::model::{Bucket, PacingProfile};

impl PacingProfile {
    /// crates.io's published limits: new crates burst 5 then 1 per 10 min;
    /// new versions burst 30 then 1 per minute.
    pub fn crates_io() -> Self {
        PacingProfile {
            new_crates: Bucket {
                burst: 5,
                every: Duration::from_secs(600),
            },
            new_versions: Bucket {
                burst: 30,
                every: Duration::from_secs(60),
            },
        }
    }

    /// crates.io's limit on yanks and unyanks: a burst of 100, then one a
    /// minute (its `YankUnyank` rate-limit defaults).
    pub fn crates_io_yanks() -> Bucket {
        Bucket {
            burst: 100,
            every: Duration::from_secs(60),
        }
    }

    /// Time these limits add to a release of `new_crates` new crates and
    /// `new_versions` new versions, from full buckets (the two kinds are
    /// paced apart, so the slower one sets the pace).
    pub fn release_eta(&self, new_crates: u32, new_versions: u32) -> Duration {
        self.new_crates
            .eta(new_crates)
            .max(self.new_versions.eta(new_versions))
    }

    /// The same limits on a clock `scale` times faster (testing).
    pub fn time_scaled(self, scale: u32) -> Self {
        PacingProfile {
            new_crates: self.new_crates.time_scaled(scale),
            new_versions: self.new_versions.time_scaled(scale),
        }
    }

    pub fn bucket(&self, new_crate: bool) -> Bucket {
        if new_crate {
            self.new_crates
        } else {
            self.new_versions
        }
    }
}

impl Bucket {
    /// The same bucket on a clock `scale` times faster (testing).
    pub fn time_scaled(self, scale: u32) -> Self {
        Bucket {
            every: self.every / scale.max(1),
            ..self
        }
    }

    /// How long to wait at `now_ms` before the next upload, given the start
    /// times (ms) of earlier uploads of this kind.
    pub fn wait(&self, history_ms: &[u64], now_ms: u64) -> Duration {
        let every = self.every.as_secs_f64() * 1000.0;
        let burst = f64::from(self.burst);
        if every <= 0.0 || self.burst == 0 {
            return Duration::ZERO;
        }
        let mut times = history_ms.to_vec();
        times.sort_unstable();
        let mut tokens = burst;
        let mut last: Option<u64> = None;
        for &t in &times {
            if let Some(prev) = last {
                tokens = (tokens + t.saturating_sub(prev) as f64 / every).min(burst);
            }
            tokens -= 1.0;
            last = Some(t);
        }
        if let Some(prev) = last {
            tokens = (tokens + now_ms.saturating_sub(prev) as f64 / every).min(burst);
        }
        if tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_millis(((1.0 - tokens) * every).ceil() as u64)
        }
    }

    /// Time for `count` more uploads starting from a full bucket.
    pub fn eta(&self, count: u32) -> Duration {
        self.every.saturating_mul(count.saturating_sub(self.burst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;

    #[test]
    fn burst_then_one_per_period() {
        let bucket = PacingProfile::crates_io().new_crates;
        let t0 = 1_000_000_000;
        let five: Vec<u64> = (0..5).map(|i| t0 + i).collect();
        assert_eq!(bucket.wait(&five[..4], t0 + 4), Duration::ZERO);
        let wait = bucket.wait(&five, t0 + 5);
        assert!(
            wait > Duration::from_secs(599) && wait <= Duration::from_secs(600),
            "{wait:?}"
        );
        assert_eq!(bucket.wait(&five, t0 + 10 * MIN + 5), Duration::ZERO);
    }

    #[test]
    fn replayed_history_keeps_the_pace_across_a_resume() {
        let bucket = PacingProfile::crates_io().new_versions;
        let t0 = 5_000_000_000;
        let history: Vec<u64> = (0..30).map(|i| t0 + i * 10).collect();
        // A resumed run 30 s later has half a token: it waits another 30 s.
        let wait = bucket.wait(&history, t0 + 290 + 30_000);
        assert!(
            (29_000..=30_100).contains(&(wait.as_millis() as u64)),
            "{wait:?}"
        );
    }

    #[test]
    fn eta_counts_only_past_the_burst() {
        let p = PacingProfile::crates_io();
        assert_eq!(p.new_versions.eta(30), Duration::ZERO);
        assert_eq!(p.new_versions.eta(40), Duration::from_secs(600));
        assert_eq!(p.new_crates.eta(7), Duration::from_secs(1200));
        assert_eq!(p.release_eta(7, 40), Duration::from_secs(1200));
        assert_eq!(p.release_eta(1, 50), Duration::from_secs(1200));
    }
}
