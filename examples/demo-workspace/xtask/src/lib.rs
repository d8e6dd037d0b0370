//! Release chores; never published.

pub fn chores() -> String {
    shipper_demo_cli::run()
}
