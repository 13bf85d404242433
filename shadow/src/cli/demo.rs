//! `shadow demo`: the whole pipeline on a built-in workload.

use super::{CliError, args::DemoArgs};
use crate::demo::{self, DemoError, DemoOptions};

/// Runs `shadow demo`: prints the report and writes `report.txt` and `demo.svg` into `--out`.
///
/// # Errors
/// A one-line [`CliError`] naming the stage or file that failed.
pub async fn main(args: DemoArgs) -> Result<(), CliError> {
    let report = demo::run(&DemoOptions::new(args.out, args.seed))
        .await
        .map_err(|e| match e {
            DemoError::Io { path, source } => CliError::io(path.display(), source),
            other => CliError::Input(format!("demo: {}", super::one_line(&other))),
        })?;
    print!("{}", report.text);
    println!(
        "\nwrote {} and {}",
        report.report_path.display(),
        report.chart_path.display()
    );
    Ok(())
}
