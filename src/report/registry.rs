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
    writeln!(out, "Add to .cargo/config.toml:")?;
    writeln!(out)?;
    write!(out, "{}", registry.cargo_config(NAME))?;
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
        "cargo_config": registry.cargo_config(NAME),
    });
    writeln!(out, "{doc}")?;
    out.flush()
}
