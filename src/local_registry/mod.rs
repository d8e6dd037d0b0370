//! The embedded sparse registry: a real registry cargo can publish to and
//! resolve from (sparse index, publish, download, yank), storing to a
//! directory. It serves rehearsals, `registry serve`, and the test suite.

mod activity;
mod index_entry;
mod knobs;
mod oidc;
mod rate_limit;
mod server;
mod stop;
mod storage;
mod tarball;
mod trusted;
mod trusted_file;
mod upstream;

pub use index_entry::{IndexDep, IndexEntry};
pub use knobs::{Knobs, RetryAfter, UploadCounts, UploadFault, parse_upload_fault};
pub use oidc::{TestIssuer, TestOidcProvider};
pub use rate_limit::{Action, RateLimit};
pub use stop::StopSignal;
pub use trusted::{TrustedConfig, TrustedPublishing};
pub use trusted_file::{IssuerSpec, LOCAL_ISSUER, ProviderClaims, TrustedFile, TrustedFileError};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper_util::rt::TokioIo;

/// Makes the libcurl handles the pass-through asks `upstream` with (a
/// rehearsal's: configured with the user's cargo `[http]` settings).
#[derive(Clone)]
pub struct HandleMaker(pub Arc<dyn Fn() -> Result<curl::easy::Easy, curl::Error> + Send + Sync>);

impl std::fmt::Debug for HandleMaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HandleMaker")
    }
}

/// How to start a registry.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    pub root: PathBuf,
    pub addr: SocketAddr,
    /// Token for publish, yank and owners; generated when `None`.
    pub token: Option<String>,
    /// Require the token for reads too (index files, downloads, the web
    /// API); only `config.json` stays open.
    pub auth_required: bool,
    /// Serve crates this registry does not hold from this sparse index
    /// (`sparse+https://index.crates.io/` for a crates.io stand-in).
    pub upstream: Option<String>,
    /// `(name, version)` never passed through to `upstream` (a rehearsal's
    /// own); the crates' other versions are.
    pub hidden_versions: Vec<(String, String)>,
    /// cargo's download cache for `upstream`, read-only: `.crate` files
    /// there with upstream's checksum are served without a download.
    pub upstream_crate_cache: Option<PathBuf>,
    /// Handles for `upstream`; curl's defaults (and its proxy environment
    /// variables) when `None`.
    pub upstream_handles: Option<HandleMaker>,
    pub knobs: Knobs,
    /// Refuse uploads without the metadata crates.io requires
    /// (`description`, `license` or `license-file`), as it does: set when
    /// the registry stands in for crates.io in a rehearsal.
    pub require_metadata: bool,
    /// Play crates.io's trusted publishing (OIDC exchange and revoke).
    pub trusted_publishing: Option<TrustedPublishing>,
}

impl RegistryConfig {
    /// Loopback, a free port, a generated token.
    pub fn new(root: &Path) -> Self {
        RegistryConfig {
            root: root.to_owned(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: None,
            auth_required: false,
            upstream: None,
            hidden_versions: Vec::new(),
            upstream_crate_cache: None,
            upstream_handles: None,
            knobs: Knobs::default(),
            require_metadata: false,
            trusted_publishing: None,
        }
    }
}

/// A running registry; stops when dropped.
pub struct LocalRegistry {
    addr: SocketAddr,
    token: String,
    state: Arc<server::State>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LocalRegistry {
    pub fn start(config: RegistryConfig) -> anyhow::Result<LocalRegistry> {
        use anyhow::Context as _;
        // Listen first: a port in use must not leave a new directory behind.
        let listener = std::net::TcpListener::bind(config.addr).with_context(|| {
            format!(
                "could not listen on `{}`; pick another address or port (`--addr`; port 0 takes a free one)",
                config.addr
            )
        })?;
        listener.set_nonblocking(true)?;
        let storage = storage::Storage::open(&config.root).with_context(|| {
            format!(
                "could not use `{}` as the registry's directory; it must be a directory this user can write (or a path where one can be created)",
                config.root.display()
            )
        })?;
        let addr = listener.local_addr()?;
        let token = config.token.unwrap_or_else(generate_token);
        let state = Arc::new(server::State {
            storage,
            token: token.clone(),
            addr,
            auth_required: config.auth_required,
            require_metadata: config.require_metadata,
            knobs: knobs::KnobState::new(config.knobs),
            upstream: config.upstream.as_deref().map(|url| {
                upstream::Upstream::new(url)
                    .with_hidden(&config.hidden_versions)
                    .with_crate_cache(config.upstream_crate_cache.clone())
                    .with_handles(config.upstream_handles.clone())
            }),
            trusted: config
                .trusted_publishing
                .map(|t| trusted::TrustState::new(t, addr)),
            activity: Arc::default(),
        });
        let kept = state.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (shutdown, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("shipper-registry".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    loop {
                        tokio::select! {
                            _ = &mut stopped => break,
                            accepted = listener.accept() => {
                                let Ok((stream, _)) = accepted else { continue };
                                let state = state.clone();
                                let open = state.activity.connection();
                                let stall = state.knobs.knobs.stall_timeout();
                                tokio::spawn(async move {
                                    let service = hyper::service::service_fn(move |req| {
                                        server::serve(state.clone(), req)
                                    });
                                    // A client that stalls mid-request (or never
                                    // starts one) is cut off, not kept forever.
                                    let _ = hyper::server::conn::http1::Builder::new()
                                        .timer(hyper_util::rt::TokioTimer::new())
                                        .header_read_timeout(stall)
                                        .serve_connection(TokioIo::new(stream), service)
                                        .await;
                                    drop(open);
                                });
                            }
                        }
                    }
                });
                runtime.shutdown_background();
            })?;
        Ok(LocalRegistry {
            addr,
            token,
            state: kept,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// A mark for [`Self::wait_drained`]: connections accepted from now on.
    pub fn activity_mark(&self) -> u64 {
        self.state.activity.mark()
    }

    /// Wait (up to `timeout`) until every connection accepted since `mark`
    /// has closed and no request is being handled: once the clients that
    /// opened them are dead, nothing they sent can still land.
    pub fn wait_drained(&self, mark: u64, timeout: std::time::Duration) -> bool {
        // Long enough for a connection the kernel had queued to be accepted.
        let quiet = std::time::Duration::from_millis(50);
        self.state.activity.wait_drained(mark, quiet, timeout)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `sparse+http://127.0.0.1:PORT/index/`
    pub fn index_url(&self) -> String {
        format!("sparse+http://{}/index/", self.addr)
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// Every token minted by trusted publishing so far.
    pub fn minted_tokens(&self) -> Vec<String> {
        self.state
            .trusted
            .as_ref()
            .map_or_else(Vec::new, |t| t.minted_tokens())
    }

    /// The trusted-publishing configuration, and the JWT audience it
    /// expects, when the registry plays it.
    pub fn trusted_publishing(&self) -> Option<(&TrustedPublishing, &str)> {
        self.state
            .trusted
            .as_ref()
            .map(|t| (&t.config, t.audience()))
    }

    /// Minted tokens not revoked yet.
    pub fn live_minted_tokens(&self) -> usize {
        self.state.trusted.as_ref().map_or(0, |t| t.live_tokens())
    }

    /// Upload requests received so far, and those of versions already stored.
    pub fn upload_counts(&self) -> UploadCounts {
        self.state.knobs.upload_counts()
    }

    /// A `.cargo/config.toml` snippet naming this registry `name`.
    pub fn cargo_config(&self, name: &str) -> String {
        format!("[registries.{name}]\nindex = \"{}\"\n", self.index_url())
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// 32 random bytes as hex (see [`random_bytes`]).
fn generate_token() -> String {
    format!("shipper_{}", hex::encode(random_bytes::<32>()))
}

/// Random bytes from the OS through the standard library's randomly seeded
/// hasher (no extra dependency for test-registry tokens and test keys).
fn random_bytes<const N: usize>() -> [u8; N] {
    use std::hash::{BuildHasher, RandomState};
    let mut out = [0u8; N];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let word = RandomState::new().hash_one(i).to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    out
}
