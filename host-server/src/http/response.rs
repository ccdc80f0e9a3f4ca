//! Responses as Nomad writes them: JSON bodies (compact, or `?pretty` with
//! four-space indentation and a trailing newline), the `X-Nomad-*` meta
//! headers, and plain-text errors without them.

use axum::body::{Body, Bytes};
use axum::http::header::{
    HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, VARY,
};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::cluster::Park;

const X_NOMAD_INDEX: HeaderName = HeaderName::from_static("x-nomad-index");
const X_NOMAD_KNOWN_LEADER: HeaderName = HeaderName::from_static("x-nomad-knownleader");
const X_NOMAD_LAST_CONTACT: HeaderName = HeaderName::from_static("x-nomad-lastcontact");
const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";

/// Which `X-Nomad-*` headers a response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meta {
    None,
    /// Writes: `X-Nomad-Index` only.
    Index(u64),
    /// Reads (and revert): all three.
    Query {
        index: u64,
        known_leader: bool,
    },
}

impl Meta {
    /// The meta of a read on this server (always the leader).
    pub fn read(index: u64) -> Meta {
        Meta::Query {
            index,
            known_leader: true,
        }
    }

    fn apply(self, headers: &mut axum::http::HeaderMap) {
        match self {
            Meta::None => {}
            Meta::Index(i) => {
                headers.insert(X_NOMAD_INDEX, HeaderValue::from(i));
            }
            Meta::Query {
                index,
                known_leader,
            } => {
                headers.insert(X_NOMAD_INDEX, HeaderValue::from(index));
                headers.insert(
                    X_NOMAD_KNOWN_LEADER,
                    HeaderValue::from_static(if known_leader { "true" } else { "false" }),
                );
                headers.insert(X_NOMAD_LAST_CONTACT, HeaderValue::from_static("0"));
            }
        }
    }
}

/// A successful JSON response.
#[derive(Debug)]
pub struct Reply {
    body: Bytes,
    meta: Meta,
}

impl Reply {
    /// A body rendered already.
    pub fn rendered(body: Bytes, meta: Meta) -> Reply {
        Reply { body, meta }
    }

    /// Renders `value` as Nomad does (`pretty`: 4-space indent + newline).
    pub fn json<T: Serialize + ?Sized>(
        value: &T,
        pretty: bool,
        meta: Meta,
    ) -> Result<Reply, ApiError> {
        Ok(Reply {
            body: render(value, pretty)?,
            meta,
        })
    }
}

/// Rendered bodies of single objects keyed by (key, pretty) and tagged with
/// the object's modify index: thousands of watchers woken by one update
/// share one rendering.
#[derive(Default)]
pub struct RenderCache {
    map: std::sync::Mutex<std::collections::HashMap<(String, bool), (u64, Bytes)>>,
}

/// Entries kept before the cache starts over.
const RENDER_CACHE_MAX: usize = 4096;

impl RenderCache {
    /// The rendering of `value`, which is the object `key` at `index`.
    pub fn render<T: Serialize + ?Sized>(
        &self,
        key: &str,
        index: u64,
        pretty: bool,
        value: &T,
    ) -> Result<Bytes, ApiError> {
        let k = (key.to_string(), pretty);
        {
            let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((i, body)) = map.get(&k) {
                if *i == index {
                    return Ok(body.clone());
                }
            }
        }
        let body = render(value, pretty)?;
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= RENDER_CACHE_MAX {
            map.clear();
        }
        map.insert(k, (index, body.clone()));
        Ok(body)
    }
}

/// Serializes like Nomad's JSON handles.
pub fn render<T: Serialize + ?Sized>(value: &T, pretty: bool) -> Result<Bytes, ApiError> {
    let mut out = Vec::with_capacity(256);
    let result = if pretty {
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        value.serialize(&mut ser)
    } else {
        caravan_core::json_out::to_writer(&mut out, value)
    };
    result.map_err(|e| ApiError::Server(e.to_string()))?;
    if pretty {
        out.push(b'\n');
    }
    Ok(Bytes::from(out))
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut resp = Response::new(Body::from(self.body));
        let headers = resp.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
        headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        self.meta.apply(headers);
        resp
    }
}

/// Every error a handler returns; the body is the plain text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// An HTTP-layer check failed (bad JSON, missing job, bad wait…).
    #[error("{0}")]
    BadRequest(String),
    /// The endpoint does not take this method.
    #[error("Invalid method")]
    MethodNotAllowed,
    /// A read found nothing; carries the meta of the table it read.
    #[error("{text}")]
    NotFound { text: String, index: u64 },
    /// A 404 without meta headers (client endpoints).
    #[error("{0}")]
    Gone(String),
    /// Every error of the server logic (Nomad answers 500).
    #[error("{0}")]
    Server(String),
    /// No route: Go's `ServeMux` answer.
    #[error("404 page not found\n")]
    NoRoute,
    /// Not an error: a blocking read that has to wait. Its handler ends
    /// here and the connection waits on the [`Park`], then runs the request
    /// again with the same deadline (see `server.rs`).
    #[error("parked")]
    Park(Park),
}

impl ApiError {
    pub fn not_found(text: &str, index: u64) -> ApiError {
        ApiError::NotFound {
            text: text.to_string(),
            index,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotFound { .. } | ApiError::Gone(_) | ApiError::NoRoute => {
                StatusCode::NOT_FOUND
            }
            ApiError::Server(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Park(_) => StatusCode::OK,
        }
    }
}

/// A blocking read that has to wait ends its handler (`?`).
impl From<Park> for ApiError {
    fn from(park: Park) -> Self {
        ApiError::Park(park)
    }
}

/// A refused or failed write is a server-logic error: Nomad's 500.
impl From<crate::cluster::WriteError> for ApiError {
    fn from(e: crate::cluster::WriteError) -> Self {
        ApiError::Server(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Park(park) = self {
            let mut resp = Response::new(Body::empty());
            resp.extensions_mut().insert(park);
            return resp;
        }
        let status = self.status();
        let meta = match &self {
            ApiError::NotFound { index, .. } => Meta::read(*index),
            _ => Meta::None,
        };
        let mut resp = Response::new(Body::from(self.to_string()));
        *resp.status_mut() = status;
        let headers = resp.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(TEXT));
        headers.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        if self == ApiError::NoRoute {
            headers.insert(
                HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            );
        }
        meta.apply(headers);
        resp
    }
}

/// Subtree patterns Nomad registers; their bare form redirects to them.
const SUBTREES: [&str; 6] = [
    "/v1/job",
    "/v1/node",
    "/v1/allocation",
    "/v1/evaluation",
    "/v1/client/allocation",
    "/v1/deployment",
];

/// No route: Go's `ServeMux` redirects a bare subtree path (`/v1/job` →
/// `/v1/job/`) with 301, and answers anything else 404.
pub fn go_not_found(path: &str, query: Option<&str>) -> Response {
    if SUBTREES.contains(&path) {
        let target = match query {
            Some(q) => format!("{path}/?{q}"),
            None => format!("{path}/"),
        };
        return moved_permanently(&target);
    }
    ApiError::NoRoute.into_response()
}

/// Bodies smaller than this go out uncompressed even to gzip clients (the
/// default of the gzip handler Nomad wraps its API in).
const GZIP_MIN_SIZE: usize = 1400;

/// Whether an `Accept-Encoding` value accepts gzip (`gzip` with a non-zero
/// `q`, if any).
pub fn accepts_gzip(value: &[u8]) -> bool {
    let Ok(value) = std::str::from_utf8(value) else {
        return false;
    };
    value.split(',').any(|item| {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        if !coding.eq_ignore_ascii_case("gzip") {
            return false;
        }
        parts.all(|p| match p.trim().split_once('=') {
            Some((q, v)) if q.trim().eq_ignore_ascii_case("q") => {
                v.trim().parse::<f32>().is_ok_and(|q| q > 0.0)
            }
            _ => true,
        })
    })
}

/// Compresses `body` for a client that accepts gzip, as Nomad's gzip
/// handler does: bodies of at least 1400 bytes get `Content-Encoding: gzip`
/// (the `Vary` header is on every response already).
pub fn gzip_body(headers: &mut HeaderMap, body: Bytes) -> Bytes {
    use std::io::Write;
    if body.len() < GZIP_MIN_SIZE || headers.contains_key(CONTENT_ENCODING) {
        return body;
    }
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4 + 64),
        flate2::Compression::default(),
    );
    let compressed = match enc.write_all(&body).and_then(|_| enc.finish()) {
        Ok(c) => c,
        Err(_) => return body,
    };
    headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    headers.remove(CONTENT_LENGTH);
    Bytes::from(compressed)
}

fn moved_permanently(target: &str) -> Response {
    let mut resp = Response::new(Body::from(format!(
        "<a href=\"{target}\">Moved Permanently</a>.\n\n"
    )));
    *resp.status_mut() = StatusCode::MOVED_PERMANENTLY;
    let headers = resp.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(target) {
        headers.insert(axum::http::header::LOCATION, v);
    }
    resp
}
