//! R26: canned responses, the saved replies an agent picks in the composer with `/` and a
//! shortcut. The rules of their fields, who reads which, the list's search, and the
//! placeholders a render fills from the conversation.
//!
//! Placeholders: `{{customer.name}}`, `{{customer.first_name}}`, `{{agent.name}}`,
//! `{{agent.first_name}}`, `{{queue.name}}`. White space inside the braces is allowed and
//! names are read without regard to case (`{{ Customer.Name }}`). A placeholder may give a
//! fallback after `|`, used when the value is not known: `{{customer.first_name | there}}`.
//! A customer WhatsApp gave no name for (only a number, `@username` or BSUID is known) is
//! greeted as "there" unless the placeholder gives its own fallback: `Hi
//! {{customer.first_name}},` → `Hi there,`; their number or username never goes into the
//! text. Anything else between double braces stays as written.

use super::contact::is_whatsapp_user_id;
use super::input::InvalidInput;

pub const SHORTCUT_MAX_CHARS: usize = 32;
pub const TITLE_MAX_CHARS: usize = 100;
/// What a customer without a name is called when the placeholder gives no fallback.
pub const NAMELESS_CUSTOMER: &str = "there";

/// A shortcut: 1 to 32 of `a-z 0-9 _ -` (what follows `/` in the composer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortcut(String);

/// A title: 1 to 100 characters once trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Shortcut {
    pub fn parse(s: &str) -> Result<Shortcut, InvalidInput> {
        let n = s.chars().count();
        if n == 0 || n > SHORTCUT_MAX_CHARS {
            return Err(InvalidInput(format!(
                "shortcut must have 1 to {SHORTCUT_MAX_CHARS} characters"
            )));
        }
        let ok = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !ok {
            return Err(InvalidInput(format!(
                "shortcut `{s}` may only contain lower-case letters a-z, digits, `_` and `-` \
                 (without the leading `/`)"
            )));
        }
        Ok(Shortcut(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl Title {
    /// Trimmed; blank is refused.
    pub fn parse(s: &str) -> Result<Title, InvalidInput> {
        let t = s.trim();
        if t.is_empty() {
            return Err(InvalidInput("title cannot be blank".into()));
        }
        let n = t.chars().count();
        if n > TITLE_MAX_CHARS {
            return Err(InvalidInput(format!(
                "title must have 1 to {TITLE_MAX_CHARS} characters (it has {n})"
            )));
        }
        Ok(Title(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The text: 1 to `max_chars` characters (`limits.max_message_chars`, as a message), not
/// blank, kept as written (its line breaks and spaces are the message's).
pub fn check_text(text: &str, max_chars: usize) -> Result<(), InvalidInput> {
    if text.trim().is_empty() {
        return Err(InvalidInput("text cannot be blank".into()));
    }
    let n = text.chars().count();
    if n > max_chars {
        return Err(InvalidInput(format!(
            "text must have 1 to {max_chars} characters, like a message (it has {n})"
        )));
    }
    Ok(())
}

/// Whether an agent who is a member of `member_of` reads a response of `queue_id` (`None`:
/// every queue's). Supervisors and admins read them all.
pub fn readable_by_agent(queue_id: Option<i64>, member_of: &[i64]) -> bool {
    queue_id.is_none_or(|q| member_of.contains(&q))
}

/// The list's search: every word of `q` is found, regardless of case, in the shortcut, the
/// title or the text.
pub fn matches(q: &str, shortcut: &str, title: &str, text: &str) -> bool {
    let fields = [
        shortcut.to_lowercase(),
        title.to_lowercase(),
        text.to_lowercase(),
    ];
    q.split_whitespace().all(|word| {
        let word = word.to_lowercase();
        fields.iter().any(|f| f.contains(&word))
    })
}

/// The customer's name for a greeting: the name the conversation shows, unless that is only
/// what identifies them (their number, `@username` or BSUID, shown when WhatsApp gave no
/// name). `identifies` is that label as the conversation knows it now.
pub fn customer_name<'a>(shown: &'a str, identifies: &str) -> Option<&'a str> {
    let name = shown.trim();
    let only_an_id = name.is_empty()
        || name == identifies.trim()
        || name.starts_with('@')
        || is_whatsapp_user_id(name)
        || looks_like_a_number(name);
    (!only_an_id).then_some(name)
}

/// Digits and phone punctuation only, with at least five digits (`+44 7700 900123`).
fn looks_like_a_number(s: &str) -> bool {
    let mut digits = 0;
    for c in s.chars() {
        if c.is_numeric() {
            digits += 1;
        } else if !(c.is_whitespace() || matches!(c, '+' | '-' | '(' | ')' | '.' | '/')) {
            return false;
        }
    }
    digits >= 5
}

/// The first word of a name: "Ana María Costa" → "Ana".
pub fn first_name(name: &str) -> Option<&str> {
    name.split_whitespace().next()
}

/// What a render fills in; `None` when it is not known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fill {
    /// The customer's name ([`customer_name`]); `None` for a customer known only by an id.
    pub customer_name: Option<String>,
    /// The display name of the agent who renders.
    pub agent_name: Option<String>,
    /// The conversation's queue.
    pub queue_name: Option<String>,
}

impl Fill {
    /// The text that replaces the placeholder `{{inner}}`, or `None` to leave it as written.
    fn value_of(&self, inner: &str) -> Option<String> {
        let (key, fallback) = match inner.split_once('|') {
            Some((key, fallback)) => (key, Some(fallback.trim())),
            None => (inner, None),
        };
        fn known(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|v| !v.is_empty())
        }
        let (value, otherwise) = match key.trim().to_ascii_lowercase().as_str() {
            "customer.name" => (known(&self.customer_name), Some(NAMELESS_CUSTOMER)),
            "customer.first_name" => (
                known(&self.customer_name).and_then(first_name),
                Some(NAMELESS_CUSTOMER),
            ),
            "agent.name" => (known(&self.agent_name), None),
            "agent.first_name" => (known(&self.agent_name).and_then(first_name), None),
            "queue.name" => (known(&self.queue_name), None),
            _ => return None,
        };
        value.or(fallback).or(otherwise).map(str::to_string)
    }
}

/// `text` with its placeholders filled (see the module's comment); everything else as it is.
pub fn render(text: &str, fill: &Fill) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            break;
        };
        let inner = &after[..close];
        // `{{ {{agent.name}}`: the placeholder is the innermost pair of braces.
        let (start, inner) = match inner.rfind("{{") {
            Some(k) => (open + 2 + k, &inner[k + 2..]),
            None => (open, inner),
        };
        out.push_str(&rest[..start]);
        match fill.value_of(inner) {
            Some(value) => out.push_str(&value),
            None => {
                out.push_str("{{");
                out.push_str(inner);
                out.push_str("}}");
            }
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

/// Whether rendering `text` reads the customer's data (a `customer.` placeholder): such a
/// render is an unmasked read of it when masking is on (R13).
pub fn uses_customer_data(text: &str) -> bool {
    let with = Fill {
        customer_name: Some("\u{0}".into()),
        ..Fill::default()
    };
    render(text, &with) != render(text, &Fill::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(customer: Option<&str>) -> Fill {
        Fill {
            customer_name: customer.map(str::to_string),
            agent_name: Some("Alice Martin".into()),
            queue_name: Some("Support".into()),
        }
    }

    #[test]
    fn the_four_placeholders_are_filled() {
        let text = "Hi {{customer.first_name}} ({{customer.name}}), {{agent.name}} of {{queue.name}} here.";
        assert_eq!(
            render(text, &fill(Some("Ana María Costa"))),
            "Hi Ana (Ana María Costa), Alice Martin of Support here."
        );
        assert_eq!(
            render("I am {{agent.first_name}}.", &fill(None)),
            "I am Alice."
        );
    }

    #[test]
    fn white_space_inside_the_braces_and_case_are_tolerated() {
        let f = fill(Some("Bob"));
        assert_eq!(render("{{ customer.name }}", &f), "Bob");
        assert_eq!(render("{{\tcustomer.first_name\n}}", &f), "Bob");
        assert_eq!(render("{{Queue.Name}}", &f), "Support");
        assert_eq!(render("{{  AGENT.NAME}}!", &f), "Alice Martin!");
    }

    #[test]
    fn unknown_placeholders_stay_as_written() {
        let f = fill(Some("Bob"));
        for text in [
            "Your order {{order.id}} ships {{ ship_date }}.",
            "{{}} {{ }} {{customer}} {{customer.}} {{customer . name}}",
            "{{order.id | none}}",
            "braces { {customer.name} } and {customer.name}",
            "an open {{customer.name",
            "a close customer.name}}",
        ] {
            assert_eq!(render(text, &f), text, "{text}");
        }
        assert_eq!(
            render("{{ x }} then {{customer.name}} then {{y}}", &f),
            "{{ x }} then Bob then {{y}}"
        );
    }

    #[test]
    fn nested_and_repeated_braces() {
        let f = fill(Some("Bob"));
        assert_eq!(render("{{ {{customer.name}}", &f), "{{ Bob");
        assert_eq!(render("{{customer.name}}{{customer.name}}", &f), "BobBob");
        assert_eq!(render("{{{customer.name}}}", &f), "{{{customer.name}}}");
        assert_eq!(render("", &f), "");
        assert_eq!(render("no placeholders", &f), "no placeholders");
    }

    #[test]
    fn a_customer_without_a_name_is_there_unless_the_placeholder_says_otherwise() {
        let f = fill(None);
        assert_eq!(
            render("Hi {{customer.first_name}}, thanks!", &f),
            "Hi there, thanks!"
        );
        assert_eq!(render("Dear {{customer.name}}", &f), "Dear there");
        assert_eq!(
            render("Dear {{ customer.name | valued customer }},", &f),
            "Dear valued customer,"
        );
        assert_eq!(render("Hi{{customer.first_name|}}!", &f), "Hi!");
        // A known name wins over the fallback.
        assert_eq!(
            render("Hi {{customer.first_name | there}}", &fill(Some("Ana"))),
            "Hi Ana"
        );
        // A blank name is no name.
        assert_eq!(render("{{customer.name}}", &fill(Some("  "))), "there");
    }

    #[test]
    fn an_unknown_agent_or_queue_keeps_the_placeholder_or_takes_its_fallback() {
        let f = Fill::default();
        assert_eq!(render("{{queue.name}}", &f), "{{queue.name}}");
        assert_eq!(render("{{queue.name|our team}}", &f), "our team");
        assert_eq!(render("{{agent.name}}", &f), "{{agent.name}}");
    }

    #[test]
    fn text_around_placeholders_keeps_its_unicode() {
        let f = fill(Some("Zoë 🌸"));
        assert_eq!(
            render(
                "¡Hola {{customer.first_name}}! 👋\n— {{agent.first_name}}",
                &f
            ),
            "¡Hola Zoë! 👋\n— Alice"
        );
    }

    #[test]
    fn only_a_real_name_is_a_customer_name() {
        assert_eq!(
            customer_name(" Ana Costa ", "+447700900123"),
            Some("Ana Costa")
        );
        assert_eq!(customer_name("+447700900123", "+447700900123"), None);
        assert_eq!(customer_name("+44 7700 900123", "@ana"), None);
        assert_eq!(customer_name("447700900123", "+447700900123"), None);
        assert_eq!(customer_name("@ana.k", "@ana.k"), None);
        assert_eq!(customer_name("@ana.k", "+447700900123"), None);
        assert_eq!(customer_name("US.13491208655302741918", "+1650"), None);
        assert_eq!(customer_name("unknown customer", "unknown customer"), None);
        assert_eq!(customer_name("", "+1650"), None);
        // Digits inside a name do not make it a number.
        assert_eq!(customer_name("Agent 007", "+1650"), Some("Agent 007"));
        assert_eq!(customer_name("R2-D2", "+1650"), Some("R2-D2"));
    }

    #[test]
    fn first_name_is_the_first_word() {
        assert_eq!(first_name("Ana María Costa"), Some("Ana"));
        assert_eq!(first_name("  Bob  "), Some("Bob"));
        assert_eq!(first_name("Cher"), Some("Cher"));
        assert_eq!(first_name(" "), None);
    }

    #[test]
    fn shortcuts() {
        for ok in [
            "a",
            "hello",
            "refund-policy",
            "vat_2024",
            "0",
            &"x".repeat(32),
        ] {
            assert_eq!(Shortcut::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            &"x".repeat(33),
            "Hello",
            "/hello",
            "hello world",
            " hello",
            "héllo",
            "a.b",
            "emoji😀",
        ] {
            assert!(Shortcut::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Shortcut::parse("/hi")
            .unwrap_err()
            .0
            .contains("leading `/`"));
    }

    #[test]
    fn titles_are_trimmed_and_not_blank() {
        assert_eq!(Title::parse("  Greeting ").unwrap().as_str(), "Greeting");
        assert!(Title::parse("").is_err());
        assert!(Title::parse(" \t\n").is_err());
        assert_eq!(Title::parse(&"é".repeat(100)).unwrap().as_str().len(), 200);
        assert!(Title::parse(&"é".repeat(101)).is_err());
    }

    #[test]
    fn text_is_a_message_length_not_blank() {
        assert!(check_text("Hi", 4096).is_ok());
        assert!(check_text(&"😀".repeat(10), 10).is_ok());
        assert!(check_text(&"😀".repeat(11), 10).is_err());
        assert!(check_text("", 10).is_err());
        assert!(check_text(" \n ", 10).is_err());
    }

    #[test]
    fn agents_read_their_queues_and_the_global_ones() {
        assert!(readable_by_agent(None, &[]));
        assert!(readable_by_agent(Some(2), &[1, 2]));
        assert!(!readable_by_agent(Some(3), &[1, 2]));
    }

    #[test]
    fn search_finds_every_word_in_any_field() {
        let m = |q| matches(q, "refund", "Refund policy", "Refunds take 5 days.");
        assert!(m(""));
        assert!(m("REF"));
        assert!(m("policy days"));
        assert!(!m("policy weeks"));
        assert!(matches("ñ", "x", "Mañana", ""));
    }

    #[test]
    fn which_texts_read_customer_data() {
        assert!(uses_customer_data("Hi {{customer.first_name}}"));
        assert!(uses_customer_data("Hi {{ Customer.Name | you }}"));
        assert!(!uses_customer_data("Hi, {{agent.name}} here"));
        assert!(!uses_customer_data("{{customer.phone}}"));
    }
}
