//! [`InMemorySwitchStateStore`]: switchover state in a map.

use std::{
    collections::BTreeMap,
    fmt,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;

use super::{KIND, faults::Faults, lock};
use crate::{
    error::{Error, Result},
    ids::ServiceId,
    traits::switch_state::{SwitchState, SwitchStateStore},
};

/// Keeps switchover state in memory, with the revision check of the contract. A clone shares the map, so a
/// test can "restart" a controller by building a new switchover on a clone.
#[derive(Clone, Default)]
pub struct InMemorySwitchStateStore {
    states: Arc<Mutex<BTreeMap<ServiceId, SwitchState>>>,
    faults: Faults,
}

impl fmt::Debug for InMemorySwitchStateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemorySwitchStateStore")
            .field("services", &lock(&self.states).len())
            .finish_non_exhaustive()
    }
}

impl InMemorySwitchStateStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Every stored state.
    #[must_use]
    pub fn states(&self) -> Vec<SwitchState> {
        lock(&self.states).values().cloned().collect()
    }

    /// Fails the next `n` calls with errors made by `make_error`.
    pub fn fail_next(&self, n: usize, make_error: impl Fn() -> Error + Send + Sync + 'static) {
        self.faults.push(n, make_error);
    }
}

#[async_trait]
impl SwitchStateStore for InMemorySwitchStateStore {
    fn name(&self) -> &str {
        KIND
    }

    async fn load(&self, service: &ServiceId) -> Result<Option<SwitchState>> {
        self.faults.check()?;
        Ok(lock(&self.states).get(service).cloned())
    }

    async fn save(&self, state: &SwitchState) -> Result<()> {
        self.faults.check()?;
        let mut states = lock(&self.states);
        let stored = states.get(&state.service).map_or(0, |s| s.revision);
        if state.revision != stored + 1 {
            return Err(Error::Conflict {
                provider: KIND,
                message: format!(
                    "switch state of {} is at revision {stored}; refusing revision {}",
                    state.service, state.revision
                ),
            });
        }
        states.insert(state.service.clone(), state.clone());
        Ok(())
    }
}
