//! Registry tokens, kept out of every output: `Debug` and `Display` print a
//! placeholder, serialization is impossible, and the value is only reachable
//! through [`Secret::expose`], at the point of use.

use std::fmt;

use crate::model::{Exit, HasExit};

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// A registry token, checked once where it enters (the command line,
    /// cargo's credentials): it is sent as an HTTP header value, so a line
    /// break in it would add headers of its own. crates.io's client allows
    /// printable ASCII, spaces and tabs; so do we, and the token is never
    /// echoed in the refusal.
    pub fn token(value: String, origin: TokenOrigin) -> Result<Self, InvalidToken> {
        let empty = value.is_empty();
        if empty
            || !value
                .bytes()
                .all(|b| (b' '..=b'~').contains(&b) || b == b'\t')
        {
            return Err(InvalidToken { origin, empty });
        }
        Ok(Secret(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Where a token came from, for the message (and the exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOrigin {
    /// `--token`.
    CommandLine,
    /// cargo's credential machinery (environment, `credentials.toml`, providers).
    Cargo,
}

#[derive(Debug, thiserror::Error)]
#[error("{}", invalid_token_message(*origin, *empty))]
pub struct InvalidToken {
    pub origin: TokenOrigin,
    pub empty: bool,
}

impl HasExit for InvalidToken {
    /// A bad `--token` is a bad command-line argument; a bad token from
    /// cargo's credentials is a failure.
    fn exit(&self) -> Exit {
        match self.origin {
            TokenOrigin::CommandLine => Exit::Usage,
            TokenOrigin::Cargo => Exit::Failure,
        }
    }
}

fn invalid_token_message(origin: TokenOrigin, empty: bool) -> String {
    let what = match origin {
        TokenOrigin::CommandLine => "the `--token` value",
        TokenOrigin::Cargo => "the token cargo's credentials give for this registry",
    };
    let fix = match origin {
        TokenOrigin::CommandLine => "pass the token itself",
        TokenOrigin::Cargo => {
            "check where it is set (`CARGO_REGISTRY_TOKEN`, `CARGO_REGISTRIES_<NAME>_TOKEN`, \
             `credentials.toml`, a credential provider): a trailing newline?"
        }
    };
    if empty {
        format!("{what} is empty; {fix}")
    } else {
        format!(
            "{what} contains a character that cannot be sent in an HTTP header (a line break or \
             another control character; only printable ASCII, spaces and tabs are allowed); {fix}"
        )
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Exit, HasExit};

    #[test]
    fn a_bad_token_is_a_usage_error_only_when_given_on_the_command_line() {
        use super::{Secret, TokenOrigin};
        let bad = |origin| Secret::token("a\nb".into(), origin).unwrap_err().exit();
        assert_eq!(bad(TokenOrigin::CommandLine), Exit::Usage);
        assert_eq!(bad(TokenOrigin::Cargo), Exit::Failure);
    }

    #[test]
    fn never_prints_its_value() {
        let s = super::Secret::new("cio_TOPSECRET".into());
        assert!(!format!("{s} {s:?} {s:#?}").contains("TOPSECRET"));
        assert_eq!(s.expose(), "cio_TOPSECRET");
    }

    #[test]
    fn tokens_that_would_inject_headers_are_refused_without_echo() {
        use super::{Secret, TokenOrigin};
        for (bad, shows) in [
            ("S\r\nX-Injected: yes", "X-Injected"),
            ("zq7secret\n", "zq7secret"),
            ("nul\0zq8", "zq8"),
            ("", "is empty"),
        ] {
            let err = Secret::token(bad.into(), TokenOrigin::CommandLine).unwrap_err();
            let text = err.to_string();
            assert!(text.contains("`--token`"), "{text}");
            assert_eq!(text.contains(shows), bad.is_empty(), "{text}");
        }
        assert!(Secret::token("cio_ok token\twith tab".into(), TokenOrigin::Cargo).is_ok());
    }
}
