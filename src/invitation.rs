//! The invitation model: the fields a row can set, and the JSON body Trustpilot expects.

use serde::Serialize;

/// A field of an invitation, as the input columns, the error report and the results name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Email,
    Name,
    Reference,
    Locale,
    Tags,
    RedirectUri,
    PreferredSendTime,
    TemplateId,
    SenderEmail,
    SenderName,
    ReplyTo,
    LocationId,
}

impl Field {
    /// Every field, in the order of the results file's columns.
    pub const ALL: [Field; 12] = [
        Field::Email,
        Field::Name,
        Field::Reference,
        Field::Locale,
        Field::Tags,
        Field::RedirectUri,
        Field::PreferredSendTime,
        Field::TemplateId,
        Field::SenderEmail,
        Field::SenderName,
        Field::ReplyTo,
        Field::LocationId,
    ];

    /// The fields a file must provide.
    pub const REQUIRED: [Field; 3] = [Field::Email, Field::Name, Field::Reference];

    /// The field's name in files and messages (`redirect_uri`).
    pub fn name(self) -> &'static str {
        match self {
            Field::Email => "email",
            Field::Name => "name",
            Field::Reference => "reference",
            Field::Locale => "locale",
            Field::Tags => "tags",
            Field::RedirectUri => "redirect_uri",
            Field::PreferredSendTime => "preferred_send_time",
            Field::TemplateId => "template_id",
            Field::SenderEmail => "sender_email",
            Field::SenderName => "sender_name",
            Field::ReplyTo => "reply_to",
            Field::LocationId => "location_id",
        }
    }

    /// The field whose name is `name` (exactly as [`Field::name`] spells it).
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|field| field.name() == name)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An email address as keys compare it: in lower case (ASCII fast, else Unicode).
pub fn email_key(email: &str) -> std::borrow::Cow<'_, str> {
    if !email.bytes().any(|b| b.is_ascii_uppercase()) && email.is_ascii() {
        std::borrow::Cow::Borrowed(email)
    } else if email.is_ascii() {
        std::borrow::Cow::Owned(email.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Owned(email.chars().flat_map(char::to_lowercase).collect())
    }
}

/// One invitation, with every value already validated and normalised.
///
/// Optional fields that are `None` are left out of the request, so Trustpilot falls back to
/// the account's invitation settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invitation {
    pub email: String,
    pub name: String,
    pub reference: String,
    pub locale: Option<String>,
    pub tags: Vec<String>,
    pub redirect_uri: Option<String>,
    /// UTC, `YYYY-MM-DDTHH:MM:SS`.
    pub preferred_send_time: Option<String>,
    pub template_id: Option<String>,
    pub sender_email: Option<String>,
    pub sender_name: Option<String>,
    pub reply_to: Option<String>,
    pub location_id: Option<String>,
}

/// The body of `POST .../email-invitations`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationBody<'a> {
    pub consumer_email: &'a str,
    pub consumer_name: &'a str,
    pub reference_number: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_id: Option<&'a str>,
    /// Always present: it is what asks for a service review.
    pub service_review_invitation: ServiceReviewInvitation<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceReviewInvitation<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_send_time: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub tags: &'a [String],
}

impl Invitation {
    pub fn body(&self) -> InvitationBody<'_> {
        InvitationBody {
            consumer_email: &self.email,
            consumer_name: &self.name,
            reference_number: &self.reference,
            locale: self.locale.as_deref(),
            sender_email: self.sender_email.as_deref(),
            sender_name: self.sender_name.as_deref(),
            reply_to: self.reply_to.as_deref(),
            location_id: self.location_id.as_deref(),
            service_review_invitation: ServiceReviewInvitation {
                template_id: self.template_id.as_deref(),
                preferred_send_time: self.preferred_send_time.as_deref(),
                redirect_uri: self.redirect_uri.as_deref(),
                tags: &self.tags,
            },
        }
    }

    /// The value of `field` as the results file writes it (tags joined with `,`).
    pub fn value(&self, field: Field) -> std::borrow::Cow<'_, str> {
        use std::borrow::Cow;
        fn opt(v: &Option<String>) -> Cow<'_, str> {
            Cow::Borrowed(v.as_deref().unwrap_or(""))
        }
        match field {
            Field::Email => Cow::Borrowed(&self.email),
            Field::Name => Cow::Borrowed(&self.name),
            Field::Reference => Cow::Borrowed(&self.reference),
            Field::Locale => opt(&self.locale),
            Field::Tags => match self.tags.as_slice() {
                [] => Cow::Borrowed(""),
                [one] => Cow::Borrowed(one),
                many => Cow::Owned(many.join(",")),
            },
            Field::RedirectUri => opt(&self.redirect_uri),
            Field::PreferredSendTime => opt(&self.preferred_send_time),
            Field::TemplateId => opt(&self.template_id),
            Field::SenderEmail => opt(&self.sender_email),
            Field::SenderName => opt(&self.sender_name),
            Field::ReplyTo => opt(&self.reply_to),
            Field::LocationId => opt(&self.location_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_body_leaves_out_unset_fields_but_keeps_the_service_review_object() {
        let inv = Invitation {
            email: "a@example.com".into(),
            name: "A".into(),
            reference: "r1".into(),
            ..Invitation::default()
        };
        let json = serde_json::to_value(inv.body()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "consumerEmail": "a@example.com",
                "consumerName": "A",
                "referenceNumber": "r1",
                "serviceReviewInvitation": {}
            })
        );
    }

    #[test]
    fn full_body_uses_trustpilot_names() {
        let inv = Invitation {
            email: "john.doe@example.com".into(),
            name: "John Doe".into(),
            reference: "inv00001".into(),
            locale: Some("en-US".into()),
            tags: vec!["spring_sale".into(), "vip".into()],
            redirect_uri: Some("https://example.com/thanks".into()),
            preferred_send_time: Some("2026-12-01T09:00:00".into()),
            template_id: Some("507f191e810c19729de860ea".into()),
            sender_email: Some("shop@example.com".into()),
            sender_name: Some("Example Shop".into()),
            reply_to: Some("support@example.com".into()),
            location_id: Some("ABC123".into()),
        };
        let json = serde_json::to_value(inv.body()).unwrap();
        assert_eq!(json["serviceReviewInvitation"]["tags"], serde_json::json!(["spring_sale", "vip"]));
        assert_eq!(json["serviceReviewInvitation"]["templateId"], "507f191e810c19729de860ea");
        assert_eq!(json["serviceReviewInvitation"]["preferredSendTime"], "2026-12-01T09:00:00");
        assert_eq!(json["serviceReviewInvitation"]["redirectUri"], "https://example.com/thanks");
        assert_eq!(json["replyTo"], "support@example.com");
        assert_eq!(json["locationId"], "ABC123");
        assert_eq!(json["senderName"], "Example Shop");
        assert_eq!(json["locale"], "en-US");
    }

    #[test]
    fn field_names_round_trip() {
        for field in Field::ALL {
            assert_eq!(Field::from_name(field.name()), Some(field));
        }
    }
}
