//! Joins both sides of the diamond.

pub fn total() -> u32 {
    shipper_demo_left::left() + shipper_demo_right::right()
}
