//! The confirm page a lead opens from an email, SMS or WhatsApp link (`/l/{token}`).
//!
//! When the qualification call fails, the follow-up messages point here, and the page must offer what the IVR
//! offers: "Call me" (qualify) and "Stop contacting me" (opt out). Leads open it on whatever phone they have,
//! often on a slow network, so it is one self-contained HTML5 document: inline CSS, no JavaScript, no external
//! assets, no cookies, and a plain POST form that works everywhere. Rendering is pure so the HTTP handler only
//! maps lead state to a [`PageState`] and the wording can be tested in every language.
//! The handler should still send `Cache-Control: no-store` and frame-blocking headers, which a page cannot set.

/// Page language, chosen from the lead's Lucep `langcode` (ISO 639-2) or a browser-style 2-letter code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Eng,
    Rus,
    Heb,
    Spa,
    Fra,
    Deu,
    Ara,
}

impl Lang {
    pub const ALL: [Lang; 7] = [Lang::Eng, Lang::Rus, Lang::Heb, Lang::Spa, Lang::Fra, Lang::Deu, Lang::Ara];

    /// Any case; ISO 639-2 (T and B forms), ISO 639-1 (with the obsolete "iw" Java still sends for Hebrew), and
    /// BCP 47 tags like "pt-BR" by their primary subtag. Unknown or missing falls back to English rather than
    /// failing: a lead must always get a usable page.
    pub fn from_code(code: Option<&str>) -> Lang {
        let primary = code.and_then(|c| c.trim().split(['-', '_']).next()).unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "ru" | "rus" => Lang::Rus,
            "he" | "iw" | "heb" => Lang::Heb,
            "es" | "spa" => Lang::Spa,
            "fr" | "fra" | "fre" => Lang::Fra,
            "de" | "deu" | "ger" => Lang::Deu,
            "ar" | "ara" => Lang::Ara,
            _ => Lang::Eng,
        }
    }

    /// The HTML `lang` attribute value (BCP 47), which screen readers use to pick a voice.
    pub fn code(self) -> &'static str {
        // In declaration order; the from_code round trip in the tests keeps the two in step.
        ["en", "ru", "he", "es", "fr", "de", "ar"][self as usize]
    }

    pub fn rtl(self) -> bool {
        matches!(self, Lang::Heb | Lang::Ara)
    }
}

/// What the page shows; the handler derives it from the lead and the token check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageState {
    /// Undecided lead: the two choices.
    Open,
    Qualified,
    /// `when` is already localised by the caller (e.g. "tomorrow at 09:00"), who knows the time zone.
    CallScheduled {
        when: String,
    },
    Rejected,
    Expired,
    Invalid,
}

pub struct PageView<'a> {
    pub lang: Lang,
    pub token: &'a str,
    pub company: &'a str,
    pub service: &'a str,
    pub name: Option<&'a str>,
    pub state: PageState,
}

/// One language's wording. `{}` marks where the single interpolated value goes. French puts a no-break space
/// before ':' and '?', as its typography requires, so the mark never wraps alone onto the next line.
struct Texts {
    heading: &'static str,
    heading_plain: &'static str,
    hello: &'static str,
    intro: &'static str,
    intro_plain: &'static str,
    choose: &'static str,
    call: &'static str,
    stop: &'static str,
    qualified: &'static str,
    scheduled: &'static str,
    rejected: &'static str,
    expired: &'static str,
    invalid: &'static str,
}

#[rustfmt::skip]
fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Eng => &Texts {
            heading: "{}: confirm your request", heading_plain: "Confirm your request", hello: "Hello {},",
            intro: "You asked to be contacted about {}. Would you like us to call you?",
            intro_plain: "You asked to be contacted. Would you like us to call you?",
            choose: "Choose an option", call: "Call me", stop: "Stop contacting me",
            qualified: "Thank you, we will call you soon.", scheduled: "Thank you, we will call you {}.",
            rejected: "You will not be contacted again.", expired: "This link has expired.",
            invalid: "This link is not valid.",
        },
        Lang::Rus => &Texts {
            heading: "{}: подтвердите ваш запрос", heading_plain: "Подтвердите ваш запрос", hello: "Здравствуйте, {}!",
            intro: "Вы просили связаться с вами по поводу «{}». Хотите, чтобы мы вам позвонили?",
            intro_plain: "Вы просили связаться с вами. Хотите, чтобы мы вам позвонили?",
            choose: "Выберите вариант", call: "Позвоните мне", stop: "Больше не связывайтесь со мной",
            qualified: "Спасибо, мы скоро вам позвоним.", scheduled: "Спасибо, мы позвоним вам {}.",
            rejected: "Мы больше не будем с вами связываться.", expired: "Срок действия этой ссылки истёк.",
            invalid: "Эта ссылка недействительна.",
        },
        Lang::Heb => &Texts {
            heading: "{}: אישור הבקשה שלך", heading_plain: "אישור הבקשה שלך", hello: "שלום {},",
            intro: "ביקשת שניצור איתך קשר בנושא {}. האם להתקשר אליך?",
            intro_plain: "ביקשת שניצור איתך קשר. האם להתקשר אליך?",
            choose: "בחירת אפשרות", call: "התקשרו אליי", stop: "הפסיקו לפנות אליי",
            qualified: "תודה, נתקשר אליך בקרוב.", scheduled: "תודה, נתקשר אליך {}.",
            rejected: "לא נפנה אליך שוב.", expired: "תוקף הקישור הזה פג.",
            invalid: "הקישור הזה אינו תקף.",
        },
        Lang::Spa => &Texts {
            heading: "{}: confirme su solicitud", heading_plain: "Confirme su solicitud", hello: "Hola, {}:",
            intro: "Usted pidió que le contactáramos sobre {}. ¿Quiere que le llamemos?",
            intro_plain: "Usted pidió que le contactáramos. ¿Quiere que le llamemos?",
            choose: "Elija una opción", call: "Llámenme", stop: "No vuelvan a contactarme",
            qualified: "Gracias, le llamaremos pronto.", scheduled: "Gracias, le llamaremos {}.",
            rejected: "No volveremos a contactarle.", expired: "Este enlace ha caducado.",
            invalid: "Este enlace no es válido.",
        },
        Lang::Fra => &Texts {
            heading: "{}\u{a0}: confirmez votre demande", heading_plain: "Confirmez votre demande",
            intro: "Vous avez demandé à être contacté au sujet de {}. Souhaitez-vous que nous vous appelions\u{a0}?",
            intro_plain: "Vous avez demandé à être contacté. Souhaitez-vous que nous vous appelions\u{a0}?",
            choose: "Choisissez une option", call: "Appelez-moi", stop: "Ne plus me contacter",
            qualified: "Merci, nous vous appellerons bientôt.", scheduled: "Merci, nous vous appellerons {}.",
            rejected: "Vous ne serez plus contacté.", expired: "Ce lien a expiré.",
            invalid: "Ce lien n’est pas valide.", hello: "Bonjour {},",
        },
        Lang::Deu => &Texts {
            heading: "{}: Bestätigen Sie Ihre Anfrage", heading_plain: "Bestätigen Sie Ihre Anfrage",
            intro: "Sie haben um Kontakt zu {} gebeten. Sollen wir Sie anrufen?",
            intro_plain: "Sie haben um Kontakt gebeten. Sollen wir Sie anrufen?",
            choose: "Wählen Sie eine Option", call: "Rufen Sie mich an", stop: "Kontaktieren Sie mich nicht mehr",
            qualified: "Danke, wir rufen Sie bald an.", scheduled: "Danke, wir rufen Sie {} an.",
            rejected: "Wir werden Sie nicht mehr kontaktieren.", expired: "Dieser Link ist abgelaufen.",
            invalid: "Dieser Link ist ungültig.", hello: "Hallo {},",
        },
        Lang::Ara => &Texts {
            heading: "{}: تأكيد طلبك", heading_plain: "تأكيد طلبك", hello: "مرحبًا {}،",
            intro: "طلبت أن نتواصل معك بخصوص {}. هل تريد أن نتصل بك؟",
            intro_plain: "طلبت أن نتواصل معك. هل تريد أن نتصل بك؟",
            choose: "اختر أحد الخيارات", call: "اتصلوا بي", stop: "توقفوا عن التواصل معي",
            qualified: "شكرًا لك، سنتصل بك قريبًا.", scheduled: "شكرًا لك، سنتصل بك {}.",
            rejected: "لن نتواصل معك مرة أخرى.", expired: "انتهت صلاحية هذا الرابط.",
            invalid: "هذا الرابط غير صالح.",
        },
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Substitutes `value` for the template's `{}`, escaping both. In markup, the value is wrapped in `<bdi>` so a
/// Latin company name inside Hebrew or Arabic text (or the reverse) does not scramble the punctuation around it.
fn fill(template: &str, value: &str, markup: bool) -> String {
    let Some((before, after)) = template.split_once("{}") else { return escape_html(template) };
    let (open, close) = if markup { ("<bdi>", "</bdi>") } else { ("", "") };
    format!("{}{open}{}{close}{}", escape_html(before), escape_html(value), escape_html(after))
}

/// Percent-encodes everything outside RFC 3986 unreserved characters, so a token can never add path segments
/// or a query to the form's action. Genuine tokens pass through unchanged.
fn path_segment(token: &str) -> String {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
    token.bytes().map(|b| if unreserved(b) { char::from(b).to_string() } else { format!("%{b:02X}") }).collect()
}

const STYLE: &str = "html{font-family:system-ui,sans-serif;font-size:112.5%;line-height:1.5;color:#1a1a1a;\
background:#fff}body{margin:0 auto;max-width:32rem;padding:1.5rem 1rem}h1{font-size:1.5rem;margin:0 0 1rem}\
fieldset{border:0;margin:1.5rem 0 0;padding:0}legend{font-weight:600;margin-bottom:.75rem;padding:0}\
button{display:block;width:100%;min-height:3.25rem;margin:0 0 1rem;padding:.75rem 1rem;font:inherit;\
font-weight:600;border:2px solid #0b4fb3;border-radius:.5rem;cursor:pointer}#call-me{background:#0b4fb3;color:#fff}\
#stop{background:#fff;color:#1a1a1a;border-color:#595959}button:focus-visible{outline:3px solid #1a1a1a;\
outline-offset:3px}#status{font-size:1.125rem}";

/// Renders the whole document. Every interpolated value is escaped; the CSP meta tag is a second line of
/// defence that forbids scripts and any fetch should escaping ever be missed.
pub fn render(v: &PageView<'_>) -> String {
    let t = texts(v.lang);
    let company = v.company.trim();
    let message = |markup| match &v.state {
        PageState::Open => None,
        PageState::Qualified => Some(escape_html(t.qualified)),
        // A caller without a time to offer must not produce "we will call you ." in any language.
        PageState::CallScheduled { when } if when.trim().is_empty() => Some(escape_html(t.qualified)),
        PageState::CallScheduled { when } => Some(fill(t.scheduled, when.trim(), markup)),
        PageState::Rejected => Some(escape_html(t.rejected)),
        PageState::Expired => Some(escape_html(t.expired)),
        PageState::Invalid => Some(escape_html(t.invalid)),
    };
    // A decided lead sees the outcome under the company's name; "confirm your request" would read as if
    // something were still pending. Without a company (unknown for an invalid token) the outcome is the heading.
    let (title, main) = match message(true) {
        Some(msg) if company.is_empty() => (message(false), format!("<h1 id=\"status\" role=\"status\">{msg}</h1>\n")),
        Some(msg) => {
            let status =
                format!("<h1><bdi>{}</bdi></h1>\n<p id=\"status\" role=\"status\">{msg}</p>\n", escape_html(company));
            (Some(escape_html(company)), status)
        }
        None => (None, open_main(v, t, company)),
    };
    let title = title.unwrap_or_else(|| heading(t, company, false));
    format!(
        "<!doctype html>\n<html lang=\"{}\" dir=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n<meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; \
         form-action 'self'\">\n<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{main}</main>\n\
         </body>\n</html>\n",
        v.lang.code(),
        if v.lang.rtl() { "rtl" } else { "ltr" },
    )
}

fn heading(t: &Texts, company: &str, markup: bool) -> String {
    if company.is_empty() { escape_html(t.heading_plain) } else { fill(t.heading, company, markup) }
}

/// The undecided page: who is asking, about what, and the two choices in one form.
fn open_main(v: &PageView<'_>, t: &Texts, company: &str) -> String {
    let mut main = format!("<h1>{}</h1>\n", heading(t, company, true));
    if let Some(name) = v.name.map(str::trim).filter(|n| !n.is_empty()) {
        main.push_str(&format!("<p>{}</p>\n", fill(t.hello, name, true)));
    }
    let service = v.service.trim();
    let intro = if service.is_empty() { escape_html(t.intro_plain) } else { fill(t.intro, service, true) };
    main.push_str(&format!(
        "<p id=\"status\">{intro}</p>\n<form method=\"post\" action=\"/l/{}\">\n<fieldset>\n\
         <legend>{}</legend>\n\
         <button type=\"submit\" name=\"choice\" value=\"call\" id=\"call-me\">{}</button>\n\
         <button type=\"submit\" name=\"choice\" value=\"stop\" id=\"stop\">{}</button>\n\
         </fieldset>\n</form>\n",
        escape_html(&path_segment(v.token)),
        escape_html(t.choose),
        escape_html(t.call),
        escape_html(t.stop),
    ));
    main
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "42.1700000000.b0847e1ad2c5735e16d7e82e080b42df";

    fn view(lang: Lang, state: PageState) -> PageView<'static> {
        PageView { lang, token: TOKEN, company: "Acme", service: "Solar panels", name: Some("Dana"), state }
    }

    fn all_states() -> [PageState; 6] {
        let when = "tomorrow at 09:00".to_owned();
        use PageState::*;
        [Open, Qualified, CallScheduled { when }, Rejected, Expired, Invalid]
    }

    /// The markup inside the element with id="status" (which the renderer keeps on one line).
    fn status(html: &str) -> &str {
        let at = html.find("id=\"status\"").expect("status element");
        let start = at + html[at..].find('>').unwrap() + 1;
        let line = &html[start..start + html[start..].find('\n').unwrap()];
        line.strip_suffix("</p>").or(line.strip_suffix("</h1>")).expect("status closes on its line")
    }

    #[test]
    fn language_codes() {
        let cases: [(Lang, &[&str]); 7] = [
            (Lang::Eng, &["eng", "EN", "en-GB", "xx", "", "  ", "ру", "english"]),
            (Lang::Rus, &["rus", "ru", "RU-ru"]),
            (Lang::Heb, &["heb", "he", "iw", "HE-IL"]),
            (Lang::Spa, &["Spa", "es", "es-MX"]),
            (Lang::Fra, &["fra", "fre", " fr "]),
            (Lang::Deu, &["DEU", "ger", "de_AT"]),
            (Lang::Ara, &["ara", "ar", "ar-EG"]),
        ];
        assert_eq!(Lang::from_code(None), Lang::Eng);
        for (lang, codes) in cases {
            for &code in codes {
                assert_eq!(Lang::from_code(Some(code)), lang, "{code:?}");
            }
        }
        for lang in Lang::ALL {
            assert_eq!(Lang::from_code(Some(lang.code())), lang);
            assert_eq!(lang.rtl(), matches!(lang, Lang::Heb | Lang::Ara));
        }
    }

    #[test]
    fn every_language_and_state_renders() {
        for lang in Lang::ALL {
            let t = texts(lang);
            for state in all_states() {
                let html = render(&view(lang, state.clone()));
                assert!(html.starts_with("<!doctype html>\n<html lang=\""), "{lang:?}");
                let dir = if lang.rtl() { "rtl" } else { "ltr" };
                assert!(html.contains(&format!("<html lang=\"{}\" dir=\"{dir}\">", lang.code())), "{lang:?}");
                assert!(html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
                assert!(html.contains("<meta name=\"robots\" content=\"noindex\">"));
                assert_eq!(html.matches("id=\"status\"").count(), 1, "{lang:?} {state:?}");
                let expected = match &state {
                    PageState::Open => fill(t.intro, "Solar panels", true),
                    PageState::Qualified => escape_html(t.qualified),
                    PageState::CallScheduled { when } => fill(t.scheduled, when, true),
                    PageState::Rejected => escape_html(t.rejected),
                    PageState::Expired => escape_html(t.expired),
                    PageState::Invalid => escape_html(t.invalid),
                };
                assert_eq!(status(&html), expected, "{lang:?} {state:?}");
                for banned in ["http://", "https://", "<script", "src=", "<link", "url(", "@import", "cookie"] {
                    assert!(!html.to_ascii_lowercase().contains(banned), "{banned} in {lang:?} {state:?}");
                }
                let has_form = html.contains("<form");
                assert_eq!(has_form, state == PageState::Open, "{lang:?} {state:?}");
                assert_eq!(html.contains("<button"), has_form);
            }
        }
    }

    #[test]
    fn open_page_form_and_wording() {
        let html = render(&view(Lang::Eng, PageState::Open));
        assert!(html.contains(&format!("<form method=\"post\" action=\"/l/{TOKEN}\">")));
        assert!(
            html.contains("<button type=\"submit\" name=\"choice\" value=\"call\" id=\"call-me\">Call me</button>")
        );
        assert!(html.contains(
            "<button type=\"submit\" name=\"choice\" value=\"stop\" id=\"stop\">Stop contacting me</button>"
        ));
        assert!(html.contains("<h1><bdi>Acme</bdi>: confirm your request</h1>"));
        assert!(html.contains("<title>Acme: confirm your request</title>"));
        assert!(html.contains("<p>Hello <bdi>Dana</bdi>,</p>"));
        assert_eq!(html.matches("<form").count(), 1);
        let heb = render(&view(Lang::Heb, PageState::Open));
        assert!(heb.contains(">התקשרו אליי</button>") && heb.contains("dir=\"rtl\""));
    }

    #[test]
    fn missing_optional_parts() {
        let v =
            PageView { lang: Lang::Deu, token: TOKEN, company: " ", service: "", name: None, state: PageState::Open };
        let html = render(&v);
        assert!(html.contains("<h1>Bestätigen Sie Ihre Anfrage</h1>"));
        assert_eq!(status(&html), "Sie haben um Kontakt gebeten. Sollen wir Sie anrufen?");
        assert!(!html.contains("Hallo"));
        let v = PageView { name: Some("  "), state: PageState::Invalid, ..v };
        let html = render(&v);
        assert!(html.contains("<title>Dieser Link ist ungültig.</title>"));
        assert!(html.contains("<h1 id=\"status\" role=\"status\">Dieser Link ist ungültig.</h1>"));
        let v = PageView { company: "Acme", state: PageState::CallScheduled { when: "morgen".into() }, ..v };
        let html = render(&v);
        assert!(html.contains("<title>Acme</title>") && html.contains("<h1><bdi>Acme</bdi></h1>\n<p id=\"status\""));
        assert_eq!(status(&html), "Danke, wir rufen Sie <bdi>morgen</bdi> an.");
        let v = PageView { state: PageState::CallScheduled { when: " ".into() }, ..v };
        assert_eq!(status(&render(&v)), "Danke, wir rufen Sie bald an.");
    }

    #[test]
    fn everything_interpolated_is_escaped() {
        let evil = "<script>alert('x')</script>&\"";
        let token = "1.2.x\"><script>/../admin?a=b&c";
        let v = PageView { token, company: evil, service: evil, name: Some(evil), ..view(Lang::Eng, PageState::Open) };
        let html = render(&v);
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"));
        assert!(html.contains("action=\"/l/1.2.x%22%3E%3Cscript%3E%2F..%2Fadmin%3Fa%3Db%26c\""));
        let when = PageState::CallScheduled { when: evil.to_owned() };
        let html = render(&PageView { state: when, ..v });
        assert!(!html.contains("<script") && status(&html).contains("&lt;script&gt;"));
        assert_eq!(escape_html("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
        assert_eq!(escape_html("שלום, Привет"), "שלום, Привет");
    }
}
