//! Exit codes, one per outcome a script may want to branch on (documented in
//! `docs/reference/cli.md`; never renumber), and how an error carries its
//! own.
//!
//! Every error type that stands for a code implements [`HasExit`] beside
//! its definition (the code may depend on the variant: a yank order's
//! unknown crate is not a bad input file). Where such an error becomes an
//! `anyhow::Error`, it goes in as a [`Coded`]: the one type the edge
//! (`cli::exit`) looks for in the error chain, so the edge knows no error
//! type by name and a new coded error needs no registration there.
//!
//! Forgetting the `Coded` compiles (anyhow takes every std error), so
//! tests stand guard: scans of the sources here refuse a typed value as
//! anyhow context (where a coded error would hide from the edge, as it
//! did before) and a coded error built straight into anyhow (`T { .. }
//! .into()`, `anyhow::Error::new(T ..)`); what they cannot see, a typed
//! result passed on by `?`, the suite's exit-code assertions catch on the
//! paths they drive through the real binary.
//!
//! A coded error that explains another (a run that ended, over the error
//! that ended it) is put over it with [`CodedContext::coded_context`], not
//! anyhow's `context`: a context value is invisible to the chain's items,
//! so the edge could not find it beneath another.

use std::error::Error;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    Success = 0,
    /// The command failed (I/O, registry unreachable, …); for `publish`:
    /// nothing was uploaded.
    Failure = 1,
    /// Bad command-line arguments (clap's own code; also a `--token` that
    /// cannot be sent in an HTTP header, or a `rehearse` flag it cannot honour).
    Usage = 2,
    /// The workspace cannot be loaded or planned: a manifest does not parse,
    /// a dependency cycle, an unpublishable dependency, …; `fix-forward`:
    /// manifests it will not rewrite (nothing written).
    InvalidWorkspace = 3,
    /// Some crates were published, others not: `cargo shipper resume`.
    Partial = 4,
    /// An upload's outcome could not be settled with the registry: a person
    /// must look before anything else is uploaded.
    NeedsOperator = 5,
    /// A receipt, yank plan or trusted-publishing file (`registry serve`)
    /// given on the command line cannot be used: unreadable, not JSON (TOML),
    /// not ours, a newer format, empty, a broken graph, a missing key; or
    /// the gate's `rehearsal.json` is not JSON, of a newer format, or
    /// contradicts itself (a crate listed twice, a `passed` verdict over a
    /// failed part).
    BadInputFile = 6,
    /// `preflight`: a check found something that would make the release fail.
    PreflightBlocked = 7,
    /// `--stop-after` stopped the run before it finished, cleanly: to be
    /// continued by the next `publish` (or `resume`), or the same `yank`,
    /// with the same state directory.
    ToBeContinued = 8,
    /// `publish`, `resume`, `rehearse`: a version the registry already holds
    /// has other content than the release's (changed without a version
    /// bump); stopped before any upload. Bump the version.
    ContentChanged = 9,
    /// `publish`, `resume`, `yank`: stopped by SIGINT or SIGTERM, what was in
    /// flight recorded; run `cargo shipper resume` (or `yank` again).
    /// `rehearse`: stopped likewise, its registry gone, its record `failed`.
    Interrupted = 130,
}

/// An error that decides the process's exit code, declared beside the
/// error's definition. `Exit::Failure` is a decision too: a run that
/// uploaded nothing exits 1 whatever ended it.
pub trait HasExit: Error + Send + Sync + 'static {
    fn exit(&self) -> Exit;
}

/// A [`HasExit`] error on its way into `anyhow`, optionally over the error
/// it explains. It reads as the error it carries: the same message, then
/// the causes (the one it is over, else the error's own).
pub struct Coded {
    error: Box<dyn HasExit>,
    over: Option<anyhow::Error>,
}

impl Coded {
    pub fn new(error: impl HasExit) -> Coded {
        Coded {
            error: Box::new(error),
            over: None,
        }
    }

    /// `error` explaining `cause`, as `cause.context(error)` would show it.
    fn over(error: impl HasExit, cause: anyhow::Error) -> Coded {
        Coded {
            error: Box::new(error),
            over: Some(cause),
        }
    }

    pub fn exit(&self) -> Exit {
        self.error.exit()
    }

    /// The carried error, when it is a `T`.
    pub fn get<T: HasExit>(&self) -> Option<&T> {
        let error: &(dyn Error + 'static) = &*self.error;
        error.downcast_ref::<T>()
    }

    /// The outermost coded `T` in `error`'s chain: how code that decides on
    /// a coded error (a report showing a failed run's state) finds it.
    pub fn find<T: HasExit>(error: &anyhow::Error) -> Option<&T> {
        error
            .chain()
            .filter_map(|e| e.downcast_ref::<Coded>())
            .find_map(Coded::get::<T>)
    }
}

/// anyhow's `context` for a coded error: the error reads the same, and
/// the code stays findable however deep it ends up.
pub trait CodedContext {
    fn coded_context(self, error: impl HasExit) -> anyhow::Error;
}

impl CodedContext for anyhow::Error {
    fn coded_context(self, error: impl HasExit) -> anyhow::Error {
        Coded::over(error, self).into()
    }
}

impl<E: HasExit> From<E> for Coded {
    fn from(error: E) -> Coded {
        Coded::new(error)
    }
}

impl fmt::Display for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl fmt::Debug for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Coded")
            .field("error", &self.error)
            .field("over", &self.over)
            .finish()
    }
}

impl Error for Coded {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.over {
            Some(cause) => Some(cause.as_ref()),
            None => self.error.source(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer;
    impl HasExit for Outer {
        fn exit(&self) -> Exit {
            Exit::Partial
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner(#[source] std::io::Error);
    impl HasExit for Inner {
        fn exit(&self) -> Exit {
            Exit::BadInputFile
        }
    }

    #[test]
    fn the_codes_are_the_documented_numbers() {
        // Scripts branch on these (docs/reference/cli.md): never renumber.
        let codes = [
            (Exit::Success, 0),
            (Exit::Failure, 1),
            (Exit::Usage, 2),
            (Exit::InvalidWorkspace, 3),
            (Exit::Partial, 4),
            (Exit::NeedsOperator, 5),
            (Exit::BadInputFile, 6),
            (Exit::PreflightBlocked, 7),
            (Exit::ToBeContinued, 8),
            (Exit::ContentChanged, 9),
            (Exit::Interrupted, 130),
        ];
        for (exit, code) in codes {
            assert_eq!(exit as u8, code, "{exit:?}");
        }
    }

    /// Every `.rs` file under `dir`, comments dropped and whitespace
    /// collapsed, so a call reads the same however it is wrapped.
    fn sources(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let code: Vec<&str> = text
                    .lines()
                    .map(|line| line.split_once("//").map_or(line, |(code, _)| code))
                    .flat_map(str::split_whitespace)
                    .collect();
                out.push((path.display().to_string(), code.join(" ")));
            }
        }
    }

    /// What a finding shows of the code at it.
    fn excerpt(code: &str) -> String {
        code.chars().take(60).collect()
    }

    /// The guard against a coded error attached as anyhow context, where
    /// the edge cannot see it (it compiles, and reads right): anyhow's
    /// context is always a message, a string or `format!`, or a closure
    /// making one; a typed value over an error goes in with
    /// `coded_context`. (A coded error made into anyhow by `?` or `into`
    /// without its `Coded` is what the suite's exit-code assertions catch.)
    #[test]
    fn anyhow_context_is_always_a_message_never_a_typed_value() {
        let mut files = Vec::new();
        sources(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        assert!(files.len() > 50, "found {} sources", files.len());
        let message = ["\"", "format!(", "||", "move ||", "&"];
        let mut typed = Vec::new();
        for (path, code) in &files {
            for call in [".context(", ".with_context("] {
                for (at, _) in code.match_indices(call) {
                    let receiver = code[..at].rsplit([' ', '(', '.']).next().unwrap_or("");
                    // `GlobalArgs::context`: cargo's options, not anyhow's.
                    if matches!(receiver, "self" | "global") {
                        continue;
                    }
                    let argument = code[at + call.len()..].trim_start();
                    if !message.iter().any(|m| argument.starts_with(m)) {
                        typed.push(format!("{path}: {}", excerpt(argument)));
                    }
                }
            }
        }
        assert!(typed.is_empty(), "typed anyhow context: {typed:#?}");
    }

    /// Where `code[start..]` opens a bracket, the index past its match.
    fn past_brackets(code: &str, start: usize) -> usize {
        let mut depth = 0;
        for (i, c) in code[start..].char_indices() {
            match c {
                '(' | '{' | '[' => depth += 1,
                ')' | '}' | ']' => {
                    depth -= 1;
                    if depth == 0 {
                        return start + i + 1;
                    }
                }
                _ => {}
            }
        }
        code.len()
    }

    /// The same guard for a coded error made into anyhow where it is made:
    /// `T { .. }.into()`, `anyhow::Error::new(T ..)`, `anyhow!(T ..)` for
    /// every `T` with `impl HasExit`, outside a `Coded::new(..)`.
    #[test]
    fn a_coded_error_built_into_anyhow_goes_in_as_coded() {
        let mut files = Vec::new();
        sources(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let coded: Vec<&str> = files
            .iter()
            .flat_map(|(_, code)| code.split("impl HasExit for ").skip(1))
            .filter_map(|rest| rest.split([' ', '<']).next())
            .collect();
        assert!(coded.len() >= 15, "{coded:?}");
        let mut bare = Vec::new();
        for (path, code) in &files {
            for name in &coded {
                for (at, _) in code.match_indices(name) {
                    let before = &code[..at];
                    let is_word =
                        |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                    if is_word(before.chars().last())
                        || is_word(code[at + name.len()..].chars().next())
                    {
                        continue;
                    }
                    let head = before.trim_end_matches("super::");
                    if ["anyhow::Error::new(", "anyhow!(", "bail!("]
                        .iter()
                        .any(|m| head.ends_with(m))
                    {
                        bare.push(format!("{path}: {}", excerpt(&code[at..])));
                        continue;
                    }
                    // The construction: a path, then its fields or arguments.
                    let mut end = at + name.len();
                    while code[end..].starts_with("::") {
                        end += 2 + code[end + 2..]
                            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                            .unwrap_or(0);
                    }
                    let rest = code[end..].trim_start();
                    if rest.starts_with('{') || rest.starts_with('(') {
                        end = past_brackets(code, code.len() - rest.len());
                    }
                    if code[end..].trim_start().starts_with(".into()")
                        && !head.ends_with("Coded::new(")
                    {
                        bare.push(format!("{path}: {}", excerpt(&code[at..])));
                    }
                }
            }
        }
        assert!(
            bare.is_empty(),
            "coded errors into anyhow without `Coded`: {bare:#?}"
        );
    }

    fn texts(error: &anyhow::Error) -> Vec<String> {
        error.chain().map(|e| e.to_string()).collect()
    }

    #[test]
    fn a_coded_error_reads_as_the_error_it_carries_with_its_own_causes() {
        let error = anyhow::Error::new(Coded::new(Inner(std::io::Error::other("disk"))));
        assert_eq!(texts(&error), ["inner", "disk"]);
        assert_eq!(format!("{error:#}"), "inner: disk");
        assert!(Coded::find::<Inner>(&error).is_some());
        assert!(Coded::find::<Outer>(&error).is_none());
    }

    #[test]
    fn over_reads_as_anyhow_context_and_keeps_both_findable() {
        let cause = anyhow::Error::new(Coded::new(Inner(std::io::Error::other("disk"))))
            .context("while reading");
        let expected = texts(&cause.context("outer"));
        let cause = anyhow::Error::new(Coded::new(Inner(std::io::Error::other("disk"))))
            .context("while reading");
        let error = anyhow::Error::new(Coded::over(Outer, cause));
        assert_eq!(texts(&error), expected);
        let codes: Vec<Exit> = error
            .chain()
            .filter_map(|e| e.downcast_ref::<Coded>())
            .map(Coded::exit)
            .collect();
        assert_eq!(codes, [Exit::Partial, Exit::BadInputFile]);
        assert!(Coded::find::<Inner>(&error).is_some());
        assert!(Coded::find::<Outer>(&error).is_some());
    }
}
