//! Request routing and the handlers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ACCEPT, ALLOW, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;
use tokio::sync::oneshot;

use super::api::{Gate, SloDetail, SloList};
use super::body::{BodyError, discard};
use super::decode::{percent_decode, query_param};
use super::{AppState, ServeConfig, page};
use crate::exporter::negotiate;

type Reply = Response<Full<Bytes>>;

const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";

/// Answers one request; never fails (errors become status codes).
pub(super) async fn handle(
    request: Request<Incoming>,
    state: &AppState,
    config: &ServeConfig,
) -> Reply {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    if path == "/-/reload" {
        return reload(request, state, config).await;
    }
    if method != Method::GET && method != Method::HEAD {
        let known = matches!(
            path.as_str(),
            "/" | "/metrics"
                | "/healthz"
                | "/readyz"
                | "/api/v1/slos"
                | "/api/v1/gate"
                | "/api/v1/report"
        ) || path.starts_with("/api/v1/slos/")
            || path.starts_with("/slo/");
        if known {
            let mut reply = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            reply
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return reply;
        }
        return not_found(&path);
    }
    match path.as_str() {
        "/" => html(page::render(&state.snapshot.load())),
        "/metrics" => metrics(&request, state).await,
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" if state.ready.load(Ordering::Acquire) => text(StatusCode::OK, "ready\n"),
        "/readyz" => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the first evaluation has not finished\n",
        ),
        "/api/v1/slos" => json(StatusCode::OK, &SloList::new(&state.snapshot.load())),
        "/api/v1/gate" => gate(request.uri().query(), state),
        "/api/v1/report" => report(request.uri().query(), state).await,
        _ => match path.strip_prefix("/api/v1/slos/") {
            Some(rest) => slo_detail(rest, state).await,
            None => match path.strip_prefix("/slo/") {
                Some(rest) => slo_page(rest, state).await,
                None => not_found(&path),
            },
        },
    }
}

async fn metrics(request: &Request<Incoming>, state: &AppState) -> Reply {
    let accept = request.headers().get(ACCEPT).and_then(|v| v.to_str().ok());
    let format = negotiate(accept);
    let exporter = Arc::clone(&state.exporter);
    // Encoding thousands of series is CPU work: keep it off the threads that serve sockets.
    let encoded = tokio::task::spawn_blocking(move || exporter.encode(format)).await;
    match encoded {
        Ok(Ok(body)) => with_type(StatusCode::OK, format.content_type(), body),
        Ok(Err(error)) => {
            tracing::error!(%error, "rendering /metrics failed");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "rendering the metrics failed\n",
            )
        }
        Err(error) => {
            tracing::error!(%error, "the /metrics task failed");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "rendering the metrics failed\n",
            )
        }
    }
}

async fn slo_detail(rest: &str, state: &AppState) -> Reply {
    let segments: Vec<&str> = rest.split('/').collect();
    let [service, slo] = segments.as_slice() else {
        return json_error(
            StatusCode::NOT_FOUND,
            "expected /api/v1/slos/{service}/{slo}",
        );
    };
    if service.is_empty() || slo.is_empty() {
        return json_error(
            StatusCode::NOT_FOUND,
            "expected /api/v1/slos/{service}/{slo}",
        );
    }
    let (Some(service), Some(slo)) = (percent_decode(service, false), percent_decode(slo, false))
    else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "malformed percent-encoding in the path",
        );
    };
    let snapshot = state.snapshot.load();
    match SloDetail::find(&snapshot, &service, &slo) {
        Some(detail) => {
            // The history behind the charts comes from the engine, between its evaluations.
            let Some(ask) = &state.history else {
                return json(StatusCode::OK, &detail);
            };
            let (tx, rx) = oneshot::channel();
            let history = match ask.send((service.clone(), slo.clone(), tx)).await {
                Ok(()) => tokio::time::timeout(std::time::Duration::from_secs(10), rx)
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .flatten(),
                Err(_) => None,
            };
            let mut value = serde_json::to_value(&detail).unwrap_or_default();
            if let (Some(obj), Some(history)) = (value.as_object_mut(), history) {
                obj.insert(
                    "history".into(),
                    serde_json::to_value(history).unwrap_or_default(),
                );
            }
            json(StatusCode::OK, &value)
        }
        None => json_error(
            StatusCode::NOT_FOUND,
            &format!("unknown SLO {service}/{slo}"),
        ),
    }
}

/// `GET /slo/{service}/{slo}`: the SLO's page, with charts from the engine's history.
async fn slo_page(rest: &str, state: &AppState) -> Reply {
    let snapshot = state.snapshot.load();
    let segments: Vec<&str> = rest.split('/').collect();
    let [service, slo] = segments.as_slice() else {
        return html_with(
            StatusCode::NOT_FOUND,
            page::render_not_found(&snapshot, "such page: expected /slo/{service}/{slo}"),
        );
    };
    if service.is_empty() || slo.is_empty() {
        return html_with(
            StatusCode::NOT_FOUND,
            page::render_not_found(&snapshot, "such page: expected /slo/{service}/{slo}"),
        );
    }
    let (Some(service), Some(slo)) = (percent_decode(service, false), percent_decode(slo, false))
    else {
        return html_with(
            StatusCode::BAD_REQUEST,
            page::render_bad_request("Malformed percent-encoding in the path."),
        );
    };
    if !snapshot
        .slos
        .iter()
        .any(|s| *s.service == *service && *s.slo == *slo)
    {
        return html_with(
            StatusCode::NOT_FOUND,
            page::render_not_found(&snapshot, &format!("SLO {slo} in service {service}")),
        );
    }
    let history = chart_history(state, &service, &slo).await;
    match page::render_slo(&snapshot, &service, &slo, history.as_deref()) {
        Some(body) => html(body),
        None => html_with(
            StatusCode::NOT_FOUND,
            page::render_not_found(&snapshot, &format!("SLO {slo} in service {service}")),
        ),
    }
}

/// The engine's chart history of one SLO; `None` without a history channel, for an unknown SLO,
/// or when the engine does not answer within 10 seconds.
async fn chart_history(
    state: &AppState,
    service: &str,
    slo: &str,
) -> Option<Vec<crate::engine::snapshot::ChartSeries>> {
    let ask = state.history.as_ref()?;
    let (tx, rx) = oneshot::channel();
    ask.send((service.to_owned(), slo.to_owned(), tx))
        .await
        .ok()?;
    tokio::time::timeout(std::time::Duration::from_secs(10), rx)
        .await
        .ok()
        .and_then(Result::ok)
        .flatten()
}

/// Sets its flag when dropped: tells a report's computation its asker is gone.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// `GET /api/v1/report?month=YYYY-MM` or `?from=..&to=..`, `&format=json|markdown|csv|html`
/// (json by default): `sloburn report` from the running engine's own history (the store file
/// is the engine's while it runs), read from its last committed save beside the engine loop. Bad parameters: 400 with the CLI's words.
async fn report(query: Option<&str>, state: &AppState) -> Reply {
    use crate::report::{Format, Range};
    let param = |name| query_param(query, name);
    let (Ok(month), Ok(from), Ok(to), Ok(format)) =
        (param("month"), param("from"), param("to"), param("format"))
    else {
        return json_error(StatusCode::BAD_REQUEST, "malformed query string");
    };
    let asked =
        Range::from_request(month.as_deref(), from.as_deref(), to.as_deref()).and_then(|range| {
            Ok((
                range,
                format.as_deref().map_or(Ok(Format::Json), Format::parse)?,
            ))
        });
    let (range, format) = match asked {
        Ok(asked) => asked,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let Some(service) = &state.report else {
        return json_error(StatusCode::SERVICE_UNAVAILABLE, "no engine to report from");
    };
    // A bounded number at once: more say so at once rather than hold the connection.
    let Ok(permit) = service.permits.clone().try_acquire_owned() else {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy: a report is being computed, try again",
        );
    };
    // On a blocking thread beside the engine loop (which it never holds up), with the permit
    // until it returns; told to stop when this request is dropped (the asker disconnected) or
    // times out, so abandoned work ends at its next SLO.
    let stop = Arc::new(AtomicBool::new(false));
    let _stop_when_gone = StopOnDrop(stop.clone());
    let reports = service.reports.clone();
    // Rendered there too: HTML for many SLOs is real CPU on a runtime of few workers.
    let work = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        reports
            .rows(range, &stop)
            .map(|rows| format.write(range, &rows))
    });
    match tokio::time::timeout(std::time::Duration::from_secs(30), work).await {
        Ok(Ok(Ok(body))) => with_type(StatusCode::OK, format.content_type(), body),
        Ok(Ok(Err(e @ super::ReportError::History(_)))) => {
            tracing::error!("GET /api/v1/report: {e}");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
        }
        // Not evaluated yet (try again); stopped (the asker is gone, nobody reads this).
        Ok(Ok(Err(e))) => json_error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
        Ok(Err(e)) => {
            tracing::error!("GET /api/v1/report: the report failed: {e}");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, "the report failed")
        }
        Err(_) => json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the report did not finish in time",
        ),
    }
}

fn gate(query: Option<&str>, state: &AppState) -> Reply {
    let service = match query_param(query, "service") {
        Ok(Some(s)) if !s.is_empty() => s,
        Ok(_) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "missing query parameter: service=NAME",
            );
        }
        Err(()) => return json_error(StatusCode::BAD_REQUEST, "malformed query string"),
    };
    let snapshot = state.snapshot.load();
    match Gate::find(&snapshot, &service) {
        Some(gate) => json(StatusCode::OK, &gate),
        None => json_error(StatusCode::NOT_FOUND, &format!("unknown service {service}")),
    }
}

async fn reload(request: Request<Incoming>, state: &AppState, config: &ServeConfig) -> Reply {
    let Some(reload) = &state.reload else {
        return text(
            StatusCode::NOT_FOUND,
            "reloading over HTTP is disabled; start sloburn with --enable-reload to enable POST /-/reload\n",
        );
    };
    if request.method() != Method::POST {
        let mut reply = text(StatusCode::METHOD_NOT_ALLOWED, "use POST /-/reload\n");
        reply
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return reply;
    }
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = config.max_body_bytes;
    // A declared size far past the limit is refused unread; smaller overruns are drained so the
    // client can read the answer.
    if declared.is_some_and(|n| n > (limit as u64).saturating_mul(16).max(1 << 20)) {
        return too_large(limit);
    }
    match discard(request.into_body(), limit, config.header_read_timeout).await {
        Ok(()) => {}
        Err(BodyError::TooLarge { limit }) => return too_large(limit),
        Err(error) => return text(StatusCode::BAD_REQUEST, &format!("{error}\n")),
    }
    let (answer_tx, answer_rx) = oneshot::channel();
    if reload.send(answer_tx).await.is_err() {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the reloader is not running\n",
        );
    }
    match tokio::time::timeout(config.reload_timeout, answer_rx).await {
        Ok(Ok(Ok(()))) => {
            tracing::info!("configuration reloaded over HTTP");
            text(StatusCode::OK, "reloaded\n")
        }
        Ok(Ok(Err(message))) => {
            tracing::warn!(%message, "reload over HTTP failed");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("reload failed: {message}\n"),
            )
        }
        Ok(Err(_)) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "reload failed: the reloader dropped the request\n",
        ),
        Err(_) => text(
            StatusCode::GATEWAY_TIMEOUT,
            "reload did not finish in time\n",
        ),
    }
}

fn too_large(limit: usize) -> Reply {
    text(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("request body larger than {limit} bytes\n"),
    )
}

fn not_found(path: &str) -> Reply {
    if path.starts_with("/api/") {
        json_error(StatusCode::NOT_FOUND, "not found")
    } else {
        text(StatusCode::NOT_FOUND, "not found\n")
    }
}

fn with_type(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut reply = Response::new(Full::new(body.into()));
    *reply.status_mut() = status;
    reply
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    reply
}

fn text(status: StatusCode, body: &str) -> Reply {
    with_type(status, TEXT, body.to_owned())
}

fn html(body: String) -> Reply {
    html_with(StatusCode::OK, body)
}

fn html_with(status: StatusCode, body: String) -> Reply {
    with_type(status, "text/html; charset=utf-8", body)
}

fn json(status: StatusCode, value: &impl Serialize) -> Reply {
    match serde_json::to_vec(value) {
        Ok(body) => with_type(status, JSON, body),
        Err(error) => {
            tracing::error!(%error, "serializing a JSON answer failed");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "serializing the answer failed\n",
            )
        }
    }
}

fn json_error(status: StatusCode, message: &str) -> Reply {
    json(status, &serde_json::json!({ "error": message }))
}
