//! Reading a login or step-up request body: bounded in size and in time.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http::StatusCode;

use super::refusal::Refusal;
use crate::core::request::RequestHead;

/// Largest login request body accepted (`413` above).
pub(crate) const MAX_BODY: usize = 8 * 1024;

/// Reads the body within `deadline`, refusing more than [`MAX_BODY`] bytes (declared or
/// sent); a body still arriving at the deadline is answered `408`.
pub(super) async fn read_body<S, E>(
    req: &impl RequestHead,
    body: S,
    deadline: std::time::Duration,
) -> Result<Vec<u8>, Refusal>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    match tokio::time::timeout(deadline, read_whole_body(req, body)).await {
        Ok(result) => result,
        Err(_) => {
            tracing::info!(path = req.path(), "request body not sent in time");
            Err(Refusal::bad_request(
                StatusCode::REQUEST_TIMEOUT,
                "The request took too long to arrive.",
            ))
        }
    }
}

async fn read_whole_body<S, E>(req: &impl RequestHead, mut body: S) -> Result<Vec<u8>, Refusal>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let too_large =
        || Refusal::bad_request(StatusCode::PAYLOAD_TOO_LARGE, "The request is too large.");
    let declared = req
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_BODY) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| {
            Refusal::bad_request(StatusCode::BAD_REQUEST, "The request could not be read.")
        })?;
        if bytes.len() + chunk.len() > MAX_BODY {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}
