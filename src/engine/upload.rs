//! The upload loop: a ready-set scheduler on the calling thread (the only
//! writer of the journal), `jobs` worker threads that upload, and one poller
//! thread that watches the index for every uploaded version at once (polls
//! are cheap; they must not hold an upload slot). A crate goes out once every
//! plan crate it depends on is visible; its dependents are released when it is.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use super::reconcile::reconcile;
use super::{EngineOpts, Recorder, backoff};
use crate::failpoint;
use crate::journal::{
    CrateStatus, Event, FailureClass, JournalError, RunOutcome, SkipReason, now_ms,
};
use crate::plan::PublishPlan;
use crate::registry::{IndexError, Lookup, Registry, UploadError, UploadJob};
use crate::secret::Secret;

/// A packaged crate with its token, ready to go.
pub struct Prepared {
    pub job: UploadJob,
    pub token: Secret,
    /// New to the registry (paced as a new crate).
    pub new_crate: bool,
}

/// Watch the index for this version.
struct ConfirmRequest {
    name: String,
    version: String,
    sha256: String,
}

enum Done {
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

/// Upload `prepared` (and confirm `to_confirm`, uploaded earlier) in
/// dependency order. Returns the run's outcome.
pub fn upload_all(
    rec: &mut Recorder<'_>,
    registry: &dyn Registry,
    opts: &EngineOpts,
    prepared: &[Prepared],
    to_confirm: &[String],
) -> Result<RunOutcome, JournalError> {
    let state = rec.journal().state().expect("a run has started").clone();
    let by_name: BTreeMap<&str, &Prepared> =
        prepared.iter().map(|p| (p.job.name.as_str(), p)).collect();
    let position: BTreeMap<&str, usize> = state
        .order
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut plan = PublishPlan::new(
        state
            .crates_in_order()
            .map(|(name, c)| (name.as_str(), c.depends_on.as_slice())),
    );
    let mut needs_operator = false;
    // Done crates first, so that blocking below never touches them.
    for (name, c) in state.crates_in_order() {
        if c.status.is_done() {
            plan.mark_confirmed(name);
        }
    }
    for (name, c) in state.crates_in_order() {
        if !c.status.is_done() && !by_name.contains_key(name.as_str()) && !to_confirm.contains(name)
        {
            // Nothing to upload for it this run: unsettled (recorded as such),
            // or blocked by a crate that is.
            if c.status == CrateStatus::Ambiguous || c.status == CrateStatus::Uploading {
                needs_operator = true;
            }
            block_dependents(rec, &mut plan, name)?;
        }
    }

    let (task_tx, task_rx) = mpsc::channel::<&Prepared>();
    let task_rx = Mutex::new(task_rx);
    let (confirm_tx, confirm_rx) = mpsc::channel::<ConfirmRequest>();
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    let mut confirming = 0usize;
    let mut ready: VecDeque<String> = VecDeque::new();
    let mut retries: Vec<(Instant, String)> = Vec::new();
    // Upload attempts this run: all of them (numbering) and those that count
    // against `max_attempts` (rate-limited answers do not); failed lookups
    // while an outcome is unknown.
    let mut attempts: BTreeMap<String, u32> = BTreeMap::new();
    let mut counted: BTreeMap<String, u32> = BTreeMap::new();
    let mut lookups_failed: BTreeMap<String, u32> = BTreeMap::new();
    let mut in_flight = 0usize;
    let mut paced_until: Option<(String, Instant)> = None;

    std::thread::scope(|scope| -> Result<(), JournalError> {
        for _ in 0..opts.jobs.clamp(1, super::MAX_JOBS) {
            let task_rx = &task_rx;
            let done_tx = done_tx.clone();
            scope.spawn(move || worker(registry, task_rx, done_tx));
        }
        let poller_done = done_tx.clone();
        scope.spawn(move || poller(registry, opts, confirm_rx, poller_done));
        drop(done_tx);

        loop {
            let mut newly: Vec<String> = plan.take_ready();
            newly.sort_by_key(|n| position.get(n.as_str()).copied().unwrap_or(usize::MAX));
            ready.extend(newly);

            // Retries whose time has come go back to the front.
            let now = Instant::now();
            retries.sort_by_key(|(due, _)| *due);
            while retries.first().is_some_and(|(due, _)| *due <= now) {
                let (_, name) = retries.remove(0);
                ready.push_front(name);
            }

            // Uploaded crates only need watching: the poller takes them, no slot needed.
            let mut i = 0;
            while i < ready.len() {
                if rec.journal().state().expect("started").crates[&ready[i]].status
                    == CrateStatus::Uploaded
                {
                    let name = ready.remove(i).expect("in range");
                    watch(rec, &confirm_tx, &name);
                    confirming += 1;
                } else {
                    i += 1;
                }
            }

            while in_flight < opts.jobs.clamp(1, super::MAX_JOBS) {
                let Some(name) = ready.front().cloned() else {
                    break;
                };
                let current = rec.journal().state().expect("started").crates[&name].clone();
                if current.status == CrateStatus::Ambiguous {
                    // The last attempt may have landed: ask before sending it again.
                    match reconcile(registry, &name, &current.version) {
                        Ok(found) => {
                            let theirs = found.is_some() && found != current.sha256;
                            rec.record(Event::Reconciled {
                                name: name.clone(),
                                version: current.version.clone(),
                                found_sha256: found,
                            })?;
                            if theirs {
                                ready.pop_front();
                                block_dependents(rec, &mut plan, &name)?;
                            } else if rec.journal().state().expect("started").crates[&name].status
                                == CrateStatus::Uploaded
                            {
                                ready.pop_front();
                                watch(rec, &confirm_tx, &name);
                                confirming += 1;
                            }
                        }
                        Err(error) => {
                            ready.pop_front();
                            let failures = lookups_failed.entry(name.clone()).or_insert(0);
                            *failures += 1;
                            if *failures >= opts.max_attempts {
                                rec.record(Event::Unsettled {
                                    name: name.clone(),
                                    version: current.version.clone(),
                                    error,
                                })?;
                                needs_operator = true;
                                block_dependents(rec, &mut plan, &name)?;
                            } else {
                                retries.push((
                                    Instant::now()
                                        + backoff(opts.retry_base, opts.retry_cap, *failures),
                                    name,
                                ));
                            }
                        }
                    }
                    continue;
                }
                let p = by_name[name.as_str()];
                if let Some(wait) = pacing_wait(rec, opts, p.new_crate) {
                    let until = Instant::now() + wait;
                    if paced_until.as_ref().is_none_or(|(n, _)| *n != name) {
                        rec.record(Event::Paced {
                            name: name.clone(),
                            version: p.job.version.clone(),
                            wait_ms: wait.as_millis() as u64,
                        })?;
                        paced_until = Some((name.clone(), until));
                    }
                    break;
                }
                ready.pop_front();
                let attempt = attempts.entry(name.clone()).or_insert(0);
                *attempt += 1;
                rec.record(Event::UploadStarted {
                    name: name.clone(),
                    version: p.job.version.clone(),
                    attempt: *attempt,
                    sha256: p.job.sha256.clone(),
                    new_crate: p.new_crate,
                })?;
                failpoint::hit("before-upload", || {});
                task_tx.send(p).expect("workers alive");
                in_flight += 1;
            }

            if in_flight == 0 && confirming == 0 && ready.is_empty() && retries.is_empty() {
                break;
            }
            let next_due = retries
                .iter()
                .map(|(due, _)| *due)
                .chain(paced_until.as_ref().map(|(_, until)| *until))
                .min();
            let timeout = next_due.map_or(Duration::from_secs(3600), |due| {
                due.saturating_duration_since(Instant::now())
            });
            let done = match done_rx.recv_timeout(timeout) {
                Ok(done) => done,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    paced_until = None;
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            match done {
                Done::Uploaded { name, result, ms } => {
                    in_flight -= 1;
                    let p = by_name[name.as_str()];
                    let attempt = attempts[&name];
                    match result {
                        Ok(()) => {
                            failpoint::hit("after-upload", || {});
                            rec.record(Event::UploadSucceeded {
                                name: name.clone(),
                                version: p.job.version.clone(),
                                attempt,
                                ms,
                            })?;
                            ready.push_front(name);
                        }
                        Err(error) => {
                            if error.class != FailureClass::RateLimited {
                                *counted.entry(name.clone()).or_insert(0) += 1;
                            }
                            let tries = Tries {
                                attempt,
                                counted: counted.get(&name).copied().unwrap_or(0),
                            };
                            let verdict = after_failure(rec, registry, opts, p, tries, &error)?;
                            match verdict {
                                Verdict::Confirm => ready.push_front(name),
                                Verdict::RetryAt(due) => retries.push((due, name)),
                                Verdict::GiveUp => block_dependents(rec, &mut plan, &name)?,
                            }
                        }
                    }
                }
                Done::IndexFailing { name, error } => {
                    let version = rec.journal().state().expect("started").crates[&name]
                        .version
                        .clone();
                    rec.record(Event::IndexFailing {
                        name,
                        version,
                        error,
                    })?;
                }
                Done::Confirmed {
                    name,
                    visible,
                    ms,
                    index_error,
                } => {
                    confirming -= 1;
                    let version = rec.journal().state().expect("started").crates[&name]
                        .version
                        .clone();
                    if visible {
                        failpoint::hit("after-confirm", || {});
                        rec.record(Event::Visible {
                            name: name.clone(),
                            version,
                            ms,
                        })?;
                        plan.mark_confirmed(&name);
                    } else {
                        rec.record(Event::VisibilityTimedOut {
                            name: name.clone(),
                            version,
                            waited_ms: ms,
                            index_error,
                        })?;
                        block_dependents(rec, &mut plan, &name)?;
                    }
                }
            }
        }
        drop(task_tx);
        drop(confirm_tx);
        Ok(())
    })?;

    let state = rec.journal().state().expect("started");
    Ok(if state.all_done() {
        RunOutcome::Success
    } else if needs_operator {
        RunOutcome::NeedsOperator
    } else if state.any_uploaded() {
        RunOutcome::Partial
    } else {
        RunOutcome::NothingUploaded
    })
}

enum Verdict {
    /// It is in the registry with our checksum: confirm it.
    Confirm,
    RetryAt(Instant),
    GiveUp,
}

/// Attempts of one crate in this run.
#[derive(Clone, Copy)]
struct Tries {
    /// Including rate-limited ones (event numbering).
    attempt: u32,
    /// Those that count against `max_attempts`.
    counted: u32,
}

/// Longest wait a 429 can impose on one retry.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(6 * 3600);

/// Record a failed upload and decide what comes next.
fn after_failure(
    rec: &mut Recorder<'_>,
    registry: &dyn Registry,
    opts: &EngineOpts,
    p: &Prepared,
    tries: Tries,
    error: &UploadError,
) -> Result<Verdict, JournalError> {
    let name = &p.job.name;
    let version = &p.job.version;
    rec.record(Event::UploadFailed {
        name: name.clone(),
        version: version.clone(),
        attempt: tries.attempt,
        class: error.class,
        message: error.message.clone(),
        retry_after_ms: error.retry_after.map(|d| d.as_millis() as u64),
    })?;
    // Anything that may have landed is settled by asking the registry
    // before anything else happens to this crate.
    let may_have_landed = error.already_uploaded
        || matches!(
            error.class,
            FailureClass::Ambiguous | FailureClass::Retryable
        );
    if may_have_landed {
        match reconcile(registry, name, version) {
            Ok(found) => {
                let ours = found.as_deref() == Some(p.job.sha256.as_str());
                let theirs = found.is_some() && !ours;
                rec.record(Event::Reconciled {
                    name: name.clone(),
                    version: version.clone(),
                    found_sha256: found,
                })?;
                if ours {
                    return Ok(Verdict::Confirm);
                }
                if theirs || error.already_uploaded {
                    return Ok(Verdict::GiveUp);
                }
            }
            // Still unknown (the crate stays `ambiguous`): the dispatch asks
            // again before any new upload, and gives up after enough tries.
            Err(_) => {
                return Ok(Verdict::RetryAt(
                    Instant::now() + backoff(opts.retry_base, opts.retry_cap, tries.counted),
                ));
            }
        }
    }
    let delay = match error.class {
        FailureClass::Permanent => return Ok(Verdict::GiveUp),
        FailureClass::RateLimited => {
            if tries.attempt - tries.counted >= opts.max_attempts.saturating_mul(4) {
                return Ok(Verdict::GiveUp);
            }
            error
                .retry_after
                .map(|d| d.min(MAX_RETRY_AFTER))
                .unwrap_or_else(|| backoff(opts.retry_base, opts.retry_cap, tries.attempt))
        }
        FailureClass::Retryable | FailureClass::Ambiguous => {
            if tries.counted >= opts.max_attempts {
                return Ok(Verdict::GiveUp);
            }
            backoff(opts.retry_base, opts.retry_cap, tries.counted)
        }
    };
    Ok(Verdict::RetryAt(Instant::now() + delay))
}

fn block_dependents(
    rec: &mut Recorder<'_>,
    plan: &mut PublishPlan,
    failed: &str,
) -> Result<(), JournalError> {
    for (name, dependency) in plan.mark_failed(failed) {
        let version = rec.journal().state().expect("started").crates[&name]
            .version
            .clone();
        rec.record(Event::Skipped {
            name,
            version,
            reason: SkipReason::DependencyFailed { dependency },
        })?;
    }
    Ok(())
}

fn pacing_wait(rec: &Recorder<'_>, opts: &EngineOpts, new_crate: bool) -> Option<Duration> {
    let profile = opts.pacing?;
    let times = &rec.journal().state().expect("started").upload_times;
    let history = if new_crate {
        &times.new_crates
    } else {
        &times.new_versions
    };
    let wait = profile.bucket(new_crate).wait(history, now_ms());
    (!wait.is_zero()).then_some(wait)
}

/// Hand an uploaded crate to the poller.
fn watch(rec: &Recorder<'_>, confirm_tx: &mpsc::Sender<ConfirmRequest>, name: &str) {
    let current = &rec.journal().state().expect("started").crates[name];
    failpoint::hit("before-confirm", || {});
    confirm_tx
        .send(ConfirmRequest {
            name: name.to_owned(),
            version: current.version.clone(),
            sha256: current.sha256.clone().unwrap_or_default(),
        })
        .expect("poller alive");
}

fn worker(
    registry: &dyn Registry,
    tasks: &Mutex<mpsc::Receiver<&Prepared>>,
    done: mpsc::Sender<Done>,
) {
    loop {
        let task = tasks.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok(p) = task else { return };
        let started = Instant::now();
        // A panic must not leave the scheduler waiting for an answer forever;
        // the request may have gone out, so it is ambiguous.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            registry.upload(&p.job, &p.token)
        }))
        .unwrap_or_else(|_| {
            Err(UploadError {
                class: FailureClass::Ambiguous,
                message: "the upload thread panicked".into(),
                retry_after: None,
                already_uploaded: false,
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

/// Watch the index for every requested version: fresh reads, a short
/// interval while a new version usually appears, then gentle backoff, with
/// jitter; answers when the version shows with our checksum or its time is up.
fn poller(
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
        let received = match pending.iter().map(|p| p.next).min() {
            Some(next) if !open => {
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
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
