//! Cross-site request refusal for state-changing requests (`Sec-Fetch-Site`, then `Origin`).

use crate::core::request::RequestHead;

/// Why a request was refused as cross-site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CrossSite(pub(crate) String);

/// Accepts a state-changing request only if the browser says it comes from this site.
///
/// - `Sec-Fetch-Site: same-origin` or `none` (typed URL, bookmark) passes; `same-site` and
///   `cross-site` are refused (a sibling subdomain is another origin).
/// - Without `Sec-Fetch-Site`, an `Origin` header must name the request's own host
///   (`Host` header, host and port compared; `Origin: null` is refused).
/// - With neither header (curl, server-to-server clients) the request passes: only
///   browsers attach cookies on their own, and they send at least one of the two.
pub(crate) fn check_same_origin(req: &impl RequestHead) -> Result<(), CrossSite> {
    check_headers(req, || req.scheme())
}

/// `true` when a state-changing request comes from this site, by the same rules the login
/// and logout handlers apply: `Sec-Fetch-Site` is `same-origin` or `none`; otherwise an
/// `Origin` header must name the request's own host; a request with neither (curl,
/// server-to-server) passes, since only browsers attach cookies on their own.
///
/// Use it to protect an app's own `POST` routes against cross-site forms:
///
/// With actix-web: `if !is_same_origin(&req) { return HttpResponse::Forbidden().finish(); }`
/// in the handler (`req: HttpRequest`); with axum, with the request's `Parts`.
pub fn is_same_origin(req: &impl RequestHead) -> bool {
    check_same_origin(req).is_ok()
}

/// The rules of [`check_same_origin`] on the request's headers; `scheme`: the connection's,
/// asked only when the `Origin` does not say.
fn check_headers(
    headers: &impl RequestHead,
    scheme: impl FnOnce() -> String,
) -> Result<(), CrossSite> {
    let present = |name| headers.contains_header(name);
    if present("sec-fetch-site") {
        return match headers
            .header("sec-fetch-site")
            .map(|s| s.trim().to_ascii_lowercase())
        {
            Some(s) if s == "same-origin" || s == "none" => Ok(()),
            Some(s) => Err(CrossSite(format!("Sec-Fetch-Site: {s}"))),
            None => Err(CrossSite("unreadable Sec-Fetch-Site".into())),
        };
    }
    if !present("origin") {
        return Ok(());
    }
    let origin = headers
        .header("origin")
        .ok_or_else(|| CrossSite("unreadable Origin".into()))?;
    let host = headers
        .header("host")
        .ok_or_else(|| CrossSite("Origin without Host".into()))?;
    let parsed = url::Url::parse(origin).map_err(|_| CrossSite(format!("Origin {origin:?}")))?;
    let (Some(origin_host), Some(origin_port)) =
        (parsed.host_str(), parsed.port_or_known_default())
    else {
        return Err(CrossSite(format!("Origin {origin:?}")));
    };
    // The Host header's port defaults by the Origin's scheme (a TLS-terminating proxy may
    // make the connection scheme differ); fall back to the connection's scheme.
    let default_port = match parsed.scheme() {
        "https" => 443,
        "http" => 80,
        _ => match scheme().as_str() {
            "https" => 443,
            _ => 80,
        },
    };
    let host_url = url::Url::parse(&format!("http://{host}"))
        .map_err(|_| CrossSite(format!("Host {host:?}")))?;
    let host_name = host_url.host_str().unwrap_or_default();
    let host_port = host_url.port().unwrap_or(default_port);
    if origin_host.eq_ignore_ascii_case(host_name) && origin_port == host_port {
        Ok(())
    } else {
        Err(CrossSite(format!("Origin {origin} is not {host}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::request::TestHead;

    fn headers(pairs: &[(&str, &str)]) -> TestHead {
        pairs
            .iter()
            .fold(TestHead::get("/"), |head, (name, value)| {
                head.header(name, value)
            })
    }

    fn check_headers(head: &TestHead, scheme: &str) -> Result<(), CrossSite> {
        super::check_headers(head, || scheme.to_owned())
    }

    #[test]
    fn fetch_metadata_decides_first() {
        let ok = [
            ("sec-fetch-site", "same-origin"),
            ("sec-fetch-site", "none"),
        ];
        for pair in ok {
            assert!(check_headers(&headers(&[pair]), "http").is_ok(), "{pair:?}");
        }
        for bad in ["cross-site", "same-site", "garbage"] {
            let h = headers(&[
                ("sec-fetch-site", bad),
                ("origin", "http://a"),
                ("host", "a"),
            ]);
            assert!(check_headers(&h, "http").is_err(), "{bad}");
        }
    }

    #[test]
    fn origin_must_match_host() {
        let cases = [
            ("http://127.0.0.1:8080", "127.0.0.1:8080", true),
            ("http://example.com", "example.com", true),
            ("https://example.com", "example.com", true),
            ("https://example.com:443", "example.com", true),
            ("http://EXAMPLE.com", "example.com", true),
            ("http://evil.com", "example.com", false),
            ("http://example.com:8081", "example.com:8080", false),
            ("http://example.com.evil.com", "example.com", false),
            ("null", "example.com", false),
        ];
        for (origin, host, ok) in cases {
            let h = headers(&[("origin", origin), ("host", host)]);
            assert_eq!(check_headers(&h, "http").is_ok(), ok, "{origin} vs {host}");
        }
        assert!(check_headers(&headers(&[]), "http").is_ok());
        assert!(check_headers(&headers(&[("origin", "http://a")]), "http").is_err());
    }
}
