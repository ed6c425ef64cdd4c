//! The one table of fields ([`FIELDS`]): what a row of an export can set, and for each its
//! name (in files, `--map` and messages), where it goes in Trustpilot's requests, how it is
//! checked, and whether a flag gives it a default. The input's mapping, the rules, the
//! request bodies, the results' columns, the default flags and the sandbox all read it, so a
//! field is added here, once.

/// A field of an invitation, or of a product an order lists.
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
    ProductSku,
    ProductName,
    ProductUrl,
    ProductImageUrl,
    ProductGtin,
    ProductMpn,
    ProductBrand,
}

/// How a value is checked and normalised (see `validate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// One address, reduced from spreadsheet forms for the customer's own.
    Email,
    /// A person's or a shop's name: no control characters, at most 255 characters.
    Name,
    /// The order number: no `# * + " % &`, a leading `#` or `'` dropped.
    Reference,
    /// One of Trustpilot's invitation locales, normalised (`en_us` -> `en-US`).
    Locale,
    /// Tags split on `,` `;` `|`, each `a-z A-Z 0-9 _ - .`, kept joined with `,`.
    Tags,
    /// An absolute `http(s)://` address with a host.
    Url,
    /// A date or date-time, sent as UTC `YYYY-MM-DDTHH:MM:SS`.
    SendTime,
    /// An id or a label: no control characters, at most 255 characters.
    Text,
}

/// Where a value goes in the body of `POST .../email-invitations`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The top level: the consumer and the sender.
    Consumer,
    /// `serviceReviewInvitation` only.
    Service,
    /// `serviceReviewInvitation`, and `productReviewInvitation` when products are asked for
    /// (the same send time and page to return to for both).
    Reviews,
    /// One product of `productReviewInvitation.products`.
    Product,
}

/// One row of [`FIELDS`].
#[derive(Debug)]
pub struct Spec {
    pub field: Field,
    /// In files, `--map` and messages: `redirect_uri`.
    pub name: &'static str,
    /// Its key in the email invitation's JSON: `redirectUri`.
    pub json: &'static str,
    /// Its key in an invitation link's JSON, if a link carries it (`referenceId`, `email`).
    pub link: Option<&'static str>,
    pub place: Place,
    pub rule: Rule,
    /// Every row must have it (after the flag's default).
    pub required: bool,
    /// A flag of the same name gives rows without it a default (`--redirect-uri`).
    pub flag: Option<&'static str>,
    /// What the flag's help says.
    pub help: &'static str,
    /// Header names that hold it in real exports, normalised (lower case, no spaces, `_`,
    /// `-` or `.`), most specific first. The required fields' columns are found by richer
    /// rules in the input's header mapping, not here.
    pub aliases: &'static [&'static str],
    /// More names, used only in a file laid out for this tool (where a `tags` column is
    /// Trustpilot's, not a shop platform's customer tags).
    pub own_aliases: &'static [&'static str],
}

/// Every field, in [`Field`] order.
pub const FIELDS: [Spec; Field::COUNT] = [
    Spec {
        field: Field::Email,
        name: "email",
        json: "consumerEmail",
        link: Some("email"),
        place: Place::Consumer,
        rule: Rule::Email,
        required: true,
        flag: None,
        help: "",
        aliases: &[],
        own_aliases: &[],
    },
    Spec {
        field: Field::Name,
        name: "name",
        json: "consumerName",
        link: Some("name"),
        place: Place::Consumer,
        rule: Rule::Name,
        required: true,
        flag: None,
        help: "",
        aliases: &[],
        own_aliases: &[],
    },
    Spec {
        field: Field::Reference,
        name: "reference",
        json: "referenceNumber",
        link: Some("referenceId"),
        place: Place::Consumer,
        rule: Rule::Reference,
        required: true,
        flag: None,
        help: "",
        aliases: &[],
        own_aliases: &[],
    },
    Spec {
        field: Field::Locale,
        name: "locale",
        json: "locale",
        link: Some("locale"),
        place: Place::Consumer,
        rule: Rule::Locale,
        required: false,
        flag: Some("locale"),
        help: "Default locale, e.g. en-GB",
        aliases: &[
            "locale",
            "customerlocale",
            "languagecode",
            "language",
            "customerlanguage",
            "lang",
            "sprache",
            "langue",
            "taal",
            "sprog",
            "språk",
            "idioma",
            "lingua",
        ],
        own_aliases: &[],
    },
    Spec {
        field: Field::Tags,
        name: "tags",
        json: "tags",
        link: Some("tags"),
        place: Place::Service,
        rule: Rule::Tags,
        required: false,
        flag: Some("tags"),
        help: "Default tags, e.g. \"black_friday,vip\"",
        aliases: &["invitationtags", "trustpilottags", "reviewtags"],
        own_aliases: &["tags", "tag"],
    },
    Spec {
        field: Field::RedirectUri,
        name: "redirect_uri",
        json: "redirectUri",
        link: Some("redirectUri"),
        place: Place::Reviews,
        rule: Rule::Url,
        required: false,
        flag: Some("redirect-uri"),
        help: "Default page to send the customer to after the review",
        aliases: &["redirecturi", "redirecturl", "redirect", "redirectlink", "returnurl"],
        own_aliases: &[],
    },
    Spec {
        field: Field::PreferredSendTime,
        name: "preferred_send_time",
        json: "preferredSendTime",
        link: None,
        place: Place::Reviews,
        rule: Rule::SendTime,
        required: false,
        flag: None,
        help: "",
        aliases: &["preferredsendtime", "preferredsenddate", "sendtime", "senddate", "sendat", "sendon", "sendafter"],
        own_aliases: &[],
    },
    Spec {
        field: Field::TemplateId,
        name: "template_id",
        json: "templateId",
        link: None,
        place: Place::Service,
        rule: Rule::Text,
        required: false,
        flag: Some("template-id"),
        help: "Default invitation template id (see `tp-invite templates`)",
        aliases: &["templateid", "template", "invitationtemplateid", "invitationtemplate"],
        own_aliases: &[],
    },
    Spec {
        field: Field::SenderEmail,
        name: "sender_email",
        json: "senderEmail",
        link: None,
        place: Place::Consumer,
        rule: Rule::Email,
        required: false,
        flag: Some("sender-email"),
        help: "Default sender email address",
        aliases: &["senderemail", "senderemailaddress", "fromemail"],
        own_aliases: &[],
    },
    Spec {
        field: Field::SenderName,
        name: "sender_name",
        json: "senderName",
        link: None,
        place: Place::Consumer,
        rule: Rule::Name,
        required: false,
        flag: Some("sender-name"),
        help: "Default sender name shown in the email",
        aliases: &["sendername", "fromname"],
        own_aliases: &[],
    },
    Spec {
        field: Field::ReplyTo,
        name: "reply_to",
        json: "replyTo",
        link: None,
        place: Place::Consumer,
        rule: Rule::Email,
        required: false,
        flag: Some("reply-to"),
        help: "Default reply-to address",
        aliases: &["replyto", "replytoemail", "replytoaddress"],
        own_aliases: &[],
    },
    Spec {
        field: Field::LocationId,
        name: "location_id",
        json: "locationId",
        link: Some("locationId"),
        place: Place::Consumer,
        rule: Rule::Text,
        required: false,
        flag: Some("location-id"),
        help: "Default location id",
        aliases: &["locationid", "trustpilotlocationid"],
        own_aliases: &["location"],
    },
    Spec {
        field: Field::ProductSku,
        name: "product_sku",
        json: "sku",
        link: None,
        place: Place::Product,
        rule: Rule::Text,
        required: false,
        flag: None,
        help: "",
        aliases: &[
            "lineitemsku",
            "productsku",
            "itemsku",
            "sku",
            "variantsku",
            "artikelnummer",
            "articlenumber",
            "productcode",
            "itemcode",
            "partnumber",
            "referenceproduit",
        ],
        own_aliases: &[],
    },
    Spec {
        field: Field::ProductName,
        name: "product_name",
        json: "name",
        link: None,
        place: Place::Product,
        rule: Rule::Text,
        required: false,
        flag: None,
        help: "",
        aliases: &[
            "lineitemname",
            "productname",
            "itemname",
            "producttitle",
            "itemtitle",
            "product",
            "artikelname",
            "artikel",
            "produktname",
            "nomduproduit",
            "produit",
        ],
        own_aliases: &[],
    },
    Spec {
        field: Field::ProductUrl,
        name: "product_url",
        json: "productUrl",
        link: None,
        place: Place::Product,
        rule: Rule::Url,
        required: false,
        flag: None,
        help: "",
        aliases: &["producturl", "productlink", "itemurl", "lineitemurl", "productpage"],
        own_aliases: &[],
    },
    Spec {
        field: Field::ProductImageUrl,
        name: "product_image_url",
        json: "imageUrl",
        link: None,
        place: Place::Product,
        rule: Rule::Url,
        required: false,
        flag: None,
        help: "",
        aliases: &["productimageurl", "productimage", "imageurl", "image", "lineitemimage", "itemimage"],
        own_aliases: &[],
    },
    Spec {
        field: Field::ProductGtin,
        name: "product_gtin",
        json: "gtin",
        link: None,
        place: Place::Product,
        rule: Rule::Text,
        required: false,
        flag: None,
        help: "",
        aliases: &["productgtin", "gtin", "ean", "upc", "barcode", "lineitembarcode", "isbn"],
        own_aliases: &[],
    },
    Spec {
        field: Field::ProductMpn,
        name: "product_mpn",
        json: "mpn",
        link: None,
        place: Place::Product,
        rule: Rule::Text,
        required: false,
        flag: None,
        help: "",
        aliases: &["productmpn", "mpn", "manufacturerpartnumber"],
        own_aliases: &[],
    },
    Spec {
        field: Field::ProductBrand,
        name: "product_brand",
        json: "brand",
        link: None,
        place: Place::Product,
        rule: Rule::Text,
        required: false,
        flag: None,
        help: "",
        aliases: &["productbrand", "brand", "vendor", "lineitemvendor", "manufacturer", "marke", "marque"],
        own_aliases: &[],
    },
];

impl Field {
    pub const COUNT: usize = 19;

    /// Every field, in table order.
    pub const ALL: [Field; Field::COUNT] = [
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
        Field::ProductSku,
        Field::ProductName,
        Field::ProductUrl,
        Field::ProductImageUrl,
        Field::ProductGtin,
        Field::ProductMpn,
        Field::ProductBrand,
    ];

    /// The fields of the invitation itself (the results' columns), in table order.
    pub const INVITATION: [Field; 12] = [
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

    /// The fields of an order's line item (read with `--products`).
    pub const PRODUCT: [Field; 7] = [
        Field::ProductSku,
        Field::ProductName,
        Field::ProductUrl,
        Field::ProductImageUrl,
        Field::ProductGtin,
        Field::ProductMpn,
        Field::ProductBrand,
    ];

    /// The fields a file must provide.
    pub const REQUIRED: [Field; 3] = [Field::Email, Field::Name, Field::Reference];

    pub fn spec(self) -> &'static Spec {
        &FIELDS[self as usize]
    }

    /// The field's name in files and messages (`redirect_uri`).
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The field whose name is `name` (exactly as [`Field::name`] spells it).
    pub fn from_name(name: &str) -> Option<Field> {
        FIELDS.iter().find(|spec| spec.name == name).map(|spec| spec.field)
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn is_product(self) -> bool {
        self.spec().place == Place::Product
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_field_order_and_names_are_unique() {
        for (i, spec) in FIELDS.iter().enumerate() {
            assert_eq!(spec.field as usize, i, "{}", spec.name);
            assert_eq!(Field::ALL[i], spec.field);
            assert_eq!(Field::from_name(spec.name), Some(spec.field));
        }
        let mut names: Vec<&str> = FIELDS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Field::COUNT);
        assert_eq!(Field::INVITATION.len() + Field::PRODUCT.len(), Field::COUNT);
        assert!(Field::PRODUCT.iter().all(|f| f.is_product()));
        assert!(Field::INVITATION.iter().all(|f| !f.is_product()));
    }

    #[test]
    fn aliases_are_normalised_and_no_two_fields_share_one() {
        let mut seen = std::collections::HashMap::new();
        for spec in &FIELDS {
            for alias in spec.aliases.iter().chain(spec.own_aliases) {
                assert!(
                    !alias.chars().any(|c| c.is_uppercase() || matches!(c, ' ' | '_' | '-' | '.')),
                    "{alias} is not normalised"
                );
                if let Some(other) = seen.insert(*alias, spec.name) {
                    panic!("{alias} is an alias of both {other} and {}", spec.name);
                }
            }
        }
    }

    #[test]
    fn flags_and_json_keys() {
        assert_eq!(Field::RedirectUri.spec().flag, Some("redirect-uri"));
        assert_eq!(Field::Reference.spec().link, Some("referenceId"));
        let flagged: Vec<&str> = FIELDS.iter().filter_map(|s| s.flag).collect();
        assert_eq!(
            flagged,
            ["locale", "tags", "redirect-uri", "template-id", "sender-email", "sender-name", "reply-to", "location-id"]
        );
    }
}
