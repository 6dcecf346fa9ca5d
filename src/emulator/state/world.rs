//! The world: the directory, the session machine and the outbox together, with the
//! operations that touch more than one of them (deleting a user closes their sessions, a new
//! phone closes the old phone's sessions, a request needs the user's phone).

use std::time::Instant;

use super::directory::{Directory, Registration};
use super::error::StateError;
use super::outbox::Outbox;
use super::sessions::{Request, Sessions, Started, Timing};
use crate::AuthenticationMethod;
use crate::emulator::types::Sms;

/// Everything the emulator knows.
pub(crate) struct World {
    /// Applications, users, phones and links.
    pub(crate) directory: Directory,
    /// Authentication sessions.
    pub(crate) sessions: Sessions,
    /// The SMS outbox.
    pub(crate) outbox: Outbox,
}

impl World {
    pub(crate) fn new(timing: Timing) -> Self {
        World {
            directory: Directory::default(),
            sessions: Sessions::new(timing),
            outbox: Outbox::default(),
        }
    }

    /// Changes so far, over all three parts: watchers compare it to notice a change.
    pub(crate) fn revision(&self) -> u64 {
        self.directory.revision() + self.sessions.revision() + self.outbox.revision()
    }

    /// Deletes users (unknown ones are ignored); their sessions close and their links die.
    pub(crate) fn delete_users(
        &mut self,
        app_id: &str,
        users: &[String],
        now: Instant,
    ) -> Result<(), StateError> {
        self.directory.remove_users(app_id, users)?;
        for user in users {
            self.sessions.close_of(app_id, user, None, now);
        }
        Ok(())
    }

    /// Registers a phone for the user, creating the user if needed. A phone the user had
    /// before is replaced (its sessions close). Answers the new device id.
    pub(crate) fn register_device(
        &mut self,
        app_id: &str,
        user: &str,
        display_name: Option<&str>,
        now: Instant,
    ) -> Result<u64, StateError> {
        let (id, old) = self.directory.register_device(app_id, user, display_name)?;
        if let Some(old) = old {
            self.sessions.close_of(app_id, user, Some(old.id), now);
        }
        Ok(id)
    }

    /// Uses a registration link: registers a phone for its user (creating the user if it was
    /// deleted meanwhile). A link works once.
    pub(crate) fn use_registration(
        &mut self,
        token: &str,
        now: Instant,
    ) -> Result<Registration, StateError> {
        let r = self.directory.take_link(token)?;
        self.register_device(&r.app_id, &r.user, r.display_name.as_deref(), now)?;
        Ok(r)
    }

    /// The phone is lost: it is disabled (its sessions close), older links die, and a new
    /// link token is issued.
    pub(crate) fn lost_device(
        &mut self,
        app_id: &str,
        user: &str,
        now: Instant,
    ) -> Result<String, StateError> {
        let old = self.directory.lose_device(app_id, user)?;
        let display_name = old.as_ref().and_then(|d| d.display_name.clone());
        if let Some(old) = old {
            self.sessions.close_of(app_id, user, Some(old.id), now);
        }
        Ok(self
            .directory
            .new_link(app_id, user, display_name.as_deref()))
    }

    /// Stores an SMS in the outbox of its (existing) application.
    pub(crate) fn send_sms(&mut self, sms: Sms) -> Result<(), StateError> {
        self.directory.check_app(&sms.app_id)?;
        self.outbox.push(sms);
        Ok(())
    }

    /// Starts an authentication request, or answers why it did not start (`UNKNOWN_USER`,
    /// `NO_MOBILE_DEVICE`).
    pub(crate) fn authenticate(
        &mut self,
        app_id: &str,
        user: &str,
        methods: Vec<AuthenticationMethod>,
        duration: Option<std::time::Duration>,
        now: Instant,
    ) -> Result<Result<Started, &'static str>, StateError> {
        let (device_id, behaviour) = match self.directory.phone_of(app_id, user)? {
            Ok(phone) => phone,
            Err(reason) => return Ok(Err(reason)),
        };
        let request = Request {
            device_id,
            behaviour,
            methods,
            duration,
        };
        Ok(Ok(self.sessions.start(app_id, user, request, now)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::state::directory::{NO_MOBILE_DEVICE, UNKNOWN_USER};
    use crate::emulator::types::SessionAction;
    use crate::{Secret, Status};

    fn world() -> World {
        let mut w = World::new(Timing::default());
        w.directory.add_application("app", Secret::new("secret"));
        w
    }

    fn start(w: &mut World, app: &str, user: &str, now: Instant) -> String {
        match w.authenticate(app, user, vec![], None, now).unwrap() {
            Ok(started) => started.token,
            Err(reason) => panic!("not started: {reason}"),
        }
    }

    fn with_phone(w: &mut World, user: &str, now: Instant) {
        w.directory.add_users("app", &[user.to_owned()]).unwrap();
        w.register_device("app", user, None, now).unwrap();
    }

    #[test]
    fn unknown_user_and_missing_phone_do_not_start() {
        let now = Instant::now();
        let mut w = world();
        let reason = |w: &mut World, app: &str| w.authenticate(app, "alice", vec![], None, now);
        assert_eq!(reason(&mut w, "app").unwrap().unwrap_err(), UNKNOWN_USER);
        w.directory.add_users("app", &["alice".into()]).unwrap();
        assert_eq!(
            reason(&mut w, "app").unwrap().unwrap_err(),
            NO_MOBILE_DEVICE
        );
        assert_eq!(reason(&mut w, "nope").unwrap_err(), StateError::UnknownApp);
    }

    #[test]
    fn deleting_users_and_losing_phones_close_sessions() {
        let now = Instant::now();
        let mut w = world();
        with_phone(&mut w, "alice", now);
        with_phone(&mut w, "bob", now);
        let a = start(&mut w, "app", "alice", now);
        w.sessions.act(&a, SessionAction::Approve, now).unwrap();
        let b = start(&mut w, "app", "bob", now);
        w.delete_users("app", &["alice".into(), "ghost".into()], now)
            .unwrap();
        assert_eq!(w.sessions.status(&a, now).unwrap(), Status::Closed);
        assert_eq!(w.sessions.status(&b, now).unwrap(), Status::Pending);
        assert!(!w.directory.user_exists("app", "alice").unwrap());

        let link = w.lost_device("app", "bob", now).unwrap();
        assert_eq!(w.sessions.status(&b, now).unwrap(), Status::Closed);
        assert!(!w.directory.has_device("app", "bob").unwrap());
        assert_eq!(
            w.lost_device("app", "ghost", now),
            Err(StateError::UnknownUser)
        );
        // The new link registers a phone again, once.
        w.use_registration(&link, now).unwrap();
        assert!(w.directory.has_device("app", "bob").unwrap());
        assert_eq!(
            w.use_registration(&link, now).unwrap_err(),
            StateError::UsedLink
        );
    }

    #[test]
    fn a_link_recreates_a_deleted_user() {
        let now = Instant::now();
        let mut w = world();
        w.directory.add_users("app", &["carol".into()]).unwrap();
        let link = w.directory.registration_link("app", "carol", None).unwrap();
        w.delete_users("app", &["carol".into()], now).unwrap();
        assert_eq!(
            w.use_registration(&link, now).unwrap_err(),
            StateError::UsedLink,
            "deleting a user revokes their links"
        );
        let again = w.directory.new_link("app", "carol", None);
        w.use_registration(&again, now).unwrap();
        assert!(w.directory.has_device("app", "carol").unwrap());
        assert_eq!(w.directory.devices(Some("app"), None).len(), 1);
    }

    #[test]
    fn a_new_phone_replaces_the_old_one() {
        let now = Instant::now();
        let mut w = world();
        with_phone(&mut w, "dave", now);
        let t = start(&mut w, "app", "dave", now);
        w.register_device("app", "dave", None, now).unwrap();
        assert_eq!(w.sessions.status(&t, now).unwrap(), Status::Closed);
        let t = start(&mut w, "app", "dave", now);
        assert_eq!(w.sessions.status(&t, now).unwrap(), Status::Pending);
    }

    #[test]
    fn applications_are_isolated() {
        let now = Instant::now();
        let mut w = world();
        w.directory.add_application("other", Secret::new("s2"));
        with_phone(&mut w, "alice", now);
        assert_eq!(
            w.authenticate("other", "alice", vec![], None, now)
                .unwrap()
                .unwrap_err(),
            UNKNOWN_USER
        );
        start(&mut w, "app", "alice", now);
        assert_eq!(w.sessions.list(Some("other"), None, now).len(), 0);
        assert_eq!(w.sessions.list(Some("app"), Some("alice"), now).len(), 1);
        let sms = |app: &str| Sms {
            app_id: app.into(),
            user: "alice".into(),
            phone_number: "+15551234567".into(),
            message: "hi".into(),
            register_url: String::new(),
            at: 0,
        };
        let before = w.revision();
        w.send_sms(sms("other")).unwrap();
        assert_eq!(w.send_sms(sms("nope")), Err(StateError::UnknownApp));
        assert_eq!(w.outbox.list(None, None).len(), 1);
        assert!(w.revision() > before);
    }
}
