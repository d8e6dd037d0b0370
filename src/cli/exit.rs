//! The exit code of a failed command, read from its error: each coded
//! error says its own code ([`crate::model::HasExit`], beside its
//! definition) and travels as a [`Coded`]; this edge only chooses among
//! the codes it finds, and knows no error type by name.

use std::process::ExitCode;

use crate::model::Coded;
pub use crate::model::Exit;

impl Exit {
    /// The code of a failed command. The chain is read outermost first:
    /// the outermost coded error decides, since an error that explains
    /// another (a run that uploaded nothing, over the packaging error that
    /// ended it) decides what it means; an uncoded error is a failure. Two
    /// codes decide from anywhere, because they say why the run ended
    /// whatever wraps them: a `--stop-after` stop (the run is to be
    /// continued, not failed), then content changed without a version
    /// bump (the run stopped before uploading; the fix is a bump).
    pub fn for_error(error: &anyhow::Error) -> Exit {
        let codes: Vec<Exit> = error
            .chain()
            .filter_map(|e| e.downcast_ref::<Coded>())
            .map(Coded::exit)
            .collect();
        [Exit::ToBeContinued, Exit::ContentChanged]
            .into_iter()
            .find(|anywhere| codes.contains(anywhere))
            .or(codes.first().copied())
            .unwrap_or(Exit::Failure)
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CodedContext, HasExit};

    #[derive(Debug, thiserror::Error)]
    #[error("coded {0:?}")]
    struct Says(Exit);
    impl HasExit for Says {
        fn exit(&self) -> Exit {
            self.0
        }
    }

    /// `codes[0]` outermost: each over the next, with uncoded context
    /// between them as real chains have.
    fn chain(codes: &[Exit]) -> anyhow::Error {
        let mut error = anyhow::anyhow!("root cause");
        for &code in codes.iter().rev() {
            error = error.coded_context(Says(code)).context("while doing");
        }
        error
    }

    #[test]
    fn an_error_without_a_code_is_a_failure() {
        assert_eq!(
            Exit::for_error(&anyhow::anyhow!("x").context("y")),
            Exit::Failure
        );
    }

    #[test]
    fn a_code_is_found_beneath_uncoded_context_and_std_sources() {
        let error = anyhow::Error::new(Coded::new(Says(Exit::BadInputFile)))
            .context("could not read")
            .context("plan-yank");
        assert_eq!(Exit::for_error(&error), Exit::BadInputFile);
    }

    #[test]
    fn the_outermost_code_decides() {
        // A run that uploaded nothing, over a workspace that cannot load.
        assert_eq!(
            Exit::for_error(&chain(&[Exit::Failure, Exit::InvalidWorkspace])),
            Exit::Failure
        );
        assert_eq!(
            Exit::for_error(&chain(&[Exit::Partial, Exit::BadInputFile])),
            Exit::Partial
        );
        assert_eq!(
            Exit::for_error(&chain(&[Exit::BadInputFile, Exit::Usage])),
            Exit::BadInputFile
        );
    }

    #[test]
    fn a_stop_for_later_decides_from_anywhere_then_changed_content() {
        for outer in [Exit::Failure, Exit::Partial, Exit::Interrupted] {
            assert_eq!(
                Exit::for_error(&chain(&[outer, Exit::ContentChanged])),
                Exit::ContentChanged
            );
            assert_eq!(
                Exit::for_error(&chain(&[outer, Exit::ToBeContinued])),
                Exit::ToBeContinued
            );
        }
        assert_eq!(
            Exit::for_error(&chain(&[Exit::ContentChanged, Exit::ToBeContinued])),
            Exit::ToBeContinued
        );
        assert_eq!(
            Exit::for_error(&chain(&[Exit::ToBeContinued, Exit::ContentChanged])),
            Exit::ToBeContinued
        );
    }
}
