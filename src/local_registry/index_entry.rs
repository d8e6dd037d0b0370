//! The index line for an upload: cargo's publish metadata (`NewCrate`)
//! turned into the sparse-index JSON form, following crates.io's rules
//! (renames as `name` + `package`, features split into `features` and
//! `features2`, `v: 2` when the latter is used).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One line of an index file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    pub name: String,
    pub vers: String,
    pub deps: Vec<IndexDep>,
    pub cksum: String,
    pub features: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features2: Option<BTreeMap<String, Vec<String>>>,
    pub yanked: bool,
    #[serde(default)]
    pub links: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rust_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexDep {
    /// The name used in the dependent's code (the manifest key).
    pub name: String,
    pub req: String,
    pub features: Vec<String>,
    pub optional: bool,
    pub default_features: bool,
    pub target: Option<String>,
    pub kind: String,
    #[serde(default)]
    pub registry: Option<String>,
    /// The real package name when the dependency is renamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
}

impl IndexDep {
    #[allow(clippy::type_complexity)]
    fn sort_key(
        &self,
    ) -> (
        &str,
        &str,
        &[String],
        bool,
        bool,
        &Option<String>,
        &str,
        &Option<String>,
    ) {
        (
            &self.name,
            &self.req,
            &self.features,
            self.optional,
            self.default_features,
            &self.target,
            &self.kind,
            &self.package,
        )
    }

    /// The package this dependency names, renamed or not.
    pub fn package_name(&self) -> &str {
        self.package.as_deref().unwrap_or(&self.name)
    }
}

impl IndexEntry {
    pub fn from_upload(krate: &crates_io::NewCrate, cksum: String) -> IndexEntry {
        let mut deps: Vec<IndexDep> = krate
            .deps
            .iter()
            .map(|d| {
                let (name, package) = match &d.explicit_name_in_toml {
                    Some(alias) => (alias.clone(), Some(d.name.clone())),
                    None => (d.name.clone(), None),
                };
                IndexDep {
                    name,
                    req: d.version_req.clone(),
                    features: d.features.clone(),
                    optional: d.optional,
                    default_features: d.default_features,
                    target: d.target.clone(),
                    kind: d.kind.clone(),
                    registry: d.registry.clone(),
                    package,
                }
            })
            .collect();
        // crates.io sorts dependencies (by name, then requirement, features, …).
        deps.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        // crates.io keeps features using the newer syntax out of `features`
        // so that old cargo versions, which cannot parse them, ignore them.
        let (features2, features): (BTreeMap<_, _>, BTreeMap<_, _>) =
            krate.features.clone().into_iter().partition(|(_, values)| {
                values
                    .iter()
                    .any(|v| v.starts_with("dep:") || v.contains("?/"))
            });
        let has_features2 = !features2.is_empty();
        IndexEntry {
            name: krate.name.clone(),
            vers: krate.vers.clone(),
            deps,
            cksum,
            features,
            features2: has_features2.then_some(features2),
            yanked: false,
            links: krate.links.clone(),
            rust_version: krate.rust_version.clone(),
            v: has_features2.then_some(2),
        }
    }
}
