//! Registry tokens, kept out of every output: `Debug` and `Display` print a
//! placeholder, serialization is impossible, and the value is only reachable
//! through [`Secret::expose`], at the point of use.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
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
    #[test]
    fn never_prints_its_value() {
        let s = super::Secret::new("cio_TOPSECRET".into());
        assert!(!format!("{s} {s:?} {s:#?}").contains("TOPSECRET"));
        assert_eq!(s.expose(), "cio_TOPSECRET");
    }
}
