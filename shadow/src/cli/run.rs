//! `shadow run --config FILE [--once]`: the controller loop.

use std::sync::Arc;

use shadow_core::config::ShadowConfig;
use shadow_providers::ProviderRegistry;

use super::{CliError, args::RunArgs};
use crate::controller::{Decision, Runtime, describe};

/// Runs `shadow run`: one line per service per cycle on stdout, `/metrics` and `/healthz` on
/// `controller.listen` when set, a config reload on SIGHUP, until Ctrl-C or SIGTERM (or after one cycle with
/// `--once`). A cycle in progress finishes before the process exits.
///
/// # Errors
/// A one-line [`CliError`] when the config is invalid, a provider cannot be built, or the listen address
/// cannot be bound.
pub async fn main(args: RunArgs) -> Result<(), CliError> {
    let config = ShadowConfig::from_file(&args.config)?;
    let registry = ProviderRegistry::with_builtin();
    let runtime = Runtime::start(config, registry, Arc::new(crate::SystemClock))
        .await?
        .with_config_path(&args.config);
    if let Some(addr) = runtime.local_addr() {
        eprintln!("serving /metrics and /healthz on http://{addr}");
    }
    let print = |decisions: &[Decision]| {
        for d in decisions {
            println!("{}", describe(d));
        }
    };
    if args.once {
        print(&runtime.cycle().await);
        runtime.stop().await;
        return Ok(());
    }
    runtime.run(shutdown_signal(), print).await;
    Ok(())
}

/// Completes on Ctrl-C or (on Unix) SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutdown requested; finishing the current cycle");
}
