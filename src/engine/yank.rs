//! A yank run: for each version of the plan, in order, read the index
//! (which settles an earlier request of unknown outcome and skips what is
//! already in the wanted state), pace, journal the intent, ask the web API,
//! journal the outcome, then confirm the flag in the index. Yanking is
//! idempotent on the registry's side, so an unknown outcome is settled by
//! reading the index and, if the flag is not there, asking again. Tokens
//! come from a [`TokenSource`] before each request: a token the registry
//! says expired is renewed and the same request sent again, uncounted.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::{Lifecycle, Recorder, StopFlag, TokenSource, backoff};
use crate::journal::{
    YankEvent, YankOutcome, YankSkipReason, YankState, YankStatus, YankTarget, now_ms,
};
use crate::model::Bucket;
use crate::model::FailureClass;
use crate::registry::{AuthRefusal, IndexVersion, YankRegistry};
use crate::secret::Secret;

/// Knobs of a yank run.
#[derive(Debug, Clone)]
pub struct YankOpts {
    /// Unyank instead of yank.
    pub undo: bool,
    /// Requests per version per run (rate-limited answers not counted).
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// How long to wait for the index to show the change.
    pub confirm_timeout: Duration,
    /// First interval between index polls; grows with backoff.
    pub confirm_poll: Duration,
    /// The registry's limit on yanks and unyanks.
    pub pacing: Option<Bucket>,
    /// Raised by a signal: no new request starts; waits end at once.
    pub stop: StopFlag,
    /// Start no request after this instant (`--stop-after`); a request
    /// made is still confirmed.
    pub stop_at: Option<Instant>,
    /// `--undo`: versions the yank run found already yanked, by name; they
    /// stay yanked.
    pub leave_yanked: BTreeSet<String>,
}

impl YankOpts {
    fn past_deadline(&self) -> bool {
        self.stop_at.is_some_and(|at| Instant::now() >= at)
    }

    /// No new request may start.
    fn stopping(&self) -> bool {
        self.stop.is_raised() || self.past_deadline()
    }

    /// Whether a wait of `wait` would end past `--stop-after`.
    fn crosses_deadline(&self, wait: Duration) -> bool {
        self.stop_at
            .is_some_and(|at| Instant::now().checked_add(wait).is_none_or(|end| end >= at))
    }
}

/// Sleep for `wait`, or less if a signal asks the run to stop; whether it did.
fn nap(opts: &YankOpts, wait: Duration) -> bool {
    opts.stop.sleep(wait)
}

/// Sleep before a request: `None` to go on, or how the version ends: a
/// signal (`Next`: the loop sees the flag), or a wait that would end past
/// `--stop-after` (`OutOfTime`: no request could follow it).
fn wait_to_request(opts: &YankOpts, wait: Duration) -> Option<Flow> {
    if opts.crosses_deadline(wait) {
        return Some(Flow::OutOfTime);
    }
    nap(opts, wait).then_some(Flow::Next)
}

/// Where a version stands before the run asks anything.
enum Before {
    /// Already in the wanted state.
    InState,
    /// To be asked for.
    ToChange,
    /// Not this release's to change (missing, or another checksum), or the
    /// index cannot be read: the reason.
    Refused(FailureClass, String),
    /// The index could not be read and the wait before asking again was
    /// cut short: by a signal (`Next`: the loop sees the flag) or by
    /// `--stop-after` (`OutOfTime`). The version is the next run's.
    Stopped(Flow),
}

/// Rate-limited answers are waited out without counting an attempt, up to
/// this many in a row (a registry that only ever says 429 must not hold
/// the run forever).
const MAX_RATE_LIMITED: u32 = 20;

/// After one version: go on, stop asking (the token source said the
/// credentials must be fixed first), or stop for `--stop-after`.
#[derive(PartialEq, Eq)]
enum Flow {
    Next,
    Halt,
    OutOfTime,
}

/// Runs the plan's versions in `targets` order, asking `tokens` before each
/// request (on the caller's thread: cargo's credential providers run there).
pub fn yank_all(
    rec: &mut Recorder<'_, YankState>,
    registry: &dyn YankRegistry,
    opts: &YankOpts,
    targets: &[YankTarget],
    tokens: &dyn TokenSource<YankTarget>,
) -> anyhow::Result<YankOutcome> {
    let want = !opts.undo;
    let mut out_of_time = false;
    for target in targets {
        if opts.stopping() {
            out_of_time = !opts.stop.is_raised();
            break;
        }
        let (name, version) = (target.name.clone(), target.version.clone());
        let status = rec.state().crates[&name].status;
        if status.is_done() {
            rec.record(YankEvent::YankSkipped {
                name,
                version,
                reason: YankSkipReason::AlreadyDone,
            })?;
            continue;
        }
        if opts.undo && opts.leave_yanked.contains(&name) {
            rec.record(YankEvent::YankSkipped {
                name,
                version,
                reason: YankSkipReason::YankedBeforeTheRun,
            })?;
            continue;
        }
        match before(registry, target, want, opts) {
            Before::InState => {
                // An earlier request of this journal whose outcome was not
                // recorded landed: confirm it as ours.
                if matches!(status, YankStatus::Requested | YankStatus::Accepted) {
                    rec.record(YankEvent::YankConfirmed {
                        name,
                        version,
                        ms: 0,
                    })?;
                } else {
                    rec.record(YankEvent::YankSkipped {
                        name,
                        version,
                        reason: YankSkipReason::AlreadyInRegistry { yanked: want },
                    })?;
                }
                continue;
            }
            Before::Refused(class, message) => {
                rec.record(YankEvent::YankFailed {
                    name,
                    version,
                    attempt: rec.state().crates[&target.name].run_attempts,
                    class,
                    message,
                    retry_after_ms: None,
                })?;
                continue;
            }
            Before::Stopped(flow) => {
                out_of_time = flow == Flow::OutOfTime;
                break;
            }
            Before::ToChange => {}
        }
        match change_one(rec, registry, opts, target, tokens)? {
            Flow::Next => {}
            Flow::Halt => break,
            Flow::OutOfTime => {
                out_of_time = true;
                break;
            }
        }
    }
    let state = rec.state();
    Ok(if state.all_done() {
        YankOutcome::Success
    } else if opts.stop.is_raised() {
        YankOutcome::Interrupted
    } else if out_of_time {
        YankOutcome::StoppedForLater
    } else if state.any_changed() {
        YankOutcome::Partial
    } else {
        YankOutcome::NothingChanged
    })
}

/// A token minted or renewed: journaled (its expiry, never the secret).
fn record_lifecycle(
    rec: &mut Recorder<'_, YankState>,
    lifecycle: Option<Lifecycle>,
) -> anyhow::Result<()> {
    match lifecycle {
        None => {}
        Some(Lifecycle::Minted { expires_at_ms }) => {
            rec.record(YankEvent::TokenMinted { expires_at_ms })?
        }
        Some(Lifecycle::Renewed {
            expires_at_ms,
            reason,
        }) => rec.record(YankEvent::TokenRenewed {
            expires_at_ms,
            reason,
        })?,
    }
    Ok(())
}

/// The token for the next request about `target`, its lifecycle journaled;
/// `None` when none can be had (recorded as the version's failure).
fn token_for(
    rec: &mut Recorder<'_, YankState>,
    tokens: &dyn TokenSource<YankTarget>,
    target: &YankTarget,
) -> anyhow::Result<Option<Secret>> {
    match tokens.token_for(target) {
        Ok((secret, lifecycle)) => {
            record_lifecycle(rec, lifecycle)?;
            Ok(Some(secret))
        }
        Err(error) => {
            rec.record(YankEvent::YankFailed {
                name: target.name.clone(),
                version: target.version.clone(),
                attempt: rec.state().crates[&target.name].run_attempts,
                class: FailureClass::Permanent,
                message: format!("no token: {error}"),
                retry_after_ms: None,
            })?;
            Ok(None)
        }
    }
}

/// Request the change for one version until it is confirmed, refused, or
/// out of attempts.
fn change_one(
    rec: &mut Recorder<'_, YankState>,
    registry: &dyn YankRegistry,
    opts: &YankOpts,
    target: &YankTarget,
    tokens: &dyn TokenSource<YankTarget>,
) -> anyhow::Result<Flow> {
    let (name, version) = (&target.name, &target.version);
    let want = !opts.undo;
    let refused = |message: &str| {
        if tokens.on_refused(name, message) {
            Flow::Halt
        } else {
            Flow::Next
        }
    };
    let mut rate_limited = 0;
    loop {
        if let Some(bucket) = opts.pacing {
            let wait = bucket.wait(&rec.state().request_times, now_ms());
            if !wait.is_zero() {
                if opts.crosses_deadline(wait) {
                    return Ok(Flow::OutOfTime);
                }
                rec.record(YankEvent::YankPaced {
                    name: name.clone(),
                    version: version.clone(),
                    wait_ms: wait.as_millis() as u64,
                })?;
                if let Some(flow) = wait_to_request(opts, wait) {
                    return Ok(flow);
                }
            }
        }
        if opts.stop.is_raised() {
            return Ok(Flow::Next);
        }
        if opts.past_deadline() {
            return Ok(Flow::OutOfTime);
        }
        // Asked after pacing: a renewal due during the wait happens now.
        let Some(mut secret) = token_for(rec, tokens, target)? else {
            let message = rec.state().crates[name].last_error.clone();
            return Ok(refused(message.as_deref().unwrap_or_default()));
        };
        let attempt = rec.state().crates[name].run_attempts + 1;
        rec.record(YankEvent::YankRequested {
            name: name.clone(),
            version: version.clone(),
            attempt,
        })?;
        let started = Instant::now();
        let mut result = registry.set_yanked(name, version, want, &secret);
        // Refused before it was looked at because the token expired: the
        // same request goes again with a fresh token, once, uncounted.
        if let Err(error) = &result
            && error.auth == Some(AuthRefusal::Expired)
            && let Ok(lifecycle) = tokens.renew(name, &secret)
        {
            record_lifecycle(rec, lifecycle)?;
            if let Ok((fresh, lifecycle)) = tokens.token_for(target) {
                record_lifecycle(rec, lifecycle)?;
                secret = fresh;
                result = registry.set_yanked(name, version, want, &secret);
            }
        }
        // The request may have landed; its outcome is not yet journaled.
        crate::failpoint::hit("yank-before-outcome", || {});
        let ms = started.elapsed().as_millis() as u64;
        let error = match result {
            Ok(()) => {
                rec.record(YankEvent::YankSucceeded {
                    name: name.clone(),
                    version: version.clone(),
                    attempt,
                    ms,
                })?;
                confirm(rec, registry, opts, target)?;
                return Ok(Flow::Next);
            }
            Err(error) => error,
        };
        rec.record(YankEvent::YankFailed {
            name: name.clone(),
            version: version.clone(),
            attempt,
            class: error.class,
            message: error.message.clone(),
            retry_after_ms: error.retry_after.map(|d| d.as_millis() as u64),
        })?;
        if error.auth.is_some() {
            return Ok(refused(&error.message));
        }
        match error.class {
            FailureClass::Permanent => return Ok(Flow::Next),
            FailureClass::RateLimited => {
                rate_limited += 1;
                if rate_limited > MAX_RATE_LIMITED {
                    return Ok(Flow::Next);
                }
                // A registry's wait is capped as an upload's is.
                let wait = error.retry_after.map_or_else(
                    || backoff(opts.retry_base, opts.retry_cap, rate_limited),
                    |d| d.min(super::upload::MAX_RETRY_AFTER),
                );
                if let Some(flow) = wait_to_request(opts, wait) {
                    return Ok(flow);
                }
            }
            FailureClass::Retryable | FailureClass::Ambiguous | FailureClass::Unknown => {
                // The request may have landed: the index decides before
                // any new request.
                if let Ok(Some(v)) = find(registry, target)
                    && v.yanked == want
                {
                    rec.record(YankEvent::YankConfirmed {
                        name: name.clone(),
                        version: version.clone(),
                        ms: 0,
                    })?;
                    return Ok(Flow::Next);
                }
                if rec.state().crates[name].run_attempts >= opts.max_attempts {
                    return Ok(Flow::Next);
                }
                if let Some(flow) =
                    wait_to_request(opts, backoff(opts.retry_base, opts.retry_cap, attempt))
                {
                    return Ok(flow);
                }
            }
        }
    }
}

/// Poll the index until it shows the wanted flag.
fn confirm(
    rec: &mut Recorder<'_, YankState>,
    registry: &dyn YankRegistry,
    opts: &YankOpts,
    target: &YankTarget,
) -> anyhow::Result<()> {
    let want = !opts.undo;
    let started = Instant::now();
    let mut interval = opts.confirm_poll;
    loop {
        if let Ok(Some(v)) = find(registry, target)
            && v.yanked == want
        {
            rec.record(YankEvent::YankConfirmed {
                name: target.name.clone(),
                version: target.version.clone(),
                ms: started.elapsed().as_millis() as u64,
            })?;
            return Ok(());
        }
        if started.elapsed() >= opts.confirm_timeout {
            rec.record(YankEvent::YankConfirmTimedOut {
                name: target.name.clone(),
                version: target.version.clone(),
                waited_ms: started.elapsed().as_millis() as u64,
            })?;
            return Ok(());
        }
        // Stopping: the next run confirms it (its request is journaled).
        if nap(opts, interval) {
            return Ok(());
        }
        interval = (interval * 3 / 2).min(Duration::from_secs(2));
    }
}

fn before(registry: &dyn YankRegistry, target: &YankTarget, want: bool, opts: &YankOpts) -> Before {
    let mut attempt = 1;
    let found = loop {
        match find(registry, target) {
            Ok(found) => break found,
            Err(error) if attempt >= opts.max_attempts => {
                return Before::Refused(
                    FailureClass::Retryable,
                    format!("could not read the index: {error:#}"),
                );
            }
            // A stop (or `--stop-after`) during an index outage ends the
            // wait at once: the version is left for the next run.
            Err(_) => {
                let wait = backoff(opts.retry_base, opts.retry_cap, attempt);
                if let Some(flow) = wait_to_request(opts, wait) {
                    return Before::Stopped(flow);
                }
                attempt += 1;
            }
        }
    };
    match found {
        None => Before::Refused(
            FailureClass::Permanent,
            format!(
                "the registry has no `{}@{}`; nothing to change",
                target.name, target.version
            ),
        ),
        Some(v) if target.sha256.as_ref().is_some_and(|sum| *sum != v.checksum) => Before::Refused(
            FailureClass::Permanent,
            format!(
                "the registry's `{}@{}` has checksum {}, not the {} this release uploaded; it is not this release's to change",
                target.name,
                target.version,
                v.checksum,
                target.sha256.as_deref().unwrap_or_default()
            ),
        ),
        Some(v) if v.yanked == want => Before::InState,
        Some(_) => Before::ToChange,
    }
}

/// The index's line for the target's version, if listed.
fn find(
    registry: &dyn YankRegistry,
    target: &YankTarget,
) -> Result<Option<IndexVersion>, crate::registry::IndexError> {
    let wanted = semver::Version::parse(&target.version).ok();
    Ok(registry
        .versions(&target.name)?
        .into_iter()
        .find(|v| Some(&v.version) == wanted.as_ref()))
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::sync::Mutex;

    use super::*;
    use crate::engine::{TokenUnavailable, TokensFrom};
    use crate::journal::{FORMAT, Journal, Record, YankRef};
    use crate::registry::{IndexError, UploadError};

    /// A registry in memory whose API answers are scripted per request.
    struct Scripted {
        yanked: Mutex<bool>,
        /// Answers to successive requests; `None` applies the change.
        answers: Mutex<Vec<Option<(FailureClass, bool)>>>,
        requests: Mutex<u32>,
        /// Requests made with this token are refused as expired (401).
        expired_token: Option<&'static str>,
        /// Every request is refused as not the token's to make (403).
        refuse_all: bool,
    }

    impl Scripted {
        fn new(answers: Vec<Option<(FailureClass, bool)>>) -> Self {
            Scripted {
                yanked: Mutex::new(false),
                answers: Mutex::new(answers),
                requests: Mutex::new(0),
                expired_token: None,
                refuse_all: false,
            }
        }
    }

    impl YankRegistry for Scripted {
        fn versions(&self, _: &str) -> Result<Vec<IndexVersion>, IndexError> {
            Ok(vec![IndexVersion {
                version: "1.0.0".parse().unwrap(),
                yanked: *self.yanked.lock().unwrap(),
                checksum: "ab".into(),
            }])
        }

        fn set_yanked(
            &self,
            _: &str,
            _: &str,
            yanked: bool,
            token: &Secret,
        ) -> Result<(), UploadError> {
            *self.requests.lock().unwrap() += 1;
            let auth = if self.expired_token == Some(token.expose()) {
                Some(AuthRefusal::Expired)
            } else {
                self.refuse_all.then_some(AuthRefusal::Refused)
            };
            if let Some(auth) = auth {
                return Err(UploadError {
                    class: FailureClass::Permanent,
                    message: format!("{auth:?}"),
                    retry_after: None,
                    already_uploaded: false,
                    auth: Some(auth),
                });
            }
            let mut answers = self.answers.lock().unwrap();
            let answer = if answers.is_empty() {
                None
            } else {
                answers.remove(0)
            };
            match answer {
                None => {
                    *self.yanked.lock().unwrap() = yanked;
                    Ok(())
                }
                // (class, whether the change landed anyway)
                Some((class, landed)) => {
                    if landed {
                        *self.yanked.lock().unwrap() = yanked;
                    }
                    Err(UploadError {
                        class,
                        message: format!("{class:?}"),
                        retry_after: (class == FailureClass::RateLimited)
                            .then(|| Duration::from_millis(1)),
                        already_uploaded: false,
                        auth: None,
                    })
                }
            }
        }
    }

    fn run(registry: &Scripted) -> (YankOutcome, Vec<Record<YankEvent>>) {
        run_stopping(registry, StopFlag::new())
    }

    fn run_stopping(registry: &Scripted, stop: StopFlag) -> (YankOutcome, Vec<Record<YankEvent>>) {
        let tokens = TokensFrom(|_: &YankTarget| Ok(Secret::new("t".into())));
        run_with(registry, stop, &["a"], &tokens)
    }

    fn run_with(
        registry: &Scripted,
        stop: StopFlag,
        names: &[&str],
        tokens: &dyn TokenSource<YankTarget>,
    ) -> (YankOutcome, Vec<Record<YankEvent>>) {
        let mut journal: Journal<YankState> = Journal::in_memory();
        let events = RefCell::new(Vec::new());
        let mut sink = |r: &Record<YankEvent>| events.borrow_mut().push(r.clone());
        let mut rec = Recorder::new(&mut journal, &mut sink);
        rec.record(YankEvent::YankRunStarted {
            format: FORMAT,
            yank_plan_id: "p".into(),
            registry: "r".into(),
            undo: false,
            run: 1,
            crates: names
                .iter()
                .map(|n| YankRef {
                    name: (*n).into(),
                    version: "1.0.0".into(),
                })
                .collect(),
            tool_version: "t".into(),
            plan_file: None,
        })
        .unwrap();
        let opts = YankOpts {
            undo: false,
            max_attempts: 3,
            retry_base: Duration::from_millis(1),
            retry_cap: Duration::from_millis(2),
            confirm_timeout: Duration::from_millis(50),
            confirm_poll: Duration::from_millis(1),
            pacing: None,
            stop,
            stop_at: None,
            leave_yanked: BTreeSet::new(),
        };
        let targets: Vec<YankTarget> = names
            .iter()
            .map(|n| YankTarget {
                name: (*n).into(),
                version: "1.0.0".into(),
                sha256: Some("ab".into()),
            })
            .collect();
        let outcome = yank_all(&mut rec, registry, &opts, &targets, tokens).unwrap();
        (outcome, events.into_inner())
    }

    fn kinds(events: &[Record<YankEvent>]) -> Vec<String> {
        events
            .iter()
            .map(|r| {
                serde_json::to_value(&r.event).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    /// Minted tokens `t1`, `t2`, … renewed on demand; halts on a refusal.
    #[derive(Default)]
    struct Minting {
        minted: RefCell<u32>,
    }

    impl TokenSource<YankTarget> for Minting {
        fn token_for(
            &self,
            _: &YankTarget,
        ) -> Result<(Secret, Option<Lifecycle>), TokenUnavailable> {
            let first = *self.minted.borrow() == 0;
            if first {
                *self.minted.borrow_mut() = 1;
            }
            let token = Secret::new(format!("t{}", self.minted.borrow()));
            Ok((
                token,
                first.then_some(Lifecycle::Minted { expires_at_ms: 1 }),
            ))
        }

        fn renew(&self, _: &str, _: &Secret) -> Result<Option<Lifecycle>, TokenUnavailable> {
            *self.minted.borrow_mut() += 1;
            Ok(Some(Lifecycle::Renewed {
                expires_at_ms: 2,
                reason: crate::journal::RenewReason::Expired,
            }))
        }

        fn on_refused(&self, _: &str, _: &str) -> bool {
            true
        }
    }

    #[test]
    fn an_expired_token_is_renewed_and_the_same_request_sent_again_uncounted() {
        let mut registry = Scripted::new(vec![]);
        registry.expired_token = Some("t1");
        let (outcome, events) = run_with(&registry, StopFlag::new(), &["a"], &Minting::default());
        assert_eq!(outcome, YankOutcome::Success);
        assert_eq!(*registry.requests.lock().unwrap(), 2);
        assert_eq!(
            kinds(&events)[1..],
            [
                "token_minted",
                "yank_requested",
                "token_renewed",
                "yank_succeeded",
                "yank_confirmed"
            ]
        );
    }

    #[test]
    fn refused_credentials_from_a_halting_source_stop_the_run_at_that_version() {
        let mut registry = Scripted::new(vec![]);
        registry.refuse_all = true;
        let (outcome, events) =
            run_with(&registry, StopFlag::new(), &["a", "b"], &Minting::default());
        assert_eq!(outcome, YankOutcome::NothingChanged);
        assert_eq!(
            *registry.requests.lock().unwrap(),
            1,
            "nothing asked after the refusal"
        );
        assert_eq!(
            kinds(&events)[1..],
            ["token_minted", "yank_requested", "yank_failed"]
        );
    }

    #[test]
    fn a_raised_stop_flag_sends_no_request_and_ends_interrupted() {
        let registry = Scripted::new(vec![]);
        let stop = StopFlag::new();
        stop.raise();
        let (outcome, events) = run_stopping(&registry, stop);
        assert_eq!(outcome, YankOutcome::Interrupted);
        assert_eq!(*registry.requests.lock().unwrap(), 0);
        assert_eq!(kinds(&events), ["yank_run_started"]);
    }

    #[test]
    fn a_5xx_that_landed_is_confirmed_from_the_index_without_a_second_request() {
        let registry = Scripted::new(vec![Some((FailureClass::Retryable, true))]);
        let (outcome, events) = run(&registry);
        assert_eq!(outcome, YankOutcome::Success);
        assert_eq!(*registry.requests.lock().unwrap(), 1);
        assert_eq!(
            kinds(&events)[1..],
            ["yank_requested", "yank_failed", "yank_confirmed"]
        );
    }

    #[test]
    fn a_5xx_that_did_not_land_is_asked_again_up_to_the_limit() {
        let registry = Scripted::new(vec![
            Some((FailureClass::Retryable, false)),
            Some((FailureClass::Ambiguous, false)),
        ]);
        let (outcome, _) = run(&registry);
        assert_eq!(outcome, YankOutcome::Success);
        assert_eq!(*registry.requests.lock().unwrap(), 3);
        let always = Scripted::new(vec![Some((FailureClass::Retryable, false)); 10]);
        let (outcome, _) = run(&always);
        assert_eq!(outcome, YankOutcome::NothingChanged);
        assert_eq!(*always.requests.lock().unwrap(), 3, "--max-attempts");
    }

    #[test]
    fn rate_limits_are_waited_out_without_counting_attempts_and_403_is_final() {
        let limited = Scripted::new(vec![Some((FailureClass::RateLimited, false)); 4]);
        let (outcome, _) = run(&limited);
        assert_eq!(outcome, YankOutcome::Success);
        assert_eq!(*limited.requests.lock().unwrap(), 5);
        let refused = Scripted::new(vec![Some((FailureClass::Permanent, false))]);
        let (outcome, events) = run(&refused);
        assert_eq!(outcome, YankOutcome::NothingChanged);
        assert_eq!(*refused.requests.lock().unwrap(), 1);
        assert_eq!(kinds(&events).last().unwrap(), "yank_failed");
    }

    #[test]
    fn a_version_already_yanked_is_skipped_and_asked_nothing() {
        let registry = Scripted::new(vec![]);
        *registry.yanked.lock().unwrap() = true;
        let (outcome, events) = run(&registry);
        assert_eq!(outcome, YankOutcome::Success);
        assert_eq!(*registry.requests.lock().unwrap(), 0);
        assert_eq!(kinds(&events)[1..], ["yank_skipped"]);
    }
}
