//! What every run that talks to the live registry sets up the same way:
//! the connection (the index's `config.json`, and a read token only when
//! the registry requires one for reads).

use crate::cargo_backend;
use crate::model::RegistryTarget;
use crate::registry::{Http, LiveRegistry};
use crate::secret::Secret;
use crate::workspace::LoadedWorkspace;

/// Connect to `target`'s sparse index and API; `token` is `--token`, else
/// cargo's credentials are asked (only when reads need one).
pub fn live_connection(
    ws: &LoadedWorkspace,
    target: &RegistryTarget,
    token: Option<&Secret>,
) -> anyhow::Result<(Http, LiveRegistry)> {
    let sparse_index = target.sparse_index.as_deref().ok_or_else(|| {
        anyhow::anyhow!(
            "registry `{}` does not use the sparse protocol; cargo-shipper works with sparse \
             registries only",
            target.display_name()
        )
    })?;
    let http = ws.http()?;
    let config = LiveRegistry::index_config(&http, sparse_index, None)?;
    let read_token = match config.auth_required() {
        true => Some(cargo_backend::read_token(ws, target, token)?),
        false => None,
    };
    let registry = LiveRegistry::connect(&http, sparse_index, config, read_token)?;
    Ok((http, registry))
}
