//! Go's `regexp/syntax` error texts (`error parsing regexp: <code>:
//! `<expr>``) for patterns the regex crate rejects, as Nomad quotes them.

use regex_syntax::ast::{self, ErrorKind};

/// The text Go's `regexp.Compile` would give for `pattern`, which the regex
/// crate failed to compile. The two engines accept nearly the same syntax;
/// where they differ the message is the closest Go error code.
pub(crate) fn go_regexp_error(pattern: &str) -> String {
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
