//! The job plan previewer (`web-demo/`, built by `wasm/build-web.sh`),
//! served read-only under `/ui/` when the agent runs with `-ui-dir`. The
//! previewer computes everything in the browser; the server only hands out
//! its files. `/` redirects to `/ui/` then, as Nomad's UI does.

use std::path::{Component, Path, PathBuf};

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{App, Req};

/// `GET /ui/…`: a file of the previewer directory, `index.html` for a
/// directory. Anything outside the directory, or not a plain file, is 404.
pub async fn serve(State(app): State<Arc<App>>, req: Req) -> Response {
    let Some(dir) = app.agent.ui_dir.as_deref() else {
        return not_found();
    };
    let method = req.method;
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, "Method not allowed\n").into_response();
    }
    let rest = req.path.strip_prefix("/ui").unwrap_or_default();
    if rest.is_empty() {
        return redirect("/ui/");
    }
    let Some(path) = resolve(dir, rest) else {
        return not_found();
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let len = bytes.len();
            let body = if method == Method::HEAD {
                Body::empty()
            } else {
                Body::from(bytes)
            };
            let mut resp = Response::new(body);
            let headers = resp.headers_mut();
            headers.insert(header::CONTENT_TYPE, content_type(&path).parse().unwrap());
            headers.insert(header::CONTENT_LENGTH, len.into());
            headers.insert(header::CACHE_CONTROL, "no-cache".parse().unwrap());
            resp
        }
        Err(_) => not_found(),
    }
}

/// `GET /`: to the previewer when there is one, else Go's 404.
pub async fn root(State(app): State<Arc<App>>, _req: Req) -> Response {
    if app.agent.ui_dir.is_some() {
        redirect("/ui/")
    } else {
        not_found()
    }
}

/// The file `rest` (a URL path starting with `/`) names inside `dir`:
/// only normal components, so `..`, absolute paths and empty segments
/// cannot leave the directory.
fn resolve(dir: &Path, rest: &str) -> Option<PathBuf> {
    let mut path = dir.to_path_buf();
    let relative = rest.trim_start_matches('/');
    for part in relative.split('/').filter(|p| !p.is_empty()) {
        let mut components = Path::new(part).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(c)), None) if !part.contains('\\') => path.push(c),
            _ => return None,
        }
    }
    if relative.is_empty() || relative.ends_with('/') || path.is_dir() {
        path.push("index.html");
    }
    path.is_file().then_some(path)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("wasm") => "application/wasm",
        Some("svg") => "image/svg+xml",
        Some("ts") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn redirect(to: &str) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    resp.headers_mut()
        .insert(header::LOCATION, to.parse().unwrap());
    resp
}

fn not_found() -> Response {
    super::ApiError::NoRoute.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("caravan-ui-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pkg")).unwrap();
        std::fs::write(dir.join("index.html"), "<p>hi</p>").unwrap();
        std::fs::write(dir.join("pkg/caravan_bg.wasm"), b"\0asm").unwrap();
        dir
    }

    #[test]
    fn files_inside_the_directory_resolve() {
        let dir = tree();
        assert_eq!(resolve(&dir, "/"), Some(dir.join("index.html")));
        assert_eq!(resolve(&dir, "/index.html"), Some(dir.join("index.html")));
        assert_eq!(
            resolve(&dir, "/pkg/caravan_bg.wasm"),
            Some(dir.join("pkg/caravan_bg.wasm"))
        );
        assert_eq!(resolve(&dir, "/pkg/missing.js"), None);
        assert_eq!(
            resolve(&dir, "/pkg"),
            None,
            "a directory without index.html"
        );
    }

    #[test]
    fn nothing_outside_the_directory_resolves() {
        let dir = tree();
        std::fs::write(dir.parent().unwrap().join("caravan-ui-secret"), "x").unwrap();
        for bad in [
            "/../caravan-ui-secret",
            "/pkg/../../caravan-ui-secret",
            "/./index.html",
            "/..",
            "/pkg\\..\\index.html",
        ] {
            assert_eq!(resolve(&dir, bad), None, "{bad}");
        }
    }

    #[test]
    fn module_scripts_and_wasm_get_the_types_browsers_require() {
        assert_eq!(
            content_type(Path::new("a/caravan.js")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("x.wasm")), "application/wasm");
        assert_eq!(
            content_type(Path::new("index.html")),
            "text/html; charset=utf-8"
        );
    }
}
