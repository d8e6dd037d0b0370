//! Rewriting manifests for a fix-forward with `toml_edit`, so comments,
//! ordering and layout survive: member versions, `[workspace.package]`
//! version, dependents' requirements (in member tables, in
//! `[workspace.dependencies]` for `workspace = true` entries, in
//! `[target.…]` tables) and `[patch]` entries that pin a member. Walks the
//! tables each document has, as spelled (`build_dependencies`, target keys
//! spaced unlike cargo's form), and never creates one. Works on texts, all
//! in memory: either every edit is checked and returned, or every problem
//! is; the caller reads and writes the files.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use semver::Version;
use toml_edit::{DocumentMut, Item, Key, TableLike, Value};

use crate::model::{DepKind, Exit, HasExit, MemberDep, WorkspaceModel};
use crate::plan::{BumpPlan, ReqEdit, ReqRefusal, edit_req};

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("`{path}` does not parse as TOML: {message}")]
    Parse { path: String, message: String },
    #[error("`{0}` is not among the manifests read")]
    Missing(String),
    /// Every problem found, none written.
    #[error(
        "fix-forward refused; nothing was written. Fix {} by hand, then run it again:{}",
        if .0.len() == 1 { "this problem".to_owned() } else { format!("these {} problems", .0.len()) },
        .0.iter().map(|p| format!("\n  - {p}")).collect::<String>()
    )]
    Refused(Vec<EditProblem>),
}

impl HasExit for EditError {
    /// Manifests fix-forward will not rewrite need a hand edit.
    fn exit(&self) -> Exit {
        Exit::InvalidWorkspace
    }
}

/// A dependency entry, named as the file spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub manifest: String,
    /// `[dependencies]`, `[target.'cfg(unix)'.build_dependencies]`, …
    pub table: String,
    pub dependency: String,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` {} `{}`",
            self.manifest, self.table, self.dependency
        )
    }
}

/// Something in a manifest that fix-forward will not rewrite on its own.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EditProblem {
    #[error("{place} requires `{requirement}`, which {refusal}: change it so it admits {to}")]
    Requirement {
        place: Place,
        requirement: String,
        to: Version,
        refusal: ReqRefusal,
    },
    #[error(
        "{place}: the entry or its `version` is not a string or a table as cargo-shipper expects"
    )]
    NotAString { place: Place },
    #[error("{place}: not found, though a member uses it with `workspace = true`")]
    NoWorkspaceEntry { place: Place },
    #[error("`{manifest}`: `{key}` is not a string; set it to {to}")]
    Version {
        manifest: String,
        key: String,
        to: Version,
    },
    #[error(
        "`{manifest}`: cargo reads a {kind} dependency `{dependency}` on `{member}`{platform}, but cargo-shipper found no such entry to rewrite; require {to} there"
    )]
    NotFound {
        manifest: String,
        kind: &'static str,
        dependency: String,
        member: String,
        platform: String,
        to: Version,
    },
}

/// A requirement kept as written because it admits the new version
/// without requiring it (`<0.4`, `0.3.*`, `>=0.1, <0.4`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    pub place: Place,
    pub requirement: String,
    pub to: Version,
}

/// Every edit of a fix-forward, computed in memory and checked.
#[derive(Debug, Clone, Default)]
pub struct Edits {
    /// The new text of every manifest that changes.
    pub texts: BTreeMap<String, String>,
    pub admitted: Vec<Admitted>,
}

/// The manifest path (relative to the workspace root, `/`-separated) of a
/// member directory.
pub fn manifest_rel(rel_dir: &str) -> String {
    if rel_dir == "." {
        "Cargo.toml".to_owned()
    } else {
        format!("{rel_dir}/Cargo.toml")
    }
}

const ROOT: &str = "Cargo.toml";

/// Dependency tables by kind, both spellings cargo accepts.
const DEP_TABLES: [(&str, DepKind); 5] = [
    ("dependencies", DepKind::Normal),
    ("build-dependencies", DepKind::Build),
    ("build_dependencies", DepKind::Build),
    ("dev-dependencies", DepKind::Dev),
    ("dev_dependencies", DepKind::Dev),
];

/// A dependency table of a document, its keys as written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct TablePath {
    target: Option<String>,
    table: &'static str,
}

impl TablePath {
    fn label(&self) -> String {
        match &self.target {
            None => format!("[{}]", self.table),
            Some(target) => format!("[target.{}.{}]", Key::new(target.as_str()), self.table),
        }
    }
}

/// Every dependency table the document has (`[target.<key>.…]` for each
/// key as written); never creates one.
fn dep_tables(doc: &DocumentMut) -> Vec<(TablePath, DepKind)> {
    let mut found = Vec::new();
    let mut scan = |parent: &dyn TableLike, target: Option<&str>| {
        for (table, kind) in DEP_TABLES {
            if parent.get(table).and_then(Item::as_table_like).is_some() {
                let target = target.map(str::to_owned);
                found.push((TablePath { target, table }, kind));
            }
        }
    };
    scan(doc.as_table(), None);
    if let Some(targets) = doc.get("target").and_then(Item::as_table_like) {
        for (key, item) in targets.iter() {
            if let Some(target) = item.as_table_like() {
                scan(target, Some(key));
            }
        }
    }
    found
}

fn table_mut<'a>(doc: &'a mut DocumentMut, path: &TablePath) -> Option<&'a mut dyn TableLike> {
    let mut parent: &mut dyn TableLike = doc.as_table_mut();
    if let Some(target) = &path.target {
        parent = parent
            .get_mut("target")?
            .as_table_like_mut()?
            .get_mut(target)?
            .as_table_like_mut()?;
    }
    parent.get_mut(path.table)?.as_table_like_mut()
}

/// Whether a `[target.<key>]` as written is the platform cargo names
/// (cargo prints `cfg(any(unix, windows))` however the file spaces it).
fn same_platform(written: &str, cargo: &str) -> bool {
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    squeeze(written) == squeeze(cargo)
}

fn kind_name(kind: DepKind) -> &'static str {
    match kind {
        DepKind::Normal => "normal",
        DepKind::Build => "build",
        DepKind::Dev => "dev",
    }
}

/// Apply `bumps` to the manifests in `texts` (keyed by [`manifest_rel`];
/// the root manifest is `Cargo.toml`), all in memory. Either every edit
/// is possible and checked (the changed texts, and the requirements kept
/// because they admit the new versions), or nothing is: every problem
/// found, in one [`EditError::Refused`].
pub fn apply_bumps(
    texts: &BTreeMap<String, String>,
    model: &WorkspaceModel,
    bumps: &BumpPlan,
) -> Result<Edits, EditError> {
    let mut docs = BTreeMap::new();
    for (path, text) in texts {
        docs.insert(path.clone(), parse(path, text)?);
    }
    let mut problems = Vec::new();
    let mut admitted = Vec::new();

    // Versions of the bumped members (inherited ones move with the workspace).
    for bump in &bumps.bumps {
        let member = model.member(&bump.name).expect("bumps name members");
        let path = manifest_rel(&member.rel_dir);
        let doc = docs
            .get_mut(&path)
            .ok_or_else(|| EditError::Missing(path.clone()))?;
        let item = doc
            .get_mut("package")
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.get_mut("version"));
        if item.as_deref().is_some_and(|i| i.as_table_like().is_some()) {
            continue; // `version.workspace = true`
        }
        if item
            .and_then(|i| set_string(i, &bump.to.to_string()))
            .is_none()
        {
            problems.push(EditProblem::Version {
                manifest: path,
                key: "package.version".into(),
                to: bump.to.clone(),
            });
        }
    }
    if let Some((_, to)) = &bumps.workspace_version {
        let doc = docs
            .get_mut(ROOT)
            .ok_or_else(|| EditError::Missing(ROOT.into()))?;
        let item = doc
            .get_mut("workspace")
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.get_mut("package"))
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.get_mut("version"));
        if item.and_then(|i| set_string(i, &to.to_string())).is_none() {
            problems.push(EditProblem::Version {
                manifest: ROOT.into(),
                key: "workspace.package.version".into(),
                to: to.clone(),
            });
        }
    }

    // Requirements on bumped members, where each dependent declares them.
    // `[workspace.dependencies]` keys used with `workspace = true`, and the
    // member each names.
    let mut via_workspace: BTreeMap<String, String> = BTreeMap::new();
    for member in &model.members {
        let path = manifest_rel(&member.rel_dir);
        let doc = docs
            .get_mut(&path)
            .ok_or_else(|| EditError::Missing(path.clone()))?;
        let tables = dep_tables(doc);
        let mut seen: BTreeSet<(TablePath, String)> = BTreeSet::new();
        for dep in &member.deps {
            let Some(to) = bumps.new_version(&dep.member) else {
                continue;
            };
            if dep.req.is_none() {
                continue; // a path without a version: nothing to rewrite
            }
            let here: Vec<&TablePath> = tables
                .iter()
                .filter(|(table, kind)| {
                    *kind == dep.kind
                        && match (&table.target, &dep.platform) {
                            (None, None) => true,
                            (Some(written), Some(cargo)) => same_platform(written, cargo),
                            _ => false,
                        }
                })
                .map(|(table, _)| table)
                .filter(|table| {
                    table_mut(doc, table).is_some_and(|t| t.contains_key(&dep.name_in_toml))
                })
                .collect();
            if here.is_empty() {
                problems.push(not_found(&path, dep, to));
                continue;
            }
            for table in here {
                if !seen.insert((table.clone(), dep.name_in_toml.clone())) {
                    continue;
                }
                let entry = table_mut(doc, table)
                    .and_then(|t| t.get_mut(&dep.name_in_toml))
                    .expect("found above");
                if entry
                    .as_table_like()
                    .and_then(|t| t.get("workspace"))
                    .and_then(Item::as_bool)
                    == Some(true)
                {
                    via_workspace.insert(dep.name_in_toml.clone(), dep.member.clone());
                    continue;
                }
                let place = Place {
                    manifest: path.clone(),
                    table: table.label(),
                    dependency: dep.name_in_toml.clone(),
                };
                edit_entry(entry, to, place, &mut problems, &mut admitted);
            }
        }
    }
    let doc = docs
        .get_mut(ROOT)
        .ok_or_else(|| EditError::Missing(ROOT.into()))?;
    for (key, member) in via_workspace {
        let to = bumps.new_version(&member).expect("only bumped members");
        let entry = doc
            .get_mut("workspace")
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.get_mut("dependencies"))
            .and_then(Item::as_table_like_mut)
            .and_then(|t| t.get_mut(&key));
        let place = Place {
            manifest: ROOT.into(),
            table: "[workspace.dependencies]".into(),
            dependency: key,
        };
        match entry {
            Some(entry) => edit_entry(entry, to, place, &mut problems, &mut admitted),
            None => problems.push(EditProblem::NoWorkspaceEntry { place }),
        }
    }
    // `[patch.<registry>]` entries that pin a bumped member's version.
    if let Some(patch) = doc.get_mut("patch").and_then(Item::as_table_like_mut) {
        for (registry, entries) in patch.iter_mut() {
            let Some(entries) = entries.as_table_like_mut() else {
                continue;
            };
            for (key, entry) in entries.iter_mut() {
                let member = package_of(entry, key.get());
                if let Some(to) = bumps.new_version(&member)
                    && entry
                        .as_table_like()
                        .is_some_and(|t| t.contains_key("version"))
                {
                    let place = Place {
                        manifest: ROOT.into(),
                        table: format!("[patch.{}]", Key::new(registry.get())),
                        dependency: key.get().to_owned(),
                    };
                    edit_entry(entry, to, place, &mut problems, &mut admitted);
                }
            }
        }
    }

    if !problems.is_empty() {
        return Err(EditError::Refused(problems));
    }
    let texts = docs
        .into_iter()
        .filter_map(|(path, doc)| {
            let text = doc.to_string();
            (texts.get(&path) != Some(&text)).then_some((path, text))
        })
        .collect();
    Ok(Edits { texts, admitted })
}

fn parse(path: &str, text: &str) -> Result<DocumentMut, EditError> {
    text.parse()
        .map_err(|e: toml_edit::TomlError| EditError::Parse {
            path: path.to_owned(),
            message: e.message().to_owned(),
        })
}

fn not_found(path: &str, dep: &MemberDep, to: &Version) -> EditProblem {
    EditProblem::NotFound {
        manifest: path.to_owned(),
        kind: kind_name(dep.kind),
        dependency: dep.name_in_toml.clone(),
        member: dep.member.clone(),
        platform: dep
            .platform
            .as_ref()
            .map(|p| format!(" for `{p}`"))
            .unwrap_or_default(),
        to: to.clone(),
    }
}

/// Which members inherit `[workspace.package].version`, and that version.
pub fn version_sources(
    texts: &BTreeMap<String, String>,
    model: &WorkspaceModel,
) -> Result<(BTreeSet<String>, Option<semver::Version>), EditError> {
    let doc = |path: &str| -> Result<DocumentMut, EditError> {
        let text = texts
            .get(path)
            .ok_or_else(|| EditError::Missing(path.to_owned()))?;
        parse(path, text)
    };
    let mut inheriting = BTreeSet::new();
    for member in &model.members {
        let doc = doc(&manifest_rel(&member.rel_dir))?;
        let inherits = doc
            .get("package")
            .and_then(|p| p.get("version"))
            .and_then(Item::as_table_like)
            .and_then(|t| t.get("workspace"))
            .and_then(Item::as_bool)
            == Some(true);
        if inherits {
            inheriting.insert(member.name.clone());
        }
    }
    let version = doc(ROOT)?
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("version"))
        .and_then(Item::as_str)
        .and_then(|v| v.parse().ok());
    Ok((inheriting, version))
}

/// The package a dependency entry names (`package = …`, else its key).
fn package_of(entry: &Item, key: &str) -> String {
    entry
        .as_table_like()
        .and_then(|t| t.get("package"))
        .and_then(Item::as_str)
        .unwrap_or(key)
        .to_owned()
}

/// `"req"` or `{ version = "req", … }` carried to `to` by the rule of
/// [`edit_req`]: raised, kept (noted in `admitted`), or a problem.
fn edit_entry(
    entry: &mut Item,
    to: &Version,
    place: Place,
    problems: &mut Vec<EditProblem>,
    admitted: &mut Vec<Admitted>,
) {
    let version = if entry.is_str() {
        Some(entry)
    } else if let Some(table) = entry.as_table_like_mut() {
        match table.get_mut("version") {
            Some(version) => Some(version),
            None => return, // no requirement (a path only): nothing to carry
        }
    } else {
        None
    };
    let Some((req, version)) = version.and_then(|v| Some((v.as_str()?.to_owned(), v))) else {
        problems.push(EditProblem::NotAString { place });
        return;
    };
    match edit_req(&req, to) {
        Ok(ReqEdit::Raised(new)) => {
            set_string(version, &new).expect("checked to be a string");
        }
        Ok(ReqEdit::Admits) => admitted.push(Admitted {
            place,
            requirement: req,
            to: to.clone(),
        }),
        Err(refusal) => problems.push(EditProblem::Requirement {
            place,
            requirement: req,
            to: to.clone(),
            refusal,
        }),
    }
}

/// Replace a string value, keeping the whitespace and comments around it.
fn set_string(item: &mut Item, new: &str) -> Option<()> {
    let value = item.as_value_mut()?;
    value.as_str()?;
    let decor = value.decor().clone();
    *value = Value::from(new);
    *value.decor_mut() = decor;
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DepRoute, Member, MemberDep, PublishSetting};
    use crate::plan::{Bump, BumpReason};

    #[test]
    fn manifests_fix_forward_will_not_rewrite_are_an_invalid_workspace() {
        let texts = BTreeMap::from([("Cargo.toml".to_owned(), "[package".to_owned())]);
        let unparsed = parse("Cargo.toml", &texts["Cargo.toml"]).unwrap_err();
        assert_eq!(unparsed.exit(), Exit::InvalidWorkspace);
        assert_eq!(
            EditError::Missing("a/Cargo.toml".into()).exit(),
            Exit::InvalidWorkspace
        );
        assert_eq!(
            EditError::Refused(Vec::new()).exit(),
            Exit::InvalidWorkspace
        );
    }

    #[test]
    fn comments_and_layout_survive_and_every_place_is_rewritten() {
        let root = r#"# the workspace
[workspace]
members = ["core", "app"]

[workspace.package]
version = "1.0.0" # lockstep

[workspace.dependencies]
# shared
core = { path = "core", version = "1.0.0" }

[patch.crates-io]
core = { path = "core", version = "=1.0.0" }
"#;
        let core = "[package]\nname = \"core\"\nversion.workspace = true\n";
        let app = "[package]\nname = \"app\"\nversion = \"0.3.0\"  # own\n\n[dependencies]\ncore = { workspace = true }\n\n[target.'cfg(unix)'.dev-dependencies]\nkore = { package = \"core\", path = \"../core\", version = \"=1.0.0\" }\n";
        let texts: BTreeMap<String, String> = [
            ("Cargo.toml", root),
            ("core/Cargo.toml", core),
            ("app/Cargo.toml", app),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let dep = |name_in_toml: &str, kind, platform: Option<&str>| MemberDep {
            member: "core".into(),
            name_in_toml: name_in_toml.into(),
            kind,
            route: DepRoute::Path,
            req: Some("1.0.0".parse().unwrap()),
            platform: platform.map(str::to_owned),
            optional: false,
        };
        let model = WorkspaceModel {
            members: vec![
                Member {
                    name: "core".into(),
                    version: "1.0.0".parse().unwrap(),
                    rel_dir: "core".into(),
                    publish: PublishSetting::Anywhere,
                    deps: vec![],
                },
                Member {
                    name: "app".into(),
                    version: "0.3.0".parse().unwrap(),
                    rel_dir: "app".into(),
                    publish: PublishSetting::Anywhere,
                    deps: vec![
                        dep("core", DepKind::Normal, None),
                        dep("kore", DepKind::Dev, Some("cfg(unix)")),
                    ],
                },
            ],
        };
        let bump = |name: &str, from: &str, to: &str| Bump {
            name: name.into(),
            from: from.parse().unwrap(),
            to: to.parse().unwrap(),
            why: BumpReason::Start,
        };
        let plan = BumpPlan {
            bumps: vec![
                bump("core", "1.0.0", "1.0.1"),
                bump("app", "0.3.0", "0.3.1"),
            ],
            workspace_version: Some(("1.0.0".parse().unwrap(), "1.0.1".parse().unwrap())),
            kept: vec![],
        };
        let out = apply_bumps(&texts, &model, &plan).unwrap().texts;
        assert!(!out.contains_key("core/Cargo.toml"), "inherits: unchanged");
        let root = &out["Cargo.toml"];
        assert!(root.contains("# the workspace\n"), "{root}");
        assert!(root.contains("version = \"1.0.1\" # lockstep"), "{root}");
        assert!(
            root.contains("# shared\ncore = { path = \"core\", version = \"1.0.1\" }"),
            "{root}"
        );
        assert!(
            root.contains("core = { path = \"core\", version = \"=1.0.1\" }"),
            "{root}"
        );
        let app = &out["app/Cargo.toml"];
        assert!(app.contains("version = \"0.3.1\"  # own"), "{app}");
        assert!(app.contains("core = { workspace = true }"), "{app}");
        assert!(app.contains("version = \"=1.0.1\" }"), "{app}");
    }
}
