//! Selection, graph building and cycle breaking: from a [`WorkspaceModel`]
//! to a [`Plan`].

use std::collections::{BTreeMap, BTreeSet};

use semver::{Version, VersionReq};

use super::graph;
use super::{
    BreakResolution, BrokenEdge, ExcludedMember, ExclusionReason, ExternalRequirement, Plan,
    PlanError, PlanId, PlanProblem, PlannedCrate,
};
use crate::model::{DepKind, DepRoute, Member, PublishSetting, RegistryTarget, WorkspaceModel};

/// Which members the user asked for (`-p`, `--exclude`).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Empty: every publishable member.
    pub packages: Vec<String>,
    pub exclude: Vec<String>,
}

/// "Does the registry hold an unyanked version of `member` matching `req`?"
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryQuestion {
    pub member: String,
    pub req: VersionReq,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryAnswer {
    /// The highest unyanked version that satisfies the requirement.
    Satisfied(Version),
    NotSatisfied,
    /// Not asked (offline).
    Unknown,
}

/// A plan before the registry has been consulted about soft cycles.
#[derive(Debug)]
pub struct Draft<'a> {
    ws: &'a WorkspaceModel,
    target: RegistryTarget,
    /// Members in the plan, by name, with who pulled them in.
    chosen: BTreeMap<String, Vec<String>>,
    hard: BTreeSet<(String, String)>,
    soft: BTreeMap<(String, String), VersionReq>,
    excluded: Vec<ExcludedMember>,
    external: Vec<ExternalRequirement>,
    questions: Vec<RegistryQuestion>,
}

impl<'a> Draft<'a> {
    pub fn new(
        ws: &'a WorkspaceModel,
        target: &RegistryTarget,
        selection: &Selection,
    ) -> Result<Self, PlanError> {
        let mut problems = Vec::new();
        for name in selection.packages.iter().chain(&selection.exclude) {
            if ws.member(name).is_none() {
                problems.push(PlanProblem::UnknownPackage(name.clone()));
            }
        }
        if !problems.is_empty() {
            return Err(PlanError { problems });
        }

        let flagged_out = |name: &str| selection.exclude.iter().any(|e| e == name);
        let mut chosen: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if selection.packages.is_empty() {
            for m in &ws.members {
                if !flagged_out(&m.name) && m.publish.allows(target) {
                    chosen.insert(m.name.clone(), Vec::new());
                }
            }
        } else {
            let mut queue: Vec<(String, Option<String>)> = Vec::new();
            for name in &selection.packages {
                let m = ws.member(name).expect("checked above");
                if !m.publish.allows(target) {
                    problems.push(PlanProblem::NotPublishable {
                        name: name.clone(),
                        target: target.display_name().to_owned(),
                        why: why_not(&m.publish),
                    });
                } else if !flagged_out(name) {
                    queue.push((name.clone(), None));
                }
            }
            // Pull in what the selected crates need through hard edges.
            while let Some((name, needed_by)) = queue.pop() {
                let newly_added = !chosen.contains_key(&name);
                let pulled_in_by = chosen.entry(name.clone()).or_default();
                if let Some(by) = needed_by
                    && !selection.packages.contains(&name)
                    && !pulled_in_by.contains(&by)
                {
                    pulled_in_by.push(by);
                    pulled_in_by.sort();
                }
                if !newly_added {
                    continue;
                }
                let root = selection
                    .packages
                    .contains(&name)
                    .then(|| name.clone())
                    .unwrap_or_else(|| chosen[&name][0].clone());
                for dep in hard_deps(ws.member(&name).expect("member")) {
                    let target_member = ws.member(&dep.member).expect("member");
                    if !flagged_out(&dep.member) && target_member.publish.allows(target) {
                        queue.push((dep.member.clone(), Some(root.clone())));
                    }
                }
            }
        }

        let mut hard = BTreeSet::new();
        let mut soft = BTreeMap::new();
        let mut external = Vec::new();
        for name in chosen.keys() {
            let m = ws.member(name).expect("member");
            for dep in &m.deps {
                let dependency = ws.member(&dep.member).expect("member");
                let is_hard = dep.kind != DepKind::Dev;
                if dep.route == DepRoute::Path && is_hard {
                    match &dep.req {
                        None => problems.push(PlanProblem::MissingVersion {
                            dependent: name.clone(),
                            dependency: dep.member.clone(),
                            version: dependency.version.clone(),
                        }),
                        Some(req) if !req.matches(&dependency.version) => {
                            problems.push(PlanProblem::VersionMismatch {
                                dependent: name.clone(),
                                dependency: dep.member.clone(),
                                req: req.clone(),
                                version: dependency.version.clone(),
                            })
                        }
                        Some(_) => {}
                    }
                }
                // Unversioned dev-dependencies are stripped on publish: no edge.
                let Some(req) = dep
                    .req
                    .clone()
                    .filter(|_| is_hard || dep.kind == DepKind::Dev)
                else {
                    continue;
                };
                if &dep.member == name {
                    continue;
                }
                if chosen.contains_key(&dep.member) {
                    if is_hard {
                        hard.insert((name.clone(), dep.member.clone()));
                    } else if req.matches(&dependency.version) {
                        soft.insert((name.clone(), dep.member.clone()), req);
                    } else {
                        // The release does not satisfy it: the registry must.
                        external.push(ExternalRequirement {
                            dependent: name.clone(),
                            member: dep.member.clone(),
                            kind: dep.kind,
                            req: Some(req),
                        });
                    }
                } else if is_hard && !flagged_out(&dep.member) {
                    problems.push(PlanProblem::UnpublishableDependency {
                        dependent: name.clone(),
                        dependency: dep.member.clone(),
                        target: target.display_name().to_owned(),
                        why: why_not(&dependency.publish),
                    });
                } else {
                    external.push(ExternalRequirement {
                        dependent: name.clone(),
                        member: dep.member.clone(),
                        kind: dep.kind,
                        req: Some(req),
                    });
                }
            }
        }
        // A soft edge that duplicates a hard one adds nothing.
        soft.retain(|edge, _| !hard.contains(edge));
        external.sort_by(|a, b| (&a.dependent, &a.member).cmp(&(&b.dependent, &b.member)));
        external.dedup();

        let names: Vec<&String> = chosen.keys().collect();
        let index = |n: &str| {
            names
                .binary_search_by(|x| x.as_str().cmp(n))
                .expect("in plan")
        };
        let hard_idx: Vec<_> = hard.iter().map(|(a, b)| (index(a), index(b))).collect();
        for cycle in graph::cycles(names.len(), &hard_idx) {
            problems.push(PlanProblem::HardCycle {
                crates: cycle.into_iter().map(|i| names[i].clone()).collect(),
            });
        }

        let mut questions = Vec::new();
        if problems.is_empty() {
            let mut all_idx = hard_idx.clone();
            all_idx.extend(soft.keys().map(|(a, b)| (index(a), index(b))));
            for cycle in graph::cycles(names.len(), &all_idx) {
                let members: BTreeSet<&str> = cycle.iter().map(|&i| names[i].as_str()).collect();
                for ((from, to), req) in &soft {
                    if members.contains(from.as_str()) && members.contains(to.as_str()) {
                        questions.push(RegistryQuestion {
                            member: to.clone(),
                            req: req.clone(),
                        });
                    }
                }
            }
            questions.sort_by_key(|q| (q.member.clone(), q.req.to_string()));
            questions.dedup();
        }
        if !problems.is_empty() {
            return Err(PlanError { problems });
        }

        let excluded = ws
            .members
            .iter()
            .filter(|m| !chosen.contains_key(&m.name))
            .map(|m| ExcludedMember {
                name: m.name.clone(),
                version: m.version.clone(),
                reason: if flagged_out(&m.name) {
                    ExclusionReason::ExcludedByFlag
                } else {
                    match &m.publish {
                        PublishSetting::Nowhere => ExclusionReason::PublishFalse,
                        PublishSetting::Only(list) if !m.publish.allows(target) => {
                            ExclusionReason::NotForTarget {
                                allowed: list.clone(),
                            }
                        }
                        _ => ExclusionReason::NotSelected,
                    }
                },
            })
            .collect();

        Ok(Draft {
            ws,
            target: target.clone(),
            chosen,
            hard,
            soft,
            excluded,
            external,
            questions,
        })
    }

    /// Soft edges that close a cycle: each can be dropped only if the
    /// registry already satisfies it.
    pub fn registry_questions(&self) -> &[RegistryQuestion] {
        &self.questions
    }

    /// Break the soft cycles the answers allow, then order the plan.
    /// `answer` is asked once per question from [`Self::registry_questions`].
    pub fn finish(
        self,
        mut answer: impl FnMut(&RegistryQuestion) -> RegistryAnswer,
    ) -> Result<Plan, PlanError> {
        let mut soft = self.soft;
        let mut broken_edges = Vec::new();
        for question in &self.questions {
            let resolution = match answer(question) {
                RegistryAnswer::Satisfied(version) => BreakResolution::RegistryHas { version },
                RegistryAnswer::Unknown => BreakResolution::NeedsRegistryCheck,
                RegistryAnswer::NotSatisfied => continue,
            };
            soft.retain(|(from, to), req| {
                let hit = *to == question.member && *req == question.req;
                if hit {
                    broken_edges.push(BrokenEdge {
                        dependent: from.clone(),
                        dependency: to.clone(),
                        req: req.clone(),
                        resolution: resolution.clone(),
                    });
                }
                !hit
            });
        }
        broken_edges
            .sort_by(|a, b| (&a.dependent, &a.dependency).cmp(&(&b.dependent, &b.dependency)));

        let names: Vec<&String> = self.chosen.keys().collect();
        let index = |n: &str| {
            names
                .binary_search_by(|x| x.as_str().cmp(n))
                .expect("in plan")
        };
        let mut edges: Vec<(usize, usize)> = self
            .hard
            .iter()
            .map(|(a, b)| (index(a), index(b)))
            .collect();
        edges.extend(soft.keys().map(|(a, b)| (index(a), index(b))));

        let cycles = graph::cycles(names.len(), &edges);
        if !cycles.is_empty() {
            let problems = cycles
                .into_iter()
                .map(|cycle| {
                    let crates: Vec<String> = cycle.iter().map(|&i| names[i].clone()).collect();
                    let edges = soft
                        .iter()
                        .filter(|((a, b), _)| crates.contains(a) && crates.contains(b))
                        .map(|((a, b), req)| format!("`{a}` dev-depends on `{b} {req}`"))
                        .collect();
                    PlanProblem::SoftCycle { crates, edges }
                })
                .collect();
            return Err(PlanError { problems });
        }

        let levels = graph::levels(names.len(), &edges);
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_by(|&a, &b| (levels[a], names[a]).cmp(&(levels[b], names[b])));

        let crates: Vec<PlannedCrate> = order
            .iter()
            .map(|&i| {
                let m = self.ws.member(names[i]).expect("member");
                let mut depends_on: Vec<String> = edges
                    .iter()
                    .filter(|(from, _)| *from == i)
                    .map(|&(_, to)| names[to].clone())
                    .collect();
                depends_on.sort();
                depends_on.dedup();
                PlannedCrate {
                    name: m.name.clone(),
                    version: m.version.clone(),
                    level: levels[i],
                    rel_dir: m.rel_dir.clone(),
                    depends_on,
                    pulled_in_by: self.chosen[names[i]].clone(),
                }
            })
            .collect();

        let id_crates: Vec<(&str, String)> = crates
            .iter()
            .map(|c| (c.name.as_str(), c.version.to_string()))
            .collect();
        let id_edges: Vec<(&str, &str)> = edges
            .iter()
            .map(|&(a, b)| (names[a].as_str(), names[b].as_str()))
            .collect();
        let id = PlanId::compute(&self.target.key, &id_crates, &id_edges);

        Ok(Plan {
            id,
            target: self.target,
            crates,
            broken_edges,
            excluded: self.excluded,
            external_requirements: self.external,
        })
    }
}

/// Normal and build dependencies on members: they must be published first.
fn hard_deps(member: &Member) -> impl Iterator<Item = &crate::model::MemberDep> {
    member.deps.iter().filter(|d| d.kind != DepKind::Dev)
}

fn why_not(setting: &PublishSetting) -> String {
    match setting {
        PublishSetting::Nowhere => "it has `publish = false`".to_owned(),
        PublishSetting::Only(list) => format!("its `publish` lists only {}", list.join(", ")),
        PublishSetting::Anywhere => "it is excluded".to_owned(),
    }
}
