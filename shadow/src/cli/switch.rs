//! `shadow switch`: run a switchover from live to shadow as the config describes.
//!
//! The provisioner, traffic shifter and health probe come from the config's `[provisioner]`, `[traffic]` and
//! `[health]` sections, built by [`ProviderRegistry::with_builtin`]. The shadow is warmed to live's current size
//! before traffic moves, and a rollback keeps live at that size. When all three providers are in-memory, the
//! switchover runs on a manual clock, so it shows every step at once without waiting out the dwell times.

use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use shadow_core::{Clock, Environment, ManualClock, ProvisioningRequest, config::ShadowConfig, memory};
use shadow_providers::ProviderRegistry;
use shadow_switch::{SwitchRequest, Switchover};

use super::{CliError, args::SwitchArgs};

/// Runs `shadow switch`.
///
/// # Errors
/// A one-line [`CliError`]: an invalid config, an unknown service, a provider that cannot be built, or a
/// switchover that stopped before traffic moved or could not roll back.
pub async fn main(args: SwitchArgs) -> Result<(), CliError> {
    let cfg = ShadowConfig::from_file(&args.config)?;
    let svc = match &args.service {
        Some(name) => cfg.services.iter().find(|s| s.name.as_str() == name),
        None if cfg.services.len() == 1 => cfg.services.first(),
        None => None,
    }
    .ok_or_else(|| {
        let names: Vec<_> = cfg.services.iter().map(|s| s.name.to_string()).collect();
        let names = if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        };
        CliError::Input(format!(
            "{}: choose a service with --service; the config has: {names}",
            args.config.display()
        ))
    })?;
    let health = cfg.health.as_ref().ok_or_else(|| {
        CliError::Input(format!(
            "{}: a switchover needs a [health] section",
            args.config.display()
        ))
    })?;
    let registry = ProviderRegistry::with_builtin();
    let provisioner = registry.build_provisioner(&cfg.provisioner)?;
    let shifter = registry.build_traffic_shifter(&cfg.traffic)?;
    let probe = registry.build_health_probe(health)?;
    let simulated = [&cfg.provisioner, &cfg.traffic, health]
        .iter()
        .all(|p| p.kind == memory::KIND);
    let now = Utc::now().trunc_subsecs(0);
    let clock: Arc<dyn Clock> = if simulated {
        Arc::new(ManualClock::new(now))
    } else {
        Arc::new(crate::SystemClock)
    };

    let live = provisioner.describe(&svc.name, Environment::Live).await?;
    let replicas = live.desired.max(svc.policy.min_replicas);
    let switchover = Switchover::builder()
        .with_provisioner(provisioner)
        .with_shifter(shifter)
        .with_probe(probe)
        .with_clock(clock.clone())
        .with_config(cfg.switch.clone())
        .build()
        .map_err(|e| CliError::Input(super::one_line(&e)))?;
    let request = SwitchRequest {
        service: svc.name.clone(),
        shadow: vec![ProvisioningRequest {
            service: svc.name.clone(),
            environment: Environment::Shadow,
            target: replicas,
            issue_at: clock.now(),
            deadline: clock.now(),
            reason: format!("warm the shadow to live's size ({replicas}) before the switchover"),
        }],
        live_min_replicas: replicas,
    };
    let clock_kind = if simulated {
        "simulated clock"
    } else {
        "wall clock"
    };
    println!(
        "switching `{}`: live at {replicas}, shadow warmed to {replicas} ({clock_kind})",
        svc.name
    );
    let report = switchover
        .run(&request)
        .await
        .map_err(|e| CliError::Input(format!("switchover: {}", super::one_line(&e))))?;
    for e in &report.events {
        println!("{e}");
    }
    println!("final phase: {}", report.phase);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("shadow-switch-cli-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("shadow.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    const CONFIG: &str = r#"
        [provisioner]
        kind = "memory"
        services = { checkout = 4 }
        [traffic]
        kind = "memory"
        services = ["checkout"]
        [health]
        kind = "memory"
        services = ["checkout"]
        [switch]
        steps = [20.0, 100.0]
        [[services]]
        name = "checkout"
        resources = ["cpu"]
        policy = { min_replicas = 3, max_replicas = 9, lead_time = "1m", capacity.cpu = { per_instance = 2.0 } }
    "#;

    #[tokio::test]
    async fn switches_a_memory_config() {
        let path = write("ok", CONFIG);
        main(SwitchArgs {
            config: path.clone(),
            service: None,
        })
        .await
        .unwrap();
        let missing = main(SwitchArgs {
            config: path.clone(),
            service: Some("cart".into()),
        })
        .await
        .unwrap_err();
        assert!(
            missing.to_string().contains("the config has: checkout"),
            "{missing}"
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[tokio::test]
    async fn names_what_is_missing() {
        let health = "[health]\n        kind = \"memory\"\n        services = [\"checkout\"]\n";
        assert!(CONFIG.contains(health));
        let path = write("nohealth", &CONFIG.replace(health, ""));
        let err = main(SwitchArgs {
            config: path.clone(),
            service: None,
        })
        .await
        .unwrap_err()
        .to_string();
        assert!(err.ends_with("a switchover needs a [health] section"), "{err}");
        let path = write(
            "nginx",
            &CONFIG.replace(
                "[traffic]\n        kind = \"memory\"",
                "[traffic]\n        kind = \"nginx\"",
            ),
        );
        let err = main(SwitchArgs {
            config: path.clone(),
            service: None,
        })
        .await
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "provider `nginx` is not compiled into this build; enable the cargo feature `nginx`"
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
