//! Request bodies as the invitations host checks them, and what it answers with a 400: an
//! email invitation (its service review and product review sections) and an invitation link.
//!
//! Stricter than lenient where the real service's behaviour is unknown (unknown fields, `null`,
//! empty strings, empty lists, a SKU listed twice): a client that passes here sends bodies the
//! real service accepts.

use std::collections::HashMap;

use chrono::NaiveDateTime;
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

/// One field of a body: its JSON name, the name the error details use, how its value is
/// checked, and whether it must be there.
#[derive(Debug, Clone, Copy)]
struct Field {
    name: &'static str,
    label: &'static str,
    rule: Rule,
    required: bool,
}

const fn required(name: &'static str, label: &'static str, rule: Rule) -> Field {
    Field { name, label, rule, required: true }
}

const fn optional(name: &'static str, label: &'static str, rule: Rule) -> Field {
    Field { name, label, rule, required: false }
}

/// An email invitation's top-level fields, besides its two sections.
const TOP_LEVEL: [Field; 8] = [
    required("consumerEmail", "Consumer Email", Rule::Email),
    required("consumerName", "Consumer Name", Rule::Name),
    required("referenceNumber", "Reference Number", Rule::Reference),
    optional("locale", "Locale", Rule::Locale),
    optional("senderEmail", "Sender Email", Rule::Email),
    optional("senderName", "Sender Name", Rule::Name),
    optional("replyTo", "Reply To", Rule::Email),
    optional("locationId", "Location Id", Rule::Text),
];

const SERVICE_REVIEW: &str = "serviceReviewInvitation";
const PRODUCT_REVIEW: &str = "productReviewInvitation";
const PRODUCTS: &str = "products";
const PRODUCT_SKUS: &str = "productSkus";

/// The fields of `serviceReviewInvitation`, all optional.
const SERVICE_REVIEW_FIELDS: [Field; 4] = [
    optional("templateId", "Template Id", Rule::Text),
    optional("preferredSendTime", "Preferred Send Time", Rule::SendTime),
    optional("redirectUri", "Redirect Uri", Rule::Uri),
    optional("tags", "Tags", Rule::Tags),
];

/// The fields of `productReviewInvitation` beside its products (`products` or `productSkus`,
/// exactly one of them). Its details name them by path (`productReviewInvitation.templateId`),
/// since the bare labels already stand for the service section's fields.
const PRODUCT_REVIEW_FIELDS: [Field; 3] = [
    optional("templateId", "Template Id", Rule::Text),
    optional("preferredSendTime", "Preferred Send Time", Rule::SendTime),
    optional("redirectUri", "Redirect Uri", Rule::Uri),
];

/// The fields of one product of `productReviewInvitation.products`. Which ones Trustpilot
/// requires is not documented; a product without its SKU or name cannot be reviewed or shown.
const PRODUCT_FIELDS: [Field; 8] = [
    required("sku", "Sku", Rule::Text),
    required("name", "Name", Rule::Name),
    optional("productUrl", "Product Url", Rule::Uri),
    optional("imageUrl", "Image Url", Rule::Uri),
    optional("gtin", "Gtin", Rule::Text),
    optional("mpn", "Mpn", Rule::Text),
    optional("brand", "Brand", Rule::Name),
    optional("productCategoryGoogleId", "Product Category Google Id", Rule::Text),
];

/// The fields of an invitation link request (named unlike the email invitation's).
const LINK_FIELDS: [Field; 7] = [
    required("referenceId", "Reference Id", Rule::Reference),
    required("email", "Email", Rule::Email),
    required("name", "Name", Rule::Name),
    optional("locale", "Locale", Rule::Locale),
    optional("tags", "Tags", Rule::Tags),
    optional("redirectUri", "Redirect Uri", Rule::Uri),
    optional("locationId", "Location Id", Rule::Text),
];

/// A body that passed every check: whom it is for, its reference (`referenceNumber` of an
/// invitation, `referenceId` of a link), and the body itself.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Checked {
    pub email: String,
    pub reference: String,
    pub body: Value,
}

/// Check an email invitation body. `Err` holds the `details` sentence(s) of the 400: every
/// problem found, in field order, joined by spaces.
///
/// It asks for a service review, a product review, or both: with neither section there is
/// nothing to send, so that is refused too (400, as the real service's validation would).
pub(crate) fn check_invitation(body: &[u8]) -> Result<Checked, String> {
    let object = parse(body)?;
    let mut problems = Vec::new();
    unknown_fields(&object, &TOP_LEVEL, &[SERVICE_REVIEW, PRODUCT_REVIEW], None, &mut problems);
    check_fields(&object, &TOP_LEVEL, None, &mut problems);
    if !object.contains_key(SERVICE_REVIEW) && !object.contains_key(PRODUCT_REVIEW) {
        problems.push("'Service Review Invitation' or 'Product Review Invitation' is required.".to_string());
    }
    let service = section(&object, SERVICE_REVIEW, "Service Review Invitation", &mut problems);
    if let Some(service) = service {
        unknown_fields(service, &SERVICE_REVIEW_FIELDS, &[], Some(SERVICE_REVIEW), &mut problems);
        check_fields(service, &SERVICE_REVIEW_FIELDS, None, &mut problems);
    }
    let product = section(&object, PRODUCT_REVIEW, "Product Review Invitation", &mut problems);
    if let Some(product) = product {
        unknown_fields(product, &PRODUCT_REVIEW_FIELDS, &[PRODUCTS, PRODUCT_SKUS], Some(PRODUCT_REVIEW), &mut problems);
        check_fields(product, &PRODUCT_REVIEW_FIELDS, Some(PRODUCT_REVIEW), &mut problems);
        check_products(product, &mut problems);
    }
    if let (Some(service), Some(product)) = (service, product) {
        check_send_times(service, product, &mut problems);
    }
    checked(object, problems, "consumerEmail", "referenceNumber")
}

/// Check an invitation link body, as [`check_invitation`] does an invitation's.
pub(crate) fn check_link(body: &[u8]) -> Result<Checked, String> {
    let object = parse(body)?;
    let mut problems = Vec::new();
    unknown_fields(&object, &LINK_FIELDS, &[], None, &mut problems);
    check_fields(&object, &LINK_FIELDS, None, &mut problems);
    checked(object, problems, "email", "referenceId")
}

/// The SKUs an email invitation asks reviews for, in its order: its products' or its
/// `productSkus`; none without a product review section.
pub(crate) fn skus(body: &Value) -> Vec<&str> {
    let section = &body[PRODUCT_REVIEW];
    let products = section[PRODUCTS].as_array().into_iter().flatten().filter_map(|product| product["sku"].as_str());
    let listed = section[PRODUCT_SKUS].as_array().into_iter().flatten().filter_map(Value::as_str);
    products.chain(listed).collect()
}

fn parse(body: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err("The request body must be a JSON object.".to_string()),
        Err(error) => Err(format!("The request body is not valid JSON ({error}).")),
    }
}

/// The problems as one `details` text, or the body with its email and reference.
fn checked(object: Map<String, Value>, problems: Vec<String>, email: &str, reference: &str) -> Result<Checked, String> {
    if !problems.is_empty() {
        return Err(problems.join(" "));
    }
    let text = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
    let (email, reference) = (text(email), text(reference));
    Ok(Checked { email, reference, body: Value::Object(object) })
}

/// The object under `key`, if there is one there.
fn section<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    label: &str,
    problems: &mut Vec<String>,
) -> Option<&'a Map<String, Value>> {
    match object.get(key)? {
        Value::Object(section) => Some(section),
        _ => {
            problems.push(format!("'{label}' must be an object."));
            None
        }
    }
}

/// `key` as the details name it: its path below `path`, or itself at the top.
fn at(path: Option<&str>, key: &str) -> String {
    path.map_or_else(|| key.to_string(), |path| format!("{path}.{key}"))
}

/// Keys that are neither one of `fields` nor one of the `sections` (checked by the caller).
fn unknown_fields(
    object: &Map<String, Value>,
    fields: &[Field],
    sections: &[&str],
    path: Option<&str>,
    problems: &mut Vec<String>,
) {
    for key in object.keys() {
        if !fields.iter().any(|field| field.name == key) && !sections.contains(&key.as_str()) {
            problems.push(format!("'{}' is not a known field.", at(path, key)));
        }
    }
}

/// Check the fields an object may hold, in their documented order; named by their label, or
/// by their path below `path`.
fn check_fields(object: &Map<String, Value>, fields: &[Field], path: Option<&str>, problems: &mut Vec<String>) {
    for field in fields {
        let label = path.map_or_else(|| field.label.to_string(), |path| at(Some(path), field.name));
        match object.get(field.name) {
            Some(value) => {
                if let Err(problem) = check_value(value, &label, field.rule) {
                    problems.push(problem);
                }
            }
            None if field.required => problems.push(format!("'{label}' is required.")),
            None => {}
        }
    }
}

/// `products` or `productSkus`, never both and not neither: a non-empty list, each product
/// valid, and no SKU twice (a product is asked about once per invitation; the real service's
/// answer to a repeat is not documented, so the sandbox holds clients to listing it once).
fn check_products(section: &Map<String, Value>, problems: &mut Vec<String>) {
    let mut skus: Vec<(String, &str)> = Vec::new();
    match (section.get(PRODUCTS), section.get(PRODUCT_SKUS)) {
        (Some(_), Some(_)) => {
            problems.push(format!("'{PRODUCT_REVIEW}' holds both '{PRODUCTS}' and '{PRODUCT_SKUS}': send one of them."))
        }
        (None, None) => problems.push(format!("'{PRODUCT_REVIEW}' needs '{PRODUCTS}' or '{PRODUCT_SKUS}'.")),
        (Some(products), None) => {
            let path = format!("{PRODUCT_REVIEW}.{PRODUCTS}");
            for (index, item) in list(products, &path, "a list of products", problems).iter().enumerate() {
                let path = format!("{path}[{index}]");
                let Some(product) = item.as_object() else {
                    problems.push(format!("'{path}' must be an object."));
                    continue;
                };
                unknown_fields(product, &PRODUCT_FIELDS, &[], Some(&path), problems);
                check_fields(product, &PRODUCT_FIELDS, Some(&path), problems);
                if let Some(sku) = product.get("sku").and_then(Value::as_str) {
                    skus.push((at(Some(&path), "sku"), sku));
                }
            }
        }
        (None, Some(listed)) => {
            let path = format!("{PRODUCT_REVIEW}.{PRODUCT_SKUS}");
            for (index, item) in list(listed, &path, "a list of SKUs", problems).iter().enumerate() {
                let label = format!("{path}[{index}]");
                match check_value(item, &label, Rule::Text) {
                    Ok(()) => skus.push((label, item.as_str().unwrap_or_default())),
                    Err(problem) => problems.push(problem),
                }
            }
        }
    }
    let mut first: HashMap<&str, &str> = HashMap::new();
    for (label, sku) in &skus {
        if sku.trim().is_empty() {
            continue;
        }
        match first.get(sku) {
            Some(earlier) => {
                problems.push(format!("'{label}' '{sku}' is already listed at '{earlier}': list each product once."))
            }
            None => {
                first.insert(sku, label);
            }
        }
    }
}

/// The items of the non-empty list `value`; none (and a problem) if it is anything else.
fn list<'a>(value: &'a Value, path: &str, what: &str, problems: &mut Vec<String>) -> &'a [Value] {
    match value.as_array() {
        Some(items) if !items.is_empty() => items,
        Some(_) => {
            problems.push(format!("'{path}' must not be empty."));
            &[]
        }
        None => {
            problems.push(format!("'{path}' must be {what}."));
            &[]
        }
    }
}

/// When both sections say when to send, the service review goes first or at the same time.
fn check_send_times(service: &Map<String, Value>, product: &Map<String, Value>, problems: &mut Vec<String>) {
    fn when(section: &Map<String, Value>) -> Option<(NaiveDateTime, &str)> {
        let text = section.get("preferredSendTime")?.as_str()?;
        send_time(text).map(|time| (time, text))
    }
    if let (Some((service_time, service_text)), Some((product_time, product_text))) = (when(service), when(product))
        && service_time > product_time
    {
        problems.push(format!(
            "The service review's 'Preferred Send Time' ({service_text}) must not be later than the product \
             review's ({product_text})."
        ));
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
        Rule::SendTime => send_time(text).is_some(),
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
fn send_time(text: &str) -> Option<NaiveDateTime> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 19
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").ok()
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
            (
                "serviceReviewInvitation",
                None,
                "'Service Review Invitation' or 'Product Review Invitation' is required.",
            ),
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
    fn product_reviews_pass_beside_or_instead_of_the_service_review() {
        let mut both = full();
        both["productReviewInvitation"] = json!({
            "templateId": "507f191e810c19729de860ea",
            // The same time as the service review's: not later, so in order.
            "preferredSendTime": "2026-12-01T09:00:00",
            "redirectUri": "https://example.com/thanks",
            "products": [
                {"sku": "ABC-1234", "name": "Metal Toy Car", "productUrl": "https://example.com/car",
                 "imageUrl": "https://example.com/car.png", "gtin": "01234567890128", "mpn": "7TX1641",
                 "brand": "Acme", "productCategoryGoogleId": "1253"},
                {"sku": "abc-1234", "name": "Kite"}
            ]
        });
        let checked = check(&both).unwrap();
        assert_eq!(checked.body, both);
        assert_eq!(skus(&checked.body), ["ABC-1234", "abc-1234"], "SKUs differing in case are different SKUs");

        let mut alone = both.clone();
        alone.as_object_mut().unwrap().remove("serviceReviewInvitation");
        assert_eq!(check(&alone).unwrap().reference, "inv00001");

        let mut listed = minimal();
        listed["productReviewInvitation"] = json!({"productSkus": ["A-1", "B-2"]});
        assert_eq!(skus(&check(&listed).unwrap().body), ["A-1", "B-2"]);
        assert!(skus(&full()).is_empty());
    }

    #[test]
    fn link_bodies_pass_and_name_the_email_and_reference() {
        let body = json!({
            "referenceId": "inv00001",
            "email": "john.doe@example.com",
            "name": "John Doe",
            "locale": "en-US",
            "tags": ["sms"],
            "redirectUri": "https://example.com/thanks",
            "locationId": "ABC123"
        });
        let checked = check_link(body.to_string().as_bytes()).unwrap();
        assert_eq!((checked.email.as_str(), checked.reference.as_str()), ("john.doe@example.com", "inv00001"));
        assert_eq!(checked.body, body);
        // Every problem, in field order, as for an invitation.
        assert_eq!(
            check_link(b"{}").unwrap_err(),
            "'Reference Id' is required. 'Email' is required. 'Name' is required."
        );
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
