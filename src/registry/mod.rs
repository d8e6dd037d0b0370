//! Talking to registries: reading sparse indexes (crates-index over curl),
//! their `config.json`, and the web API (crates-io): uploads, yanks,
//! version and owner lookups, downloads. Every request goes through one
//! [`Http`] client (cargo's `[http]` settings, handles reused). Failures
//! come back typed so callers can decide on them without reading message text.

mod api;
pub(crate) mod http;
mod owners;
mod sparse;
pub mod trusted;

pub use api::{
    AuthRefusal, LookupError, RegistryApi, UPLOAD_TIMEOUT, UploadError, classify, retry_after,
};
pub use http::{Http, HttpError};
pub use owners::{OwnersError, TokenUser, crate_owners, download_crate, token_user};
pub use sparse::{IndexError, IndexVersion, SparseIndexReader};

use std::path::PathBuf;

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
    config: ConfigJson,
    read_token: Option<Secret>,
    http: Http,
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

/// A registry's `config.json`: where its API is, how downloads are named,
/// whether reads need a token.
#[derive(Debug, Clone)]
pub struct ConfigJson {
    pub api: String,
    /// Reads need a token too.
    pub auth_required: bool,
    /// `dl`, with crates-index's rules for its markers.
    download: crates_index::IndexConfig,
}

/// `config.json` on the wire; fields cargo-shipper does not read are ignored.
#[derive(serde::Deserialize)]
struct ConfigJsonWire {
    #[serde(flatten)]
    index: crates_index::IndexConfig,
    #[serde(rename = "auth-required", default)]
    auth_required: bool,
}

impl ConfigJson {
    /// Read a `config.json` body; a registry without `api` takes no uploads.
    pub fn from_slice(body: &[u8]) -> anyhow::Result<ConfigJson> {
        let config: ConfigJsonWire = serde_json::from_slice(body)?;
        let api =
            config.index.api.clone().ok_or_else(|| {
                anyhow::anyhow!("it names no `api`: this registry takes no uploads")
            })?;
        Ok(ConfigJson {
            api,
            auth_required: config.auth_required,
            download: config.index,
        })
    }

    /// The `dl` template as served.
    pub fn dl(&self) -> &str {
        &self.download.dl
    }

    /// Where the registry serves `name@version`'s `.crate` (every marker of
    /// cargo's `dl` template: `{crate}`, `{version}`, `{prefix}`,
    /// `{lowerprefix}`, `{sha256-checksum}`); `sha256` in hex. `None` when
    /// the name or the checksum cannot fill the template.
    pub fn download_url(&self, name: &str, version: &str, sha256: &str) -> Option<String> {
        let checksum: [u8; 32] = hex::decode(sha256).ok()?.try_into().ok()?;
        self.download
            .download_url_with_checksum(name, version, &checksum)
    }
}

/// What asking for `config.json` answered.
#[derive(Debug, Clone)]
pub enum IndexConfig {
    Read(ConfigJson),
    /// HTTP 401 to a request without a token: cargo's protocol for "reads
    /// need a token". `config.json` itself is then only known once asked
    /// again with one ([`LiveRegistry::connect`] does).
    AskAgainWithToken,
}

impl IndexConfig {
    /// Whether reads need a token.
    pub fn auth_required(&self) -> bool {
        match self {
            IndexConfig::Read(config) => config.auth_required,
            IndexConfig::AskAgainWithToken => true,
        }
    }
}

impl LiveRegistry {
    /// Read the index's `config.json`: where the API is, whether reads need
    /// a token. `token` is sent when given.
    pub fn index_config(
        http: &Http,
        sparse_index: &str,
        token: Option<&Secret>,
    ) -> Result<IndexConfig, ConnectError> {
        let Some(base) = sparse_index.strip_prefix("sparse+") else {
            return Err(ConnectError::NotSparse(sparse_index.to_owned()));
        };
        let url = format!("{}/config.json", base.trim_end_matches('/'));
        (|| -> anyhow::Result<IndexConfig> {
            let response = http.get(&url, token)?;
            if response.status == 401 && token.is_none() {
                return Ok(IndexConfig::AskAgainWithToken);
            }
            anyhow::ensure!(response.status == 200, "HTTP {}", response.status);
            Ok(IndexConfig::Read(ConfigJson::from_slice(&response.body)?))
        })()
        .map_err(|source| ConnectError::Config { url, source })
    }

    /// Connect with what `config.json` said (asked once); `read_token` is
    /// sent with every read (index and API lookups). A config answered
    /// with a 401 is asked again, with the token.
    pub fn connect(
        http: &Http,
        sparse_index: &str,
        config: IndexConfig,
        read_token: Option<Secret>,
    ) -> Result<LiveRegistry, ConnectError> {
        let config = match config {
            IndexConfig::Read(config) => config,
            IndexConfig::AskAgainWithToken => {
                match Self::index_config(http, sparse_index, read_token.as_ref())? {
                    IndexConfig::Read(config) => config,
                    IndexConfig::AskAgainWithToken => {
                        return Err(ConnectError::Config {
                            url: sparse_index.to_owned(),
                            source: anyhow::anyhow!(
                                "the registry needs a token to read its index; give one through cargo (`cargo login --registry …`) or `--token`"
                            ),
                        });
                    }
                }
            }
        };
        Ok(LiveRegistry {
            index: SparseIndexReader::new(http, sparse_index).with_token(read_token.clone()),
            api: RegistryApi::new(http, &config.api),
            config,
            read_token,
            http: http.clone(),
        })
    }

    /// The registry's `config.json`.
    pub fn config(&self) -> &ConfigJson {
        &self.config
    }

    /// The web API's base URL (from `config.json`).
    pub fn api_url(&self) -> &str {
        self.api.host()
    }

    /// The `.crate` the registry serves for `name@version` (its `dl`
    /// template), with the read token when the registry needs one.
    pub fn download_crate(
        &self,
        name: &str,
        version: &str,
        sha256: &str,
    ) -> Result<Vec<u8>, OwnersError> {
        owners::download_crate(
            &self.http,
            &self.config,
            name,
            version,
            sha256,
            self.read_token.as_ref(),
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_json_is_typed_and_lenient() {
        let config = ConfigJson::from_slice(
            br#"{"dl":"https://dl.example/{lowerprefix}/{crate}/{sha256-checksum}","api":"https://api.example","auth-required":true,"later-field":1}"#,
        )
        .unwrap();
        assert_eq!(config.api, "https://api.example");
        assert!(config.auth_required);
        let sum = "ab".repeat(32);
        assert_eq!(
            config.download_url("Serde", "1.0.0", &sum).as_deref(),
            Some(format!("https://dl.example/se/rd/Serde/{sum}").as_str())
        );
        assert_eq!(config.download_url("serde", "1.0.0", "not hex"), None);
        // No `api`: a registry that takes no uploads, said so.
        let error = ConfigJson::from_slice(br#"{"dl":"https://dl.example"}"#).unwrap_err();
        assert!(error.to_string().contains("no `api`"), "{error}");
        let plain =
            ConfigJson::from_slice(br#"{"dl":"https://dl.example","api":"https://a"}"#).unwrap();
        assert!(!plain.auth_required);
        assert_eq!(
            plain.download_url("serde", "1.0.0", &sum).as_deref(),
            Some("https://dl.example/serde/1.0.0/download")
        );
    }
}
