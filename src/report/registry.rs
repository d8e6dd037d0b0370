//! The start-up message of `registry serve`.

use std::io::{self, Write};
use std::path::Path;

use crate::local_registry::LocalRegistry;

const NAME: &str = "shipper-local";

pub fn started_human(registry: &LocalRegistry, root: &Path, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "Serving the registry in {}", root.display())?;
    writeln!(out, "  index: {}", registry.index_url())?;
    writeln!(out, "  token: {}", registry.token())?;
    writeln!(out)?;
    writeln!(
        out,
        "Add to .cargo/config.toml (the second table makes it stand in for crates.io, which a \
         workspace's path dependencies implicitly name):"
    )?;
    writeln!(out)?;
    write!(out, "{}", workspace_config(registry))?;
    writeln!(out)?;
    writeln!(
        out,
        "and publish with CARGO_REGISTRIES_SHIPPER_LOCAL_TOKEN=<token> cargo publish --registry {NAME}"
    )?;
    writeln!(out, "Press Ctrl-C to stop.")?;
    out.flush()
}

pub fn started_json(registry: &LocalRegistry, root: &Path, out: &mut dyn Write) -> io::Result<()> {
    let doc = serde_json::json!({
        "format": 1,
        "root": root,
        "index": registry.index_url(),
        "api": format!("http://{}", registry.addr()),
        "token": registry.token(),
        "registry_name": NAME,
        "cargo_config": workspace_config(registry),
    });
    writeln!(out, "{doc}")?;
    out.flush()
}

/// The registry, and the registry standing in for crates.io: without the
/// second part, publishing a workspace whose members depend on each other
/// fails ("no matching package … location searched: crates.io index").
fn workspace_config(registry: &LocalRegistry) -> String {
    format!(
        "{}\n[source.crates-io]\nreplace-with = \"{NAME}\"\n",
        registry.cargo_config(NAME)
    )
}
