//! What the example's shared handlers answer, whatever the framework: one of its own
//! responses (an `http::Response`, which each example's `main` turns into its framework's),
//! or the crate's answer to a started sign-in (its wait page and pending cookie, written by
//! the crate's adapter).

use http::header::{self, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use iampass::core::LoginStarted;

/// A handler's answer.
pub enum Answer {
    /// One of the example's own responses.
    Own(Response<String>),
    /// `Iampass::start_login`'s answer: `303` to the wait page (`202` JSON for a script).
    Started(Box<LoginStarted>),
}

impl Answer {
    /// `status` with `body` and no headers yet.
    pub fn new(status: StatusCode, body: impl Into<String>) -> Answer {
        let mut response = Response::new(body.into());
        *response.status_mut() = status;
        Answer::Own(response)
    }

    /// `303 See Other` to `location` (a safe path).
    pub fn see_other(location: &str) -> Answer {
        Answer::new(StatusCode::SEE_OTHER, String::new()).header(header::LOCATION, location)
    }

    /// `status` with a JSON body.
    pub fn json(status: StatusCode, value: &serde_json::Value) -> Answer {
        Answer::new(status, value.to_string()).header(header::CONTENT_TYPE, "application/json")
    }

    /// Sets the header `name` (replacing it). A value that is not a valid header value (none
    /// of the example's is) leaves it out.
    pub fn header(mut self, name: HeaderName, value: impl AsRef<str>) -> Answer {
        if let Answer::Own(response) = &mut self
            && let Ok(value) = HeaderValue::from_str(value.as_ref())
        {
            response.headers_mut().insert(name, value);
        }
        self
    }

    /// Adds `Retry-After: secs`.
    pub fn retry_after(self, secs: u64) -> Answer {
        self.header(header::RETRY_AFTER, secs.to_string())
    }

    /// Adds `Cache-Control: no-store` (personal pages).
    pub fn no_store(self) -> Answer {
        self.header(header::CACHE_CONTROL, "no-store")
    }
}
