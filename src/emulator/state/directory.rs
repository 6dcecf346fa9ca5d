//! The directory: applications and their secrets, users, their registered phones and how
//! those phones answer, and registration links.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::error::StateError;
use super::sessions::random_hex;
use crate::Secret;
use crate::emulator::types::Behaviour;

/// Most unused registration links kept; beyond it the oldest are forgotten.
const MAX_REGISTRATIONS: usize = 100_000;

/// Reason given when the user does not exist.
pub(crate) const UNKNOWN_USER: &str = "UNKNOWN_USER";
/// Reason given when the user has no registered phone.
pub(crate) const NO_MOBILE_DEVICE: &str = "NO_MOBILE_DEVICE";

/// A registered phone.
#[derive(Debug, Clone)]
pub(crate) struct Device {
    pub(crate) id: u64,
    pub(crate) display_name: Option<String>,
    pub(crate) registered_at: u64,
}

/// A device as the phone page lists it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DeviceView {
    pub(crate) app_id: String,
    pub(crate) user: String,
    pub(crate) device_id: u64,
    pub(crate) display_name: Option<String>,
    pub(crate) registered_at: u64,
}

/// A registration link.
#[derive(Debug, Clone)]
pub(crate) struct Registration {
    pub(crate) app_id: String,
    pub(crate) user: String,
    pub(crate) display_name: Option<String>,
    seq: u64,
    used: bool,
}

#[derive(Debug, Default)]
struct User {
    device: Option<Device>,
}

struct App {
    secret: Secret,
    users: BTreeMap<String, User>,
    behaviours: HashMap<String, Behaviour>,
}

/// Applications, users, phones and links.
#[derive(Default)]
pub(crate) struct Directory {
    apps: BTreeMap<String, App>,
    registrations: HashMap<String, Registration>,
    seq: u64,
    /// Bumped on every change.
    revision: u64,
}

impl Directory {
    /// Changes so far (compared by watchers to notice a change).
    pub(crate) fn revision(&self) -> u64 {
        self.revision
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn app(&self, app_id: &str) -> Result<&App, StateError> {
        self.apps.get(app_id).ok_or(StateError::UnknownApp)
    }

    fn app_mut(&mut self, app_id: &str) -> Result<&mut App, StateError> {
        self.revision += 1;
        self.apps.get_mut(app_id).ok_or(StateError::UnknownApp)
    }

    /// Adds an application, or replaces its secret. `true` if it is new.
    pub(crate) fn add_application(&mut self, app_id: &str, secret: Secret) -> bool {
        self.revision += 1;
        if let Some(app) = self.apps.get_mut(app_id) {
            app.secret = secret;
            return false;
        }
        let app = App {
            secret,
            users: BTreeMap::new(),
            behaviours: HashMap::new(),
        };
        self.apps.insert(app_id.to_owned(), app);
        true
    }

    /// The applications and their user counts.
    pub(crate) fn applications(&self) -> Vec<(String, usize)> {
        self.apps
            .iter()
            .map(|(id, app)| (id.clone(), app.users.len()))
            .collect()
    }

    /// `Ok` if the application exists.
    pub(crate) fn check_app(&self, app_id: &str) -> Result<(), StateError> {
        self.app(app_id).map(drop)
    }

    /// The application's secret, to verify a signature.
    pub(crate) fn app_secret(&self, app_id: &str) -> Option<Secret> {
        self.apps.get(app_id).map(|a| a.secret.clone())
    }

    /// `true` if the user exists in the (existing) application.
    pub(crate) fn user_exists(&self, app_id: &str, user: &str) -> Result<bool, StateError> {
        Ok(self.app(app_id)?.users.contains_key(user))
    }

    /// Adds users; answers (created, existing), in request order, without duplicates.
    pub(crate) fn add_users(
        &mut self,
        app_id: &str,
        users: &[String],
    ) -> Result<(Vec<String>, Vec<String>), StateError> {
        let app = self.app_mut(app_id)?;
        let (mut created, mut existing) = (Vec::new(), Vec::new());
        for user in users {
            if created.contains(user) || existing.contains(user) {
                continue;
            }
            if app.users.contains_key(user) {
                existing.push(user.clone());
            } else {
                app.users.insert(user.clone(), User::default());
                created.push(user.clone());
            }
        }
        Ok((created, existing))
    }

    /// Removes users (unknown ones are ignored) and revokes their links.
    pub(crate) fn remove_users(
        &mut self,
        app_id: &str,
        users: &[String],
    ) -> Result<(), StateError> {
        let app = self.app_mut(app_id)?;
        for user in users {
            app.users.remove(user);
        }
        for user in users {
            self.revoke_links(app_id, user);
        }
        Ok(())
    }

    fn revoke_links(&mut self, app_id: &str, user: &str) {
        for r in self.registrations.values_mut() {
            if r.app_id == app_id && r.user == user {
                r.used = true;
            }
        }
    }

    /// A new single-use registration link token for an existing user.
    pub(crate) fn registration_link(
        &mut self,
        app_id: &str,
        user: &str,
        display_name: Option<&str>,
    ) -> Result<String, StateError> {
        if !self.user_exists(app_id, user)? {
            return Err(StateError::UnknownUser);
        }
        Ok(self.new_link(app_id, user, display_name))
    }

    pub(crate) fn new_link(
        &mut self,
        app_id: &str,
        user: &str,
        display_name: Option<&str>,
    ) -> String {
        self.revision += 1;
        if self.registrations.len() >= MAX_REGISTRATIONS {
            // Forget used links first, then the oldest.
            self.registrations.retain(|_, r| !r.used);
            let oldest = self
                .registrations
                .iter()
                .min_by_key(|(_, r)| r.seq)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest.filter(|_| self.registrations.len() >= MAX_REGISTRATIONS) {
                self.registrations.remove(&oldest);
            }
        }
        let token = random_hex(16);
        let seq = self.next_seq();
        self.registrations.insert(
            token.clone(),
            Registration {
                app_id: app_id.to_owned(),
                user: user.to_owned(),
                display_name: display_name.map(str::to_owned),
                seq,
                used: false,
            },
        );
        token
    }

    /// The registration link behind a token, and whether it was used.
    pub(crate) fn registration(&self, token: &str) -> Result<(Registration, bool), StateError> {
        let r = self
            .registrations
            .get(token)
            .ok_or(StateError::UnknownLink)?;
        Ok((r.clone(), r.used))
    }

    /// Marks a link used and answers it; a link works once.
    pub(crate) fn take_link(&mut self, token: &str) -> Result<Registration, StateError> {
        let r = self
            .registrations
            .get_mut(token)
            .ok_or(StateError::UnknownLink)?;
        if r.used {
            return Err(StateError::UsedLink);
        }
        r.used = true;
        self.revision += 1;
        Ok(r.clone())
    }

    /// Registers a phone for the user, creating the user if needed. Answers the new device id
    /// and the phone it replaces, if any.
    pub(crate) fn register_device(
        &mut self,
        app_id: &str,
        user: &str,
        display_name: Option<&str>,
    ) -> Result<(u64, Option<Device>), StateError> {
        let id = self.next_seq();
        let app = self.app_mut(app_id)?;
        let entry = app.users.entry(user.to_owned()).or_default();
        let old = entry.device.replace(Device {
            id,
            display_name: display_name.map(str::to_owned),
            registered_at: crate::signing::unix_now(),
        });
        Ok((id, old))
    }

    /// `true` if the user has a registered phone.
    pub(crate) fn has_device(&self, app_id: &str, user: &str) -> Result<bool, StateError> {
        let app = self.app(app_id)?;
        let user = app.users.get(user).ok_or(StateError::UnknownUser)?;
        Ok(user.device.is_some())
    }

    /// The phone is lost: it is removed and the user's links die. Answers the lost phone.
    pub(crate) fn lose_device(
        &mut self,
        app_id: &str,
        user: &str,
    ) -> Result<Option<Device>, StateError> {
        let app = self.app_mut(app_id)?;
        let u = app.users.get_mut(user).ok_or(StateError::UnknownUser)?;
        let old = u.device.take();
        self.revoke_links(app_id, user);
        Ok(old)
    }

    /// The phone a new request goes to and how it answers, or why there is none
    /// (`UNKNOWN_USER`, `NO_MOBILE_DEVICE`).
    pub(crate) fn phone_of(
        &self,
        app_id: &str,
        user: &str,
    ) -> Result<Result<(u64, Behaviour), &'static str>, StateError> {
        let app = self.app(app_id)?;
        let Some(u) = app.users.get(user) else {
            return Ok(Err(UNKNOWN_USER));
        };
        let Some(device) = &u.device else {
            return Ok(Err(NO_MOBILE_DEVICE));
        };
        let behaviour = app.behaviours.get(user).copied();
        Ok(Ok((device.id, behaviour.unwrap_or(Behaviour::Ignore))))
    }

    /// Sets how the user's phone answers new requests (the user need not exist yet).
    pub(crate) fn set_behaviour(
        &mut self,
        app_id: &str,
        user: &str,
        behaviour: Behaviour,
    ) -> Result<(), StateError> {
        let app = self.app_mut(app_id)?;
        app.behaviours.insert(user.to_owned(), behaviour);
        Ok(())
    }

    /// How the user's phone answers new requests ([`Behaviour::Ignore`] unless set).
    pub(crate) fn behaviour(&self, app_id: &str, user: &str) -> Result<Behaviour, StateError> {
        Ok(self
            .app(app_id)?
            .behaviours
            .get(user)
            .copied()
            .unwrap_or(Behaviour::Ignore))
    }

    /// Registered phones, optionally of one application and/or user.
    pub(crate) fn devices(&self, app_id: Option<&str>, user: Option<&str>) -> Vec<DeviceView> {
        let apps = self
            .apps
            .iter()
            .filter(|(id, _)| app_id.is_none_or(|a| a == id.as_str()));
        let mut out = Vec::new();
        for (id, app) in apps {
            for (name, u) in &app.users {
                if let Some(d) = u.device.as_ref().filter(|_| user.is_none_or(|x| x == name)) {
                    out.push(DeviceView {
                        app_id: id.clone(),
                        user: name.clone(),
                        device_id: d.id,
                        display_name: d.display_name.clone(),
                        registered_at: d.registered_at,
                    });
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> Directory {
        let mut d = Directory::default();
        d.add_application("app", Secret::new("secret"));
        d
    }

    #[test]
    fn phones_of_unknown_users_and_users_without_phone() {
        let mut d = directory();
        assert_eq!(d.phone_of("app", "nobody").unwrap(), Err(UNKNOWN_USER));
        d.add_users("app", &["alice".into()]).unwrap();
        assert_eq!(d.phone_of("app", "alice").unwrap(), Err(NO_MOBILE_DEVICE));
        let (id, old) = d.register_device("app", "alice", None).unwrap();
        assert!(old.is_none());
        assert_eq!(
            d.phone_of("app", "alice").unwrap(),
            Ok((id, Behaviour::Ignore))
        );
        assert_eq!(d.phone_of("nope", "alice"), Err(StateError::UnknownApp));
        let (_, old) = d.register_device("app", "alice", None).unwrap();
        assert_eq!(old.map(|o| o.id), Some(id));
    }

    #[test]
    fn applications_and_users() {
        let mut d = directory();
        d.add_application("other", Secret::new("s2"));
        assert!(!d.add_application("other", Secret::new("s3")));
        assert_eq!(d.app_secret("other").unwrap().expose(), "s3");
        let (created, existing) = d
            .add_users("other", &["alice".into(), "alice".into()])
            .unwrap();
        assert_eq!((created.len(), existing.len()), (1, 0));
        let (created, existing) = d.add_users("other", &["alice".into()]).unwrap();
        assert_eq!((created.len(), existing.len()), (0, 1));
        assert_eq!(d.user_exists("app", "alice"), Ok(false));
        assert_eq!(
            d.applications(),
            vec![("app".to_owned(), 0), ("other".to_owned(), 1)]
        );
        d.remove_users("other", &["alice".into(), "ghost".into()])
            .unwrap();
        assert_eq!(d.user_exists("other", "alice"), Ok(false));
    }

    #[test]
    fn links_work_once_and_die_with_lost_phones() {
        let mut d = directory();
        d.add_users("app", &["carol".into()]).unwrap();
        assert_eq!(
            d.registration_link("app", "nobody", None).unwrap_err(),
            StateError::UnknownUser
        );
        let old = d.registration_link("app", "carol", Some("Carol")).unwrap();
        let (r, used) = d.registration(&old).unwrap();
        assert_eq!(
            (r.user.as_str(), r.display_name.as_deref(), used),
            ("carol", Some("Carol"), false)
        );
        assert_eq!(d.lose_device("app", "carol").unwrap().map(|x| x.id), None);
        assert_eq!(d.take_link(&old).unwrap_err(), StateError::UsedLink);
        let new = d.new_link("app", "carol", None);
        assert_eq!(d.take_link(&new).unwrap().user, "carol");
        assert_eq!(d.take_link(&new).unwrap_err(), StateError::UsedLink);
        assert_eq!(d.take_link("nope").unwrap_err(), StateError::UnknownLink);
        assert_eq!(
            d.lose_device("app", "ghost").unwrap_err(),
            StateError::UnknownUser
        );
    }
}
