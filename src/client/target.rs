//! A request target parsed once: what a session keeps for its status calls.

use bytes::Bytes;
use http::Uri;
use http::header::HeaderValue;
use url::Url;

use crate::Error;

/// A request target parsed once: the URL (what is signed, and what reqwest takes), hyper's
/// URI and the `Host` value hyper would derive from it. A session keeps its status target, so
/// a status call parses nothing.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) url: Url,
    pub(crate) uri: Uri,
    pub(crate) host: HeaderValue,
}

impl Target {
    /// Parses an `http(s)` URL.
    pub(crate) fn parse(url: &str) -> Result<Target, Error> {
        let bad = |e: &dyn std::fmt::Display| Error::Protocol(format!("bad URL {url:?}: {e}"));
        let parsed = Url::parse(url).map_err(|e| bad(&e))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Protocol(format!(
                "unsupported URL scheme {:?}",
                parsed.scheme()
            )));
        }
        let uri = Uri::from_maybe_shared(Bytes::copy_from_slice(parsed.as_str().as_bytes()))
            .map_err(|e| bad(&e))?;
        let host = uri.host().ok_or_else(|| bad(&"no host"))?;
        // As hyper-util writes it: the port only when it is not the scheme's default.
        let default_port = match uri.scheme_str() {
            Some("https") => 443,
            _ => 80,
        };
        let host = match uri.port_u16().filter(|port| *port != default_port) {
            Some(port) => HeaderValue::from_str(&format!("{host}:{port}")),
            None => HeaderValue::from_str(host),
        }
        .map_err(|e| bad(&e))?;
        Ok(Target {
            url: parsed,
            uri,
            host,
        })
    }

    /// The part of the URL that is signed (without `scheme://`).
    pub(crate) fn signed_part(&self) -> &str {
        crate::signing::signed_part(self.url.as_str())
    }
}
