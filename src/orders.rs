//! Orders and their line items, for product reviews (`--products`): an order's rows may be
//! anywhere in the file, so a first pass gathers them here, and the invitation of the order's
//! first valid row then lists every product of the order once.
//!
//! A row belongs to the order of its reference when its email is empty or the order's first
//! valid row's (in any case): exports repeat the email on further line items (Shopify) or leave
//! it out (Squarespace). A row with another email is another customer, whose products are
//! never listed in this customer's invitation.
//!
//! With `--product-skus` only a line item's SKU is sent (the account's product catalogue at
//! Trustpilot knows the rest): a line item is left out only for a problem with its SKU, not for
//! a missing name or a bad URL that would not be sent.
//!
//! Memory holds a small entry per order (the hash of its reference, its first row and the hash
//! of that row's email); the line items themselves go to a temporary SQLite file that is
//! removed with the index.

use std::collections::HashMap;

use rusqlite::{Connection, params};

use crate::fields::Field;
use crate::invitation::{Invitation, Product, Products};
use crate::validate::Checked;

/// The orders of one file.
pub struct OrderIndex {
    /// The reference's hash -> the order's first valid row and the hash of its email.
    firsts: HashMap<u64, (u64, i64)>,
    conn: Connection,
    /// Keeps the temporary file until the index is dropped.
    _dir: tempfile::TempDir,
    /// Send the SKUs alone (`--product-skus`).
    skus_only: bool,
    /// Line items that can be listed whole, and those whose SKU alone can be sent.
    items: u64,
    sku_items: u64,
    /// Line items left out when listed whole, and when their SKU alone is sent (their problems
    /// are in the error report).
    left_out: u64,
    left_out_skus: u64,
}

/// What gathering the orders found, for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderCounts {
    pub orders: u64,
    pub line_items: u64,
    pub left_out: u64,
}

fn key(reference: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(reference.as_bytes())
}

/// An email's hash (in lower case), as SQLite keeps it; `None` for an empty email.
fn email_key(email: &str) -> Option<i64> {
    (!email.is_empty()).then(|| xxhash_rust::xxh3::xxh3_64(crate::invitation::email_key(email).as_bytes()) as i64)
}

fn failed(error: rusqlite::Error) -> crate::error::Error {
    crate::error::Error::other(
        "orders.unavailable",
        format!(
            "cannot keep the orders' line items in a temporary file: {error}. Check the free space of the temporary folder."
        ),
    )
}

impl OrderIndex {
    pub fn new() -> Result<OrderIndex, crate::error::Error> {
        let dir = tempfile::Builder::new().prefix("tp-invite-orders.").tempdir().map_err(|e| {
            crate::error::Error::other("orders.unavailable", format!("cannot create a temporary folder: {e}"))
        })?;
        let conn = Connection::open(dir.path().join("orders.sqlite")).map_err(failed)?;
        // Scratch data: nothing to make durable.
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
             CREATE TABLE items (reference TEXT NOT NULL, row INTEGER NOT NULL, email INTEGER, listed INTEGER NOT NULL,
                 sku TEXT NOT NULL, name TEXT, url TEXT, image TEXT, gtin TEXT, mpn TEXT, brand TEXT);
             CREATE INDEX items_by_order ON items (reference, row);
             BEGIN;",
        )
        .map_err(failed)?;
        Ok(OrderIndex {
            firsts: HashMap::new(),
            conn,
            _dir: dir,
            skus_only: false,
            items: 0,
            sku_items: 0,
            left_out: 0,
            left_out_skus: 0,
        })
    }

    /// The orders' products are sent as SKUs alone (`--product-skus`).
    pub fn skus_only(&mut self) {
        self.skus_only = true;
    }

    /// Takes in one checked row: a valid row opens its order (if its reference has none yet),
    /// and any row's usable line item is kept under its reference.
    pub fn add(&mut self, row: u64, checked: &Checked) -> Result<(), crate::error::Error> {
        let reference = checked.invitation.reference();
        if reference.is_empty() {
            return Ok(());
        }
        let email = email_key(checked.invitation.email());
        if checked.is_valid() {
            self.firsts.entry(key(reference)).or_insert((row, email.unwrap_or_default()));
        }
        let sku_problem = checked.product_problems.iter().any(|p| p.field == Field::ProductSku.name());
        self.left_out += u64::from(!checked.product_problems.is_empty());
        self.left_out_skus += u64::from(sku_problem);
        let listed = checked.product.is_some();
        let product = match &checked.product {
            Some(product) => std::borrow::Cow::Borrowed(product),
            None if !sku_problem && checked.invitation.get(Field::ProductSku).is_some() => {
                std::borrow::Cow::Owned(Product::of(&checked.invitation))
            }
            None => return Ok(()),
        };
        let value = |field: Field| product.get(field);
        self.conn
            .prepare_cached("INSERT INTO items VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")
            .and_then(|mut insert| {
                insert.execute(params![
                    reference,
                    i64::try_from(row).unwrap_or(i64::MAX),
                    email,
                    listed,
                    product.sku(),
                    value(Field::ProductName),
                    value(Field::ProductUrl),
                    value(Field::ProductImageUrl),
                    value(Field::ProductGtin),
                    value(Field::ProductMpn),
                    value(Field::ProductBrand)
                ])
            })
            .map_err(failed)?;
        self.items += u64::from(listed);
        self.sku_items += 1;
        Ok(())
    }

    /// Done adding: the line items are ready to be read.
    pub fn close(&mut self) -> Result<(), crate::error::Error> {
        self.conn.execute_batch("COMMIT").map_err(failed)
    }

    /// The first valid row of the order with this reference.
    pub fn first_row(&self, reference: &str) -> Option<u64> {
        self.firsts.get(&key(reference)).map(|&(row, _)| row)
    }

    /// The first valid row of the order that the row `row` (with this reference and email) is
    /// a further line item of: `None` when it is that first row, another customer's, or of no
    /// order of the file.
    pub fn line_item_of(&self, row: u64, reference: &str, email: &str) -> Option<u64> {
        let &(first, first_email) = self.firsts.get(&key(reference))?;
        let ours = email_key(email).is_none_or(|email| email == first_email);
        (first != row && ours).then_some(first)
    }

    /// The products of the order with this reference, each SKU once (its first line item
    /// wins), in the order of the file: the line items of its rows, not another customer's;
    /// with [`OrderIndex::skus_only`], those whose SKU alone can be sent.
    pub fn products(&self, reference: &str) -> Result<Vec<Product>, crate::error::Error> {
        let Some(&(_, email)) = self.firsts.get(&key(reference)) else { return Ok(Vec::new()) };
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT sku, name, url, image, gtin, mpn, brand FROM items
                 WHERE reference = ?1 AND (email IS NULL OR email = ?2) AND (listed OR ?3) ORDER BY row",
            )
            .map_err(failed)?;
        let rows = statement
            .query_map(params![reference, email, self.skus_only], |row| {
                let mut product = Product::default();
                for (i, field) in Field::PRODUCT.into_iter().enumerate() {
                    if let Some(value) = row.get::<_, Option<String>>(i)? {
                        product.set(field, &value);
                    }
                }
                Ok(product)
            })
            .map_err(failed)?;
        let mut products: Vec<Product> = Vec::new();
        for product in rows {
            let product = product.map_err(failed)?;
            if !products.iter().any(|p| p.sku() == product.sku()) {
                products.push(product);
            }
        }
        Ok(products)
    }

    /// Puts the order's products on the invitation of its first valid row (as SKUs alone with
    /// [`OrderIndex::skus_only`]). Any other row is left as it is, and so is an order none of
    /// whose line items could be used (each is in the error report): it asks for a service
    /// review only, since a product review of no product is refused.
    pub fn attach(&self, row: u64, invitation: &mut Invitation) -> Result<(), crate::error::Error> {
        if self.first_row(invitation.reference()) != Some(row) {
            return Ok(());
        }
        let products = self.products(invitation.reference())?;
        if products.is_empty() {
            return Ok(());
        }
        invitation.products = match self.skus_only {
            true => Products::Skus(products.iter().map(|p| p.sku().to_string()).collect()),
            false => Products::Listed(products),
        };
        Ok(())
    }

    pub fn counts(&self) -> OrderCounts {
        let (line_items, left_out) = match self.skus_only {
            true => (self.sku_items, self.left_out_skus),
            false => (self.items, self.left_out),
        };
        OrderCounts { orders: self.firsts.len() as u64, line_items, left_out }
    }
}

impl OrderCounts {
    /// For the summary: `12 orders, 31 line items (1 left out: see the error report).`
    pub fn describe(&self) -> String {
        use crate::text::Count;
        let mut text = format!("Products: {}, {}", Count(self.orders, "order"), Count(self.line_items, "line item"));
        if self.left_out > 0 {
            text.push_str(&format!(
                " ({} left out for a missing SKU, name or a bad value: see the error report)",
                Count(self.left_out, "line item")
            ));
        }
        text.push('.');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(email: &str, reference: &str, sku: &str, name: &str) -> Checked {
        let mut checked = Checked {
            invitation: Invitation::default()
                .with(Field::Email, email)
                .with(Field::Name, "N")
                .with(Field::Reference, reference)
                .with(Field::ProductSku, sku)
                .with(Field::ProductName, name),
            duplicate: email.is_empty(),
            ..Checked::default()
        };
        if !sku.is_empty() && !name.is_empty() {
            checked.product = Some(Product::of(&checked.invitation));
        }
        checked
    }

    #[test]
    fn an_orders_line_items_anywhere_in_the_file_are_listed_once_each() {
        let mut index = OrderIndex::new().unwrap();
        let rows = [
            row("ann@example.com", "1001", "TS-1", "T-Shirt"),
            row("bo@example.com", "1002", "MG-1", "Mug"),
            row("", "1001", "SO-2", "Socks"),
            row("", "1002", "MG-1", "Mug"),
            row("", "1001", "TS-1", "T-Shirt again"),
        ];
        for (i, checked) in rows.iter().enumerate() {
            index.add(i as u64 + 1, checked).unwrap();
        }
        index.close().unwrap();
        assert_eq!(index.first_row("1001"), Some(1));
        assert_eq!(index.first_row("1002"), Some(2));
        let skus: Vec<String> = index.products("1001").unwrap().iter().map(|p| p.sku().to_string()).collect();
        assert_eq!(skus, ["TS-1", "SO-2"]);
        assert_eq!(index.products("1001").unwrap()[0].get(Field::ProductName), Some("T-Shirt"), "the first wins");
        assert_eq!(index.counts(), OrderCounts { orders: 2, line_items: 5, left_out: 0 });

        let mut first = rows[0].invitation.clone();
        index.attach(1, &mut first).unwrap();
        assert_eq!(first.products, Products::Listed(index.products("1001").unwrap()));
        assert_eq!(first.products.skus(), ["TS-1", "SO-2"]);
        let mut later = rows[2].invitation.clone();
        index.attach(3, &mut later).unwrap();
        assert!(later.products.is_none(), "only the order's first row carries its products");
        index.skus_only();
        let mut skus = rows[1].invitation.clone();
        index.attach(2, &mut skus).unwrap();
        assert_eq!(skus.products, Products::Skus(vec!["MG-1".into()]));
    }

    #[test]
    fn a_row_belongs_to_an_order_with_no_email_or_the_orders_own() {
        let mut index = OrderIndex::new().unwrap();
        let rows = [
            row("", "1001", "SO-2", "Socks"),
            row("ann@example.com", "1001", "MUG-01", "Mug"),
            row("ANN@Example.com", "1001", "TOWEL-02", "Towel"),
            row("zed@example.com", "1001", "ZZ-9", "Not Ann's"),
        ];
        for (i, checked) in rows.iter().enumerate() {
            index.add(i as u64 + 1, checked).unwrap();
        }
        index.close().unwrap();
        assert_eq!(index.first_row("1001"), Some(2));
        assert_eq!(index.line_item_of(1, "1001", ""), Some(2), "before the order's first row");
        assert_eq!(index.line_item_of(3, "1001", "ANN@Example.com"), Some(2), "the email in another case");
        assert_eq!(index.line_item_of(2, "1001", "ann@example.com"), None, "the first row itself");
        assert_eq!(index.line_item_of(4, "1001", "zed@example.com"), None, "another customer");
        assert_eq!(index.line_item_of(5, "1002", ""), None, "no such order");
        let skus: Vec<String> = index.products("1001").unwrap().iter().map(|p| p.sku().to_string()).collect();
        assert_eq!(skus, ["SO-2", "MUG-01", "TOWEL-02"], "another customer's line item is not listed");
        assert!(index.products("1002").unwrap().is_empty());
    }

    #[test]
    fn an_order_without_a_usable_line_item_asks_for_a_service_review_only() {
        let mut index = OrderIndex::new().unwrap();
        // A gift card without a SKU: its problem is the error report's, the order is still invited.
        index.add(1, &row("ann@example.com", "1001", "", "Gift Card")).unwrap();
        index.close().unwrap();
        assert_eq!(index.first_row("1001"), Some(1));
        for skus_only in [false, true] {
            if skus_only {
                index.skus_only();
            }
            let mut invitation = row("ann@example.com", "1001", "", "Gift Card").invitation;
            index.attach(1, &mut invitation).unwrap();
            assert!(invitation.products.is_none(), "an empty product list is refused by Trustpilot");
            assert!(invitation.body().get("productReviewInvitation").is_none());
        }
    }

    #[test]
    fn with_skus_alone_a_line_item_needs_only_its_sku() {
        let problem = |field: Field, code: &'static str| crate::validate::Problem {
            field: field.name(),
            code,
            value: String::new(),
            message: String::new(),
        };
        let mut named = row("ann@example.com", "1001", "MUG-01", "Mug");
        named.invitation.set(Field::ProductUrl, "https://example.com/mug");
        named.product = Some(Product::of(&named.invitation));
        let mut unnamed = row("", "1001", "TOWEL-02", "");
        unnamed.product_problems.push(problem(Field::ProductName, "product.name_missing"));
        let mut bad_url = row("", "1001", "CAP-3", "Cap");
        bad_url.product = None;
        bad_url.product_problems.push(problem(Field::ProductUrl, "product_url.invalid"));
        let mut no_sku = row("", "1001", "", "Gift Wrap");
        no_sku.product_problems.push(problem(Field::ProductSku, "product.sku_missing"));
        let skus = |index: &OrderIndex| -> Vec<String> {
            index.products("1001").unwrap().iter().map(|p| p.sku().to_string()).collect()
        };
        let mut index = OrderIndex::new().unwrap();
        for (i, checked) in [&named, &unnamed, &bad_url, &no_sku].into_iter().enumerate() {
            index.add(i as u64 + 1, checked).unwrap();
        }
        index.close().unwrap();
        assert_eq!(skus(&index), ["MUG-01"], "listed whole, a product needs its SKU, its name and good values");
        assert_eq!(index.counts(), OrderCounts { orders: 1, line_items: 1, left_out: 3 });
        assert_eq!(index.products("1001").unwrap()[0].get(Field::ProductUrl), Some("https://example.com/mug"));
        index.skus_only();
        assert_eq!(skus(&index), ["MUG-01", "TOWEL-02", "CAP-3"]);
        assert_eq!(index.counts(), OrderCounts { orders: 1, line_items: 3, left_out: 1 });
        let mut invitation = named.invitation.clone();
        index.attach(1, &mut invitation).unwrap();
        assert_eq!(invitation.products, Products::Skus(vec!["MUG-01".into(), "TOWEL-02".into(), "CAP-3".into()]));
    }
}
