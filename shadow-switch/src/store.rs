//! [`FileStateStore`]: switchover state as one JSON file per service.

use std::{
    fmt,
    io::Write,
    path::{Path, PathBuf},
    sync::Mutex,
};

use async_trait::async_trait;
use shadow_core::{Error, Result, ServiceId, SwitchState, SwitchStateStore};

/// The name the file store reports.
pub const FILE_STORE: &str = "file";

/// Persists each service's [`SwitchState`] as `<dir>/<service>.switch.json` (a `/` in the id becomes `__`).
///
/// # Guarantees
/// - A save is atomic and durable: it writes a temporary file in the same directory, fsyncs it, renames it
///   over the old file and fsyncs the directory. A crash leaves the old or the new state.
/// - The revision check of [`SwitchStateStore::save`] runs under a lock, so saves from one process never
///   interleave.
///
/// # Caveats
/// The file operations are synchronous (a few hundred bytes each, a handful per step); they run on the
/// calling task.
///
/// # Assumptions
/// One controller process writes a service's state at a time. Two processes on one directory are caught by
/// the revision check only when their saves do not race between read and rename; use a store with
/// server-side compare-and-swap (etcd) for several controllers.
pub struct FileStateStore {
    dir: PathBuf,
    lock: Mutex<()>,
}

impl fmt::Debug for FileStateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStateStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::Unavailable {
        provider: FILE_STORE,
        message: format!("{}: {e}", path.display()),
    }
}

impl FileStateStore {
    /// A store in `dir`, created if missing.
    ///
    /// # Errors
    /// [`Error::Config`] when the directory cannot be created or is not a directory.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::config("switch.state_dir", format!("{}: {e}", dir.display())))?;
        Ok(Self {
            dir,
            lock: Mutex::new(()),
        })
    }

    /// The directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds `service`'s state.
    #[must_use]
    pub fn path(&self, service: &ServiceId) -> PathBuf {
        self.dir
            .join(format!("{}.switch.json", service.as_str().replace('/', "__")))
    }

    fn read(&self, service: &ServiceId) -> Result<Option<SwitchState>> {
        let path = self.path(service);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path, e)),
        };
        let state: SwitchState = serde_json::from_str(&text).map_err(|e| Error::InvalidInput {
            what: "switch state file",
            message: format!("{}: {e}", path.display()),
        })?;
        if &state.service != service {
            return Err(Error::InvalidInput {
                what: "switch state file",
                message: format!("{} holds the state of {}", path.display(), state.service),
            });
        }
        Ok(Some(state))
    }
}

#[async_trait]
impl SwitchStateStore for FileStateStore {
    fn name(&self) -> &str {
        FILE_STORE
    }

    async fn load(&self, service: &ServiceId) -> Result<Option<SwitchState>> {
        self.read(service)
    }

    async fn save(&self, state: &SwitchState) -> Result<()> {
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let stored = self.read(&state.service)?.map_or(0, |s| s.revision);
        if state.revision != stored + 1 {
            return Err(Error::Conflict {
                provider: FILE_STORE,
                message: format!(
                    "switch state of {} is at revision {stored}; refusing revision {}",
                    state.service, state.revision
                ),
            });
        }
        let path = self.path(&state.service);
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(state).map_err(|e| Error::InvalidInput {
            what: "switch state",
            message: e.to_string(),
        })?;
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(&self.dir)?.sync_all()
        };
        write().map_err(|e| io_err(&path, e))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use shadow_core::{SwitchPhase, TrafficSplit};

    use super::*;

    #[tokio::test]
    async fn saves_loads_and_checks_revisions() {
        let dir = std::env::temp_dir().join(format!("shadow-file-store-{}", std::process::id()));
        let store = FileStateStore::new(&dir).unwrap();
        let svc = ServiceId::new("team/checkout").unwrap();
        assert_eq!(store.load(&svc).await.unwrap(), None);
        let mut state = SwitchState {
            service: svc.clone(),
            run_id: "r1".into(),
            phase: SwitchPhase::Shifting { step: 1 },
            split: TrafficSplit::ALL_LIVE,
            pending: Some(TrafficSplit::ALL_SHADOW),
            revision: 1,
            updated_at: chrono::Utc.timestamp_opt(1_000, 0).unwrap(),
            detail: "x".into(),
        };
        store.save(&state).await.unwrap();
        assert_eq!(store.load(&svc).await.unwrap().as_ref(), Some(&state));
        assert!(store.path(&svc).ends_with("team__checkout.switch.json"));
        // A stale writer (same revision again) is refused and changes nothing.
        let err = store.save(&state).await.unwrap_err();
        assert!(matches!(err, Error::Conflict { .. }), "{err}");
        state.revision = 2;
        state.phase = SwitchPhase::Promoted;
        store.save(&state).await.unwrap();
        // A new store on the same directory (a restarted process) sees the last state.
        let again = FileStateStore::new(&dir).unwrap();
        assert_eq!(
            again.load(&svc).await.unwrap().unwrap().phase,
            SwitchPhase::Promoted
        );
        std::fs::write(store.path(&svc), "{ not json").unwrap();
        let err = again.load(&svc).await.unwrap_err().to_string();
        assert!(err.starts_with("invalid switch state file"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
