//! A minimal blocking HTTP GET over libcurl (already linked through cargo),
//! honouring the usual proxy environment variables as curl does.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::secret::Secret;

/// A transport-level failure: the server gave no HTTP answer.
#[derive(Debug, thiserror::Error)]
#[error("{url}: {source}")]
pub struct HttpError {
    pub url: String,
    #[source]
    pub source: curl::Error,
}

pub struct Response {
    pub status: u32,
    pub body: Vec<u8>,
}

/// GET with an `Authorization` header (registries that need a token to read).
pub fn get_with(
    url: &str,
    timeout: Duration,
    token: Option<&Secret>,
) -> Result<Response, HttpError> {
    let wrap = |source| HttpError {
        url: url.to_owned(),
        source,
    };
    let mut easy = curl::easy::Easy::new();
    easy.url(url).map_err(wrap)?;
    easy.follow_location(true).map_err(wrap)?;
    easy.accept_encoding("").map_err(wrap)?;
    easy.connect_timeout(Duration::from_secs(10))
        .map_err(wrap)?;
    easy.timeout(timeout).map_err(wrap)?;
    easy.useragent(concat!("cargo-shipper/", env!("CARGO_PKG_VERSION")))
        .map_err(wrap)?;
    let mut headers = curl::easy::List::new();
    headers.append("Cache-Control: no-cache").map_err(wrap)?;
    if let Some(token) = token {
        headers
            .append(&format!("Authorization: {}", token.expose()))
            .map_err(wrap)?;
    }
    easy.http_headers(headers).map_err(wrap)?;
    let mut body = Vec::new();
    {
        let mut transfer = easy.transfer();
        transfer
            .write_function(|data| {
                body.extend_from_slice(data);
                Ok(data.len())
            })
            .map_err(wrap)?;
        transfer.perform().map_err(wrap)?;
    }
    let status = easy.response_code().map_err(wrap)?;
    Ok(Response { status, body })
}

/// Send any request; the answer with its status and headers.
pub fn send(
    request: http::Request<Vec<u8>>,
    timeout: Duration,
) -> Result<http::Response<Vec<u8>>, HttpError> {
    send_until(request, timeout, None)
}

/// [`send`], aborted (a transport error) once `cut_off` is set: a stopping
/// run must not wait out a long upload.
pub fn send_until(
    request: http::Request<Vec<u8>>,
    timeout: Duration,
    cut_off: Option<&AtomicBool>,
) -> Result<http::Response<Vec<u8>>, HttpError> {
    let url = request.uri().to_string();
    let wrap = |source| HttpError {
        url: url.clone(),
        source,
    };
    let (parts, body) = request.into_parts();
    let mut easy = curl::easy::Easy::new();
    easy.url(&url).map_err(wrap)?;
    easy.connect_timeout(Duration::from_secs(10))
        .map_err(wrap)?;
    easy.timeout(timeout).map_err(wrap)?;
    easy.useragent(concat!("cargo-shipper/", env!("CARGO_PKG_VERSION")))
        .map_err(wrap)?;
    match parts.method {
        http::Method::GET => easy.get(true).map_err(wrap)?,
        http::Method::POST => {
            easy.post(true).map_err(wrap)?;
            easy.post_fields_copy(&body).map_err(wrap)?;
        }
        http::Method::PUT => {
            easy.upload(true).map_err(wrap)?;
            easy.in_filesize(body.len() as u64).map_err(wrap)?;
        }
        ref other => easy.custom_request(other.as_str()).map_err(wrap)?,
    }
    let mut headers = curl::easy::List::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        headers.append(&format!("{name}: {value}")).map_err(wrap)?;
    }
    // libcurl would otherwise wait for a `100 Continue` before large bodies.
    headers.append("Expect:").map_err(wrap)?;
    easy.http_headers(headers).map_err(wrap)?;
    if parts.method == http::Method::DELETE && !body.is_empty() {
        easy.post_fields_copy(&body).map_err(wrap)?;
        easy.custom_request("DELETE").map_err(wrap)?;
    }
    if cut_off.is_some() {
        easy.progress(true).map_err(wrap)?;
    }
    let mut response_body = Vec::new();
    let mut response_headers: Vec<(String, String)> = Vec::new();
    {
        let mut sent = 0usize;
        let mut transfer = easy.transfer();
        if let Some(cut_off) = cut_off {
            // libcurl calls this at least once a second; `false` aborts.
            transfer
                .progress_function(|_, _, _, _| !cut_off.load(Ordering::SeqCst))
                .map_err(wrap)?;
        }
        transfer
            .read_function(|into| {
                let n = (body.len() - sent).min(into.len());
                into[..n].copy_from_slice(&body[sent..sent + n]);
                sent += n;
                Ok(n)
            })
            .map_err(wrap)?;
        transfer
            .write_function(|data| {
                response_body.extend_from_slice(data);
                Ok(data.len())
            })
            .map_err(wrap)?;
        transfer
            .header_function(|line| {
                let line = String::from_utf8_lossy(line);
                if line.starts_with("HTTP/") {
                    response_headers.clear(); // a new response (after 100 Continue or a redirect)
                } else if let Some((k, v)) = line.split_once(':') {
                    response_headers.push((k.trim().to_owned(), v.trim().to_owned()));
                }
                true
            })
            .map_err(wrap)?;
        transfer.perform().map_err(wrap)?;
    }
    let status = easy.response_code().map_err(wrap)?;
    let mut builder = http::Response::builder().status(status as u16);
    for (k, v) in response_headers {
        builder = builder.header(k, v);
    }
    Ok(builder.body(response_body).unwrap_or_else(|_| {
        http::Response::builder()
            .status(502)
            .body(Vec::new())
            .expect("valid")
    }))
}

/// `crates_io::HttpClient` over libcurl: usable from any thread.
pub struct CurlClient {
    pub timeout: Duration,
    /// Set: requests in flight are aborted.
    pub cut_off: Option<Arc<AtomicBool>>,
}

impl crates_io::HttpClient for CurlClient {
    type Error = HttpError;

    fn request(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        send_until(request, self.timeout, self.cut_off.as_deref())
    }
}
