//! Read-only pass-through to an upstream sparse registry (crates.io by
//! default, for rehearsals): index files and downloads of crates this
//! registry does not hold. Blocking; called from tokio's blocking pool, so
//! requests run in parallel.
//!
//! Fast: cargo asks a plain-HTTP registry at most two requests at a time
//! (two connections per host, no HTTP/2), so each answer must come from
//! memory, not from a round trip to upstream. Index files are cached for
//! the registry's lifetime: served as they are for [`FRESH_FOR`] after they
//! were fetched, then revalidated with `ETag` / `Last-Modified`. When a file
//! comes in, the files of its newest versions' dependencies are fetched
//! ahead, in parallel, so they are in memory when cargo asks. Connections
//! (and their TLS sessions) are reused through a pool of curl handles.
//! Honest: an upstream that cannot be asked is an [`UpstreamFailure`],
//! never "not found" (cargo gives up on a 404 but retries a 5xx); and what
//! decides a publish (`fresh`) is always asked again.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use super::storage::Storage;

/// How long a fetched index file is served without asking upstream again.
pub const FRESH_FOR: Duration = Duration::from_secs(30);
/// Parallel fetches ahead of cargo.
const PREFETCH_THREADS: usize = 16;
/// Files fetched ahead over the registry's lifetime, at most.
const PREFETCH_LIMIT: usize = 20_000;
/// Versions (newest last in an index file) whose dependencies are fetched ahead.
const PREFETCH_VERSIONS: usize = 3;

/// Upstream could not answer (transport error, 5xx, an unexpected status).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the upstream registry could not be asked for `{what}`: {reason}")]
pub struct UpstreamFailure {
    pub what: String,
    pub reason: String,
}

pub struct Upstream {
    shared: Arc<Shared>,
    /// Upstream's `config.json` (its `dl` template), read once.
    config: OnceLock<crates_index::IndexConfig>,
    /// cargo's own download cache for the upstream (`<name>-<version>.crate`
    /// files), read-only: a file there whose sha256 is upstream's checksum
    /// is served without a download.
    crate_cache: Option<std::path::PathBuf>,
    /// Started on the first file fetched.
    workers: OnceLock<()>,
}

/// What the request threads and the prefetch workers share.
struct Shared {
    /// Index root, without the `sparse+` prefix, ending in `/`.
    index: String,
    /// Versions never passed through, by canonical name: a rehearsal's
    /// own, served only from this registry so that upstream never shadows
    /// what is rehearsed. Their crates' other versions pass through (a
    /// crate from upstream may depend on one); when upstream cannot be
    /// asked about such a crate, this registry's own versions stand alone
    /// (a hermetic workspace rehearses offline).
    hidden: BTreeMap<String, BTreeSet<String>>,
    /// Index paths of hidden crates upstream could not answer: not asked
    /// again (offline, every resolution would wait for the failure).
    unanswered: Mutex<HashSet<String>>,
    fresh_for: Duration,
    /// Index files by path (`None`: upstream has none), with validators.
    cache: Mutex<HashMap<String, Cached>>,
    /// Paths being fetched now; waiters sleep on `fetched`.
    inflight: Mutex<HashSet<String>>,
    fetched: Condvar,
    /// Idle curl handles: each keeps its connections open.
    handles: Mutex<Vec<curl::easy::Easy>>,
    /// Makes new handles; curl's defaults when `None`.
    make: Option<super::HandleMaker>,
    /// Paths to fetch ahead, and every path ever queued.
    queue: Mutex<(VecDeque<String>, HashSet<String>)>,
    queued: Condvar,
    closed: AtomicBool,
    #[cfg(test)]
    stats: Mutex<Stats>,
}

#[derive(Debug, Clone)]
struct Cached {
    etag: Option<String>,
    last_modified: Option<String>,
    body: Option<Vec<u8>>,
    at: Instant,
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
            shared: Arc::new(Shared {
                index,
                hidden: BTreeMap::new(),
                unanswered: Mutex::default(),
                fresh_for: FRESH_FOR,
                cache: Mutex::default(),
                inflight: Mutex::default(),
                fetched: Condvar::new(),
                handles: Mutex::default(),
                make: None,
                queue: Mutex::default(),
                queued: Condvar::new(),
                closed: AtomicBool::new(false),
                #[cfg(test)]
                stats: Mutex::default(),
            }),
            config: OnceLock::new(),
            crate_cache: None,
            workers: OnceLock::new(),
        }
    }

    /// Ask upstream with handles from `make` (the user's cargo `[http]`
    /// settings) instead of curl's defaults.
    pub fn with_handles(mut self, make: Option<super::HandleMaker>) -> Self {
        Arc::get_mut(&mut self.shared).expect("not shared yet").make = make;
        self
    }

    pub fn with_crate_cache(mut self, dir: Option<std::path::PathBuf>) -> Self {
        self.crate_cache = dir;
        self
    }

    /// `(name, version)` pairs never passed through (names in any
    /// spelling: case and `-`/`_` do not matter, as on crates.io).
    pub fn with_hidden(mut self, versions: &[(String, String)]) -> Self {
        let shared = Arc::get_mut(&mut self.shared).expect("not shared yet");
        for (name, version) in versions {
            shared
                .hidden
                .entry(canonical(name))
                .or_default()
                .insert(version.clone());
        }
        self
    }

    #[cfg(test)]
    fn fresh_for(mut self, fresh_for: Duration) -> Self {
        Arc::get_mut(&mut self.shared)
            .expect("not shared yet")
            .fresh_for = fresh_for;
        self
    }

    #[cfg(test)]
    pub(crate) fn stats(&self) -> Stats {
        *lock(&self.shared.stats)
    }

    /// The upstream index file at `rel`: `Ok(None)` when upstream has none.
    pub fn index_file(&self, rel: &str) -> Result<Option<Vec<u8>>, UpstreamFailure> {
        self.file(rel, false)
    }

    /// Like [`Upstream::index_file`], but asked upstream now (revalidated),
    /// whatever the cache holds: for deciding whether a version is taken.
    pub fn index_file_fresh(&self, rel: &str) -> Result<Option<Vec<u8>>, UpstreamFailure> {
        self.file(rel, true)
    }

    fn file(&self, rel: &str, fresh: bool) -> Result<Option<Vec<u8>>, UpstreamFailure> {
        let hidden = self.shared.hidden_versions(rel);
        if hidden.is_some() && lock(&self.shared.unanswered).contains(rel) {
            return Ok(None);
        }
        let body = match self.shared.load(rel, fresh) {
            Ok(body) => body,
            Err(_) if hidden.is_some() => {
                lock(&self.shared.unanswered).insert(rel.to_owned());
                return Ok(None);
            }
            Err(failure) => return Err(failure),
        };
        if let Some(body) = &body {
            self.start_workers();
            self.shared.prefetch_deps(body);
        }
        Ok(match hidden {
            Some(versions) => body.and_then(|body| without_versions(&body, versions)),
            None => body,
        })
    }

    /// The upstream `.crate` for `name@version`: `Ok(None)` when upstream has none.
    pub fn download(&self, name: &str, version: &str) -> Result<Option<Vec<u8>>, UpstreamFailure> {
        if self
            .shared
            .hidden_versions(name)
            .is_some_and(|hidden| hidden.contains(version))
        {
            return Ok(None);
        }
        if let Some(bytes) = self.cached_crate(name, version) {
            return Ok(Some(bytes));
        }
        let config = self.config()?;
        // crates-index fills every marker of cargo's `dl` template; one
        // that names `{sha256-checksum}` needs upstream's checksum first.
        let url = match config.download_url(name, version) {
            Some(url) => url,
            None => match self.upstream_checksum(name, version)? {
                Some(sum) => match config.download_url_with_checksum(name, version, &sum) {
                    Some(url) => url,
                    None => return Ok(None),
                },
                None => return Ok(None), // upstream does not list that version
            },
        };
        let answer = self.shared.get(&url, &[], Duration::from_secs(60))?;
        match answer.status {
            200 => Ok(Some(answer.body)),
            404 | 410 | 451 => Ok(None),
            status => Err(failure(&url, format!("HTTP {status}"))),
        }
    }

    /// The `.crate` from cargo's cache, if there with upstream's checksum.
    fn cached_crate(&self, name: &str, version: &str) -> Option<Vec<u8>> {
        use sha2::Digest as _;
        let dir = self.crate_cache.as_ref()?;
        if !super::storage::valid_name(name)
            || version.contains(['/', '\\'])
            || version.starts_with('.')
        {
            return None;
        }
        let bytes = std::fs::read(dir.join(format!("{name}-{version}.crate"))).ok()?;
        let index = self
            .shared
            .load(&Storage::index_rel_path(name), false)
            .ok()??;
        let wanted = super::storage::parse_lines(&index)
            .into_iter()
            .find(|e| e.vers == version)?
            .cksum;
        (hex::encode(sha2::Sha256::digest(&bytes)) == wanted).then_some(bytes)
    }

    /// The checksum upstream's index lists for `name@version`.
    fn upstream_checksum(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Option<[u8; 32]>, UpstreamFailure> {
        let Some(index) = self.shared.load(&Storage::index_rel_path(name), false)? else {
            return Ok(None);
        };
        Ok(super::storage::parse_lines(&index)
            .into_iter()
            .find(|e| e.vers == version)
            .and_then(|e| hex::decode(e.cksum).ok()?.try_into().ok()))
    }

    fn config(&self) -> Result<&crates_index::IndexConfig, UpstreamFailure> {
        if let Some(config) = self.config.get() {
            return Ok(config);
        }
        let url = format!("{}config.json", self.shared.index);
        let answer = self.shared.get(&url, &[], Duration::from_secs(30))?;
        if answer.status != 200 {
            return Err(failure(&url, format!("HTTP {}", answer.status)));
        }
        let config: crates_index::IndexConfig = serde_json::from_slice(&answer.body)
            .map_err(|e| failure(&url, format!("not a registry's config.json: {e}")))?;
        let _ = self.config.set(config);
        Ok(self.config.get().expect("just set"))
    }

    fn start_workers(&self) {
        self.workers.get_or_init(|| {
            for i in 0..PREFETCH_THREADS {
                let shared = self.shared.clone();
                let _ = std::thread::Builder::new()
                    .name(format!("shipper-prefetch-{i}"))
                    .spawn(move || shared.prefetch_loop());
            }
        });
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.queued.notify_all();
    }
}

impl Shared {
    /// The hidden versions of the crate `rel` names (an index path or a
    /// crate name; its last segment is the name), if any are.
    fn hidden_versions(&self, rel: &str) -> Option<&BTreeSet<String>> {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        self.hidden.get(&canonical(name))
    }

    /// The file at `rel`: from memory while fresh (unless `fresh`), else
    /// fetched (conditionally when cached); one fetch per path at a time.
    fn load(&self, rel: &str, fresh: bool) -> Result<Option<Vec<u8>>, UpstreamFailure> {
        loop {
            if !fresh
                && let Some(c) = lock(&self.cache).get(rel)
                && c.at.elapsed() < self.fresh_for
            {
                return Ok(c.body.clone());
            }
            let mut inflight = lock(&self.inflight);
            if inflight.insert(rel.to_owned()) {
                break;
            }
            // Someone is fetching it: wait, then look again (a `fresh`
            // caller then fetches itself: the other fetch may have started
            // before it asked).
            let _ = self
                .fetched
                .wait_timeout(inflight, Duration::from_secs(60))
                .unwrap_or_else(|p| p.into_inner());
        }
        let result = self.fetch(rel);
        lock(&self.inflight).remove(rel);
        self.fetched.notify_all();
        result
    }

    fn fetch(&self, rel: &str) -> Result<Option<Vec<u8>>, UpstreamFailure> {
        let cached = lock(&self.cache).get(rel).cloned();
        let mut headers = Vec::new();
        if let Some(c) = cached.as_ref().filter(|c| c.body.is_some()) {
            if let Some(etag) = &c.etag {
                headers.push(format!("If-None-Match: {etag}"));
            }
            if let Some(modified) = &c.last_modified {
                headers.push(format!("If-Modified-Since: {modified}"));
            }
        }
        let url = format!("{}{rel}", self.index);
        let answer = self.get(&url, &headers, Duration::from_secs(30))?;
        let (etag, last_modified, body) = match (answer.status, cached) {
            (304, Some(cached)) if cached.body.is_some() => {
                #[cfg(test)]
                {
                    lock(&self.stats).not_modified += 1;
                }
                (cached.etag, cached.last_modified, cached.body)
            }
            (200, _) => {
                #[cfg(test)]
                {
                    lock(&self.stats).full += 1;
                }
                (answer.etag, answer.last_modified, Some(answer.body))
            }
            // cargo's meaning of "this crate does not exist".
            (404 | 410 | 451, _) => (None, None, None),
            (status, _) => return Err(failure(&url, format!("HTTP {status}"))),
        };
        lock(&self.cache).insert(
            rel.to_owned(),
            Cached {
                etag,
                last_modified,
                body: body.clone(),
                at: Instant::now(),
            },
        );
        Ok(body)
    }

    /// Queue the index files of the dependencies of the newest versions in
    /// `body` (normal and build; a dependency's dev-dependencies are never
    /// resolved).
    fn prefetch_deps(&self, body: &[u8]) {
        let lines: Vec<&[u8]> = body
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let mut names = BTreeSet::new();
        for line in lines.iter().rev().take(PREFETCH_VERSIONS) {
            let Ok(entry) = serde_json::from_slice::<serde_json::Value>(line) else {
                continue;
            };
            for dep in entry["deps"].as_array().into_iter().flatten() {
                if dep["kind"].as_str() == Some("dev") || dep["registry"].is_string() {
                    continue;
                }
                let name = dep["package"].as_str().or(dep["name"].as_str());
                if let Some(name) = name {
                    names.insert(name.to_owned());
                }
            }
        }
        let mut queue = lock(&self.queue);
        for name in names {
            let rel = Storage::index_rel_path(&name);
            if queue.1.len() < PREFETCH_LIMIT
                && self.hidden_versions(&rel).is_none()
                && queue.1.insert(rel.clone())
            {
                queue.0.push_back(rel);
            }
        }
        drop(queue);
        self.queued.notify_all();
    }

    fn prefetch_loop(&self) {
        while !self.closed.load(Ordering::SeqCst) {
            let mut queue = lock(&self.queue);
            let Some(rel) = queue.0.pop_front() else {
                let _ = self
                    .queued
                    .wait_timeout(queue, Duration::from_millis(200))
                    .unwrap_or_else(|p| p.into_inner());
                continue;
            };
            drop(queue);
            // A failure here is cargo's to meet (and retry) when it asks.
            if let Ok(Some(body)) = self.load(&rel, false) {
                self.prefetch_deps(&body);
            }
        }
    }

    /// GET on a pooled handle (its connections stay open for the next request).
    fn new_handle(&self) -> Result<curl::easy::Easy, curl::Error> {
        if let Some(make) = &self.make {
            return (make.0)();
        }
        let mut easy = curl::easy::Easy::new();
        easy.accept_encoding("")?;
        easy.connect_timeout(Duration::from_secs(10))?;
        easy.useragent(concat!("cargo-shipper/", env!("CARGO_PKG_VERSION")))?;
        Ok(easy)
    }

    fn get(
        &self,
        url: &str,
        headers: &[String],
        timeout: Duration,
    ) -> Result<Answer, UpstreamFailure> {
        let idle = lock(&self.handles).pop();
        let mut easy = match idle {
            Some(easy) => easy,
            None => self.new_handle().map_err(|e| failure(url, e.to_string()))?,
        };
        let result = fetch(&mut easy, url, headers, timeout);
        if result.is_ok() {
            lock(&self.handles).push(easy);
        }
        result.map_err(|e| failure(url, e.to_string()))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn failure(what: &str, reason: String) -> UpstreamFailure {
    UpstreamFailure {
        what: what.to_owned(),
        reason,
    }
}

/// One GET. Every option a request sets is set by every request (no
/// reset: it would drop what the handle was made with).
fn fetch(
    easy: &mut curl::easy::Easy,
    url: &str,
    headers: &[String],
    timeout: Duration,
) -> Result<Answer, curl::Error> {
    easy.url(url)?;
    easy.get(true)?;
    easy.follow_location(true)?;
    easy.timeout(timeout)?;
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

/// An index file without the lines of `versions`; `None` when none is left.
fn without_versions(body: &[u8], versions: &BTreeSet<String>) -> Option<Vec<u8>> {
    let mut kept = Vec::new();
    for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let version = serde_json::from_slice::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v["vers"].as_str().map(str::to_owned));
        if version.is_some_and(|v| versions.contains(&v)) {
            continue;
        }
        kept.extend_from_slice(line);
        kept.push(b'\n');
    }
    (!kept.is_empty()).then_some(kept)
}

/// A crate name as crates.io compares names: case and `-`/`_` aside.
fn canonical(name: &str) -> String {
    name.to_lowercase().replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_registry::{LocalRegistry, RegistryConfig};

    /// An index file for `name` at `0.1.0`, depending on `deps`.
    fn entry(name: &str, deps: &[&str]) -> String {
        let deps: Vec<String> = deps
            .iter()
            .map(|d| format!("{{\"name\":\"{d}\",\"req\":\"^0.1\",\"features\":[],\"optional\":false,\"default_features\":true,\"target\":null,\"kind\":\"normal\"}}"))
            .collect();
        format!(
            "{{\"name\":\"{name}\",\"vers\":\"0.1.0\",\"deps\":[{}],\"cksum\":\"00\",\"features\":{{}},\"yanked\":false}}\n",
            deps.join(",")
        )
    }

    fn upstream_with(files: &[(&str, String)]) -> (tempfile::TempDir, LocalRegistry) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join("index").join(Storage::index_rel_path(name));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let registry = LocalRegistry::start(RegistryConfig::new(dir.path())).unwrap();
        (dir, registry)
    }

    #[test]
    fn index_files_are_served_from_memory_then_revalidated() {
        let (_dir, registry) = upstream_with(&[("abc", entry("abc", &[]))]);
        let upstream = Upstream::new(&registry.index_url()).fresh_for(Duration::from_millis(300));
        let rel = Storage::index_rel_path("abc");
        let first = upstream.index_file(&rel).unwrap().expect("there");
        assert_eq!(upstream.index_file(&rel).unwrap().as_ref(), Some(&first));
        assert_eq!(
            upstream.stats(),
            Stats {
                full: 1,
                not_modified: 0
            },
            "from memory"
        );
        std::thread::sleep(Duration::from_millis(350));
        assert_eq!(upstream.index_file(&rel).unwrap().as_ref(), Some(&first));
        assert_eq!(
            upstream.stats(),
            Stats {
                full: 1,
                not_modified: 1
            },
            "revalidated"
        );
        // What decides a publish is asked again at once.
        upstream.index_file_fresh(&rel).unwrap();
        assert_eq!(
            upstream.stats(),
            Stats {
                full: 1,
                not_modified: 2
            }
        );
        assert_eq!(upstream.index_file("3/n/nop").unwrap(), None);
    }

    #[test]
    fn dependencies_are_fetched_ahead() {
        let (_dir, registry) = upstream_with(&[
            ("top", entry("top", &["mid"])),
            ("mid", entry("mid", &["low"])),
            ("low", entry("low", &[])),
        ]);
        let upstream = Upstream::new(&registry.index_url());
        upstream
            .index_file(&Storage::index_rel_path("top"))
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while upstream.stats().full < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(upstream.stats().full, 3, "mid and low fetched ahead");
        // Asked now, they come from memory.
        upstream
            .index_file(&Storage::index_rel_path("low"))
            .unwrap();
        assert_eq!(upstream.stats().full, 3);
    }

    #[test]
    fn downloads_come_from_cargos_cache_when_the_checksum_matches() {
        use sha2::Digest as _;
        let good = b"the crate".to_vec();
        let sum = hex::encode(sha2::Sha256::digest(&good));
        let line = entry("abc", &[]).replace("\"cksum\":\"00\"", &format!("\"cksum\":\"{sum}\""));
        // Upstream lists the version but has no file: only the cache can serve it.
        let (_dir, registry) = upstream_with(&[("abc", line)]);
        let cache = tempfile::tempdir().unwrap();
        std::fs::write(cache.path().join("abc-0.1.0.crate"), &good).unwrap();
        let upstream =
            Upstream::new(&registry.index_url()).with_crate_cache(Some(cache.path().to_owned()));
        assert_eq!(upstream.download("abc", "0.1.0").unwrap(), Some(good));
        // A file that is not upstream's bytes is never served.
        std::fs::write(cache.path().join("abc-0.1.0.crate"), b"tampered").unwrap();
        assert_eq!(upstream.download("abc", "0.1.0").unwrap(), None);
    }

    /// A server answering fixed paths (404 otherwise), one request per
    /// connection; `routes` gets its base URL. Returns the base URL.
    fn serve_paths(routes: impl FnOnce(&str) -> Vec<(String, Vec<u8>)>) -> String {
        serve_paths_seeing_agents(routes).0
    }

    /// [`serve_paths`], also recording each request's `User-Agent`.
    fn serve_paths_seeing_agents(
        routes: impl FnOnce(&str) -> Vec<(String, Vec<u8>)>,
    ) -> (String, Arc<Mutex<Vec<String>>>) {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes = routes(&base);
        let agents = Arc::new(Mutex::new(Vec::new()));
        let seen = agents.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let path = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                line.clear();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    if let Some(agent) = line.strip_prefix("User-Agent:") {
                        seen.lock().unwrap().push(agent.trim().to_owned());
                    }
                    line.clear();
                }
                let (status, body) = match routes.iter().find(|(p, _)| *p == path) {
                    Some((_, body)) => ("200 OK", body.clone()),
                    None => ("404 Not Found", Vec::new()),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&body);
            }
        });
        (base, agents)
    }

    #[test]
    fn upstream_is_asked_with_the_handles_it_is_given() {
        let (base, agents) = serve_paths_seeing_agents(|_| {
            vec![("/index/3/a/abc".into(), entry("abc", &[]).into_bytes())]
        });
        let made = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = made.clone();
        let maker = super::super::HandleMaker(Arc::new(move || {
            count.fetch_add(1, Ordering::SeqCst);
            let mut easy = curl::easy::Easy::new();
            easy.useragent("configured/1")?;
            Ok(easy)
        }));
        let upstream = Upstream::new(&format!("sparse+{base}/index/")).with_handles(Some(maker));
        assert!(upstream.index_file_fresh("3/a/abc").unwrap().is_some());
        assert!(upstream.index_file_fresh("3/a/abc").unwrap().is_some());
        // Made once, reused, and what it was made with is kept between requests.
        assert_eq!(made.load(Ordering::SeqCst), 1);
        assert_eq!(*agents.lock().unwrap(), ["configured/1", "configured/1"]);
    }

    #[test]
    fn downloads_follow_every_marker_of_the_dl_template() {
        use sha2::Digest as _;
        let file = b"upstream's bytes".to_vec();
        let sum = hex::encode(sha2::Sha256::digest(&file));
        let line = entry("Abc", &[]).replace("\"cksum\":\"00\"", &format!("\"cksum\":\"{sum}\""));
        // `{prefix}` keeps the name's case, `{lowerprefix}` does not; the
        // checksum comes from upstream's own index.
        let base = serve_paths(|base| {
            let config = format!(
                r#"{{"dl":"{base}/f/{{prefix}}/{{lowerprefix}}/{{crate}}-{{version}}-{{sha256-checksum}}"}}"#
            );
            vec![
                ("/index/config.json".into(), config.into_bytes()),
                ("/index/3/a/abc".into(), line.into_bytes()),
                (format!("/f/3/A/3/a/Abc-0.1.0-{sum}"), file.clone()),
            ]
        });
        let upstream = Upstream::new(&format!("sparse+{base}/index/"));
        assert_eq!(upstream.download("Abc", "0.1.0").unwrap(), Some(file));
        // A version upstream does not list has no checksum, so no file.
        assert_eq!(upstream.download("Abc", "9.9.9").unwrap(), None);
    }

    #[test]
    fn an_upstream_that_cannot_answer_is_a_failure_not_a_miss() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let upstream = Upstream::new(&format!("sparse+http://{addr}/index/"));
        assert!(upstream.index_file("3/a/abc").is_err());
        assert!(upstream.download("abc", "0.1.0").is_err());
        // A crate with hidden versions stands alone when upstream cannot
        // answer about it (and is not asked again).
        let upstream = Upstream::new(&format!("sparse+http://{addr}/index/"))
            .with_hidden(&[("abc".into(), "0.2.0".into())]);
        assert_eq!(upstream.index_file("3/a/abc").unwrap(), None);
        assert_eq!(upstream.index_file("3/a/abc").unwrap(), None);
        assert!(upstream.download("abc", "0.1.0").is_err());
    }
}
