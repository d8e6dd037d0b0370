//! Who may act on a crate: its owners (`GET /api/v1/crates/{name}/owners`,
//! public) and whose token this is (`GET /api/v1/me`). Read-only: nothing
//! here changes anything in the registry.

use super::ConfigJson;
use super::http::Http;
use crate::secret::Secret;

/// Whose token it is, as far as the registry says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenUser {
    /// The registry named the token's user.
    Login(String),
    /// The registry refused the token itself (HTTP 401).
    Rejected,
    /// The registry does not tell (crates.io answers `/me` only to its
    /// website's sessions; other registries may lack the endpoint).
    Unknown { status: u32 },
}

#[derive(Debug, thiserror::Error)]
#[error("the registry API could not answer `{what}`: {message}")]
pub struct OwnersError {
    pub what: String,
    pub message: String,
}

/// The logins owning `name` (teams as `github:org:team`); `None` when the
/// registry does not know the crate.
pub fn crate_owners(
    http: &Http,
    api: &str,
    name: &str,
) -> Result<Option<Vec<String>>, OwnersError> {
    let url = format!("{}/api/v1/crates/{name}/owners", api.trim_end_matches('/'));
    let fail = |message: String| OwnersError {
        what: format!("owners of {name}"),
        message,
    };
    let request = http::Request::get(&url)
        .body(Vec::new())
        .map_err(|e| fail(e.to_string()))?;
    let response = http.send(request).map_err(|e| fail(e.to_string()))?;
    match response.status().as_u16() {
        200 => {
            let body: serde_json::Value = serde_json::from_slice(response.body())
                .map_err(|e| fail(format!("unreadable answer: {e}")))?;
            let users = body["users"]
                .as_array()
                .ok_or_else(|| fail("the answer lists no `users`".into()))?;
            Ok(Some(
                users
                    .iter()
                    .filter_map(|u| u["login"].as_str().map(str::to_owned))
                    .collect(),
            ))
        }
        404 => Ok(None),
        status => Err(fail(format!("HTTP {status}"))),
    }
}

/// Ask the registry whose token `token` is. Never sends it anywhere but the
/// registry's API, never puts it in an error.
pub fn token_user(http: &Http, api: &str, token: &Secret) -> Result<TokenUser, OwnersError> {
    let url = format!("{}/api/v1/me", api.trim_end_matches('/'));
    let fail = |message: String| OwnersError {
        what: "whose token this is".into(),
        message,
    };
    let request = http::Request::get(&url)
        .header(http::header::AUTHORIZATION, token.expose())
        .body(Vec::new())
        .map_err(|_| fail("the token is not a valid header value".into()))?;
    let response = http.send(request).map_err(|e| fail(e.to_string()))?;
    let status = response.status().as_u16();
    match status {
        200 => {
            let body: serde_json::Value = serde_json::from_slice(response.body())
                .map_err(|e| fail(format!("unreadable answer: {e}")))?;
            body["user"]["login"]
                .as_str()
                .map(|login| TokenUser::Login(login.to_owned()))
                .ok_or_else(|| fail("the answer names no `user.login`".into()))
        }
        401 => Ok(TokenUser::Rejected),
        status if status >= 500 => Err(fail(format!("HTTP {status}"))),
        status => Ok(TokenUser::Unknown {
            status: u32::from(status),
        }),
    }
}

/// The `.crate` the registry serves for `name@version` (from the `dl`
/// template of the index's `config.json`, cargo's rules); `token` is sent
/// when the registry needs one for reads.
pub fn download_crate(
    http: &Http,
    config: &ConfigJson,
    name: &str,
    version: &str,
    sha256: &str,
    token: Option<&Secret>,
) -> Result<Vec<u8>, OwnersError> {
    let fail = |message: String| OwnersError {
        what: format!("the .crate of {name} {version}"),
        message,
    };
    let url = config
        .download_url(name, version, sha256)
        .ok_or_else(|| fail("the registry's `dl` template cannot name it".into()))?;
    let response = http.get(&url, token).map_err(|e| fail(e.to_string()))?;
    match response.status {
        200 => Ok(response.body),
        status => Err(fail(format!("HTTP {status}"))),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    /// A one-shot HTTP server answering `status` with an API error body.
    fn answer_once(status: &str) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let status = status.to_owned();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = r#"{"errors":[{"detail":"no"}]}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        });
        format!("http://{addr}")
    }

    #[test]
    fn whose_token_by_status() {
        let token = Secret::new("t".into());
        // crates.io answers `/me` to its website's sessions only: a 403 for any token.
        assert_eq!(
            token_user(&Http::plain(), &answer_once("403 Forbidden"), &token).unwrap(),
            TokenUser::Unknown { status: 403 }
        );
        assert_eq!(
            token_user(&Http::plain(), &answer_once("404 Not Found"), &token).unwrap(),
            TokenUser::Unknown { status: 404 }
        );
        assert_eq!(
            token_user(&Http::plain(), &answer_once("401 Unauthorized"), &token).unwrap(),
            TokenUser::Rejected
        );
        assert!(
            token_user(
                &Http::plain(),
                &answer_once("503 Service Unavailable"),
                &token
            )
            .is_err()
        );
    }
}
