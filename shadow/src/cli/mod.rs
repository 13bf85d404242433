//! The `shadow` command line: argument types and one module per subcommand.
//!
//! Every subcommand returns [`CliError`]; `main` prints it on one line and exits non-zero.

pub mod args;
pub mod backtest;
pub mod csv;
pub mod datasets;
pub mod demo;
pub mod entry;
pub mod forecast;
pub mod run;
pub mod simulate;
pub mod switch;

pub use args::{Cli, Command};

/// An error that ends a subcommand: printed as one line, exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What happened.
        #[source]
        source: std::io::Error,
    },
    /// The input is malformed: the message names the file, line and problem.
    #[error("{0}")]
    Input(String),
    /// An error from the library.
    #[error(transparent)]
    Shadow(#[from] shadow_core::Error),
}

impl CliError {
    /// Wraps an I/O error with the path it concerns.
    #[must_use]
    pub fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        CliError::Io {
            path: path.to_string(),
            source,
        }
    }
}

/// Formats an error and its sources on one line: `outer: inner: innermost`.
#[must_use]
pub fn one_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out.replace('\n', " ")
}

/// Runs a parsed command line.
///
/// # Errors
/// The subcommand's [`CliError`].
pub async fn dispatch(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Demo(a) => demo::main(a).await,
        Command::Forecast(a) => forecast::main(a),
        Command::Backtest(a) => backtest::main(a),
        Command::Simulate(a) => simulate::main(a).await,
        Command::Switch(a) => switch::main(a).await,
        Command::Run(a) => run::main(a).await,
    }
}
