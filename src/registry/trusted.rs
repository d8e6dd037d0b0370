//! Trusted publishing over the wire, as crates.io documents it: an OIDC ID
//! token from the CI provider (GitHub Actions: a request to
//! `ACTIONS_ID_TOKEN_REQUEST_URL` with the audience, bearer
//! `ACTIONS_ID_TOKEN_REQUEST_TOKEN`; GitLab CI: an `id_tokens:` variable),
//! exchanged with `POST /api/v1/trusted_publishing/tokens` (`{"jwt": …}` →
//! `{"token": …}`) and revoked with `DELETE` on the same path, authenticated
//! by the token. Every secret stays a [`Secret`].

use super::http::Http;
use crate::secret::Secret;

/// The environment variable crates.io's documentation has GitLab jobs use.
pub const GITLAB_DEFAULT_VAR: &str = "CRATES_IO_ID_TOKEN";

/// Where ID tokens come from.
#[derive(Debug, Clone)]
pub enum OidcProvider {
    GitHub {
        request_url: String,
        request_token: Secret,
    },
    /// GitLab hands a job its ID token in a variable: one per job.
    GitLab { var: String, jwt: Secret },
}

impl OidcProvider {
    /// The provider this environment offers: GitHub Actions when both
    /// request variables are set (the job has `id-token: write`), else
    /// GitLab CI when `gitlab_var` holds a token.
    pub fn detect(env: impl Fn(&str) -> Option<String>, gitlab_var: &str) -> Option<Self> {
        let set = |k: &str| env(k).filter(|v| !v.is_empty());
        if let (Some(request_url), Some(token)) = (
            set("ACTIONS_ID_TOKEN_REQUEST_URL"),
            set("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
        ) {
            return Some(OidcProvider::GitHub {
                request_url,
                request_token: Secret::new(token),
            });
        }
        set(gitlab_var).map(|jwt| OidcProvider::GitLab {
            var: gitlab_var.to_owned(),
            jwt: Secret::new(jwt),
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            OidcProvider::GitHub { .. } => "GitHub Actions",
            OidcProvider::GitLab { .. } => "GitLab CI",
        }
    }

    /// Whether asking again can give another ID token (GitHub: yes; GitLab
    /// gives a job one).
    pub fn can_mint_again(&self) -> bool {
        matches!(self, OidcProvider::GitHub { .. })
    }

    /// An ID token for `audience`. GitHub mints a new one each time; GitLab's
    /// is the job's one (`fresh`: a second one is needed, which GitLab cannot give).
    pub fn id_token(
        &self,
        client: &Http,
        audience: &str,
        fresh: bool,
    ) -> Result<Secret, TrustedError> {
        match self {
            OidcProvider::GitHub {
                request_url,
                request_token,
            } => {
                let sep = if request_url.contains('?') { '&' } else { '?' };
                let url = format!("{request_url}{sep}audience={audience}");
                let request = http::Request::get(url)
                    .header(
                        http::header::AUTHORIZATION,
                        format!("Bearer {}", request_token.expose()),
                    )
                    .body(Vec::new())
                    .map_err(|e| TrustedError::Provider(e.to_string()))?;
                let response = client
                    .send(request)
                    .map_err(|e| TrustedError::Provider(e.to_string()))?;
                if response.status() != 200 {
                    return Err(TrustedError::Provider(format!(
                        "the ID token request answered HTTP {}; does the job have `permissions: id-token: write`?",
                        response.status().as_u16()
                    )));
                }
                let body: serde_json::Value = serde_json::from_slice(response.body())
                    .map_err(|e| TrustedError::Provider(format!("unreadable answer: {e}")))?;
                body["value"]
                    .as_str()
                    .map(|v| Secret::new(v.to_owned()))
                    .ok_or_else(|| TrustedError::Provider("the answer holds no `value`".into()))
            }
            OidcProvider::GitLab { var, jwt } => {
                if fresh {
                    return Err(TrustedError::Provider(format!(
                        "GitLab CI gives a job one ID token (`{var}`), and it was exchanged already; \
                         stop before the token's expiry with `--stop-after` and continue in another job"
                    )));
                }
                Ok(jwt.clone())
            }
        }
    }
}

/// The audience a registry expects: its API URL without the scheme
/// (`https://crates.io` → `crates.io`), as crates.io's own action derives it.
pub fn audience(api: &str) -> String {
    let api = api.trim_end_matches('/');
    api.split_once("://")
        .map_or(api, |(_, rest)| rest)
        .to_owned()
}

/// The non-secret claims of an ID token, for error messages: what a
/// trusted-publishing configuration on the registry must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Claims {
    pub repository: Option<String>,
    pub workflow: Option<String>,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub environment: Option<String>,
    /// `aud`: the registry the token was asked for.
    pub audience: Option<String>,
}

impl Claims {
    /// Read without verifying (the registry verifies): only to show them.
    pub fn of(jwt: &Secret) -> Claims {
        let Ok(data) = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(jwt.expose())
        else {
            return Claims::default();
        };
        let c = data.claims;
        let get = |k: &str| c[k].as_str().map(str::to_owned);
        Claims {
            // GitHub's names, then GitLab's.
            repository: get("repository").or_else(|| get("project_path")),
            workflow: get("job_workflow_ref")
                .or_else(|| get("workflow_ref"))
                .or_else(|| get("ci_config_ref_uri")),
            git_ref: get("ref"),
            environment: get("environment"),
            audience: get("aud").or_else(|| c["aud"][0].as_str().map(str::to_owned)),
        }
    }
}

impl std::fmt::Display for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        write!(
            f,
            "repository {}, workflow {}, ref {}, environment {}, audience {}",
            show(&self.repository),
            show(&self.workflow),
            show(&self.git_ref),
            show(&self.environment),
            show(&self.audience)
        )
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum TrustedError {
    #[error("could not get an OIDC ID token: {0}")]
    Provider(String),
    /// The registry refused the exchange (its words).
    #[error("the registry refused the OIDC token exchange (HTTP {status}): {detail}")]
    Refused { status: u16, detail: String },
    #[error("the OIDC token exchange failed: {0}")]
    Transport(String),
}

/// Exchange an ID token for a registry token at `api`.
pub fn exchange(client: &Http, api: &str, jwt: &Secret) -> Result<Secret, TrustedError> {
    let url = format!(
        "{}/api/v1/trusted_publishing/tokens",
        api.trim_end_matches('/')
    );
    let body = serde_json::json!({ "jwt": jwt.expose() }).to_string();
    let request = http::Request::post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body.into_bytes())
        .map_err(|e| TrustedError::Transport(e.to_string()))?;
    let response = client
        .send(request)
        .map_err(|e| TrustedError::Transport(e.to_string()))?;
    let status = response.status().as_u16();
    let json: Option<serde_json::Value> = serde_json::from_slice(response.body()).ok();
    if status == 200
        && let Some(token) = json.as_ref().and_then(|j| j["token"].as_str())
    {
        return Secret::token(token.to_owned(), crate::secret::TokenOrigin::Cargo).map_err(|_| {
            TrustedError::Transport("the registry answered an unusable token".into())
        });
    }
    let detail = json
        .as_ref()
        .and_then(|j| j["errors"].as_array())
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["detail"].as_str())
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "no details".into());
    Err(TrustedError::Refused { status, detail })
}

/// Revoke a minted token (authenticated by itself).
pub fn revoke(client: &Http, api: &str, token: &Secret) -> Result<(), String> {
    let url = format!(
        "{}/api/v1/trusted_publishing/tokens",
        api.trim_end_matches('/')
    );
    let request = http::Request::delete(url)
        .header(
            http::header::AUTHORIZATION,
            format!("Bearer {}", token.expose()),
        )
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    let response = client.send(request).map_err(|e| e.to_string())?;
    match response.status().as_u16() {
        200..=299 => Ok(()),
        status => Err(format!("HTTP {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_is_the_api_host() {
        assert_eq!(audience("https://crates.io"), "crates.io");
        assert_eq!(audience("http://127.0.0.1:4000/"), "127.0.0.1:4000");
    }

    #[test]
    fn github_wins_when_both_request_variables_are_set() {
        let env = |k: &str| match k {
            "ACTIONS_ID_TOKEN_REQUEST_URL" => Some("http://x/?a=1".to_owned()),
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN" => Some("t".to_owned()),
            "CRATES_IO_ID_TOKEN" => Some("jwt".to_owned()),
            _ => None,
        };
        assert_eq!(
            OidcProvider::detect(env, GITLAB_DEFAULT_VAR)
                .unwrap()
                .name(),
            "GitHub Actions"
        );
        let gitlab = |k: &str| (k == "CRATES_IO_ID_TOKEN").then(|| "jwt".to_owned());
        let provider = OidcProvider::detect(gitlab, GITLAB_DEFAULT_VAR).unwrap();
        assert_eq!(provider.name(), "GitLab CI");
        assert!(
            provider
                .id_token(&Http::plain(), "crates.io", false)
                .is_ok()
        );
        assert!(
            provider
                .id_token(&Http::plain(), "crates.io", true)
                .is_err()
        );
        assert!(OidcProvider::detect(|_| None, GITLAB_DEFAULT_VAR).is_none());
    }
}
