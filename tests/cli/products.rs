//! Product review invitations (`--products`, `--product-skus`) through the real binary: an
//! order export's line items become one invitation per order, checked in the request bodies the
//! sandbox received and in the results and error reports (SPEC sections 3, 5 and 8; issue 13).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tp_invite::sandbox::{Faults, SandboxConfig};

use crate::support::{ERRORS_HEADER, RESULTS_HEADER, Run, Server, Table, Test};

/// A sandbox that lets every run have a token (some tests run `send` several times).
fn sandbox() -> Server {
    Server::start(SandboxConfig { token_limit: None, ..SandboxConfig::default() })
}

/// `tp-invite send <input> --rate 200/s <flags>`.
fn send(t: &Test, input: &str, flags: &[&str]) -> Run {
    let mut args = vec!["send", input, "--rate", "200/s"];
    args.extend_from_slice(flags);
    t.run(args)
}

/// A Shopify order export as Shopify writes it (the columns that matter here): one row per
/// line item, the order's further rows repeating `Name` and `Email` with the billing and
/// fulfilment cells empty. Order #1001 lists the mug twice (two variants of one SKU); #1002
/// has no vendor.
const SHOPIFY: &str = "\
Name,Email,Financial Status,Fulfillment Status,Fulfilled at,Created at,Lineitem quantity,Lineitem name,Lineitem sku,Billing Name,Shipping Name,Vendor
#1001,greta@example.com,paid,fulfilled,2099-03-02 10:14:03 +0100,2099-03-01 09:00:00 +0100,1,Enamel Mug,MUG-01,Greta Lindqvist,Greta Lindqvist,Rivertown Goods
#1001,greta@example.com,,,,2099-03-01 09:00:00 +0100,2,Linen Tea Towel,TOWEL-02,,,Rivertown Goods
#1001,greta@example.com,,,,2099-03-01 09:00:00 +0100,1,Enamel Mug,MUG-01,,,Rivertown Goods
#1002,tomas@example.org,paid,fulfilled,2099-03-03 16:40:51 +0100,2099-03-03 16:00:00 +0100,1,Oak Coaster Set,COAST-04,Tomáš Novák,Tomáš Novák,
";

/// The results of a `--products` run: SPEC's header with `products` last, and exactly one line
/// per row `1..=rows`, in row order.
#[track_caller]
fn check_one_line_per_row(t: &Test, name: &str, rows: usize) -> Table {
    let header = format!("{RESULTS_HEADER},products");
    assert_eq!(t.read(name).lines().next(), Some(header.as_str()), "{name} has another header");
    let table = t.table(name);
    let numbers: Vec<String> = (1..=rows).map(|row| row.to_string()).collect();
    assert_eq!(table.column("row"), numbers, "{name} is not one line per row in row order");
    table
}

/// The one body the sandbox accepted for `reference` (it must have accepted exactly one).
#[track_caller]
fn body(server: &Server, reference: &str) -> Value {
    let bodies: Vec<Value> =
        server.accepted().into_iter().filter(|a| a.reference == reference).map(|a| a.body).collect();
    assert_eq!(bodies.len(), 1, "expected one invitation for {reference}, got {bodies:#?}");
    bodies.into_iter().next().unwrap()
}

/// The SKUs of every invitation the sandbox accepted, by reference.
fn skus_by_reference(server: &Server) -> BTreeMap<String, Vec<String>> {
    server
        .accepted()
        .iter()
        .map(|a| (a.reference.clone(), a.skus().into_iter().map(str::to_string).collect()))
        .collect()
}

/// Never twice, with line items: every order was accepted at most once, and exactly the orders
/// of the rows `sent` or `already_sent` were (email in any case, reference). An order's further
/// rows may repeat its email and reference, so this is checked by order, not by row as
/// `check_never_twice` does.
#[track_caller]
fn check_one_invitation_per_order(results: &Table, server: &Server) {
    let mut accepted: BTreeMap<(String, String), usize> = BTreeMap::new();
    for a in server.accepted() {
        *accepted.entry((a.email.to_lowercase(), a.reference)).or_insert(0) += 1;
    }
    assert!(accepted.values().all(|&n| n == 1), "an order was invited twice: {accepted:?}");
    let invited: std::collections::BTreeSet<(String, String)> = results
        .records
        .iter()
        .filter(|record| matches!(record["status"].as_str(), "sent" | "already_sent"))
        .map(|record| (record["email"].to_lowercase(), record["reference"].clone()))
        .collect();
    let received: std::collections::BTreeSet<(String, String)> = accepted.into_keys().collect();
    assert_eq!(received, invited, "the orders received are not those the results say were invited");
}

#[test]
fn a_shopify_order_export_becomes_one_invitation_per_order_listing_each_sku_once() {
    let server = sandbox();
    let t = Test::new().against(&server);
    t.write("orders.csv", SHOPIFY);
    let run = send(&t, "orders.csv", &["--products"]);
    run.expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("  product_sku   <- \"Lineitem sku\"")
        .expect_stderr_line("  product_name  <- \"Lineitem name\"")
        .expect_stderr_line("  product_brand <- \"Vendor\"")
        .expect_stderr_line("4 rows: 2 sent, 2 duplicate.")
        .expect_stderr_line("Products: 2 orders, 4 line items.");

    assert_eq!(server.accepted().len(), 2, "one invitation per order");
    assert_eq!(
        body(&server, "1001"),
        json!({
            "consumerEmail": "greta@example.com",
            "consumerName": "Greta Lindqvist",
            "referenceNumber": "1001",
            "serviceReviewInvitation": {},
            "productReviewInvitation": {
                "products": [
                    {"sku": "MUG-01", "name": "Enamel Mug", "brand": "Rivertown Goods"},
                    {"sku": "TOWEL-02", "name": "Linen Tea Towel", "brand": "Rivertown Goods"},
                ]
            },
        })
    );
    assert_eq!(
        body(&server, "1002"),
        json!({
            "consumerEmail": "tomas@example.org",
            "consumerName": "Tomáš Novák",
            "referenceNumber": "1002",
            "serviceReviewInvitation": {},
            "productReviewInvitation": {"products": [{"sku": "COAST-04", "name": "Oak Coaster Set"}]},
        })
    );

    let results = check_one_line_per_row(&t, "orders.results.csv", 4);
    assert_eq!(
        results.columns(&["status", "error_code", "reference", "products"]),
        [
            ["sent", "", "1001", "MUG-01;TOWEL-02"],
            ["duplicate", "row.duplicate", "1001", ""],
            ["duplicate", "row.duplicate", "1001", ""],
            ["sent", "", "1002", "COAST-04"],
        ],
        "further line items are duplicates and carry no products of their own (none were sent for them)"
    );
    check_one_invitation_per_order(&results, &server);
    assert!(!t.exists("orders.errors.csv"), "a further line item is not a problem");
}

#[test]
fn product_skus_sends_the_skus_alone() {
    let server = sandbox();
    let t = Test::new().against(&server);
    t.write("orders.csv", SHOPIFY);
    send(&t, "orders.csv", &["--product-skus"]).expect_code(0).expect_stderr_line("4 rows: 2 sent, 2 duplicate.");
    assert_eq!(
        body(&server, "1001")["productReviewInvitation"],
        json!({"productSkus": ["MUG-01", "TOWEL-02"]}),
        "productSkus and never products beside it"
    );
    assert_eq!(body(&server, "1001")["serviceReviewInvitation"], json!({}));
    assert_eq!(body(&server, "1002")["productReviewInvitation"], json!({"productSkus": ["COAST-04"]}));
    let results = t.table("orders.results.csv");
    assert_eq!(results.column("products"), ["MUG-01;TOWEL-02", "", "", "COAST-04"]);
}

#[test]
fn product_skus_needs_only_the_skus() {
    let server = sandbox();
    let t = Test::new().against(&server);
    // An account with a product catalogue at Trustpilot: the export has the SKUs, nothing more.
    t.write(
        "orders.csv",
        "email,name,reference,sku,product url\n\
         ann@example.com,Ann Lee,5001,ABC-1,\n\
         ann@example.com,Ann Lee,5001,ABC-2,see catalogue\n\
         ann@example.com,Ann Lee,5001,,\n",
    );
    send(&t, "orders.csv", &["--product-skus"])
        .expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("3 rows: 1 sent, 2 duplicate.")
        .expect_stderr_line("Products: 1 order, 2 line items.");
    assert_eq!(body(&server, "5001")["productReviewInvitation"], json!({"productSkus": ["ABC-1", "ABC-2"]}));
    assert!(
        !t.exists("orders.errors.csv"),
        "a name or URL that is not sent is not missing: {}",
        t.read("orders.errors.csv")
    );
}

#[test]
fn products_from_a_file_without_product_columns_is_a_usage_error() {
    let server = sandbox();
    let t = Test::new().against(&server);
    t.write("customers.csv", "email,name,reference\nann@example.com,Ann Lee,R-1\n");
    send(&t, "customers.csv", &["--products"]).expect_code(2).expect_no_panic().expect_stderr_line(
        "tp-invite: --products lists each order's products by their SKU, but no column looks like one (such as \
         \"Lineitem sku\", \"SKU\" or \"Product SKU\"). Name it with --map product_sku=COLUMN; the columns are: \
         \"email\", \"name\", \"reference\".",
    );
    t.write("skus.csv", "email,name,reference,sku\nann@example.com,Ann Lee,R-1,ABC-1\n");
    let run = send(&t, "skus.csv", &["--products", "--json"]);
    run.expect_code(2);
    assert_eq!(
        run.json()["error"]["message"],
        "--products sends each product's name, but no column looks like one (such as \"Lineitem name\", \"Product \
         Name\" or \"Item Name\"). Name it with --map product_name=COLUMN, or send the SKUs alone with \
         --product-skus (for an account whose product catalogue is at Trustpilot); the columns are: \"email\", \
         \"name\", \"reference\", \"sku\"."
    );
    assert!(server.requests().iter().all(|r| !r.path.ends_with("/email-invitations")), "nothing was sent");
    assert!(!t.exists("customers.results.csv") && !t.exists("skus.results.csv"), "{:?}", t.files());
}

#[test]
fn an_orders_line_items_are_gathered_from_anywhere_in_the_file() {
    let server = sandbox();
    let t = Test::new().against(&server);
    // Row 1 is a line item of #2001 before the order's first row (row 3); row 4 is one of
    // #2002 after another order; row 5 repeats #2001's email in other case, without a name,
    // as Shopify writes further line items; row 7 repeats #2002's first row whole.
    t.write(
        "orders.csv",
        "Name,Email,Lineitem name,Lineitem sku,Billing Name\n\
         #2001,,Wool Socks,SO-2,\n\
         #2002,bo@example.com,Beanie,BN-1,Bo Berg\n\
         #2001,ann@example.com,Enamel Mug,MUG-01,Ann Lee\n\
         #2002,,Scarf,SC-3,\n\
         #2001,ANN@example.com,Linen Tea Towel,TOWEL-02,\n\
         #2003,cy@example.com,Enamel Mug,MUG-01,Cy Dee\n\
         #2002,bo@example.com,Beanie,BN-1,Bo Berg\n",
    );
    let run = send(&t, "orders.csv", &["--products"]);
    run.expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("7 rows: 3 sent, 4 duplicate.")
        .expect_stderr_line("Products: 3 orders, 7 line items.");
    assert_eq!(
        skus_by_reference(&server),
        BTreeMap::from([
            ("2001".to_string(), vec!["SO-2".to_string(), "MUG-01".to_string(), "TOWEL-02".to_string()]),
            ("2002".to_string(), vec!["BN-1".to_string(), "SC-3".to_string()]),
            ("2003".to_string(), vec!["MUG-01".to_string()]),
        ]),
        "each order once, its SKUs in the order of the file, each once"
    );
    assert_eq!(body(&server, "2001")["consumerEmail"], "ann@example.com");
    let results = check_one_line_per_row(&t, "orders.results.csv", 7);
    assert_eq!(
        results.columns(&["status", "reference", "products"]),
        [
            ["duplicate", "2001", ""],
            ["sent", "2002", "BN-1;SC-3"],
            ["sent", "2001", "SO-2;MUG-01;TOWEL-02"],
            ["duplicate", "2002", ""],
            ["duplicate", "2001", ""],
            ["sent", "2003", "MUG-01"],
            ["duplicate", "2002", ""],
        ]
    );
    check_one_invitation_per_order(&results, &server);
    assert!(!t.exists("orders.errors.csv"), "no row is a problem: {}", t.read("orders.errors.csv"));
}

#[test]
fn a_line_item_without_sku_or_name_is_reported_and_its_order_goes_without_it() {
    let server = sandbox();
    let t = Test::new().against(&server);
    // #3002's only line item (a gift card) has no SKU: the order still asks for a service review.
    t.write(
        "orders.csv",
        "Name,Email,Lineitem name,Lineitem sku,Billing Name\n\
         #3001,ann@example.com,Enamel Mug,MUG-01,Ann Lee\n\
         #3001,ann@example.com,,TOWEL-02,\n\
         #3001,ann@example.com,Gift Wrap,,\n\
         #3002,bo@example.com,Gift Card,,Bo Berg\n",
    );
    let run = send(&t, "orders.csv", &["--products"]);
    // Reading of SPEC section 1: exit 3 means some rows are `invalid`. No row is: the line items
    // are the order's further rows (`duplicate`) or its first row (`sent`); what was left out is
    // in the error report and the summary.
    run.expect_code(0).expect_no_panic().expect_stderr_line("4 rows: 2 sent, 2 duplicate.").expect_stderr_line(
        "Products: 2 orders, 1 line item (3 line items left out for a missing SKU, name or a bad value: see the \
             error report).",
    );
    assert_eq!(
        body(&server, "3001")["productReviewInvitation"],
        json!({"products": [{"sku": "MUG-01", "name": "Enamel Mug"}]})
    );
    assert_eq!(
        body(&server, "3002"),
        json!({
            "consumerEmail": "bo@example.com",
            "consumerName": "Bo Berg",
            "referenceNumber": "3002",
            "serviceReviewInvitation": {},
        }),
        "an order without a usable line item is invited for a service review only"
    );

    let results = check_one_line_per_row(&t, "orders.results.csv", 4);
    assert_eq!(
        results.columns(&["status", "products"]),
        [["sent", "MUG-01"], ["duplicate", ""], ["duplicate", ""], ["sent", ""]]
    );
    check_one_invitation_per_order(&results, &server);
    let errors = t.read("orders.errors.csv");
    assert_eq!(errors.lines().next(), Some(ERRORS_HEADER));
    let errors = t.table("orders.errors.csv");
    assert_eq!(
        errors.columns(&["row", "line", "field", "code", "value"]),
        [
            ["2", "3", "product_name", "product.name_missing", ""],
            ["3", "4", "product_sku", "product.sku_missing", ""],
            ["4", "5", "product_sku", "product.sku_missing", ""],
        ]
    );
    assert_eq!(
        errors.records[0]["message"],
        "This line item has no product name: Trustpilot needs a SKU and a name for each product. The order is \
         invited without it; add the name in the file to include it."
    );
}

#[test]
fn a_products_url_image_gtin_mpn_and_brand_ride_along_when_the_file_has_them() {
    let server = sandbox();
    let t = Test::new().against(&server);
    t.write(
        "items.csv",
        "email,name,reference,sku,product name,product url,image url,gtin,mpn,brand\n\
         ann@example.com,Ann Lee,4001,TS-1,T-Shirt,https://shop.example.com/ts-1,https://cdn.example.com/ts-1.jpg,05012345678900,MPN-TS1,Acme\n\
         ann@example.com,Ann Lee,4001,SO-2,Socks,shop.example.com/socks,,,,\n\
         ann@example.com,Ann Lee,4001,CAP-3,Cap,,,,,\n",
    );
    let run = send(&t, "items.csv", &["--products"]);
    run.expect_code(0).expect_no_panic().expect_stderr_line("3 rows: 1 sent, 2 duplicate.");
    assert_eq!(
        body(&server, "4001")["productReviewInvitation"],
        json!({"products": [
            {
                "sku": "TS-1",
                "name": "T-Shirt",
                "productUrl": "https://shop.example.com/ts-1",
                "imageUrl": "https://cdn.example.com/ts-1.jpg",
                "gtin": "05012345678900",
                "mpn": "MPN-TS1",
                "brand": "Acme",
            },
            {"sku": "CAP-3", "name": "Cap"},
        ]}),
        "a line item whose URL is not one (no scheme) is left out, as a bad redirect_uri would be"
    );
    let errors = t.table("items.errors.csv");
    assert_eq!(errors.columns(&["row", "field", "value"]), [["2", "product_url", "shop.example.com/socks"]]);
}

#[test]
fn a_dry_run_shows_the_grouping_and_sends_nothing() {
    let server = sandbox();
    let t = Test::new().against(&server);
    t.write("orders.csv", SHOPIFY);
    let run = t.run(["send", "orders.csv", "--products", "--dry-run"]);
    run.expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("4 rows: 2 ready to send, 2 duplicate.")
        .expect_stderr_line("Products: 2 orders, 4 line items.");
    assert!(server.requests().is_empty(), "a dry run sends nothing: {:?}", server.requests());
    let results = check_one_line_per_row(&t, "orders.results.csv", 4);
    assert_eq!(
        results.columns(&["status", "products"]),
        [["ready", "MUG-01;TOWEL-02"], ["duplicate", ""], ["duplicate", ""], ["ready", "COAST-04"]]
    );
}

#[test]
fn sending_the_same_export_again_resends_nothing() {
    let server = sandbox();
    let t = Test::new().against(&server);
    t.write("orders.csv", SHOPIFY);
    send(&t, "orders.csv", &["--products"]).expect_code(0).expect_stderr_line("4 rows: 2 sent, 2 duplicate.");
    let first = server.accepted();
    send(&t, "orders.csv", &["--products"])
        .expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("0 rows to send (2 rows already sent before).")
        .expect_stderr_line("4 rows: 2 already sent, 2 duplicate.");
    assert_eq!(server.accepted(), first, "nothing was sent again");
    let results = check_one_line_per_row(&t, "orders.results.csv", 4);
    assert_eq!(results.column("status"), ["already_sent", "duplicate", "duplicate", "already_sent"]);
    check_one_invitation_per_order(&results, &server);
    // A product run of a file sent before without --products does not invite again either.
    t.write("orders.csv", SHOPIFY.replace("#1002", "#1003"));
    send(&t, "orders.csv", &[]).expect_code(0).expect_stderr_line("4 rows: 1 sent, 1 already sent, 2 duplicate.");
    assert_eq!(body(&server, "1003")["productReviewInvitation"], Value::Null, "without --products: service only");
}

#[test]
fn with_send_after_both_reviews_are_asked_for_at_the_same_time() {
    let server = sandbox();
    let t = Test::new().against(&server);
    t.write("orders.csv", SHOPIFY);
    let run = send(&t, "orders.csv", &["--products", "--send-after", "7d"]);
    run.expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("  send time <- \"Fulfilled at\" (the order's date, for --send-after)");
    // 2099-03-02 10:14:03 +0100 is 09:14:03 UTC; a week later.
    for (reference, time) in [("1001", "2099-03-09T09:14:03"), ("1002", "2099-03-10T15:40:51")] {
        let body = body(&server, reference);
        assert_eq!(body["serviceReviewInvitation"]["preferredSendTime"], time, "{body}");
        assert_eq!(body["productReviewInvitation"]["preferredSendTime"], time, "{body}");
    }
    let results = t.table("orders.results.csv");
    assert_eq!(results.column("preferred_send_time"), ["2099-03-09T09:14:03", "", "", "2099-03-10T15:40:51"]);
}

#[test]
fn retry_of_a_failed_product_invitation_sends_the_products_it_listed() {
    let server = Server::start(SandboxConfig { token_limit: None, fail_rate: 1.0, ..SandboxConfig::default() });
    let t = Test::new().against(&server);
    t.write("orders.csv", SHOPIFY);
    send(&t, "orders.csv", &["--products", "--max-attempts", "1"]).expect_code(4);
    assert!(server.accepted().is_empty());
    server.set_faults(Faults::NONE);
    t.run(["retry", "orders.results.csv", "--rate", "200/s"]).expect_code(0).expect_no_panic();
    assert_eq!(
        body(&server, "1001")["productReviewInvitation"],
        json!({"products": [
            {"sku": "MUG-01", "name": "Enamel Mug", "brand": "Rivertown Goods"},
            {"sku": "TOWEL-02", "name": "Linen Tea Towel", "brand": "Rivertown Goods"},
        ]}),
        "retry sends what send would have sent: the products with their names, not productSkus"
    );
    let results = t.table("orders.results.csv");
    assert_eq!(results.column("products"), ["MUG-01;TOWEL-02", "", "", "COAST-04"], "the column survives the rewrite");
}

#[test]
fn a_woocommerce_order_items_export_lists_its_products() {
    let server = sandbox();
    let t = Test::new().against(&server);
    t.sample("platforms/woocommerce-order-items.csv");
    let run = send(&t, "platforms/woocommerce-order-items.csv", &["--products"]);
    run.expect_code(0).expect_no_panic().expect_stderr_line("  product_name <- \"Name\"");
    assert_eq!(
        body(&server, "2041")["productReviewInvitation"],
        json!({"products": [{"sku": "TS-BLU-M", "name": "T-Shirt"}, {"sku": "SK-GRY", "name": "Socks"}]})
    );
    assert!(!t.exists("platforms/woocommerce-order-items.errors.csv"));
}

#[test]
fn a_further_line_item_points_at_its_orders_first_row() {
    let t = Test::new();
    t.write(
        "orders.csv",
        "Name,Email,Lineitem name,Lineitem sku,Billing Name\n\
         #2001,,Wool Socks,SO-2,\n\
         #2001,ann@example.com,Enamel Mug,MUG-01,Ann Lee\n\
         #2001,ann@example.com,Linen Tea Towel,TOWEL-02,\n",
    );
    t.run(["send", "orders.csv", "--products", "--dry-run"]).expect_code(0);
    let results = t.table("orders.results.csv");
    for row in [1, 3] {
        let error = &results.row(row)["error"];
        assert!(error.contains("row 2"), "row {row} does not name its order's first row: {error:?}");
    }
}
