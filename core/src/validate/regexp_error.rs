//! Go's `regexp/syntax` error texts (`error parsing regexp: <code>:
//! `<expr>``) for patterns the regex crate rejects, as Nomad quotes them.

use regex_syntax::ast::{self, Ast, ErrorKind};

/// Go's `regexp.Compile` error text for `pattern`, or `None` when Go would
/// accept it. Patterns the regex crate rejects get the closest Go wording;
/// patterns it accepts but Go 1.9 refused (`a**`, `a{1001}`, `(?<n>x)`,
/// `(?x)`, `\<`) are reported as Go reports them.
pub(crate) fn go_regexp_compile_error(pattern: &str) -> Option<String> {
    if regex::Regex::new(pattern).is_err() {
        return Some(go_regexp_error(pattern));
    }
    let parsed = ast::parse::Parser::new().parse(pattern).ok()?;
    let mut found: Vec<(usize, &'static str, String)> = Vec::new();
    collect_go_only_errors(pattern, &parsed, &mut found);
    // Go stops at the first problem in reading order.
    let (_, code, expr) = found.into_iter().min_by_key(|(at, _, _)| *at)?;
    Some(format!("error parsing regexp: {code}: `{expr}`"))
}

/// Go's largest repetition count.
const GO_MAX_REPEAT: u32 = 1000;

fn collect_go_only_errors(
    pattern: &str,
    node: &Ast,
    found: &mut Vec<(usize, &'static str, String)>,
) {
    match node {
        Ast::Repetition(rep) => {
            let op = &rep.op.span;
            if let Ast::Repetition(inner) = rep.ast.as_ref() {
                found.push((
                    op.start.offset,
                    "invalid nested repetition operator",
                    slice(pattern, inner.op.span.start.offset, op.end.offset),
                ));
            }
            if let ast::RepetitionKind::Range(range) = &rep.op.kind {
                let too_big = match *range {
                    ast::RepetitionRange::Exactly(n) | ast::RepetitionRange::AtLeast(n) => {
                        n > GO_MAX_REPEAT
                    }
                    ast::RepetitionRange::Bounded(m, n) => m.max(n) > GO_MAX_REPEAT,
                };
                if too_big {
                    let text = slice(pattern, op.start.offset, op.end.offset);
                    let text = text.strip_suffix('?').unwrap_or(&text).to_string();
                    found.push((op.start.offset, "invalid repeat count", text));
                }
            }
            collect_go_only_errors(pattern, &rep.ast, found);
        }
        Ast::Group(group) => {
            match &group.kind {
                ast::GroupKind::CaptureName {
                    starts_with_p: false,
                    ..
                } => found.push((
                    group.span.start.offset,
                    "invalid or unsupported Perl syntax",
                    "(?<".to_string(),
                )),
                ast::GroupKind::NonCapturing(flags) => unsupported_flags(pattern, flags, found),
                _ => {}
            }
            collect_go_only_errors(pattern, &group.ast, found);
        }
        Ast::Flags(set) => unsupported_flags(pattern, &set.flags, found),
        Ast::Assertion(assertion) => {
            if matches!(
                assertion.kind,
                ast::AssertionKind::WordBoundaryStartAngle
                    | ast::AssertionKind::WordBoundaryEndAngle
            ) {
                found.push((
                    assertion.span.start.offset,
                    "invalid escape sequence",
                    slice(
                        pattern,
                        assertion.span.start.offset,
                        assertion.span.end.offset,
                    ),
                ));
            }
        }
        Ast::Alternation(alt) => alt
            .asts
            .iter()
            .for_each(|a| collect_go_only_errors(pattern, a, found)),
        Ast::Concat(concat) => concat
            .asts
            .iter()
            .for_each(|a| collect_go_only_errors(pattern, a, found)),
        _ => {}
    }
}

/// Go knows the flags `i`, `m`, `s` and `U` only.
fn unsupported_flags(
    pattern: &str,
    flags: &ast::Flags,
    found: &mut Vec<(usize, &'static str, String)>,
) {
    let bad = flags.items.iter().find(|item| {
        matches!(
            item.kind,
            ast::FlagsItemKind::Flag(
                ast::Flag::Unicode | ast::Flag::CRLF | ast::Flag::IgnoreWhitespace
            )
        )
    });
    if let Some(item) = bad {
        let at = item.span.start.offset;
        let open = pattern[..at.min(pattern.len())].rfind("(?").unwrap_or(at);
        found.push((
            at,
            "invalid or unsupported Perl syntax",
            slice(pattern, open, item.span.end.offset),
        ));
    }
}

/// The text Go's `regexp.Compile` would give for `pattern`, which the regex
/// crate failed to compile. The two engines accept nearly the same syntax;
/// where they differ the message is the closest Go error code.
fn go_regexp_error(pattern: &str) -> String {
    let (code, expr) = match ast::parse::Parser::new().parse(pattern) {
        Err(err) => describe(pattern, err.kind(), err.span()),
        Ok(parsed) => {
            match regex_syntax::hir::translate::Translator::new().translate(pattern, &parsed) {
                Err(err) => (
                    translation_code(err.kind()),
                    slice(pattern, err.span().start.offset, err.span().end.offset),
                ),
                Ok(_) => ("expression too large", pattern.to_string()),
            }
        }
    };
    format!("error parsing regexp: {code}: `{expr}`")
}

fn translation_code(kind: &regex_syntax::hir::ErrorKind) -> &'static str {
    use regex_syntax::hir::ErrorKind as H;
    match kind {
        H::UnicodePropertyNotFound | H::UnicodePropertyValueNotFound => {
            "invalid character class range"
        }
        _ => "invalid or unsupported Perl syntax",
    }
}

fn describe(pattern: &str, kind: &ErrorKind, span: &ast::Span) -> (&'static str, String) {
    let (start, end) = (span.start.offset, span.end.offset);
    let spanned = || slice(pattern, start, end);
    match kind {
        // Go reports the class from its `[` to the end of the pattern.
        ErrorKind::ClassUnclosed => ("missing closing ]", slice(pattern, start, pattern.len())),
        ErrorKind::GroupUnclosed => ("missing closing )", pattern.to_string()),
        ErrorKind::GroupUnopened => ("unexpected )", pattern.to_string()),
        ErrorKind::RepetitionMissing => (
            "missing argument to repetition operator",
            repetition_operator(pattern, start),
        ),
        ErrorKind::EscapeUnexpectedEof => {
            ("trailing backslash at end of expression", String::new())
        }
        ErrorKind::EscapeUnrecognized
        | ErrorKind::ClassEscapeInvalid
        | ErrorKind::EscapeHexEmpty
        | ErrorKind::EscapeHexInvalid
        | ErrorKind::EscapeHexInvalidDigit
        | ErrorKind::UnsupportedBackreference => ("invalid escape sequence", spanned()),
        ErrorKind::ClassRangeInvalid
        | ErrorKind::ClassRangeLiteral
        | ErrorKind::UnicodeClassInvalid => ("invalid character class range", spanned()),
        ErrorKind::RepetitionCountInvalid
        | ErrorKind::RepetitionCountUnclosed
        | ErrorKind::RepetitionCountDecimalEmpty
        | ErrorKind::DecimalEmpty
        | ErrorKind::DecimalInvalid => ("invalid repeat count", spanned()),
        ErrorKind::GroupNameDuplicate { .. }
        | ErrorKind::GroupNameEmpty
        | ErrorKind::GroupNameInvalid
        | ErrorKind::GroupNameUnexpectedEof => ("invalid named capture", spanned()),
        ErrorKind::NestLimitExceeded(_) => ("expression nests too deeply", pattern.to_string()),
        // Flags and look-around: Go quotes from the `(?` through the
        // offending character.
        _ => {
            let open = pattern[..start.min(pattern.len())]
                .rfind("(?")
                .unwrap_or(start);
            (
                "invalid or unsupported Perl syntax",
                slice(pattern, open, end.max(start + 1)),
            )
        }
    }
}

/// The repetition operator at `at` as Go quotes it: `*`, `+?`, `{2,}`.
fn repetition_operator(pattern: &str, at: usize) -> String {
    let rest = pattern.get(at..).unwrap_or("");
    let op_len = if rest.starts_with('{') {
        rest.find('}').map_or(rest.len(), |i| i + 1)
    } else {
        rest.chars().next().map_or(0, char::len_utf8)
    };
    let lazy = usize::from(rest[op_len..].starts_with('?'));
    rest[..op_len + lazy].to_string()
}

/// `pattern[start..end]`, clamped to the pattern and to char boundaries.
fn slice(pattern: &str, start: usize, end: usize) -> String {
    let end = end.min(pattern.len());
    let start = start.min(end);
    pattern.get(start..end).unwrap_or(pattern).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_only_rejections() {
        let cases = [
            ("^li", None),
            ("(a*)*", None),
            ("a{1000}", None),
            ("(?P<n>x)", None),
            ("(?i)x", None),
            ("(?sU-m:x)", None),
            ("a**", Some("invalid nested repetition operator: `**`")),
            ("xa*?+", Some("invalid nested repetition operator: `*?+`")),
            ("a{1001}", Some("invalid repeat count: `{1001}`")),
            ("a{2,1001}?", Some("invalid repeat count: `{2,1001}`")),
            ("(?<n>x)", Some("invalid or unsupported Perl syntax: `(?<`")),
            ("(?x) a", Some("invalid or unsupported Perl syntax: `(?x`")),
            (
                "(?iu:a)",
                Some("invalid or unsupported Perl syntax: `(?iu`"),
            ),
            ("\\<word", Some("invalid escape sequence: `\\<`")),
            // The first problem in reading order wins.
            ("(?x)a**", Some("invalid or unsupported Perl syntax: `(?x`")),
            ("[a-", Some("missing closing ]: `[a-`")),
        ];
        for (pattern, want) in cases {
            assert_eq!(
                go_regexp_compile_error(pattern),
                want.map(|w| format!("error parsing regexp: {w}")),
                "{pattern}"
            );
        }
    }

    #[test]
    fn go_texts_for_common_mistakes() {
        let cases = [
            ("[a-", "missing closing ]: `[a-`"),
            ("x[ab", "missing closing ]: `[ab`"),
            ("(abc", "missing closing ): `(abc`"),
            ("abc)", "unexpected ): `abc)`"),
            ("*a", "missing argument to repetition operator: `*`"),
            ("+?x", "missing argument to repetition operator: `+?`"),
            ("a\\", "trailing backslash at end of expression: ``"),
            ("\\q", "invalid escape sequence: `\\q`"),
            ("[z-a]", "invalid character class range: `z-a`"),
            ("a{5,2}", "invalid repeat count: `{5,2}`"),
            ("(?=x)", "invalid or unsupported Perl syntax: `(?=`"),
            ("(?z)", "invalid or unsupported Perl syntax: `(?z`"),
        ];
        for (pattern, want) in cases {
            assert!(regex::Regex::new(pattern).is_err(), "{pattern} should fail");
            assert_eq!(
                go_regexp_error(pattern),
                format!("error parsing regexp: {want}"),
                "{pattern}"
            );
        }
    }
}
