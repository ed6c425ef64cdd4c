//! The invitation body as the invitations endpoint checks it: what it answers with a 400.
//!
//! Stricter than lenient where the real service's behaviour is unknown (unknown fields, `null`,
//! empty strings): a client that passes here sends bodies the real service accepts.

use serde_json::{Map, Value};

/// Trustpilot's invitation locales, exactly as the API spells them.
pub(crate) const LOCALES: [&str; 25] = [
    "da-DK", "de-AT", "de-CH", "de-DE", "en-AU", "en-CA", "en-GB", "en-IE", "en-NZ", "en-US", "es-ES", "fi-FI",
    "fr-BE", "fr-FR", "it-IT", "ja-JP", "nb-NO", "nl-BE", "nl-NL", "pl-PL", "pt-BR", "pt-PT", "ru-RU", "sv-SE",
    "zh-CN",
];

/// Characters that break Trustpilot's review links when they appear in a reference number.
const REFERENCE_FORBIDDEN: [char; 6] = ['#', '*', '+', '"', '%', '&'];

/// How one field's value is checked.
#[derive(Debug, Clone, Copy)]
enum Rule {
    Email,
    /// A display name: not blank, no control characters, at most 255 characters.
    Name,
    Reference,
    Locale,
    /// Any string that is not blank (ids).
    Text,
    SendTime,
    Uri,
    Tags,
}

/// The body's top-level fields: JSON name, the name the error details use, the rule.
const TOP_LEVEL: [(&str, &str, Rule); 8] = [
    ("consumerEmail", "Consumer Email", Rule::Email),
    ("consumerName", "Consumer Name", Rule::Name),
    ("referenceNumber", "Reference Number", Rule::Reference),
    ("locale", "Locale", Rule::Locale),
    ("senderEmail", "Sender Email", Rule::Email),
    ("senderName", "Sender Name", Rule::Name),
    ("replyTo", "Reply To", Rule::Email),
    ("locationId", "Location Id", Rule::Text),
];

const REQUIRED: [&str; 3] = ["consumerEmail", "consumerName", "referenceNumber"];

const SERVICE_REVIEW: &str = "serviceReviewInvitation";

/// The fields of `serviceReviewInvitation`, all optional.
const SERVICE_REVIEW_FIELDS: [(&str, &str, Rule); 4] = [
    ("templateId", "Template Id", Rule::Text),
    ("preferredSendTime", "Preferred Send Time", Rule::SendTime),
    ("redirectUri", "Redirect Uri", Rule::Uri),
    ("tags", "Tags", Rule::Tags),
];

/// An invitation body that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Checked {
    pub email: String,
    pub reference: String,
    pub body: Value,
}

/// Check a request body. `Err` holds the `details` sentence(s) of the 400: every problem
/// found, in field order, joined by spaces.
pub(crate) fn check_invitation(body: &[u8]) -> Result<Checked, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|error| format!("The request body is not valid JSON ({error})."))?;
    let Some(object) = value.as_object() else {
        return Err("The request body must be a JSON object.".to_string());
    };

    let mut problems = Vec::new();
    for key in object.keys() {
        if key != SERVICE_REVIEW && !TOP_LEVEL.iter().any(|(name, ..)| name == key) {
            problems.push(format!("'{key}' is not a known field."));
        }
    }
    check_fields(object, &TOP_LEVEL, &mut problems);
    match object.get(SERVICE_REVIEW) {
        None => problems.push("'Service Review Invitation' is required.".to_string()),
        Some(Value::Object(service)) => {
            for key in service.keys() {
                if !SERVICE_REVIEW_FIELDS.iter().any(|(name, ..)| name == key) {
                    problems.push(format!("'{SERVICE_REVIEW}.{key}' is not a known field."));
                }
            }
            check_fields(service, &SERVICE_REVIEW_FIELDS, &mut problems);
        }
        Some(_) => problems.push("'Service Review Invitation' must be an object.".to_string()),
    }

    if !problems.is_empty() {
        return Err(problems.join(" "));
    }
    let text = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
    let (email, reference) = (text("consumerEmail"), text("referenceNumber"));
    Ok(Checked { email, reference, body: value })
}

/// Check the fields an object may hold, in their documented order.
fn check_fields(object: &Map<String, Value>, fields: &[(&str, &str, Rule)], problems: &mut Vec<String>) {
    for &(name, label, rule) in fields {
        match object.get(name) {
            Some(value) => {
                if let Err(problem) = check_value(value, label, rule) {
                    problems.push(problem);
                }
            }
            None if REQUIRED.contains(&name) => problems.push(format!("'{label}' is required.")),
            None => {}
        }
    }
}

fn check_value(value: &Value, label: &str, rule: Rule) -> Result<(), String> {
    if let Rule::Tags = rule {
        let Some(tags) = value.as_array() else {
            return Err(format!("'{label}' must be a list of strings."));
        };
        for tag in tags {
            let Some(tag) = tag.as_str() else {
                return Err(format!("'{label}' must be a list of strings."));
            };
            if tag.is_empty() {
                return Err(format!("'{label}' must not contain an empty tag."));
            }
            if !tag.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) {
                return Err(format!("'{label}' may only contain letters, digits, '_', '-' and '.' (found '{tag}')."));
            }
        }
        return Ok(());
    }

    let Some(text) = value.as_str() else {
        return Err(format!("'{label}' must be a string."));
    };
    if text.trim().is_empty() {
        return Err(format!("'{label}' must not be empty."));
    }
    let valid = match rule {
        Rule::Email => is_email(text),
        Rule::Name => text.chars().count() <= 255 && !text.chars().any(char::is_control),
        Rule::Reference => {
            if text.contains(REFERENCE_FORBIDDEN) {
                return Err(format!("'{label}' must not contain any of # * + \" % &."));
            }
            text.chars().count() <= 255 && !text.chars().any(char::is_control)
        }
        Rule::Locale => {
            if !LOCALES.contains(&text) {
                return Err(format!("'{label}' '{text}' is not supported; use one of {}.", LOCALES.join(", ")));
            }
            true
        }
        Rule::Text => !text.chars().any(char::is_control),
        Rule::SendTime => is_send_time(text),
        Rule::Uri => is_absolute_http_uri(text),
        Rule::Tags => true,
    };
    if valid { Ok(()) } else { Err(format!("'{label}' is not in the correct format.")) }
}

/// `local@domain`: no spaces, a domain of at least two valid labels, at most 254 characters.
pub(crate) fn is_email(text: &str) -> bool {
    if text.len() > 254 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && !local.chars().any(|c| "@\"(),:;<>[]\\".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()));
    local_ok && domain_ok
}

/// Exactly `YYYY-MM-DDTHH:MM:SS`, and a real date and time.
fn is_send_time(text: &str) -> bool {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 19
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        });
    shape_ok && chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").is_ok()
}

/// An absolute `http://` or `https://` URL with a host.
fn is_absolute_http_uri(text: &str) -> bool {
    match url::Url::parse(text) {
        Ok(url) => matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|host| !host.is_empty()),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> Value {
        json!({
            "consumerEmail": "john.doe@example.com",
            "consumerName": "John Doe",
            "referenceNumber": "inv00001",
            "serviceReviewInvitation": {}
        })
    }

    fn full() -> Value {
        json!({
            "consumerEmail": "john.doe@example.com",
            "consumerName": "John Doe",
            "referenceNumber": "inv00001",
            "locale": "en-US",
            "senderEmail": "shop@example.com",
            "senderName": "Example Shop",
            "replyTo": "support@example.com",
            "locationId": "ABC123",
            "serviceReviewInvitation": {
                "templateId": "507f191e810c19729de860ea",
                "preferredSendTime": "2026-12-01T09:00:00",
                "redirectUri": "https://example.com/thanks",
                "tags": ["spring_sale", "vip", "a.b-c"]
            }
        })
    }

    fn check(value: &Value) -> Result<Checked, String> {
        check_invitation(value.to_string().as_bytes())
    }

    /// Set `path` (a top-level key, or `serviceReviewInvitation.key`) to `value`; `None` removes it.
    fn with(path: &str, value: Option<Value>) -> Value {
        let mut body = full();
        let (object, key) = match path.split_once('.') {
            Some((outer, inner)) => (body[outer].as_object_mut().unwrap(), inner),
            None => (body.as_object_mut().unwrap(), path),
        };
        match value {
            Some(value) => object.insert(key.to_string(), value),
            None => object.remove(key),
        };
        body
    }

    #[test]
    fn valid_bodies_pass_and_name_the_email_and_reference() {
        for body in [minimal(), full()] {
            let checked = check(&body).unwrap();
            assert_eq!(checked.email, "john.doe@example.com");
            assert_eq!(checked.reference, "inv00001");
            assert_eq!(checked.body, body);
        }
    }

    #[test]
    fn each_rule_refuses_what_the_service_refuses() {
        let s = |text: &str| Some(json!(text));
        let table: Vec<(&str, Option<Value>, &str)> = vec![
            ("consumerEmail", None, "'Consumer Email' is required."),
            ("consumerEmail", s("john.doe"), "'Consumer Email' is not in the correct format."),
            ("consumerEmail", s("john doe@example.com"), "not in the correct format"),
            ("consumerEmail", s("john@example"), "not in the correct format"),
            ("consumerEmail", s("a@b@example.com"), "not in the correct format"),
            ("consumerEmail", s(" john@example.com"), "not in the correct format"),
            ("consumerEmail", s(""), "'Consumer Email' must not be empty."),
            ("consumerEmail", Some(json!(42)), "'Consumer Email' must be a string."),
            ("consumerEmail", Some(Value::Null), "'Consumer Email' must be a string."),
            ("consumerName", None, "'Consumer Name' is required."),
            ("consumerName", s(""), "'Consumer Name' must not be empty."),
            ("consumerName", s("   "), "'Consumer Name' must not be empty."),
            ("consumerName", s("John\u{0}Doe"), "'Consumer Name' is not in the correct format."),
            ("referenceNumber", None, "'Reference Number' is required."),
            ("referenceNumber", s(""), "'Reference Number' must not be empty."),
            ("referenceNumber", s("#1001"), "must not contain any of # * + \" % &."),
            ("referenceNumber", s("a*b"), "must not contain any"),
            ("referenceNumber", s("a+b"), "must not contain any"),
            ("referenceNumber", s("a\"b"), "must not contain any"),
            ("referenceNumber", s("50%"), "must not contain any"),
            ("referenceNumber", s("a&b"), "must not contain any"),
            ("locale", s("en_US"), "'Locale' 'en_US' is not supported"),
            ("locale", s("en-us"), "is not supported"),
            ("locale", s("xx-XX"), "is not supported"),
            ("locale", s(""), "'Locale' must not be empty."),
            ("senderEmail", s("shop"), "'Sender Email' is not in the correct format."),
            ("replyTo", s("support@"), "'Reply To' is not in the correct format."),
            ("senderName", s(""), "'Sender Name' must not be empty."),
            ("locationId", s(""), "'Location Id' must not be empty."),
            ("unexpected", s("x"), "'unexpected' is not a known field."),
            ("serviceReviewInvitation", None, "'Service Review Invitation' is required."),
            ("serviceReviewInvitation", s("x"), "'Service Review Invitation' must be an object."),
            ("serviceReviewInvitation.templateId", s(""), "'Template Id' must not be empty."),
            ("serviceReviewInvitation.tags", Some(json!(["a b"])), "'Tags' may only contain"),
            ("serviceReviewInvitation.tags", Some(json!(["ok", "x,y"])), "'Tags' may only contain"),
            ("serviceReviewInvitation.tags", Some(json!([""])), "empty tag"),
            ("serviceReviewInvitation.tags", s("vip"), "'Tags' must be a list of strings."),
            ("serviceReviewInvitation.tags", Some(json!([1])), "must be a list of strings"),
            ("serviceReviewInvitation.redirectUri", s("example.com"), "'Redirect Uri' is not in the correct format."),
            ("serviceReviewInvitation.redirectUri", s("ftp://example.com/x"), "'Redirect Uri'"),
            ("serviceReviewInvitation.redirectUri", s("/thanks"), "'Redirect Uri'"),
            (
                "serviceReviewInvitation.preferredSendTime",
                s("2026-12-01"),
                "'Preferred Send Time' is not in the correct format.",
            ),
            ("serviceReviewInvitation.preferredSendTime", s("2026-12-01T09:00:00Z"), "'Preferred Send Time'"),
            ("serviceReviewInvitation.preferredSendTime", s("2026-12-01 09:00:00"), "'Preferred Send Time'"),
            ("serviceReviewInvitation.preferredSendTime", s("2026-02-30T09:00:00"), "'Preferred Send Time'"),
            ("serviceReviewInvitation.preferredSendTime", s("2026-12-01T24:00:00"), "'Preferred Send Time'"),
            ("serviceReviewInvitation.extra", s("x"), "'serviceReviewInvitation.extra' is not a known field."),
        ];
        for (path, value, expected) in table {
            let body = with(path, value.clone());
            let details = check(&body).expect_err(&format!("{path} = {value:?} should be refused"));
            assert!(details.contains(expected), "{path} = {value:?}: {details}");
        }
    }

    #[test]
    fn every_problem_is_reported() {
        let body = json!({"consumerEmail": "x", "referenceNumber": "#1", "serviceReviewInvitation": {}});
        assert_eq!(
            check(&body).unwrap_err(),
            "'Consumer Email' is not in the correct format. \
             'Consumer Name' is required. \
             'Reference Number' must not contain any of # * + \" % &."
        );
    }

    #[test]
    fn bodies_that_are_not_objects_are_refused() {
        assert!(check_invitation(b"{not json").unwrap_err().starts_with("The request body is not valid JSON"));
        assert_eq!(check_invitation(b"[1]").unwrap_err(), "The request body must be a JSON object.");
        assert!(check_invitation(b"").is_err());
    }

    #[test]
    fn every_locale_and_realistic_values_pass() {
        for locale in LOCALES {
            assert!(check(&with("locale", Some(json!(locale)))).is_ok(), "{locale}");
        }
        for email in ["o'brien@example.co.uk", "jörg@bücher.de", "a+tag@sub.example.com", "x_y@ex-ample.io"] {
            assert!(is_email(email), "{email}");
        }
        for email in ["@example.com", "a@-example.com", "a@example.123", "a..b@example.com", "a@example..com"] {
            assert!(!is_email(email), "{email}");
        }
        let ok = ["http://example.com", "https://example.com/thanks?x=1#y"];
        for uri in ok {
            assert!(check(&with("serviceReviewInvitation.redirectUri", Some(json!(uri)))).is_ok(), "{uri}");
        }
    }
}
