//! Test helpers.

pub fn expected_total() -> u32 {
    2 * shipper_demo_core::base() + 3
}
