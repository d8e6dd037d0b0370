//! The commands our messages suggest, spelled so that they work as
//! printed: the same registry, selection and state directory as the run
//! that suggests them (a bare `cargo shipper rehearse` after
//! `publish --registry acc` would plan for crates.io).

use std::fmt;
use std::path::Path;

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
