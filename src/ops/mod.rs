//! One verb each, composition only: load, plan, ask the registry, return
//! a result for `report` to render. Nothing here prints.

mod gate;
mod plan;
mod provenance;
mod publish;
mod rehearse;

pub use gate::GateRefusal;
pub use plan::{PlanOpts, plan};
pub use publish::{Mode, PublishOpts, PublishReport, RunFailed, StartError, publish};
pub use rehearse::{
    InterruptAfter, LiveFindings, Progress, RehearsalFailed, RehearsalReport, RehearsalTarget,
    RehearseOpts, STAND_IN_NAME, rehearse,
};
