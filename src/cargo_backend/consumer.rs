//! The rehearsal's consumer build: `cargo check` of a generated crate,
//! in-process, and which members are libraries (what a consumer can depend on).

use cargo::core::compiler::UserIntent;
use cargo::ops::CompileOptions;

use crate::workspace::LoadedWorkspace;

/// Of `names`, the members that have a library target (proc-macros included).
pub fn library_members(ws: &LoadedWorkspace, names: &[String]) -> anyhow::Result<Vec<String>> {
    let cargo_ws = ws.cargo_workspace()?;
    Ok(names
        .iter()
        .filter(|name| {
            cargo_ws
                .members()
                .find(|p| p.name().as_str() == name.as_str())
                .is_some_and(|p| p.targets().iter().any(|t| t.is_lib()))
        })
        .cloned()
        .collect())
}

/// Resolve and type-check `consumer` and everything it depends on.
pub fn check(consumer: &LoadedWorkspace) -> anyhow::Result<()> {
    let cargo_ws = consumer.cargo_workspace()?;
    let opts = CompileOptions::new(consumer.gctx(), UserIntent::Check { test: false })?;
    cargo::ops::compile(&cargo_ws, &opts)?;
    Ok(())
}
