//! One verb each, composition only: load, plan, ask the registry, return
//! a result for `report` to render. Nothing here prints.

mod plan;
mod provenance;
mod publish;

pub use plan::{PlanOpts, plan};
pub use publish::{Mode, PublishOpts, PublishReport, RunFailed, StartError, publish};
