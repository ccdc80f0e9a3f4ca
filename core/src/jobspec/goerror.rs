//! Errors as Nomad's `jobspec` composes them: single texts and
//! go-multierror lists, prefixed block by block on the way out.

use super::scanner::Pos;
use crate::MultiError;

/// One error text with the source position it concerns (which the text
/// itself may not mention).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub text: String,
    pub pos: Pos,
}

/// A Go `error` value from the parser: a single error, or a
/// `*multierror.Error` (what an unknown key produces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoError {
    One(Located),
    Many(Vec<Located>),
}

impl GoError {
    pub fn new(pos: Pos, text: impl Into<String>) -> Self {
        GoError::One(Located {
            text: text.into(),
            pos,
        })
    }

    /// `multierror.Prefix(err, prefix)`: every item of a multi-error gets
    /// the prefix and it stays a multi-error; a single error becomes
    /// `"<prefix> <err>"`.
    pub fn prefix(self, prefix: &str) -> Self {
        let add = |l: Located| Located {
            text: format!("{prefix} {}", l.text),
            pos: l.pos,
        };
        match self {
            GoError::One(l) => GoError::One(add(l)),
            GoError::Many(v) => GoError::Many(v.into_iter().map(add).collect()),
        }
    }

    /// `fmt.Errorf(format, err)` with the error's text at `{}`: the result
    /// is a single error.
    pub fn wrap(self, before: &str) -> Self {
        let pos = self.pos();
        GoError::new(pos, format!("{before}{}", self.text()))
    }

    /// `err.Error()`.
    pub fn text(&self) -> String {
        match self {
            GoError::One(l) => l.text.clone(),
            GoError::Many(v) => MultiError {
                errors: v.iter().map(|l| l.text.clone()).collect(),
            }
            .render()
            .unwrap_or_default(),
        }
    }

    /// Where the (first) error happened.
    pub fn pos(&self) -> Pos {
        match self {
            GoError::One(l) => l.pos,
            GoError::Many(v) => v.first().map(|l| l.pos).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_compose_like_go_multierror() {
        let at = Pos {
            offset: 3,
            line: 2,
            column: 4,
        };
        let many = GoError::Many(vec![
            Located {
                text: "invalid key: a".into(),
                pos: at,
            },
            Located {
                text: "invalid key: b".into(),
                pos: Pos::default(),
            },
        ]);
        let e = many.prefix("'t', artifact ->").prefix("group:");
        assert_eq!(
            e.text(),
            "2 error(s) occurred:\n\n* group: 't', artifact -> invalid key: a\n* group: 't', artifact -> invalid key: b"
        );
        assert_eq!(e.pos(), at);
        let one = GoError::new(at, "boom")
            .prefix("x ->")
            .wrap("error parsing 'job': ");
        assert_eq!(one.text(), "error parsing 'job': x -> boom");
        assert_eq!(one, GoError::new(at, "error parsing 'job': x -> boom"));
    }
}
