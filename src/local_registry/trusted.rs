//! crates.io's trusted publishing, played by the embedded registry: an OIDC
//! JWT from a CI provider is verified against the issuer's public key
//! (jsonwebtoken, EdDSA), its claims are matched against per-crate
//! configurations, and a short-lived token is minted for the crates that
//! match (`POST /api/v1/trusted_publishing/tokens`, `{"jwt": …}` →
//! `{"token": …}`). The token authorizes publish and yank of those crates
//! (a first version only with `new_crates`: crates.io's cannot) until it
//! expires (401, "expired") or is revoked (`DELETE` on the same path,
//! authenticated by the token itself).

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::StatusCode;

use super::storage::canonical_name;

/// Who may exchange a JWT, and for what.
#[derive(Debug, Clone)]
pub struct TrustedPublishing {
    /// Expected `iss` of the JWTs.
    pub issuer: String,
    /// Expected `aud` (crates.io: `crates.io`, its host); `None`: this
    /// registry's `host:port`, as a client derives it from the API URL.
    pub audience: Option<String>,
    /// The issuer's Ed25519 public key (32 bytes).
    pub issuer_key: [u8; 32],
    /// How long a minted token lives (crates.io: 30 minutes). A lifetime
    /// past what `Instant` can hold means a token that never expires.
    pub token_lifetime: Duration,
    pub configs: Vec<TrustedConfig>,
    /// May a minted token publish a crate's first version? crates.io: no (a
    /// configuration exists only for an existing crate), so `false` is
    /// crates.io's rule; `true` lets tests release a workspace from scratch.
    pub new_crates: bool,
}

impl TrustedPublishing {
    /// The configured crates, each once (names that differ only in case or
    /// `-`/`_` are one crate; several tables for one are alternatives).
    pub fn crates(&self) -> Vec<&str> {
        let mut seen = HashSet::new();
        self.configs
            .iter()
            .filter(|c| seen.insert(canonical_name(&c.krate)))
            .map(|c| c.krate.as_str())
            .collect()
    }
}

/// One crate's trusted-publishing configuration (GitHub-shaped, as
/// crates.io's: repository, workflow file, optional environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedConfig {
    pub krate: String,
    /// `owner/name`.
    pub repository: String,
    /// The workflow file's name, e.g. `release.yml`.
    pub workflow: String,
    pub environment: Option<String>,
}

/// The claims the registry reads (GitHub's names).
#[derive(Debug, Clone, serde::Deserialize)]
struct Claims {
    #[serde(default)]
    repository: String,
    /// `owner/name/.github/workflows/release.yml@refs/heads/main`.
    #[serde(default)]
    job_workflow_ref: String,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    jti: Option<String>,
}

impl TrustedConfig {
    fn matches(&self, claims: &Claims) -> bool {
        let workflow_prefix = format!("{}/.github/workflows/{}@", self.repository, self.workflow);
        claims.repository.eq_ignore_ascii_case(&self.repository)
            && claims.job_workflow_ref.starts_with(&workflow_prefix)
            && self
                .environment
                .as_ref()
                .is_none_or(|env| claims.environment.as_deref() == Some(env.as_str()))
    }
}

struct Minted {
    token: String,
    crates: Vec<String>,
    /// `None`: the lifetime reaches past what `Instant` can hold.
    expires: Option<Instant>,
    revoked: bool,
}

/// Run-time state: the configuration, minted tokens, used JWT ids.
pub struct TrustState {
    pub config: TrustedPublishing,
    audience: String,
    minted: Mutex<Vec<Minted>>,
    used_jti: Mutex<HashSet<String>>,
}

/// What a request's token is worth for an action on a crate.
pub enum Grant {
    /// Not a minted token: the registry's own rules apply.
    NotMinted,
    Allowed,
    Refused(StatusCode, String),
}

impl TrustState {
    pub fn new(config: TrustedPublishing, addr: std::net::SocketAddr) -> Self {
        TrustState {
            audience: config.audience.clone().unwrap_or_else(|| addr.to_string()),
            config,
            minted: Mutex::new(Vec::new()),
            used_jti: Mutex::new(HashSet::new()),
        }
    }

    /// The `aud` JWTs must carry.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// `POST /api/v1/trusted_publishing/tokens`.
    pub fn exchange(&self, body: &[u8]) -> Result<String, (StatusCode, String)> {
        let bad = |m: String| (StatusCode::BAD_REQUEST, m);
        let request: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| bad(format!("Failed to deserialize the JSON body: {e}")))?;
        let jwt = request["jwt"]
            .as_str()
            .ok_or_else(|| bad("missing field `jwt`".into()))?;
        let key = jsonwebtoken::DecodingKey::from_ed_der(&self.config.issuer_key);
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
        validation.set_audience(&[&self.audience]);
        validation.set_issuer(&[&self.config.issuer]);
        validation.leeway = 0;
        let claims = jsonwebtoken::decode::<Claims>(jwt, &key, &validation)
            .map_err(|e| bad(format!("Failed to decode JWT: {e}")))?
            .claims;
        if let Some(jti) = &claims.jti
            && !lock(&self.used_jti).insert(jti.clone())
        {
            return Err(bad("JWT has already been used".into()));
        }
        let crates: Vec<String> = self
            .config
            .configs
            .iter()
            .filter(|c| c.matches(&claims))
            .map(|c| c.krate.clone())
            .collect();
        if crates.is_empty() {
            return Err(bad(format!(
                "No Trusted Publishing config found for repository `{}`.",
                claims.repository
            )));
        }
        let token = format!("cio_tp_{}", super::generate_token());
        lock(&self.minted).push(Minted {
            token: token.clone(),
            crates,
            expires: Instant::now().checked_add(self.config.token_lifetime),
            revoked: false,
        });
        Ok(token)
    }

    /// `DELETE /api/v1/trusted_publishing/tokens`, by the token itself.
    pub fn revoke(&self, given: &[u8]) -> Result<(), (StatusCode, String)> {
        let given = strip_bearer(given);
        let mut minted = lock(&self.minted);
        match minted.iter_mut().find(|m| m.token.as_bytes() == given) {
            Some(m) if !m.revoked => {
                m.revoked = true;
                Ok(())
            }
            _ => Err((
                StatusCode::UNAUTHORIZED,
                "this action requires a trusted publishing token".into(),
            )),
        }
    }

    /// May the token `given` publish or yank `krate` now?
    pub fn grant(&self, given: &[u8], krate: Option<&str>) -> Grant {
        let given = strip_bearer(given);
        let minted = lock(&self.minted);
        let Some(m) = minted.iter().find(|m| m.token.as_bytes() == given) else {
            return Grant::NotMinted;
        };
        if m.revoked {
            return Grant::Refused(
                StatusCode::UNAUTHORIZED,
                "the trusted publishing token has been revoked".into(),
            );
        }
        if m.expires.is_some_and(|expires| Instant::now() >= expires) {
            return Grant::Refused(
                StatusCode::UNAUTHORIZED,
                "the trusted publishing token has expired; exchange a new OIDC token".into(),
            );
        }
        match krate {
            Some(k)
                if m.crates
                    .iter()
                    .any(|c| canonical_name(c) == canonical_name(k)) =>
            {
                Grant::Allowed
            }
            Some(k) => Grant::Refused(
                StatusCode::FORBIDDEN,
                format!("The provided access token is not valid for crate `{k}`"),
            ),
            None => Grant::Refused(
                StatusCode::FORBIDDEN,
                "trusted publishing tokens may only publish and yank".into(),
            ),
        }
    }

    /// Every token minted so far (tests scan outputs for them).
    pub fn minted_tokens(&self) -> Vec<String> {
        lock(&self.minted).iter().map(|m| m.token.clone()).collect()
    }

    /// Minted tokens not revoked yet.
    pub fn live_tokens(&self) -> usize {
        lock(&self.minted).iter().filter(|m| !m.revoked).count()
    }
}

fn strip_bearer(given: &[u8]) -> &[u8] {
    given.strip_prefix(b"Bearer ").unwrap_or(given)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_registry::TestIssuer;

    #[test]
    fn a_lifetime_past_what_instant_holds_mints_a_token_that_does_not_expire() {
        let issuer = TestIssuer::new("https://issuer.example").unwrap();
        let config = TrustedPublishing {
            issuer: "https://issuer.example".into(),
            audience: Some("registry.example".into()),
            issuer_key: issuer.public_key(),
            token_lifetime: Duration::MAX,
            configs: vec![TrustedConfig {
                krate: "a-b".into(),
                repository: "o/r".into(),
                workflow: "release.yml".into(),
                environment: None,
            }],
            new_crates: false,
        };
        let state = TrustState::new(config, ([127, 0, 0, 1], 1).into());
        let claims = serde_json::json!({
            "repository": "o/r",
            "job_workflow_ref": "o/r/.github/workflows/release.yml@refs/heads/main",
        });
        let jwt = issuer.sign("registry.example", &claims).unwrap();
        let body = serde_json::json!({ "jwt": jwt }).to_string();
        let token = state.exchange(body.as_bytes()).unwrap();
        assert!(matches!(
            state.grant(format!("Bearer {token}").as_bytes(), Some("a_B")),
            Grant::Allowed
        ));
        assert!(matches!(
            state.grant(token.as_bytes(), Some("c")),
            Grant::Refused(StatusCode::FORBIDDEN, _)
        ));
    }
}
