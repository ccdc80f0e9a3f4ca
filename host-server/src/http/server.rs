//! Connections: a lean HTTP/1.1 driver for the plain requests every client
//! sends (`GET`/`PUT`/`POST`/`DELETE` with a `Content-Length` body or
//! none), and hyper for everything else on that connection from then on.
//!
//! Why not hyper for all: a parked blocking query must cost little (hyper
//! keeps an 8 KiB read buffer per connection, more than the rest of a
//! watcher together), and the hot reads must cost few cycles. The lean
//! driver holds no buffer while a request is in the handler and writes
//! each response with one `write` call. Responses are the same on both
//! paths: the same headers (title-cased as Go writes them), `Content-Length`
//! and `Date`, and gzip when the client accepts it.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use bytes::{Buf, BytesMut};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::request::{Req, MAX_BODY};
use super::{response, route, App};
use crate::cluster::Park;

/// Largest request head the lean driver reads; a longer one goes to hyper
/// (which answers 431 as before).
const MAX_HEAD: usize = 64 * 1024;
/// Header lines parsed at most; more go to hyper.
const MAX_HEADERS: usize = 64;
/// First read of a request head.
const READ_CHUNK: usize = 2048;
/// Bodies up to this size are copied behind the head into one write.
const INLINE_BODY: usize = 64 * 1024;

/// Accepts connections on `listener` until `shutdown` turns true; the open
/// connections end with the runtime.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.title_case_headers(true);
    let builder = Arc::new(builder);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    eprintln!("caravan: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        // Open connections are not told of the shutdown (a watch on it
        // would be ~240 bytes in every connection's task, parked watchers
        // included): they end with the runtime when the agent returns.
        tokio::spawn(connection(stream, app.clone(), builder.clone()));
    }
}

/// What the lean driver needs from a request head.
struct Head {
    method: Method,
    /// The request target as sent (`/v1/job/x?index=3`).
    target: String,
    content_length: usize,
    close: bool,
    gzip: bool,
    /// Bytes the head took in the buffer.
    len: usize,
}

enum Parsed {
    Head(Head),
    /// More bytes needed.
    Partial,
    /// Not for the lean driver: hyper takes the connection.
    Other,
}

fn parse_head(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Other,
    };
    let method = match req.method {
        Some("GET") => Method::GET,
        Some("PUT") => Method::PUT,
        Some("POST") => Method::POST,
        Some("DELETE") => Method::DELETE,
        _ => return Parsed::Other,
    };
    let Some(target) = req.path.filter(|p| p.starts_with('/')) else {
        return Parsed::Other;
    };
    if req.version != Some(1) {
        return Parsed::Other;
    }
    let mut head = Head {
        method,
        target: target.to_string(),
        content_length: 0,
        close: false,
        gzip: false,
        len,
    };
    let mut seen_length = false;
    for h in req.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("content-length") {
            let Some(n) = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
            else {
                return Parsed::Other;
            };
            if seen_length && n != head.content_length {
                return Parsed::Other;
            }
            seen_length = true;
            head.content_length = n;
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            || name.eq_ignore_ascii_case("expect")
            || name.eq_ignore_ascii_case("upgrade")
        {
            return Parsed::Other;
        } else if name.eq_ignore_ascii_case("connection") {
            head.close |= has_token(h.value, "close");
        } else if name.eq_ignore_ascii_case("accept-encoding") {
            head.gzip |= response::accepts_gzip(h.value);
        }
    }
    if head.content_length > MAX_BODY {
        return Parsed::Other;
    }
    Parsed::Head(head)
}

fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// One connection: lean requests until one that is not, then hyper.
async fn connection(
    mut stream: TcpStream,
    app: Arc<App>,
    builder: Arc<hyper::server::conn::http1::Builder>,
) {
    let mut buf = BytesMut::new();
    loop {
        let head = loop {
            if !buf.is_empty() {
                match parse_head(&buf) {
                    Parsed::Head(h) => break h,
                    Parsed::Partial if buf.len() < MAX_HEAD => {}
                    // Boxed: hyper's connection state would otherwise be
                    // part of every lean connection's task.
                    _ => return Box::pin(hand_off(stream, buf.freeze(), app, &builder)).await,
                }
            }
            if buf.capacity() - buf.len() < READ_CHUNK / 2 {
                buf.reserve(READ_CHUNK);
            }
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        };
        buf.advance(head.len);
        while buf.len() < head.content_length {
            buf.reserve(head.content_length - buf.len());
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
        // An empty body must not share (and so keep) the read buffer.
        let body = match head.content_length {
            0 => Bytes::new(),
            n => buf.split_to(n).freeze(),
        };
        if buf.is_empty() {
            // Hold no buffer while the handler runs (a parked blocking
            // query may wait for minutes).
            buf = BytesMut::new();
        }
        let (raw_path, query) = match head.target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (head.target.as_str(), None),
        };
        let resp = answer(&app, &head.method, raw_path, query, body).await;
        // Boxed: its state would otherwise be part of every parked
        // connection's task.
        if Box::pin(write_response(&mut stream, resp, head.gzip, head.close))
            .await
            .is_err()
            || head.close
        {
            return;
        }
    }
}

/// Runs a request to its answer. A blocking read that has to wait comes
/// back as a [`Park`] (its handler and everything it held are gone); the
/// connection waits on that alone, then runs the request again with the
/// deadline of its first run.
async fn answer(
    app: &Arc<App>,
    method: &Method,
    raw_path: &str,
    query: Option<&str>,
    body: Bytes,
) -> Response {
    let mut resume = None;
    loop {
        let mut req = Req::new(method.clone(), raw_path, query.unwrap_or(""), body.clone());
        req.resume = resume;
        // Scoped: the response would otherwise be kept in the frame while
        // the request waits.
        let park = {
            let mut resp = route(app.clone(), raw_path, query, req).await;
            match resp.extensions_mut().remove::<Park>() {
                Some(park) => park,
                None => return resp,
            }
        };
        // Boxed: the wait's timer would otherwise be part of every
        // connection's task, parked or not.
        resume = Some(Box::pin(park.wait()).await);
    }
}

/// Serializes `resp` as hyper does with title-cased headers.
async fn write_response(
    stream: &mut TcpStream,
    resp: Response,
    gzip: bool,
    close: bool,
) -> io::Result<()> {
    let (mut parts, body) = resp.into_parts();
    let mut body = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(io::Error::other)?;
    if gzip {
        body = response::gzip_body(&mut parts.headers, body);
    }
    let mut out = Vec::with_capacity(256 + body.len().min(INLINE_BODY));
    write_status(&mut out, parts.status);
    write_headers(&mut out, &parts.headers);
    if !parts
        .headers
        .contains_key(axum::http::header::CONTENT_LENGTH)
    {
        out.extend_from_slice(b"Content-Length: ");
        out.extend_from_slice(body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"Date: ");
    http_date(&mut out);
    out.extend_from_slice(b"\r\n\r\n");
    if body.len() <= INLINE_BODY {
        out.extend_from_slice(&body);
        stream.write_all(&out).await
    } else {
        stream.write_all(&out).await?;
        stream.write_all(&body).await
    }
}

fn write_status(out: &mut Vec<u8>, status: StatusCode) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("<none>").as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Header lines with Go's canonical (title-case) names.
fn write_headers(out: &mut Vec<u8>, headers: &HeaderMap<HeaderValue>) {
    for (name, value) in headers {
        let mut upper = true;
        for &b in name.as_str().as_bytes() {
            out.push(if upper { b.to_ascii_uppercase() } else { b });
            upper = b == b'-';
        }
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// The `Date` value (IMF-fixdate), formatted once per second per thread.
fn http_date(out: &mut Vec<u8>) {
    use std::cell::RefCell;
    thread_local! {
        static CACHE: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != now {
            let t = chrono::DateTime::from_timestamp(now as i64, 0).unwrap_or_default();
            c.1 = t.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
            c.0 = now;
        }
        out.extend_from_slice(c.1.as_bytes());
    });
}

/// Gives the connection, with the bytes read so far, to hyper.
async fn hand_off(
    stream: TcpStream,
    read: Bytes,
    app: Arc<App>,
    builder: &hyper::server::conn::http1::Builder,
) {
    let io = Rewind {
        read,
        inner: stream,
    };
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let app = app.clone();
        async move { Ok::<_, Infallible>(hyper_request(app, req).await) }
    });
    let _ = builder.serve_connection(TokioIo::new(io), service).await;
}

async fn hyper_request(app: Arc<App>, req: hyper::Request<hyper::body::Incoming>) -> Response {
    let gzip = req
        .headers()
        .get_all(axum::http::header::ACCEPT_ENCODING)
        .iter()
        .any(|v| response::accepts_gzip(v.as_bytes()));
    let (parts, body) = req.into_parts();
    let raw_path = parts.uri.path();
    let query = parts.uri.query();
    let resp = match axum::body::to_bytes(Body::new(body), MAX_BODY).await {
        Ok(body) => answer(&app, &parts.method, raw_path, query, body).await,
        Err(_) => axum::response::IntoResponse::into_response(super::ApiError::BadRequest(
            "http: request body too large".into(),
        )),
    };
    if !gzip {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => {
            let body = response::gzip_body(&mut parts.headers, body);
            Response::from_parts(parts, Body::from(body))
        }
        Err(e) => {
            let mut resp = Response::new(Body::from(e.to_string()));
            *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            resp
        }
    }
}

/// A stream that first yields bytes already read from it.
struct Rewind {
    read: Bytes,
    inner: TcpStream,
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.read.is_empty() {
            let n = self.read.len().min(buf.remaining());
            buf.put_slice(&self.read[..n]);
            self.read.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &str) -> Option<Head> {
        match parse_head(raw.as_bytes()) {
            Parsed::Head(h) => Some(h),
            _ => None,
        }
    }

    #[test]
    fn plain_requests_stay_lean() {
        let h = head("GET /v1/job/a%2Fb?index=3 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, deflate\r\n\r\n")
            .expect("lean");
        assert_eq!(h.method, Method::GET);
        assert_eq!(h.target, "/v1/job/a%2Fb?index=3");
        assert!(h.gzip && !h.close);
        let h = head(
            "PUT /v1/jobs HTTP/1.1\r\nContent-Length: 12\r\nConnection: keep-alive, close\r\n\r\n",
        )
        .expect("lean");
        assert_eq!((h.content_length, h.close), (12, true));
        assert!(matches!(
            parse_head(b"GET /v1/jobs HTTP/1.1\r\nHost: x\r\n"),
            Parsed::Partial
        ));
    }

    #[test]
    fn anything_else_goes_to_hyper() {
        for raw in [
            "POST /v1/jobs HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST /v1/jobs HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
            "GET /v1/jobs HTTP/1.0\r\n\r\n",
            "HEAD /v1/jobs HTTP/1.1\r\n\r\n",
            "OPTIONS * HTTP/1.1\r\n\r\n",
            "GET http://x/v1/jobs HTTP/1.1\r\n\r\n",
            "PUT /v1/jobs HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "PUT /v1/jobs HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            "GARBAGE\r\n\r\n",
        ] {
            assert!(matches!(parse_head(raw.as_bytes()), Parsed::Other), "{raw}");
        }
    }

    #[test]
    fn header_names_are_title_cased() {
        let mut h = HeaderMap::new();
        h.insert("x-nomad-knownleader", HeaderValue::from_static("true"));
        h.insert("content-type", HeaderValue::from_static("application/json"));
        let mut out = Vec::new();
        write_headers(&mut out, &h);
        assert_eq!(
            String::from_utf8(out).expect("ascii"),
            "X-Nomad-Knownleader: true\r\nContent-Type: application/json\r\n"
        );
        let mut out = Vec::new();
        write_status(&mut out, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(out, b"HTTP/1.1 405 Method Not Allowed\r\n");
    }
}
