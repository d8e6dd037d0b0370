//! The start-up message of `registry serve`.

use std::io::{self, Write};
use std::path::Path;

use crate::local_registry::{LocalRegistry, TestOidcProvider};

const NAME: &str = "shipper-local";

/// `provider`: the test OIDC provider started beside the registry, if any.
pub fn started_human(
    registry: &LocalRegistry,
    root: &Path,
    provider: Option<&TestOidcProvider>,
    out: &mut dyn Write,
) -> io::Result<()> {
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
    trusted_human(registry, provider, out)?;
    writeln!(out, "Press Ctrl-C to stop.")?;
    out.flush()
}

pub fn started_json(
    registry: &LocalRegistry,
    root: &Path,
    provider: Option<&TestOidcProvider>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut doc = serde_json::json!({
        "format": 1,
        "root": root,
        "index": registry.index_url(),
        "api": format!("http://{}", registry.addr()),
        "token": registry.token(),
        "registry_name": NAME,
        "cargo_config": workspace_config(registry),
    });
    if let Some(trusted) = trusted_json(registry, provider) {
        doc["trusted_publishing"] = trusted;
    }
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

/// Trusted publishing, when the registry plays it: what it trusts, and
/// how to point a client at the test provider.
fn trusted_human(
    registry: &LocalRegistry,
    provider: Option<&TestOidcProvider>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let Some((config, audience)) = registry.trusted_publishing() else {
        return Ok(());
    };
    writeln!(out)?;
    writeln!(
        out,
        "Trusted publishing: {} crate(s) configured, minted tokens live {} s, ID tokens from {} \
         with audience {audience}",
        config.crates().len(),
        config.token_lifetime.as_secs(),
        config.issuer
    )?;
    writeln!(
        out,
        "{}",
        if config.new_crates {
            "Minted tokens may publish a crate's first version (allow-new-crates; crates.io's \
             cannot)."
        } else {
            "As on crates.io, a crate's first version needs the registry's token; minted tokens \
             publish its next versions."
        }
    )?;
    if let Some(provider) = provider {
        writeln!(
            out,
            "A test OIDC provider (GitHub Actions style) runs beside the registry; point a client \
             at it with:"
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "  export ACTIONS_ID_TOKEN_REQUEST_URL='{}'",
            provider.request_url()
        )?;
        writeln!(
            out,
            "  export ACTIONS_ID_TOKEN_REQUEST_TOKEN={}",
            provider.request_token()
        )?;
        writeln!(out)?;
        let claims = provider.claims();
        let claim = |k: &str| claims[k].as_str().unwrap_or("(none)").to_owned();
        writeln!(
            out,
            "Its ID tokens claim repository {}, workflow {}, ref {}, environment {}.",
            claim("repository"),
            claim("job_workflow_ref"),
            claim("ref"),
            claim("environment")
        )?;
    }
    writeln!(
        out,
        "Publish with no registry token configured: cargo shipper publish --registry {NAME} \
         --trusted-publishing on"
    )
}

fn trusted_json(
    registry: &LocalRegistry,
    provider: Option<&TestOidcProvider>,
) -> Option<serde_json::Value> {
    let (config, audience) = registry.trusted_publishing()?;
    let provider = provider.map(|p| {
        serde_json::json!({
            "env": {
                "ACTIONS_ID_TOKEN_REQUEST_URL": p.request_url(),
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": p.request_token(),
            },
            "claims": p.claims(),
        })
    });
    Some(serde_json::json!({
        "issuer": config.issuer,
        "audience": audience,
        "token_lifetime_secs": config.token_lifetime.as_secs(),
        "crates": config.crates(),
        "allow_new_crates": config.new_crates,
        "oidc_provider": provider,
    }))
}
