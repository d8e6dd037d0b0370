//! GitHub Actions output for the run reporters: Markdown appended to
//! `$GITHUB_STEP_SUMMARY` and `::error` workflow commands. What a run did
//! is decided elsewhere; this only spells it the way Actions reads it.

use std::io::Write;

use crate::model::Coded;
use crate::ops::{StoppedForLater, TrustRefused};

/// The job runs in GitHub Actions (annotations are read there).
pub(super) fn in_actions() -> bool {
    std::env::var_os("GITHUB_ACTIONS").is_some()
}

/// Append to the step summary, when the job has one. Best effort: the
/// summary must never fail a run.
pub(super) fn append_summary(text: &str) {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") else {
        return;
    };
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = file.write_all(text.as_bytes());
    }
}

/// The summary's section on the registry token's lifecycle (trusted
/// publishing); empty when no token was minted.
pub(super) fn token_section(token_lines: &[String]) -> String {
    if token_lines.is_empty() {
        return String::new();
    }
    let mut text = "\nRegistry token (trusted publishing):\n\n".to_owned();
    for line in token_lines {
        text.push_str(&format!("- {line}\n"));
    }
    text
}

/// The summary's block for the run's error, its causes one a line.
pub(super) fn error_block(error: &anyhow::Error) -> String {
    let chain: Vec<String> = error.chain().map(|e| e.to_string()).collect();
    format!("\n```text\nerror: {}\n```\n", chain.join("\n  caused by: "))
}

/// The run stopped by `--stop-after`: to be continued, not a failure.
pub(super) fn stopped(error: &anyhow::Error) -> Option<&StoppedForLater> {
    Coded::find::<StoppedForLater>(error)
}

/// The summary's closing for a run's error: the error block, or for a run
/// stopped by `--stop-after` the line that says how it continues.
pub(super) fn ending(error: &anyhow::Error) -> String {
    match stopped(error) {
        Some(stopped) => format!("\n{stopped}\n"),
        None => error_block(error),
    }
}

/// Print a run's annotations when in GitHub Actions: a notice for a stop
/// by `--stop-after` (to be continued, no failure to flag), else the
/// failure annotations `failures` makes.
pub(super) fn annotate(error: &anyhow::Error, failures: impl FnOnce() -> Vec<String>) {
    if !in_actions() {
        return;
    }
    let lines = match stopped(error) {
        Some(stopped) => vec![notice_annotation("cargo-shipper", &stopped.to_string())],
        None => failures(),
    };
    for line in lines {
        eprintln!("{line}");
    }
}

/// A `::notice` annotation (shown, not counted as a failure).
pub(super) fn notice_annotation(title: &str, message: &str) -> String {
    format!(
        "::notice title={}::{}",
        escape_property(title),
        escape_data(message)
    )
}

/// An `::error` annotation.
pub(super) fn error_annotation(title: &str, message: &str) -> String {
    format!(
        "::error title={}::{}",
        escape_property(title),
        escape_data(message)
    )
}

/// The annotation for a run's error: titled with the crate trusted
/// publishing refused, when it did.
pub(super) fn run_error_annotation(error: &anyhow::Error) -> String {
    match error.chain().find_map(|e| e.downcast_ref::<TrustRefused>()) {
        Some(refused) => error_annotation(
            &format!("cargo-shipper: {}", refused.krate),
            &refused.to_string(),
        ),
        None => {
            let chain: Vec<String> = error.chain().map(|e| e.to_string()).collect();
            error_annotation("cargo-shipper", &chain.join("\ncaused by: "))
        }
    }
}

/// A workflow command's message: `%`, CR and LF escaped.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: also `:` and `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_escape_what_actions_would_read_as_syntax() {
        assert_eq!(
            error_annotation("cargo-shipper: a, b", "50% done\nnext"),
            "::error title=cargo-shipper%3A a%2C b::50%25 done%0Anext"
        );
    }
}
