//! Rules for what a task writes into its allocation directory: templates,
//! artifacts, the dispatch payload file, and the path-escape check.

use super::gotext::parse_uint;
use crate::gofmt::{duration, quote};
use crate::model::{DispatchPayloadConfig, TaskArtifact, Template};
use crate::MultiError;

const ESCAPES: &str = "destination escapes allocation directory";

/// `PathEscapesAllocDir`: joins `/alloc-dir/alloc-id/<prefix>/<path>`,
/// resolves `.` and `..`, and reports whether the result, taken relative to
/// the allocation directory, starts with `..` (Nomad's prefix test also
/// flags a child named like `..x`).
pub(super) fn escapes_alloc_dir(prefix: &str, path: &str) -> bool {
    let mut parts: Vec<&str> = vec!["alloc-dir", "alloc-id"];
    for part in prefix.split('/').chain(path.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    match parts.as_slice() {
        ["alloc-dir", "alloc-id", first, ..] => first.starts_with(".."),
        ["alloc-dir", "alloc-id"] => false,
        _ => true,
    }
}

/// `Template.Validate`; all rules collected.
pub(super) fn template_errors(t: &Template) -> MultiError {
    let mut errors = MultiError::new();
    if t.source_path.is_empty() && t.embedded_tmpl.is_empty() {
        errors.push("Must specify a source path or have an embedded template");
    }
    if t.dest_path.is_empty() {
        errors.push("Must specify a destination for the template");
    }
    if escapes_alloc_dir("task", &t.dest_path) {
        errors.push(ESCAPES);
    }
    match t.change_mode.as_str() {
        "noop" | "restart" => {}
        "signal" => {
            if t.change_signal.is_empty() {
                errors.push("Must specify signal value when change mode is signal");
            }
            if t.envvars {
                errors.push("cannot use signals with env var templates");
            }
        }
        _ => {
            errors.push("Invalid change mode. Must be one of the following: noop, signal, restart")
        }
    }
    if t.splay < 0 {
        errors.push("Must specify positive splay value");
    }
    if !t.perms.is_empty() {
        if let Err(e) = parse_uint(&t.perms, 8, 12) {
            errors.push(format!("Failed to parse {} as octal: {e}", quote(&t.perms)));
        }
    }
    if t.vault_grace < 0 {
        errors.push(format!(
            "Vault grace must be greater than zero: {} < 0",
            duration(t.vault_grace)
        ));
    }
    errors
}

/// `TaskArtifact.Validate`. An empty mode counts as `any` (Nomad writes
/// that back into the job; the API defaults make it unreachable over HTTP).
pub(super) fn artifact_errors(a: &TaskArtifact) -> MultiError {
    let mut errors = MultiError::new();
    if a.getter_source.is_empty() {
        errors.push("source must be specified");
    }
    match a.getter_mode.as_str() {
        "" | "any" | "file" | "dir" => {}
        other => errors.push(format!(
            "invalid artifact mode {}; must be one of: any, file, dir",
            quote(other)
        )),
    }
    if escapes_alloc_dir("task", &a.relative_dest) {
        errors.push(ESCAPES);
    }
    if let Some(checksum) = a.getter_options.get("checksum") {
        if let Err(e) = checksum_error(checksum) {
            errors.push(e);
        }
    }
    errors
}

/// The first problem with a `type:value` checksum option.
fn checksum_error(raw: &str) -> Result<(), String> {
    let check = raw.trim();
    if check.is_empty() {
        return Err("checksum value cannot be empty".into());
    }
    let parts: Vec<&str> = check.split(':').collect();
    let [kind, value] = parts.as_slice() else {
        return Err(format!(
            "checksum must be given as \"type:value\"; got {}",
            quote(check)
        ));
    };
    let bytes = decode_hex(value).map_err(|e| format!("invalid checksum: {e}"))?;
    let expected = match *kind {
        "md5" => 16,
        "sha1" => 20,
        "sha256" => 32,
        "sha512" => 64,
        other => return Err(format!("unsupported checksum type: {other}")),
    };
    if bytes != expected {
        return Err(format!("invalid {kind} checksum: {value}"));
    }
    Ok(())
}

/// Length in bytes of a hex string, with Go 1.9's `hex.DecodeString` errors
/// (odd length is reported before bad characters).
fn decode_hex(s: &str) -> Result<usize, String> {
    if s.len() % 2 == 1 {
        return Err("encoding/hex: odd length hex string".into());
    }
    // Go reports the offending byte, not the character it belongs to.
    if let Some(bad) = s.bytes().find(|b| !b.is_ascii_hexdigit()) {
        return Err(format!(
            "encoding/hex: invalid byte: {}",
            go_unicode_verb(char::from(bad))
        ));
    }
    Ok(s.len() / 2)
}

/// Go's `%#U`: `U+0067 'g'`.
fn go_unicode_verb(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{c}'", c as u32)
    }
}

/// `DispatchPayloadConfig.Validate`: one error, not a list.
pub(super) fn dispatch_payload_error(d: &DispatchPayloadConfig) -> Option<&'static str> {
    escapes_alloc_dir("task/local/", &d.file).then_some(ESCAPES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_escapes() {
        let cases = [
            ("task", "local/file", false),
            ("task", "", false),
            ("task", "../alloc/data", false),
            ("task", "../../x", true),
            ("task", "/etc/passwd", false),
            ("task", "../../../alloc-id/x", true),
            ("task", "../..x", true), // Nomad's prefix test
            ("task/local/", "in.json", false),
            ("task/local/", "../../../escape", true),
            ("task/local/", "../../in", false),
        ];
        for (prefix, path, want) in cases {
            assert_eq!(escapes_alloc_dir(prefix, path), want, "{prefix} + {path}");
        }
    }

    fn template() -> Template {
        Template {
            embedded_tmpl: "x".into(),
            dest_path: "local/out".into(),
            change_mode: "restart".into(),
            splay: 5_000_000_000,
            perms: "0644".into(),
            ..Template::default()
        }
    }

    #[test]
    fn template_rules() {
        type Edit = fn(&mut Template);
        let cases: Vec<(Edit, Vec<&str>)> = vec![
            (|_| {}, vec![]),
            (
                |t| t.embedded_tmpl.clear(),
                vec!["Must specify a source path or have an embedded template"],
            ),
            (|t| t.dest_path.clear(), vec!["Must specify a destination for the template"]),
            (|t| t.dest_path = "../../../x".into(), vec![ESCAPES]),
            (
                |t| t.change_mode = "signal".into(),
                vec!["Must specify signal value when change mode is signal"],
            ),
            (
                |t| {
                    t.change_mode = "signal".into();
                    t.change_signal = "SIGHUP".into();
                    t.envvars = true;
                },
                vec!["cannot use signals with env var templates"],
            ),
            (
                |t| t.change_mode = "reload".into(),
                vec!["Invalid change mode. Must be one of the following: noop, signal, restart"],
            ),
            (|t| t.splay = -1, vec!["Must specify positive splay value"]),
            (
                |t| t.perms = "0999".into(),
                vec!["Failed to parse \"0999\" as octal: strconv.ParseUint: parsing \"0999\": invalid syntax"],
            ),
            (
                |t| t.perms = "77777".into(),
                vec!["Failed to parse \"77777\" as octal: strconv.ParseUint: parsing \"77777\": value out of range"],
            ),
            (
                |t| t.vault_grace = -1_000_000_000,
                vec!["Vault grace must be greater than zero: -1s < 0"],
            ),
        ];
        for (i, (edit, want)) in cases.into_iter().enumerate() {
            let mut t = template();
            edit(&mut t);
            assert_eq!(template_errors(&t).errors, want, "case {i}");
        }
    }

    fn artifact(checksum: Option<&str>) -> TaskArtifact {
        let mut a = TaskArtifact {
            getter_source: "https://example.com/file.tgz".into(),
            getter_mode: "any".into(),
            relative_dest: "local/".into(),
            ..TaskArtifact::default()
        };
        if let Some(c) = checksum {
            a.getter_options.insert("checksum".into(), c.into());
        }
        a
    }

    #[test]
    fn artifact_rules() {
        let md5 = "d41d8cd98f00b204e9800998ecf8427e";
        let cases: Vec<(TaskArtifact, Vec<String>)> = vec![
            (artifact(None), vec![]),
            (artifact(Some(&format!("md5:{md5}"))), vec![]),
            (
                TaskArtifact {
                    getter_source: String::new(),
                    ..artifact(None)
                },
                vec!["source must be specified".into()],
            ),
            (
                TaskArtifact {
                    getter_mode: String::new(),
                    ..artifact(None)
                },
                vec![],
            ),
            (
                TaskArtifact {
                    getter_mode: "tree".into(),
                    ..artifact(None)
                },
                vec!["invalid artifact mode \"tree\"; must be one of: any, file, dir".into()],
            ),
            (
                TaskArtifact {
                    relative_dest: "../../..".into(),
                    ..artifact(None)
                },
                vec![ESCAPES.into()],
            ),
            (
                artifact(Some("  ")),
                vec!["checksum value cannot be empty".into()],
            ),
            (
                artifact(Some(" md5 ")),
                vec!["checksum must be given as \"type:value\"; got \"md5\"".into()],
            ),
            (
                artifact(Some("md5:a:b")),
                vec!["checksum must be given as \"type:value\"; got \"md5:a:b\"".into()],
            ),
            (
                artifact(Some("md5:abc")),
                vec!["invalid checksum: encoding/hex: odd length hex string".into()],
            ),
            (
                artifact(Some("md5:zz")),
                vec!["invalid checksum: encoding/hex: invalid byte: U+007A 'z'".into()],
            ),
            (
                artifact(Some(&format!("crc32:{md5}"))),
                vec!["unsupported checksum type: crc32".into()],
            ),
            (
                artifact(Some("sha256:abcd")),
                vec!["invalid sha256 checksum: abcd".into()],
            ),
            // The first checksum problem is reported after the others.
            (
                TaskArtifact {
                    getter_source: String::new(),
                    ..artifact(Some("sha1:00"))
                },
                vec![
                    "source must be specified".into(),
                    "invalid sha1 checksum: 00".into(),
                ],
            ),
        ];
        for (i, (a, want)) in cases.into_iter().enumerate() {
            assert_eq!(artifact_errors(&a).errors, want, "case {i}");
        }
    }

    #[test]
    fn dispatch_payload_file() {
        let file = |f: &str| DispatchPayloadConfig { file: f.into() };
        assert_eq!(dispatch_payload_error(&file("input.json")), None);
        assert_eq!(dispatch_payload_error(&file("../../../x")), Some(ESCAPES));
    }
}
