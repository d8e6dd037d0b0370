//! The registry's web API through the `crates-io` crate (over libcurl, so
//! it runs on worker threads): uploads, with failures classified from the
//! error's type, and version lookups for reconciliation.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use crates_io::Error as ApiError;

use super::http::{Http, HttpError, LimitedClient, Limits};
use crate::model::FailureClass;
use crate::secret::Secret;

/// A failed upload, classified.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct UploadError {
    pub class: FailureClass,
    pub message: String,
    /// From a 429's `Retry-After`.
    pub retry_after: Option<Duration>,
    /// The registry's words say this version exists already (a hint read
    /// from the API's error text): compare checksums before giving up.
    pub already_uploaded: bool,
    /// A 401 or 403: the credentials, not the crate, were refused.
    pub auth: Option<AuthRefusal>,
}

/// How a registry refused an upload's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthRefusal {
    /// It says the token expired (a minted token past its lifetime): a
    /// fresh token may be asked for and the upload sent again.
    Expired,
    /// Any other 401 or 403 (a token not valid for this crate, revoked, wrong).
    Refused,
}

/// A 401 or 403, and whether the registry's words say the token expired.
fn auth_refusal(status: u16, text: &str) -> Option<AuthRefusal> {
    matches!(status, 401 | 403).then(|| {
        if text.to_ascii_lowercase().contains("expired") {
            AuthRefusal::Expired
        } else {
            AuthRefusal::Refused
        }
    })
}

/// A lookup that could not be answered.
#[derive(Debug, thiserror::Error)]
#[error("the registry API could not answer for `{name}@{version}`: {message}")]
pub struct LookupError {
    pub name: String,
    pub version: String,
    pub message: String,
}

/// How long an upload request may take before the client gives up. A
/// request of a killed run can still land until this long after it left.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(120);

pub struct RegistryApi {
    host: String,
    timeout: Duration,
    /// Set by [`RegistryApi::cut_off_writes`]: uploads in flight abort.
    cut_off: Arc<AtomicBool>,
    http: Http,
}

impl RegistryApi {
    /// `host`: the `api` URL from the index's `config.json`.
    pub fn new(http: &Http, host: &str) -> Self {
        RegistryApi {
            host: host.trim_end_matches('/').to_owned(),
            timeout: UPLOAD_TIMEOUT,
            cut_off: Arc::default(),
            http: http.clone(),
        }
    }

    /// The API's base URL.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn with_upload_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Abort uploads and yanks in flight (an interrupted run past its grace
    /// period): they end as transport errors, outcome unknown.
    pub fn cut_off_writes(&self) {
        self.cut_off.store(true, Ordering::SeqCst);
    }

    pub fn upload(
        &self,
        metadata: &crates_io::NewCrate,
        crate_file: &Path,
        token: &Secret,
    ) -> Result<(), UploadError> {
        let file = std::fs::File::open(crate_file).map_err(|e| UploadError {
            class: FailureClass::Permanent,
            message: format!("could not open `{}`: {e}", crate_file.display()),
            retry_after: None,
            already_uploaded: false,
            auth: None,
        })?;
        let mut registry = crates_io::Registry::new_handle(
            self.host.clone(),
            Some(token.expose().to_owned()),
            LimitedClient {
                http: self.http.clone(),
                limits: Limits {
                    timeout: Some(self.timeout),
                    cut_off: Some(self.cut_off.clone()),
                },
            },
            true,
        );
        registry
            .publish(metadata, &file)
            .map(|_| ())
            .map_err(classify)
    }

    /// Yank (`yanked = true`) or unyank `name@version` through the crates-io
    /// client; failures classified as for uploads.
    pub fn set_yanked(
        &self,
        name: &str,
        version: &str,
        yanked: bool,
        token: &Secret,
    ) -> Result<(), UploadError> {
        let mut registry = crates_io::Registry::new_handle(
            self.host.clone(),
            Some(token.expose().to_owned()),
            OkGuard(LimitedClient {
                http: self.http.clone(),
                limits: Limits {
                    timeout: Some(Duration::from_secs(60)),
                    cut_off: Some(self.cut_off.clone()),
                },
            }),
            true,
        );
        let result = if yanked {
            registry.yank(name, version)
        } else {
            registry.unyank(name, version)
        };
        result.map_err(classify)
    }

    /// The checksum the API reports for `name@version`; `None` when it has no such version.
    pub fn version_checksum(
        &self,
        name: &str,
        version: &str,
        token: Option<&Secret>,
    ) -> Result<Option<String>, LookupError> {
        let fail = |message: String| LookupError {
            name: name.to_owned(),
            version: version.to_owned(),
            message,
        };
        let mut request =
            http::Request::get(format!("{}/api/v1/crates/{name}/{version}", self.host));
        if let Some(token) = token {
            request = request.header(http::header::AUTHORIZATION, token.expose());
        }
        let request = request.body(Vec::new()).map_err(|e| fail(e.to_string()))?;
        let response = self.http.send(request).map_err(|e| fail(e.to_string()))?;
        match response.status().as_u16() {
            200 => {
                let body: serde_json::Value = serde_json::from_slice(response.body())
                    .map_err(|e| fail(format!("unreadable answer: {e}")))?;
                body["version"]["checksum"]
                    .as_str()
                    .map(|sum| Some(sum.to_owned()))
                    .ok_or_else(|| fail("the answer names no checksum".into()))
            }
            // Trusted only in the API's own error shape: a registry that does
            // not serve this endpoint at all also answers 404.
            404 if serde_json::from_slice::<serde_json::Value>(response.body())
                .is_ok_and(|b| b["errors"].is_array()) =>
            {
                Ok(None)
            }
            status => Err(fail(format!("HTTP {status}"))),
        }
    }
}

/// crates-io's yank and owner calls `assert!` the answer's `ok` field, so a
/// registry answering `200 {"ok": false}` would panic this process. This
/// client turns any success without `"ok": true` into a 502 in the API's
/// error shape: a typed, retryable failure, settled by reading the index.
struct OkGuard(LimitedClient);

impl crates_io::HttpClient for OkGuard {
    type Error = HttpError;

    fn request(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        let response = self.0.request(request)?;
        let ok = serde_json::from_slice::<serde_json::Value>(response.body())
            .is_ok_and(|body| body["ok"] == serde_json::Value::Bool(true));
        if !response.status().is_success() || ok {
            return Ok(response);
        }
        let body = serde_json::json!({"errors": [{"detail": format!(
            "the registry answered HTTP {} without `\"ok\": true`",
            response.status().as_u16()
        )}]});
        Ok(http::Response::builder()
            .status(502)
            .body(body.to_string().into_bytes())
            .expect("valid response"))
    }
}

/// Decide from the error's type what a failed upload (or yank) means.
pub fn classify(error: ApiError<HttpError>) -> UploadError {
    let auth = match &error {
        ApiError::Api { code, errors, .. } => auth_refusal(code.as_u16(), &errors.join("; ")),
        ApiError::Code { code, body, .. } => auth_refusal(code.as_u16(), body),
        _ => None,
    };
    let (class, retry_after, already_uploaded, message) = match &error {
        ApiError::Transport(http) => (
            transport_class(&http.source),
            None,
            false,
            error.to_string(),
        ),
        ApiError::Api {
            code,
            headers,
            errors,
        } => {
            // The one text read: only a hint to ask the registry for the
            // version's checksum, which then decides (docs/reference/cli.md).
            // No status or error type says "exists" across registries.
            let already = errors
                .iter()
                .any(|e| e.contains("already uploaded") || e.contains("already exists"));
            let (class, retry_after, already) = status_class(code.as_u16(), headers, already);
            (
                class,
                retry_after,
                already,
                format!("HTTP {}: {}", code.as_u16(), errors.join("; ")),
            )
        }
        // Only the status and the start of the body: crates-io's own message
        // for this case repeats every response header.
        ApiError::Code {
            code,
            headers,
            body,
        } => {
            let (class, retry_after, already) = status_class(code.as_u16(), headers, false);
            let snippet: String = body.chars().take(200).collect();
            (
                class,
                retry_after,
                already,
                format!("HTTP {}: {}", code.as_u16(), snippet.trim()),
            )
        }
        // A 2xx whose body was not what the API promises: it probably landed.
        ApiError::Json(_) | ApiError::Utf8(_) | ApiError::Timeout(_) => {
            (FailureClass::Ambiguous, None, false, error.to_string())
        }
        // Building the request, reading the file, a missing token; and any
        // variant a later crates-io adds (the enum is non-exhaustive).
        _ => (FailureClass::Permanent, None, false, error.to_string()),
    };
    UploadError {
        class,
        message,
        retry_after,
        already_uploaded,
        auth,
    }
}

fn transport_class(error: &curl::Error) -> FailureClass {
    // Nothing reached the server: retrying cannot publish twice.
    if error.is_couldnt_connect()
        || error.is_couldnt_resolve_host()
        || error.is_couldnt_resolve_proxy()
        || error.is_ssl_connect_error()
    {
        FailureClass::Retryable
    } else {
        // The request may have been received and stored.
        FailureClass::Ambiguous
    }
}

fn status_class(
    status: u16,
    headers: &[String],
    already_uploaded: bool,
) -> (FailureClass, Option<Duration>, bool) {
    match status {
        429 => (FailureClass::RateLimited, retry_after(headers), false),
        // A 5xx may carry the refusal too (kellnr: "Crate with version already exists").
        500..=599 => (FailureClass::Retryable, None, already_uploaded),
        _ => (FailureClass::Permanent, None, already_uploaded),
    }
}

/// `Retry-After: <seconds>` or `Retry-After: <HTTP-date>`.
pub fn retry_after(headers: &[String]) -> Option<Duration> {
    let value = headers.iter().find_map(|h| {
        let (k, v) = h.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("retry-after")
            .then(|| v.trim().to_owned())
    })?;
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(&value).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_both_forms() {
        assert_eq!(
            retry_after(&["Retry-After: 30".into()]),
            Some(Duration::from_secs(30))
        );
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(90));
        let d = retry_after(&[format!("retry-after: {later}")]).unwrap();
        assert!(
            d > Duration::from_secs(80) && d <= Duration::from_secs(90),
            "{d:?}"
        );
        assert_eq!(retry_after(&["x: y".into()]), None);
    }

    #[test]
    fn statuses_map_to_classes() {
        assert_eq!(status_class(503, &[], false).0, FailureClass::Retryable);
        assert_eq!(
            status_class(429, &["retry-after: 5".into()], false).1,
            Some(Duration::from_secs(5))
        );
        assert_eq!(status_class(403, &[], false).0, FailureClass::Permanent);
        assert!(status_class(400, &[], true).2);
    }
}
