//! Fix-forward versions, computed without I/O: which members a fix to one
//! crate forces to a new version (it, and every member that depends on it
//! through normal or build dependencies, transitively), and which version
//! each gets. Members that inherit `[workspace.package].version` move
//! together: bumping one bumps the workspace version, and so all of them.

use std::collections::{BTreeMap, BTreeSet};

use semver::Version;

use crate::model::{DepKind, PublishSetting, WorkspaceModel};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BumpKind {
    #[default]
    Patch,
    Minor,
    Major,
}

/// What the workspace says about versions beyond the model.
#[derive(Debug, Clone, Default)]
pub struct VersionSources {
    /// Members whose `package.version` is `{ workspace = true }`.
    pub inheriting: BTreeSet<String>,
    /// `[workspace.package].version`, when set.
    pub workspace_version: Option<Version>,
    /// Versions the release published (from its receipt).
    pub released: BTreeMap<String, Version>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bump {
    pub name: String,
    pub from: Version,
    pub to: Version,
    pub why: BumpReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BumpReason {
    /// The crate the fix is for.
    Start,
    /// It depends (normal or build) on a bumped crate.
    DependsOn(String),
    /// It inherits the workspace version, which moved.
    WorkspaceVersion,
}

/// The result: new versions, and members left alone with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BumpPlan {
    pub bumps: Vec<Bump>,
    /// `[workspace.package].version` before and after, when it moves.
    pub workspace_version: Option<(Version, Version)>,
    /// Affected members whose version stays, and why.
    pub kept: Vec<(String, String)>,
}

impl BumpPlan {
    pub fn new_version(&self, name: &str) -> Option<&Version> {
        self.bumps.iter().find(|b| b.name == name).map(|b| &b.to)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BumpError {
    #[error("the workspace has no member `{0}`")]
    UnknownMember(String),
    #[error(
        "`{name}` has the pre-release version {version}; set its next version by hand, then run fix-forward again"
    )]
    PreRelease { name: String, version: Version },
}

pub fn bump_version(v: &Version, kind: BumpKind) -> Version {
    match kind {
        BumpKind::Patch => Version::new(v.major, v.minor, v.patch + 1),
        BumpKind::Minor => Version::new(v.major, v.minor + 1, 0),
        BumpKind::Major => Version::new(v.major + 1, 0, 0),
    }
}

/// Plan the bumps for a fix to `start`.
pub fn plan_bumps(
    model: &WorkspaceModel,
    sources: &VersionSources,
    start: &str,
    kind: BumpKind,
) -> Result<BumpPlan, BumpError> {
    if model.member(start).is_none() {
        return Err(BumpError::UnknownMember(start.to_owned()));
    }
    let publishable = |name: &str| {
        model
            .member(name)
            .is_some_and(|m| m.publish != PublishSetting::Nowhere)
    };
    // Affected members, each with why; grows until nothing new joins.
    let mut affected: BTreeMap<String, BumpReason> =
        BTreeMap::from([(start.to_owned(), BumpReason::Start)]);
    let mut workspace_moves = false;
    loop {
        let before = affected.len();
        for m in &model.members {
            if affected.contains_key(&m.name) || !publishable(&m.name) {
                continue;
            }
            if let Some(dep) = m
                .deps
                .iter()
                .find(|d| d.kind != DepKind::Dev && affected.contains_key(&d.member))
            {
                affected.insert(m.name.clone(), BumpReason::DependsOn(dep.member.clone()));
            }
        }
        if !workspace_moves
            && affected.keys().any(|n| sources.inheriting.contains(n))
            && sources.workspace_version.is_some()
        {
            workspace_moves = true;
            for name in &sources.inheriting {
                if publishable(name) {
                    affected
                        .entry(name.clone())
                        .or_insert(BumpReason::WorkspaceVersion);
                }
            }
        }
        if affected.len() == before {
            break;
        }
    }

    let mut plan = BumpPlan::default();
    if workspace_moves {
        let from = sources.workspace_version.clone().expect("checked above");
        check_release(&from, "[workspace.package]")?;
        let to = bump_version(&from, kind);
        plan.workspace_version = Some((from, to));
    }
    for m in &model.members {
        let Some(why) = affected.get(&m.name) else {
            continue;
        };
        let to = if sources.inheriting.contains(&m.name) && workspace_moves {
            plan.workspace_version
                .as_ref()
                .expect("set above")
                .1
                .clone()
        } else {
            match sources.released.get(&m.name) {
                None => {
                    plan.kept.push((
                        m.name.clone(),
                        "not in the release: it was not published then, its version stays".into(),
                    ));
                    continue;
                }
                Some(released) if m.version > *released => {
                    plan.kept.push((
                        m.name.clone(),
                        format!("already ahead of the release ({} > {released})", m.version),
                    ));
                    continue;
                }
                Some(_) => {
                    check_release(&m.version, &m.name)?;
                    bump_version(&m.version, kind)
                }
            }
        };
        plan.bumps.push(Bump {
            name: m.name.clone(),
            from: m.version.clone(),
            to,
            why: why.clone(),
        });
    }
    Ok(plan)
}

fn check_release(v: &Version, name: &str) -> Result<(), BumpError> {
    if v.pre.is_empty() {
        Ok(())
    } else {
        Err(BumpError::PreRelease {
            name: name.to_owned(),
            version: v.clone(),
        })
    }
}

/// A requirement rewritten to require at least `to`, keeping its operator
/// (`=`, `^`, `~`, `>=`, or none); a compound requirement that `to` still
/// satisfies is kept, one that it does not becomes `to`.
pub fn rewrite_req(req: &str, to: &Version) -> String {
    let trimmed = req.trim();
    if trimmed.contains(',') {
        let still = semver::VersionReq::parse(trimmed).is_ok_and(|r| r.matches(to));
        return if still {
            trimmed.to_owned()
        } else {
            to.to_string()
        };
    }
    let op: String = trimmed
        .chars()
        .take_while(|c| matches!(c, '=' | '^' | '~' | '>' | '<' | ' '))
        .collect();
    format!("{}{to}", op.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DepRoute, Member, MemberDep};

    fn member(name: &str, version: &str, deps: &[(&str, DepKind)]) -> Member {
        Member {
            name: name.into(),
            version: version.parse().unwrap(),
            rel_dir: name.into(),
            publish: PublishSetting::Anywhere,
            deps: deps
                .iter()
                .map(|(d, kind)| MemberDep {
                    member: d.to_string(),
                    name_in_toml: d.to_string(),
                    kind: *kind,
                    route: DepRoute::Path,
                    req: Some("0.1.0".parse().unwrap()),
                    platform: None,
                    optional: false,
                })
                .collect(),
        }
    }

    fn released(model: &WorkspaceModel) -> BTreeMap<String, Version> {
        model
            .members
            .iter()
            .map(|m| (m.name.clone(), m.version.clone()))
            .collect()
    }

    #[test]
    fn the_start_and_its_normal_dependents_are_bumped_not_dev_dependents() {
        let model = WorkspaceModel {
            members: vec![
                member("core", "0.1.0", &[]),
                member("left", "0.1.0", &[("core", DepKind::Normal)]),
                member("app", "0.1.0", &[("left", DepKind::Build)]),
                member("right", "0.1.0", &[("core", DepKind::Dev)]),
                member("other", "0.1.0", &[]),
            ],
        };
        let sources = VersionSources {
            released: released(&model),
            ..Default::default()
        };
        let plan = plan_bumps(&model, &sources, "core", BumpKind::Patch).unwrap();
        let names: Vec<(&str, String)> = plan
            .bumps
            .iter()
            .map(|b| (b.name.as_str(), b.to.to_string()))
            .collect();
        assert_eq!(
            names,
            [
                ("core", "0.1.1".into()),
                ("left", "0.1.1".into()),
                ("app", "0.1.1".into())
            ]
        );
        let minor = plan_bumps(&model, &sources, "left", BumpKind::Minor).unwrap();
        assert_eq!(minor.new_version("left").unwrap().to_string(), "0.2.0");
        assert!(minor.new_version("core").is_none());
    }

    #[test]
    fn inheriting_members_move_together_and_bring_their_dependents() {
        let model = WorkspaceModel {
            members: vec![
                member("core", "1.2.3", &[]),
                member("macros", "1.2.3", &[]),
                member("user", "0.4.0", &[("macros", DepKind::Normal)]),
                member("solo", "0.9.0", &[]),
            ],
        };
        let sources = VersionSources {
            inheriting: ["core".to_owned(), "macros".to_owned()].into(),
            workspace_version: Some("1.2.3".parse().unwrap()),
            released: released(&model),
        };
        let plan = plan_bumps(&model, &sources, "core", BumpKind::Patch).unwrap();
        assert_eq!(
            plan.workspace_version,
            Some(("1.2.3".parse().unwrap(), "1.2.4".parse().unwrap()))
        );
        assert_eq!(plan.new_version("macros").unwrap().to_string(), "1.2.4");
        assert_eq!(plan.new_version("user").unwrap().to_string(), "0.4.1");
        assert!(plan.new_version("solo").is_none());
    }

    #[test]
    fn members_ahead_of_or_missing_from_the_release_keep_their_version() {
        let model = WorkspaceModel {
            members: vec![
                member("core", "0.1.0", &[]),
                member("left", "0.2.0", &[("core", DepKind::Normal)]),
                member("new", "0.1.0", &[("core", DepKind::Normal)]),
            ],
        };
        let mut released = released(&model);
        released.insert("left".into(), "0.1.0".parse().unwrap());
        released.remove("new");
        let sources = VersionSources {
            released,
            ..Default::default()
        };
        let plan = plan_bumps(&model, &sources, "core", BumpKind::Patch).unwrap();
        assert_eq!(plan.bumps.len(), 1);
        assert_eq!(plan.kept.len(), 2);
        assert!(plan_bumps(&model, &sources, "ghost", BumpKind::Patch).is_err());
    }

    #[test]
    fn requirements_keep_their_operator() {
        let to: Version = "0.1.1".parse().unwrap();
        assert_eq!(rewrite_req("0.1.0", &to), "0.1.1");
        assert_eq!(rewrite_req("=0.1.0", &to), "=0.1.1");
        assert_eq!(rewrite_req("^0.1", &to), "^0.1.1");
        assert_eq!(rewrite_req("~0.1.0", &to), "~0.1.1");
        assert_eq!(rewrite_req(">= 0.1.0", &to), ">=0.1.1");
        assert_eq!(rewrite_req(">=0.1, <0.3", &to), ">=0.1, <0.3");
        assert_eq!(rewrite_req(">=0.0.1, <0.1.1", &to), "0.1.1");
    }
}
