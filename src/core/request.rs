//! What the core needs to know of an HTTP request, whatever the framework: [`RequestHead`].
//! Each adapter implements it for its own request type (actix-web's `HttpRequest` and
//! `ServiceRequest`), so the cookie, the login flow and the security checks are written once.

use std::net::SocketAddr;

/// The parts of an HTTP request the core reads: method, path, query, headers, the TCP peer
/// and the scheme and host the client used.
///
/// Implemented for actix-web's `HttpRequest` and `ServiceRequest` (feature `actix`); an
/// adapter for another framework implements it for its request type.
///
/// ```
/// use std::net::SocketAddr;
/// use iampass::core::{RequestHead, accepts_html};
///
/// /// A request of some framework, as an adapter sees it.
/// struct Plain { path: String, accept: String }
///
/// impl RequestHead for Plain {
///     fn method(&self) -> &str { "GET" }
///     fn path(&self) -> &str { &self.path }
///     fn query(&self) -> &str { "" }
///     fn headers<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
///         (name == "accept").then_some(self.accept.as_str()).into_iter()
///     }
///     fn contains_header(&self, name: &str) -> bool { name == "accept" }
///     fn peer_addr(&self) -> Option<SocketAddr> { None }
///     fn scheme(&self) -> String { "https".into() }
///     fn host(&self) -> String { "example.com".into() }
/// }
///
/// let req = Plain { path: "/page".into(), accept: "text/html".into() };
/// assert_eq!(req.header("accept"), Some("text/html"));
/// assert!(accepts_html(&req));
/// ```
pub trait RequestHead {
    /// The method, upper case (`GET`, `POST`, ...).
    fn method(&self) -> &str;
    /// The path, without the query.
    fn path(&self) -> &str;
    /// The query string without `?` (empty when there is none).
    fn query(&self) -> &str;
    /// Every value of the header `name` (lower case) that is valid text, in order.
    fn headers<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a;
    /// `true` when the request has the header `name` (lower case), text or not.
    fn contains_header(&self, name: &str) -> bool;
    /// The TCP peer's address, when known.
    fn peer_addr(&self) -> Option<SocketAddr>;
    /// The scheme the client used (`http` or `https`), as the framework sees it.
    fn scheme(&self) -> String;
    /// The host the client asked for (`Host`, or what the framework derives), with its port.
    fn host(&self) -> String;

    /// The first value of the header `name` (lower case) that is valid text.
    fn header<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.headers(name).next()
    }

    /// The value of the query parameter `name`, decoded.
    fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query().as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// `true` when the client prefers an HTML answer (a browser navigation or form).
///
/// For example `accept: text/html,application/xhtml+xml` (a browser navigation) is, and
/// `accept: application/json` is not (see [`RequestHead`]'s example).
pub fn accepts_html(req: &impl RequestHead) -> bool {
    req.header("accept")
        .is_some_and(|accept| accept.contains("text/html"))
}

/// `true` when the client asked for JSON explicitly: its `Accept` names `application/json`,
/// before `text/html` if it names both. That wins over a form body: a `fetch` posting a form
/// with `Accept: application/json` gets the JSON answer (`202` + `poll_url`), not a redirect.
pub(crate) fn prefers_json(req: &impl RequestHead) -> bool {
    let Some(accept) = req.header("accept") else {
        return false;
    };
    let accept = accept.to_ascii_lowercase();
    match (accept.find("application/json"), accept.find("text/html")) {
        (Some(json), Some(html)) => json < html,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// `true` when the answer should be HTML (a page, or a `303`) rather than JSON: never when
/// JSON was asked for explicitly ([`prefers_json`]), otherwise for a form post (`form`) or a
/// client that accepts HTML.
pub(crate) fn answers_html(req: &impl RequestHead, form: bool) -> bool {
    !prefers_json(req) && (form || accepts_html(req))
}

/// `true` for an HTML form submission.
pub(crate) fn is_form(req: &impl RequestHead) -> bool {
    req.header("content-type").is_some_and(|ct| {
        ct.trim_start()
            .starts_with("application/x-www-form-urlencoded")
    })
}

/// A request made of plain values, for the core's own tests.
#[cfg(test)]
#[derive(Debug, Default, Clone)]
pub(crate) struct TestHead {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) scheme: String,
}

#[cfg(test)]
impl TestHead {
    pub(crate) fn get(path_and_query: &str) -> Self {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        TestHead {
            method: "GET".into(),
            path: path.into(),
            query: query.into(),
            scheme: "http".into(),
            ..TestHead::default()
        }
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }
}

#[cfg(test)]
impl RequestHead for TestHead {
    fn method(&self) -> &str {
        &self.method
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn query(&self) -> &str {
        &self.query
    }
    fn headers<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn contains_header(&self, name: &str) -> bool {
        self.headers.iter().any(|(n, _)| n == name)
    }
    fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }
    fn scheme(&self) -> String {
        self.scheme.clone()
    }
    fn host(&self) -> String {
        self.header("host").unwrap_or("localhost").to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_json_accept_wins_over_a_form_body() {
        let form = |accept: Option<&str>| {
            let head = TestHead::get("/auth/login")
                .header("content-type", "application/x-www-form-urlencoded");
            let head = match accept {
                Some(accept) => head.header("accept", accept),
                None => head,
            };
            answers_html(&head, is_form(&head))
        };
        assert!(form(None));
        assert!(form(Some("*/*")));
        assert!(form(Some("text/html,application/xhtml+xml,*/*;q=0.8")));
        assert!(!form(Some("application/json")));
        assert!(!form(Some("Application/JSON, text/plain")));
        assert!(!form(Some("application/json, text/html;q=0.5")));
        assert!(form(Some("text/html, application/json;q=0.5")));
        let fetch = TestHead::get("/x").header("accept", "application/json");
        assert!(!answers_html(&fetch, false));
        let plain = TestHead::get("/x");
        assert!(!answers_html(&plain, false));
    }
}
