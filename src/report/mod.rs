//! Everything the tool prints: results on stdout (human text or JSON) and
//! errors on stderr. Logic modules return values; they never print.

pub mod fix_forward;
mod github;
pub mod plan;
pub mod preflight;
pub mod publish;
pub mod registry;
pub mod rehearse;
pub mod status;
pub mod term;
mod token;
pub mod yank;

use std::io::{IsTerminal, Write};

/// A path for people: relative to the current directory when under it.
pub(crate) fn shown_path(path: &std::path::Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .filter(|rel| !rel.as_os_str().is_empty())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Warn that the user's cargo is newer than the one that packages.
pub fn newer_cargo(newer: &crate::ops::NewerCargo) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "warning: your cargo is {user}, newer than the cargo library cargo-shipper packages with \
         (cargo {linked}); packaging rules can differ between cargo releases. Compare with \
         `cargo package`, or use a cargo-shipper built with a newer cargo library",
        user = newer.user,
        linked = newer.linked,
    );
}

/// Print an error and its causes the way cargo does. A run stopped by
/// `--stop-after` is not an error: one status line says how it continues.
pub fn error(error: &anyhow::Error, color: Option<&str>) {
    if let Some(stopped) = crate::model::Coded::find::<crate::ops::StoppedForLater>(error) {
        // Its text reads "stopped by …": the status word is not said twice.
        let text = stopped.to_string();
        let rest = text.strip_prefix("stopped ").unwrap_or(&text);
        let _ = writeln!(std::io::stderr().lock(), "{:>12} {rest}", "Stopped");
        return;
    }
    let colored = match color {
        Some("always") => true,
        Some("never") => false,
        _ => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let label = if colored {
        "\x1b[1;31merror\x1b[0m"
    } else {
        "error"
    };
    let mut text = format!("{label}: {error}\n");
    let causes: Vec<String> = error.chain().skip(1).map(|c| c.to_string()).collect();
    if !causes.is_empty() {
        text.push_str("\nCaused by:\n");
        for cause in causes {
            for (i, line) in cause.lines().enumerate() {
                let indent = if i == 0 { "  " } else { "    " };
                text.push_str(&format!("{indent}{line}\n"));
            }
        }
    }
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
