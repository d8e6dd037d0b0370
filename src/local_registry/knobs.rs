//! Realism and fault knobs for rehearsals and tests: index propagation
//! delay (as a CDN gives), upload and index latency, and scripted faults
//! on the Nth upload or on index reads.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use super::rate_limit::{Action, Limiter, RateLimit};

/// How a 429 says when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`.
    Seconds(u64),
    /// `Retry-After: <HTTP-date>`, that many seconds from now (crates.io's form).
    HttpDate(u64),
}

/// What the Nth upload (1-based, counted since start) runs into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadFault {
    /// Answer with this status (a 5xx), store nothing.
    Status(u16),
    /// Answer 429 with `Retry-After`, store nothing.
    RateLimited(RetryAfter),
    /// Store the upload, then close the connection without an answer: the
    /// client cannot know whether it landed.
    DropAfterStore,
    /// Keep the version in the registry's database but out of its index
    /// (a registry that fell over between the two), then close the
    /// connection; every later upload of that version is refused with
    /// `500 Crate with version already exists`, as kellnr answers.
    StoreUnindexed,
}

#[derive(Debug, Clone, Default)]
pub struct Knobs {
    /// New versions appear in the index this long after their upload.
    pub propagation_delay: Duration,
    /// Added before each upload is handled.
    pub upload_latency: Duration,
    /// Added before each index file is served.
    pub index_latency: Duration,
    /// `(n, fault)`: the nth upload meets this fault.
    pub upload_faults: Vec<(u32, UploadFault)>,
    /// Index files answer 200 and 404 in turn (per file).
    pub flapping_index: bool,
    /// Once this many uploads arrived, crate reads (index files and version
    /// lookups in the API) answer 503: a registry that cannot tell.
    pub fail_reads_after_uploads: Option<u32>,
    /// Index files answer 200 with a body that is not an index entry (a
    /// captive portal, a misconfigured proxy).
    pub garbage_index: bool,
    /// A connection whose request head (or body) has not arrived whole after
    /// this long is cut off; `None`: [`STALL_TIMEOUT`].
    pub stall_timeout: Option<Duration>,
    /// `GET /api/v1/crates/{name}/{version}` answers an empty 404 for every
    /// version, as kellnr 6 does: the web API cannot say whether an upload
    /// landed, only the index can.
    pub no_version_api: bool,
    /// crates.io's publish and yank rate limits (`--rate-limit crates-io`).
    pub rate_limit: Option<RateLimit>,
}

/// How long a request may take to arrive (a stalled client, slowloris).
pub const STALL_TIMEOUT: Duration = Duration::from_secs(30);

impl Knobs {
    pub fn stall_timeout(&self) -> Duration {
        self.stall_timeout.unwrap_or(STALL_TIMEOUT)
    }
}

/// What the registry saw of uploads (tests and the chaos script read it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UploadCounts {
    /// Upload requests that reached the handler.
    pub requests: u32,
    /// Of those, uploads of a version already stored (refused).
    pub duplicates: u32,
    /// Requests (uploads and yanks) answered 429 by the rate limits.
    pub rate_limited: u32,
}

/// Knobs plus the counters and clocks they need at run time.
#[derive(Debug, Default)]
pub struct KnobState {
    pub knobs: Knobs,
    uploads: AtomicU32,
    /// Uploads refused because the version was already stored.
    duplicates: AtomicU32,
    /// Requests answered 429 by the rate limits.
    rate_limited: AtomicU32,
    limiter: Option<Limiter>,
    /// `(lower-case name, version)` -> when it becomes visible.
    visible_at: Mutex<HashMap<(String, String), Instant>>,
    index_reads: Mutex<HashMap<String, u32>>,
    /// `(lower-case name, version)` kept out of the index by
    /// [`UploadFault::StoreUnindexed`].
    unindexed: Mutex<std::collections::HashSet<(String, String)>>,
}

impl KnobState {
    pub fn new(knobs: Knobs) -> Self {
        KnobState {
            limiter: knobs.rate_limit.map(Limiter::new),
            knobs,
            ..Default::default()
        }
    }

    /// Spend a rate-limit token (when limits are on), or how long to wait.
    pub fn take_token(&self, token: &str, action: Action) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.take(token, action).inspect_err(|_| {
            self.rate_limited.fetch_add(1, Ordering::SeqCst);
        })
    }

    /// Count an upload; the fault scripted for it, if any.
    pub fn next_upload(&self) -> Option<UploadFault> {
        let n = self.uploads.fetch_add(1, Ordering::SeqCst) + 1;
        self.knobs
            .upload_faults
            .iter()
            .find(|(at, _)| *at == n)
            .map(|(_, fault)| *fault)
    }

    /// Count an upload refused as a duplicate of a stored version.
    pub fn duplicate(&self) {
        self.duplicates.fetch_add(1, Ordering::SeqCst);
    }

    /// Upload requests handled so far, and those of versions already stored.
    pub fn upload_counts(&self) -> UploadCounts {
        UploadCounts {
            requests: self.uploads.load(Ordering::SeqCst),
            duplicates: self.duplicates.load(Ordering::SeqCst),
            rate_limited: self.rate_limited.load(Ordering::SeqCst),
        }
    }

    /// Whether crate reads fail now (see `fail_reads_after_uploads`).
    pub fn reads_fail(&self) -> bool {
        self.knobs
            .fail_reads_after_uploads
            .is_some_and(|n| self.uploads.load(Ordering::SeqCst) >= n)
    }

    /// Keep `name@version` in the database only (see [`UploadFault::StoreUnindexed`]).
    pub fn keep_unindexed(&self, name: &str, version: &str) {
        self.unindexed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((name.to_ascii_lowercase(), version.to_owned()));
    }

    /// Whether `name@version` is in the database but not in the index.
    pub fn is_unindexed(&self, name: &str, version: &str) -> bool {
        self.unindexed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&(name.to_ascii_lowercase(), version.to_owned()))
    }

    /// Record a stored upload so that it stays hidden for the propagation delay.
    pub fn stored(&self, name: &str, version: &str) {
        if self.knobs.propagation_delay.is_zero() {
            return;
        }
        let when = Instant::now() + self.knobs.propagation_delay;
        self.visible_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((name.to_ascii_lowercase(), version.to_owned()), when);
    }

    pub fn is_visible(&self, name: &str, version: &str) -> bool {
        let map = self.visible_at.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&(name.to_ascii_lowercase(), version.to_owned()))
            .is_none_or(|when| Instant::now() >= *when)
    }

    /// With a flapping index, whether this read of `path` answers 404.
    pub fn index_flaps(&self, path: &str) -> bool {
        if !self.knobs.flapping_index {
            return false;
        }
        let mut reads = self.index_reads.lock().unwrap_or_else(|p| p.into_inner());
        let n = reads.entry(path.to_owned()).or_insert(0);
        *n += 1;
        n.is_multiple_of(2)
    }
}

/// Furthest a `Retry-After` date may lie ahead: a year (an HTTP date past
/// year 9999 cannot be written, and the clock would overflow first).
pub const MAX_RETRY_DATE_SECS: u64 = 365 * 24 * 3600;

impl RetryAfter {
    pub fn header_value(self) -> String {
        match self {
            RetryAfter::Seconds(s) => s.to_string(),
            RetryAfter::HttpDate(s) => httpdate::fmt_http_date(
                SystemTime::now() + Duration::from_secs(s.min(MAX_RETRY_DATE_SECS)),
            ),
        }
    }
}

/// Parse `N:FAULT` as given on the command line: `3:503`, `2:429=30s`,
/// `2:429=date+30`, `4:drop`, `1:unindexed`.
pub fn parse_upload_fault(text: &str) -> Result<(u32, UploadFault), String> {
    let (n, fault) = text.split_once(':').ok_or_else(|| {
        format!(
            "`{text}`: expected N:FAULT, e.g. 3:503, 2:429=30s, 2:429=date+30, 4:drop, 1:unindexed"
        )
    })?;
    let n: u32 = n
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{n}`: the upload number counts from 1"))?;
    let fault = if fault == "drop" {
        UploadFault::DropAfterStore
    } else if fault == "unindexed" {
        UploadFault::StoreUnindexed
    } else if let Some(retry) = fault.strip_prefix("429=") {
        let seconds = |s: &str| {
            s.parse::<u64>()
                .map_err(|_| format!("`{retry}`: expected seconds, e.g. 30s or date+30"))
        };
        if let Some(s) = retry.strip_prefix("date+") {
            let s = seconds(s)?;
            if s > MAX_RETRY_DATE_SECS {
                return Err(format!(
                    "`{retry}`: a date at most {MAX_RETRY_DATE_SECS} seconds (a year) ahead"
                ));
            }
            UploadFault::RateLimited(RetryAfter::HttpDate(s))
        } else {
            UploadFault::RateLimited(RetryAfter::Seconds(seconds(retry.trim_end_matches('s'))?))
        }
    } else {
        match fault.parse::<u16>() {
            Ok(status) if (500..600).contains(&status) => UploadFault::Status(status),
            _ => {
                return Err(format!(
                    "`{fault}`: expected a 5xx status, 429=…, drop or unindexed"
                ));
            }
        }
    };
    Ok((n, fault))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_fault_form() {
        assert_eq!(
            parse_upload_fault("3:503"),
            Ok((3, UploadFault::Status(503)))
        );
        assert_eq!(
            parse_upload_fault("2:429=30s"),
            Ok((2, UploadFault::RateLimited(RetryAfter::Seconds(30))))
        );
        assert_eq!(
            parse_upload_fault("2:429=date+30"),
            Ok((2, UploadFault::RateLimited(RetryAfter::HttpDate(30))))
        );
        assert_eq!(
            parse_upload_fault("4:drop"),
            Ok((4, UploadFault::DropAfterStore))
        );
        assert_eq!(
            parse_upload_fault("1:unindexed"),
            Ok((1, UploadFault::StoreUnindexed))
        );
        assert!(parse_upload_fault("0:drop").is_err());
        assert!(parse_upload_fault("1:429=date+99999999999999").is_err());
        assert!(parse_upload_fault("1:429=date+31536000").is_ok());
        assert!(parse_upload_fault("1:404").is_err());
        assert!(parse_upload_fault("drop").is_err());
    }

    #[test]
    fn faults_hit_the_nth_upload_only() {
        let state = KnobState::new(Knobs {
            upload_faults: vec![(2, UploadFault::DropAfterStore)],
            ..Default::default()
        });
        assert_eq!(state.next_upload(), None);
        assert_eq!(state.next_upload(), Some(UploadFault::DropAfterStore));
        assert_eq!(state.next_upload(), None);
    }
}
