//! The `shadow` command, built as a binary of this test package so that integration tests can run it as a
//! separate process through `CARGO_BIN_EXE_shadow_cli` and kill it with `SIGKILL` mid-run.

fn main() -> std::process::ExitCode {
    shadow::cli::entry::run(std::env::args_os())
}
