//! Reading one crate's entry from a sparse index: which versions exist, with
//! checksum and yank status. URL layout and parsing come from crates-index.

use semver::Version;

use super::http::{Http, HttpError};
use crate::secret::Secret;

/// One published version as the index lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexVersion {
    pub version: Version,
    pub yanked: bool,
    /// sha256 of the `.crate`, hex.
    pub checksum: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("could not reach the registry index")]
    Transport(#[from] HttpError),
    #[error(
        "the registry index refused the request for `{name}` (HTTP {status}); it may need a token"
    )]
    Unauthorized { name: String, status: u32 },
    #[error("the registry index answered HTTP {status} for `{name}`")]
    Status { name: String, status: u32 },
    #[error("the registry index entry for `{name}` is malformed")]
    Malformed {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{0}` is not a valid crate name")]
    InvalidName(String),
}

/// Reads crate entries from a sparse index, bypassing local caches.
#[derive(Debug)]
pub struct SparseIndexReader {
    index: crates_index::SparseIndex,
    http: Http,
    /// For registries with `auth-required`.
    token: Option<Secret>,
}

impl SparseIndexReader {
    /// `url` as cargo writes it: `sparse+https://index.crates.io/`.
    pub fn new(http: &Http, url: &str) -> Self {
        // No cache directory is ever read or written: every read is fresh.
        let index = crates_index::SparseIndex::at_path(Default::default(), url.to_owned());
        SparseIndexReader {
            index,
            http: http.clone(),
            token: None,
        }
    }

    /// Send this token with every read.
    pub fn with_token(mut self, token: Option<Secret>) -> Self {
        self.token = token;
        self
    }

    /// The HTTP URL of `name`'s index file.
    pub fn crate_url(&self, name: &str) -> Option<String> {
        self.index.crate_url(name)
    }

    /// Every version of `name` in the index; empty when the crate is unknown.
    pub fn versions(&self, name: &str) -> Result<Vec<IndexVersion>, IndexError> {
        let url = self
            .index
            .crate_url(name)
            .ok_or_else(|| IndexError::InvalidName(name.to_owned()))?;
        let response = self.http.get(&url, self.token.as_ref())?;
        match response.status {
            200 => {}
            404 | 410 | 451 => return Ok(Vec::new()),
            401 | 403 => {
                return Err(IndexError::Unauthorized {
                    name: name.to_owned(),
                    status: response.status,
                });
            }
            status => {
                return Err(IndexError::Status {
                    name: name.to_owned(),
                    status,
                });
            }
        }
        let krate = crates_index::Crate::from_slice(&response.body).map_err(|source| {
            IndexError::Malformed {
                name: name.to_owned(),
                source,
            }
        })?;
        krate
            .versions()
            .iter()
            .map(|v| {
                let version = v.version().parse().map_err(|e| IndexError::Malformed {
                    name: name.to_owned(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                })?;
                Ok(IndexVersion {
                    version,
                    yanked: v.is_yanked(),
                    checksum: hex::encode(v.checksum()),
                })
            })
            .collect()
    }
}
