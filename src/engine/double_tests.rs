//! Engine tests against an in-process registry double: retries, pacing,
//! settling, races and random DAGs run in milliseconds. (The wire tests
//! under `tests/` run the same engine against the real HTTP registry.)

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{AttemptPolicy, EngineOpts, Prepared, Recorder, SessionOpts, upload_all};
use crate::journal::{CrateRef, Event, FORMAT, Journal, Record, RunOutcome, RunState};
use crate::model::PlanId;
use crate::model::{Bucket, FailureClass, PacingProfile};
use crate::registry::{IndexError, Lookup, LookupError, Registry, UploadError, UploadJob};
use crate::secret::Secret;

/// What the double does with one upload request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    /// A 5xx; `landed`: the upload was stored anyway.
    ServerError {
        landed: bool,
    },
    /// A dropped connection after sending.
    Dropped {
        landed: bool,
    },
    RateLimited,
    Permanent,
}

#[derive(Default)]
struct DoubleState {
    /// name -> (version, sha256, visible from).
    stored: BTreeMap<String, (String, String, Instant)>,
    faults: BTreeMap<String, VecDeque<Fault>>,
    /// Upload requests received, by name.
    requests: BTreeMap<String, u32>,
    in_flight: usize,
    max_in_flight: usize,
    /// Uploads that arrived before a dependency was visible.
    violations: Vec<String>,
}

/// A registry in memory: a propagation delay, scripted faults per crate,
/// a web API that can be made to fail, and checks on what arrives.
struct Double {
    state: Mutex<DoubleState>,
    propagation: Duration,
    latency: Duration,
    /// Intra-plan dependencies, to check upload order.
    deps: BTreeMap<String, Vec<String>>,
    api_fails: bool,
    index_fails: bool,
}

impl Double {
    fn new(deps: &[(&str, &[&str])]) -> Self {
        Double {
            state: Mutex::default(),
            propagation: Duration::from_millis(3),
            latency: Duration::from_millis(1),
            deps: deps
                .iter()
                .map(|(n, d)| (n.to_string(), d.iter().map(|x| x.to_string()).collect()))
                .collect(),
            api_fails: false,
            index_fails: false,
        }
    }

    fn fault(self, name: &str, faults: &[Fault]) -> Self {
        self.state
            .lock()
            .unwrap()
            .faults
            .insert(name.into(), faults.iter().copied().collect());
        self
    }

    /// Someone else published `name` with another checksum.
    fn foreign(self, name: &str) -> Self {
        let past = Instant::now() - Duration::from_secs(1);
        self.state
            .lock()
            .unwrap()
            .stored
            .insert(name.into(), ("1.0.0".into(), "other".into(), past));
        self
    }

    fn requests(&self, name: &str) -> u32 {
        self.state
            .lock()
            .unwrap()
            .requests
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    fn store(state: &mut DoubleState, job: &UploadJob, propagation: Duration) {
        state.stored.insert(
            job.name.clone(),
            (
                job.version.clone(),
                job.sha256.clone(),
                Instant::now() + propagation,
            ),
        );
    }
}

fn error(class: FailureClass) -> UploadError {
    UploadError {
        class,
        message: format!("scripted {class:?}"),
        retry_after: (class == FailureClass::RateLimited).then(|| Duration::from_millis(2)),
        already_uploaded: false,
        auth: None,
    }
}

impl Registry for Double {
    fn lookup(&self, name: &str, version: &str) -> Result<Lookup, IndexError> {
        if self.index_fails {
            return Err(IndexError::Status {
                name: name.into(),
                status: 503,
            });
        }
        let state = self.state.lock().unwrap();
        Ok(match state.stored.get(name) {
            Some((v, sha, at)) if v == version && *at <= Instant::now() => Lookup::Present {
                sha256: sha.clone(),
            },
            Some(_) => Lookup::NewVersion,
            None => Lookup::NewCrate,
        })
    }

    fn api_checksum(&self, name: &str, version: &str) -> Result<Option<String>, LookupError> {
        if self.api_fails {
            return Err(LookupError {
                name: name.into(),
                version: version.into(),
                message: "scripted".into(),
            });
        }
        let state = self.state.lock().unwrap();
        Ok(state
            .stored
            .get(name)
            .filter(|(v, _, _)| v == version)
            .map(|(_, sha, _)| sha.clone()))
    }

    fn upload(&self, job: &UploadJob, _: &Secret) -> Result<(), UploadError> {
        let fault = {
            let mut state = self.state.lock().unwrap();
            *state.requests.entry(job.name.clone()).or_default() += 1;
            state.in_flight += 1;
            state.max_in_flight = state.max_in_flight.max(state.in_flight);
            let now = Instant::now();
            for dep in self.deps.get(&job.name).into_iter().flatten() {
                let visible = state.stored.get(dep).is_some_and(|(_, _, at)| *at <= now);
                if !visible {
                    state.violations.push(format!("{} before {dep}", job.name));
                }
            }
            state
                .faults
                .get_mut(&job.name)
                .and_then(VecDeque::pop_front)
        };
        std::thread::sleep(self.latency);
        let mut state = self.state.lock().unwrap();
        state.in_flight -= 1;
        if state
            .stored
            .get(&job.name)
            .is_some_and(|(v, _, _)| *v == job.version)
        {
            let mut e = error(FailureClass::Permanent);
            e.already_uploaded = true;
            return Err(e);
        }
        match fault {
            None => {
                Self::store(&mut state, job, self.propagation);
                Ok(())
            }
            Some(Fault::ServerError { landed }) => {
                if landed {
                    Self::store(&mut state, job, self.propagation);
                }
                Err(error(FailureClass::Retryable))
            }
            Some(Fault::Dropped { landed }) => {
                if landed {
                    Self::store(&mut state, job, self.propagation);
                }
                Err(error(FailureClass::Ambiguous))
            }
            Some(Fault::RateLimited) => Err(error(FailureClass::RateLimited)),
            Some(Fault::Permanent) => Err(error(FailureClass::Permanent)),
        }
    }
}

fn job(name: &str) -> Prepared {
    Prepared {
        job: UploadJob {
            name: name.into(),
            version: "1.0.0".into(),
            sha256: format!("sha-{name}"),
            crate_file: "/nonexistent".into(),
            metadata: crates_io::NewCrate {
                name: name.into(),
                vers: "1.0.0".into(),
                deps: vec![],
                features: BTreeMap::new(),
                authors: vec![],
                description: None,
                documentation: None,
                homepage: None,
                readme: None,
                readme_file: None,
                keywords: vec![],
                categories: vec![],
                license: None,
                license_file: None,
                repository: None,
                badges: BTreeMap::new(),
                links: None,
                rust_version: None,
            },
        },
        token: Some(Secret::new("t".into())),
        new_crate: true,
    }
}

fn opts(jobs: usize) -> EngineOpts {
    EngineOpts {
        session: SessionOpts {
            attempts: AttemptPolicy {
                max_attempts: 3,
                retry_base: Duration::from_millis(1),
                retry_cap: Duration::from_millis(4),
            },
            confirm_timeout: Duration::from_secs(5),
            confirm_poll: Duration::from_millis(1),
            stop: crate::engine::StopFlag::new(),
            stop_at: None,
        },
        jobs,
        pacing: None,
        grace: Duration::from_secs(5),
        request_window: Duration::ZERO,
        index_window_floor: super::INDEX_WINDOW_FLOOR,
    }
}

/// Run the engine over `deps` (plan order) against `registry`.
fn run(
    deps: &[(&str, &[&str])],
    registry: &Double,
    opts: &EngineOpts,
) -> (RunOutcome, Vec<Record>, RunState) {
    let mut journal: Journal = Journal::in_memory();
    let mut records = Vec::new();
    let mut sink = |r: &Record| records.push(r.clone());
    let mut rec = Recorder::new(&mut journal, &mut sink);
    rec.record(Event::RunStarted {
        format: FORMAT,
        plan_id: PlanId::compute("r", &[], &[]),
        registry: "r".into(),
        run: 1,
        crates: deps
            .iter()
            .map(|(n, d)| CrateRef {
                name: n.to_string(),
                version: "1.0.0".into(),
                depends_on: d.iter().map(|x| x.to_string()).collect(),
                dev_only: vec![],
            })
            .collect(),
        tool_version: "test".into(),
        selection: Default::default(),
        done: 0,
    })
    .unwrap();
    let prepared: Vec<Prepared> = deps.iter().map(|(n, _)| job(n)).collect();
    let outcome = upload_all(&mut rec, registry, opts, &prepared, &[]).unwrap();
    let state = rec.state().clone();
    (outcome, records, state)
}

fn count(records: &[Record], kind: &str, name: &str) -> usize {
    records
        .iter()
        .filter(|r| {
            let v = serde_json::to_value(r).unwrap();
            v["kind"] == kind && v["name"] == name
        })
        .count()
}

const DIAMOND: &[(&str, &[&str])] = &[
    ("core", &[]),
    ("left", &["core"]),
    ("right", &["core"]),
    ("app", &["left", "right"]),
];

#[test]
fn a_diamond_goes_out_in_order_each_crate_once() {
    let registry = Double::new(DIAMOND);
    let (outcome, records, _) = run(DIAMOND, &registry, &opts(4));
    assert_eq!(outcome, RunOutcome::Success);
    assert!(registry.state.lock().unwrap().violations.is_empty());
    for (name, _) in DIAMOND {
        assert_eq!(registry.requests(name), 1, "{name}");
        assert_eq!(count(&records, "visible", name), 1, "{name}");
    }
}

#[test]
fn a_5xx_that_landed_is_confirmed_without_a_second_upload() {
    let registry = Double::new(DIAMOND).fault("left", &[Fault::ServerError { landed: true }]);
    let (outcome, records, _) = run(DIAMOND, &registry, &opts(2));
    assert_eq!(outcome, RunOutcome::Success);
    assert_eq!(registry.requests("left"), 1);
    assert_eq!(count(&records, "reconciled", "left"), 1);
}

#[test]
fn a_5xx_that_did_not_land_is_retried_then_given_up_and_dependents_blocked() {
    let registry = Double::new(DIAMOND).fault("right", &[Fault::ServerError { landed: false }; 5]);
    let (outcome, records, state) = run(DIAMOND, &registry, &opts(2));
    assert_eq!(outcome, RunOutcome::Partial);
    assert_eq!(registry.requests("right"), 3, "--max-attempts");
    assert_eq!(registry.requests("app"), 0);
    assert_eq!(count(&records, "skipped", "app"), 1);
    assert!(state.crates["left"].status.is_done());
}

#[test]
fn rate_limits_are_waited_out_without_counting_an_attempt() {
    let registry = Double::new(DIAMOND).fault("core", &[Fault::RateLimited; 4]);
    let (outcome, _, _) = run(DIAMOND, &registry, &opts(1));
    assert_eq!(outcome, RunOutcome::Success);
    assert_eq!(registry.requests("core"), 5);
}

#[test]
fn a_dropped_upload_the_registry_cannot_settle_ends_for_an_operator() {
    let mut registry = Double::new(DIAMOND).fault("core", &[Fault::Dropped { landed: false }]);
    registry.api_fails = true;
    registry.index_fails = true;
    let (outcome, records, _) = run(DIAMOND, &registry, &opts(2));
    assert_eq!(outcome, RunOutcome::NeedsOperator);
    assert_eq!(registry.requests("core"), 1, "never uploaded again blindly");
    assert_eq!(count(&records, "unsettled", "core"), 1);
    assert_eq!(count(&records, "upload_started", "left"), 0);
}

#[test]
fn someone_elses_version_is_a_failure_not_ours() {
    let registry = Double::new(DIAMOND).foreign("right");
    let (outcome, records, _) = run(DIAMOND, &registry, &opts(2));
    assert_eq!(outcome, RunOutcome::Partial);
    assert_eq!(count(&records, "visible", "right"), 0);
    assert_eq!(count(&records, "skipped", "app"), 1);
}

#[test]
fn pacing_spaces_uploads_and_records_each_wait_once() {
    let registry = Double::new(DIAMOND);
    let mut opts = opts(4);
    let bucket = Bucket {
        burst: 1,
        every: Duration::from_millis(40),
    };
    opts.pacing = Some(PacingProfile {
        new_crates: bucket,
        new_versions: bucket,
    });
    let started = Instant::now();
    let (outcome, records, _) = run(DIAMOND, &registry, &opts);
    assert_eq!(outcome, RunOutcome::Success);
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "3 waits of ~40 ms"
    );
    for name in ["left", "right", "app"] {
        assert!(count(&records, "paced", name) <= 1, "{name}");
    }
}

/// Random DAGs, random faults, random `--jobs`: never an upload before its
/// dependencies are visible, never more than `--jobs` in flight, every
/// crate ends done or with a recorded reason, and the state is the
/// projection of the events after every prefix.
#[test]
fn random_dags_and_faults_keep_the_invariants() {
    let mut rng = fastrand::Rng::with_seed(11);
    for round in 0..40 {
        let n = rng.usize(1..14);
        let names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
        let deps_owned: Vec<Vec<&str>> = (0..n)
            .map(|i| {
                (0..i)
                    .filter(|_| rng.u8(..) < 70)
                    .map(|j| names[j].as_str())
                    .collect()
            })
            .collect();
        let deps: Vec<(&str, &[&str])> = names
            .iter()
            .zip(&deps_owned)
            .map(|(n, d)| (n.as_str(), d.as_slice()))
            .collect();
        let mut registry = Double::new(&deps);
        registry.latency = Duration::from_micros(rng.u64(0..1500));
        for name in &names {
            let fault = match rng.u8(..10) {
                0 => Some(Fault::ServerError { landed: rng.bool() }),
                1 => Some(Fault::Dropped { landed: rng.bool() }),
                2 => Some(Fault::RateLimited),
                3 => Some(Fault::Permanent),
                _ => None,
            };
            if let Some(fault) = fault {
                registry = registry.fault(name, &[fault]);
            }
        }
        let jobs = rng.usize(1..5);
        let (outcome, records, state) = run(&deps, &registry, &opts(jobs));
        let inner = registry.state.lock().unwrap();
        assert!(
            inner.violations.is_empty(),
            "round {round}: {:?}",
            inner.violations
        );
        assert!(inner.max_in_flight <= jobs, "round {round}");
        for name in &names {
            let c = &state.crates[name];
            assert!(
                c.status.is_done()
                    || count(&records, "upload_failed", name) > 0
                    || count(&records, "skipped", name) > 0,
                "round {round}: {name} {:?} without a reason",
                c.status
            );
            assert!(
                inner.requests.get(name).copied().unwrap_or(0) <= 4,
                "round {round}"
            );
        }
        assert_eq!(
            outcome == RunOutcome::Success,
            state.all_done(),
            "round {round}"
        );
        // The events as written to disk give back the same state.
        let mut projected: Option<RunState> = None;
        for record in &records {
            let line = serde_json::to_string(record).unwrap();
            let read: Record = serde_json::from_str(&line).unwrap();
            projected = Some(RunState::apply(projected, &read));
        }
        assert_eq!(projected.as_ref(), Some(&state), "round {round}");
    }
}
