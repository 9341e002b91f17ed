//! `ai-search serve`: a search page and a JSON HTTP API over the index (axum on tokio).
//!
//! Every answer comes from the library's public API; `/api/search` writes the very JSON that
//! `ai-search query --json --facets` prints, with `render::write_json`. Searches run on tokio's
//! blocking threads, each after a cheap check for a newer commit ([`SearchIndex::refresh`]), so
//! `ai-search index` can update the index while the server answers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use ai_search::{render, Error, IsoDate, PassageRef, SearchIndex, SearchRequest, Sort};
use anyhow::Context;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

/// Most hits one request returns.
const MAX_LIMIT: usize = 100;
/// Deepest page: hits skipped at most (ranking fetches `offset + limit` candidates and more).
const MAX_OFFSET: usize = 10_000;
/// Most context paragraphs on each side of a hit or passage.
const MAX_CONTEXT: usize = 10;
/// Longest `author` or `topic` filter, in characters (the library caps the query itself).
const MAX_FILTER_CHARS: usize = 1000;
/// Longest request target (path and query string), in bytes.
const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest request body, in bytes. No endpoint reads one.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// The page and its assets, built into the binary.
const INDEX_HTML: &str = include_str!("web/index.html");
const APP_JS: &str = include_str!("web/app.js");
const STYLE_CSS: &str = include_str!("web/style.css");
const FAVICON_SVG: &str = include_str!("web/favicon.svg");

/// The page may load and fetch only from this server, and runs no inline script.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Serves the index in `index_dir` on `addr` until Ctrl-C or SIGTERM.
pub fn serve(index_dir: PathBuf, addr: SocketAddr) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (`--port` chooses another port)"))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(index_dir));
        if let Err(err) = shared.index() {
            eprintln!(
                "warning: {}; until then every search answers 503",
                err.message
            );
        }
        if !addr.ip().is_loopback() {
            eprintln!("warning: listening on {addr}: other machines can read the index");
        }
        // The first line of standard output is the URL (tests and scripts read it).
        println!(
            "Serving {} at http://{addr}/ (Ctrl-C stops it)",
            shared.dir.display()
        );
        let hosts = if addr.ip().is_loopback() {
            Hosts::Loopback
        } else {
            Hosts::Any
        };
        axum::serve(listener, app(shared, hosts))
            .with_graceful_shutdown(shutdown_signal())
            .await?;
        anyhow::Ok(())
    })
}

/// The routes with the safety layers around them.
fn app(shared: Arc<Shared>, hosts: Hosts) -> Router {
    harden(routes(shared), hosts)
}

/// The host names a request may be addressed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hosts {
    /// `localhost` and loopback addresses only. A server on the loopback interface is meant for
    /// this machine; checking the name also keeps out a page of another site that has its name
    /// resolve to 127.0.0.1 (DNS rebinding) and would otherwise read the index as same-origin.
    Loopback,
    /// Any: the server was bound to an address that other machines reach.
    Any,
}

fn routes(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/app.js", get(script))
        .route("/style.css", get(style))
        .route("/favicon.svg", get(favicon))
        .route("/api/search", get(search))
        .route("/api/paragraph", get(paragraph))
        .route("/api/health", get(health))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(shared)
}

/// Caps on requests, a JSON 500 for a panicking request (the server goes on), and headers that
/// keep the page to its own assets.
fn harden(router: Router, hosts: Hosts) -> Router {
    let header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    router
        // A backstop for bodies without a length, should a handler ever read one.
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(middleware::from_fn(check_size))
        .layer(middleware::from_fn_with_state(hosts, check_host))
        .layer(CatchPanicLayer::custom(
            |panic: Box<dyn std::any::Any + Send>| {
                ApiError::internal(panic_message(&*panic)).into_response()
            },
        ))
        .layer(header(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
        .layer(header(header::CACHE_CONTROL, "no-cache"))
}

/// Turns away request targets over [`MAX_URI_BYTES`] and declared bodies over
/// [`MAX_BODY_BYTES`] before any handler runs.
async fn check_size(request: Request, next: Next) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if target > MAX_URI_BYTES {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!("the request target is over {MAX_URI_BYTES} bytes"),
        )
        .into_response();
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is over {MAX_BODY_BYTES} bytes"),
        )
        .into_response();
    }
    next.run(request).await
}

/// Turns away requests addressed to a host name that is not this machine's, when only this
/// machine is served.
async fn check_host(State(hosts): State<Hosts>, request: Request, next: Next) -> Response {
    if hosts == Hosts::Loopback {
        let host = request
            .headers()
            .get(header::HOST)
            .map(|host| host.to_str().unwrap_or_default());
        // A request without a Host header comes from no browser (HTTP/1.1 requires one).
        if host.is_some_and(|host| !is_loopback_host(host)) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "this server answers only requests to localhost, 127.0.0.1 or [::1]",
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// Whether the `Host` header names this machine: `localhost` or a loopback address, with any port.
fn is_loopback_host(host: &str) -> bool {
    let Ok(authority) = host.parse::<axum::http::uri::Authority>() else {
        return false;
    };
    let name = authority.host();
    name.eq_ignore_ascii_case("localhost")
        || name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

async fn shutdown_signal() {
    let interrupt = async {
        // Without a handler, Ctrl-C ends the process anyway.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// What every request shares: the index, opened when it first exists.
struct Shared {
    dir: PathBuf,
    index: Mutex<Option<Arc<SearchIndex>>>,
    /// The last problem loading a newer commit that was reported, so it is reported once.
    reported: Mutex<Option<String>>,
}

impl Shared {
    fn new(dir: PathBuf) -> Shared {
        Shared {
            dir,
            index: Mutex::new(None),
            reported: Mutex::new(None),
        }
    }

    /// The index at its latest commit. Blocks (a `stat`, and a reload after a commit): call it
    /// on a blocking thread.
    fn index(&self) -> Result<Arc<SearchIndex>, ApiError> {
        let open = lock(&self.index).clone();
        if let Some(index) = open {
            match index.refresh() {
                Ok(reloaded) => {
                    if reloaded {
                        *lock(&self.reported) = None;
                    }
                }
                // A commit can delete files under a reload; the commit loaded before still
                // answers, and the next request tries again.
                Err(err) => self.report(&err),
            }
            return Ok(index);
        }
        let index = SearchIndex::open(&self.dir)
            .map_err(|err| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, err.to_string()))?;
        Ok(lock(&self.index).get_or_insert(Arc::new(index)).clone())
    }

    fn report(&self, err: &Error) {
        let message = err.to_string();
        let mut reported = lock(&self.reported);
        if reported.as_deref() != Some(message.as_str()) {
            eprintln!(
                "warning: cannot load the latest commit ({message}); answering from the one before"
            );
            *reported = Some(message);
        }
    }
}

/// The value behind a mutex, also after a panic while it was held (a panicking request must not
/// take the others down).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An error answer: its status, and `{"status": …, "error": "…"}` as the body.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    status: u16,
    error: &'a str,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    fn internal(message: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {message}"),
        )
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> ApiError {
        let status = match &err {
            Error::QueryParse(_) | Error::BadDate(_) | Error::BadReference(_) => {
                StatusCode::BAD_REQUEST
            }
            Error::PassageNotFound(_) => StatusCode::NOT_FOUND,
            Error::IndexNotFound(_) | Error::SchemaMismatch { .. } | Error::Locked(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, err.to_string())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::bad_request(rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            status: self.status.as_u16(),
            error: &self.message,
        };
        json(self.status, &body)
    }
}

/// `value` as the JSON that `ai-search … --json` prints.
fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    let mut body = Vec::new();
    if let Err(err) = render::write_json(&mut body, value) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot write JSON: {err}"),
        )
            .into_response();
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Runs `work` on a blocking thread; a panic in it becomes a 500 answer.
async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(err) if err.is_panic() => Err(ApiError::internal(panic_message(&*err.into_panic()))),
        Err(err) => Err(ApiError::internal(err)),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|message| message.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a request panicked".into())
}

/// The parameters of `/api/search`. Empty values count as absent.
#[derive(Debug, Deserialize)]
struct SearchParams {
    q: Option<String>,
    author: Option<String>,
    topic: Option<String>,
    since: Option<String>,
    until: Option<String>,
    sort: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
    context: Option<usize>,
}

impl SearchParams {
    /// The library's request, as `ai-search query --facets` would make it.
    fn request(self) -> Result<SearchRequest, ApiError> {
        let text = |value: Option<String>| value.filter(|value| !value.trim().is_empty());
        let query = text(self.q).ok_or_else(|| ApiError::bad_request("`q` is required"))?;
        let filter = |name: &str, value: Option<String>| match text(value) {
            Some(value) if value.chars().count() > MAX_FILTER_CHARS => Err(ApiError::bad_request(
                format!("`{name}` is over {MAX_FILTER_CHARS} characters"),
            )),
            value => Ok(value),
        };
        let date = |value: Option<String>| {
            text(value)
                .map(|value| value.parse::<IsoDate>())
                .transpose()
                .map_err(ApiError::from)
        };
        let defaults = SearchRequest::new(query);
        Ok(SearchRequest {
            author: filter("author", self.author)?,
            topic: filter("topic", self.topic)?,
            since: date(self.since)?,
            until: date(self.until)?,
            sort: match text(self.sort).as_deref() {
                None | Some("relevance") => Sort::Relevance,
                Some("newest") => Sort::Newest,
                Some("oldest") => Sort::Oldest,
                Some(other) => {
                    return Err(ApiError::bad_request(format!(
                        "`sort` is relevance, newest or oldest, not `{other}`"
                    )))
                }
            },
            limit: capped("limit", self.limit, defaults.limit, MAX_LIMIT)?,
            offset: capped("offset", self.offset, defaults.offset, MAX_OFFSET)?,
            context: capped("context", self.context, defaults.context, MAX_CONTEXT)?,
            facets: true,
            ..defaults
        })
    }
}

/// `value`, or `default` when absent; an error over `max`.
fn capped(name: &str, value: Option<usize>, default: usize, max: usize) -> Result<usize, ApiError> {
    match value {
        Some(value) if value > max => {
            Err(ApiError::bad_request(format!("`{name}` is at most {max}")))
        }
        value => Ok(value.unwrap_or(default)),
    }
}

/// `GET /api/search`: the output of `ai-search query --json --facets`; the time the search took
/// is in the `Server-Timing` header.
async fn search(
    State(shared): State<Arc<Shared>>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let request = params?.0.request()?;
    let (results, took) = blocking(move || {
        let index = shared.index()?;
        let started = Instant::now();
        let results = index.search(&request)?;
        Ok((results, started.elapsed()))
    })
    .await?;
    let mut response = json(StatusCode::OK, &results);
    let timing = format!("search;dur={:.3}", took.as_secs_f64() * 1000.0);
    if let Ok(timing) = HeaderValue::from_str(&timing) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("server-timing"), timing);
    }
    Ok(response)
}

/// The parameters of `/api/paragraph`: `ref`, or `path` and `n`.
#[derive(Debug, Deserialize)]
struct ParagraphParams {
    #[serde(rename = "ref")]
    reference: Option<String>,
    path: Option<String>,
    n: Option<u64>,
    context: Option<usize>,
}

impl ParagraphParams {
    fn reference(&self) -> Result<PassageRef, ApiError> {
        match (&self.reference, &self.path, self.n) {
            (Some(reference), None, None) => Ok(reference.parse()?),
            (None, Some(path), Some(n)) if !path.is_empty() && n > 0 => Ok(PassageRef {
                doc: path.clone(),
                paragraph: n,
            }),
            (None, Some(_), Some(_)) => Err(ApiError::bad_request(
                "`path` must not be empty and `n` counts from 1",
            )),
            _ => Err(ApiError::bad_request(
                "give `path` and `n` (the parts of a hit's `ref`), or `ref`",
            )),
        }
    }
}

/// `GET /api/paragraph`: the output of `ai-search show --json`. The paragraph is looked up in
/// the index by its reference; no file is read, so no path can reach outside the index.
async fn paragraph(
    State(shared): State<Arc<Shared>>,
    params: Result<Query<ParagraphParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = params?.0;
    let reference = params.reference()?;
    let context = capped("context", params.context, 1, MAX_CONTEXT)?;
    let passage = blocking(move || Ok(shared.index()?.passage(&reference, context)?)).await?;
    Ok(json(StatusCode::OK, &passage))
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    index: String,
    paragraphs: u64,
}

/// `GET /api/health`: 200 with the number of paragraphs, or 503 while there is no index.
async fn health(State(shared): State<Arc<Shared>>) -> Result<Response, ApiError> {
    let health = blocking(move || {
        let index = shared.index()?;
        Ok(Health {
            status: "ok",
            index: index.dir().display().to_string(),
            paragraphs: index.num_paragraphs(),
        })
    })
    .await?;
    Ok(json(StatusCode::OK, &health))
}

async fn page() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

async fn favicon() -> Response {
    asset("image/svg+xml", FAVICON_SVG)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such page or endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "only GET (and HEAD) are served",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves `router` on a free loopback port on a thread of its own; returns the base URL.
    fn spawn(router: Router) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, router).await.unwrap();
            });
        });
        url
    }

    async fn panics() -> &'static str {
        panic!("boom in a handler")
    }

    #[test]
    fn a_panicking_request_gets_a_500_and_the_server_goes_on() {
        let index_dir = tempfile::tempdir().unwrap();
        let shared = Arc::new(Shared::new(index_dir.path().join("none")));
        let router = routes(shared).route("/panic", get(panics)).route(
            "/panic-blocking",
            get(|| async {
                blocking::<(), _>(|| panic!("boom on a blocking thread"))
                    .await
                    .map(|()| "unreachable")
            }),
        );
        let url = spawn(harden(router, Hosts::Loopback));
        let client = reqwest::blocking::Client::new();
        for (path, message) in [
            ("/panic", "internal error: boom in a handler"),
            (
                "/panic-blocking",
                "internal error: boom on a blocking thread",
            ),
        ] {
            let response = client.get(format!("{url}{path}")).send().unwrap();
            assert_eq!(response.status(), 500);
            let body: serde_json::Value = response.json().unwrap();
            assert_eq!(body["status"], 500);
            assert_eq!(body["error"], message);
            // The server still answers.
            let response = client.get(format!("{url}/api/health")).send().unwrap();
            assert_eq!(response.status(), 503);
            let response = client.get(format!("{url}/")).send().unwrap();
            assert_eq!(response.status(), 200);
        }
    }

    #[test]
    fn loopback_hosts_are_told_apart() {
        for host in [
            "127.0.0.1:7878",
            "127.0.0.1",
            "127.1.2.3:80",
            "localhost:7878",
            "LOCALHOST",
            "[::1]:7878",
            "[::1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:7878",
            "localhost.evil.example",
            "10.0.0.1:7878",
            "[::2]:7878",
            "",
            "a b",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn library_errors_get_the_right_status() {
        let status = |err: Error| ApiError::from(err).status;
        assert_eq!(
            status(Error::QueryParse("x".into())),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(status(Error::BadDate("x".into())), StatusCode::BAD_REQUEST);
        assert_eq!(
            status(Error::BadReference("x".into())),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(Error::PassageNotFound("x#1".into())),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(Error::IndexNotFound("x".into())),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
