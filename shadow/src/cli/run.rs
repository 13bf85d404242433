//! `shadow run --config FILE [--once]`: the controller loop.

use std::sync::Arc;

use shadow_core::config::ShadowConfig;
use shadow_providers::ProviderRegistry;

use super::{CliError, args::RunArgs};
use crate::controller::{Controller, describe};

/// Runs `shadow run`: one line per service per cycle on stdout, until Ctrl-C or SIGTERM (or after one cycle
/// with `--once`).
///
/// # Errors
/// A one-line [`CliError`] when the config is invalid or a provider cannot be built.
pub async fn main(args: RunArgs) -> Result<(), CliError> {
    let config = ShadowConfig::from_file(&args.config)?;
    let registry = ProviderRegistry::with_builtin();
    let controller = Controller::from_config(config, &registry, Arc::new(crate::SystemClock))?;
    let print = |decisions: &[crate::controller::Decision]| {
        for d in decisions {
            println!("{}", describe(d));
        }
    };
    if args.once {
        print(&controller.cycle().await);
        return Ok(());
    }
    controller.run(shutdown_signal(), print).await;
    Ok(())
}

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
    tracing::info!("shutting down");
}
