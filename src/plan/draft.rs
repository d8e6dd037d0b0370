//! Selection, graph building and cycle breaking: from a [`WorkspaceModel`]
//! to a [`Plan`].

use std::collections::{BTreeMap, BTreeSet};

use semver::{Version, VersionReq};

use super::graph;
use super::{
    BreakResolution, BrokenEdge, ExcludedMember, ExclusionReason, ExternalRequirement, Plan,
    PlanError, PlanProblem, PlannedCrate,
};
use crate::model::{
    DepKind, DepRoute, Member, PlanId, PublishSetting, RegistryTarget, WorkspaceModel,
};

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
        check_selection(ws, selection)?;
        let mut problems = Vec::new();
        let chosen = choose(ws, target, selection, &mut problems);
        let edges = Edges::between(ws, target, selection, &chosen, &mut problems);
        let questions = edges.registry_questions(&chosen, &mut problems);
        if !problems.is_empty() {
            return Err(PlanError { problems });
        }
        let excluded = excluded(ws, target, selection, &chosen);
        Ok(Draft {
            ws,
            target: target.clone(),
            chosen,
            hard: edges.hard,
            soft: edges.soft,
            excluded,
            external: edges.external,
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
                let dev_only = depends_on
                    .iter()
                    .filter(|to| soft.contains_key(&(names[i].clone(), (*to).clone())))
                    .cloned()
                    .collect();
                PlannedCrate {
                    name: m.name.clone(),
                    version: m.version.clone(),
                    level: levels[i],
                    rel_dir: m.rel_dir.clone(),
                    depends_on,
                    dev_only,
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

/// Every name the selection gives is a member, and none is both asked for
/// and left out (an empty plan would hide the mistake).
fn check_selection(ws: &WorkspaceModel, selection: &Selection) -> Result<(), PlanError> {
    let mut problems = Vec::new();
    for name in selection.packages.iter().chain(&selection.exclude) {
        if ws.member(name).is_none() {
            problems.push(PlanProblem::UnknownPackage(name.clone()));
        }
    }
    for name in &selection.packages {
        if selection.exclude.contains(name) {
            problems.push(PlanProblem::SelectedAndExcluded(name.clone()));
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(PlanError { problems }),
    }
}

fn flagged_out(selection: &Selection, name: &str) -> bool {
    selection.exclude.iter().any(|e| e == name)
}

/// The members in the plan, each with the selected crates that pulled it
/// in (empty for a selected one, or when the whole workspace goes).
fn choose(
    ws: &WorkspaceModel,
    target: &RegistryTarget,
    selection: &Selection,
    problems: &mut Vec<PlanProblem>,
) -> BTreeMap<String, Vec<String>> {
    let mut chosen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if selection.packages.is_empty() {
        for m in &ws.members {
            if !flagged_out(selection, &m.name) && m.publish.allows(target) {
                chosen.insert(m.name.clone(), Vec::new());
            }
        }
        return chosen;
    }
    let mut queue: Vec<(String, Option<String>)> = Vec::new();
    for name in &selection.packages {
        let m = ws.member(name).expect("checked by check_selection");
        if !m.publish.allows(target) {
            problems.push(PlanProblem::NotPublishable {
                name: name.clone(),
                target: target.display_name().to_owned(),
                why: why_not(&m.publish),
            });
        } else if !flagged_out(selection, name) {
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
        let root = if selection.packages.contains(&name) {
            name.clone()
        } else {
            chosen[&name][0].clone()
        };
        for dep in hard_deps(ws.member(&name).expect("member")) {
            let target_member = ws.member(&dep.member).expect("member");
            if !flagged_out(selection, &dep.member) && target_member.publish.allows(target) {
                queue.push((dep.member.clone(), Some(root.clone())));
            }
        }
    }
    chosen
}

/// The dependency edges among the chosen members, and the requirements
/// on members the release does not satisfy (the registry must).
struct Edges {
    hard: BTreeSet<(String, String)>,
    soft: BTreeMap<(String, String), VersionReq>,
    external: Vec<ExternalRequirement>,
}

impl Edges {
    fn between(
        ws: &WorkspaceModel,
        target: &RegistryTarget,
        selection: &Selection,
        chosen: &BTreeMap<String, Vec<String>>,
        problems: &mut Vec<PlanProblem>,
    ) -> Edges {
        let mut edges = Edges {
            hard: BTreeSet::new(),
            soft: BTreeMap::new(),
            external: Vec::new(),
        };
        for name in chosen.keys() {
            let m = ws.member(name).expect("member");
            for dep in &m.deps {
                edges.add(ws, target, selection, chosen, name, dep, problems);
            }
        }
        // A soft edge that duplicates a hard one adds nothing.
        let hard = &edges.hard;
        edges.soft.retain(|edge, _| !hard.contains(edge));
        edges
            .external
            .sort_by(|a, b| (&a.dependent, &a.member).cmp(&(&b.dependent, &b.member)));
        edges.external.dedup();
        edges
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        ws: &WorkspaceModel,
        target: &RegistryTarget,
        selection: &Selection,
        chosen: &BTreeMap<String, Vec<String>>,
        name: &String,
        dep: &crate::model::MemberDep,
        problems: &mut Vec<PlanProblem>,
    ) {
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
            return;
        };
        if &dep.member == name {
            return;
        }
        let external = ExternalRequirement {
            dependent: name.clone(),
            member: dep.member.clone(),
            kind: dep.kind,
            req: Some(req.clone()),
        };
        if chosen.contains_key(&dep.member) {
            if is_hard {
                self.hard.insert((name.clone(), dep.member.clone()));
            } else if req.matches(&dependency.version) {
                self.soft.insert((name.clone(), dep.member.clone()), req);
            } else {
                // The release does not satisfy it: the registry must.
                self.external.push(external);
            }
        } else if is_hard && !flagged_out(selection, &dep.member) {
            problems.push(PlanProblem::UnpublishableDependency {
                dependent: name.clone(),
                dependency: dep.member.clone(),
                target: target.display_name().to_owned(),
                why: why_not(&dependency.publish),
            });
        } else {
            self.external.push(external);
        }
    }

    /// Hard cycles are problems; soft edges that close a cycle become
    /// questions for the registry (asked only when nothing else is wrong).
    fn registry_questions(
        &self,
        chosen: &BTreeMap<String, Vec<String>>,
        problems: &mut Vec<PlanProblem>,
    ) -> Vec<RegistryQuestion> {
        let names: Vec<&String> = chosen.keys().collect();
        let index = |n: &str| {
            names
                .binary_search_by(|x| x.as_str().cmp(n))
                .expect("in plan")
        };
        let hard_idx: Vec<_> = self
            .hard
            .iter()
            .map(|(a, b)| (index(a), index(b)))
            .collect();
        for cycle in graph::cycles(names.len(), &hard_idx) {
            problems.push(PlanProblem::HardCycle {
                crates: cycle.into_iter().map(|i| names[i].clone()).collect(),
            });
        }
        let mut questions = Vec::new();
        if !problems.is_empty() {
            return questions;
        }
        let mut all_idx = hard_idx;
        all_idx.extend(self.soft.keys().map(|(a, b)| (index(a), index(b))));
        for cycle in graph::cycles(names.len(), &all_idx) {
            let members: BTreeSet<&str> = cycle.iter().map(|&i| names[i].as_str()).collect();
            for ((from, to), req) in &self.soft {
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
        questions
    }
}

/// The members left out of the plan, and why.
fn excluded(
    ws: &WorkspaceModel,
    target: &RegistryTarget,
    selection: &Selection,
    chosen: &BTreeMap<String, Vec<String>>,
) -> Vec<ExcludedMember> {
    ws.members
        .iter()
        .filter(|m| !chosen.contains_key(&m.name))
        .map(|m| ExcludedMember {
            name: m.name.clone(),
            version: m.version.clone(),
            reason: if flagged_out(selection, &m.name) {
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
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Exit, HasExit, MemberDep};

    fn target(name: &str) -> RegistryTarget {
        RegistryTarget {
            name: Some(name.to_owned()),
            key: name.to_owned(),
            sparse_index: None,
        }
    }

    fn member(name: &str, deps: &[(&str, DepKind, Option<&str>)]) -> Member {
        Member {
            name: name.to_owned(),
            version: "1.0.0".parse().unwrap(),
            rel_dir: name.to_owned(),
            publish: PublishSetting::Anywhere,
            deps: deps
                .iter()
                .map(|&(to, kind, req)| MemberDep {
                    member: to.to_owned(),
                    name_in_toml: to.to_owned(),
                    kind,
                    route: DepRoute::Path,
                    req: req.map(|r| r.parse().unwrap()),
                    platform: None,
                    optional: false,
                })
                .collect(),
        }
    }

    const N: DepKind = DepKind::Normal;
    const D: DepKind = DepKind::Dev;

    fn ws(members: Vec<Member>) -> WorkspaceModel {
        WorkspaceModel { members }
    }

    fn plan_all(ws: &WorkspaceModel) -> Result<Plan, PlanError> {
        Draft::new(ws, &target("crates-io"), &Selection::default())?
            .finish(|_| RegistryAnswer::NotSatisfied)
    }

    fn order(plan: &Plan) -> Vec<(&str, usize)> {
        plan.crates
            .iter()
            .map(|c| (c.name.as_str(), c.level))
            .collect()
    }

    #[test]
    fn diamond_orders_by_level_then_name() {
        let w = ws(vec![
            member("app", &[("left", N, Some("1")), ("right", N, Some("1"))]),
            member("right", &[("core", N, Some("1"))]),
            member("left", &[("core", N, Some("1"))]),
            member("core", &[]),
        ]);
        let plan = plan_all(&w).unwrap();
        assert_eq!(
            order(&plan),
            [("core", 0), ("left", 1), ("right", 1), ("app", 2)]
        );
        assert_eq!(plan.get("app").unwrap().depends_on, ["left", "right"]);
    }

    #[test]
    fn packaging_batches_follow_levels_and_keep_only_the_names_asked() {
        let w = ws(vec![
            member("app", &[("left", N, Some("1")), ("right", N, Some("1"))]),
            member("right", &[("core", N, Some("1"))]),
            member("left", &[("core", N, Some("1"))]),
            member("core", &[]),
        ]);
        let plan = plan_all(&w).unwrap();
        let names = |list: &[&str]| list.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        // Asked in any order (a crate to confirm comes last): levels decide.
        assert_eq!(
            plan.packaging_batches(&names(&["app", "right", "core"])),
            [names(&["core"]), names(&["right"]), names(&["app"])]
        );
        assert_eq!(
            plan.packaging_batches(&names(&["left", "right"])),
            [names(&["left", "right"])]
        );
        assert!(plan.packaging_batches(&[]).is_empty());
    }

    #[test]
    fn plan_id_ignores_member_order() {
        let a = ws(vec![member("b", &[("a", N, Some("1"))]), member("a", &[])]);
        let b = ws(vec![member("a", &[]), member("b", &[("a", N, Some("1"))])]);
        assert_eq!(plan_all(&a).unwrap().id, plan_all(&b).unwrap().id);
    }

    #[test]
    fn hard_cycle_names_its_crates() {
        let w = ws(vec![
            member("a", &[("b", N, Some("1"))]),
            member("b", &[("a", N, Some("1"))]),
            member("c", &[]),
        ]);
        let err = plan_all(&w).unwrap_err();
        assert_eq!(
            err.problems,
            [PlanProblem::HardCycle {
                crates: vec!["a".into(), "b".into()]
            }]
        );
    }

    fn soft_cycle() -> WorkspaceModel {
        // tokio-like: tokio dev-depends on tokio-test, which depends on tokio.
        ws(vec![
            member("tokio", &[("tokio-test", D, Some("1"))]),
            member("tokio-test", &[("tokio", N, Some("1"))]),
        ])
    }

    #[test]
    fn soft_cycle_broken_by_a_registry_version() {
        let w = soft_cycle();
        let draft = Draft::new(&w, &target("crates-io"), &Selection::default()).unwrap();
        assert_eq!(
            draft.registry_questions(),
            [RegistryQuestion {
                member: "tokio-test".into(),
                req: "1".parse().unwrap()
            }]
        );
        let plan = draft
            .finish(|_| RegistryAnswer::Satisfied("1.0.0".parse().unwrap()))
            .unwrap();
        assert_eq!(order(&plan), [("tokio", 0), ("tokio-test", 1)]);
        assert_eq!(
            plan.broken_edges[0].resolution,
            BreakResolution::RegistryHas {
                version: "1.0.0".parse().unwrap()
            }
        );
    }

    #[test]
    fn soft_cycle_without_registry_version_is_an_error_with_the_fix() {
        let err = plan_all(&soft_cycle()).unwrap_err();
        let [PlanProblem::SoftCycle { crates, edges }] = err.problems.as_slice() else {
            panic!("{err:?}")
        };
        assert_eq!(crates, &["tokio", "tokio-test"]);
        assert_eq!(edges, &["`tokio` dev-depends on `tokio-test ^1`"]);
        assert!(err.to_string().contains("drop the `version`"));
    }

    #[test]
    fn soft_cycle_offline_needs_a_registry_check() {
        let w = soft_cycle();
        let plan = Draft::new(&w, &target("crates-io"), &Selection::default())
            .unwrap()
            .finish(|_| RegistryAnswer::Unknown)
            .unwrap();
        assert_eq!(
            plan.broken_edges[0].resolution,
            BreakResolution::NeedsRegistryCheck
        );
    }

    #[test]
    fn soft_edge_without_cycle_orders_but_asks_nothing() {
        let w = ws(vec![
            member("a", &[("kit", D, Some("1"))]),
            member("kit", &[]),
        ]);
        let draft = Draft::new(&w, &target("crates-io"), &Selection::default()).unwrap();
        assert!(draft.registry_questions().is_empty());
        let plan = draft.finish(|_| unreachable!()).unwrap();
        assert_eq!(order(&plan), [("kit", 0), ("a", 1)]);
    }

    #[test]
    fn unversioned_dev_dependency_makes_no_edge() {
        let w = ws(vec![
            member("a", &[("b", D, None)]),
            member("b", &[("a", N, Some("1"))]),
        ]);
        let plan = plan_all(&w).unwrap();
        assert_eq!(order(&plan), [("a", 0), ("b", 1)]);
    }

    #[test]
    fn publishable_crate_needing_unpublishable_member_is_an_error_naming_both() {
        let mut private = member("private", &[]);
        private.publish = PublishSetting::Nowhere;
        let w = ws(vec![member("a", &[("private", N, Some("1"))]), private]);
        let err = plan_all(&w).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`a` depends on `private`"), "{text}");
        assert!(text.contains("publish = false"), "{text}");
    }

    #[test]
    fn publish_list_follows_the_target() {
        let mut alt_only = member("alt-only", &[]);
        alt_only.publish = PublishSetting::Only(vec!["alt".into()]);
        let w = ws(vec![alt_only, member("b", &[])]);
        let on_crates_io = plan_all(&w).unwrap();
        assert_eq!(order(&on_crates_io), [("b", 0)]);
        assert_eq!(
            on_crates_io.excluded[0].reason,
            ExclusionReason::NotForTarget {
                allowed: vec!["alt".into()]
            }
        );
        let on_alt = Draft::new(&w, &target("alt"), &Selection::default())
            .unwrap()
            .finish(|_| RegistryAnswer::NotSatisfied)
            .unwrap();
        assert_eq!(order(&on_alt), [("alt-only", 0), ("b", 0)]);
        assert_ne!(on_alt.id, on_crates_io.id);
    }

    #[test]
    fn package_selection_pulls_in_hard_dependencies_and_says_so() {
        let w = ws(vec![
            member("app", &[("lib", N, Some("1")), ("kit", D, Some("1"))]),
            member("lib", &[("core", N, Some("1"))]),
            member("core", &[]),
            member("kit", &[]),
            member("other", &[]),
        ]);
        let selection = Selection {
            packages: vec!["app".into()],
            exclude: vec![],
        };
        let plan = Draft::new(&w, &target("crates-io"), &selection)
            .unwrap()
            .finish(|_| RegistryAnswer::NotSatisfied)
            .unwrap();
        assert_eq!(order(&plan), [("core", 0), ("lib", 1), ("app", 2)]);
        assert_eq!(plan.get("core").unwrap().pulled_in_by, ["app"]);
        assert!(plan.get("app").unwrap().pulled_in_by.is_empty());
        let reasons: Vec<_> = plan
            .excluded
            .iter()
            .map(|e| (&e.name[..], &e.reason))
            .collect();
        assert_eq!(
            reasons,
            [
                ("kit", &ExclusionReason::NotSelected),
                ("other", &ExclusionReason::NotSelected)
            ]
        );
        // The dev-dependency on a crate outside the release must come from the registry.
        assert_eq!(plan.external_requirements[0].member, "kit");
    }

    #[test]
    fn excluded_dependency_becomes_a_registry_requirement() {
        let w = ws(vec![member("a", &[("b", N, Some("1"))]), member("b", &[])]);
        let selection = Selection {
            packages: vec![],
            exclude: vec!["b".into()],
        };
        let plan = Draft::new(&w, &target("crates-io"), &selection)
            .unwrap()
            .finish(|_| RegistryAnswer::NotSatisfied)
            .unwrap();
        assert_eq!(order(&plan), [("a", 0)]);
        assert_eq!(plan.excluded[0].reason, ExclusionReason::ExcludedByFlag);
        assert_eq!(plan.external_requirements[0].member, "b");
    }

    #[test]
    fn path_dependency_without_version_or_with_wrong_one_is_reported() {
        let w = ws(vec![
            member("a", &[("b", N, None)]),
            member("c", &[("b", N, Some("2"))]),
            member("b", &[]),
        ]);
        let err = plan_all(&w).unwrap_err();
        assert!(matches!(
            err.problems[0],
            PlanProblem::MissingVersion { .. }
        ));
        assert!(matches!(
            err.problems[1],
            PlanProblem::VersionMismatch { .. }
        ));
    }

    #[test]
    fn unknown_package_names_are_errors() {
        let w = ws(vec![member("a", &[])]);
        let selection = Selection {
            packages: vec!["nope".into()],
            exclude: vec![],
        };
        let err = Draft::new(&w, &target("crates-io"), &selection).unwrap_err();
        assert_eq!(err.problems, [PlanProblem::UnknownPackage("nope".into())]);
        assert_eq!(err.exit(), Exit::InvalidWorkspace);
    }

    #[test]
    fn a_crate_both_selected_and_excluded_is_an_error() {
        let w = ws(vec![member("a", &[])]);
        let selection = Selection {
            packages: vec!["a".into()],
            exclude: vec!["a".into()],
        };
        let err = Draft::new(&w, &target("crates-io"), &selection).unwrap_err();
        assert_eq!(err.problems, [PlanProblem::SelectedAndExcluded("a".into())]);
    }
}
