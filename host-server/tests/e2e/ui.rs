//! `-ui-dir`: the job plan previewer's files under `/ui/`, nothing outside
//! the directory, and Nomad's plain 404 at `/` without it.

use std::path::PathBuf;

use crate::support::{temp_dir, Server};

fn web_demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web-demo")
}

#[test]
fn the_previewer_is_served_under_ui() {
    let dir = temp_dir("ui");
    let ui = web_demo();
    let s = Server::start_in(&dir, &["-ui-dir", ui.to_str().unwrap()]);

    let root = s.get("/");
    assert_eq!(root.status, 307, "{root:?}");
    assert_eq!(root.header("Location"), Some("/ui/"));

    let page = s.get("/ui/");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    let index = std::fs::read_to_string(ui.join("index.html")).unwrap();
    assert_eq!(page.body, index);
    assert_eq!(s.get("/ui").header("Location"), Some("/ui/"));

    let script = s.get("/ui/app.js");
    assert_eq!(script.status, 200);
    assert_eq!(
        script.header("Content-Type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        script.body,
        std::fs::read_to_string(ui.join("app.js")).unwrap()
    );

    for outside in ["/ui/../Cargo.toml", "/ui/%2e%2e/Cargo.toml", "/ui/nope.js"] {
        assert_eq!(s.get(outside).status, 404, "{outside}");
    }
    assert_eq!(s.call("PUT", "/ui/app.js", Some("x")).status, 405);
    // The API is unaffected.
    assert_eq!(s.get("/v1/jobs").status, 200);
    drop(s);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn without_ui_dir_the_root_is_gos_404() {
    let s = Server::start("no-ui");
    for path in ["/", "/ui/", "/ui/index.html"] {
        let r = s.get(path);
        assert_eq!(
            (r.status, r.body.as_str()),
            (404, "404 page not found\n"),
            "{path}"
        );
    }
}
