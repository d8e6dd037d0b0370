//! The preflight checks as findings: each function turns what was learned
//! (manifest facts, registry answers, packaging) into one [`Check`].

use serde::Serialize;

use super::{Check, CheckId, CrateCheck, Finding, RateLimitEta, RegistryState};
use crate::cargo_backend::{LockedDep, ManifestFacts, TokenLookup};
use crate::model::PacingProfile;
use crate::plan::{Plan, PlanError};
use crate::registry::{Http, Lookup, Registry, TokenUser, crate_owners, token_user};
use crate::secret::Secret;

/// How much a finding weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth fixing; the release can go out.
    Warn,
    /// The release would fail (or do harm): blocks.
    Fail,
}

fn check(id: CheckId, summary: String, findings: Vec<Finding>) -> Check {
    Check {
        id,
        summary,
        skipped: None,
        findings,
    }
}

fn finding(krate: Option<&str>, severity: Severity, message: String) -> Finding {
    Finding {
        krate: krate.map(str::to_owned),
        severity,
        message,
    }
}

/// An error and its causes on one line.
fn chain(error: &anyhow::Error) -> String {
    error
        .chain()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

pub fn plan_failed(error: &PlanError) -> Check {
    let findings = error
        .problems
        .iter()
        .map(|p| finding(None, Severity::Fail, p.to_string()))
        .collect();
    check(
        CheckId::Plan,
        "the workspace cannot be planned".into(),
        findings,
    )
}

/// crates.io refuses an upload without `description` and `license` (or
/// `license-file`), or under a name it does not take (non-ASCII, too long,
/// reserved, …: cargo accepts more); it shows `repository` and the readme
/// on the crate page.
pub fn metadata(facts: &[ManifestFacts]) -> Check {
    let mut findings = Vec::new();
    for f in facts {
        let name = Some(f.name.as_str());
        if let Some(problem) = crate::crates_io::name_problem(&f.name) {
            findings.push(finding(
                name,
                Severity::Fail,
                format!("{problem}; rename the crate (cargo accepts the name, registries do not)"),
            ));
        }
        if !f.description {
            findings.push(finding(
                name,
                Severity::Fail,
                "no `description`: crates.io requires one; add `description = \"…\"` to `[package]`"
                    .into(),
            ));
        }
        if !f.license {
            findings.push(finding(
                name,
                Severity::Fail,
                "no `license` or `license-file`: crates.io requires one; add e.g. `license = \"MIT OR Apache-2.0\"`"
                    .into(),
            ));
        }
        if !f.repository {
            findings.push(finding(
                name,
                Severity::Warn,
                "no `repository`: recommended, so users find the source".into(),
            ));
        }
        if !f.readme {
            findings.push(finding(
                name,
                Severity::Warn,
                "no readme: recommended (a README.md beside Cargo.toml, or `readme = \"…\"`)"
                    .into(),
            ));
        }
    }
    check(
        CheckId::Metadata,
        format!(
            "{} manifest(s): description, license, repository, readme",
            facts.len()
        ),
        findings,
    )
}

pub fn unversioned(facts: &[ManifestFacts]) -> Check {
    let findings: Vec<Finding> = facts
        .iter()
        .flat_map(|f| {
            f.unversioned_deps.iter().map(|dep| {
                finding(
                    Some(&f.name),
                    Severity::Fail,
                    format!(
                        "depends on `{dep}` by path or git without a version; registries need one: add `version = \"…\"` to that dependency"
                    ),
                )
            })
        })
        .collect();
    check(
        CheckId::UnversionedDeps,
        "path and git dependencies carry a version".into(),
        findings,
    )
}

pub fn package_failed(error: &anyhow::Error) -> Check {
    check(
        CheckId::Package,
        "the dry run could not package the plan".into(),
        vec![finding(None, Severity::Fail, chain(error))],
    )
}

/// `offline`: cargo's flag that forbade asking (`--offline`, `--frozen`).
pub fn registry_unreachable(plan: &Plan, error: &anyhow::Error, offline: Option<&str>) -> Check {
    let then = match offline {
        Some(flag) => format!("run it without `{flag}`"),
        None => "retry".to_owned(),
    };
    check(
        CheckId::Registry,
        format!("could not ask `{}`", plan.target.display_name()),
        vec![finding(
            None,
            Severity::Fail,
            format!(
                "{}; nothing can be known about what is published: {then}",
                chain(error)
            ),
        )],
    )
}

pub fn registry(crates: &[CrateCheck]) -> Check {
    let count = |s: RegistryState| crates.iter().filter(|c| c.state == s).count();
    let mut findings = Vec::new();
    for c in crates {
        match c.state {
            RegistryState::PublishedDifferent => findings.push(finding(
                Some(&c.name),
                Severity::Fail,
                format!(
                    "{} is already published with other content (index sha256 {}, packaged {}): bump the version",
                    c.version,
                    short(c.index_sha256.as_deref()),
                    short(c.local_sha256.as_deref()),
                ),
            )),
            RegistryState::PublishedUncompared => findings.push(finding(
                Some(&c.name),
                Severity::Warn,
                format!(
                    "{} is already published; its content was not compared (packaging failed)",
                    c.version
                ),
            )),
            _ => {}
        }
    }
    let mut summary = format!(
        "{} new crate(s), {} new version(s), {} already published (skipped)",
        count(RegistryState::NewCrate),
        count(RegistryState::NewVersion),
        count(RegistryState::Published) + count(RegistryState::PublishedUncompared),
    );
    let different = count(RegistryState::PublishedDifferent);
    if different > 0 {
        summary.push_str(&format!(", {different} published with other content"));
    }
    check(CheckId::Registry, summary, findings)
}

fn short(sha: Option<&str>) -> &str {
    sha.map_or("?", |s| &s[..12.min(s.len())])
}

/// crates.io treats `-` and `_` as the same character in names: a new
/// crate whose other spelling exists is refused.
pub fn names(crates: &[CrateCheck], registry: &dyn Registry) -> Check {
    let new: Vec<&CrateCheck> = crates
        .iter()
        .filter(|c| c.state == RegistryState::NewCrate)
        .collect();
    let mut findings = Vec::new();
    for c in &new {
        for other in other_spellings(&c.name) {
            match registry.lookup(&other, &c.version) {
                Ok(Lookup::NewCrate) => {}
                Ok(_) => findings.push(finding(
                    Some(&c.name),
                    Severity::Fail,
                    format!(
                        "the name is taken: `{other}` exists, and the registry treats `-` and `_` alike; rename the crate"
                    ),
                )),
                Err(error) => findings.push(finding(
                    Some(&c.name),
                    Severity::Warn,
                    format!("could not check whether `{other}` exists: {error}"),
                )),
            }
        }
    }
    check(
        CheckId::Names,
        format!("{} new crate name(s) free", new.len()),
        findings,
    )
}

/// Every other spelling of `name` with `-` and `_` swapped at any
/// separator (crates.io's names are equal when those are); for names with
/// many separators, only the all-`-` and all-`_` ones, to bound the lookups.
fn other_spellings(name: &str) -> Vec<String> {
    let separators: Vec<usize> = name
        .char_indices()
        .filter(|(_, ch)| *ch == '-' || *ch == '_')
        .map(|(i, _)| i)
        .collect();
    let mut spellings = std::collections::BTreeSet::new();
    if separators.len() <= 5 {
        for mask in 0u32..(1 << separators.len()) {
            let mut bytes = name.as_bytes().to_vec();
            for (bit, &i) in separators.iter().enumerate() {
                bytes[i] = if mask & (1 << bit) != 0 { b'_' } else { b'-' };
            }
            spellings.insert(String::from_utf8(bytes).expect("ASCII swapped for ASCII"));
        }
    } else {
        spellings.insert(name.replace('-', "_"));
        spellings.insert(name.replace('_', "-"));
    }
    spellings.remove(name);
    spellings.into_iter().collect()
}

pub fn token(token: &TokenLookup, to_upload: usize) -> Check {
    // Without uploads, a missing token blocks nothing.
    let severity = if to_upload > 0 {
        Severity::Fail
    } else {
        Severity::Warn
    };
    match token {
        TokenLookup::Found(_) => check(
            CheckId::Token,
            "a token is configured (not shown)".into(),
            Vec::new(),
        ),
        TokenLookup::Missing(why) => check(
            CheckId::Token,
            "no token".into(),
            vec![finding(None, severity, why.clone())],
        ),
        TokenLookup::Failed(why) => check(
            CheckId::Token,
            "the credential provider failed".into(),
            vec![finding(None, severity, why.clone())],
        ),
    }
}

/// Existing crates get new versions only from their owners: ask who the
/// token is, and who owns each crate.
/// `to_upload`: versions the release would upload (a token that cannot
/// upload blocks only those); `token_env`: where cargo reads this
/// registry's token (`None`: given by `--index`).
pub fn owners(
    http: &Http,
    crates: &[CrateCheck],
    api: &str,
    token: &Secret,
    to_upload: usize,
    token_env: Option<&str>,
) -> Check {
    let existing: Vec<&CrateCheck> = crates
        .iter()
        .filter(|c| c.state == RegistryState::NewVersion)
        .collect();
    let user = match token_user(http, api, token) {
        Ok(user) => user,
        Err(error) => {
            return check(
                CheckId::Owners,
                "could not ask the registry whose token this is".into(),
                vec![finding(None, Severity::Warn, error.to_string())],
            );
        }
    };
    let login = match user {
        TokenUser::Login(login) => login,
        TokenUser::Rejected => return rejected_token(to_upload, token_env),
        TokenUser::Unknown { status } => return user_unknown(http, api, &existing, status),
    };
    let findings: Vec<Finding> = existing
        .iter()
        .filter_map(|c| not_owned(http, api, &login, c))
        .collect();
    let summary = if existing.is_empty() {
        format!("the token belongs to `{login}`; no existing crate gets a new version")
    } else {
        format!(
            "the token's user `{login}` owns {} of {} existing crate(s)",
            existing.len() - findings.len(),
            existing.len()
        )
    };
    check(CheckId::Owners, summary, findings)
}

/// The registry answered 401 for the token.
fn rejected_token(to_upload: usize, token_env: Option<&str>) -> Check {
    let give = match token_env {
        Some(var) => format!("`cargo login`, `{var}`"),
        None => "`--token`, or cargo's credentials for that index".to_owned(),
    };
    // A token that uploads nothing cannot fail this release.
    let (severity, effect) = if to_upload > 0 {
        (Severity::Fail, String::new())
    } else {
        (
            Severity::Warn,
            "; this release uploads nothing, so it does not need it".to_owned(),
        )
    };
    check(
        CheckId::Owners,
        "the registry rejected the token".into(),
        vec![finding(
            None,
            severity,
            format!(
                "the registry answered 401 for the token: it is wrong, expired or revoked; \
                 make a new one and give it to cargo ({give}){effect}"
            ),
        )],
    )
}

/// The registry does not say whose token it is: each existing crate's
/// owners, unchecked.
fn user_unknown(http: &Http, api: &str, existing: &[&CrateCheck], status: u32) -> Check {
    let findings = existing
        .iter()
        .map(|c| {
            let owners = crate_owners(http, api, &c.name)
                .ok()
                .flatten()
                .map(|o| o.join(", "))
                .unwrap_or_else(|| "unknown".into());
            finding(
                Some(&c.name),
                Severity::Warn,
                format!(
                    "the registry does not say whose token this is (HTTP {status} from /api/v1/me), \
                     so ownership is unchecked; owners: {owners}"
                ),
            )
        })
        .collect();
    check(
        CheckId::Owners,
        format!("{} existing crate(s); token's user unknown", existing.len()),
        findings,
    )
}

/// What is wrong with `login` publishing a new version of `c`, if anything.
fn not_owned(http: &Http, api: &str, login: &str, c: &CrateCheck) -> Option<Finding> {
    match crate_owners(http, api, &c.name) {
        Ok(Some(owners)) if owners.iter().any(|o| o == login) => None,
        Ok(Some(owners)) if owners.iter().any(|o| o.contains(':')) => Some(finding(
            Some(&c.name),
            Severity::Warn,
            format!(
                "`{login}` is not a listed owner; a team owns it too ({}): membership is not checked",
                owners.join(", ")
            ),
        )),
        Ok(Some(owners)) => Some(finding(
            Some(&c.name),
            Severity::Fail,
            format!(
                "the token's user `{login}` is not an owner (owners: {}); ask one to run `cargo owner --add {login} {}`",
                owners.join(", "),
                c.name
            ),
        )),
        Ok(None) => Some(finding(
            Some(&c.name),
            Severity::Warn,
            "the registry lists no owners for it".into(),
        )),
        Err(error) => Some(finding(Some(&c.name), Severity::Warn, error.to_string())),
    }
}

/// A lockfile pin on a yanked version: cargo publishes (it only warns),
/// but the verify build and the crate's users get something else.
pub fn yanked(deps: &[LockedDep]) -> Check {
    // One finding per yanked version, naming every plan crate that pins it.
    let mut by_version: std::collections::BTreeMap<(&str, &str, &str), Vec<&LockedDep>> =
        Default::default();
    for d in deps.iter().filter(|d| d.yanked) {
        by_version
            .entry((&d.name, &d.version, &d.registry))
            .or_default()
            .push(d);
    }
    let mut findings = Vec::new();
    for ((name, version, registry), carriers) in by_version {
        let blocked: Vec<&&LockedDep> = carriers.iter().filter(|d| d.only_yanked).collect();
        if !blocked.is_empty() {
            let who = blocked
                .iter()
                .map(|d| format!("{} ({} {})", d.dependent, name, d.requirement))
                .collect::<Vec<_>>()
                .join(", ");
            findings.push(finding(
                Some(&blocked[0].dependent),
                Severity::Fail,
                format!(
                    "{name} {version} is yanked in `{registry}`, and so is every version these \
                     requirements admit: {who}. No new consumer can build those crates and \
                     `cargo update` cannot help: raise the requirement to a version that is not \
                     yanked, or replace the dependency"
                ),
            ));
        }
        let movable: Vec<&str> = carriers
            .iter()
            .filter(|d| !d.only_yanked)
            .map(|d| d.dependent.as_str())
            .collect();
        if let Some(first) = movable.first() {
            findings.push(finding(
                Some(first),
                Severity::Warn,
                format!(
                    "{} depend{} on {name} {version}, which is yanked in `{registry}`; a newer \
                     compatible version exists: `cargo update -p {name}` moves off it",
                    movable.join(", "),
                    if movable.len() == 1 { "s" } else { "" }
                ),
            ));
        }
    }
    check(
        CheckId::YankedDeps,
        format!("{} locked registry dependency version(s)", deps.len()),
        findings,
    )
}

pub fn resolve_failed(error: &anyhow::Error) -> Check {
    check(
        CheckId::YankedDeps,
        "could not resolve the workspace's dependencies".into(),
        vec![finding(None, Severity::Fail, chain(error))],
    )
}

pub fn rate_limit(
    crates: &[CrateCheck],
    pacing: Option<(PacingProfile, &str)>,
) -> (Option<RateLimitEta>, Check) {
    let count = |s: RegistryState| crates.iter().filter(|c| c.state == s).count() as u32;
    let (new_crates, new_versions) = (
        count(RegistryState::NewCrate),
        count(RegistryState::NewVersion),
    );
    let Some((profile, limits)) = pacing else {
        return (
            None,
            check(
                CheckId::RateLimit,
                "no known publish limits for this registry".into(),
                Vec::new(),
            ),
        );
    };
    let eta = profile.release_eta(new_crates, new_versions);
    let eta = RateLimitEta {
        new_crates,
        new_versions,
        eta_ms: eta.as_millis() as u64,
        limits: limits.to_owned(),
    };
    // The report renders the time itself (ops does not format for people).
    let summary = format!(
        "{new_crates} new crate(s), {new_versions} new version(s) under the {} limits",
        if limits == "workspace" {
            "configured"
        } else {
            "crates.io"
        },
    );
    (Some(eta), check(CheckId::RateLimit, summary, Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(name: &str) -> ManifestFacts {
        ManifestFacts {
            name: name.into(),
            version: "0.1.0".into(),
            description: true,
            license: true,
            repository: true,
            readme: true,
            unversioned_deps: Vec::new(),
        }
    }

    #[test]
    fn required_metadata_blocks_recommended_warns() {
        let mut bare = facts("bare");
        bare.description = false;
        bare.license = false;
        bare.repository = false;
        bare.readme = false;
        let check = metadata(&[facts("full"), bare]);
        let severities: Vec<Severity> = check.findings.iter().map(|f| f.severity).collect();
        assert_eq!(
            severities,
            [
                Severity::Fail,
                Severity::Fail,
                Severity::Warn,
                Severity::Warn
            ]
        );
        assert!(
            check
                .findings
                .iter()
                .all(|f| f.krate.as_deref() == Some("bare"))
        );
        assert!(metadata(&[facts("full")]).findings.is_empty());
    }

    #[test]
    fn other_spellings_swap_each_separator() {
        assert_eq!(other_spellings("a-b_c"), ["a-b-c", "a_b-c", "a_b_c"]);
        assert!(other_spellings("plain").is_empty());
        assert_eq!(
            other_spellings("a-b-c-d-e-f-g"),
            ["a_b_c_d_e_f_g"],
            "many separators: the uniform spellings only"
        );
    }

    #[test]
    fn eta_counts_new_crates_and_versions_apart() {
        let c = |state| CrateCheck {
            name: "x".into(),
            version: "1.0.0".into(),
            state,
            local_sha256: None,
            index_sha256: None,
        };
        let crates: Vec<CrateCheck> = (0..7)
            .map(|_| c(RegistryState::NewCrate))
            .chain([c(RegistryState::Published), c(RegistryState::NewVersion)])
            .collect();
        let (eta, _) = rate_limit(&crates, Some((PacingProfile::crates_io(), "crates-io")));
        let eta = eta.unwrap();
        assert_eq!((eta.new_crates, eta.new_versions), (7, 1));
        assert_eq!(eta.eta_ms, 20 * 60 * 1000);
        assert!(rate_limit(&crates, None).0.is_none());
    }
}
