//! The request log: one line per request, through `tracing`.

use std::fmt;
use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

/// The application a wire API request acted for, put in the request's extensions by the
/// wire routes for the request log.
#[derive(Debug, Clone)]
pub(crate) struct ForApplication(pub(crate) String);

/// One `INFO` line per request (target `iampass::emulator`): method, path, status, latency
/// and the application it acted for (`-` outside the wire API). Wrap it around the
/// application with `actix_web::middleware::from_fn`.
pub(crate) async fn log_request<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let response = next.call(req).await?;
    let app = response
        .request()
        .extensions()
        .get::<ForApplication>()
        .map(|a| a.0.clone());
    tracing::info!(
        target: "iampass::emulator",
        method = %Escaped(method.as_str()),
        path = %Escaped(&path),
        status = response.status().as_u16(),
        latency_ms = format_args!("{:.3}", started.elapsed().as_secs_f64() * 1000.0),
        app = %Escaped(app.as_deref().unwrap_or("-")),
        "request"
    );
    Ok(response)
}

/// A value from the request, as one unambiguous token of a log line: printed as it is when it
/// is plain (visible ASCII but `"`, `\\` and `=`), else quoted with everything else escaped
/// (`"a\\nb"`, `"\\u{1b}[31m"`, `"x status=500"`), so it can neither end the line, colour the
/// terminal nor pass for another field.
pub(crate) struct Escaped<'a>(pub(crate) &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain = !self.0.is_empty()
            && self
                .0
                .bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\\' | b'='));
        if plain {
            f.write_str(self.0)
        } else {
            write!(f, "{:?}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Escaped;

    #[test]
    fn values_cannot_forge_a_line_or_a_field() {
        assert_eq!(Escaped("app-1").to_string(), "app-1");
        assert_eq!(
            Escaped("/management/add_users/a%20b").to_string(),
            "/management/add_users/a%20b"
        );
        assert_eq!(Escaped("a\nb").to_string(), r#""a\nb""#);
        assert_eq!(Escaped("\x1b[31m").to_string(), r#""\u{1b}[31m""#);
        assert_eq!(Escaped("x status=500").to_string(), r#""x status=500""#);
        assert_eq!(Escaped("\"").to_string(), r#""\"""#);
        assert_eq!(Escaped("").to_string(), r#""""#);
        for hostile in ["\n", "\r", "\u{1b}", "\u{2028}", "\u{85}", " ", "é"] {
            let shown = Escaped(hostile).to_string();
            assert!(
                shown.starts_with('"') && !shown.chars().any(char::is_control),
                "{shown:?}"
            );
        }
    }
}
