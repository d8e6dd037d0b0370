//! Fix-forward versions, computed without I/O: which members a fix to one
//! crate forces to a new version (it, and every member that depends on it
//! through normal or build dependencies, transitively), and which version
//! each gets. Members that inherit `[workspace.package].version` move
//! together: bumping one bumps the workspace version, and so all of them.

use std::collections::{BTreeMap, BTreeSet};

use semver::{Op, Version};

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

/// The next version. Build metadata (`+zstd.1.5.5`, the `-sys` crates'
/// bundled-library convention) is kept: cargo ignores it for precedence,
/// the numbers already make the version new for the registry, and what it
/// describes usually did not change with the fix. The report says so.
pub fn bump_version(v: &Version, kind: BumpKind) -> Version {
    let mut next = match kind {
        BumpKind::Patch => Version::new(v.major, v.minor, v.patch + 1),
        BumpKind::Minor => Version::new(v.major, v.minor + 1, 0),
        BumpKind::Major => Version::new(v.major + 1, 0, 0),
    };
    next.build = v.build.clone();
    next
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
    // A member needs a new version when the release holds it and it is not
    // already ahead (build metadata aside, as cargo and registries compare).
    // For a member inheriting the workspace version, `m.version` is that.
    let needs_bump = |name: &str| {
        model.member(name).is_some_and(|m| {
            sources
                .released
                .get(name)
                .is_some_and(|r| m.version.cmp_precedence(r) != std::cmp::Ordering::Greater)
        })
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
            && affected
                .keys()
                .any(|n| sources.inheriting.contains(n) && needs_bump(n))
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
                Some(released) if !needs_bump(&m.name) => {
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

/// What a fix-forward does to one requirement on a crate moving to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReqEdit {
    /// A lower bound (`=`, `^`, `~`, `>=` or bare, one comparator) raised to
    /// `to`, its operator kept: the dependent's next version requires the fix.
    Raised(String),
    /// Any other requirement that already admits `to` (`<0.4`, `>0.2`,
    /// `0.3.*`, `>=0.1, <0.4`): left as written.
    Admits,
}

/// Why a requirement cannot be carried to `to`; a person edits it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReqRefusal {
    #[error("does not parse as a version requirement")]
    Unparsable,
    #[error(
        "does not admit {to}, and only a single `=`, `^`, `~`, `>=` or bare requirement is rewritten"
    )]
    NotAdmitted { to: Version },
}

/// The rule for one requirement (see [`ReqEdit`]): raise a single lower
/// bound, keep anything else that admits `to`, refuse the rest. Build
/// metadata never goes into a requirement (cargo ignores it there).
pub fn edit_req(req: &str, to: &Version) -> Result<ReqEdit, ReqRefusal> {
    let to = Version {
        build: semver::BuildMetadata::EMPTY,
        ..to.clone()
    };
    let trimmed = req.trim();
    let parsed = semver::VersionReq::parse(trimmed).map_err(|_| ReqRefusal::Unparsable)?;
    let raisable = matches!(
        parsed.comparators.as_slice(),
        [c] if matches!(c.op, Op::Exact | Op::Caret | Op::Tilde | Op::GreaterEq)
    );
    if raisable {
        // The operator as written (none for a bare requirement).
        let op: String = trimmed
            .chars()
            .take_while(|c| matches!(c, '=' | '^' | '~' | '>' | ' '))
            .filter(|c| *c != ' ')
            .collect();
        let raised = format!("{op}{to}");
        // Checked, not assumed: the new requirement must admit `to`.
        return match semver::VersionReq::parse(&raised) {
            Ok(new) if new.matches(&to) => Ok(ReqEdit::Raised(raised)),
            _ => Err(ReqRefusal::NotAdmitted { to }),
        };
    }
    if parsed.matches(&to) {
        Ok(ReqEdit::Admits)
    } else {
        Err(ReqRefusal::NotAdmitted { to })
    }
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
    fn lower_bounds_are_raised_others_kept_when_they_admit_else_refused() {
        let to: Version = "0.3.1".parse().unwrap();
        let raised = |r: &str| match edit_req(r, &to) {
            Ok(ReqEdit::Raised(new)) => new,
            other => panic!("{r}: {other:?}"),
        };
        assert_eq!(raised("0.3.0"), "0.3.1");
        assert_eq!(raised("=0.3.0"), "=0.3.1");
        assert_eq!(raised("^0.3"), "^0.3.1");
        assert_eq!(raised("~0.3.0"), "~0.3.1");
        assert_eq!(raised(">= 0.1.0"), ">=0.3.1");
        assert_eq!(raised("= 0.2"), "=0.3.1");
        for kept in ["<0.4", "<=0.3.1", ">0.2", "0.3.*", ">=0.1, <0.4", "*"] {
            assert_eq!(edit_req(kept, &to), Ok(ReqEdit::Admits), "{kept}");
        }
        for refused in ["<0.3.1", "<=0.3.0", ">0.3.1", "0.2.*", ">=0.0.1, <0.3.1"] {
            assert_eq!(
                edit_req(refused, &to),
                Err(ReqRefusal::NotAdmitted { to: to.clone() }),
                "{refused}"
            );
        }
        assert_eq!(edit_req("not a req", &to), Err(ReqRefusal::Unparsable));
        let with_build: Version = "0.4.1+zstd.1.5.5".parse().unwrap();
        assert_eq!(
            edit_req("=0.4.0", &with_build),
            Ok(ReqEdit::Raised("=0.4.1".into()))
        );
    }

    #[test]
    fn build_metadata_is_kept_and_ignored_when_comparing_with_the_release() {
        let v: Version = "0.4.0+build.5".parse().unwrap();
        assert_eq!(
            bump_version(&v, BumpKind::Patch).to_string(),
            "0.4.1+build.5"
        );
        let model = WorkspaceModel {
            members: vec![member("meta", "0.4.0+build.6", &[])],
        };
        let sources = VersionSources {
            released: [("meta".to_owned(), v)].into(),
            ..Default::default()
        };
        // Only the metadata differs: not ahead, a registry would refuse it.
        let plan = plan_bumps(&model, &sources, "meta", BumpKind::Patch).unwrap();
        assert_eq!(
            plan.new_version("meta").unwrap().to_string(),
            "0.4.1+build.6"
        );
    }

    #[test]
    fn inheriting_members_already_ahead_keep_the_workspace_version() {
        let model = WorkspaceModel {
            members: vec![
                member("core", "1.2.4", &[]),
                member("user", "0.4.1", &[("core", DepKind::Normal)]),
            ],
        };
        let sources = VersionSources {
            inheriting: ["core".to_owned()].into(),
            workspace_version: Some("1.2.4".parse().unwrap()),
            released: [
                ("core".to_owned(), "1.2.3".parse().unwrap()),
                ("user".to_owned(), "0.4.0".parse().unwrap()),
            ]
            .into(),
        };
        let plan = plan_bumps(&model, &sources, "core", BumpKind::Patch).unwrap();
        assert_eq!(plan.workspace_version, None);
        assert!(plan.bumps.is_empty(), "{plan:?}");
        assert_eq!(plan.kept.len(), 2);
    }
}
