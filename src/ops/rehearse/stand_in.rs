//! The rehearsal registry and how cargo is pointed at it: the embedded
//! registry started in-process (or a configured alternate), standing in for
//! crates.io through source replacement given as in-process `--config`
//! entries, never written to the user's files.

use std::path::PathBuf;

use anyhow::Context as _;

use super::identity;
use crate::journal::RehearsalRegistry;
use crate::local_registry::{LocalRegistry, RegistryConfig};
use crate::model::{Coded, RegistryTarget};
use crate::secret::Secret;
use crate::workspace::{LoadedWorkspace, TargetChoice};

/// The name the embedded registry (and `--index URL`) gets in cargo's
/// configuration during a rehearsal.
pub const STAND_IN_NAME: &str = "shipper-rehearsal";
const STAND_IN_SOURCE: &str = "shipper-rehearsal-src";

/// Where to rehearse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RehearsalTarget {
    /// The embedded registry in a temporary directory (or `keep`, kept).
    #[default]
    Embedded,
    /// `--registry NAME`: a configured registry.
    Registry(String),
    /// `--index URL`.
    Index(String),
}

/// A rehearsal registry in use; an embedded one stops when this drops.
pub struct StandIn {
    pub target: RegistryTarget,
    pub record: RehearsalRegistry,
    /// The token to publish with (the embedded registry's own), if known.
    pub token: Option<Secret>,
    /// `--config` entries that point cargo at it.
    pub cargo_config: Vec<String>,
    /// Where an embedded registry's data stays, with `--keep`.
    pub kept: Option<PathBuf>,
    _registry: Option<LocalRegistry>,
    _dir: Option<tempfile::TempDir>,
}

pub struct EmbeddedSetup<'a> {
    pub keep: Option<&'a std::path::Path>,
    /// Upstream sparse index for everything the rehearsal does not publish.
    pub upstream: Option<String>,
    /// Versions never passed through (the ones the rehearsal uploads).
    pub hidden_versions: Vec<(String, String)>,
    /// cargo's download cache for the upstream (served from when the
    /// checksum matches).
    pub upstream_crate_cache: Option<PathBuf>,
    /// Handles for the upstream, with the user's cargo `[http]` settings.
    pub upstream_handles: Option<crate::local_registry::HandleMaker>,
    /// The live target is crates.io: refuse uploads without the metadata
    /// it requires, as it would.
    pub require_metadata: bool,
    /// The port to listen on when it is free (the last rehearsal's: cargo's
    /// caches and fingerprints follow the URL); else any free one.
    pub port: Option<u16>,
}

/// crates.io's sparse index, as cargo spells it.
const CRATES_IO_SPARSE: &str = "sparse+https://index.crates.io/";
/// crates.io's web API, where its uploads go.
const CRATES_IO_API: &str = "https://crates.io";

/// A rehearsal must never publish for real: refuse a rehearsal registry
/// that is the live target, or crates.io, before anything that could write
/// is sent. Registries are compared by what they are ([`identity`]: the
/// address, the `config.json` each serves), never by spelling.
pub fn refuse_live(
    ws: &LoadedWorkspace,
    choice: &RehearsalTarget,
    live: &RegistryTarget,
) -> anyhow::Result<()> {
    let choice = match choice {
        RehearsalTarget::Embedded => return Ok(()),
        RehearsalTarget::Registry(name) => TargetChoice::Registry(name.clone()),
        RehearsalTarget::Index(url) => TargetChoice::Index(url.clone()),
    };
    let given = match &choice {
        TargetChoice::Registry(name) => format!("--registry {name}"),
        TargetChoice::Index(url) => format!("--index {url}"),
        TargetChoice::Default => unreachable!("named above"),
    };
    let model = ws.model()?;
    let target = ws.target(&choice, &model)?;
    let crates_io_refusal = || {
        Coded::new(super::RehearseOptsError::CratesIo {
            given: given.clone(),
        })
    };
    let live_refusal = || {
        Coded::new(super::RehearseOptsError::LiveTarget {
            given: given.clone(),
            index: target
                .sparse_index
                .clone()
                .unwrap_or_else(|| target.key.clone()),
        })
    };
    // By name and address first: no request at all.
    let rehearsal_index = target.sparse_index.as_deref();
    let is = |url: &str| rehearsal_index.is_some_and(|index| identity::same_url(index, url));
    if target.key == "crates-io" || is(CRATES_IO_SPARSE) {
        return Err(crates_io_refusal().into());
    }
    // The live target as named, and as cargo reads it (a source replacing
    // crates.io is where its uploads would be resolved from).
    let mut live_indexes = vec![
        live.sparse_index.clone(),
        ws.read_index(live).ok().flatten(),
    ];
    live_indexes.dedup();
    let live_indexes: Vec<String> = live_indexes.into_iter().flatten().collect();
    if target.key == live.key || live_indexes.iter().any(|index| is(index)) {
        return Err(live_refusal().into());
    }
    // Then by what each serves: the same `api` (where uploads go) or `dl`
    // is the same registry, whatever its index URL.
    let Some(index) = rehearsal_index else {
        return Ok(());
    };
    let http = ws.http()?;
    let Some(served) = identity::served_urls(&http, index) else {
        return Ok(());
    };
    if identity::same_url(&served.0, CRATES_IO_API) {
        return Err(crates_io_refusal().into());
    }
    for live_index in &live_indexes {
        if identity::served_urls(&http, live_index)
            .is_some_and(|live_served| identity::same_served(&served, &live_served))
        {
            return Err(live_refusal().into());
        }
    }
    Ok(())
}

impl StandIn {
    /// The embedded registry's port (`None` for a named registry).
    pub fn embedded_port(&self) -> Option<u16> {
        self._registry.as_ref().map(|r| r.addr().port())
    }

    /// The embedded registry (`None` for a named registry).
    pub fn embedded_registry(&self) -> Option<&LocalRegistry> {
        self._registry.as_ref()
    }

    pub fn start(
        ws: &LoadedWorkspace,
        choice: &RehearsalTarget,
        embedded: EmbeddedSetup<'_>,
    ) -> anyhow::Result<StandIn> {
        match choice {
            RehearsalTarget::Embedded => Self::embedded(embedded),
            RehearsalTarget::Registry(name) => {
                let model = ws.model()?;
                let target = ws.target(&TargetChoice::Registry(name.clone()), &model)?;
                let index = sparse(&target)?;
                Ok(StandIn {
                    record: RehearsalRegistry::Named {
                        name: name.clone(),
                        index: index.clone(),
                    },
                    cargo_config: replacement(&index),
                    target,
                    token: None,
                    kept: None,
                    _registry: None,
                    _dir: None,
                })
            }
            RehearsalTarget::Index(url) => {
                let model = ws.model()?;
                let given = ws.target(&TargetChoice::Index(url.clone()), &model)?;
                let index = sparse(&given)?;
                Ok(Self::named_stand_in(
                    index.clone(),
                    RehearsalRegistry::Index { index },
                    None,
                ))
            }
        }
    }

    fn embedded(setup: EmbeddedSetup<'_>) -> anyhow::Result<StandIn> {
        let (root, dir) = match setup.keep {
            Some(keep) => {
                std::fs::create_dir_all(keep)
                    .with_context(|| format!("could not create `{}`", keep.display()))?;
                (keep.to_owned(), None)
            }
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("shipper-rehearsal-")
                    .tempdir()
                    .context("could not create a temporary directory for the rehearsal registry")?;
                (dir.path().to_owned(), Some(dir))
            }
        };
        let mut config = RegistryConfig::new(&root);
        config.upstream = setup.upstream;
        config.hidden_versions = setup.hidden_versions;
        config.upstream_crate_cache = setup.upstream_crate_cache;
        config.upstream_handles = setup.upstream_handles;
        config.require_metadata = setup.require_metadata;
        let registry = match setup.port {
            Some(port) => {
                let mut on_port = config.clone();
                on_port.addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
                // Taken (another rehearsal, another program): any port will do.
                LocalRegistry::start(on_port).or_else(|_| LocalRegistry::start(config))
            }
            None => LocalRegistry::start(config),
        };
        let registry = registry.with_context(|| {
            format!(
                "could not start the rehearsal registry in `{}`",
                root.display()
            )
        })?;
        let kept = setup.keep.map(|k| k.to_owned());
        let mut stand_in = Self::named_stand_in(
            registry.index_url(),
            RehearsalRegistry::Embedded {
                kept: kept.as_ref().map(|k| k.display().to_string()),
            },
            Some(Secret::new(registry.token().to_owned())),
        );
        stand_in.kept = kept;
        stand_in._registry = Some(registry);
        stand_in._dir = dir;
        Ok(stand_in)
    }

    /// A registry cargo knows as [`STAND_IN_NAME`] for the rehearsal.
    fn named_stand_in(index: String, record: RehearsalRegistry, token: Option<Secret>) -> StandIn {
        let mut cargo_config = vec![format!(
            "registries.{STAND_IN_NAME}.index={}",
            toml_string(&index)
        )];
        cargo_config.extend(replacement(&index));
        StandIn {
            target: RegistryTarget {
                name: Some(STAND_IN_NAME.to_owned()),
                key: index.clone(),
                sparse_index: Some(index),
            },
            record,
            token,
            cargo_config,
            kept: None,
            _registry: None,
            _dir: None,
        }
    }
}

/// crates.io replaced by the rehearsal registry: the workspace's implicit
/// crates.io dependencies (path dependencies included) resolve there, and
/// the packaged lockfile still says crates.io (replacement is transparent).
fn replacement(index: &str) -> Vec<String> {
    vec![
        format!("source.{STAND_IN_SOURCE}.registry={}", toml_string(index)),
        format!(
            "source.crates-io.replace-with={}",
            toml_string(STAND_IN_SOURCE)
        ),
    ]
}

fn sparse(target: &RegistryTarget) -> anyhow::Result<String> {
    target.sparse_index.clone().with_context(|| {
        format!(
            "registry `{}` does not use the sparse protocol; cargo-shipper rehearses against sparse registries only",
            target.display_name()
        )
    })
}

/// A TOML basic string (a JSON string is one).
fn toml_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}
