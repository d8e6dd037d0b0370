//! One verb each, composition only: load, plan, ask the registry, return
//! a result for `report` to render. Nothing here prints.

mod content;
mod crates_io_rules;
mod fix_forward;
mod gate;
mod next_command;
mod plan;
mod plan_yank;
mod preflight;
mod provenance;
mod publish;
mod rehearse;
mod run_session;
mod signals;
mod start;
mod status;
mod trusted;
mod yank;

pub use content::{ChangedVersion, ContentChanged, ContentUnknown};
pub use crates_io_rules::CratesIoWouldRefuse;
pub use fix_forward::{
    FixForwardError, FixForwardOpts, FixForwardReport, ManifestChange, fix_forward,
};
pub use gate::{GateRefusal, GateRefused};
pub use next_command::NextCommand;
pub use plan::{PlanOpts, plan, plan_model};
pub use plan_yank::{
    LatestPick, PlanYankError, PlanYankOpts, PlanYankReport, ReceiptSource, plan_yank,
};
pub use preflight::{
    Check, CheckId, CheckStatus, CrateCheck, Exchange, Finding, PreflightBlocked, PreflightOpts,
    PreflightReport, RateLimitEta, RegistryState, Severity, TrustedPreflight, Verdict, preflight,
};
pub use provenance::{NewerCargo, linked_cargo_release, newer_user_cargo};
pub use publish::{
    Assumption, AssumptionRefused, LevelPackaged, PublishOpts, PublishReport, RunFailed, RunTuning,
    Step, publish,
};
pub use rehearse::{
    InterruptAfter, LiveFindings, Progress, RehearsalFailed, RehearsalInterrupted, RehearsalReport,
    RehearsalTarget, RehearseOpts, RehearseOptsError, STAND_IN_NAME, rehearse,
};
pub use run_session::{Failed, StoppedForLater};
pub use signals::{INTERRUPTED_EXIT, stop_on_signals};
pub use start::{Mode, StartError};
pub use status::{
    CrateRow, NextAction, RegistryTruth, RunSummary, StatusOpts, StatusReport, YankRow,
    YankRunSummary, events, follow, status,
};
pub use trusted::{CiOpts, GITLAB_ID_TOKEN_VAR, NoProvider, TrustRefused, TrustedMode};
pub use yank::{YankFailed, YankReport, YankRunOpts, YankStartError, YankStep, yank};
