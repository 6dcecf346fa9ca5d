//! Users and their phones: the IAMPASS management API.

use serde::Deserialize;
use serde_json::json;

use super::{Endpoint, check_user_id};
use crate::Error;

/// Calls of the IAMPASS management API, signed with the application's credentials.
///
/// ```no_run
/// # async fn run() -> Result<(), iampass::Error> {
/// use iampass::{AddUserResult, DeviceRegistration, ManagementApi};
/// let api = ManagementApi::new("app-id", "app-secret")?;
/// if api.add_user("alice").await? == AddUserResult::Success {
///     let link = api.get_registration_link("alice", Some("Alice")).await?;
///     println!("open on the phone: {link}");
/// }
/// assert_eq!(api.has_registered_mobile_device("alice").await?, DeviceRegistration::NoMobileDevice);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ManagementApi {
    pub(crate) endpoint: Endpoint,
}

/// Outcome of [`ManagementApi::add_user`], as the reference client classifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddUserResult {
    /// The user was created.
    Success,
    /// The user already existed.
    UserExists,
    /// IAMPASS created nothing (it refused, or the answer named no user).
    Failed {
        /// The reason IAMPASS gave, if any.
        reason: Option<String>,
    },
}

/// The users [`ManagementApi::add_users`] created and those that already existed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AddedUsers {
    /// Users created by this call.
    #[serde(default)]
    pub created: Vec<String>,
    /// Users that already existed.
    #[serde(default)]
    pub existing: Vec<String>,
}

/// Whether a user has a registered phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceRegistration {
    /// The user has a registered phone.
    HasMobileDevice,
    /// The user has no registered phone yet.
    NoMobileDevice,
}

/// `{"status": bool, "reason"?, ...}`: the envelope of every management answer.
#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    status: Option<bool>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    users: Option<AddedUsers>,
    #[serde(default)]
    register_url: Option<String>,
    #[serde(default)]
    device_registered: Option<bool>,
}

impl Answer {
    /// `status: false` (or absent) is a refusal with IAMPASS's reason.
    fn accepted(self) -> Result<Answer, Error> {
        if self.status == Some(true) {
            Ok(self)
        } else {
            Err(Error::Refused {
                reason: self.reason,
            })
        }
    }

    fn register_url(self) -> Result<String, Error> {
        self.accepted()?
            .register_url
            .ok_or_else(|| Error::Protocol("answer has no register_url".into()))
    }
}

impl ManagementApi {
    /// The application id.
    pub fn application_id(&self) -> &str {
        &self.endpoint.application_id
    }

    /// The IAMPASS base URL in use.
    pub fn server(&self) -> &str {
        &self.endpoint.server
    }

    /// The state of the circuit breaker this client (and its clones) share, for a health
    /// endpoint.
    ///
    /// ```
    /// let api = iampass::ManagementApi::builder("app", "secret").build()?;
    /// assert_eq!(api.circuit_state(), iampass::client::CircuitState::Closed);
    /// # Ok::<(), iampass::Error>(())
    /// ```
    pub fn circuit_state(&self) -> crate::client::CircuitState {
        self.endpoint.transport.circuit_state()
    }

    /// Registers users; answers which were created and which already existed.
    /// A refusal is [`Error::Refused`].
    pub async fn add_users<S: AsRef<str>>(&self, users: &[S]) -> Result<AddedUsers, Error> {
        let users: Vec<&str> = users.iter().map(AsRef::as_ref).collect();
        let url = self.endpoint.url("management/add_users", &[]);
        let answer: Answer = self
            .endpoint
            .post(&url, "add_users", &json!({ "users": users }))
            .await?;
        let answer = answer.accepted()?;
        answer
            .users
            .ok_or_else(|| Error::Protocol("add_users answer has no users".into()))
    }

    /// Registers one user: `UserExists` if it existed, `Failed` if nothing was created.
    pub async fn add_user(&self, user_id: &str) -> Result<AddUserResult, Error> {
        check_user_id(user_id)?;
        match self.add_users(&[user_id]).await {
            Ok(added) if !added.existing.is_empty() => Ok(AddUserResult::UserExists),
            Ok(added) if added.created.is_empty() => Ok(AddUserResult::Failed { reason: None }),
            Ok(_) => Ok(AddUserResult::Success),
            Err(Error::Refused { reason }) => Ok(AddUserResult::Failed { reason }),
            Err(e) => Err(e),
        }
    }

    /// Deletes users (their sessions end).
    pub async fn delete_users<S: AsRef<str>>(&self, users: &[S]) -> Result<(), Error> {
        let users: Vec<&str> = users.iter().map(AsRef::as_ref).collect();
        let url = self.endpoint.url("management/delete_users", &[]);
        let answer: Answer = self
            .endpoint
            .post(&url, "delete_users", &json!({ "users": users }))
            .await?;
        answer.accepted().map(drop)
    }

    /// Deletes one user.
    pub async fn delete_user(&self, user_id: &str) -> Result<(), Error> {
        check_user_id(user_id)?;
        self.delete_users(&[user_id]).await
    }

    /// A link that registers the user's phone when opened on it. `display_name` is shown in
    /// the app (IAMPASS stores no personal data).
    pub async fn get_registration_link(
        &self,
        user_id: &str,
        display_name: Option<&str>,
    ) -> Result<String, Error> {
        check_user_id(user_id)?;
        let mut url = self
            .endpoint
            .url("management/device_registration_link", &[user_id]);
        if let Some(name) = display_name.filter(|n| !n.is_empty()) {
            url.push_str("?display_name=");
            url.push_str(&crate::quote_plus(name));
        }
        let answer: Answer = self.endpoint.get(&url, "device_registration_link").await?;
        answer.register_url()
    }

    /// Sends the registration link by SMS to `phone_number` (with country code, `+1…`),
    /// after the optional `message`.
    pub async fn send_registration_sms(
        &self,
        user_id: &str,
        display_name: Option<&str>,
        phone_number: &str,
        message: Option<&str>,
    ) -> Result<(), Error> {
        check_user_id(user_id)?;
        if phone_number.is_empty() {
            return Err(Error::InvalidArgument(
                "phone_number cannot be empty".into(),
            ));
        }
        let mut body = json!({ "phone_number": phone_number });
        if let Some(name) = display_name {
            body["display_name"] = json!(name);
        }
        if let Some(message) = message {
            body["message"] = json!(message);
        }
        let url = self
            .endpoint
            .url("management/send_registration_sms", &[user_id]);
        let answer: Answer = self
            .endpoint
            .post(&url, "send_registration_sms", &body)
            .await?;
        answer.accepted().map(drop)
    }

    /// Whether the user has registered a phone.
    pub async fn has_registered_mobile_device(
        &self,
        user_id: &str,
    ) -> Result<DeviceRegistration, Error> {
        check_user_id(user_id)?;
        let url = self
            .endpoint
            .url("management/has_registered_mobile_device", &[user_id]);
        let answer: Answer = self
            .endpoint
            .get(&url, "has_registered_mobile_device")
            .await?;
        match answer.device_registered {
            Some(true) => Ok(DeviceRegistration::HasMobileDevice),
            Some(false) => Ok(DeviceRegistration::NoMobileDevice),
            None => Err(answer
                .accepted()
                .err()
                .unwrap_or_else(|| Error::Protocol("answer has no device_registered".into()))),
        }
    }

    /// Reports the user's phone lost: IAMPASS disables it (its sessions close) and answers
    /// a new registration link. Documented by IAMPASS; the reference client lacks it.
    pub async fn lost_user_mobile_device(&self, user_id: &str) -> Result<String, Error> {
        check_user_id(user_id)?;
        let url = self
            .endpoint
            .url("management/lost_user_mobile_device", &[user_id]);
        let answer: Answer = self.endpoint.get(&url, "lost_user_mobile_device").await?;
        answer.register_url()
    }
}
