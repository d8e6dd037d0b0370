//! Core of the demo.

/// The base value everyone builds on.
pub fn base() -> u32 {
    1
}
