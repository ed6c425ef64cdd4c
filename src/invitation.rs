//! The invitation model: the values a row sets for each field of [`crate::fields`], the
//! products an order asks reviews of, and the JSON bodies Trustpilot expects, built from the
//! table of fields.

use serde_json::{Map, Value};

pub use crate::fields::Field;
use crate::fields::{FIELDS, Place};

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
/// A field with an empty value is not set: it is left out of the request, so Trustpilot falls
/// back to the account's invitation settings. Tags are kept joined with `,` (a tag never holds
/// one).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Invitation {
    values: [String; Field::COUNT],
    /// The products of the order, when product reviews are asked for.
    pub products: Products,
}

impl Clone for Invitation {
    fn clone(&self) -> Invitation {
        Invitation { values: self.values.clone(), products: self.products.clone() }
    }

    /// Reuses the strings' memory: a dry run copies every row's invitation into a recycled
    /// line, a million times, without allocating.
    fn clone_from(&mut self, source: &Invitation) {
        for (value, from) in self.values.iter_mut().zip(&source.values) {
            value.clone_from(from);
        }
        self.products.clone_from(&source.products);
    }
}

/// The products an invitation asks reviews of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Products {
    /// A service review only.
    #[default]
    None,
    /// `productReviewInvitation.products`: each product once, with what the file says of it.
    Listed(Vec<Product>),
    /// `productReviewInvitation.productSkus`, for an account with a product catalogue.
    Skus(Vec<String>),
}

impl Products {
    /// The SKUs, as the results' `products` column writes them (`;`-separated: a SKU may hold
    /// a comma).
    pub fn skus(&self) -> Vec<&str> {
        match self {
            Products::None => Vec::new(),
            Products::Listed(products) => products.iter().map(Product::sku).collect(),
            Products::Skus(skus) => skus.iter().map(String::as_str).collect(),
        }
    }

    pub fn is_none(&self) -> bool {
        matches!(self, Products::None)
    }

    /// The products of a request body as it was sent (`productReviewInvitation`), to send
    /// them again exactly.
    pub fn of_request(json: &str) -> Products {
        let Ok(body) = serde_json::from_str::<Value>(json) else { return Products::None };
        let section = &body["productReviewInvitation"];
        if let Some(skus) = section["productSkus"].as_array() {
            return Products::Skus(skus.iter().filter_map(Value::as_str).map(str::to_string).collect());
        }
        let Some(items) = section["products"].as_array() else { return Products::None };
        let products = items
            .iter()
            .map(|item| {
                let mut product = Product::default();
                for field in Field::PRODUCT {
                    if let Some(value) = item[field.spec().json].as_str() {
                        product.set(field, value);
                    }
                }
                product
            })
            .collect();
        Products::Listed(products)
    }
}

/// One product of an order: the product fields of a line item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Product {
    values: [String; Field::PRODUCT.len()],
}

impl Product {
    fn slot(field: Field) -> usize {
        debug_assert!(field.is_product(), "{field} is not a product field");
        field.index() - Field::ProductSku.index()
    }

    /// The product fields of a row.
    pub fn of(invitation: &Invitation) -> Product {
        let mut product = Product::default();
        for field in Field::PRODUCT {
            product.set(field, invitation.value(field));
        }
        product
    }

    pub fn get(&self, field: Field) -> Option<&str> {
        Some(self.values[Product::slot(field)].as_str()).filter(|v| !v.is_empty())
    }

    pub fn set(&mut self, field: Field, value: &str) {
        let slot = &mut self.values[Product::slot(field)];
        slot.clear();
        slot.push_str(value);
    }

    pub fn sku(&self) -> &str {
        &self.values[0]
    }
}

impl Invitation {
    /// The value of `field`, if it is set.
    pub fn get(&self, field: Field) -> Option<&str> {
        Some(self.values[field.index()].as_str()).filter(|v| !v.is_empty())
    }

    /// The value of `field` as the results file writes it (empty when not set).
    pub fn value(&self, field: Field) -> &str {
        &self.values[field.index()]
    }

    /// Sets `field` (reusing its buffer: the validator fills one invitation per row).
    pub fn set(&mut self, field: Field, value: &str) {
        let slot = &mut self.values[field.index()];
        slot.clear();
        slot.push_str(value);
    }

    /// The buffer of `field`, to build its value in place.
    pub fn slot(&mut self, field: Field) -> &mut String {
        &mut self.values[field.index()]
    }

    pub fn clear(&mut self, field: Field) {
        self.values[field.index()].clear();
    }

    /// `self` with `field` set: for building invitations in tests and examples.
    pub fn with(mut self, field: Field, value: &str) -> Invitation {
        self.set(field, value);
        self
    }

    pub fn email(&self) -> &str {
        self.value(Field::Email)
    }

    pub fn name(&self) -> &str {
        self.value(Field::Name)
    }

    pub fn reference(&self) -> &str {
        self.value(Field::Reference)
    }

    /// The tags, one by one.
    pub fn tags(&self) -> impl Iterator<Item = &str> {
        self.value(Field::Tags).split(',').filter(|t| !t.is_empty())
    }

    /// A field's value as JSON: tags as a list, the rest as strings.
    fn json(&self, field: Field) -> Option<Value> {
        let value = self.get(field)?;
        Some(match field {
            Field::Tags => Value::Array(self.tags().map(|t| Value::String(t.to_string())).collect()),
            _ => Value::String(value.to_string()),
        })
    }

    /// The body of `POST .../email-invitations`: the consumer and sender at the top level,
    /// `serviceReviewInvitation` always (it is what asks for a service review, possibly
    /// empty), and `productReviewInvitation` when products are asked for, with the same send
    /// time and page to return to.
    pub fn body(&self) -> Value {
        let mut top = Map::new();
        let mut service = Map::new();
        let mut product = Map::new();
        let products = !self.products.is_none();
        for spec in &FIELDS {
            let Some(value) = self.json(spec.field) else { continue };
            match spec.place {
                Place::Consumer => {
                    top.insert(spec.json.to_string(), value);
                }
                Place::Service => {
                    service.insert(spec.json.to_string(), value);
                }
                Place::Reviews => {
                    if products {
                        product.insert(spec.json.to_string(), value.clone());
                    }
                    service.insert(spec.json.to_string(), value);
                }
                Place::Product => {}
            }
        }
        top.insert("serviceReviewInvitation".to_string(), Value::Object(service));
        match &self.products {
            Products::None => {}
            Products::Listed(list) => {
                let items = list
                    .iter()
                    .map(|item| {
                        let mut fields = Map::new();
                        for field in Field::PRODUCT {
                            if let Some(value) = item.get(field) {
                                fields.insert(field.spec().json.to_string(), Value::String(value.to_string()));
                            }
                        }
                        Value::Object(fields)
                    })
                    .collect();
                product.insert("products".to_string(), Value::Array(items));
                top.insert("productReviewInvitation".to_string(), Value::Object(product));
            }
            Products::Skus(skus) => {
                product.insert(
                    "productSkus".to_string(),
                    Value::Array(skus.iter().map(|s| Value::String(s.clone())).collect()),
                );
                top.insert("productReviewInvitation".to_string(), Value::Object(product));
            }
        }
        Value::Object(top)
    }

    /// The body of `POST .../invitation-links`: the fields a link carries, under the link's
    /// own names (`referenceId`, `email`, `name`, ...).
    pub fn link_body(&self) -> Value {
        let mut top = Map::new();
        for spec in &FIELDS {
            if let (Some(key), Some(value)) = (spec.link, self.json(spec.field)) {
                top.insert(key.to_string(), value);
            }
        }
        Value::Object(top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> Invitation {
        Invitation::default().with(Field::Email, "a@example.com").with(Field::Name, "A").with(Field::Reference, "r1")
    }

    #[test]
    fn minimal_body_leaves_out_unset_fields_but_keeps_the_service_review_object() {
        assert_eq!(
            minimal().body(),
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
        let inv = Invitation::default()
            .with(Field::Email, "john.doe@example.com")
            .with(Field::Name, "John Doe")
            .with(Field::Reference, "inv00001")
            .with(Field::Locale, "en-US")
            .with(Field::Tags, "spring_sale,vip")
            .with(Field::RedirectUri, "https://example.com/thanks")
            .with(Field::PreferredSendTime, "2026-12-01T09:00:00")
            .with(Field::TemplateId, "507f191e810c19729de860ea")
            .with(Field::SenderEmail, "shop@example.com")
            .with(Field::SenderName, "Example Shop")
            .with(Field::ReplyTo, "support@example.com")
            .with(Field::LocationId, "ABC123");
        assert_eq!(
            inv.body(),
            serde_json::json!({
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
                    "tags": ["spring_sale", "vip"]
                }
            })
        );
    }

    #[test]
    fn products_ride_beside_the_service_review_with_the_same_send_time() {
        let mut shirt = Product::default();
        shirt.set(Field::ProductSku, "TS-1");
        shirt.set(Field::ProductName, "T-Shirt");
        shirt.set(Field::ProductUrl, "https://example.com/ts-1");
        let mut inv = minimal().with(Field::PreferredSendTime, "2026-12-01T09:00:00").with(Field::Tags, "vip");
        inv.products = Products::Listed(vec![shirt]);
        let body = inv.body();
        assert_eq!(
            body["productReviewInvitation"],
            serde_json::json!({
                "preferredSendTime": "2026-12-01T09:00:00",
                "products": [{"sku": "TS-1", "name": "T-Shirt", "productUrl": "https://example.com/ts-1"}]
            })
        );
        assert_eq!(body["serviceReviewInvitation"]["tags"], serde_json::json!(["vip"]));
        inv.products = Products::Skus(vec!["TS-1".into(), "SO-2".into()]);
        assert_eq!(inv.body()["productReviewInvitation"]["productSkus"], serde_json::json!(["TS-1", "SO-2"]));
        assert_eq!(inv.products.skus(), ["TS-1", "SO-2"]);
    }

    #[test]
    fn a_link_carries_its_own_names() {
        let inv = minimal().with(Field::Locale, "da-DK").with(Field::Tags, "a,b").with(Field::TemplateId, "t");
        assert_eq!(
            inv.link_body(),
            serde_json::json!({
                "email": "a@example.com",
                "name": "A",
                "referenceId": "r1",
                "locale": "da-DK",
                "tags": ["a", "b"]
            })
        );
    }
}
