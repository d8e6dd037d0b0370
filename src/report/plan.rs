//! Rendering a [`Plan`]: human text, and the versioned JSON document
//! documented in `docs/reference/plan-json.md`.

use std::io::{self, Write};

use serde::Serialize;

use crate::model::RegistryTarget;
use crate::plan::{
    BreakResolution, BrokenEdge, ExcludedMember, ExclusionReason, ExternalRequirement, Plan,
    PlannedCrate,
};

/// Version of the JSON document; bumped on any incompatible change.
pub const PLAN_JSON_FORMAT: u32 = 1;

pub fn human(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    let count = plan.crates.len();
    writeln!(
        out,
        "Plan {} for `{}`: {} crate{} in {} level{}",
        plan.id.short(),
        plan.target.display_name(),
        count,
        plural(count),
        plan.level_count(),
        plural(plan.level_count()),
    )?;
    let width = plan
        .crates
        .iter()
        .map(|c| c.name.len() + c.version.to_string().len() + 1)
        .max()
        .unwrap_or(0);
    for level in 0..plan.level_count() {
        writeln!(out, "  level {level}")?;
        for c in plan.crates.iter().filter(|c| c.level == level) {
            let id = format!("{} {}", c.name, c.version);
            let mut notes = Vec::new();
            if !c.depends_on.is_empty() {
                notes.push(format!("after {}", c.depends_on.join(", ")));
            }
            if !c.pulled_in_by.is_empty() {
                notes.push(format!("needed by {}", c.pulled_in_by.join(", ")));
            }
            if notes.is_empty() {
                writeln!(out, "    {id}")?;
            } else {
                writeln!(out, "    {id:width$}  ({})", notes.join("; "))?;
            }
        }
    }
    if count == 0 {
        writeln!(out, "  nothing to publish")?;
    }
    if !plan.broken_edges.is_empty() {
        writeln!(out, "Dev-dependency cycles broken:")?;
        for e in &plan.broken_edges {
            let how = match &e.resolution {
                BreakResolution::RegistryHas { version } => {
                    format!("the registry has {} {version}", e.dependency)
                }
                BreakResolution::NeedsRegistryCheck => {
                    "needs registry check (planned offline)".to_owned()
                }
            };
            writeln!(
                out,
                "  {} dev-depends on {} {}: {how}",
                e.dependent, e.dependency, e.req
            )?;
        }
    }
    if !plan.external_requirements.is_empty() {
        writeln!(out, "Needed from the registry (not in this release):")?;
        for r in &plan.external_requirements {
            let req = r.req.as_ref().map(|r| r.to_string()).unwrap_or_default();
            writeln!(out, "  {} needs {} {req}", r.dependent, r.member)?;
        }
    }
    if !plan.excluded.is_empty() {
        writeln!(out, "Excluded:")?;
        for e in &plan.excluded {
            let why = match &e.reason {
                ExclusionReason::PublishFalse => "publish = false".to_owned(),
                ExclusionReason::NotForTarget { allowed } => {
                    format!("publish = [{}]", quoted(allowed))
                }
                ExclusionReason::ExcludedByFlag => "--exclude".to_owned(),
                ExclusionReason::NotSelected => "not selected by -p".to_owned(),
            };
            writeln!(out, "  {} {}: {why}", e.name, e.version)?;
        }
    }
    writeln!(out, "Plan id: {}", plan.id)?;
    Ok(())
}

pub fn json(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    let doc = PlanDocument {
        format: PLAN_JSON_FORMAT,
        plan_id: plan.id.as_str(),
        registry: &plan.target,
        levels: plan.level_count(),
        crates: &plan.crates,
        broken_edges: &plan.broken_edges,
        external_requirements: &plan.external_requirements,
        excluded: &plan.excluded,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// The `plan --message-format json` document, format 1.
#[derive(Serialize)]
struct PlanDocument<'a> {
    format: u32,
    plan_id: &'a str,
    registry: &'a RegistryTarget,
    levels: usize,
    crates: &'a [PlannedCrate],
    broken_edges: &'a [BrokenEdge],
    external_requirements: &'a [ExternalRequirement],
    excluded: &'a [ExcludedMember],
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn quoted(list: &[String]) -> String {
    list.iter()
        .map(|r| format!("\"{r}\""))
        .collect::<Vec<_>>()
        .join(", ")
}
