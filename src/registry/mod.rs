//! Talking to registries: reading sparse indexes (crates-index over curl)
//! and the web API (crates-io): uploads, yanks, version lookups. Failures come back typed so callers
//! can decide on them without reading message text.

mod api;
pub(crate) mod http;
mod owners;
mod sparse;
pub mod trusted;

pub use api::{
    AuthRefusal, LookupError, RegistryApi, UPLOAD_TIMEOUT, UploadError, classify, retry_after,
};
pub use http::HttpError;
pub use owners::{OwnersError, TokenUser, crate_owners, download_crate, token_user};
pub use sparse::{IndexError, IndexVersion, SparseIndexReader};

use std::path::PathBuf;
use std::time::Duration;

use crate::secret::Secret;

/// Everything an upload needs, as plain data (no cargo types): built on the
/// cargo thread, sent from any thread.
pub struct UploadJob {
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub crate_file: PathBuf,
    pub metadata: crates_io::NewCrate,
}

/// What the sparse index says about one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Listed, with this checksum.
    Present { sha256: String },
    /// The crate is there, this version is not.
    NewVersion,
    /// The registry does not know the crate.
    NewCrate,
}

/// What the engine needs from a registry. `Sync`: called from worker threads.
pub trait Registry: Sync {
    /// Whether `name@version` is in the sparse index (read fresh, no cache).
    fn lookup(&self, name: &str, version: &str) -> Result<Lookup, IndexError>;
    /// The checksum the web API reports (it can know before the index does).
    fn api_checksum(&self, name: &str, version: &str) -> Result<Option<String>, LookupError>;
    fn upload(&self, job: &UploadJob, token: &Secret) -> Result<(), UploadError>;
    /// Abort requests that change the registry (uploads, yanks) in flight:
    /// a stopping run past its grace period. They end with an error of
    /// unknown outcome.
    fn cut_off_writes(&self) {}
}

/// What a yank run needs from a registry.
pub trait YankRegistry {
    /// Every version of `name` in the sparse index (read fresh, no cache).
    fn versions(&self, name: &str) -> Result<Vec<IndexVersion>, IndexError>;
    /// Yank (`true`) or unyank (`false`) through the web API.
    fn set_yanked(
        &self,
        name: &str,
        version: &str,
        yanked: bool,
        token: &Secret,
    ) -> Result<(), UploadError>;
}

/// A registry over the network: its sparse index and its web API.
pub struct LiveRegistry {
    index: SparseIndexReader,
    api: RegistryApi,
    read_token: Option<Secret>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "`{0}` is not a sparse index; cargo-shipper reads sparse registries only (`sparse+https://…`)"
    )]
    NotSparse(String),
    #[error("could not read `{url}`")]
    Config {
        url: String,
        #[source]
        source: anyhow::Error,
    },
}

/// What a registry's `config.json` says.
#[derive(Debug, Clone)]
pub struct IndexConfig {
    pub api: String,
    /// Reads need a token too.
    pub auth_required: bool,
}

impl LiveRegistry {
    /// Read the index's `config.json`: where the API is, whether reads need
    /// a token. `token` is sent when given.
    pub fn index_config(
        sparse_index: &str,
        token: Option<&Secret>,
    ) -> Result<IndexConfig, ConnectError> {
        let Some(base) = sparse_index.strip_prefix("sparse+") else {
            return Err(ConnectError::NotSparse(sparse_index.to_owned()));
        };
        let url = format!("{}/config.json", base.trim_end_matches('/'));
        (|| -> anyhow::Result<IndexConfig> {
            let response = http::get_with(&url, Duration::from_secs(30), token)?;
            if response.status == 401 && token.is_none() {
                // cargo's protocol: a 401 on config.json means "auth required".
                return Ok(IndexConfig {
                    api: String::new(),
                    auth_required: true,
                });
            }
            anyhow::ensure!(response.status == 200, "HTTP {}", response.status);
            let config: serde_json::Value = serde_json::from_slice(&response.body)?;
            let api = config["api"].as_str().map(str::to_owned).ok_or_else(|| {
                anyhow::anyhow!("it names no `api`: this registry takes no uploads")
            })?;
            Ok(IndexConfig {
                api,
                auth_required: config["auth-required"].as_bool().unwrap_or(false),
            })
        })()
        .map_err(|source| ConnectError::Config { url, source })
    }

    /// Connect with what `config.json` said (asked once); `read_token` is
    /// sent with every read (index and API lookups). A config answered
    /// with a 401 is asked again, with the token.
    pub fn connect(
        sparse_index: &str,
        config: IndexConfig,
        read_token: Option<Secret>,
    ) -> Result<LiveRegistry, ConnectError> {
        let config = if config.api.is_empty() {
            Self::index_config(sparse_index, read_token.as_ref())?
        } else {
            config
        };
        Ok(LiveRegistry {
            index: SparseIndexReader::new(sparse_index).with_token(read_token.clone()),
            api: RegistryApi::new(&config.api),
            read_token,
        })
    }

    /// The web API's base URL (from `config.json`).
    pub fn api_url(&self) -> &str {
        self.api.host()
    }
}

impl LiveRegistry {
    /// How long one upload request may take (default [`UPLOAD_TIMEOUT`]).
    pub fn with_upload_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.api = self.api.with_upload_timeout(timeout);
        self
    }
}

impl Registry for LiveRegistry {
    fn lookup(&self, name: &str, version: &str) -> Result<Lookup, IndexError> {
        let wanted = semver::Version::parse(version).ok();
        let versions = self.index.versions(name)?;
        if versions.is_empty() {
            return Ok(Lookup::NewCrate);
        }
        Ok(versions
            .into_iter()
            .find(|v| Some(&v.version) == wanted.as_ref())
            .map_or(Lookup::NewVersion, |v| Lookup::Present {
                sha256: v.checksum,
            }))
    }

    fn api_checksum(&self, name: &str, version: &str) -> Result<Option<String>, LookupError> {
        self.api
            .version_checksum(name, version, self.read_token.as_ref())
    }

    fn upload(&self, job: &UploadJob, token: &Secret) -> Result<(), UploadError> {
        self.api.upload(&job.metadata, &job.crate_file, token)
    }

    fn cut_off_writes(&self) {
        self.api.cut_off_writes();
    }
}

impl YankRegistry for LiveRegistry {
    fn versions(&self, name: &str) -> Result<Vec<IndexVersion>, IndexError> {
        self.index.versions(name)
    }

    fn set_yanked(
        &self,
        name: &str,
        version: &str,
        yanked: bool,
        token: &Secret,
    ) -> Result<(), UploadError> {
        self.api.set_yanked(name, version, yanked, token)
    }
}
