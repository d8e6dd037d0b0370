//! Rendering a [`PreflightReport`]: a table of crates and a list of checks
//! for people, or the versioned JSON document of
//! `docs/reference/preflight-json.md`.

use std::io::{self, Write};

use serde::Serialize;

use super::publish::human_duration;
use crate::ops::{
    Check, CheckId, CheckStatus, CrateCheck, Finding, PreflightReport, RateLimitEta, RegistryState,
    Severity, TrustedPreflight, Verdict,
};

/// Version of the JSON document; bumped on any incompatible change.
pub const PREFLIGHT_JSON_FORMAT: u32 = 1;

pub fn human(report: &PreflightReport, out: &mut dyn Write) -> io::Result<()> {
    let plan = report
        .plan_id
        .as_deref()
        .map_or_else(|| "no plan".to_owned(), |id| format!("plan {}", &id[..12]));
    writeln!(
        out,
        "Preflight for `{}` ({plan}): {} crate(s)",
        report.registry,
        report.crates.len()
    )?;
    let width = report
        .crates
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0)
        .max("crate".len());
    if !report.crates.is_empty() {
        writeln!(out, "  {:width$}  {:10}  registry", "crate", "version")?;
        for c in &report.crates {
            writeln!(
                out,
                "  {:width$}  {:10}  {}",
                c.name,
                c.version,
                state_text(c.state)
            )?;
        }
    }
    writeln!(out, "Checks:")?;
    // Blocking problems first, then warnings, then the rest, each group
    // in report order.
    let mut checks: Vec<&Check> = report.checks.iter().collect();
    checks.sort_by_key(|c| match c.status() {
        CheckStatus::Fail => 0,
        CheckStatus::Warn => 1,
        CheckStatus::Pass | CheckStatus::Skipped => 2,
    });
    // Counted as shown: a finding shared by several crates is one line.
    let (mut blocking, mut warnings) = (0, 0);
    for check in checks {
        let label = match check.status() {
            CheckStatus::Pass => "ok",
            CheckStatus::Warn => "warn",
            CheckStatus::Fail => "FAIL",
            CheckStatus::Skipped => "skip",
        };
        let text = match (&check.skipped, check.id) {
            // The label says "skip" already.
            (Some(why), _) => why.clone(),
            (None, CheckId::RateLimit) => rate_text(check, report.rate_limit.as_ref()),
            (None, _) => check.summary.clone(),
        };
        writeln!(out, "  {label:4}  {}: {text}", id_text(check.id))?;
        for line in finding_lines(&check.findings) {
            match line.starts_with("error:") {
                true => blocking += 1,
                false => warnings += 1,
            }
            // A message of several lines (cargo's "no token found …")
            // keeps them under its first.
            writeln!(out, "          {}", line.replace('\n', "\n            "))?;
        }
    }
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let verdict = match report.verdict() {
        Verdict::Ready => "ready".to_owned(),
        Verdict::ReadyWithWarnings => format!("ready, with {}", count(warnings, "warning")),
        Verdict::Blocked => format!(
            "blocked: {}, {}",
            count(blocking, "blocking problem"),
            count(warnings, "warning")
        ),
    };
    writeln!(out, "Verdict: {verdict}")?;
    match (report.verdict(), &report.next) {
        (Verdict::Ready | Verdict::ReadyWithWarnings, Some(next)) => writeln!(out, "Next: {next}"),
        _ => Ok(()),
    }
}

/// Most crate names one grouped finding lists.
const NAMES_SHOWN: usize = 8;

/// A check's findings, one line each, errors first; the same message for
/// several crates is one line with their count and names ("no readme" on
/// 60 crates is one line, not 60).
fn finding_lines(findings: &[Finding]) -> Vec<String> {
    let mut groups: Vec<(Severity, &str, Vec<&str>)> = Vec::new();
    for f in findings {
        let krate = f.krate.as_deref();
        // Only findings about crates are gathered; a general one stands alone.
        let same = krate.and_then(|_| {
            groups.iter_mut().find(|(sev, message, names)| {
                *sev == f.severity && *message == f.message && !names.is_empty()
            })
        });
        match same {
            Some((_, _, names)) => names.extend(krate),
            None => groups.push((f.severity, &f.message, krate.into_iter().collect())),
        }
    }
    groups.sort_by_key(|(sev, _, _)| match sev {
        Severity::Fail => 0,
        Severity::Warn => 1,
    });
    groups
        .into_iter()
        .map(|(sev, message, names)| {
            let mark = match sev {
                Severity::Fail => "error",
                Severity::Warn => "warning",
            };
            match names.as_slice() {
                [] => format!("{mark}: {message}"),
                [one] => format!("{mark}: {one}: {message}"),
                many => {
                    let mut shown = many[..many.len().min(NAMES_SHOWN)].join(", ");
                    if many.len() > NAMES_SHOWN {
                        shown.push_str(&format!(" and {} more", many.len() - NAMES_SHOWN));
                    }
                    format!("{mark}: {} crates: {message}: {shown}", many.len())
                }
            }
        })
        .collect()
}

fn rate_text(check: &Check, eta: Option<&RateLimitEta>) -> String {
    match eta {
        Some(eta) if eta.eta_ms > 0 => format!(
            "{}; they add about {} to the release",
            check.summary,
            human_duration(eta.eta_ms)
        ),
        Some(_) => format!("{}; within the bursts, no waiting", check.summary),
        None => check.summary.clone(),
    }
}

fn state_text(state: RegistryState) -> &'static str {
    match state {
        RegistryState::NewCrate => "new crate",
        RegistryState::NewVersion => "new version",
        RegistryState::Published => "published, same content (skipped)",
        RegistryState::PublishedDifferent => "published with OTHER content: bump the version",
        RegistryState::PublishedUncompared => "published (content not compared)",
        RegistryState::Unknown => "unknown",
    }
}

fn id_text(id: CheckId) -> &'static str {
    match id {
        CheckId::Plan => "plan",
        CheckId::Metadata => "metadata",
        CheckId::UnversionedDeps => "unversioned dependencies",
        CheckId::Git => "git",
        CheckId::Package => "package and verify",
        CheckId::Registry => "registry",
        CheckId::Names => "names",
        CheckId::Token => "token",
        CheckId::Owners => "owners",
        CheckId::YankedDeps => "yanked dependencies",
        CheckId::RateLimit => "rate limits",
    }
}

pub fn json(report: &PreflightReport, out: &mut dyn Write) -> io::Result<()> {
    let doc = PreflightDocument {
        format: PREFLIGHT_JSON_FORMAT,
        verdict: report.verdict(),
        blocking: report.blocking(),
        warnings: report.warnings(),
        registry: &report.registry,
        plan_id: report.plan_id.as_deref(),
        crates: &report.crates,
        checks: report
            .checks
            .iter()
            .map(|c| CheckDocument {
                id: c.id,
                status: c.status(),
                summary: &c.summary,
                skipped: c.skipped.as_deref(),
                findings: &c.findings,
            })
            .collect(),
        rate_limit: report.rate_limit.as_ref(),
        trusted_publishing: report.trusted_publishing.as_ref(),
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// The `preflight --message-format json` document, format 1.
#[derive(Serialize)]
struct PreflightDocument<'a> {
    format: u32,
    verdict: Verdict,
    blocking: usize,
    warnings: usize,
    registry: &'a str,
    plan_id: Option<&'a str>,
    crates: &'a [CrateCheck],
    checks: Vec<CheckDocument<'a>>,
    rate_limit: Option<&'a RateLimitEta>,
    /// Only when trusted publishing will supply the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    trusted_publishing: Option<&'a TrustedPreflight>,
}

#[derive(Serialize)]
struct CheckDocument<'a> {
    id: CheckId,
    status: CheckStatus,
    summary: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<&'a str>,
    findings: &'a [Finding],
}

/// Append the verdict and every finding as Markdown to
/// `$GITHUB_STEP_SUMMARY`, when set (GitHub Actions).
pub fn step_summary(report: &PreflightReport) {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") else {
        return;
    };
    let verdict = match report.verdict() {
        Verdict::Ready => "ready",
        Verdict::ReadyWithWarnings => "ready, with warnings",
        Verdict::Blocked => "blocked",
    };
    let mut text = format!(
        "### cargo-shipper preflight: {verdict}\n\n| check | status | finding |\n|---|---|---|\n"
    );
    for check in &report.checks {
        let status = format!("{:?}", check.status()).to_lowercase();
        if check.findings.is_empty() {
            let note = check.skipped.as_deref().unwrap_or(&check.summary);
            text.push_str(&format!(
                "| {} | {status} | {} |\n",
                id_text(check.id),
                cell(note)
            ));
        }
        for f in &check.findings {
            let message = match &f.krate {
                Some(krate) => format!("{krate}: {}", f.message),
                None => f.message.clone(),
            };
            text.push_str(&format!(
                "| {} | {status} | {} |\n",
                id_text(check.id),
                cell(&message)
            ));
        }
    }
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = file.write_all(text.as_bytes());
    }
}

/// Text that stays inside one Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::finding_lines;
    use crate::ops::{Finding, Severity};

    fn finding(krate: Option<&str>, severity: Severity, message: &str) -> Finding {
        Finding {
            krate: krate.map(str::to_owned),
            severity,
            message: message.to_owned(),
        }
    }

    #[test]
    fn a_warning_shared_by_crates_is_one_line_after_the_errors() {
        let mut findings: Vec<Finding> = (0..60)
            .map(|i| finding(Some(&format!("c{i:02}")), Severity::Warn, "no readme"))
            .collect();
        findings.push(finding(Some("c07"), Severity::Fail, "no license"));
        findings.push(finding(None, Severity::Warn, "no readme"));
        assert_eq!(
            finding_lines(&findings),
            [
                "error: c07: no license",
                "warning: 60 crates: no readme: c00, c01, c02, c03, c04, c05, c06, c07 and 52 more",
                "warning: no readme",
            ]
        );
    }

    #[test]
    fn different_messages_stay_apart() {
        let findings = [
            finding(Some("a"), Severity::Warn, "no readme"),
            finding(Some("b"), Severity::Warn, "no repository"),
            finding(Some("c"), Severity::Warn, "no readme"),
        ];
        assert_eq!(
            finding_lines(&findings),
            [
                "warning: 2 crates: no readme: a, c",
                "warning: b: no repository",
            ]
        );
    }
}
