//! A yank run: for each version of the plan, in order, read the index
//! (which settles an earlier request of unknown outcome and skips what is
//! already in the wanted state), pace, journal the intent, ask the web API,
//! journal the outcome, then confirm the flag in the index. Yanking is
//! idempotent on the registry's side, so an unknown outcome is settled by
//! reading the index and, if the flag is not there, asking again.
//!
//! It is the upload loop's protocol with one request in flight: the same
//! attempt policy (`attempts.rs`), token lifecycle (a token the registry
//! says expired is renewed and the same request sent again, uncounted),
//! waits and deadline (`session.rs`) and confirmation poller (`confirm.rs`).

use std::collections::BTreeSet;
use std::time::Instant;

use super::attempts::{Retry, Tries, may_have_landed};
use super::confirm::{ConfirmRequest, Seen, Watches};
use super::session::Stop;
use super::{Recorder, SessionOpts, TokenSource};
use crate::journal::{
    JournalError, YankEvent, YankOutcome, YankSkipReason, YankState, YankStatus, YankTarget, now_ms,
};
use crate::model::Bucket;
use crate::model::FailureClass;
use crate::registry::{IndexError, IndexVersion, UploadError, YankRegistry};
use crate::secret::Secret;

/// Knobs of a yank run.
#[derive(Debug, Clone)]
pub struct YankOpts {
    /// What every run has: attempts (requests per version), confirmation,
    /// stop (no new request starts; waits end at once) and `--stop-after`
    /// (a request made is still confirmed).
    pub session: SessionOpts,
    /// Unyank instead of yank.
    pub undo: bool,
    /// The registry's limit on yanks and unyanks.
    pub pacing: Option<Bucket>,
    /// `--undo`: versions the yank run found already yanked, by name; they
    /// stay yanked.
    pub leave_yanked: BTreeSet<String>,
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
    /// cut short. The version is the next run's.
    Stopped(Stop),
}

/// After one version: go on, stop asking (the token source said the
/// credentials must be fixed first), or stop the run (a signal, `--stop-after`).
#[derive(PartialEq, Eq)]
enum Flow {
    Next,
    Halt,
    Stop(Stop),
}

/// Runs the plan's versions in `targets` order, asking `tokens` before each
/// request (on the caller's thread: cargo's credential providers run there).
pub fn yank_all(
    rec: &mut Recorder<'_, YankState>,
    registry: &dyn YankRegistry,
    opts: &YankOpts,
    targets: &[YankTarget],
    tokens: &dyn TokenSource<YankTarget>,
) -> Result<YankOutcome, JournalError> {
    let mut run = YankLoop {
        rec,
        registry,
        opts,
        tokens,
        watches: Watches::new(&opts.session),
        want: !opts.undo,
    };
    let mut stopped = None;
    for target in targets {
        stopped = opts.session.stopped();
        if stopped.is_some() {
            break;
        }
        match run.one(target)? {
            Flow::Next => {}
            Flow::Halt => break,
            Flow::Stop(stop) => {
                stopped = Some(stop);
                break;
            }
        }
    }
    let state = run.rec.state();
    Ok(if state.all_done() {
        YankOutcome::Success
    } else if opts.session.stop.is_raised() {
        YankOutcome::Interrupted
    } else if stopped == Some(Stop::OutOfTime) {
        YankOutcome::StoppedForLater
    } else if state.any_changed() {
        YankOutcome::Partial
    } else {
        YankOutcome::NothingChanged
    })
}

/// A yank run between two events: one request in flight at a time.
struct YankLoop<'l, 'a> {
    rec: &'l mut Recorder<'a, YankState>,
    registry: &'l dyn YankRegistry,
    opts: &'l YankOpts,
    tokens: &'l dyn TokenSource<YankTarget>,
    /// The confirmation poller, learning the index's delay over the run.
    watches: Watches,
    /// The flag asked for: yanked, or not (`--undo`).
    want: bool,
}

impl YankLoop<'_, '_> {
    /// One version, from the journal's word on it to its confirmation.
    fn one(&mut self, target: &YankTarget) -> Result<Flow, JournalError> {
        let (name, version) = (target.name.clone(), target.version.clone());
        let status = self.rec.state().crates[&name].status;
        let skipped = if status.is_done() {
            Some(YankSkipReason::AlreadyDone)
        } else if self.opts.undo && self.opts.leave_yanked.contains(&name) {
            Some(YankSkipReason::YankedBeforeTheRun)
        } else {
            None
        };
        if let Some(reason) = skipped {
            self.rec.record(YankEvent::YankSkipped {
                name,
                version,
                reason,
            })?;
            return Ok(Flow::Next);
        }
        let mut tries = Tries::default();
        match self.before(target, &mut tries) {
            // An earlier request of this journal whose outcome was not
            // recorded landed: confirm it as ours.
            Before::InState if matches!(status, YankStatus::Requested | YankStatus::Accepted) => {
                self.record_confirmed(target, 0)?
            }
            Before::InState => self.rec.record(YankEvent::YankSkipped {
                name,
                version,
                reason: YankSkipReason::AlreadyInRegistry { yanked: self.want },
            })?,
            Before::Refused(class, message) => {
                self.record_failed(target, tries.attempt, class, message, None)?
            }
            Before::Stopped(stop) => return Ok(Flow::Stop(stop)),
            Before::ToChange => return self.change(target, &mut tries),
        }
        Ok(Flow::Next)
    }

    /// Request the change until it is confirmed, refused, or out of attempts.
    fn change(&mut self, target: &YankTarget, tries: &mut Tries) -> Result<Flow, JournalError> {
        loop {
            if let Some(stop) = self.pace(target)? {
                return Ok(Flow::Stop(stop));
            }
            if let Some(stop) = self.opts.session.stopped() {
                return Ok(Flow::Stop(stop));
            }
            // Asked after pacing: a renewal due during the wait happens now.
            let secret = match self.rec.token(self.tokens, target)? {
                Ok(secret) => secret,
                Err(error) => {
                    let message = format!("no token: {error}");
                    let class = FailureClass::Permanent;
                    self.record_failed(target, tries.attempt, class, message.clone(), None)?;
                    return Ok(self.refused(target, &message));
                }
            };
            tries.attempt += 1;
            self.rec.record(YankEvent::YankRequested {
                name: target.name.clone(),
                version: target.version.clone(),
                attempt: tries.attempt,
            })?;
            let started = Instant::now();
            let result = self.request(target, tries, secret)?;
            // The request may have landed; its outcome is not yet journaled.
            crate::failpoint::hit("yank-before-outcome", || {});
            let ms = started.elapsed().as_millis() as u64;
            let error = match result {
                Ok(()) => {
                    self.rec.record(YankEvent::YankSucceeded {
                        name: target.name.clone(),
                        version: target.version.clone(),
                        attempt: tries.attempt,
                        ms,
                    })?;
                    self.confirm(target)?;
                    return Ok(Flow::Next);
                }
                Err(error) => error,
            };
            let retry_after = error.retry_after;
            let message = error.message.clone();
            self.record_failed(target, tries.attempt, error.class, message, retry_after)?;
            tries.failed(error.class);
            if error.auth.is_some() {
                return Ok(self.refused(target, &error.message));
            }
            if let Some(flow) = self.after_failure(target, *tries, &error)? {
                return Ok(flow);
            }
        }
    }

    /// Send the request; refused as expired, it goes again with a fresh
    /// token, once, uncounted.
    fn request(
        &mut self,
        target: &YankTarget,
        tries: &mut Tries,
        secret: Secret,
    ) -> Result<Result<(), UploadError>, JournalError> {
        let (name, version) = (&target.name, &target.version);
        let result = self.registry.set_yanked(name, version, self.want, &secret);
        if let Err(error) = &result
            && tries.resends_renewed(error)
            && let Some(fresh) = self.rec.renewed_token(self.tokens, name, &secret, target)?
        {
            return Ok(self.registry.set_yanked(name, version, self.want, &fresh));
        }
        Ok(result)
    }

    /// After a failed request: `None` to ask again (after the policy's
    /// wait), or how the version ends. A request that may have landed is
    /// settled by the index first.
    fn after_failure(
        &mut self,
        target: &YankTarget,
        tries: Tries,
        error: &UploadError,
    ) -> Result<Option<Flow>, JournalError> {
        if may_have_landed(error) && self.in_state(target) {
            self.record_confirmed(target, 0)?;
            return Ok(Some(Flow::Next));
        }
        let policy = &self.opts.session.attempts;
        Ok(match policy.after(error.class, error.retry_after, tries) {
            Retry::GiveUp => Some(Flow::Next),
            Retry::After(wait) => self.opts.session.wait_to_request(wait).map(Flow::Stop),
        })
    }

    /// Wait for the registry's limit, said once: `None` to go on, or why
    /// the run stops (a signal, or a wait past `--stop-after`).
    fn pace(&mut self, target: &YankTarget) -> Result<Option<Stop>, JournalError> {
        let Some(bucket) = self.opts.pacing else {
            return Ok(None);
        };
        let wait = bucket.wait(&self.rec.state().request_times, now_ms());
        if wait.is_zero() {
            return Ok(None);
        }
        if self.opts.session.crosses_deadline(wait) {
            return Ok(Some(Stop::OutOfTime));
        }
        self.rec.record(YankEvent::YankPaced {
            name: target.name.clone(),
            version: target.version.clone(),
            wait_ms: wait.as_millis() as u64,
        })?;
        Ok(self.opts.session.wait_to_request(wait))
    }

    /// The credentials were refused (or none could be had): the token
    /// source says whether the run stops asking.
    fn refused(&self, target: &YankTarget, message: &str) -> Flow {
        if self.tokens.on_refused(&target.name, message) {
            Flow::Halt
        } else {
            Flow::Next
        }
    }

    /// Watch the index until it shows the wanted flag, at the poller's
    /// cadence; a stop leaves it to the next run (its request is journaled).
    fn confirm(&mut self, target: &YankTarget) -> Result<(), JournalError> {
        self.watches.add(ConfirmRequest {
            name: target.name.clone(),
            version: target.version.clone(),
            sha256: String::new(),
        });
        let (registry, want) = (self.registry, self.want);
        let read = |_: &ConfirmRequest| -> Result<bool, IndexError> {
            Ok(find(registry, target)?.is_some_and(|v| v.yanked == want))
        };
        loop {
            let mut confirmed = None;
            self.watches.poll_due(read, |seen| {
                if let Seen::Confirmed { visible, ms, .. } = seen {
                    confirmed = Some((visible, ms));
                }
                true
            });
            match confirmed {
                Some((true, ms)) => return self.record_confirmed(target, ms),
                Some((false, waited_ms)) => {
                    return self.rec.record(YankEvent::YankConfirmTimedOut {
                        name: target.name.clone(),
                        version: target.version.clone(),
                        waited_ms,
                    });
                }
                None => {}
            }
            let due = self.watches.next_due().unwrap_or_else(Instant::now);
            if self
                .opts
                .session
                .wait(due.saturating_duration_since(Instant::now()))
            {
                self.watches.clear();
                return Ok(());
            }
        }
    }

    /// Where the version stands in the index, read until it answers (up to
    /// the policy's attempts; a stop or `--stop-after` ends the wait at
    /// once, leaving the version to the next run).
    fn before(&self, target: &YankTarget, tries: &mut Tries) -> Before {
        let found = loop {
            match find(self.registry, target) {
                Ok(found) => break found,
                Err(error) => {
                    tries.lookups_failed += 1;
                    match self.opts.session.attempts.after_lookup(*tries) {
                        Retry::GiveUp => {
                            return Before::Refused(
                                FailureClass::Retryable,
                                format!("could not read the index: {error:#}"),
                            );
                        }
                        Retry::After(wait) => {
                            if let Some(stop) = self.opts.session.wait_to_request(wait) {
                                return Before::Stopped(stop);
                            }
                        }
                    }
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
            Some(v) if target.sha256.as_ref().is_some_and(|sum| *sum != v.checksum) => {
                Before::Refused(
                    FailureClass::Permanent,
                    format!(
                        "the registry's `{}@{}` has checksum {}, not the {} this release uploaded; it is not this release's to change",
                        target.name,
                        target.version,
                        v.checksum,
                        target.sha256.as_deref().unwrap_or_default()
                    ),
                )
            }
            Some(v) if v.yanked == self.want => Before::InState,
            Some(_) => Before::ToChange,
        }
    }

    /// The index shows the wanted flag now.
    fn in_state(&self, target: &YankTarget) -> bool {
        matches!(find(self.registry, target), Ok(Some(v)) if v.yanked == self.want)
    }

    fn record_confirmed(&mut self, target: &YankTarget, ms: u64) -> Result<(), JournalError> {
        self.rec.record(YankEvent::YankConfirmed {
            name: target.name.clone(),
            version: target.version.clone(),
            ms,
        })
    }

    fn record_failed(
        &mut self,
        target: &YankTarget,
        attempt: u32,
        class: FailureClass,
        message: String,
        retry_after: Option<std::time::Duration>,
    ) -> Result<(), JournalError> {
        self.rec.record(YankEvent::YankFailed {
            name: target.name.clone(),
            version: target.version.clone(),
            attempt,
            class,
            message,
            retry_after_ms: retry_after.map(|d| d.as_millis() as u64),
        })
    }
}

/// The index's line for the target's version, if listed.
fn find(
    registry: &dyn YankRegistry,
    target: &YankTarget,
) -> Result<Option<IndexVersion>, IndexError> {
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
    use std::time::Duration;

    use super::*;
    use crate::engine::{AttemptPolicy, StopFlag, TokenUnavailable, TokensFrom};
    use crate::journal::TokenEvent;
    use crate::journal::{FORMAT, Journal, Record, YankRef};
    use crate::registry::AuthRefusal;

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
        /// The index never shows a change.
        stale_index: bool,
    }

    impl Scripted {
        fn new(answers: Vec<Option<(FailureClass, bool)>>) -> Self {
            Scripted {
                yanked: Mutex::new(false),
                answers: Mutex::new(answers),
                requests: Mutex::new(0),
                expired_token: None,
                refuse_all: false,
                stale_index: false,
            }
        }
    }

    impl YankRegistry for Scripted {
        fn versions(&self, _: &str) -> Result<Vec<IndexVersion>, IndexError> {
            Ok(vec![IndexVersion {
                version: "1.0.0".parse().unwrap(),
                yanked: *self.yanked.lock().unwrap() && !self.stale_index,
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
            session: SessionOpts {
                attempts: AttemptPolicy {
                    max_attempts: 3,
                    retry_base: Duration::from_millis(1),
                    retry_cap: Duration::from_millis(2),
                },
                confirm_timeout: Duration::from_millis(50),
                confirm_poll: Duration::from_millis(1),
                stop,
                stop_at: None,
            },
            undo: false,
            pacing: None,
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
        ) -> Result<(Secret, Option<TokenEvent>), TokenUnavailable> {
            let first = *self.minted.borrow() == 0;
            if first {
                *self.minted.borrow_mut() = 1;
            }
            let token = Secret::new(format!("t{}", self.minted.borrow()));
            Ok((
                token,
                first.then_some(TokenEvent::Minted { expires_at_ms: 1 }),
            ))
        }

        fn renew(&self, _: &str, _: &Secret) -> Result<Option<TokenEvent>, TokenUnavailable> {
            *self.minted.borrow_mut() += 1;
            Ok(Some(TokenEvent::Renewed {
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

    /// The policy is the upload loop's (`--max-attempts` 3 here).
    #[test]
    fn rate_limits_are_waited_out_uncounted_up_to_four_times_max_attempts_and_403_is_final() {
        let asked = |answers: Vec<Option<(FailureClass, bool)>>| {
            let registry = Scripted::new(answers);
            let (outcome, events) = run(&registry);
            let requests = *registry.requests.lock().unwrap();
            (outcome, requests, kinds(&events).pop().unwrap())
        };
        let limited = |n| vec![Some((FailureClass::RateLimited, false)); n];
        let (outcome, requests, _) = asked(limited(4));
        assert_eq!((outcome, requests), (YankOutcome::Success, 5));
        // Two counted failures of three after five rate limits.
        let mut then_5xx = limited(5);
        then_5xx.extend([Some((FailureClass::Retryable, false)); 2]);
        let (outcome, requests, _) = asked(then_5xx);
        assert_eq!((outcome, requests), (YankOutcome::Success, 8));
        let (outcome, requests, last) = asked(limited(40));
        assert_eq!((outcome, requests), (YankOutcome::NothingChanged, 12));
        assert_eq!(last, "yank_failed");
        let refused = asked(vec![Some((FailureClass::Permanent, false))]);
        assert_eq!(
            refused,
            (YankOutcome::NothingChanged, 1, "yank_failed".into())
        );
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

    #[test]
    fn a_change_the_index_never_shows_times_out_its_confirmation() {
        let mut registry = Scripted::new(vec![]);
        registry.stale_index = true;
        let (outcome, events) = run(&registry);
        assert_eq!(outcome, YankOutcome::Partial);
        assert_eq!(
            kinds(&events)[1..],
            ["yank_requested", "yank_succeeded", "yank_confirm_timed_out"]
        );
        let waited = serde_json::to_value(&events.last().unwrap().event).unwrap()["waited_ms"]
            .as_u64()
            .unwrap();
        assert!(waited >= 50, "--confirm-timeout: {waited} ms");
    }
}
