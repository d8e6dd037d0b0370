//! The command-line reference in `docs/reference/` is executable: every
//! `console` block there runs against the real binary, so `--help` and the
//! documentation cannot drift apart.

#[test]
fn cli_reference_is_current() {
    let cargo_home = tempfile::tempdir().unwrap();
    trycmd::TestCases::new()
        .register_bin("cargo", trycmd::cargo::cargo_bin("cargo-shipper"))
        .env("CARGO_HOME", cargo_home.path().to_str().unwrap())
        .env("NO_COLOR", "1")
        .case("docs/reference/*.md");
}
