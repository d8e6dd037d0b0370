//! Which plan versions the live target already has, asked before the
//! rehearsal so that it predicts the live run: those are "would skip".
//! When the live target cannot be asked (offline, say), every version is
//! rehearsed as new and the record says so; `publish` asks again anyway.

use std::collections::BTreeMap;

use crate::cargo_backend;
use crate::engine::PresentVersion;
use crate::journal::LiveCheck;
use crate::model::RegistryTarget;
use crate::ops::content::{self, Holder, KnownUploads};
use crate::ops::run_session::Connection;

use crate::plan::{BreakResolution, Plan};
use crate::registry::{LiveRegistry, Lookup, Registry, SparseIndexReader};
use crate::workspace::LoadedWorkspace;

/// The live target's answers.
#[derive(Debug, Clone)]
pub struct LiveFindings {
    pub check: LiveCheck,
    /// Plan crates the live target has, with its checksum.
    pub present: BTreeMap<String, String>,
}

impl LiveFindings {
    /// Plan crates the rehearsal uploads (everything not on the live target).
    pub fn to_rehearse(&self, plan: &Plan) -> Vec<String> {
        plan.crates
            .iter()
            .filter(|c| !self.present.contains_key(&c.name))
            .map(|c| c.name.clone())
            .collect()
    }
}

pub fn check(ws: &LoadedWorkspace, plan: &Plan) -> anyhow::Result<LiveFindings> {
    let Some(url) = ws.read_index(&plan.target)? else {
        return Ok(LiveFindings {
            check: LiveCheck::Unreachable {
                error: format!("`{}` is not a sparse registry", plan.target.display_name()),
            },
            present: BTreeMap::new(),
        });
    };
    match ask(ws, &plan.target, &url, plan) {
        Ok(present) => Ok(LiveFindings {
            check: LiveCheck::Checked,
            present,
        }),
        Err(error) => Ok(LiveFindings {
            check: LiveCheck::Unreachable {
                error: chain_text(&error),
            },
            present: BTreeMap::new(),
        }),
    }
}

/// The live run skips a version the live target has only when its content
/// is the release's, and stops otherwise: judge them now, against the live
/// target, so that the rehearsal fails where `publish` would stop (the
/// rehearsal registry may not even hold them). Earlier releases' receipts
/// under `state_root` spare downloads.
pub fn content_check(
    ws: &LoadedWorkspace,
    plan: &Plan,
    findings: &LiveFindings,
    state_root: &std::path::Path,
) -> anyhow::Result<()> {
    if findings.present.is_empty() {
        return Ok(());
    }
    let Some(url) = ws.read_index(&plan.target)? else {
        return Ok(());
    };
    let registry = connect(ws, &plan.target, &url)?;
    let present: Vec<PresentVersion> = plan
        .crates
        .iter()
        .filter_map(|c| {
            Some(PresentVersion {
                name: c.name.clone(),
                version: c.version.to_string(),
                sha256: findings.present.get(&c.name)?.clone(),
            })
        })
        .collect();
    let names: Vec<String> = present.iter().map(|p| p.name.clone()).collect();
    let packaged = cargo_backend::package_contents(ws, &names, &plan.target)?;
    let judged = content::judge_packaged(
        &registry,
        &KnownUploads::read(state_root),
        &present,
        &packaged,
    );
    content::refuse_unless_ours(Holder::LiveTarget, judged)
}

/// The index the rehearsal registry passes through to: crates.io as the
/// user's cargo reads it (after their own source replacement), since it
/// stands in for crates.io. A live publish to another registry resolves
/// through the same source, so the rehearsal predicts it either way.
pub fn upstream(ws: &LoadedWorkspace) -> anyhow::Result<Option<String>> {
    ws.read_index(&RegistryTarget {
        name: Some("crates-io".into()),
        key: "crates-io".into(),
        sparse_index: None,
    })
}

/// Index lines of the live target's other versions of the rehearsed
/// crates, when a broken dev-dependency cycle shows the release relies on
/// them (`tokio` dev-depends on the `tokio-test` the registry has, which
/// depends on a `tokio` the registry has) and the live target is not the
/// stand-in's upstream (which passes them through): packaging gets them
/// from here. Best effort:
/// when the live target cannot be read, packaging says what is missing.
pub fn other_versions(ws: &LoadedWorkspace, plan: &Plan, findings: &LiveFindings) -> Vec<String> {
    let relies = plan
        .broken_edges
        .iter()
        .any(|e| matches!(e.resolution, BreakResolution::RegistryHas { .. }));
    if !relies {
        return Vec::new();
    }
    let names = findings.to_rehearse(plan);
    let Ok(Some(url)) = ws.read_index(&plan.target) else {
        return Vec::new();
    };
    // The stand-in passes the upstream's other versions through itself.
    if upstream(ws).ok().flatten().as_deref() == Some(url.as_str()) {
        return Vec::new();
    }
    let Ok(http) = ws.http() else {
        return Vec::new();
    };
    let token = match LiveRegistry::index_config(&http, &url, None) {
        Ok(config) if config.auth_required() => {
            cargo_backend::read_token(ws, &plan.target, None).ok()
        }
        _ => None,
    };
    let reader = SparseIndexReader::new(&http, &url);
    let mut lines = Vec::new();
    for name in &names {
        let (Some(file), Some(planned)) = (reader.crate_url(name), plan.get(name)) else {
            continue;
        };
        let Ok(reply) = http.get(&file, token.as_ref()) else {
            continue;
        };
        if reply.status != 200 {
            continue;
        }
        let planned = planned.version.to_string();
        for line in String::from_utf8_lossy(&reply.body).lines() {
            let other = serde_json::from_str::<serde_json::Value>(line)
                .is_ok_and(|v| v["name"] == name.as_str() && v["vers"] != planned.as_str());
            if other {
                lines.push(line.to_owned());
            }
        }
    }
    lines
}

/// The live target's index and API, read with cargo's read token when its
/// `config.json` asks for one.
fn connect(
    ws: &LoadedWorkspace,
    target: &RegistryTarget,
    url: &str,
) -> anyhow::Result<LiveRegistry> {
    Ok(Connection::to_index(ws, target, url, None)?.registry)
}

fn ask(
    ws: &LoadedWorkspace,
    target: &RegistryTarget,
    url: &str,
    plan: &Plan,
) -> anyhow::Result<BTreeMap<String, String>> {
    let registry = connect(ws, target, url)?;
    let answers = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..8.min(plan.crates.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(c) = plan.crates.get(i) else { break };
                    let answer = registry.lookup(&c.name, &c.version.to_string());
                    answers
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((c.name.clone(), answer));
                }
            });
        }
    });
    let mut present = BTreeMap::new();
    for (name, answer) in answers.into_inner().unwrap_or_else(|p| p.into_inner()) {
        match answer {
            Ok(Lookup::Present { sha256 }) => {
                present.insert(name, sha256);
            }
            Ok(Lookup::NewCrate | Lookup::NewVersion) => {}
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!("could not look up `{name}`")));
            }
        }
    }
    Ok(present)
}

/// The error and its causes on one line, each said once (transport errors
/// repeat their cause in their own message).
fn chain_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause);
        }
    }
    text
}
