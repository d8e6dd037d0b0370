//! A test OIDC provider that stands in for GitHub Actions': an Ed25519 key
//! pair made at start, and a loopback HTTP endpoint answering
//! `GET <ACTIONS_ID_TOKEN_REQUEST_URL>&audience=AUD` (bearer
//! `ACTIONS_ID_TOKEN_REQUEST_TOKEN`) with `{"value": <JWT>}`, signed with
//! jsonwebtoken. The embedded registry verifies those JWTs with the public key.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper_util::rt::TokioIo;

/// The issuer's key pair.
pub struct TestIssuer {
    pub issuer: String,
    signing: jsonwebtoken::EncodingKey,
    public: [u8; 32],
}

impl TestIssuer {
    pub fn new(issuer: &str) -> anyhow::Result<Self> {
        use ed25519_dalek::pkcs8::EncodePrivateKey as _;
        let seed: [u8; 32] = super::random_bytes();
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let der = key
            .to_pkcs8_der()
            .map_err(|e| anyhow::anyhow!("could not encode the test issuer's key: {e}"))?;
        Ok(TestIssuer {
            issuer: issuer.to_owned(),
            signing: jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes()),
            public: key.verifying_key().to_bytes(),
        })
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// A JWT for `audience` with `claims` (GitHub's names), `iss`, `iat`,
    /// `exp` (in five minutes) and a fresh `jti` added.
    pub fn sign(&self, audience: &str, claims: &serde_json::Value) -> anyhow::Result<String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut body = claims.clone();
        body["iss"] = self.issuer.clone().into();
        body["aud"] = audience.into();
        body["iat"] = now.into();
        body["exp"] = (now + 300).into();
        body["jti"] = hex::encode(super::random_bytes::<16>()).into();
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        Ok(jsonwebtoken::encode(&header, &body, &self.signing)?)
    }
}

struct ProviderState {
    issuer: TestIssuer,
    claims: serde_json::Value,
    request_token: String,
    issued: Mutex<Vec<String>>,
}

/// A running provider; stops when dropped.
pub struct TestOidcProvider {
    addr: SocketAddr,
    state: Arc<ProviderState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestOidcProvider {
    /// Serve JWTs with `claims` signed by `issuer` on a loopback port.
    pub fn start(issuer: TestIssuer, claims: serde_json::Value) -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let state = Arc::new(ProviderState {
            issuer,
            claims,
            request_token: super::generate_token(),
            issued: Mutex::new(Vec::new()),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (shutdown, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let served = state.clone();
        let thread = std::thread::Builder::new()
            .name("shipper-oidc".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    loop {
                        tokio::select! {
                            _ = &mut stopped => break,
                            accepted = listener.accept() => {
                                let Ok((stream, _)) = accepted else { continue };
                                let state = served.clone();
                                tokio::spawn(async move {
                                    let service = hyper::service::service_fn(move |req| {
                                        let reply = answer(&state, &req);
                                        async move { Ok::<_, std::convert::Infallible>(reply) }
                                    });
                                    let _ = hyper::server::conn::http1::Builder::new()
                                        .serve_connection(TokioIo::new(stream), service)
                                        .await;
                                });
                            }
                        }
                    }
                });
            })?;
        Ok(TestOidcProvider {
            addr,
            state,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `ACTIONS_ID_TOKEN_REQUEST_URL` (GitHub's carries a query already).
    pub fn request_url(&self) -> String {
        format!("http://{}/token?api-version=2.0", self.addr)
    }

    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
    pub fn request_token(&self) -> &str {
        &self.state.request_token
    }

    /// The claims its JWTs carry (besides `iss`, `aud`, times and `jti`).
    pub fn claims(&self) -> &serde_json::Value {
        &self.state.claims
    }

    /// Every JWT handed out so far (tests scan outputs for them).
    pub fn issued(&self) -> Vec<String> {
        self.state
            .issued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A JWT signed by this provider's issuer, as a GitLab job would find it
    /// in its environment.
    pub fn jwt_for(&self, audience: &str) -> anyhow::Result<String> {
        let jwt = self.state.issuer.sign(audience, &self.state.claims)?;
        self.state
            .issued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(jwt.clone());
        Ok(jwt)
    }
}

impl Drop for TestOidcProvider {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn answer<B>(state: &ProviderState, req: &Request<B>) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, body: serde_json::Value| {
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("valid response")
    };
    if !bears(
        req.headers().get(header::AUTHORIZATION),
        &state.request_token,
    ) {
        return reply(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"message": "bad request token"}),
        );
    }
    let audience = req.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("audience="))
            .map(str::to_owned)
    });
    let Some(audience) = audience else {
        return reply(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"message": "audience is required"}),
        );
    };
    let jwt = match state.issuer.sign(&audience, &state.claims) {
        Ok(jwt) => jwt,
        Err(e) => {
            return reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::json!({"message": e.to_string()}),
            );
        }
    };
    state
        .issued
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(jwt.clone());
    reply(StatusCode::OK, serde_json::json!({"value": jwt}))
}

/// Is `value` `Bearer <token>`? The scheme is case-insensitive (RFC 9110).
fn bears(value: Option<&http::HeaderValue>, token: &str) -> bool {
    value
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, given)| {
            scheme.eq_ignore_ascii_case("bearer") && given.trim_start() == token
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_the_token_is_not() {
        let header = |v: &str| http::HeaderValue::from_str(v).unwrap();
        for good in ["Bearer t0k", "bearer t0k", "BEARER t0k"] {
            assert!(bears(Some(&header(good)), "t0k"), "{good}");
        }
        for bad in ["Bearer T0K", "Basic t0k", "t0k", "Bearert0k", "Bearer t0k2"] {
            assert!(!bears(Some(&header(bad)), "t0k"), "{bad}");
        }
        assert!(!bears(None, "t0k"));
    }
}
