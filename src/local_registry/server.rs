//! HTTP front of the embedded registry (hyper, HTTP/1.1). Routing, status
//! codes and knobs live here; storage rules live in `storage`. Requests are
//! handled on tokio's blocking pool: storage and upstream calls block.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use sha2::{Digest, Sha256};

use super::activity::Activity;
use super::index_entry::IndexEntry;
use super::knobs::{KnobState, UploadFault};
use super::rate_limit::Action;
use super::storage::{self, FirstVersion, Refusal, Storage};
use super::trusted::{Grant, TrustState};
use super::upstream::{Upstream, UpstreamFailure};

pub struct State {
    pub storage: Storage,
    pub token: String,
    pub addr: SocketAddr,
    /// Every request needs the token, reads too.
    pub auth_required: bool,
    /// crates.io's required metadata is checked on upload.
    pub require_metadata: bool,
    pub knobs: KnobState,
    pub upstream: Option<Upstream>,
    pub trusted: Option<TrustState>,
    pub activity: Arc<Activity>,
}

type Reply = Response<Full<Bytes>>;

/// Largest request body accepted.
const MAX_BODY: usize = 11 * 1024 * 1024;

/// Close the connection without answering (after an upload was stored).
#[derive(Debug)]
pub struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for Dropped {}

pub async fn serve(
    state: Arc<State>,
    req: Request<hyper::body::Incoming>,
) -> Result<Reply, Dropped> {
    let handling = state.activity.request();
    let (parts, body) = req.into_parts();
    // crates.io takes uploads up to 10 MiB; a little room for the metadata.
    let collect = http_body_util::Limited::new(body, MAX_BODY).collect();
    let Ok(collected) = tokio::time::timeout(state.knobs.knobs.stall_timeout(), collect).await
    else {
        let mut reply = error(
            StatusCode::REQUEST_TIMEOUT,
            "the request body did not arrive in time",
        );
        reply
            .headers_mut()
            .insert(header::CONNECTION, http::HeaderValue::from_static("close"));
        return Ok(reply);
    };
    let body = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Ok(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "max upload size is 10 MiB",
            ));
        }
        Err(_) => {
            return Ok(error(
                StatusCode::BAD_REQUEST,
                "could not read the request body",
            ));
        }
    };
    tokio::task::spawn_blocking(move || {
        let _handling = handling; // to the end, even when the client hung up
        route(
            &state,
            &parts.method,
            parts.uri.path(),
            &parts.headers,
            &body,
        )
    })
    .await
    .unwrap_or_else(|_| Ok(error(StatusCode::INTERNAL_SERVER_ERROR, "handler panicked")))
}

fn route(
    state: &State,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Reply, Dropped> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // With `auth_required`, every read needs the token (index files,
    // downloads, the web API), checked here once so that no route can
    // forget it. `config.json` stays open: it holds only URLs, and cargo
    // refuses a registry that answers it with a 401 unless a credential
    // provider is configured.
    if state.auth_required
        && *method == Method::GET
        && path != "/index/config.json"
        && let Some(refusal) = authorized(state, headers)
    {
        return Ok(refusal);
    }
    let reads_fail = state.knobs.reads_fail();
    let reply = match (method, segments.as_slice()) {
        (&Method::GET, ["index", "config.json"]) => config(state),
        (&Method::GET, ["index", ..]) | (&Method::GET, ["api", "v1", "crates", _, _])
            if reads_fail =>
        {
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "scripted fault: reads are failing",
            )
        }
        (&Method::GET, ["index", rest @ ..]) => index_file(state, &rest.join("/"), headers),
        (&Method::PUT, ["api", "v1", "crates", "new"]) => {
            match authorized_for(state, headers, upload_name(body).as_deref()) {
                Auth::Refused(refusal) => refusal,
                Auth::As(caller) => return publish(state, body, caller),
            }
        }
        (&Method::POST, ["api", "v1", "trusted_publishing", "tokens"]) => match &state.trusted {
            Some(trusted) => match trusted.exchange(body) {
                Ok(token) => json(StatusCode::OK, &serde_json::json!({ "token": token })),
                Err((status, detail)) => error(status, &detail),
            },
            None => error(StatusCode::NOT_FOUND, "not found"),
        },
        (&Method::DELETE, ["api", "v1", "trusted_publishing", "tokens"]) => {
            let given = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
            match (&state.trusted, given) {
                (Some(trusted), Some(given)) => match trusted.revoke(given) {
                    Ok(()) => Response::builder()
                        .status(StatusCode::NO_CONTENT)
                        .body(Full::new(Bytes::new()))
                        .expect("valid response"),
                    Err((status, detail)) => error(status, &detail),
                },
                (Some(_), None) => error(
                    StatusCode::UNAUTHORIZED,
                    "this action requires authentication: pass a token",
                ),
                (None, _) => error(StatusCode::NOT_FOUND, "not found"),
            }
        }
        (&Method::GET, ["api", "v1", "crates", name, version, "download"]) => {
            download(state, name, version)
        }
        (&Method::GET, ["api", "v1", "me"]) => me(state, headers),
        (&Method::GET, ["api", "v1", "crates", name]) => crate_info(state, name, None),
        (&Method::GET, ["api", "v1", "crates", name, "owners"]) => owners(state, name),
        (&Method::PUT | &Method::DELETE, ["api", "v1", "crates", name, "owners"]) => {
            authorized(state, headers)
                .unwrap_or_else(|| change_owners(state, name, body, method == Method::PUT))
        }
        (&Method::GET, ["api", "v1", "crates", _, _]) if state.knobs.knobs.no_version_api => {
            Response::builder()
                .status(StatusCode::NOT_FOUND)
                .body(Full::new(Bytes::new()))
                .expect("valid response")
        }
        (&Method::GET, ["api", "v1", "crates", name, version]) => {
            crate_info(state, name, Some(version))
        }
        (&Method::DELETE, ["api", "v1", "crates", name, version, "yank"]) => {
            match authorized_for(state, headers, Some(name)) {
                Auth::Refused(refusal) => refusal,
                Auth::As(_) => yank(state, name, version, true),
            }
        }
        (&Method::PUT, ["api", "v1", "crates", name, version, "unyank"]) => {
            match authorized_for(state, headers, Some(name)) {
                Auth::Refused(refusal) => refusal,
                Auth::As(_) => yank(state, name, version, false),
            }
        }
        _ => error(StatusCode::NOT_FOUND, "not found"),
    };
    Ok(reply)
}

fn config(state: &State) -> Reply {
    let mut body = serde_json::json!({
        "dl": format!("http://{}/api/v1/crates", state.addr),
        "api": format!("http://{}", state.addr),
    });
    if state.auth_required {
        body["auth-required"] = true.into();
    }
    json(StatusCode::OK, &body)
}

/// What this registry serves for a name: upstream's versions (if any),
/// replaced by ours where both have one, without those still propagating.
/// An upstream that cannot be asked is an error (answered with a 5xx).
fn visible_entries(state: &State, rel: &str) -> Result<Option<Vec<IndexEntry>>, UpstreamFailure> {
    let ours = state
        .storage
        .read_index_file(rel)
        .map(|b| storage::parse_lines(&b));
    let theirs = match &state.upstream {
        Some(u) => u.index_file(rel)?.map(|b| storage::parse_lines(&b)),
        None => None,
    };
    if ours.is_none() && theirs.is_none() {
        return Ok(None);
    }
    let ours: Vec<IndexEntry> = ours
        .unwrap_or_default()
        .into_iter()
        .filter(|e| state.knobs.is_visible(&e.name, &e.vers))
        .collect();
    let mut merged: Vec<IndexEntry> = theirs
        .unwrap_or_default()
        .into_iter()
        .filter(|t| !ours.iter().any(|o| o.vers == t.vers))
        .collect();
    merged.extend(ours);
    Ok(Some(merged))
}

/// Upstream's entries for `name`, asked now (they decide a publish).
fn upstream_entries(state: &State, name: &str) -> Result<Vec<IndexEntry>, UpstreamFailure> {
    Ok(match &state.upstream {
        Some(u) => u
            .index_file_fresh(&Storage::index_rel_path(name))?
            .map(|b| storage::parse_lines(&b))
            .unwrap_or_default(),
        None => Vec::new(),
    })
}

/// Upstream could not be asked: a 5xx, so cargo retries (a 404 is final).
fn upstream_failed(failure: &UpstreamFailure) -> Reply {
    error(StatusCode::BAD_GATEWAY, &failure.to_string())
}

fn index_file(state: &State, rel: &str, headers: &HeaderMap) -> Reply {
    if !state.knobs.knobs.index_latency.is_zero() {
        std::thread::sleep(state.knobs.knobs.index_latency);
    }
    if state.knobs.index_flaps(rel) {
        return error(StatusCode::NOT_FOUND, "not found");
    }
    if state.knobs.knobs.garbage_index {
        return Response::builder()
            .header(header::CONTENT_TYPE, "text/html")
            .body(Full::new(Bytes::from_static(
                b"<html>please log in</html>\n",
            )))
            .expect("valid response");
    }
    let entries = match visible_entries(state, rel) {
        Ok(Some(entries)) if !entries.is_empty() => entries,
        Ok(_) => return error(StatusCode::NOT_FOUND, "not found"),
        Err(failure) => return upstream_failed(&failure),
    };
    let mut bytes = Vec::new();
    for e in &entries {
        bytes.extend(serde_json::to_vec(e).expect("serializable"));
        bytes.push(b'\n');
    }
    let etag = format!("\"{}\"", hex::encode(Sha256::digest(&bytes)));
    // Derived from the content too, so it moves whenever the ETag does.
    let modified = UNIX_EPOCH
        + Duration::from_secs(
            u64::from_be_bytes(Sha256::digest(&bytes)[..8].try_into().expect("8 bytes"))
                % 1_000_000_000,
        );
    let last_modified = httpdate::fmt_http_date(modified);
    let not_modified = match headers.get(header::IF_NONE_MATCH) {
        Some(tag) => tag.as_bytes() == etag.as_bytes(),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .is_some_and(|since| since.as_bytes() == last_modified.as_bytes()),
    };
    let builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::LAST_MODIFIED, &last_modified);
    if not_modified {
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

fn download(state: &State, name: &str, version: &str) -> Reply {
    let bytes = match (state.storage.read_crate(name, version), &state.upstream) {
        (Some(bytes), _) => Some(bytes),
        (None, Some(upstream)) if storage::valid_name(name) => {
            match upstream.download(name, version) {
                Ok(bytes) => bytes,
                Err(failure) => return upstream_failed(&failure),
            }
        }
        (None, _) => None,
    };
    match bytes {
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

/// Whose token authorized a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// The registry's own token (crates.io: an API token).
    Registry,
    /// A token minted by trusted publishing.
    Minted,
}

/// A request's authorization.
enum Auth {
    As(Caller),
    Refused(Reply),
}

/// Who the request is, when it carries the registry's token or a token
/// minted by trusted publishing for `krate` that is still live.
fn authorized_for(state: &State, headers: &HeaderMap, krate: Option<&str>) -> Auth {
    let given = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
    if let (Some(trusted), Some(given)) = (&state.trusted, given) {
        match trusted.grant(given, krate) {
            Grant::NotMinted => {}
            Grant::Allowed => return Auth::As(Caller::Minted),
            Grant::Refused(status, detail) => return Auth::Refused(error(status, &detail)),
        }
    }
    match authorized(state, headers) {
        Some(refusal) => Auth::Refused(refusal),
        None => Auth::As(Caller::Registry),
    }
}

/// The crate name in an upload's metadata, for the token's scope.
fn upload_name(body: &[u8]) -> Option<String> {
    let (metadata, _) = split_upload(body)?;
    let value: serde_json::Value = serde_json::from_slice(metadata).ok()?;
    value["name"].as_str().map(str::to_owned)
}

/// `None` when the request carries the registry's token.
fn authorized(state: &State, headers: &HeaderMap) -> Option<Reply> {
    match headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()) {
        None => Some(error(
            StatusCode::UNAUTHORIZED,
            "this action requires authentication: pass a token",
        )),
        Some(given) if given == state.token.as_bytes() => None,
        Some(_) => Some(error(StatusCode::FORBIDDEN, "the token is invalid")),
    }
}

fn publish(state: &State, body: &[u8], caller: Caller) -> Result<Reply, Dropped> {
    if !state.knobs.knobs.upload_latency.is_zero() {
        std::thread::sleep(state.knobs.knobs.upload_latency);
    }
    let fault = state.knobs.next_upload();
    match fault {
        Some(UploadFault::Status(status)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Ok(error(status, "scripted fault: the registry failed"));
        }
        Some(UploadFault::RateLimited(retry)) => {
            let value = retry.header_value();
            let mut reply = error(
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "You have published too many crates in a short period of time. Please try again after {value}."
                ),
            );
            reply.headers_mut().insert(
                header::RETRY_AFTER,
                value.parse().expect("valid header value"),
            );
            return Ok(reply);
        }
        Some(UploadFault::DropAfterStore | UploadFault::StoreUnindexed) | None => {}
    }
    let Some((metadata, tarball)) = split_upload(body) else {
        return Ok(error(
            StatusCode::BAD_REQUEST,
            "malformed upload: expected length-prefixed metadata and crate file",
        ));
    };
    let krate: crates_io::NewCrate = match serde_json::from_slice(metadata) {
        Ok(k) => k,
        Err(e) => {
            return Ok(error(
                StatusCode::BAD_REQUEST,
                &format!("invalid upload metadata: {e}"),
            ));
        }
    };
    // A registry that contradicts itself: the database has it, the index not.
    if state.knobs.is_unindexed(&krate.name, &krate.vers) {
        state.knobs.duplicate();
        return Ok(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Crate with version already exists",
        ));
    }
    if fault == Some(UploadFault::StoreUnindexed) {
        state.knobs.keep_unindexed(&krate.name, &krate.vers);
        return Err(Dropped);
    }
    if state.require_metadata {
        let filled = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        let missing = crate::crates_io::missing_metadata(
            filled(&krate.description),
            filled(&krate.license) || filled(&krate.license_file),
        );
        if !missing.is_empty() {
            return Ok(error(
                StatusCode::BAD_REQUEST,
                &crate::crates_io::missing_metadata_message(&missing),
            ));
        }
    }
    // Upstream's versions count as taken and its crates as known: never
    // accept a version as "not taken" when upstream could not be asked.
    // The crate's other spellings too: upstream may hold it as `foo_bar`.
    let mut theirs = std::collections::HashMap::new();
    let spellings = storage::spellings(&krate.name);
    for name in spellings.iter().chain(
        krate
            .deps
            .iter()
            .filter(|d| d.registry.is_none())
            .map(|d| &d.name),
    ) {
        match upstream_entries(state, name) {
            Ok(entries) => {
                theirs.insert(name.clone(), entries);
            }
            Err(failure) => {
                return Ok(error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("{failure}; try again"),
                ));
            }
        }
    }
    let upstream = |name: &str| theirs.get(name).cloned().unwrap_or_default();
    let action = if state.storage.entries(&krate.name).is_empty() {
        Action::NewCrate
    } else {
        Action::NewVersion
    };
    if let Err(wait) = state.knobs.take_token(&state.token, action) {
        return Ok(too_many(action, wait));
    }
    // crates.io's trusted publishing has no configuration for a crate that
    // does not exist yet: a first version needs an API token.
    let first_version = match caller {
        Caller::Registry => FirstVersion::Allowed,
        Caller::Minted if state.trusted.as_ref().is_some_and(|t| t.config.new_crates) => {
            FirstVersion::Allowed
        }
        Caller::Minted => FirstVersion::Refused(
            "trusted publishing cannot publish a crate's first version: publish it once with \
             an API token (the registry's token), then configure trusted publishing for its \
             next versions",
        ),
    };
    match state
        .storage
        .publish(&krate, tarball, metadata, &upstream, first_version)
    {
        Ok(entry) => {
            state.knobs.stored(&entry.name, &entry.vers);
            if fault == Some(UploadFault::DropAfterStore) {
                return Err(Dropped);
            }
            Ok(json(
                StatusCode::OK,
                &serde_json::json!({"warnings": {"invalid_categories": [], "invalid_badges": [], "other": []}}),
            ))
        }
        Err(refusal) => {
            if matches!(refusal, Refusal::Duplicate(_)) {
                state.knobs.duplicate();
            }
            Ok(refused(&refusal))
        }
    }
}

fn crate_info(state: &State, name: &str, version: Option<&str>) -> Reply {
    let entries = state.storage.entries(name);
    if entries.is_empty() {
        return error(
            StatusCode::NOT_FOUND,
            &format!("crate `{name}` does not exist"),
        );
    }
    let krate = &entries[0].name;
    let describe = |e: &IndexEntry| serde_json::json!({"crate": krate, "num": e.vers, "yanked": e.yanked, "checksum": e.cksum});
    match version {
        Some(version) => match entries.iter().find(|e| e.vers == version) {
            Some(e) => json(StatusCode::OK, &serde_json::json!({"version": describe(e)})),
            None => error(
                StatusCode::NOT_FOUND,
                &format!("crate `{krate}` does not have a version `{version}`"),
            ),
        },
        None => {
            let max = entries
                .iter()
                .filter_map(|e| semver::Version::parse(&e.vers).ok())
                .max()
                .map(|v| v.to_string());
            json(
                StatusCode::OK,
                &serde_json::json!({
                    "crate": {"id": krate, "name": krate, "max_version": max},
                    "versions": entries.iter().map(describe).collect::<Vec<_>>(),
                }),
            )
        }
    }
}

/// Whose token this is. Unlike crates.io (which answers only its website's
/// sessions here), tokens are welcome; a wrong or missing one is a 401.
fn me(state: &State, headers: &HeaderMap) -> Reply {
    match headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()) {
        Some(given) if given == state.token.as_bytes() => json(
            StatusCode::OK,
            &serde_json::json!({"user": {"id": 1, "login": storage::OWNER, "name": null}}),
        ),
        _ => error(StatusCode::UNAUTHORIZED, "the token is missing or invalid"),
    }
}

fn owners(state: &State, name: &str) -> Reply {
    if state.storage.entries(name).is_empty() {
        return error(
            StatusCode::NOT_FOUND,
            &format!("crate `{name}` does not exist"),
        );
    }
    let users: Vec<_> = state
        .storage
        .owners(name)
        .iter()
        .enumerate()
        .map(|(i, login)| serde_json::json!({"id": i + 1, "login": login, "name": null}))
        .collect();
    json(StatusCode::OK, &serde_json::json!({"users": users}))
}

fn change_owners(state: &State, name: &str, body: &[u8], add: bool) -> Reply {
    #[derive(serde::Deserialize)]
    struct Users {
        users: Vec<String>,
    }
    let Ok(Users { users }) = serde_json::from_slice(body) else {
        return error(StatusCode::BAD_REQUEST, "expected {\"users\": [..]}");
    };
    let mut owners = state.storage.owners(name);
    if add {
        owners.extend(
            users
                .iter()
                .filter(|u| !owners.contains(u))
                .cloned()
                .collect::<Vec<_>>(),
        );
    } else {
        owners.retain(|o| !users.contains(o));
        if owners.is_empty() {
            return error(
                StatusCode::BAD_REQUEST,
                "cannot remove all individual owners of a crate",
            );
        }
    }
    match state.storage.set_owners(name, &owners) {
        Ok(()) => {
            let msg = format!("owners of `{name}` are now: {}", owners.join(", "));
            json(StatusCode::OK, &serde_json::json!({"ok": true, "msg": msg}))
        }
        Err(refusal) => refused(&refusal),
    }
}

/// crates.io's 429: its words, and `Retry-After` in whole seconds.
fn too_many(action: Action, wait: Duration) -> Reply {
    let at = httpdate::fmt_http_date(std::time::SystemTime::now() + wait);
    let mut reply = error(StatusCode::TOO_MANY_REQUESTS, &action.refusal(&at));
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
    reply.headers_mut().insert(
        header::RETRY_AFTER,
        seconds.to_string().parse().expect("valid header value"),
    );
    reply
}

fn yank(state: &State, name: &str, version: &str, yanked: bool) -> Reply {
    if let Err(wait) = state.knobs.take_token(&state.token, Action::Yank) {
        return too_many(Action::Yank, wait);
    }
    // The token's user is `OWNER`; a crate whose owners no longer include
    // it is someone else's, as on crates.io.
    if !state.storage.entries(name).is_empty()
        && !state
            .storage
            .owners(name)
            .iter()
            .any(|o| o == storage::OWNER)
    {
        return error(
            StatusCode::FORBIDDEN,
            "must already be an owner to yank or unyank",
        );
    }
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
        Refusal::Forbidden(_) => StatusCode::FORBIDDEN,
        Refusal::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
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
