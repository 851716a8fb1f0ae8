//! Accepting connections, serving them concurrently and shutting down gracefully.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{AppState, ServeConfig, routes};

/// Serves `state` on `listener` with [`ServeConfig::default`] until `shutdown` resolves.
///
/// On shutdown it stops accepting, lets in-flight requests finish (bounded by
/// [`ServeConfig::shutdown_grace`]) and closes idle connections.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_with(listener, state, ServeConfig::default(), shutdown).await
}

/// [`serve`] with explicit limits and timeouts.
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    config: ServeConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    tracing::info!(address = %local, "HTTP server listening");
    let shared = Arc::new((state, config));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tracing::trace!(%peer, "connection accepted");
                    connections.spawn(connection(stream, Arc::clone(&shared), stop_rx.clone()));
                }
                Err(error) => {
                    // Usually out of file descriptors or a connection reset before accept:
                    // pausing briefly beats spinning, and the server stays up.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            // Reap finished connections so the set does not grow with every client.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    tracing::info!(address = %local, open = connections.len(), "HTTP server shutting down");
    // Receivers only fail when the sender is gone, which cannot happen while it is in scope.
    let _ = stop_tx.send(true);
    let grace = shared.1.shutdown_grace;
    let drained = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "connections still open after the shutdown grace period; closing them"
        );
        connections.shutdown().await;
    }
    Ok(())
}

async fn connection(
    stream: TcpStream,
    shared: Arc<(AppState, ServeConfig)>,
    mut stop: watch::Receiver<bool>,
) {
    let config = &shared.1;
    let service = {
        let shared = Arc::clone(&shared);
        service_fn(move |request| {
            let shared = Arc::clone(&shared);
            async move { Ok::<_, Infallible>(routes::handle(request, &shared.0, &shared.1).await) }
        })
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = stopping(&mut stop) => {
            // Finish the request in flight (if any), then close; idle connections close now.
            conn.as_mut().graceful_shutdown();
            conn.as_mut().await
        }
    };
    if let Err(error) = result {
        // Timeouts and clients hanging up are routine; they are not the server's errors.
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// Resolves once shutdown begins.
async fn stopping(stop: &mut watch::Receiver<bool>) {
    // `Err` means the server is gone, which is a stop too. The guard is dropped here so the
    // connection future stays `Send`.
    let _ = stop.wait_for(|stopping| *stopping).await;
}
