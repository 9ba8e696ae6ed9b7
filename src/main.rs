//! The `provguard` binary: everything lives in the library; see [`provguard::cli`].

fn main() -> std::process::ExitCode {
    provguard::cli::main()
}
