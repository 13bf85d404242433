//! Command-line arguments of every subcommand. Other tools depend on these flags: keep them stable.

use std::{path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};

/// Predictive infrastructure scaling: forecast demand, warm a shadow copy, switch over safely.
#[derive(Debug, Parser)]
#[command(name = "shadow", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole pipeline on a built-in workload: metrics, forecast, plan, warm shadow, switchover.
    Demo(DemoArgs),
    /// Forecast a `timestamp,value` CSV and write quantiles as CSV.
    Forecast(ForecastArgs),
    /// Evaluate a model by rolling-origin backtest on a `timestamp,value` CSV.
    Backtest(BacktestArgs),
    /// Replay a demand trace through forecast, planner and a simulated provisioner.
    Simulate(SimulateArgs),
    /// Run a switchover from live to shadow as the config describes.
    Switch(SwitchArgs),
    /// Run the controller loop from a config file.
    Run(RunArgs),
}

/// Arguments of `shadow demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the chart (`demo.svg`) and the report (`report.txt`).
    #[arg(long, default_value = "shadow-demo")]
    pub out: PathBuf,
    /// Seed of the generated workload's noise.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// Arguments of `shadow forecast`.
#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// CSV with a header and two columns, `timestamp,value`. Timestamps are RFC 3339, `YYYY-MM-DD HH:MM:SS`
    /// (UTC) or unix seconds. An empty value or `NaN` is a missing observation.
    #[arg(long)]
    pub input: PathBuf,
    /// Number of steps to forecast.
    #[arg(long)]
    pub horizon: usize,
    /// Comma-separated quantile levels, each strictly between 0 and 1.
    #[arg(long, default_value = "0.5,0.9,0.99", value_delimiter = ',')]
    pub quantiles: Vec<f64>,
    /// Write the CSV here instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// The model, by registry name: `auto` (backtest-chosen combination, the default), `arima` (needs
    /// `--order`), `auto-arima`, `ets`, `mstl`, `theta`, `seasonal-naive`, ...
    #[arg(long, default_value = "auto")]
    pub model: String,
    /// Known past and future events, a TOML or CSV file (see `shadow_core::events`). Their effects are
    /// estimated jointly with the model and lift the forecast, quantiles included, when they recur.
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// Also draw the history, the quantile fan and the events to this SVG file.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Calibrate the quantiles by conformal adjustment from rolling-origin backtests inside the history.
    #[arg(long)]
    pub calibrate: bool,
    /// Season length, such as `1d` or `1h` (`auto`, `seasonal-naive`). Default: chosen from the data; for
    /// `auto`, a day when the step divides a day into at most 96 steps, else no season.
    #[arg(long, value_parser = humantime_duration)]
    pub season: Option<Duration>,
    /// The orders and trend of `--model arima`.
    #[command(flatten)]
    pub arima: ArimaArgs,
}

/// The orders and trend of `--model arima`, shared by `shadow forecast` and `shadow backtest`. They are
/// parsed by the subcommand, so a bad value is a one-line error with exit code 1.
#[derive(Debug, Clone, Default, Args)]
pub struct ArimaArgs {
    /// Non-seasonal order `p,d,q` of `--model arima` (required there), as statsmodels' `order`.
    #[arg(long, value_name = "P,D,Q", allow_hyphen_values = true)]
    pub order: Option<String>,
    /// Seasonal order `P,D,Q,m` of `--model arima`, `m` in steps, as statsmodels' `seasonal_order`.
    #[arg(long, value_name = "P,D,Q,M", allow_hyphen_values = true)]
    pub seasonal_order: Option<String>,
    /// Trend of `--model arima`: `none` (default), `constant` or `drift`.
    #[arg(long, value_name = "none|constant|drift")]
    pub trend: Option<String>,
}

/// Arguments of `shadow backtest`.
#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// What to evaluate: a `timestamp,value` CSV, a folder of such files (or of values-only files), or an M4
    /// file such as `Hourly-train.csv` (see `shadow::cli::datasets`).
    #[arg(long, visible_alias = "input")]
    pub data: PathBuf,
    /// Steps forecast from each origin, as a number of steps (`48`) or a duration (`1h`, `24h`) that is
    /// divided by each series' step. Default: 48 for an M4 file; required otherwise.
    #[arg(long)]
    pub horizon: Option<String>,
    /// Number of rolling origins, the last one `horizon` steps before the end. Default: 1 for an M4 file
    /// (the last 48 points held out), else 5.
    #[arg(long)]
    pub folds: Option<usize>,
    /// Steps between origins, as for `--horizon`. Default: the horizon (non-overlapping windows).
    #[arg(long)]
    pub stride: Option<String>,
    /// Central interval coverage levels to check, comma-separated, such as 0.8,0.95.
    #[arg(
        long = "level",
        visible_alias = "levels",
        default_value = "0.8,0.95",
        value_delimiter = ','
    )]
    pub levels: Vec<f64>,
    /// Models to evaluate, by registry name; repeat the flag or separate with commas.
    #[arg(long = "model", default_value = "seasonal-naive", value_delimiter = ',')]
    pub models: Vec<String>,
    /// Season length, such as `1d`: the MASE lag, the Naive2 season, and the season given to the models.
    /// Default: the models choose; the lag is a day when the step divides a day and the history before the
    /// first origin covers two days, else 1 step.
    #[arg(long, value_parser = humantime_duration)]
    pub season: Option<Duration>,
    /// Grid step of M4 rows (default 1h) and of values-only files (default 5m).
    #[arg(long, value_parser = humantime_duration)]
    pub step: Option<Duration>,
    /// Evaluate only the first N series (in file or name order).
    #[arg(long)]
    pub max_series: Option<usize>,
    /// Also evaluate every model wrapped in conformal calibration (`<model>+conformal`), whose quantiles are
    /// corrected from rolling-origin residuals on the training part of each fold.
    #[arg(long)]
    pub calibrate: bool,
    /// The orders and trend of `--model arima`.
    #[command(flatten)]
    pub arima: ArimaArgs,
}

/// Arguments of `shadow simulate`.
///
/// With only `--trace`, the documented defaults apply: a 5-minute boot delay, a capacity per instance such
/// that the mean demand needs 10 instances, an HPA target utilisation of 0.7, and the first day as warm-up
/// (not scored).
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The demand trace: a `timestamp,value` CSV, or a headed CSV of numbers without timestamps (one row per
    /// `--step`, such as the Alibaba and Google cluster files).
    #[arg(long)]
    pub trace: PathBuf,
    /// The column of a file without timestamps (default: the first).
    #[arg(long)]
    pub column: Option<String>,
    /// The step of a file without timestamps.
    #[arg(long, value_parser = humantime_duration, default_value = "5m")]
    pub step: Duration,
    /// Output format.
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Write one chart per policy (`<policy>.svg`: demand, forecast band, ready capacity) into this directory.
    #[arg(long)]
    pub chart_dir: Option<PathBuf>,
    /// Write one chart of demand and every policy's capacity here.
    #[arg(long)]
    pub chart: Option<PathBuf>,
    /// The policies to compare, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "hpa,aws-predictive,proactive,cost-optimised,oracle"
    )]
    pub policies: Vec<String>,
    /// The forecaster, by its registry name (`seasonal-naive`, `auto`, ...).
    #[arg(long, default_value = "seasonal-naive")]
    pub model: String,
    /// The forecaster's season, such as `1d`. Default: chosen from the data.
    #[arg(long, value_parser = humantime_duration)]
    pub season: Option<Duration>,
    /// How long a new instance takes to serve.
    #[arg(long, value_parser = humantime_duration, default_value = "5m")]
    pub boot: Duration,
    /// Instances the mean demand needs at the HPA target utilisation.
    #[arg(long, default_value_t = 10.0)]
    pub mean_instances: f64,
    /// The HPA target utilisation.
    #[arg(long, default_value_t = 0.7)]
    pub hpa_target: f64,
    /// The history that is not scored.
    #[arg(long, value_parser = humantime_duration, default_value = "1d")]
    pub warm_up: Duration,
    /// Our planning quantile (default: from the price table, `penalty / (penalty + price)`).
    #[arg(long)]
    pub quantile: Option<f64>,
    /// Extra headroom share on top of our calibrated bound.
    #[arg(long, default_value_t = 0.0)]
    pub headroom: f64,
    /// A budget on our headroom, as a share of the smoothed demand level: the price of headroom rises while
    /// it is exceeded (`inf`: no budget, the price table alone decides).
    #[arg(long, default_value_t = f64::INFINITY)]
    pub max_headroom: f64,
    /// A budget on our cost against perfect foresight: the price of headroom rises while the capacity held
    /// exceeds this multiple of what the oracle would have held (`inf`: no budget).
    #[arg(long, default_value_t = 1.9)]
    pub max_cost_over_oracle: f64,
    /// Size the bound after a miss from the same errors as every other step, instead of from the errors
    /// that followed earlier misses.
    #[arg(long)]
    pub no_after_miss: bool,
    /// A TOML price table (`on_demand`, `reserved`, `spot`, `spot_interruptions_per_hour`, `max_spot_share`,
    /// `shortfall_penalty`); missing keys keep their defaults.
    #[arg(long)]
    pub prices: Option<PathBuf>,
    /// Seed of the spot interruptions.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Sweep HPA's target utilisation and our quantile and headroom, and report both frontiers.
    #[arg(long)]
    pub sweep: bool,
    /// With `--sweep`: write the frontier chart here.
    #[arg(long)]
    pub sweep_chart: Option<PathBuf>,
}

/// Arguments of `shadow switch`: `shadow switch --config FILE` runs (or resumes) a switchover;
/// `shadow switch status --config FILE` shows its persisted state.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SwitchArgs {
    /// `status`: show the persisted state instead of running.
    #[command(subcommand)]
    pub action: Option<SwitchAction>,
    /// The config file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The service to switch; default: the only service in the config.
    #[arg(long)]
    pub service: Option<String>,
    /// Where the switchover state is persisted (one JSON file per service). Default: `.shadow-switch/` next
    /// to the config file. A run that finds an unfinished switchover there resumes it.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Write the switchover metrics (Prometheus text format) to this file after every phase change, for the
    /// node exporter's textfile collector.
    #[arg(long)]
    pub metrics_file: Option<PathBuf>,
    /// Gate every step on the error rate and p99 latency of both sides from the `[metrics]` source (resource
    /// kinds `error_rate` and `latency_p99`), judged with a Mann-Whitney test.
    #[arg(long)]
    pub analysis: bool,
    /// What a resumed, interrupted shift does: `continue` (re-check, then go on) or `roll-back`.
    #[arg(long, default_value = "continue", value_parser = ["continue", "roll-back"])]
    pub on_resume: String,
}

/// Subcommands of `shadow switch`.
#[derive(Debug, Subcommand)]
pub enum SwitchAction {
    /// Show the persisted switchover state and the split the traffic shifter reports.
    Status(SwitchStatusArgs),
}

/// Arguments of `shadow switch status`.
#[derive(Debug, Args)]
pub struct SwitchStatusArgs {
    /// The config file.
    #[arg(long)]
    pub config: PathBuf,
    /// The service; default: the only service in the config.
    #[arg(long)]
    pub service: Option<String>,
    /// The state directory, as for `shadow switch`.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
}

/// Arguments of `shadow run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The config file.
    #[arg(long)]
    pub config: PathBuf,
    /// Run one cycle and exit.
    #[arg(long)]
    pub once: bool,
}

fn humantime_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("`{s}` is not a duration such as 30s, 5m, 1d: {e}"))
}
