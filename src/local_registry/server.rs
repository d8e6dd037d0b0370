//! HTTP front of the embedded registry (hyper, HTTP/1.1). Routing and
//! status codes live here; storage rules live in `storage`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use sha2::{Digest, Sha256};

use super::storage::{Refusal, Storage};

pub struct State {
    pub storage: Storage,
    pub token: String,
    pub addr: SocketAddr,
}

type Reply = Response<Full<Bytes>>;

pub async fn serve(
    state: Arc<State>,
    req: Request<hyper::body::Incoming>,
) -> Result<Reply, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(error(
                StatusCode::BAD_REQUEST,
                "could not read the request body",
            ));
        }
    };
    Ok(route(
        &state,
        &parts.method,
        parts.uri.path(),
        &parts.headers,
        &body,
    ))
}

fn route(
    state: &State,
    method: &Method,
    path: &str,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Reply {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (&Method::GET, ["index", "config.json"]) => config(state),
        (&Method::GET, ["index", rest @ ..]) => index_file(state, &rest.join("/"), headers),
        (&Method::PUT, ["api", "v1", "crates", "new"]) => {
            authorized(state, headers).unwrap_or_else(|| publish(state, body))
        }
        (&Method::GET, ["api", "v1", "crates", name, version, "download"]) => {
            match state.storage.read_crate(name, version) {
                Some(bytes) => Response::builder()
                    .header(header::CONTENT_TYPE, "application/x-tar")
                    .body(Full::new(Bytes::from(bytes)))
                    .expect("valid response"),
                None => error(
                    StatusCode::NOT_FOUND,
                    &format!("crate `{name}` version `{version}` not found"),
                ),
            }
        }
        (&Method::DELETE, ["api", "v1", "crates", name, version, "yank"]) => {
            authorized(state, headers).unwrap_or_else(|| yank(state, name, version, true))
        }
        (&Method::PUT, ["api", "v1", "crates", name, version, "unyank"]) => {
            authorized(state, headers).unwrap_or_else(|| yank(state, name, version, false))
        }
        _ => error(StatusCode::NOT_FOUND, "not found"),
    }
}

fn config(state: &State) -> Reply {
    let body = serde_json::json!({
        "dl": format!("http://{}/api/v1/crates", state.addr),
        "api": format!("http://{}", state.addr),
    });
    json(StatusCode::OK, &body)
}

fn index_file(state: &State, rel: &str, headers: &http::HeaderMap) -> Reply {
    let Some(bytes) = state.storage.read_index_file(rel) else {
        return error(StatusCode::NOT_FOUND, "not found");
    };
    let etag = format!("\"{}\"", hex::encode(Sha256::digest(&bytes)));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    let builder = Response::builder().header(header::ETAG, &etag);
    if fresh {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Full::new(Bytes::new()))
            .expect("valid response");
    }
    builder
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Full::new(Bytes::from(bytes)))
        .expect("valid response")
}

/// `None` when the request carries the registry's token.
fn authorized(state: &State, headers: &http::HeaderMap) -> Option<Reply> {
    match headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()) {
        None => Some(error(
            StatusCode::UNAUTHORIZED,
            "this action requires authentication: pass a token",
        )),
        Some(given) if given == state.token.as_bytes() => None,
        Some(_) => Some(error(StatusCode::FORBIDDEN, "the token is invalid")),
    }
}

fn publish(state: &State, body: &[u8]) -> Reply {
    let Some((metadata, tarball)) = split_upload(body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "malformed upload: expected length-prefixed metadata and crate file",
        );
    };
    let krate: crates_io::NewCrate = match serde_json::from_slice(metadata) {
        Ok(k) => k,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("invalid upload metadata: {e}"),
            );
        }
    };
    match state.storage.publish(&krate, tarball) {
        Ok(_) => json(
            StatusCode::OK,
            &serde_json::json!({"warnings": {"invalid_categories": [], "invalid_badges": [], "other": []}}),
        ),
        Err(refusal) => refused(&refusal),
    }
}

fn yank(state: &State, name: &str, version: &str, yanked: bool) -> Reply {
    match state.storage.set_yanked(name, version, yanked) {
        Ok(()) => json(StatusCode::OK, &serde_json::json!({"ok": true})),
        Err(refusal) => refused(&refusal),
    }
}

/// The body of `PUT /api/v1/crates/new`: u32 LE length + JSON, u32 LE length + `.crate`.
fn split_upload(body: &[u8]) -> Option<(&[u8], &[u8])> {
    let take = |rest: &[u8]| -> Option<(usize, usize)> {
        let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        (rest.len() >= 4 + len).then_some((4, 4 + len))
    };
    let (start, end) = take(body)?;
    let metadata = &body[start..end];
    let rest = &body[end..];
    let (start, end) = take(rest)?;
    (end == rest.len()).then_some((metadata, &rest[start..end]))
}

fn refused(refusal: &Refusal) -> Reply {
    let status = match refusal {
        Refusal::BadRequest(_) | Refusal::Duplicate(_) => StatusCode::BAD_REQUEST,
        Refusal::NotFound(_) => StatusCode::NOT_FOUND,
    };
    error(status, &refusal.to_string())
}

fn error(status: StatusCode, detail: &str) -> Reply {
    json(status, &serde_json::json!({"errors": [{"detail": detail}]}))
}

fn json(status: StatusCode, body: &serde_json::Value) -> Reply {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("valid response")
}
