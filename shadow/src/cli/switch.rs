//! `shadow switch`: run (or resume) a switchover from live to shadow as the config describes, and
//! `shadow switch status`: show its persisted state.
//!
//! The provisioner, traffic shifter and health probe come from the config's `[provisioner]`, `[traffic]` and
//! `[health]` sections, built by [`ProviderRegistry::with_builtin`]. The shadow is warmed to live's current size
//! before traffic moves, and a rollback keeps live at that size. Every transition is persisted in a
//! [`FileStateStore`] (`--state-dir`, default `.shadow-switch/` next to the config), so a killed run resumes
//! when started again. When all three providers are in-memory, the switchover runs on a manual clock, so it
//! shows every step at once without waiting out the dwell times.

use std::{path::PathBuf, sync::Arc};

use chrono::{SubsecRound, Utc};
use shadow_core::{
    Clock, Environment, ManualClock, ProvisioningRequest, SwitchStateStore,
    config::{ServiceConfig, ShadowConfig},
    memory,
};
use shadow_providers::ProviderRegistry;
use shadow_switch::{
    Analysis, AnalysisConfig, FileStateStore, ResumePolicy, SwitchMetrics, SwitchRequest, Switchover,
};

use super::{
    CliError,
    args::{SwitchAction, SwitchArgs, SwitchStatusArgs},
};

/// Runs `shadow switch` or `shadow switch status`.
///
/// # Errors
/// A one-line [`CliError`]: an invalid config, an unknown service, a provider that cannot be built, or a
/// switchover that stopped before traffic moved or could not roll back.
pub async fn main(args: SwitchArgs) -> Result<(), CliError> {
    match args.action {
        Some(SwitchAction::Status(status_args)) => status(status_args).await,
        None => run(args).await,
    }
}

fn pick_service<'a>(
    cfg: &'a ShadowConfig,
    path: &std::path::Path,
    name: Option<&str>,
) -> Result<&'a ServiceConfig, CliError> {
    match name {
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
            path.display()
        ))
    })
}

fn state_store(config: &std::path::Path, dir: Option<PathBuf>) -> Result<FileStateStore, CliError> {
    let dir = dir.unwrap_or_else(|| {
        config
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."))
            .join(".shadow-switch")
    });
    FileStateStore::new(dir).map_err(CliError::Shadow)
}

async fn run(args: SwitchArgs) -> Result<(), CliError> {
    let path = args
        .config
        .clone()
        .ok_or_else(|| CliError::Input("shadow switch: --config is required".into()))?;
    let cfg = ShadowConfig::from_file(&path)?;
    let svc = pick_service(&cfg, &path, args.service.as_deref())?;
    let health = cfg.health.as_ref().ok_or_else(|| {
        CliError::Input(format!(
            "{}: a switchover needs a [health] section",
            path.display()
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
    let store = state_store(&path, args.state_dir.clone())?;
    let state_file = store.path(&svc.name);
    let mut metrics = SwitchMetrics::new();
    if let Some(file) = &args.metrics_file {
        metrics = metrics.with_textfile(file);
    }

    let live = provisioner.describe(&svc.name, Environment::Live).await?;
    let replicas = live.desired.max(svc.policy.min_replicas);
    let mut builder = Switchover::builder()
        .with_provisioner(provisioner)
        .with_shifter(shifter)
        .with_probe(probe)
        .with_clock(clock.clone())
        .with_state_store(Arc::new(store))
        .with_metrics(metrics)
        .with_resume_policy(if args.on_resume == "roll-back" {
            ResumePolicy::RollBack
        } else {
            ResumePolicy::Continue
        })
        .with_config(cfg.switch.clone());
    if args.analysis {
        let source = registry.build_metric_source(&cfg.metrics)?;
        let analysis = Analysis::new(source, AnalysisConfig::default())
            .map_err(|e| CliError::Input(super::one_line(&e)))?;
        builder = builder.with_analysis(analysis);
    }
    let switchover = builder
        .build()
        .map_err(|e| CliError::Input(super::one_line(&e)))?;
    // The run's id is the shadow request's idempotency key, `<service>/shadow/<target>@<deadline>`. The deadline
    // is the start of today (UTC), so starting the command again the same day after the switchover ended is a
    // no-op; an unfinished switchover is always resumed, whatever its id.
    let day = now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
    let request = SwitchRequest {
        service: svc.name.clone(),
        shadow: vec![ProvisioningRequest {
            service: svc.name.clone(),
            environment: Environment::Shadow,
            target: replicas,
            issue_at: now,
            deadline: day,
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
        "switching `{}`: live at {replicas}, shadow warmed to {replicas} ({clock_kind}); state in {}",
        svc.name,
        state_file.display()
    );
    let mut events = Vec::new();
    let result = switchover.run_logged(&request, &mut events).await;
    for e in &events {
        println!("{e}");
    }
    let phase = result.map_err(|e| CliError::Input(format!("switchover: {}", super::one_line(&e))))?;
    println!("final phase: {phase}");
    Ok(())
}

async fn status(args: SwitchStatusArgs) -> Result<(), CliError> {
    let cfg = ShadowConfig::from_file(&args.config)?;
    let svc = pick_service(&cfg, &args.config, args.service.as_deref())?;
    let store = state_store(&args.config, args.state_dir.clone())?;
    let file = store.path(&svc.name);
    match store.load(&svc.name).await? {
        None => println!("{}: no switchover recorded ({})", svc.name, file.display()),
        Some(s) => {
            println!("service:   {}", s.service);
            println!("phase:     {}", s.phase);
            println!("split:     {}", s.split);
            if let Some(p) = s.pending {
                println!("pending:   {p} (being applied when the state was saved)");
            }
            println!("run:       {}", s.run_id);
            println!("revision:  {}", s.revision);
            println!("updated:   {}", s.updated_at.format("%Y-%m-%d %H:%M:%S UTC"));
            println!("detail:    {}", s.detail);
            println!("state:     {}", file.display());
        }
    }
    let shifter = ProviderRegistry::with_builtin().build_traffic_shifter(&cfg.traffic)?;
    match shifter.weights(&svc.name).await {
        Ok(split) => println!("shifter:   {split} ({})", shifter.name()),
        Err(e) => println!("shifter:   unknown ({})", super::one_line(&e)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("shadow-switch-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("shadow.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn args(config: &std::path::Path, service: Option<&str>) -> SwitchArgs {
        SwitchArgs {
            action: None,
            config: Some(config.to_path_buf()),
            service: service.map(Into::into),
            state_dir: None,
            metrics_file: None,
            analysis: false,
            on_resume: "continue".into(),
        }
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
    async fn switches_a_memory_config_and_persists_it() {
        let path = write("ok", CONFIG);
        let metrics = path.with_file_name("switch.prom");
        main(SwitchArgs {
            metrics_file: Some(metrics.clone()),
            ..args(&path, None)
        })
        .await
        .unwrap();
        let state = path.parent().unwrap().join(".shadow-switch/checkout.switch.json");
        let text = std::fs::read_to_string(&state).unwrap();
        assert!(text.contains("\"phase\": \"promoted\""), "{text}");
        let prom = std::fs::read_to_string(&metrics).unwrap();
        assert!(
            prom.contains("shadow_switch_phase{service=\"checkout\",phase=\"promoted\"} 1"),
            "{prom}"
        );
        main(SwitchArgs {
            action: Some(SwitchAction::Status(SwitchStatusArgs {
                config: path.clone(),
                service: None,
                state_dir: None,
            })),
            config: None,
            ..args(&path, None)
        })
        .await
        .unwrap();
        let missing = main(args(&path, Some("cart"))).await.unwrap_err();
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
        let err = main(args(&path, None)).await.unwrap_err().to_string();
        assert!(err.ends_with("a switchover needs a [health] section"), "{err}");
        let path = write(
            "aws",
            &CONFIG.replace(
                "[traffic]\n        kind = \"memory\"",
                "[traffic]\n        kind = \"aws\"",
            ),
        );
        let err = main(args(&path, None)).await.unwrap_err().to_string();
        assert_eq!(
            err,
            "provider `aws` is not compiled into this build; enable the cargo feature `aws`"
        );
        let err = main(SwitchArgs {
            config: None,
            ..args(&path, None)
        })
        .await
        .unwrap_err()
        .to_string();
        assert_eq!(err, "shadow switch: --config is required");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
