//! Reading (and discarding) a request body within limits.

use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;

/// Why a body was refused.
#[derive(Debug, thiserror::Error)]
pub(super) enum BodyError {
    #[error("request body larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("reading the request body failed: {0}")]
    Read(#[from] hyper::Error),
    #[error("the request body did not arrive in time")]
    Timeout,
}

/// Reads and discards `body`, failing when it exceeds `limit` bytes.
///
/// A body that is too large is still drained up to a few times the limit before answering, so
/// the client reads a clean 413 instead of a connection reset from unread data.
pub(super) async fn discard(
    mut body: Incoming,
    limit: usize,
    deadline: Duration,
) -> Result<(), BodyError> {
    let drain_cap = limit.saturating_mul(16).max(1 << 20);
    let read = async {
        let mut seen = 0usize;
        while let Some(frame) = body.frame().await {
            if let Some(data) = frame?.data_ref() {
                seen = seen.saturating_add(data.len());
            }
            if seen > drain_cap {
                break;
            }
        }
        Ok::<_, BodyError>(seen)
    };
    match tokio::time::timeout(deadline, read).await {
        Ok(Ok(seen)) if seen > limit => Err(BodyError::TooLarge { limit }),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(BodyError::Timeout),
    }
}
