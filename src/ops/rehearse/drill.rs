//! The interruption drill (`--interrupt-after N|random`): the automated
//! form of the operator playbook. The rehearsal runs in a child process of
//! this very binary, which aborts right after its Nth upload returns (before
//! the outcome is journaled, as a killed CI job would: no clean-up); the
//! embedded registry lives on in this process. The rehearsal is then
//! resumed here, and the resume invariants are checked from the registry's
//! side.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

use crate::journal::{Event, Record, RunState, SkipReason};
use crate::plan::{Plan, Selection};
use crate::registry::SparseIndexReader;
use crate::secret::Secret;

/// How many uploads before the abort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterruptAfter {
    Uploads(u32),
    /// Drawn from a seed that is printed (and recorded).
    Random,
}

/// What the child needs to rehearse the same release (as command-line
/// arguments of this binary's `rehearse`).
#[derive(Debug, Clone)]
pub struct ChildRun<'a> {
    pub manifest: &'a Path,
    pub state_root: &'a Path,
    pub selection: &'a Selection,
    pub live_target: &'a crate::workspace::TargetChoice,
    pub allow_dirty: bool,
    pub verify: bool,
    pub tuning: &'a crate::ops::RunTuning,
    /// cargo's flags (`--locked`, `--config`, features, …): the child
    /// packages what the rehearsal packages.
    pub cargo_args: Vec<String>,
}

/// N, and the seed it came from; `uploads` is how many uploads the
/// rehearsal makes.
pub fn pick(interrupt: InterruptAfter, uploads: usize) -> anyhow::Result<(u32, Option<u64>)> {
    if uploads == 0 {
        anyhow::bail!(
            "the live target has every version of the plan: the rehearsal uploads nothing, so there is nothing to interrupt"
        );
    }
    match interrupt {
        InterruptAfter::Uploads(n) if n == 0 || n as usize > uploads => anyhow::bail!(
            "`--interrupt-after {n}`: the rehearsal makes {uploads} upload{}; give 1 to {uploads}, or `random`",
            if uploads == 1 { "" } else { "s" }
        ),
        InterruptAfter::Uploads(n) => Ok((n, None)),
        InterruptAfter::Random => {
            let seed = crate::journal::now_ms() ^ (u64::from(std::process::id()) << 32);
            let n = fastrand::Rng::with_seed(seed).u32(1..=uploads as u32);
            Ok((n, Some(seed)))
        }
    }
}

/// Run the rehearsal in a child that aborts after `n` uploads into `index`.
pub fn interrupted_run(
    child: &ChildRun<'_>,
    index: &str,
    token: &Secret,
    n: u32,
) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("could not find this program to run the drill")?;
    let mut args: Vec<String> = vec![
        "shipper".into(),
        "rehearse".into(),
        "-q".into(),
        "--index".into(),
        index.into(),
        "--manifest-path".into(),
        path(child.manifest),
        "--state-dir".into(),
        path(child.state_root),
        "--uploads-in-flight".into(),
        child.tuning.jobs.to_string(),
        "--max-attempts".into(),
        child.tuning.max_attempts.to_string(),
        "--confirm-timeout".into(),
        child.tuning.confirm_timeout.as_secs().to_string(),
        "--retry-delay-ms".into(),
        child.tuning.retry_delay.as_millis().to_string(),
        "--confirm-poll-ms".into(),
        child.tuning.confirm_poll.as_millis().to_string(),
        "--upload-timeout".into(),
        child.tuning.upload_timeout.as_secs().to_string(),
    ];
    if child.allow_dirty {
        args.push("--allow-dirty".into());
    }
    if !child.verify {
        args.push("--no-verify".into());
    }
    match child.live_target {
        crate::workspace::TargetChoice::Default => {}
        crate::workspace::TargetChoice::Registry(name) => {
            args.extend(["--for-registry".into(), name.clone()]);
        }
        crate::workspace::TargetChoice::Index(url) => {
            args.extend(["--for-index".into(), url.clone()]);
        }
    }
    args.extend(child.cargo_args.iter().cloned());
    for p in &child.selection.packages {
        args.extend(["--package".into(), p.clone()]);
    }
    for p in &child.selection.exclude {
        args.extend(["--exclude".into(), p.clone()]);
    }
    let status = Command::new(exe)
        .args(&args)
        .env("SHIPPER_FAILPOINT", format!("after-upload@{n}"))
        .env(
            format!(
                "CARGO_REGISTRIES_{}_TOKEN",
                super::STAND_IN_NAME.to_uppercase().replace('-', "_")
            ),
            token.expose(),
        )
        .stdout(std::process::Stdio::null())
        .status()
        .context("could not start the drill's rehearsal")?;
    if status.success() {
        anyhow::bail!(
            "the drill's rehearsal finished before its upload {n}: it was not interrupted"
        );
    }
    if !aborted(&status) {
        anyhow::bail!("the drill's rehearsal failed before its interruption ({status})");
    }
    Ok(())
}

/// Whether the child ended by `std::process::abort` (the failpoint's
/// crash): SIGABRT on Unix; on Windows, std aborts with `__fastfail`, whose
/// exit status is `STATUS_STACK_BUFFER_OVERRUN`.
fn aborted(status: &std::process::ExitStatus) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        status.signal() == Some(libc::SIGABRT)
    }
    #[cfg(windows)]
    {
        status.code() == Some(0xC000_0409_u32 as i32)
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// The resume invariants, from the registry's side and the journal's:
/// each crate stored exactly once with the recorded checksum and visible,
/// nothing skipped silently, the state equal to the projection of the events.
pub fn check(plan: &Plan, index: &str, run_dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let records: Vec<Record> = match std::fs::read_to_string(run_dir.join("events.jsonl")) {
        Ok(text) => text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
        Err(e) => return vec![format!("could not read the run's events: {e}")],
    };
    let state: Option<RunState> = std::fs::read(run_dir.join("state.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let projected = RunState::project(&records);
    if state.is_none() || state != projected {
        problems.push("state.json is not the projection of events.jsonl".to_owned());
    }
    let Some(projected) = projected else {
        return problems;
    };
    // The rehearsal's own loopback registry: no user proxy applies to it.
    let reader = SparseIndexReader::new(&crate::registry::Http::plain(), index);
    for c in &plan.crates {
        let version = c.version.to_string();
        let Some(journal) = projected.crates.get(&c.name) else {
            problems.push(format!("{} {version} is not in the journal", c.name));
            continue;
        };
        if !journal.status.is_done() {
            problems.push(format!(
                "{} {version} did not go out ({:?})",
                c.name, journal.status
            ));
        }
        let explained = records.iter().any(|r| match &r.event {
            Event::Visible { name, .. } => name == &c.name,
            Event::Skipped {
                name,
                reason: SkipReason::AlreadyInRegistry { .. } | SkipReason::AlreadyDone,
                ..
            } => name == &c.name,
            _ => false,
        });
        if !explained {
            problems.push(format!(
                "{} {version}: no event says it was confirmed or why it was skipped",
                c.name
            ));
        }
        match reader.versions(&c.name) {
            Err(e) => problems.push(format!("could not read {} from the registry: {e}", c.name)),
            Ok(versions) => {
                let stored: Vec<_> = versions.iter().filter(|v| v.version == c.version).collect();
                match stored.as_slice() {
                    [] => problems.push(format!(
                        "{} {version} is not visible in the registry",
                        c.name
                    )),
                    [one] if journal.sha256.as_deref() != Some(one.checksum.as_str()) => problems
                        .push(format!(
                            "{} {version}: the registry holds sha256 {}, the journal recorded {}",
                            c.name,
                            one.checksum,
                            journal.sha256.as_deref().unwrap_or("none")
                        )),
                    [_] => {}
                    more => problems.push(format!(
                        "{} {version} is stored {} times",
                        c.name,
                        more.len()
                    )),
                }
            }
        }
    }
    problems
}

/// The directory of the run a successful publish archived (its receipt's).
pub fn run_dir(receipt: Option<&Path>) -> Option<PathBuf> {
    receipt.and_then(|r| r.parent()).map(Path::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{CrateRef, FORMAT, SelectionRecord};
    use crate::local_registry::{LocalRegistry, RegistryConfig};
    use crate::model::PlanId;
    use crate::model::RegistryTarget;
    use crate::plan::PlannedCrate;

    fn plan() -> Plan {
        Plan {
            id: PlanId::compute("r", &[("abc", "0.1.0".into())], &[]),
            target: RegistryTarget {
                name: None,
                key: "r".into(),
                sparse_index: None,
            },
            crates: vec![PlannedCrate {
                name: "abc".into(),
                version: "0.1.0".parse().unwrap(),
                level: 0,
                rel_dir: "abc".into(),
                depends_on: vec![],
                dev_only: vec![],
                pulled_in_by: vec![],
            }],
            broken_edges: vec![],
            excluded: vec![],
            external_requirements: vec![],
        }
    }

    /// A finished run that uploaded `abc` with `sha`, as files in `dir`.
    fn run_dir(dir: &Path, sha: &str) {
        let events = [
            Event::RunStarted {
                format: FORMAT,
                plan_id: plan().id,
                registry: "r".into(),
                run: 1,
                crates: vec![CrateRef {
                    name: "abc".into(),
                    version: "0.1.0".into(),
                    depends_on: vec![],
                    dev_only: vec![],
                }],
                tool_version: "t".into(),
                selection: SelectionRecord::default(),
                done: 0,
            },
            Event::UploadStarted {
                name: "abc".into(),
                version: "0.1.0".into(),
                attempt: 1,
                sha256: sha.into(),
                new_crate: true,
            },
            Event::UploadSucceeded {
                name: "abc".into(),
                version: "0.1.0".into(),
                attempt: 1,
                ms: 1,
            },
            Event::Visible {
                name: "abc".into(),
                version: "0.1.0".into(),
                ms: 1,
            },
        ];
        let records: Vec<Record> = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| Record {
                seq: i as u64 + 1,
                at_ms: 1,
                event,
            })
            .collect();
        let mut text = String::new();
        for r in &records {
            text.push_str(&serde_json::to_string(r).unwrap());
            text.push('\n');
        }
        std::fs::write(dir.join("events.jsonl"), text).unwrap();
        let state = RunState::project(&records).unwrap();
        std::fs::write(dir.join("state.json"), serde_json::to_vec(&state).unwrap()).unwrap();
    }

    /// A registry holding `abc 0.1.0` with checksum `cksum`, `copies` times.
    fn serve(root: &Path, cksum: &str, copies: usize) -> LocalRegistry {
        std::fs::create_dir_all(root.join("index/3/a")).unwrap();
        let line = format!(
            "{{\"name\":\"abc\",\"vers\":\"0.1.0\",\"deps\":[],\"cksum\":\"{cksum}\",\"features\":{{}},\"yanked\":false}}\n"
        );
        std::fs::write(root.join("index/3/a/abc"), line.repeat(copies)).unwrap();
        LocalRegistry::start(RegistryConfig::new(root)).unwrap()
    }

    #[test]
    fn a_clean_resume_passes() {
        let (reg_dir, run) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let sha = "a".repeat(64);
        let registry = serve(reg_dir.path(), &sha, 1);
        run_dir(run.path(), &sha);
        assert_eq!(
            check(&plan(), &registry.index_url(), run.path()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn broken_invariants_are_each_named() {
        let (reg_dir, run) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let registry = serve(reg_dir.path(), &"b".repeat(64), 1);
        run_dir(run.path(), &"a".repeat(64));
        let problems = check(&plan(), &registry.index_url(), run.path());
        assert!(
            problems[0].contains("the registry holds sha256 bbbb"),
            "{problems:?}"
        );

        // Stored twice; state.json out of step with the events.
        let (reg_dir, run) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let registry = serve(reg_dir.path(), &"a".repeat(64), 2);
        run_dir(run.path(), &"a".repeat(64));
        std::fs::write(run.path().join("state.json"), "{}").unwrap();
        let problems = check(&plan(), &registry.index_url(), run.path()).join("\n");
        assert!(problems.contains("not the projection"), "{problems}");
        assert!(problems.contains("stored 2 times"), "{problems}");

        // Never visible.
        let (reg_dir, run) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let registry = serve(reg_dir.path(), &"a".repeat(64), 0);
        run_dir(run.path(), &"a".repeat(64));
        let problems = check(&plan(), &registry.index_url(), run.path()).join("\n");
        assert!(problems.contains("not visible"), "{problems}");
    }
}
