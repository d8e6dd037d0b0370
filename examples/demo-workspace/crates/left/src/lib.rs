//! Left side of the diamond.

pub fn left() -> u32 {
    shipper_demo_core::base() + 1
}
