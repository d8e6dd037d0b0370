//! The commands our messages suggest, spelled so that they work as
//! printed: the same registry, selection and state directory as the run
//! that suggests them (a bare `cargo shipper rehearse` after
//! `publish --registry acc` would plan for crates.io).

use std::fmt;
use std::path::Path;

use crate::journal::{CrateStatus, Record, RunState};
use crate::ops::PublishOpts;
use crate::ops::publish::recorded_selection;
use crate::plan::Selection;
use crate::workspace::TargetChoice;

/// `cargo shipper VERB` and its flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextCommand {
    words: Vec<String>,
}

impl NextCommand {
    pub fn new(verb: &str) -> Self {
        NextCommand {
            words: vec!["cargo".into(), "shipper".into(), verb.into()],
        }
    }

    /// `--registry NAME` / `--index URL` (nothing for the default).
    pub fn target(self, choice: &TargetChoice) -> Self {
        self.target_flags(choice, "--registry", "--index")
    }

    /// `rehearse`'s `--for-registry NAME` / `--for-index URL`.
    pub fn for_target(self, choice: &TargetChoice) -> Self {
        self.target_flags(choice, "--for-registry", "--for-index")
    }

    fn target_flags(self, choice: &TargetChoice, registry: &str, index: &str) -> Self {
        match choice {
            TargetChoice::Default => self,
            TargetChoice::Registry(name) => self.arg(registry, name),
            TargetChoice::Index(url) => self.arg(index, url),
        }
    }

    /// `--package`/`--exclude` as selected.
    pub fn selection(mut self, selection: &Selection) -> Self {
        for p in &selection.packages {
            self = self.arg("--package", p);
        }
        for p in &selection.exclude {
            self = self.arg("--exclude", p);
        }
        self
    }

    /// `--state-dir DIR` when one was given.
    pub fn state_dir(self, dir: Option<&Path>) -> Self {
        match dir {
            Some(dir) => self.arg("--state-dir", &dir.display().to_string()),
            None => self,
        }
    }

    /// `--manifest-path PATH` unless `manifest` is the one in the current
    /// directory (relative to it when under it).
    pub fn manifest_path(self, manifest: &Path) -> Self {
        let Ok(cwd) = std::env::current_dir() else {
            return self.arg("--manifest-path", &manifest.display().to_string());
        };
        if manifest == cwd.join("Cargo.toml") {
            return self;
        }
        let shown = manifest.strip_prefix(&cwd).unwrap_or(manifest);
        self.arg("--manifest-path", &shown.display().to_string())
    }

    pub fn arg(mut self, flag: &str, value: &str) -> Self {
        self.words.push(flag.into());
        self.words.push(value.into());
        self
    }

    pub fn flag(mut self, flag: &str) -> Self {
        self.words.push(flag.into());
        self
    }
}

impl fmt::Display for NextCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<String> = self.words.iter().map(|w| shell_word(w)).collect();
        f.write_str(&words.join(" "))
    }
}

/// A word as a POSIX shell reads it back: as is when it is plain, else in
/// single quotes.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ':' | '+' | '=' | '@' | ',')
        });
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The commands a failed run suggests, as this run was started: `publish`
/// with its registry, selection and state directory, and `resume` with
/// its state directory. A rehearsal suggests none: `rehearse` says its own.
pub struct Next {
    pub publish: Option<String>,
    pub resume: Option<String>,
}

impl Next {
    /// The `rehearse` that the gate wants for this release: the same live
    /// target, selection and state directory.
    pub fn rehearse(opts: &PublishOpts, selection: &Selection, target: &TargetChoice) -> String {
        let cmd = NextCommand::new("rehearse")
            .for_target(target)
            .selection(selection)
            .state_dir(opts.state_dir.as_deref());
        match opts.allow_dirty {
            true => cmd.flag("--allow-dirty").to_string(),
            false => cmd.to_string(),
        }
    }

    pub fn of(opts: &PublishOpts, records: &[Record]) -> Next {
        if opts.stand_in.is_some() {
            return Next {
                publish: None,
                resume: None,
            };
        }
        let (selection, target) = recorded_selection(records);
        let mut publish = NextCommand::new("publish")
            .target(&target)
            .selection(&selection)
            .state_dir(opts.state_dir.as_deref());
        if opts.allow_dirty {
            publish = publish.flag("--allow-dirty");
        }
        if opts.require_rehearsal {
            publish = publish.flag("--require-rehearsal");
        }
        Next {
            publish: Some(publish.to_string()),
            resume: Some(
                NextCommand::new("resume")
                    .state_dir(opts.state_dir.as_deref())
                    .to_string(),
            ),
        }
    }

    /// "then `…` again", or for a rehearsal what failed, by crate.
    pub fn after_nothing_uploaded(&self, state: &RunState) -> String {
        match &self.publish {
            Some(publish) => format!("then `{publish}` again"),
            None => failed_crates(state),
        }
    }

    /// "`cargo shipper resume` to …", or for a rehearsal, which ends here.
    pub fn resume(&self, to: &str) -> String {
        match &self.resume {
            Some(resume) => format!("run `{resume}` {to}"),
            None => "the rehearsal ends here".into(),
        }
    }
}

/// The crates that failed and why ("a 0.1.0: …"), or what to look at.
fn failed_crates(state: &RunState) -> String {
    let failed: Vec<String> = state
        .crates_in_order()
        .filter(|(_, c)| c.status == CrateStatus::Failed)
        .map(|(name, c)| match &c.last_error {
            Some(why) => format!("{name} {}: {why}", c.version),
            None => format!("{name} {}", c.version),
        })
        .collect();
    match failed.is_empty() {
        true => "see the errors above".into(),
        false => format!("failed: {}", failed.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_follow_the_run_and_quote_for_the_shell() {
        let cmd = NextCommand::new("rehearse")
            .for_target(&TargetChoice::Registry("acc".into()))
            .selection(&Selection {
                packages: vec!["a".into()],
                exclude: vec!["b".into()],
            })
            .state_dir(Some(Path::new("/tmp/my state")));
        assert_eq!(
            cmd.to_string(),
            "cargo shipper rehearse --for-registry acc --package a --exclude b --state-dir '/tmp/my state'"
        );
        assert_eq!(
            NextCommand::new("publish")
                .target(&TargetChoice::Index("sparse+http://h:1/i/".into()))
                .to_string(),
            "cargo shipper publish --index sparse+http://h:1/i/"
        );
        assert_eq!(
            NextCommand::new("publish")
                .target(&TargetChoice::Default)
                .to_string(),
            "cargo shipper publish"
        );
    }
}
