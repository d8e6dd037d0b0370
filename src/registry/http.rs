//! A minimal blocking HTTP GET over libcurl (already linked through cargo),
//! honouring the usual proxy environment variables as curl does.

use std::time::Duration;

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

/// GET `url`, asking caches along the way for a fresh copy.
pub fn get(url: &str, timeout: Duration) -> Result<Response, HttpError> {
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
