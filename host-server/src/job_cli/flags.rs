//! Command flags the way Go's `flag` package reads them (`-x`, `--x`,
//! `-x=v`, `-x v` for non-bools, `--` ends flags), except that flags may
//! also follow the file argument.

/// One flag a command accepts.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    pub name: &'static str,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `-x`, `-x=true|false|1|0|t|f…`; never takes the next argument.
    Bool,
    /// `-x value` or `-x=value`.
    Text,
}

impl Flag {
    pub const fn bool(name: &'static str) -> Flag {
        Flag {
            name,
            kind: Kind::Bool,
        }
    }

    pub const fn text(name: &'static str) -> Flag {
        Flag {
            name,
            kind: Kind::Text,
        }
    }
}

/// The flags given (last one wins) and the remaining arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    values: Vec<(&'static str, String)>,
    pub args: Vec<String>,
}

impl Parsed {
    /// A text flag's value, if given.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A bool flag's value, or `default` when not given.
    pub fn bool(&self, name: &str, default: bool) -> bool {
        self.text(name).map_or(default, |v| v == "true")
    }
}

/// Reads `args` against `spec`; errors carry Go's `flag` texts.
pub fn parse(args: &[String], spec: &[Flag]) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            parsed.args.extend(args[i..].iter().cloned());
            break;
        }
        let Some(body) = arg.strip_prefix('-').filter(|b| !b.is_empty()) else {
            parsed.args.push(arg.clone());
            continue;
        };
        let body = body.strip_prefix('-').unwrap_or(body);
        if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
            return Err(format!("bad flag syntax: {arg}"));
        }
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let flag = spec
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| format!("flag provided but not defined: -{name}"))?;
        let value = match (flag.kind, inline) {
            (Kind::Bool, None) => "true".to_string(),
            (Kind::Bool, Some(v)) => match parse_go_bool(v) {
                Some(b) => b.to_string(),
                None => {
                    return Err(format!(
                        "invalid boolean value {} for -{name}: strconv.ParseBool: parsing {}: invalid syntax",
                        caravan_core::gofmt::quote(v),
                        caravan_core::gofmt::quote(v)
                    ))
                }
            },
            (Kind::Text, Some(v)) => v.to_string(),
            (Kind::Text, None) => {
                let v = args
                    .get(i)
                    .ok_or_else(|| format!("flag needs an argument: -{name}"))?;
                i += 1;
                v.clone()
            }
        };
        parsed.values.push((flag.name, value));
    }
    Ok(parsed)
}

/// `strconv.ParseBool`.
fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &[Flag] = &[
        Flag::bool("diff"),
        Flag::bool("verbose"),
        Flag::text("address"),
    ];

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn go_forms_and_flags_after_the_file() {
        let p = parse(
            &args("-diff=false job.nomad --address http://x:1 -verbose"),
            SPEC,
        )
        .expect("parses");
        assert_eq!(p.args, vec!["job.nomad"]);
        assert!(!p.bool("diff", true));
        assert!(p.bool("verbose", false));
        assert_eq!(p.text("address"), Some("http://x:1"));
        let p = parse(&args("-address=a -address=b - -- -diff"), SPEC).expect("parses");
        assert_eq!(p.text("address"), Some("b"));
        assert_eq!(p.args, vec!["-", "-diff"]);
        assert!(p.bool("diff", true));
        assert_eq!(
            parse(&args("-diff=T"), SPEC).map(|p| p.bool("diff", false)),
            Ok(true)
        );
    }

    #[test]
    fn errors_have_gos_texts() {
        assert_eq!(
            parse(&args("-bogus"), SPEC),
            Err("flag provided but not defined: -bogus".to_string())
        );
        assert_eq!(
            parse(&args("job -address"), SPEC),
            Err("flag needs an argument: -address".to_string())
        );
        assert_eq!(
            parse(&args("-diff=maybe"), SPEC),
            Err("invalid boolean value \"maybe\" for -diff: strconv.ParseBool: parsing \"maybe\": invalid syntax".to_string())
        );
        assert_eq!(
            parse(&args("---diff"), SPEC),
            Err("bad flag syntax: ---diff".to_string())
        );
    }
}
