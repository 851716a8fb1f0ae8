//! Accepting connections, serving them concurrently and shutting down gracefully.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::web_config::WebConfigSource;
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
    // One permit per connection served; while none is free, new clients wait in the kernel's
    // accept queue rather than being accepted and dropped.
    let slots = Arc::new(Semaphore::new(shared.1.max_connections.max(1)));
    let _recheck = shared.1.web.clone().map(|source| {
        AbortOnDrop(tokio::spawn(recheck(
            source,
            shared.1.web_recheck.max(Duration::from_millis(10)),
        )))
    });
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                // Never closed while in scope.
                Err(_) => break,
            },
        };
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tracing::trace!(%peer, "connection accepted");
                    let shared = Arc::clone(&shared);
                    let stop = stop_rx.clone();
                    connections.spawn(async move {
                        connection(stream, shared, stop).await;
                        drop(permit);
                    });
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

/// Looks at the web config's files every `every`, so requests on kept-alive connections (which
/// take the config in force without any I/O) see changed users and headers.
async fn recheck(source: Arc<WebConfigSource>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let source = Arc::clone(&source);
        // Stats files, and a reload reads them: off the async threads. A panic there is
        // logged and the next look tries again.
        if let Err(error) = tokio::task::spawn_blocking(move || source.current()).await {
            tracing::error!(%error, "looking at the web config failed");
        }
    }
}

/// Aborts the task when the server stops, however it stops.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One connection: its TLS settings are those in force when it opened; basic auth and headers
/// are those in force at each request.
async fn connection(
    stream: TcpStream,
    shared: Arc<(AppState, ServeConfig)>,
    stop: watch::Receiver<bool>,
) {
    // Looking for changes stats files, and a reload reads and parses them: off the async
    // threads.
    let web = match shared.1.web.clone() {
        Some(source) => match tokio::task::spawn_blocking(move || source.current()).await {
            Ok(web) => Some(web),
            // Only a panic in loading lands here; refusing the connection is the safe answer.
            Err(error) => {
                tracing::error!(%error, "reading the web config failed");
                return;
            }
        },
        None => None,
    };
    match web.as_ref().and_then(|w| w.tls.clone()) {
        Some(tls) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(tls);
            // The handshake is bounded like a request head, so a silent client cannot hold a
            // connection slot before HTTP's own timeout starts.
            let timeout = shared.1.header_read_timeout;
            match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => http(stream, shared, stop).await,
                Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        }
        None => http(stream, shared, stop).await,
    }
}

/// Serves HTTP/1.1 on a connection (plain or TLS) until it closes or shutdown ends it.
async fn http<S>(stream: S, shared: Arc<(AppState, ServeConfig)>, mut stop: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = &shared.1;
    let service = {
        let shared = Arc::clone(&shared);
        service_fn(move |request| {
            let shared = Arc::clone(&shared);
            async move { Ok::<_, Infallible>(guarded(request, &shared).await) }
        })
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(config.max_header_bytes.max(8192));
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

/// Basic auth first (when configured), then the route; the configured headers go on every
/// answer, refusals included. Both from the web config in force now (no I/O: a change is
/// noticed by new connections and [`recheck`]).
async fn guarded(
    request: Request<Incoming>,
    shared: &(AppState, ServeConfig),
) -> Response<Full<Bytes>> {
    let Some(web) = shared.1.web.as_ref().map(|source| source.in_force()) else {
        return routes::handle(request, &shared.0, &shared.1).await;
    };
    let allowed = match &web.users {
        Some(users) => users.allows(request.headers().get(AUTHORIZATION)).await,
        None => true,
    };
    let mut reply = if allowed {
        routes::handle(request, &shared.0, &shared.1).await
    } else {
        unauthorized()
    };
    for (name, value) in &web.headers {
        reply.headers_mut().insert(name.clone(), value.clone());
    }
    reply
}

fn unauthorized() -> Response<Full<Bytes>> {
    let mut reply = Response::new(Full::new(Bytes::from_static(b"unauthorized\n")));
    *reply.status_mut() = StatusCode::UNAUTHORIZED;
    let headers = reply.headers_mut();
    headers.insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"sloburn\", charset=\"UTF-8\""),
    );
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    reply
}

/// Resolves once shutdown begins.
async fn stopping(stop: &mut watch::Receiver<bool>) {
    // `Err` means the server is gone, which is a stop too. The guard is dropped here so the
    // connection future stays `Send`.
    let _ = stop.wait_for(|stopping| *stopping).await;
}
