//! Rewriting manifests for a fix-forward with `toml_edit`, so comments,
//! ordering and layout survive: member versions, `[workspace.package]`
//! version, dependents' requirements (in member tables, in
//! `[workspace.dependencies]` for `workspace = true` entries, in
//! `[target.…]` tables) and `[patch]` entries that pin a member. Works on
//! texts; the caller reads and writes the files.

use std::collections::{BTreeMap, BTreeSet};

use toml_edit::{DocumentMut, Item, Value};

use crate::model::{DepKind, WorkspaceModel};
use crate::plan::{BumpPlan, rewrite_req};

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("`{path}` does not parse as TOML: {message}")]
    Parse { path: String, message: String },
    #[error("`{path}` has no `{key}` that cargo-shipper can rewrite (expected a string)")]
    Unexpected { path: String, key: String },
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

/// Apply `bumps` to the manifests in `texts` (keyed by [`manifest_rel`];
/// the root manifest is `Cargo.toml`). Returns the new text of every file
/// that changed.
pub fn apply_bumps(
    texts: &BTreeMap<String, String>,
    model: &WorkspaceModel,
    bumps: &BumpPlan,
) -> Result<BTreeMap<String, String>, EditError> {
    let mut docs = BTreeMap::new();
    for (path, text) in texts {
        let doc: DocumentMut =
            text.parse()
                .map_err(|e: toml_edit::TomlError| EditError::Parse {
                    path: path.clone(),
                    message: e.message().to_owned(),
                })?;
        docs.insert(path.clone(), doc);
    }
    let root = "Cargo.toml".to_owned();

    // Versions of the bumped members (inherited ones move with the workspace).
    for bump in &bumps.bumps {
        let member = model.member(&bump.name).expect("bumps name members");
        let path = manifest_rel(&member.rel_dir);
        let doc = docs.get_mut(&path).expect("every member manifest is read");
        let item = &mut doc["package"]["version"];
        if item.as_table_like().is_some() {
            continue; // `version.workspace = true`
        }
        set_string(item, &bump.to.to_string()).ok_or_else(|| EditError::Unexpected {
            path: path.clone(),
            key: "package.version".into(),
        })?;
    }
    if let Some((_, to)) = &bumps.workspace_version {
        let doc = docs.get_mut(&root).expect("the root manifest is read");
        set_string(&mut doc["workspace"]["package"]["version"], &to.to_string()).ok_or_else(
            || EditError::Unexpected {
                path: root.clone(),
                key: "workspace.package.version".into(),
            },
        )?;
    }

    // Requirements on bumped members, where each dependent declares them.
    let mut via_workspace: BTreeSet<String> = BTreeSet::new();
    for member in &model.members {
        let path = manifest_rel(&member.rel_dir);
        let doc = docs.get_mut(&path).expect("every member manifest is read");
        for dep in &member.deps {
            let Some(to) = bumps.new_version(&dep.member) else {
                continue;
            };
            if dep.req.is_none() {
                continue; // a path without a version: nothing to rewrite
            }
            let table = match dep.kind {
                DepKind::Normal => "dependencies",
                DepKind::Build => "build-dependencies",
                DepKind::Dev => "dev-dependencies",
            };
            let entry = match &dep.platform {
                Some(platform) => &mut doc["target"][platform.as_str()][table][&dep.name_in_toml],
                None => &mut doc[table][&dep.name_in_toml],
            };
            if entry
                .as_table_like()
                .and_then(|t| t.get("workspace"))
                .and_then(Item::as_bool)
                == Some(true)
            {
                via_workspace.insert(dep.name_in_toml.clone());
                continue;
            }
            rewrite_entry(entry, to);
        }
    }
    let doc = docs.get_mut(&root).expect("the root manifest is read");
    for key in via_workspace {
        let member = package_of(&doc["workspace"]["dependencies"][&key], &key);
        if let Some(to) = bumps.new_version(&member) {
            rewrite_entry(&mut doc["workspace"]["dependencies"][&key], to);
        }
    }
    // `[patch.<registry>]` entries that pin a bumped member's version.
    if let Some(patch) = doc.get_mut("patch").and_then(Item::as_table_like_mut) {
        for (_, registry) in patch.iter_mut() {
            let Some(entries) = registry.as_table_like_mut() else {
                continue;
            };
            for (key, entry) in entries.iter_mut() {
                let member = package_of(entry, key.get());
                if let Some(to) = bumps.new_version(&member)
                    && entry
                        .as_table_like()
                        .is_some_and(|t| t.contains_key("version"))
                {
                    rewrite_entry(entry, to);
                }
            }
        }
    }

    Ok(docs
        .into_iter()
        .filter_map(|(path, doc)| {
            let text = doc.to_string();
            (texts.get(&path) != Some(&text)).then_some((path, text))
        })
        .collect())
}

/// Which members inherit `[workspace.package].version`, and that version.
pub fn version_sources(
    texts: &BTreeMap<String, String>,
    model: &WorkspaceModel,
) -> Result<(BTreeSet<String>, Option<semver::Version>), EditError> {
    let parse = |path: &String| -> Result<DocumentMut, EditError> {
        texts[path]
            .parse()
            .map_err(|e: toml_edit::TomlError| EditError::Parse {
                path: path.clone(),
                message: e.message().to_owned(),
            })
    };
    let mut inheriting = BTreeSet::new();
    for member in &model.members {
        let doc = parse(&manifest_rel(&member.rel_dir))?;
        let inherits = doc["package"]["version"]
            .as_table_like()
            .and_then(|t| t.get("workspace"))
            .and_then(Item::as_bool)
            == Some(true);
        if inherits {
            inheriting.insert(member.name.clone());
        }
    }
    let root = parse(&"Cargo.toml".to_owned())?;
    let version = root["workspace"]["package"]["version"]
        .as_str()
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

/// `"req"` or `{ version = "req", … }` rewritten for `to`.
fn rewrite_entry(entry: &mut Item, to: &semver::Version) {
    if let Some(req) = entry.as_str() {
        let new = rewrite_req(req, to);
        set_string(entry, &new);
    } else if let Some(table) = entry.as_table_like_mut()
        && let Some(version) = table.get_mut("version")
        && let Some(req) = version.as_str()
    {
        let new = rewrite_req(req, to);
        set_string(version, &new);
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
        let out = apply_bumps(&texts, &model, &plan).unwrap();
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
