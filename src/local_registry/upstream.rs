//! Read-only pass-through to an upstream sparse registry (crates.io by
//! default, for rehearsals): index files and downloads of crates this
//! registry does not hold. Blocking; called from tokio's blocking pool, so
//! requests run in parallel.
//!
//! Fast: connections (and their TLS sessions) are reused through a pool of
//! curl handles, and index files are cached for the registry's lifetime and
//! revalidated with `ETag` / `Last-Modified` (cargo asks for the same files
//! again for every member it packages). Honest: an upstream that cannot be
//! asked is an [`UpstreamFailure`], never "not found" (cargo gives up on a
//! 404 but retries a 5xx).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Upstream could not answer (transport error, 5xx, an unexpected status).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the upstream registry could not be asked for `{what}`: {reason}")]
pub struct UpstreamFailure {
    pub what: String,
    pub reason: String,
}

pub struct Upstream {
    /// Index root, without the `sparse+` prefix, ending in `/`.
    index: String,
    dl: OnceLock<String>,
    /// Names (lowercase) never passed through: served only from this
    /// registry (a rehearsal's own crates, so a hermetic workspace needs no
    /// network and upstream never shadows what is rehearsed).
    local_only: BTreeSet<String>,
    /// Index files by path, with their validators.
    cache: Mutex<HashMap<String, Cached>>,
    /// Idle curl handles: each keeps its connections open.
    handles: Mutex<Vec<curl::easy::Easy>>,
    #[cfg(test)]
    pub(crate) stats: Mutex<Stats>,
}

#[derive(Debug, Clone)]
struct Cached {
    etag: Option<String>,
    last_modified: Option<String>,
    body: Vec<u8>,
}

#[cfg(test)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stats {
    pub full: u32,
    pub not_modified: u32,
}

struct Answer {
    status: u32,
    etag: Option<String>,
    last_modified: Option<String>,
    body: Vec<u8>,
}

impl Upstream {
    pub fn new(index_url: &str) -> Self {
        let mut index = index_url.trim_start_matches("sparse+").to_owned();
        if !index.ends_with('/') {
            index.push('/');
        }
        Upstream {
            index,
            dl: OnceLock::new(),
            local_only: BTreeSet::new(),
            cache: Mutex::default(),
            handles: Mutex::default(),
            #[cfg(test)]
            stats: Mutex::default(),
        }
    }

    pub fn with_local_only(mut self, names: &[String]) -> Self {
        self.local_only = names.iter().map(|n| n.to_lowercase()).collect();
        self
    }

    fn passes_through(&self, name: &str) -> bool {
        !self.local_only.contains(&name.to_lowercase())
    }

    /// The upstream index file at `rel`: `Ok(None)` when upstream has none.
    pub fn index_file(&self, rel: &str) -> Result<Option<Vec<u8>>, UpstreamFailure> {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        if !self.passes_through(name) {
            return Ok(None);
        }
        let cached = self.lock_cache().get(rel).cloned();
        let mut headers = Vec::new();
        if let Some(c) = &cached {
            if let Some(etag) = &c.etag {
                headers.push(format!("If-None-Match: {etag}"));
            }
            if let Some(modified) = &c.last_modified {
                headers.push(format!("If-Modified-Since: {modified}"));
            }
        }
        let url = format!("{}{rel}", self.index);
        let answer = self.get(&url, &headers, Duration::from_secs(30))?;
        match (answer.status, cached) {
            (304, Some(cached)) => {
                #[cfg(test)]
                {
                    self.stats.lock().unwrap().not_modified += 1;
                }
                Ok(Some(cached.body))
            }
            (200, _) => {
                #[cfg(test)]
                {
                    self.stats.lock().unwrap().full += 1;
                }
                if answer.etag.is_some() || answer.last_modified.is_some() {
                    self.lock_cache().insert(
                        rel.to_owned(),
                        Cached {
                            etag: answer.etag,
                            last_modified: answer.last_modified,
                            body: answer.body.clone(),
                        },
                    );
                }
                Ok(Some(answer.body))
            }
            // cargo's meaning of "this crate does not exist".
            (404 | 410 | 451, _) => {
                self.lock_cache().remove(rel);
                Ok(None)
            }
            (status, _) => Err(failure(&url, format!("HTTP {status}"))),
        }
    }

    /// The upstream `.crate` for `name@version`: `Ok(None)` when upstream has none.
    pub fn download(&self, name: &str, version: &str) -> Result<Option<Vec<u8>>, UpstreamFailure> {
        if !self.passes_through(name) {
            return Ok(None);
        }
        let dl = self.dl()?;
        let url = if dl.contains("{crate}") || dl.contains("{version}") {
            dl.replace("{crate}", name).replace("{version}", version)
        } else {
            format!("{}/{name}/{version}/download", dl.trim_end_matches('/'))
        };
        let answer = self.get(&url, &[], Duration::from_secs(60))?;
        match answer.status {
            200 => Ok(Some(answer.body)),
            404 | 410 | 451 => Ok(None),
            status => Err(failure(&url, format!("HTTP {status}"))),
        }
    }

    fn dl(&self) -> Result<&str, UpstreamFailure> {
        if let Some(dl) = self.dl.get() {
            return Ok(dl);
        }
        let url = format!("{}config.json", self.index);
        let answer = self.get(&url, &[], Duration::from_secs(30))?;
        if answer.status != 200 {
            return Err(failure(&url, format!("HTTP {}", answer.status)));
        }
        let config: serde_json::Value = serde_json::from_slice(&answer.body)
            .map_err(|e| failure(&url, format!("not JSON: {e}")))?;
        let dl = config["dl"]
            .as_str()
            .ok_or_else(|| failure(&url, "no `dl` in config.json".into()))?;
        let _ = self.dl.set(dl.to_owned());
        Ok(self.dl.get().expect("just set").as_str())
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// GET on a pooled handle (its connections stay open for the next request).
    fn get(
        &self,
        url: &str,
        headers: &[String],
        timeout: Duration,
    ) -> Result<Answer, UpstreamFailure> {
        let mut easy = self
            .handles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_else(curl::easy::Easy::new);
        let result = fetch(&mut easy, url, headers, timeout);
        if result.is_ok() {
            self.handles
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(easy);
        }
        result.map_err(|e| failure(url, e.to_string()))
    }
}

fn failure(what: &str, reason: String) -> UpstreamFailure {
    UpstreamFailure {
        what: what.to_owned(),
        reason,
    }
}

fn fetch(
    easy: &mut curl::easy::Easy,
    url: &str,
    headers: &[String],
    timeout: Duration,
) -> Result<Answer, curl::Error> {
    easy.reset();
    easy.url(url)?;
    easy.get(true)?;
    easy.follow_location(true)?;
    easy.accept_encoding("")?;
    easy.connect_timeout(Duration::from_secs(10))?;
    easy.timeout(timeout)?;
    easy.useragent(concat!("cargo-shipper/", env!("CARGO_PKG_VERSION")))?;
    let mut list = curl::easy::List::new();
    for h in headers {
        list.append(h)?;
    }
    easy.http_headers(list)?;
    let mut body = Vec::new();
    let mut etag = None;
    let mut last_modified = None;
    {
        let mut transfer = easy.transfer();
        transfer.write_function(|data| {
            body.extend_from_slice(data);
            Ok(data.len())
        })?;
        transfer.header_function(|line| {
            let line = String::from_utf8_lossy(line);
            if line.starts_with("HTTP/") {
                etag = None;
                last_modified = None;
            } else if let Some((k, v)) = line.split_once(':') {
                let v = v.trim().to_owned();
                if k.eq_ignore_ascii_case("etag") {
                    etag = Some(v);
                } else if k.eq_ignore_ascii_case("last-modified") {
                    last_modified = Some(v);
                }
            }
            true
        })?;
        transfer.perform()?;
    }
    Ok(Answer {
        status: easy.response_code()?,
        etag,
        last_modified,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_registry::{LocalRegistry, RegistryConfig};

    #[test]
    fn index_files_are_cached_and_revalidated() {
        let dir = tempfile::tempdir().unwrap();
        let registry = LocalRegistry::start(RegistryConfig::new(dir.path())).unwrap();
        // An index file the registry has (any valid crate entry works).
        let rel = "3/a/abc";
        std::fs::create_dir_all(dir.path().join("index/3/a")).unwrap();
        std::fs::write(
            dir.path().join("index/3/a/abc"),
            "{\"name\":\"abc\",\"vers\":\"0.1.0\",\"deps\":[],\"cksum\":\"00\",\"features\":{},\"yanked\":false}\n",
        )
        .unwrap();
        let upstream = Upstream::new(&registry.index_url());
        let first = upstream.index_file(rel);
        let second = upstream.index_file(rel);
        match (&first, &second) {
            (Ok(Some(a)), Ok(Some(b))) => assert_eq!(a, b),
            other => panic!("{other:?} (storage layout changed? then adjust this test)"),
        }
        let stats = *upstream.stats.lock().unwrap();
        assert_eq!(
            stats,
            Stats {
                full: 1,
                not_modified: 1
            }
        );
        assert_eq!(upstream.index_file("3/n/nope").unwrap(), None);
    }

    #[test]
    fn an_upstream_that_cannot_answer_is_a_failure_not_a_miss() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let upstream = Upstream::new(&format!("sparse+http://{addr}/index/"));
        assert!(upstream.index_file("3/a/abc").is_err());
        assert!(upstream.download("abc", "0.1.0").is_err());
        // Local-only names are never asked about.
        let upstream = upstream.with_local_only(&["abc".into()]);
        assert_eq!(upstream.index_file("3/a/abc").unwrap(), None);
    }
}
