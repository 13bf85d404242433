//! The `shadow` command.

fn main() -> std::process::ExitCode {
    shadow::cli::entry::run(std::env::args_os())
}
