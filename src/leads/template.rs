//! Message templates for lead follow-ups (seed 001): the email, SMS and
//! WhatsApp texts and the provider request bodies. A template is text with
//! `{name}` placeholders (`name` is `[A-Za-z0-9_]+`); `{{` and `}}` stand for
//! literal braces, so a JSON body template reads `{{"to": "{phone}"}}`.
//!
//! [`check`] is strict and runs when the configuration loads, naming what is
//! wrong; [`render`] is lenient and total, because by the time a lead is
//! being contacted a template can no longer be fixed: whatever does not
//! parse is copied as it stands and an unknown variable renders empty.
//! Pure: no I/O.

use std::collections::BTreeMap;

/// How a value is escaped where it is substituted. The template's own text
/// is never escaped: it is the operator's, and may be HTML or JSON itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// Plain text: SMS text, email subjects and text bodies.
    None,
    /// HTML text or a quoted attribute value: `& < > " '`.
    Html,
    /// The inside of a JSON string: the placeholder must stand between
    /// quotes in the template, as in `"text": "{message}"`.
    Json,
}

/// One piece of a parsed template.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// Where the template does not parse, for [`check`]'s message.
#[derive(Debug, PartialEq, Eq)]
struct Malformed {
    /// Byte offset of the offending brace.
    at: usize,
    what: &'static str,
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Splits a template into pieces. On malformed input it still yields every
/// piece (the offending brace as text) and reports the first problem, so one
/// walk serves both the strict check and the lenient render.
fn parse(template: &str) -> (Vec<Piece<'_>>, Option<Malformed>) {
    let bytes = template.as_bytes();
    let mut pieces = Vec::new();
    let mut problem = None;
    let mut text_start = 0;
    let mut i = 0;
    // Every index we slice at is a brace or just past one (or past an ASCII
    // name), so slices always fall on UTF-8 boundaries.
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                pieces.push(Piece::Text(&template[text_start..i + 1]));
                i += 2;
                text_start = i;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                pieces.push(Piece::Text(&template[text_start..i + 1]));
                i += 2;
                text_start = i;
            }
            b'{' => {
                let name_len = bytes[i + 1..].iter().take_while(|b| is_name_byte(**b)).count();
                if name_len > 0 && bytes.get(i + 1 + name_len) == Some(&b'}') {
                    pieces.push(Piece::Text(&template[text_start..i]));
                    pieces.push(Piece::Var(&template[i + 1..i + 1 + name_len]));
                    i += name_len + 2;
                    text_start = i;
                } else {
                    let what = if bytes[i + 1..].contains(&b'}') {
                        "a placeholder name is [A-Za-z0-9_]+; write {{ for a literal {"
                    } else {
                        "unclosed {; write {{ for a literal {"
                    };
                    problem.get_or_insert(Malformed { at: i, what });
                    i += 1;
                }
            }
            b'}' => {
                problem.get_or_insert(Malformed { at: i, what: "unmatched }; write }} for a literal }" });
                i += 1;
            }
            _ => i += 1,
        }
    }
    pieces.push(Piece::Text(&template[text_start..]));
    pieces.retain(|p| *p != Piece::Text(""));
    (pieces, problem)
}

/// Checks a template when the configuration loads: braces must pair up and
/// every placeholder must be one of `known`. The message names the problem
/// and where it is (a character position, counting from 1).
pub fn check(template: &str, known: &[&str]) -> Result<(), String> {
    let (pieces, problem) = parse(template);
    if let Some(m) = problem {
        let column = template[..m.at].chars().count() + 1;
        return Err(format!("template: {} (at character {column})", m.what));
    }
    for p in pieces {
        if let Piece::Var(name) = p
            && !known.contains(&name)
        {
            let mut names = known.to_vec();
            names.sort_unstable();
            return Err(format!("template: unknown variable {{{name}}}; known: {}", names.join(", ")));
        }
    }
    Ok(())
}

/// Renders a template. Never fails and never panics: an unknown variable
/// renders empty and a brace that does not parse is copied as it stands.
pub fn render(template: &str, vars: &BTreeMap<String, String>, esc: Escape) -> String {
    let (pieces, _) = parse(template);
    let mut out = String::with_capacity(template.len() + 64);
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(name) => {
                if let Some(v) = vars.get(name) {
                    escape_into(&mut out, v, esc);
                }
            }
        }
    }
    out
}

fn escape_into(out: &mut String, value: &str, esc: Escape) {
    match esc {
        Escape::None => out.push_str(value),
        Escape::Html => {
            for c in value.chars() {
                match c {
                    '&' => out.push_str("&amp;"),
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    '"' => out.push_str("&quot;"),
                    '\'' => out.push_str("&#39;"),
                    c => out.push(c),
                }
            }
        }
        Escape::Json => {
            for c in value.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn placeholders_and_literal_braces() {
        let v = vars(&[("name", "Dana"), ("link", "https://x.test/q/1")]);
        assert_eq!(render("Hi {name}, see {link}", &v, Escape::None), "Hi Dana, see https://x.test/q/1");
        assert_eq!(render("{{name}} is {name}", &v, Escape::None), "{name} is Dana");
        assert_eq!(render("{{{name}}}", &v, Escape::None), "{Dana}");
        assert_eq!(render("{name}{name}", &v, Escape::None), "DanaDana");
        assert_eq!(render("", &v, Escape::None), "");
        assert_eq!(render("שלום {name}, привет", &v, Escape::None), "שלום Dana, привет");
    }

    #[test]
    fn unknown_variables_render_empty_and_bad_braces_stay() {
        let v = vars(&[("a", "1")]);
        assert_eq!(render("x{nope}y", &v, Escape::None), "xy");
        assert_eq!(render("{ a }", &v, Escape::None), "{ a }");
        assert_eq!(render("a}b{", &v, Escape::None), "a}b{");
        assert_eq!(render("{a-b}{a}", &v, Escape::None), "{a-b}1");
        assert_eq!(render("{é}{a}", &v, Escape::None), "{é}1");
    }

    #[test]
    fn check_names_the_problem() {
        let known = ["name", "link"];
        assert_eq!(check("Hi {name} {{ok}} {link}", &known), Ok(()));
        assert_eq!(check("no placeholders", &known), Ok(()));
        let e = check("Hi {nmae}", &known).unwrap_err();
        assert!(e.contains("{nmae}") && e.contains("link, name"), "{e}");
        let e = check("Hi {name", &known).unwrap_err();
        assert!(e.contains("unclosed {") && e.contains("character 4"), "{e}");
        let e = check("שלום }", &known).unwrap_err();
        assert!(e.contains("unmatched }") && e.contains("character 6"), "{e}");
        let e = check("{na me}", &known).unwrap_err();
        assert!(e.contains("[A-Za-z0-9_]+"), "{e}");
        let e = check("{}", &known).unwrap_err();
        assert!(e.contains("[A-Za-z0-9_]+"), "{e}");
        // A JSON body needs its own braces doubled.
        assert!(check(r#"{"to": "{name}"}"#, &known).is_err());
        assert_eq!(check(r#"{{"to": "{name}"}}"#, &known), Ok(()));
    }

    #[test]
    fn html_escaping() {
        let v = vars(&[("n", r#"<b>"Tom" & 'Jerry'</b>"#)]);
        assert_eq!(
            render("<p title=\"{n}\">{n}</p>", &v, Escape::Html),
            "<p title=\"&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;\">\
             &lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;</p>"
        );
    }

    #[test]
    fn json_escaping() {
        let v = vars(&[("t", "a\"b\\c\nd\u{1}e\u{7f}ש")]);
        // DEL and non-ASCII are valid inside a JSON string as they are.
        let want = concat!(r#"{"text": "a\"b\\c\u000ad\u0001e"#, "\u{7f}ש", r#""}"#);
        assert_eq!(render(r#"{{"text": "{t}"}}"#, &v, Escape::Json), want);
    }

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn string(&mut self, alphabet: &[char], max_len: u64) -> String {
            let len = self.next() % (max_len + 1);
            (0..len).map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize]).collect()
        }
    }

    const TEMPLATE_CHARS: &[char] =
        &['{', '}', '{', '}', 'a', 'b', 'Z', '0', '_', ' ', '-', '"', '\\', '\n', 'é', 'ש', '🙂', '\u{0}'];
    const VALUE_CHARS: &[char] = &[
        'a', '"', '\\', '\n', '\r', '\t', '\u{0}', '\u{1f}', '\u{7f}', '<', '&', '\'', 'ж', '🙂', '\u{2028}', '{', '}',
    ];

    #[test]
    fn render_never_panics_and_check_agrees_with_render() {
        let mut g = Gen(0x9e37_79b9_7f4a_7c15);
        let v = vars(&[("a", "1"), ("b", "{x}"), ("ab", "<&>")]);
        for _ in 0..20_000 {
            let t = g.string(TEMPLATE_CHARS, 24);
            for esc in [Escape::None, Escape::Html, Escape::Json] {
                let out = render(&t, &v, esc);
                // Without variables a valid template renders as itself, braces undoubled.
                if check(&t, &[]).is_ok() {
                    assert_eq!(out, t.replace("{{", "{").replace("}}", "}"), "template {t:?}");
                }
            }
            let _ = check(&t, &["a", "b"]);
        }
    }

    #[test]
    fn json_escaped_values_round_trip_through_a_json_string() {
        let mut g = Gen(0x2545_f491_4f6c_dd1d);
        for _ in 0..5_000 {
            let value = g.string(VALUE_CHARS, 16);
            let body = render(r#"{{"v": "{v}"}}"#, &vars(&[("v", &value)]), Escape::Json);
            let parsed: serde_json::Value =
                serde_json::from_str(&body).unwrap_or_else(|e| panic!("{value:?} -> {body:?}: {e}"));
            assert_eq!(parsed["v"], value.as_str());
        }
    }
}
