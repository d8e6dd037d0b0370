//! End of the chain.

pub fn run() -> String {
    format!("total = {}", shipper_demo_app::total())
}

#[cfg(test)]
mod tests {
    #[test]
    fn total_matches_the_testkit() {
        assert_eq!(super::run(), format!("total = {}", shipper_demo_testkit::expected_total()));
    }
}
