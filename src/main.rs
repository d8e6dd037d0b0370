fn main() -> std::process::ExitCode {
    cargo_shipper::cli::main()
}
