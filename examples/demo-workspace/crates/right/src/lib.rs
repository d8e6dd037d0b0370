//! Right side of the diamond (depends on the core under a renamed key).

pub fn right() -> u32 {
    base::base() + 2
}
