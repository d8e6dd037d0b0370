//! Exit codes, one per outcome a script may want to branch on. Documented in
//! `docs/reference/cli.md`; never renumber.

use std::process::ExitCode;

use crate::journal::{ReceiptError, RehearsalFileError, RunOutcome, YankOutcome, YankPlanError};
use crate::local_registry::TrustedFileError;
use crate::manifest_edit::EditError;
use crate::ops::{
    ContentChanged, GateRefusal, GateRefused, PreflightBlocked, RehearsalInterrupted,
    RehearseOptsError, RunFailed, StoppedForLater, YankFailed,
};
use crate::plan::{PlanError, YankOrderError};
use crate::secret::{InvalidToken, TokenOrigin};
use crate::workspace::{LoadError, TargetError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    Success = 0,
    /// The command failed (I/O, registry unreachable, …); for `publish`:
    /// nothing was uploaded.
    Failure = 1,
    /// Bad command-line arguments (clap's own code; also a `--token` that
    /// cannot be sent in an HTTP header, or a `rehearse` flag it cannot honour).
    Usage = 2,
    /// The workspace cannot be loaded or planned: a manifest does not parse,
    /// a dependency cycle, an unpublishable dependency, …; `fix-forward`:
    /// manifests it will not rewrite (nothing written).
    InvalidWorkspace = 3,
    /// Some crates were published, others not: `cargo shipper resume`.
    Partial = 4,
    /// An upload's outcome could not be settled with the registry: a person
    /// must look before anything else is uploaded.
    NeedsOperator = 5,
    /// A receipt, yank plan or trusted-publishing file (`registry serve`)
    /// given on the command line cannot be used: unreadable, not JSON (TOML),
    /// not ours, a newer format, empty, a broken graph, a missing key; or
    /// the gate's `rehearsal.json` is not JSON, of a newer format, or
    /// contradicts itself (a crate listed twice, a `passed` verdict over a
    /// failed part).
    BadInputFile = 6,
    /// `preflight`: a check found something that would make the release fail.
    PreflightBlocked = 7,
    /// `--stop-after` stopped the run before it finished, cleanly: to be
    /// continued by the next `publish` (or `resume`), or the same `yank`,
    /// with the same state directory.
    ToBeContinued = 8,
    /// `publish`, `resume`, `rehearse`: a version the registry already holds
    /// has other content than the release's (changed without a version
    /// bump); stopped before any upload. Bump the version.
    ContentChanged = 9,
    /// `publish`, `resume`, `yank`: stopped by SIGINT or SIGTERM, what was in
    /// flight recorded; run `cargo shipper resume` (or `yank` again).
    /// `rehearse`: stopped likewise, its registry gone, its record `failed`.
    Interrupted = 130,
}

impl Exit {
    /// Classify by walking the error chain for our typed errors.
    pub fn for_error(error: &anyhow::Error) -> Exit {
        // `downcast_ref` sees it as the context it is attached as.
        if error.downcast_ref::<StoppedForLater>().is_some()
            || error.chain().any(|e| e.is::<StoppedForLater>())
        {
            return Exit::ToBeContinued;
        }
        if error.chain().any(|e| e.is::<ContentChanged>()) {
            return Exit::ContentChanged;
        }
        if error.downcast_ref::<RehearsalInterrupted>().is_some() {
            return Exit::Interrupted;
        }
        if let Some(failed) = error.downcast_ref::<RunFailed>() {
            return match failed.outcome {
                RunOutcome::Partial | RunOutcome::Unknown => Exit::Partial,
                RunOutcome::NeedsOperator => Exit::NeedsOperator,
                RunOutcome::Interrupted => Exit::Interrupted,
                RunOutcome::NothingUploaded | RunOutcome::Success => Exit::Failure,
            };
        }
        if error.downcast_ref::<PreflightBlocked>().is_some() {
            return Exit::PreflightBlocked;
        }
        if let Some(failed) = error.downcast_ref::<YankFailed>() {
            return match failed.outcome {
                YankOutcome::Partial | YankOutcome::Unknown => Exit::Partial,
                YankOutcome::Interrupted => Exit::Interrupted,
                YankOutcome::StoppedForLater => Exit::ToBeContinued,
                YankOutcome::NothingChanged | YankOutcome::Success => Exit::Failure,
            };
        }
        let bad_graph = |e: &(dyn std::error::Error + 'static)| {
            e.downcast_ref::<YankOrderError>()
                .is_some_and(|e| !matches!(e, YankOrderError::UnknownCrate { .. }))
        };
        let malformed_record = |e: &(dyn std::error::Error + 'static)| {
            // The refusal as it is, or wrapped with the command to rerun.
            let refusal = e
                .downcast_ref::<GateRefusal>()
                .or_else(|| e.downcast_ref::<GateRefused>().map(|g| &g.refusal));
            matches!(
                refusal,
                Some(
                    GateRefusal::Malformed { .. }
                        | GateRefusal::Unreadable(
                            RehearsalFileError::Malformed { .. } | RehearsalFileError::Newer { .. }
                        )
                )
            )
        };
        if error.chain().any(|e| {
            e.is::<ReceiptError>()
                || e.is::<YankPlanError>()
                || malformed_record(e)
                || e.is::<TrustedFileError>()
                || bad_graph(e)
        }) {
            return Exit::BadInputFile;
        }
        // Flags a rehearsal cannot honour are bad arguments, as clap's conflicts are.
        if error.downcast_ref::<RehearseOptsError>().is_some() {
            return Exit::Usage;
        }
        // A bad `--token` is a bad command-line argument.
        if error
            .downcast_ref::<InvalidToken>()
            .is_some_and(|e| e.origin == TokenOrigin::CommandLine)
        {
            return Exit::Usage;
        }
        // `downcast_ref` sees context types anyhow attached; `chain` sees
        // std `source()` links.
        // A fix-forward that refuses to edit the manifests: they need a hand edit.
        let invalid = error.downcast_ref::<PlanError>().is_some()
            || error.downcast_ref::<EditError>().is_some()
            || error.downcast_ref::<LoadError>().is_some()
            || error.downcast_ref::<TargetError>().is_some()
            || error.chain().any(|e| {
                e.is::<PlanError>()
                    || e.is::<LoadError>()
                    || e.is::<TargetError>()
                    || e.is::<EditError>()
            });
        if invalid {
            Exit::InvalidWorkspace
        } else {
            Exit::Failure
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}
