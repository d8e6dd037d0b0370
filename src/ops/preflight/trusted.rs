//! The token check when trusted publishing will supply the token at upload
//! time (`--trusted-publishing on`, or `auto` with a CI provider and no
//! token configured), decided as `publish` decides it. With GitHub Actions
//! the configuration is tried now: an ID token is exchanged and the minted
//! token revoked at once (a refusal here is the refusal the release would
//! meet). A GitLab job's one ID token is left for the release: crates.io
//! accepts each ID token once.

use serde::Serialize;

use super::checks::Severity;
use super::{Check, CheckId, CrateCheck, Finding, RegistryState};
use crate::ops::trusted::NoProvider;
use crate::registry::Http;
use crate::registry::trusted::{self as wire, Claims, OidcProvider, TrustedError};

/// What preflight learned of trusted publishing (the JSON's `trusted_publishing`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustedPreflight {
    /// `GitHub Actions` or `GitLab CI`.
    pub provider: String,
    /// The ID token's non-secret claims, when one was read.
    pub claims: Option<Claims>,
    pub exchange: Exchange,
}

/// The exchange tried now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exchange {
    /// A token was minted (and revoked at once).
    Ok,
    /// The registry refused: the release would be refused too.
    Refused,
    /// No ID token, or no answer: see the findings.
    Failed,
    /// GitLab CI, nothing to upload, or the registry could not be asked.
    NotTried,
}

fn finding(krate: Option<&str>, severity: Severity, message: String) -> Finding {
    Finding {
        krate: krate.map(str::to_owned),
        severity,
        message,
    }
}

/// `--trusted-publishing on` without a provider: `publish` would stop.
pub fn no_provider(error: &NoProvider) -> Check {
    Check {
        id: CheckId::Token,
        summary: "trusted publishing was asked for; no OIDC provider".into(),
        skipped: None,
        findings: vec![finding(None, Severity::Fail, error.to_string())],
    }
}

/// The token check with `provider`; `registry`: the client and API URL,
/// when the registry could be asked; `crates_io`: the target is crates.io.
pub fn check(
    provider: &OidcProvider,
    registry: Option<(&Http, &str)>,
    crates: &[CrateCheck],
    crates_io: bool,
) -> (TrustedPreflight, Check) {
    let mut findings = Vec::new();
    let to_upload = crates
        .iter()
        .filter(|c| matches!(c.state, RegistryState::NewCrate | RegistryState::NewVersion))
        .count();
    let mut claims = None;
    let exchange = match (provider, registry) {
        _ if to_upload == 0 => Exchange::NotTried,
        (OidcProvider::GitLab { jwt, .. }, _) => {
            claims = Some(Claims::of(jwt));
            Exchange::NotTried
        }
        (OidcProvider::GitHub { .. }, None) => Exchange::NotTried,
        (OidcProvider::GitHub { .. }, Some((http, api))) => {
            try_exchange(provider, http, api, &mut claims, &mut findings)
        }
    };
    // crates.io's rule; other registries may follow it (the embedded one
    // does unless told otherwise): a warning there, not a block.
    for c in crates.iter().filter(|c| c.state == RegistryState::NewCrate) {
        let (severity, whose) = if crates_io {
            (Severity::Fail, "crates.io's trusted publishing cannot")
        } else {
            (
                Severity::Warn,
                "trusted publishing cannot, on crates.io and registries that follow it,",
            )
        };
        findings.push(finding(
            Some(&c.name),
            severity,
            format!(
                "a new crate: {whose} publish a crate's first version; publish it once with a \
                 token (`--trusted-publishing off`), then add its trusted-publishing configuration"
            ),
        ));
    }
    let how = match exchange {
        Exchange::Ok => format!(
            "; an ID token was exchanged now and the minted token revoked at once: the registry \
             has a configuration matching {} (which crates it covers shows at upload)",
            claims.clone().unwrap_or_default()
        ),
        Exchange::Refused => "; the registry refused an ID token now".into(),
        Exchange::Failed => "; the exchange could not be tried".into(),
        Exchange::NotTried => match provider {
            OidcProvider::GitLab { .. } if to_upload > 0 => format!(
                "; the job's one ID token is kept for the release (not exchanged now); its \
                 claims, which the registry's configuration must match: {}",
                claims.clone().unwrap_or_default()
            ),
            _ => String::new(),
        },
    };
    let summary = format!(
        "the token will come from trusted publishing ({}) at upload time{how}",
        provider.name()
    );
    let report = TrustedPreflight {
        provider: provider.name().to_owned(),
        claims,
        exchange,
    };
    let check = Check {
        id: CheckId::Token,
        summary,
        skipped: None,
        findings,
    };
    (report, check)
}

/// Mint a token as the release would, and revoke it at once.
fn try_exchange(
    provider: &OidcProvider,
    http: &Http,
    api: &str,
    claims: &mut Option<Claims>,
    findings: &mut Vec<Finding>,
) -> Exchange {
    let jwt = match provider.id_token(http, &wire::audience(api), false) {
        Ok(jwt) => jwt,
        Err(error) => {
            findings.push(finding(None, Severity::Fail, error.to_string()));
            return Exchange::Failed;
        }
    };
    let seen = Claims::of(&jwt);
    *claims = Some(seen.clone());
    match wire::exchange(http, api, &jwt) {
        Ok(token) => {
            // One retry: a token left alive would outlive the check.
            let revoked =
                wire::revoke(http, api, &token).or_else(|_| wire::revoke(http, api, &token));
            if let Err(error) = revoked {
                findings.push(finding(
                    None,
                    Severity::Warn,
                    format!(
                        "the token minted for this check could not be revoked ({error}); it ends \
                         with its lifetime (crates.io: 30 minutes)"
                    ),
                ));
            }
            Exchange::Ok
        }
        Err(TrustedError::Refused { status, detail }) => {
            findings.push(finding(
                None,
                Severity::Fail,
                format!(
                    "the registry refused the OIDC token exchange (HTTP {status}): {detail}; \
                     the OIDC token's claims: {seen}; \
                     the registry's trusted-publishing configuration must match them \
                     (repository, workflow file, environment) and the audience must be the \
                     registry's"
                ),
            ));
            Exchange::Refused
        }
        Err(error) => {
            findings.push(finding(
                None,
                Severity::Warn,
                format!("could not try the exchange now: {error}"),
            ));
            Exchange::Failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn crate_check(name: &str, state: RegistryState) -> CrateCheck {
        CrateCheck {
            name: name.into(),
            version: "0.1.0".into(),
            state,
            local_sha256: None,
            index_sha256: None,
        }
    }

    #[test]
    fn new_crates_on_crates_io_cannot_be_published_by_trusted_publishing() {
        let provider = OidcProvider::GitLab {
            var: "ID".into(),
            jwt: Secret::new("not-a-jwt".to_owned()),
        };
        let crates = [
            crate_check("new", RegistryState::NewCrate),
            crate_check("old", RegistryState::NewVersion),
        ];
        let (report, on_crates_io) = check(&provider, None, &crates, true);
        assert_eq!(report.exchange, Exchange::NotTried);
        assert_eq!(on_crates_io.findings.len(), 1);
        assert_eq!(on_crates_io.findings[0].krate.as_deref(), Some("new"));
        assert_eq!(on_crates_io.findings[0].severity, Severity::Fail);
        // Elsewhere the registry's policy is unknown: a warning, not a block.
        let (_, elsewhere) = check(&provider, None, &crates, false);
        assert_eq!(elsewhere.findings.len(), 1);
        assert_eq!(elsewhere.findings[0].severity, Severity::Warn);
    }
}
