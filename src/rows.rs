//! What happens to a checked row before it is sent, the same in a dry run, in both passes of a
//! send and in `links`: an order's further line items are told from customers, the order's
//! products are put on its invitation, the send time is set from the order's date
//! (`--send-after`), and the user's rules (`--exclude`, `--skip-where`, `--cooldown`) may leave
//! the row out. [`Plan`] holds a run's rules; [`Screen`] applies them row by row.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};

use crate::error::{Error, Result};
use crate::exclude::{ExclusionList, SkipRule};
use crate::input::{Input, Mapping, Record};
use crate::ledger::{Ledger, ScopeId};
use crate::orders::OrderIndex;
use crate::schedule::DateReader;
use crate::text::{Count, clipped};
use crate::validate::{Checked, Problem};

/// The rules of a run, as the command line gives them (checked, not yet tied to a file).
#[derive(Debug, Default)]
pub struct Rules {
    /// `--products` (or `--product-skus`: the SKUs only).
    pub products: Option<ProductMode>,
    /// `--send-after`, with `--date-column` (else a column found by its name).
    pub send_after: Option<TimeDelta>,
    pub date_column: Option<String>,
    pub dates: DateReader,
    pub exclude: Option<ExclusionList>,
    pub skip: Vec<SkipRule>,
    pub cooldown: Option<TimeDelta>,
}

/// How an order's products are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductMode {
    /// `products`: each with what the file says of it.
    Listed,
    /// `productSkus`: the SKUs, for an account with a product catalogue at Trustpilot.
    Skus,
}

/// The rules of a run, tied to the file's columns.
pub struct Plan {
    rules: Rules,
    /// The date column: its index and name.
    date: Option<(usize, String)>,
    /// Each `--skip-where` rule's column.
    skip: Vec<usize>,
    /// Now, once for the run, so that its passes agree.
    now: DateTime<Utc>,
    /// The order's line items, with `--products`.
    pub orders: Option<OrderIndex>,
}

impl Plan {
    /// Ties `rules` to the columns of `input`: a column a flag names must be there, and so must
    /// the product columns `--products` reads (the SKU, and the name unless the SKUs are sent
    /// alone).
    pub fn new(rules: Rules, mapping: &Mapping, mut orders: Option<OrderIndex>) -> Result<Plan> {
        let column = |flag: &str, name: &str| {
            mapping.find_column(name).ok_or_else(|| {
                Error::Usage(format!(
                    "{flag} \"{name}\": the file has no such column. Its columns are: {}.",
                    columns(mapping)
                ))
            })
        };
        let date = match (rules.send_after, &rules.date_column) {
            (None, _) => None,
            (Some(_), Some(name)) => Some((column("--date-column", name)?, name.clone())),
            (Some(_), None) => {
                let found = crate::schedule::find_date_column(mapping.headers()).ok_or_else(|| {
                    Error::Usage(format!(
                        "--send-after counts from the order's date, but no column looks like one (such as \
                         \"Fulfilled at\", \"Order Date\" or \"Created at\"). Name it with --date-column; the \
                         columns are: {}.",
                        columns(mapping)
                    ))
                })?;
                Some((found, mapping.headers()[found].clone()))
            }
        };
        let skip = rules.skip.iter().map(|rule| column("--skip-where", rule.column())).collect::<Result<_>>()?;
        if let Some(mode) = rules.products {
            product_columns(mode, mapping)?;
        }
        if let (Some(orders), Some(ProductMode::Skus)) = (&mut orders, rules.products) {
            orders.skus_only();
        }
        Ok(Plan { rules, date, skip, now: Utc::now(), orders })
    }

    /// The date column, when sending after the order's date (for the mapping's printout).
    pub fn date_column(&self) -> Option<&str> {
        self.date.as_ref().map(|(_, name)| name.as_str())
    }

    pub fn products(&self) -> Option<ProductMode> {
        self.rules.products
    }

    /// Whether a rule may leave a valid row out (`--exclude`, `--skip-where`, `--cooldown`).
    pub fn leaves_rows_out(&self) -> bool {
        let rules = &self.rules;
        rules.exclude.is_some() || !rules.skip.is_empty() || rules.cooldown.is_some()
    }

    /// Whether the rules ask the ledger (`--cooldown`).
    pub fn needs_ledger(&self) -> bool {
        self.rules.cooldown.is_some()
    }
}

/// The product columns `--products` needs: without a SKU column no order lists a product, and
/// without a name column none can be listed whole (only `--product-skus` sends SKUs alone).
fn product_columns(mode: ProductMode, mapping: &Mapping) -> Result<()> {
    use crate::fields::Field;
    let flag = match mode {
        ProductMode::Listed => "--products",
        ProductMode::Skus => "--product-skus",
    };
    if mapping.column_of(Field::ProductSku).is_none() {
        return Err(Error::Usage(format!(
            "{flag} lists each order's products by their SKU, but no column looks like one (such as \"Lineitem sku\", \
             \"SKU\" or \"Product SKU\"). Name it with --map product_sku=COLUMN; the columns are: {}.",
            columns(mapping)
        )));
    }
    if mode == ProductMode::Listed && mapping.column_of(Field::ProductName).is_none() {
        return Err(Error::Usage(format!(
            "--products sends each product's name, but no column looks like one (such as \"Lineitem name\", \
             \"Product Name\" or \"Item Name\"). Name it with --map product_name=COLUMN, or send the SKUs alone with \
             --product-skus (for an account whose product catalogue is at Trustpilot); the columns are: {}.",
            columns(mapping)
        )));
    }
    Ok(())
}

/// The file's columns for a message: their names, or how to name one without a header.
fn columns(mapping: &Mapping) -> String {
    match mapping.headers() {
        [] => "none named (the file has no header: give a column's number, counted from 1, e.g. 4)".to_string(),
        headers => headers.iter().map(|h| format!("\"{h}\"")).collect::<Vec<_>>().join(", "),
    }
}

/// Gathers an order's line items over the whole file, for `--products` (a pass before the
/// others, since an order's rows may be anywhere).
pub fn gather_orders(mut input: Input, defaults: crate::validate::Defaults) -> Result<OrderIndex> {
    let mut validator = crate::validate::Validator::new(defaults).with_products(true);
    let mut index = OrderIndex::new()?;
    let mut checked = Checked::default();
    while let Some(record) = input.next_record()? {
        validator.check(&record, &mut checked);
        index.add(record.row(), &checked)?;
    }
    index.close()?;
    Ok(index)
}

/// Why a row is not invited by the user's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exclusion {
    /// `excluded.list`, `excluded.rule`, `excluded.cooldown`.
    pub code: &'static str,
    pub reason: String,
}

/// The rows left out, by rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Excluded {
    pub list: u64,
    pub rule: u64,
    pub cooldown: u64,
}

impl Excluded {
    /// For the summary, when any row was left out.
    pub fn describe(&self) -> Option<String> {
        let parts: Vec<String> = [(self.list, "--exclude"), (self.rule, "--skip-where"), (self.cooldown, "--cooldown")]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, flag)| format!("{} by {flag}", Count(n, "row")))
            .collect();
        (!parts.is_empty()).then(|| format!("Not invited by your rules: {}.", parts.join(", ")))
    }
}

/// What one pass over the rows has seen so far, for the rules that look back.
#[derive(Debug, Default)]
pub struct Screen {
    /// With `--cooldown`: the customers invited by this pass so far (their email's hash), with
    /// the row and the reference's hash of their first order.
    invited: HashMap<u64, (u64, u64)>,
    pub excluded: Excluded,
    /// For each `--skip-where` rule: which of its values some valid row had, and the first
    /// few values its column held (to show beside a value that no row had: a typo).
    skip_found: Vec<(Vec<bool>, Vec<String>)>,
}

/// Values of a `--skip-where` column kept to show.
const VALUES_SHOWN: usize = 8;

impl Plan {
    /// Applies the run's rules to a checked row of `record`. A refused row may turn out to be
    /// an order's further line item. A valid one is left out (`Some`) when a rule says so; else
    /// it gets its send time (or a problem with its date) and its order's products.
    /// `ledger`: for `--cooldown`, what earlier runs invited.
    ///
    /// `--exclude` and `--skip-where` come before the date: an order that did not happen (or a
    /// customer who opted out) is left out whatever its date says, and a refunded or
    /// unfulfilled order often has none (Shopify's `Fulfilled at`). `--cooldown` comes after
    /// it, since a row whose date is wrong is not invited and so must not count as this
    /// customer's invitation.
    pub fn apply(
        &self,
        screen: &mut Screen,
        record: &Record<'_>,
        checked: &mut Checked,
        ledger: Option<(&mut Ledger, ScopeId)>,
    ) -> Result<Option<Exclusion>> {
        let row = record.row();
        // The validator reuses one invitation for every row: only the order's first row may
        // carry its products, never a later row the last one's.
        checked.invitation.products = crate::invitation::Products::None;
        if self.rules.products == Some(ProductMode::Skus) {
            // Only the SKU is sent: a missing name or a bad URL leaves nothing out.
            checked.product_problems.retain(|p| p.field == crate::fields::Field::ProductSku.name());
        }
        if !checked.is_valid() {
            self.line_item(row, checked);
            return Ok(None);
        }
        let mut exclusion = self.listed_or_skipped(screen, record, checked);
        if exclusion.is_none() {
            self.send_time(record, checked);
            if !checked.problems.is_empty() {
                return Ok(None);
            }
            exclusion = self.cooldown(screen, row, checked, ledger)?;
        }
        if let (Some(orders), None) = (&self.orders, &exclusion) {
            orders.attach(row, &mut checked.invitation)?;
        }
        if let Some(exclusion) = &exclusion {
            match exclusion.code {
                crate::exclude::EXCLUDED_LIST => screen.excluded.list += 1,
                crate::exclude::EXCLUDED_RULE => screen.excluded.rule += 1,
                _ => screen.excluded.cooldown += 1,
            }
        }
        Ok(exclusion)
    }

    /// With `--products`, a row without a name (and without an email, or with the order's)
    /// whose reference is an order of the file (whose first valid row is elsewhere) is one of
    /// its line items, not a customer: Shopify repeats the email on an order's further rows
    /// and leaves the billing name out, and they need not be next to each other.
    fn line_item(&self, row: u64, checked: &mut Checked) {
        let Some(orders) = &self.orders else { return };
        let invitation = &checked.invitation;
        let only_missing = checked.problems.iter().all(|p| matches!(p.code, "email.required" | "name.required"));
        if !checked.duplicate
            && only_missing
            && let Some(first) = orders.line_item_of(row, invitation.reference(), invitation.email())
        {
            checked.problems.clear();
            checked.duplicate = true;
            checked.duplicate_of = Some(first);
        }
    }

    /// `--send-after`: the send time is the order's date plus the delay (left out when that
    /// is past, so Trustpilot sends at once). A row's own send time wins.
    fn send_time(&self, record: &Record<'_>, checked: &mut Checked) {
        use crate::fields::Field;
        let (Some(after), Some((column, name))) = (self.rules.send_after, &self.date) else { return };
        if checked.invitation.get(Field::PreferredSendTime).is_some() {
            return;
        }
        let value = record.column(*column).unwrap_or("").trim();
        match self.rules.dates.read(value) {
            // A delay is never negative: past the end of time is the far future.
            Ok(date) => match crate::schedule::send_time(
                self.rules.dates.later(date, after).unwrap_or(DateTime::<Utc>::MAX_UTC),
                TimeDelta::zero(),
                self.now,
            ) {
                Some(time) => checked.invitation.set(Field::PreferredSendTime, &time),
                None => checked.invitation.clear(Field::PreferredSendTime),
            },
            Err(problem) => checked.problems.push(Problem {
                field: "date",
                code: problem.code,
                value: value.to_string(),
                message: format!("{} (column \"{name}\", for --send-after.)", problem.message),
            }),
        }
    }

    /// `--exclude` and `--skip-where`: the first rule that leaves the row out. Every rule
    /// sees every valid row, so that [`Plan::unmatched_rules`] knows which values none had.
    fn listed_or_skipped(&self, screen: &mut Screen, record: &Record<'_>, checked: &Checked) -> Option<Exclusion> {
        let rules = &self.rules;
        let mut skipped = None;
        screen.skip_found.resize_with(rules.skip.len(), Default::default);
        for ((rule, &column), (found, seen)) in rules.skip.iter().zip(&self.skip).zip(&mut screen.skip_found) {
            let value = record.column(column).unwrap_or("").trim();
            found.resize(rule.values().len(), false);
            match rule.matching(value) {
                Some(m) => {
                    found[m] = true;
                    if skipped.is_none() {
                        skipped = Some(Exclusion { code: rule.code(), reason: rule.reason(value) });
                    }
                }
                None if seen.len() < VALUES_SHOWN && !seen.iter().any(|s| s.eq_ignore_ascii_case(value)) => {
                    seen.push(value.to_string());
                }
                None => {}
            }
        }
        if let Some(found) = rules.exclude.as_ref().and_then(|list| list.matches(checked.invitation.email())) {
            return Some(Exclusion { code: found.code(), reason: found.to_string() });
        }
        skipped
    }

    /// A note for each `--skip-where` value that no valid row had (a misspelt value leaves
    /// the orders it meant in, without a word otherwise).
    pub fn unmatched_rules(&self, screen: &Screen) -> Vec<String> {
        let mut notes = Vec::new();
        for (i, rule) in self.rules.skip.iter().enumerate() {
            let (found, seen) = screen.skip_found.get(i).map(|(f, s)| (f.as_slice(), s.as_slice())).unwrap_or_default();
            if seen.is_empty() && !found.contains(&true) {
                continue; // no valid row came this far: the summary says why
            }
            for (v, value) in rule.values().iter().enumerate() {
                if found.get(v).copied().unwrap_or(false) {
                    continue;
                }
                let held = match seen.iter().filter(|s| !s.is_empty()).count() {
                    0 => "it is empty on every valid row".to_string(),
                    _ => {
                        let shown: Vec<String> = seen
                            .iter()
                            .map(|s| if s.is_empty() { "(empty)".to_string() } else { format!("'{}'", clipped(s, 40)) })
                            .collect();
                        let more = if seen.len() >= VALUES_SHOWN { ", ..." } else { "" };
                        format!("it holds {}{more}", shown.join(", "))
                    }
                };
                notes.push(format!(
                    "--skip-where \"{}={}\": no valid row has '{}' in {} ({held}); check the spelling.",
                    rule.column(),
                    rule.values().join("|"),
                    clipped(value, 40),
                    rule.column(),
                ));
            }
        }
        notes
    }

    /// `--cooldown`: the customer's other order in this pass, else in the ledger.
    fn cooldown(
        &self,
        screen: &mut Screen,
        row: u64,
        checked: &Checked,
        ledger: Option<(&mut Ledger, ScopeId)>,
    ) -> Result<Option<Exclusion>> {
        let rules = &self.rules;
        let email = checked.invitation.email();
        let Some(window) = rules.cooldown else { return Ok(None) };
        let every = crate::schedule::describe_duration(window);
        // Another order of a customer this pass invites, now or earlier (the same order again
        // is a duplicate, told later): said so that it is true of a dry run and of a row
        // already sent as well.
        let reference = key_hash(checked.invitation.reference());
        if let Some(&(first, _)) =
            screen.invited.get(&key_hash(email)).filter(|&&(first, other)| other != reference && first != row)
        {
            return Ok(Some(Exclusion {
                code: "excluded.cooldown",
                reason: format!(
                    "This customer's order in row {first} of this file is the one invited; --cooldown {every} \
                     invites a customer once in {every}."
                ),
            }));
        }
        let mut held = false;
        if let Some((ledger, scope)) = ledger {
            let since = crate::ledger::timestamp(self.now - window);
            let key = crate::invitation::email_key(email);
            if let Some((reference, at)) =
                ledger.store.invited_since(scope, &key, &since, checked.invitation.reference())?
            {
                return Ok(Some(Exclusion {
                    code: "excluded.cooldown",
                    reason: format!(
                        "Invited on {at} for order {reference}; --cooldown {every} invites a customer once in {every}."
                    ),
                }));
            }
            let own = crate::ledger::Key::of(crate::journal::Kind::Email, &checked.invitation);
            held =
                ledger.store.lookup(scope, &[own])?.pop().flatten().is_some_and(|prior| !prior.status.may_send(false));
        }
        // This pass invites the customer with this order: their later orders in the file wait.
        // Not so an order the ledger already holds (sent, or on its way, long ago perhaps):
        // when it was is in the ledger, which the lines above read for every order.
        if !held {
            screen.invited.entry(key_hash(email)).or_insert((row, reference));
        }
        Ok(None)
    }
}

fn key_hash(text: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(crate::invitation::email_key(text).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::InputOptions;
    use crate::validate::{Defaults, Validator};

    /// What the rows of `csv` come out as under `rules`, each as its status (`valid`,
    /// `invalid`, `duplicate` or the exclusion's code) and the SKUs its invitation carries.
    fn screen(csv: &str, rules: Rules) -> Vec<(String, Vec<String>)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, csv).unwrap();
        let options = InputOptions { products: rules.products.is_some(), ..InputOptions::default() };
        let open = || Input::open(&path, &options).unwrap();
        let orders = rules.products.map(|_| gather_orders(open(), Defaults::default()).unwrap());
        let mut input = open();
        let plan = Plan::new(rules, input.mapping(), orders).unwrap();
        let mut validator = Validator::new(Defaults::default()).with_products(plan.products().is_some());
        let (mut screen, mut checked, mut out) = (Screen::default(), Checked::default(), Vec::new());
        while let Some(record) = input.next_record().unwrap() {
            validator.check(&record, &mut checked);
            let exclusion = plan.apply(&mut screen, &record, &mut checked, None).unwrap();
            let status = match (&exclusion, checked.duplicate, checked.problems.is_empty()) {
                (Some(exclusion), _, _) => exclusion.code,
                (None, true, _) => "duplicate",
                (None, false, true) => "valid",
                (None, false, false) => "invalid",
            };
            let skus = checked.invitation.products.skus().into_iter().map(str::to_string).collect();
            out.push((status.to_string(), skus));
        }
        out
    }

    fn products() -> Rules {
        Rules { products: Some(ProductMode::Listed), ..Rules::default() }
    }

    fn rows(expected: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        expected.iter().map(|(s, skus)| (s.to_string(), skus.iter().map(|s| s.to_string()).collect())).collect()
    }

    #[test]
    fn only_an_orders_first_row_carries_its_products() {
        // Row 4 is another customer on order 1001's reference: invited, but not with Ann's
        // products, nor with those of the row before it; its line item is not Ann's either.
        let csv = "email,name,reference,sku,product name\n\
                   ann@example.com,Ann,1001,MUG-01,Mug\n\
                   ann@example.com,,1001,TOWEL-02,Towel\n\
                   bo@example.com,Bo,1002,CAP-3,Cap\n\
                   cy@example.com,Cy,1001,SO-4,Socks\n";
        assert_eq!(
            screen(csv, products()),
            rows(&[("valid", &["MUG-01", "TOWEL-02"]), ("duplicate", &[]), ("valid", &["CAP-3"]), ("valid", &[])])
        );
    }

    #[test]
    fn the_users_rules_leave_an_order_out_before_its_date_is_read_and_the_cooldown_after() {
        let rules = Rules {
            products: Some(ProductMode::Listed),
            send_after: Some(TimeDelta::days(7)),
            date_column: Some("Fulfilled at".to_string()),
            skip: vec![SkipRule::parse("Status=refunded").unwrap()],
            cooldown: Some(TimeDelta::days(30)),
            ..Rules::default()
        };
        let csv = "email,name,reference,Status,Fulfilled at,sku,product name\n\
                   ann@example.com,Ann,1001,refunded,,MUG-01,Mug\n\
                   bo@example.com,Bo,1002,paid,,CAP-3,Cap\n\
                   bo@example.com,Bo,1003,paid,2099-03-02,SO-4,Socks\n\
                   bo@example.com,Bo,1004,paid,2099-03-03,HAT-5,Hat\n";
        assert_eq!(
            screen(csv, rules),
            rows(&[
                // Refunded, without a fulfilment date: left out, not invalid, and without products.
                ("excluded.rule", &[]),
                // Not fulfilled yet: the date is missing, an error of the row.
                ("invalid", &[]),
                // So Bo's first invitation is this one, and the next order waits for the cooldown.
                ("valid", &["SO-4"]),
                ("excluded.cooldown", &[]),
            ])
        );
    }

    #[test]
    fn a_customers_second_order_in_the_file_names_the_first() {
        let rules = Rules { cooldown: Some(TimeDelta::days(30)), ..Rules::default() };
        let csv = "email,name,reference\nann@example.com,Ann,1001\nbo@example.com,Bo,1002\nANN@example.com,Ann,1003\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, csv).unwrap();
        let mut input = Input::open(&path, &InputOptions::default()).unwrap();
        let plan = Plan::new(rules, input.mapping(), None).unwrap();
        let (mut validator, mut screen) = (Validator::new(Defaults::default()), Screen::default());
        let mut checked = Checked::default();
        let mut last = None;
        while let Some(record) = input.next_record().unwrap() {
            validator.check(&record, &mut checked);
            last = plan.apply(&mut screen, &record, &mut checked, None).unwrap();
        }
        assert_eq!(
            last,
            Some(Exclusion {
                code: "excluded.cooldown",
                reason: "This customer's order in row 1 of this file is the one invited; --cooldown 30 days invites \
                         a customer once in 30 days."
                    .to_string()
            })
        );
        assert_eq!(screen.excluded, Excluded { cooldown: 1, ..Excluded::default() });
    }

    #[test]
    fn with_product_skus_a_line_item_needs_only_its_sku() {
        let csv = "email,name,reference,sku,product url\n\
                   ann@example.com,Ann,1001,MUG-01,\n\
                   ann@example.com,Ann,1001,CAP-3,not a url\n\
                   ann@example.com,Ann,1001,,\n";
        let rules = Rules { products: Some(ProductMode::Skus), ..Rules::default() };
        assert_eq!(
            screen(csv, rules),
            rows(&[("valid", &["MUG-01", "CAP-3"]), ("duplicate", &[]), ("duplicate", &[])])
        );
    }

    #[test]
    fn products_need_a_sku_column_and_a_name_column_unless_the_skus_go_alone() {
        let plan = |header: &str, mode: ProductMode| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("in.csv");
            std::fs::write(&path, format!("{header}\na@example.com,A,R-1,x\n")).unwrap();
            let input = Input::open(&path, &InputOptions { products: true, ..InputOptions::default() }).unwrap();
            let rules = Rules { products: Some(mode), ..Rules::default() };
            Plan::new(rules, input.mapping(), None).map(|_| ()).map_err(|e| e.to_string())
        };
        assert_eq!(plan("email,name,reference,SKU", ProductMode::Skus), Ok(()));
        assert_eq!(
            plan("email,name,reference,Item Name", ProductMode::Skus).unwrap_err(),
            "--product-skus lists each order's products by their SKU, but no column looks like one (such as \
             \"Lineitem sku\", \"SKU\" or \"Product SKU\"). Name it with --map product_sku=COLUMN; the columns \
             are: \"email\", \"name\", \"reference\", \"Item Name\"."
        );
        assert!(plan("email,name,reference,Status", ProductMode::Listed).unwrap_err().starts_with("--products lists"));
        assert_eq!(
            plan("email,name,reference,SKU", ProductMode::Listed).unwrap_err(),
            "--products sends each product's name, but no column looks like one (such as \"Lineitem name\", \
             \"Product Name\" or \"Item Name\"). Name it with --map product_name=COLUMN, or send the SKUs alone \
             with --product-skus (for an account whose product catalogue is at Trustpilot); the columns are: \
             \"email\", \"name\", \"reference\", \"SKU\"."
        );
    }

    #[test]
    fn without_a_header_a_column_is_named_by_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, "a@example.com,A,R-1,2099-01-01\n").unwrap();
        let input = Input::open(&path, &InputOptions { no_header: true, ..InputOptions::default() }).unwrap();
        let after = |column: Option<&str>| Rules {
            send_after: Some(TimeDelta::days(1)),
            date_column: column.map(str::to_string),
            ..Rules::default()
        };
        assert!(Plan::new(after(Some("4")), input.mapping(), None).is_ok());
        assert_eq!(
            Plan::new(after(None), input.mapping(), None).err().map(|e| e.to_string()),
            Some(
                "--send-after counts from the order's date, but no column looks like one (such as \"Fulfilled at\", \
                 \"Order Date\" or \"Created at\"). Name it with --date-column; the columns are: none named (the \
                 file has no header: give a column's number, counted from 1, e.g. 4)."
                    .to_string()
            )
        );
    }

    #[test]
    fn an_orders_line_items_join_it_from_anywhere_in_the_file() {
        let csv = "email,name,reference,sku,product name\n\
                   ,,1001,SO-2,Socks\n\
                   ann@example.com,Ann,1001,MUG-01,Mug\n\
                   bo@example.com,Bo,1002,CAP-3,Cap\n\
                   ANN@example.com,,1001,TOWEL-02,Towel\n\
                   ,,1002,SC-4,Scarf\n\
                   cy@example.com,,1001,HAT-5,Hat\n\
                   ,,1003,BN-6,Beanie\n";
        assert_eq!(
            screen(csv, products()),
            rows(&[
                ("duplicate", &[]),
                ("valid", &["SO-2", "MUG-01", "TOWEL-02"]),
                ("valid", &["CAP-3", "SC-4"]),
                // Shopify's further line item: the order's email (in any case), no billing name.
                ("duplicate", &[]),
                ("duplicate", &[]),
                // Another customer without a name is no line item of Ann's: the row is invalid.
                ("invalid", &[]),
                // An order with no valid row has no line items.
                ("invalid", &[]),
            ])
        );
        // Without --products, rows apart are not gathered: only the validator's row before counts.
        let statuses: Vec<String> = screen(csv, Rules::default()).into_iter().map(|(status, _)| status).collect();
        assert_eq!(statuses, ["invalid", "valid", "valid", "invalid", "invalid", "invalid", "invalid"]);
    }
}
