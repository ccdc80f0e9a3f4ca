//! Nomad's CLI colours (mitchellh/colorstring): `[green]`-style markup
//! turned into ANSI codes, or stripped when colour is off.

/// The markup names colorstring knows and their SGR codes. Any other
/// bracketed word is left in the text as it is.
const COLORS: &[(&str, &str)] = &[
    ("default", "39"),
    ("_default_", "49"),
    ("black", "30"),
    ("red", "31"),
    ("green", "32"),
    ("yellow", "33"),
    ("blue", "34"),
    ("magenta", "35"),
    ("cyan", "36"),
    ("light_gray", "37"),
    ("dark_gray", "90"),
    ("light_red", "91"),
    ("light_green", "92"),
    ("light_yellow", "93"),
    ("light_blue", "94"),
    ("light_magenta", "95"),
    ("light_cyan", "96"),
    ("white", "97"),
    ("_black_", "40"),
    ("_red_", "41"),
    ("_green_", "42"),
    ("_yellow_", "43"),
    ("_blue_", "44"),
    ("_magenta_", "45"),
    ("_cyan_", "46"),
    ("_light_gray_", "47"),
    ("_dark_gray_", "100"),
    ("_light_red_", "101"),
    ("_light_green_", "102"),
    ("_light_yellow_", "103"),
    ("_light_blue_", "104"),
    ("_light_magenta_", "105"),
    ("_light_cyan_", "106"),
    ("_white_", "107"),
    ("bold", "1"),
    ("dim", "2"),
    ("underline", "4"),
    ("blink_slow", "5"),
    ("blink_fast", "6"),
    ("invert", "7"),
    ("hidden", "8"),
    ("reset", "0"),
    ("reset_bold", "21"),
];

/// colorstring's `Colorize` with `Reset: true`, as Nomad's commands use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colorize {
    /// Strip the markup instead of emitting codes (`-no-color`, or stdout
    /// is not a terminal).
    pub disable: bool,
}

impl Colorize {
    /// Replaces every known `[name]` with its code (or nothing when
    /// disabled) and, if any was found and colour is on, appends a reset.
    /// Like colorstring, this applies to text from the server too: a
    /// `Meta[red]` field name loses its `[red]`, as it does in Nomad.
    pub fn color(&self, v: &str) -> String {
        let mut out = String::with_capacity(v.len() + 16);
        let mut colored = false;
        let mut rest = v;
        while let Some(open) = rest.find('[') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let name_len = after
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
                .count();
            if name_len > 0 && after.as_bytes().get(name_len) == Some(&b']') {
                let name = &after[..name_len];
                match COLORS.iter().find(|(n, _)| *n == name) {
                    Some((_, code)) => {
                        colored = true;
                        if !self.disable {
                            out.push_str("\x1b[");
                            out.push_str(code);
                            out.push('m');
                        }
                    }
                    None => {
                        out.push('[');
                        out.push_str(name);
                        out.push(']');
                    }
                }
                rest = &after[name_len + 1..];
            } else {
                out.push('[');
                rest = after;
            }
        }
        out.push_str(rest);
        if colored && !self.disable {
            out.push_str("\x1b[0m");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ON: Colorize = Colorize { disable: false };
    const OFF: Colorize = Colorize { disable: true };

    #[test]
    fn known_names_become_codes_and_a_final_reset() {
        assert_eq!(
            ON.color("[bold]Job: \"x\"[reset] ok"),
            "\x1b[1mJob: \"x\"\x1b[0m ok\x1b[0m"
        );
        assert_eq!(
            ON.color("[light_yellow]+/-[reset] "),
            "\x1b[93m+/-\x1b[0m \x1b[0m"
        );
        // No markup: no reset either.
        assert_eq!(ON.color("plain"), "plain");
    }

    #[test]
    fn disabled_strips_known_names_and_keeps_the_rest() {
        assert_eq!(
            OFF.color("[green]+[reset] Env[KEY]: [Red] [[yellow]x] [a b] ["),
            "+ Env[KEY]: [Red] [x] [a b] ["
        );
        // colorstring's quirk, kept: a known name inside a value is markup.
        assert_eq!(OFF.color("Meta[red]: \"1\""), "Meta: \"1\"");
        assert_eq!(ON.color("Env[KEY]"), "Env[KEY]");
    }
}
