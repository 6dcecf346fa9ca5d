//! The state every HTTP worker shares, knowing nothing of routes: the world (directory,
//! session machine, outbox) behind one lock that tells watchers when it changed, the replay
//! memory, the injected faults, the request counters and the settings.

mod counters;
mod directory;
mod error;
mod nonces;
mod outbox;
mod session;
mod sessions;
mod world;

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::watch;

pub(crate) use counters::{Counters, Route};
pub(crate) use directory::{DeviceView, UNKNOWN_USER};
pub(crate) use error::StateError;
pub(crate) use nonces::{DEFAULT_NONCE_CAPACITY, NonceStore};
pub(crate) use sessions::Timing;
pub(crate) use world::World;

use crate::emulator::types::{Faults, UnknownUserAnswer};

/// Settings fixed at start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// Accepted clock difference of signed requests, either way.
    pub(crate) signature_window: Duration,
    /// How `authenticate_user` answers for a user that does not exist.
    pub(crate) unknown_user: UnknownUserAnswer,
}

/// Everything the HTTP workers share. Locks are never held across an `.await`.
pub(crate) struct Shared {
    world: Mutex<World>,
    /// The world's revision, sent whenever it changes.
    changes: watch::Sender<u64>,
    /// `true` once the server stops: long-lived answers (event streams) end.
    stopping: watch::Sender<bool>,
    nonces: Mutex<NonceStore>,
    faults: RwLock<Faults>,
    pub(crate) counters: Counters,
    pub(crate) settings: Settings,
}

/// The locked world; dropping it tells watchers if anything changed.
pub(crate) struct WorldGuard<'a> {
    world: MutexGuard<'a, World>,
    revision: u64,
    changes: &'a watch::Sender<u64>,
}

impl std::ops::Deref for WorldGuard<'_> {
    type Target = World;
    fn deref(&self) -> &World {
        &self.world
    }
}

impl std::ops::DerefMut for WorldGuard<'_> {
    fn deref_mut(&mut self) -> &mut World {
        &mut self.world
    }
}

impl Drop for WorldGuard<'_> {
    fn drop(&mut self) {
        let revision = self.world.revision();
        if revision != self.revision {
            self.changes.send_replace(revision);
        }
    }
}

impl Shared {
    pub(crate) fn new(timing: Timing, settings: Settings, nonce_capacity: usize) -> Self {
        Shared {
            world: Mutex::new(World::new(timing)),
            changes: watch::Sender::new(0),
            stopping: watch::Sender::new(false),
            nonces: Mutex::new(NonceStore::new(nonce_capacity)),
            faults: RwLock::new(Faults::default()),
            counters: Counters::default(),
            settings,
        }
    }

    /// The world, locked (a panic elsewhere never makes it unusable).
    pub(crate) fn world(&self) -> WorldGuard<'_> {
        let world = self.world.lock().unwrap_or_else(PoisonError::into_inner);
        WorldGuard {
            revision: world.revision(),
            world,
            changes: &self.changes,
        }
    }

    /// A receiver that sees every change of the world from now on.
    pub(crate) fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// A receiver that turns `true` when the server stops.
    pub(crate) fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// Ends the event streams: the server is stopping.
    pub(crate) fn stop(&self) {
        self.stopping.send_replace(true);
    }

    pub(crate) fn nonces(&self) -> MutexGuard<'_, NonceStore> {
        self.nonces.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn faults(&self) -> Faults {
        *self.faults.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        *self.faults.write().unwrap_or_else(PoisonError::into_inner) = faults;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    #[test]
    fn watchers_see_changes_not_reads() {
        let settings = Settings {
            signature_window: Duration::from_secs(300),
            unknown_user: UnknownUserAnswer::default(),
        };
        let shared = Shared::new(Timing::default(), settings, 10);
        let mut changes = shared.changes();
        let _ = shared.world().directory.applications();
        assert!(!changes.has_changed().unwrap());
        shared
            .world()
            .directory
            .add_application("app", Secret::new("s"));
        assert!(changes.has_changed().unwrap());
        changes.mark_unchanged();
        let _ = shared
            .world()
            .sessions
            .list(None, None, std::time::Instant::now());
        assert!(!changes.has_changed().unwrap());
    }
}
