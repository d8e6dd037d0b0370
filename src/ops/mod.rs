//! One verb each, composition only: load, plan, ask the registry, return
//! a result for `report` to render. Nothing here prints.

mod plan;

pub use plan::{PlanOpts, plan};
