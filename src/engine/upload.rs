//! The upload loop: a ready-set scheduler on the calling thread (the only
//! writer of the journal) driving [`PublishPlan`], with the network work on
//! [`super::workers`]. A crate goes out once every plan crate it depends on
//! is visible; its dependents are released when it is.
//!
//! [`UploadLoop`] holds the run's state; each transition is one method:
//! [`admit`](UploadLoop::admit) what became ready, [`dispatch`](UploadLoop::dispatch)
//! uploads up to `--jobs`, then react to what the threads report
//! ([`on_uploaded`](UploadLoop::on_uploaded), [`on_confirmed`](UploadLoop::on_confirmed),
//! [`on_index_failing`](UploadLoop::on_index_failing)), sleeping until
//! [`next_deadline`](UploadLoop::next_deadline) when nothing arrives;
//! [`on_stop`](UploadLoop::on_stop) when the caller's stop flag is raised
//! (a signal): nothing new starts, only the uploads in flight are waited
//! for, up to the grace period.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use super::attempts::{Retry, Tries, may_have_landed};
use super::confirm::{ConfirmRequest, Seen};
use super::settle::{Probe, Windows, index_window, intent_age, probe};
use super::stop::LOOK_EVERY;
use super::token::{PreparedTokens, TokenSource};
use super::workers::{Done, Task, poller, worker};
use super::{EngineOpts, Prepared, Recorder};
use crate::failpoint;
use crate::journal::{CrateStatus, Event, JournalError, RunOutcome, SkipReason, now_ms};
use crate::model::Holding;
use crate::plan::PublishPlan;
use crate::registry::{Registry, UploadError};
use crate::secret::Secret;

/// Upload `prepared` (and confirm `to_confirm`, uploaded earlier) in
/// dependency order. Returns the run's outcome.
pub fn upload_all(
    rec: &mut Recorder<'_>,
    registry: &dyn Registry,
    opts: &EngineOpts,
    prepared: &[Prepared],
    to_confirm: &[String],
) -> Result<RunOutcome, JournalError> {
    upload_all_with(rec, registry, opts, prepared, to_confirm, &PreparedTokens)
}

/// [`upload_all`], with tokens from `tokens`, asked right before each upload.
pub fn upload_all_with(
    rec: &mut Recorder<'_>,
    registry: &dyn Registry,
    opts: &EngineOpts,
    prepared: &[Prepared],
    to_confirm: &[String],
    tokens: &dyn TokenSource,
) -> Result<RunOutcome, JournalError> {
    let jobs = opts.jobs.clamp(1, super::MAX_JOBS);
    let (task_tx, task_rx) = mpsc::channel::<Task<'_>>();
    let task_rx = Mutex::new(task_rx);
    let (confirm_tx, confirm_rx) = mpsc::channel::<ConfirmRequest>();
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    let mut run = UploadLoop::new(
        rec, registry, opts, prepared, to_confirm, task_tx, confirm_tx,
    )?;
    run.tokens = tokens;
    std::thread::scope(|scope| -> Result<(), JournalError> {
        for _ in 0..jobs {
            let (task_rx, done_tx) = (&task_rx, done_tx.clone());
            scope.spawn(move || worker(registry, task_rx, done_tx));
        }
        let poller_done = done_tx.clone();
        scope.spawn(move || poller(registry, &opts.session, confirm_rx, poller_done));
        drop(done_tx);
        let result = drive(&mut run, done_rx, jobs);
        // Whatever happened, close the channels so the threads end (a
        // journal error must not leave the scope waiting for them).
        run.close();
        result
    })?;
    Ok(run.outcome())
}

/// The event loop: admit, dispatch, then wait for the threads or the next
/// deadline. `done` is dropped on return, which stops the threads' reports.
fn drive(
    run: &mut UploadLoop<'_, '_>,
    done: mpsc::Receiver<Done>,
    jobs: usize,
) -> Result<(), JournalError> {
    loop {
        if run.opts.session.stop.is_raised() && run.stopping.is_none() {
            run.on_stop()?;
        }
        run.admit();
        run.dispatch(jobs)?;
        if run.is_finished() {
            return Ok(());
        }
        // A signal is seen within this long, whatever else the loop waits for.
        let wait = run.next_deadline().min(LOOK_EVERY);
        match done.recv_timeout(wait) {
            Ok(Done::Uploaded { name, result, ms }) => run.on_uploaded(&name, result, ms)?,
            Ok(Done::Seen(Seen::Confirmed {
                name,
                visible,
                ms,
                index_error,
            })) => run.on_confirmed(&name, visible, ms, index_error)?,
            Ok(Done::Seen(Seen::IndexFailing { name, error })) => {
                run.on_index_failing(&name, error)?
            }
            Err(mpsc::RecvTimeoutError::Timeout) => run.on_timeout(),
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
    }
}

/// What happens to a crate after a failed upload.
enum Next {
    /// It is in the registry with our checksum: confirm it.
    Confirm,
    RetryAt(Instant),
    GiveUp,
}

/// How often an upload of unknown outcome is asked about while the
/// registry cannot show it yet.
const SETTLE_POLL: Duration = Duration::from_millis(500);

/// Bounds of the margin a paced upload waits beyond its token (1 %).
const PACING_MARGIN_MIN: Duration = Duration::from_millis(5);
const PACING_MARGIN_MAX: Duration = Duration::from_secs(1);

/// The state of an upload run between two events.
struct UploadLoop<'l, 'a> {
    rec: &'l mut Recorder<'a>,
    registry: &'l dyn Registry,
    opts: &'l EngineOpts,
    prepared: BTreeMap<&'l str, &'l Prepared>,
    /// Plan order, to hand out ready crates in it.
    position: BTreeMap<String, usize>,
    plan: PublishPlan,
    /// Ready to upload (or to settle first), in order.
    ready: VecDeque<String>,
    /// Crates waiting for a retry, with when.
    retries: Vec<(Instant, String)>,
    tries: BTreeMap<String, Tries>,
    in_flight: usize,
    /// Crates the poller is watching.
    confirming: usize,
    /// The crate waiting for the rate limit, and until when (its `paced`
    /// event is recorded once).
    paced: Option<(String, Instant)>,
    /// A crate's outcome stayed unknown: the run ends for an operator.
    needs_operator: bool,
    /// Where tokens come from.
    tokens: &'l dyn TokenSource,
    /// The token each in-flight upload was sent with.
    sent_with: BTreeMap<String, Secret>,
    /// No new uploads start (credentials refused, or the stop time came);
    /// in-flight ones settle.
    halted: bool,
    /// Crates to settle with the registry before anything else happens to
    /// them (besides `ambiguous` ones: an "already uploaded" answer the
    /// registry does not show yet).
    settling: BTreeSet<String>,
    /// Crates whose upload the registry refused as already there, with its
    /// answer: absent from it after the settle window, the registry
    /// contradicts itself, and the crate is not sent again.
    refused_as_existing: BTreeMap<String, String>,
    /// Stopping (a signal): until when the uploads in flight may run.
    stopping: Option<Instant>,
    /// The grace period ran out and the uploads in flight were cut off.
    cut_off: bool,
    /// `None` once closed.
    tasks: Option<mpsc::Sender<Task<'l>>>,
    confirms: Option<mpsc::Sender<ConfirmRequest>>,
}

impl<'l, 'a> UploadLoop<'l, 'a> {
    /// Start from the journal: done crates release their dependents; crates
    /// with nothing to do this run (unsettled, or not prepared) block theirs;
    /// crates uploaded earlier go straight to the poller.
    fn new(
        rec: &'l mut Recorder<'a>,
        registry: &'l dyn Registry,
        opts: &'l EngineOpts,
        prepared: &'l [Prepared],
        to_confirm: &[String],
        tasks: mpsc::Sender<Task<'l>>,
        confirms: mpsc::Sender<ConfirmRequest>,
    ) -> Result<Self, JournalError> {
        let state = rec.state().clone();
        let mut run = UploadLoop {
            prepared: prepared.iter().map(|p| (p.job.name.as_str(), p)).collect(),
            position: state
                .order
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), i))
                .collect(),
            plan: PublishPlan::new(
                state
                    .crates_in_order()
                    .map(|(name, c)| (name.as_str(), c.depends_on.as_slice())),
            ),
            rec,
            registry,
            opts,
            ready: VecDeque::new(),
            retries: Vec::new(),
            tries: BTreeMap::new(),
            in_flight: 0,
            confirming: 0,
            paced: None,
            needs_operator: false,
            tokens: &PreparedTokens,
            sent_with: BTreeMap::new(),
            halted: false,
            settling: BTreeSet::new(),
            refused_as_existing: BTreeMap::new(),
            stopping: None,
            cut_off: false,
            tasks: Some(tasks),
            confirms: Some(confirms),
        };
        // Done crates first, so that blocking below never touches them.
        for (name, c) in state.crates_in_order() {
            if c.status.is_done() {
                run.plan.mark_confirmed(name);
            }
        }
        for (name, c) in state.crates_in_order() {
            if c.status.is_done() || run.prepared.contains_key(name.as_str()) {
                continue;
            }
            if to_confirm.contains(name) {
                run.plan.take(name);
                run.watch(name);
                continue;
            }
            // Nothing to upload for it this run: unsettled (recorded as
            // such), or blocked by a crate that is.
            if matches!(c.status, CrateStatus::Ambiguous | CrateStatus::Uploading) {
                run.needs_operator = true;
            }
            run.block_dependents(name)?;
        }
        Ok(run)
    }

    /// Crates whose dependencies are all visible join the ready queue,
    /// longest dependents chain first (the critical path never waits for a
    /// slot behind a crate with time to spare), then in plan order; retries
    /// whose time has come go to its front.
    fn admit(&mut self) {
        if self.stopping.is_some() {
            return;
        }
        let mut newly = self.plan.take_ready();
        newly.sort_by_key(|n| {
            let position = self.position.get(n).copied().unwrap_or(usize::MAX);
            (std::cmp::Reverse(self.plan.chain_length(n)), position)
        });
        self.ready.extend(newly);
        let now = Instant::now();
        self.retries.sort_by_key(|(due, _)| *due);
        while self.retries.first().is_some_and(|(due, _)| *due <= now) {
            let (_, name) = self.retries.remove(0);
            self.ready.push_front(name);
        }
    }

    /// Start uploads until `jobs` are in flight, the queue is empty, or the
    /// next one must wait for the rate limit. A crate whose last attempt may
    /// have landed is settled with the registry first.
    fn dispatch(&mut self, jobs: usize) -> Result<(), JournalError> {
        if self.opts.session.past_deadline() {
            self.halted = true;
        }
        while self.in_flight < jobs && self.stopping.is_none() && !self.halted {
            // The first ready crate that may go now: one to settle, or one
            // its rate limit lets through (a new crate waiting for its limit
            // does not hold back new versions behind it, nor the reverse).
            let mut soonest: Option<(Duration, usize)> = None;
            let mut chosen = None;
            for (i, name) in self.ready.iter().enumerate() {
                if self.rec.state().crates[name].status == CrateStatus::Ambiguous
                    || self.settling.contains(name)
                {
                    chosen = Some(i);
                    break;
                }
                match self.pacing_wait(self.prepared[name.as_str()].new_crate) {
                    None => {
                        chosen = Some(i);
                        break;
                    }
                    Some(wait) if soonest.is_none_or(|(w, _)| wait < w) => {
                        soonest = Some((wait, i));
                    }
                    Some(_) => {}
                }
            }
            let Some(i) = chosen else {
                if let Some((wait, i)) = soonest {
                    let name = self.ready[i].clone();
                    // Said once per crate; the deadline follows the model.
                    if self.paced.as_ref().is_none_or(|(n, _)| *n != name) {
                        self.rec.record(Event::Paced {
                            name: name.clone(),
                            version: self.prepared[name.as_str()].job.version.clone(),
                            wait_ms: wait.as_millis() as u64,
                        })?;
                    }
                    self.paced = Some((name, Instant::now() + wait));
                }
                return Ok(());
            };
            let name = self.ready.remove(i).expect("chosen from the queue");
            if self.rec.state().crates[&name].status == CrateStatus::Ambiguous
                || self.settling.contains(&name)
            {
                self.settle(&name)?;
                continue;
            }
            if self.paced.as_ref().is_some_and(|(n, _)| *n == name) {
                self.paced = None;
            }
            let p = self.prepared[name.as_str()];
            let token = match self.rec.token(self.tokens, p)? {
                Ok(token) => token,
                Err(error) => {
                    // No token for it: it does not go out, nor what needs it.
                    self.block_dependents(&name)?;
                    self.halted |= self.tokens.on_refused(&name, &error.message);
                    continue;
                }
            };
            let tries = self.tries.entry(name.clone()).or_default();
            tries.attempt += 1;
            let attempt = tries.attempt;
            self.rec.record(Event::UploadStarted {
                name: name.clone(),
                version: p.job.version.clone(),
                attempt,
                sha256: p.job.sha256.clone(),
                new_crate: p.new_crate,
            })?;
            failpoint::hit("before-upload", || {});
            self.send(p, token);
        }
        Ok(())
    }

    fn send(&mut self, p: &'l Prepared, token: Secret) {
        self.sent_with.insert(p.job.name.clone(), token.clone());
        self.tasks
            .as_ref()
            .expect("open while dispatching")
            .send(Task { prepared: p, token })
            .expect("workers alive");
        self.in_flight += 1;
    }

    /// A worker finished an upload.
    fn on_uploaded(
        &mut self,
        name: &str,
        result: Result<(), UploadError>,
        ms: u64,
    ) -> Result<(), JournalError> {
        self.in_flight -= 1;
        let p = self.prepared[name];
        let used = self.sent_with.remove(name);
        // Refused before it was looked at because the token expired: the
        // same attempt goes again with a fresh token, once, uncounted.
        let tries = self.tries.entry(name.to_owned()).or_default();
        if let (Err(error), Some(used)) = (&result, &used)
            && self.stopping.is_none()
            && tries.resends_renewed(error)
            && let Some(token) = self.rec.renewed_token(self.tokens, name, used, p)?
        {
            self.send(p, token);
            return Ok(());
        }
        let tries = self.tries.entry(name.to_owned()).or_default();
        let error = match result {
            Ok(()) => {
                failpoint::hit("after-upload", || {});
                self.rec.record(Event::UploadSucceeded {
                    name: name.to_owned(),
                    version: p.job.version.clone(),
                    attempt: tries.attempt,
                    ms,
                })?;
                if self.stopping.is_none() {
                    self.watch(name);
                }
                return Ok(());
            }
            Err(error) => error,
        };
        tries.failed(error.class);
        let tries = *tries;
        if error.auth.is_some() && self.tokens.on_refused(name, &error.message) {
            self.halted = true;
        }
        if self.stopping.is_some() {
            // Recorded, nothing more: an outcome that may have landed stays
            // unknown (`ambiguous`) and the next run settles it first.
            return self.record_failure(p, tries, &error);
        }
        match self.on_failed(p, tries, &error)? {
            Next::Confirm => self.watch(name),
            Next::RetryAt(due) => self.retries.push((due, name.to_owned())),
            Next::GiveUp => self.block_dependents(name)?,
        }
        Ok(())
    }

    /// Record a failed upload and decide what comes next: anything that may
    /// have landed is settled with the registry before anything else
    /// happens to this crate.
    fn on_failed(
        &mut self,
        p: &Prepared,
        tries: Tries,
        error: &UploadError,
    ) -> Result<Next, JournalError> {
        let (name, version) = (&p.job.name, &p.job.version);
        self.record_failure(p, tries, error)?;
        if error.already_uploaded {
            self.refused_as_existing
                .insert(name.clone(), error.message.clone());
        }
        if may_have_landed(error) {
            match self.probe(name, version) {
                Probe::Found(sha256) => {
                    let holding = Holding::of(Some(&sha256), Some(&p.job.sha256));
                    self.record_reconciled(name, version, Some(sha256))?;
                    match holding {
                        Holding::Ours => return Ok(Next::Confirm),
                        Holding::Theirs { .. } | Holding::Absent => return Ok(Next::GiveUp),
                    }
                }
                // "Already uploaded", yet absent: not ours to retry.
                Probe::Absent if error.already_uploaded => {
                    self.record_contradiction(name, version)?;
                    return Ok(Next::GiveUp);
                }
                Probe::Absent => self.record_reconciled(name, version, None)?,
                // An index that lags (and an API that cannot tell): asked
                // again, before any new upload of this crate.
                Probe::NotYet { left } => {
                    self.settling.insert(name.clone());
                    return Ok(Next::RetryAt(Instant::now() + left.min(SETTLE_POLL)));
                }
                // Still unknown (the crate stays `ambiguous`): dispatching
                // settles it before any new upload, and gives up after enough tries.
                Probe::CannotTell(_) => {
                    self.settling.insert(name.clone());
                    let delay = self.opts.session.attempts.backoff(tries.counted);
                    return Ok(Next::RetryAt(Instant::now() + delay));
                }
            }
        }
        let policy = &self.opts.session.attempts;
        Ok(match policy.after(error.class, error.retry_after, tries) {
            Retry::GiveUp => Next::GiveUp,
            Retry::After(delay) => Next::RetryAt(Instant::now() + delay),
        })
    }

    fn record_failure(
        &mut self,
        p: &Prepared,
        tries: Tries,
        error: &UploadError,
    ) -> Result<(), JournalError> {
        self.rec.record(Event::UploadFailed {
            name: p.job.name.clone(),
            version: p.job.version.clone(),
            attempt: tries.attempt,
            class: error.class,
            message: error.message.clone(),
            retry_after_ms: error.retry_after.map(|d| d.as_millis() as u64),
        })
    }

    /// A signal asked the run to stop: nothing new starts (queued crates,
    /// retries and settling wait for the next run), confirmations are left
    /// to the next run, and the uploads in flight get the grace period.
    fn on_stop(&mut self) -> Result<(), JournalError> {
        self.stopping = Some(Instant::now() + self.opts.grace);
        self.ready.clear();
        self.retries.clear();
        self.paced = None;
        // The poller ends on the flag; its pending confirmations are not
        // waited for (uploaded crates are confirmed by the next run).
        self.confirming = 0;
        self.tasks = None;
        self.confirms = None;
        self.rec.record(Event::Stopping {
            in_flight: self.in_flight as u32,
            grace_ms: self.opts.grace.as_millis() as u64,
        })
    }

    /// Ask the registry about a crate whose last attempt may have landed,
    /// before it is sent again.
    fn settle(&mut self, name: &str) -> Result<(), JournalError> {
        let current = self.rec.state().crates[name].clone();
        let found = match self.probe(name, &current.version) {
            Probe::Found(sha256) => Some(sha256),
            Probe::Absent => None,
            Probe::NotYet { left } => {
                let due = Instant::now() + left.min(SETTLE_POLL);
                self.retries.push((due, name.to_owned()));
                return Ok(());
            }
            Probe::CannotTell(error) => {
                let tries = self.tries.entry(name.to_owned()).or_default();
                tries.lookups_failed += 1;
                let retry = self.opts.session.attempts.after_lookup(*tries);
                if let Retry::After(delay) = retry {
                    self.retries.push((Instant::now() + delay, name.to_owned()));
                } else {
                    self.settling.remove(name);
                    self.rec.record(Event::Unsettled {
                        name: name.to_owned(),
                        version: current.version.clone(),
                        error,
                        refused_as_existing: None,
                    })?;
                    self.needs_operator = true;
                    self.block_dependents(name)?;
                }
                return Ok(());
            }
        };
        self.settling.remove(name);
        if found.is_none() && self.refused_as_existing.contains_key(name) {
            self.record_contradiction(name, &current.version)?;
            return self.block_dependents(name);
        }
        let holding = Holding::of(found.as_deref(), current.sha256.as_deref());
        self.record_reconciled(name, &current.version, found)?;
        match holding {
            Holding::Ours => self.watch(name),
            Holding::Theirs { .. } => self.block_dependents(name)?,
            // Did not land: upload it again, now.
            Holding::Absent => self.ready.push_front(name.to_owned()),
        }
        Ok(())
    }

    /// Ask the registry once about an upload of this run that ended with
    /// an unknown outcome (its request is over: only the index's lag counts).
    fn probe(&self, name: &str, version: &str) -> Probe {
        let windows = Windows {
            request: Duration::ZERO,
            index: index_window(self.rec.state(), self.opts.index_window_floor),
        };
        let age = intent_age(self.rec.journal().records(), name);
        probe(self.registry, name, version, age, windows)
    }

    /// The registry refused the upload as already there, and it is absent
    /// after the settle window: said, with both answers, for an operator.
    fn record_contradiction(&mut self, name: &str, version: &str) -> Result<(), JournalError> {
        let answer = self
            .refused_as_existing
            .get(name)
            .cloned()
            .unwrap_or_default();
        let window = index_window(self.rec.state(), self.opts.index_window_floor).as_secs();
        self.needs_operator = true;
        self.rec.record(Event::Unsettled {
            name: name.to_owned(),
            version: version.to_owned(),
            error: format!(
                "it refused the upload as already there ({answer}), yet its index does not list \
                 {name} {version} after {window} s"
            ),
            refused_as_existing: Some(answer),
        })
    }

    fn record_reconciled(
        &mut self,
        name: &str,
        version: &str,
        found_sha256: Option<String>,
    ) -> Result<(), JournalError> {
        self.rec.record(Event::Reconciled {
            name: name.to_owned(),
            version: version.to_owned(),
            found_sha256,
            by_operator: false,
        })
    }

    /// The poller's answer for a crate it was watching.
    fn on_confirmed(
        &mut self,
        name: &str,
        visible: bool,
        ms: u64,
        index_error: Option<String>,
    ) -> Result<(), JournalError> {
        self.confirming = self.confirming.saturating_sub(1);
        let version = self.rec.state().crates[name].version.clone();
        if visible {
            failpoint::hit("after-confirm", || {});
            self.rec.record(Event::Visible {
                name: name.to_owned(),
                version,
                ms,
            })?;
            self.plan.mark_confirmed(name);
        } else if self.stopping.is_some() {
            // Given up because the run stops, not because it timed out.
        } else {
            self.rec.record(Event::VisibilityTimedOut {
                name: name.to_owned(),
                version,
                waited_ms: ms,
                index_error,
            })?;
            self.block_dependents(name)?;
        }
        Ok(())
    }

    /// The index started failing while confirming: said when it starts.
    fn on_index_failing(&mut self, name: &str, error: String) -> Result<(), JournalError> {
        let version = self.rec.state().crates[name].version.clone();
        self.rec.record(Event::IndexFailing {
            name: name.to_owned(),
            version,
            error,
        })
    }

    /// Nothing arrived before the deadline (a paced crate may go now: the
    /// next dispatch sees it); a stopping run past its grace cuts off the uploads still in flight
    /// (their workers answer at once with an error of unknown outcome).
    fn on_timeout(&mut self) {
        if let Some(until) = self.stopping
            && Instant::now() >= until
            && !self.cut_off
        {
            self.cut_off = true;
            self.registry.cut_off_writes();
        }
    }

    /// How long to wait for the threads before something is due here.
    fn next_deadline(&self) -> Duration {
        let next_due = self
            .retries
            .iter()
            .map(|(due, _)| *due)
            .chain(self.paced.as_ref().map(|(_, until)| *until))
            .chain(self.opts.session.stop_at.filter(|_| !self.halted))
            .chain(self.stopping.filter(|_| !self.cut_off))
            .min();
        next_due.map_or(Duration::from_secs(3600), |due| {
            due.saturating_duration_since(Instant::now())
        })
    }

    fn is_finished(&self) -> bool {
        self.in_flight == 0
            && self.confirming == 0
            && (self.halted || (self.ready.is_empty() && self.retries.is_empty()))
    }

    fn close(&mut self) {
        self.tasks = None;
        self.confirms = None;
    }

    fn outcome(&self) -> RunOutcome {
        let state = self.rec.state();
        if state.all_done() {
            RunOutcome::Success
        } else if self.stopping.is_some() {
            RunOutcome::Interrupted
        } else if self.needs_operator {
            RunOutcome::NeedsOperator
        } else if state.any_uploaded() {
            RunOutcome::Partial
        } else {
            RunOutcome::NothingUploaded
        }
    }

    /// Hand an uploaded crate to the poller.
    fn watch(&mut self, name: &str) {
        let current = &self.rec.state().crates[name];
        failpoint::hit("before-confirm", || {});
        self.confirms
            .as_ref()
            .expect("open while running")
            .send(ConfirmRequest {
                name: name.to_owned(),
                version: current.version.clone(),
                sha256: current.sha256.clone().unwrap_or_default(),
            })
            .expect("poller alive");
        self.confirming += 1;
    }

    /// `failed` will not go out in this run: neither will what needs it.
    fn block_dependents(&mut self, failed: &str) -> Result<(), JournalError> {
        for (name, dependency) in self.plan.mark_failed(failed) {
            let version = self.rec.state().crates[&name].version.clone();
            self.rec.record(Event::Skipped {
                name,
                version,
                reason: SkipReason::DependencyFailed { dependency },
            })?;
        }
        Ok(())
    }

    fn pacing_wait(&self, new_crate: bool) -> Option<Duration> {
        let profile = self.opts.pacing?;
        let times = &self.rec.state().upload_times;
        let history = if new_crate {
            &times.new_crates
        } else {
            &times.new_versions
        };
        let bucket = profile.bucket(new_crate);
        // A token is taken as there only a margin after the model says so:
        // the registry's clock starts at the first request's arrival, a
        // little after this journal's time for it.
        let margin = (bucket.every / 100).clamp(PACING_MARGIN_MIN, PACING_MARGIN_MAX);
        let now = now_ms().saturating_sub(margin.as_millis() as u64);
        let wait = bucket.wait(history, now);
        (!wait.is_zero()).then_some(wait)
    }
}
