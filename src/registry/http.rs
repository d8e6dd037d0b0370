//! Blocking HTTP over libcurl (already linked through cargo) with handles
//! that are kept and reused: a request takes an idle handle, or makes one,
//! and gives it back, so connections and TLS sessions outlive a request.
//! Handles are made by a [`HandleFactory`]: `workspace` builds one that
//! applies cargo's `[http]` settings (proxy, `cainfo`, `check-revoke`,
//! timeouts, `multiplexing`, user agent); [`Http::plain`] is curl's defaults.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use curl::easy::Easy;

use crate::secret::Secret;

/// Makes a configured handle; called on any thread.
pub type HandleFactory = dyn Fn() -> Result<Easy, curl::Error> + Send + Sync;

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

/// The HTTP client every registry read and write goes through. Cheap to
/// clone (shared pool); `Send + Sync`, for worker threads.
#[derive(Clone)]
pub struct Http {
    shared: Arc<Shared>,
}

struct Shared {
    make: Arc<HandleFactory>,
    /// Handles between requests, each with its open connections.
    idle: Mutex<Vec<Easy>>,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http").finish_non_exhaustive()
    }
}

/// The user agent when the user's configuration names none.
pub const USER_AGENT: &str = concat!("cargo-shipper/", env!("CARGO_PKG_VERSION"));

impl Http {
    /// Handles from `make` (the user's settings applied there).
    pub fn new(make: impl Fn() -> Result<Easy, curl::Error> + Send + Sync + 'static) -> Http {
        Http {
            shared: Arc::new(Shared {
                make: Arc::new(make),
                idle: Mutex::new(Vec::new()),
            }),
        }
    }

    /// curl's defaults (its proxy environment variables apply) with cargo's
    /// default timeouts: for code that has no cargo configuration (the
    /// embedded registry, tests).
    pub fn plain() -> Http {
        Http::new(|| {
            let mut easy = Easy::new();
            easy.useragent(USER_AGENT)?;
            easy.accept_encoding("")?;
            easy.connect_timeout(Duration::from_secs(30))?;
            easy.low_speed_time(Duration::from_secs(30))?;
            easy.low_speed_limit(10)?;
            Ok(easy)
        })
    }

    /// What makes this client's handles, for a client of its own that
    /// keeps them differently (the embedded registry's pass-through).
    pub fn handle_factory(&self) -> Arc<HandleFactory> {
        self.shared.make.clone()
    }

    /// How many handles wait for reuse (tests see reuse through it).
    pub fn idle_handles(&self) -> usize {
        self.shared
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Run `f` with a handle: an idle one, or a new one. The handle goes
    /// back to the pool only after a request that ended normally; after a
    /// transport failure its connection is suspect, so it is dropped.
    fn with_handle<T>(
        &self,
        url: &str,
        f: impl FnOnce(&mut Easy) -> Result<T, curl::Error>,
    ) -> Result<T, HttpError> {
        let wrap = |source| HttpError {
            url: url.to_owned(),
            source,
        };
        let idle = self
            .shared
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop();
        let mut easy = match idle {
            Some(easy) => easy,
            None => (self.shared.make)().map_err(wrap)?,
        };
        let result = f(&mut easy).map_err(wrap)?;
        self.shared
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(easy);
        Ok(result)
    }

    /// GET, fresh (`Cache-Control: no-cache`), with an `Authorization`
    /// header when given (registries that need a token to read).
    pub fn get(&self, url: &str, token: Option<&Secret>) -> Result<Response, HttpError> {
        let mut headers = vec!["Cache-Control: no-cache".to_owned()];
        if let Some(token) = token {
            headers.push(format!("Authorization: {}", token.expose()));
        }
        let answer = self.perform(url, &http::Method::GET, &headers, &[], &Limits::default())?;
        Ok(Response {
            status: answer.status,
            body: answer.body,
        })
    }

    /// Send any request; the answer with its status and headers.
    pub fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        self.send_limited(request, &Limits::default())
    }

    /// [`Http::send`] within `limits`.
    pub fn send_limited(
        &self,
        request: http::Request<Vec<u8>>,
        limits: &Limits,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        let url = request.uri().to_string();
        let (parts, body) = request.into_parts();
        let headers: Vec<String> = parts
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {}", String::from_utf8_lossy(value.as_bytes())))
            .collect();
        let answer = self.perform(&url, &parts.method, &headers, &body, limits)?;
        let mut builder = http::Response::builder().status(answer.status as u16);
        for (k, v) in answer.headers {
            builder = builder.header(k, v);
        }
        Ok(builder.body(answer.body).unwrap_or_else(|_| {
            http::Response::builder()
                .status(502)
                .body(Vec::new())
                .expect("valid")
        }))
    }

    /// One request on a pooled handle. Redirects are followed for GETs
    /// only (as cargo does for downloads).
    fn perform(
        &self,
        url: &str,
        method: &http::Method,
        headers: &[String],
        body: &[u8],
        limits: &Limits,
    ) -> Result<Answer, HttpError> {
        self.with_handle(url, |easy| {
            // Every option a request sets is set by every request: the
            // handle carries the previous request's otherwise.
            easy.url(url)?;
            // Zero: no bound on the whole request (cargo's connect and
            // low-speed limits still apply).
            easy.timeout(limits.timeout.unwrap_or(Duration::ZERO))?;
            easy.progress(limits.cut_off.is_some())?;
            match *method {
                http::Method::PUT => {
                    easy.upload(true)?;
                    easy.in_filesize(body.len() as u64)?;
                }
                http::Method::POST => {
                    easy.post(true)?;
                    easy.post_fields_copy(body)?;
                }
                http::Method::DELETE if !body.is_empty() => easy.post_fields_copy(body)?,
                _ => easy.get(true)?,
            }
            easy.custom_request(method.as_str())?;
            easy.follow_location(*method == http::Method::GET)?;
            let mut list = curl::easy::List::new();
            for header in headers {
                list.append(header)?;
            }
            // libcurl would otherwise wait for a `100 Continue` before large bodies.
            list.append("Expect:")?;
            easy.http_headers(list)?;
            let mut answer = Answer {
                status: 0,
                headers: Vec::new(),
                body: Vec::new(),
            };
            {
                let mut sent = 0usize;
                let mut transfer = easy.transfer();
                if let Some(cut_off) = &limits.cut_off {
                    // libcurl calls this at least once a second; `false` aborts.
                    transfer.progress_function(|_, _, _, _| !cut_off.load(Ordering::SeqCst))?;
                }
                transfer.read_function(|into| {
                    let n = (body.len() - sent).min(into.len());
                    into[..n].copy_from_slice(&body[sent..sent + n]);
                    sent += n;
                    Ok(n)
                })?;
                transfer.write_function(|data| {
                    answer.body.extend_from_slice(data);
                    Ok(data.len())
                })?;
                transfer.header_function(|line| {
                    let line = String::from_utf8_lossy(line);
                    if line.starts_with("HTTP/") {
                        // A new response (after 100 Continue or a redirect).
                        answer.headers.clear();
                    } else if let Some((k, v)) = line.split_once(':') {
                        answer
                            .headers
                            .push((k.trim().to_owned(), v.trim().to_owned()));
                    }
                    true
                })?;
                transfer.perform()?;
            }
            answer.status = easy.response_code()?;
            Ok(answer)
        })
    }
}

struct Answer {
    status: u32,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Bounds on one request beyond the user's settings.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// The whole request, end to end: a later run relies on an upload not
    /// landing after it (see `--upload-timeout`).
    pub timeout: Option<Duration>,
    /// Once set, the request in flight is aborted (a transport error): a
    /// stopping run past its grace period.
    pub cut_off: Option<Arc<AtomicBool>>,
}

/// `crates_io::HttpClient` with [`Limits`] (uploads and yanks).
pub struct LimitedClient {
    pub http: Http,
    pub limits: Limits,
}

impl crates_io::HttpClient for LimitedClient {
    type Error = HttpError;

    fn request(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        self.http.send_limited(request, &self.limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    /// A server answering `n` requests, counting the connections it accepted.
    fn keep_alive_server(n: usize) -> (String, std::thread::JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/x", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let mut answered = 0;
            let mut connections = 0;
            while answered < n {
                let (stream, _) = listener.accept().unwrap();
                connections += 1;
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                while answered < n {
                    let mut length = 0usize;
                    let mut line = String::new();
                    let mut first = true;
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            break;
                        }
                        first = false;
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    if first {
                        break; // the client closed this connection
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    stream
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                        .unwrap();
                    answered += 1;
                }
            }
            connections
        });
        (url, server)
    }

    #[test]
    fn sequential_requests_reuse_one_handle_and_one_connection() {
        let (url, server) = keep_alive_server(4);
        let http = Http::plain();
        for _ in 0..2 {
            assert_eq!(http.get(&url, None).unwrap().body, b"ok");
        }
        let put = http::Request::put(&url).body(b"body".to_vec()).unwrap();
        assert_eq!(http.send(put).unwrap().status(), 200);
        // After a PUT, a GET is a GET again (the handle's options are reset).
        assert_eq!(http.get(&url, None).unwrap().status, 200);
        assert_eq!(http.idle_handles(), 1);
        assert_eq!(
            server.join().unwrap(),
            1,
            "one connection for four requests"
        );
    }
}
