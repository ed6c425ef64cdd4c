//! Real exports of shop, marketplace and CRM platforms (`sample-data/platforms/`), read without
//! `--map` where their columns allow it, and nothing guessed wrong where they do not.

use crate::support::{Run, Test};

fn dry_run(t: &Test, input: &str, flags: &[&str]) -> Run {
    let mut args = vec!["send", input, "--dry-run"];
    args.extend_from_slice(flags);
    t.run(args)
}

/// Copies `sample-data/platforms/<file>` into the test's folder and dry-runs it.
fn dry_run_sample(t: &Test, file: &str, flags: &[&str]) -> Run {
    let name = format!("platforms/{file}");
    t.sample(&name);
    dry_run(t, &name, flags)
}

/// The results file of `platforms/<file>`.
fn results_of(t: &Test, file: &str) -> crate::support::Table {
    let stem = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
    t.table(&format!("platforms/{stem}.results.csv"))
}

#[test]
fn every_platform_sample_reads_as_the_readme_says() {
    // (file, flags, status of each row). Duplicates are an order's further line items.
    let table: &[(&str, &[&str], &[&str])] = &[
        ("shopify-orders.csv", &[], &["ready", "duplicate", "duplicate", "ready", "ready", "invalid"]),
        ("shopify-customers.csv", &[], &["ready", "ready", "ready", "ready"]),
        ("woocommerce-orders.csv", &[], &["ready", "ready", "ready"]),
        ("woocommerce-order-items.csv", &[], &["ready", "duplicate", "ready"]),
        ("woocommerce-customers.csv", &["--map", "reference=Email"], &["ready", "ready", "ready"]),
        ("magento-orders.csv", &[], &["ready", "ready", "ready"]),
        ("magento-customers.csv", &[], &["ready", "ready", "ready"]),
        ("bigcommerce-orders.csv", &[], &["ready", "ready", "ready"]),
        ("bigcommerce-customers.csv", &[], &["ready", "ready"]),
        ("prestashop-customers.csv", &[], &["ready", "ready"]),
        ("squarespace-orders.csv", &[], &["ready", "duplicate", "duplicate", "ready"]),
        ("ebay-orders.csv", &[], &["ready", "ready", "ready"]),
        ("amazon-orders.txt", &[], &["ready", "duplicate", "ready"]),
        ("stripe-customers.csv", &[], &["ready", "ready"]),
        ("stripe-payments.csv", &["--map", "name=Customer Description"], &["ready", "ready"]),
        ("mailchimp-audience.csv", &[], &["ready", "ready", "ready"]),
        ("hubspot-contacts.csv", &[], &["ready", "ready"]),
        ("klaviyo-profiles.csv", &[], &["ready", "ready"]),
        ("excel-sep-forms.csv", &[], &["ready", "ready", "ready", "invalid", "ready"]),
        ("title-line.csv", &[], &["ready", "ready"]),
    ];
    for (file, flags, statuses) in table {
        let t = Test::new();
        let run = dry_run_sample(&t, file, flags);
        run.expect_no_panic();
        // A duplicate alone is not a problem (SPEC 2); an invalid row is.
        let invalid = statuses.contains(&"invalid");
        let duplicate = statuses.contains(&"duplicate");
        match (invalid, duplicate) {
            (true, _) => run.expect_code(3),
            (false, false) => run.expect_code(0),
            (false, true) => {
                assert!(matches!(run.code(), Some(0 | 3)), "{file}\n{run}");
                &run
            }
        };
        assert_eq!(results_of(&t, file).column("status"), *statuses, "{file}\n{run}");
    }
}

#[test]
fn a_shopify_order_export_takes_references_names_and_line_items_right() {
    let t = Test::new();
    dry_run_sample(&t, "shopify-orders.csv", &[])
        .expect_stderr_line("  reference <- \"Name\" (Shopify order export: the order number, without its '#')")
        .expect_stderr_line(
            "  name      <- \"Billing Name\", else \"Shipping Name\" (Shopify order export: \"Name\" holds the order \
             number)",
        )
        .expect_stderr_line(
            "  not sent: \"Tags\", \"Location\" (Shopify's own order data, not Trustpilot's; to send one anyway, add \
             --map tags=\"Tags\")",
        );
    let results = results_of(&t, "shopify-orders.csv");
    assert_eq!(results.column("reference"), ["1001", "1001", "1001", "1002", "1003", "1004"]);
    // Order #1003 has no billing name: the shipping name stands in.
    assert_eq!(results.row(5)["name"], "Amara Okafor");
    assert_eq!(results.column("tags"), ["", "", "", "", "", ""], "the shop's tags are not Trustpilot's");
    assert_eq!(results.row(6)["error_code"], "email.required");
}

#[test]
fn a_customer_list_tag_column_does_not_make_customers_invalid() {
    let t = Test::new();
    dry_run_sample(&t, "shopify-customers.csv", &[])
        .expect_code(0)
        .expect_stderr_line("  reference <- \"Customer ID\" (a customer id: the file has no order number)")
        .expect_stderr_line(
            "  not sent: \"Tags\" (the shop's own data, not Trustpilot's; to send it anyway, add --map tags=\"Tags\")",
        );
    let results = results_of(&t, "shopify-customers.csv");
    // Shopify writes its ids with Excel's leading ', and one address came with it too.
    assert_eq!(results.row(1)["reference"], "7335735378213");
    assert_eq!(results.row(4)["email"], "kenji.watanabe@example.com");
    assert_eq!(results.column("tags"), ["", "", "", ""]);

    // Sent as Trustpilot tags only when asked: then `Bronze VIP` is refused, as Trustpilot would.
    dry_run(&t, "platforms/shopify-customers.csv", &["--map", "tags=Tags"]).expect_code(3);
    assert_eq!(results_of(&t, "shopify-customers.csv").row(1)["error_code"], "tags.invalid_char");
}

#[test]
fn a_product_name_is_never_the_customers_name() {
    let t = Test::new();
    dry_run_sample(&t, "woocommerce-order-items.csv", &[])
        .expect_stderr_line("  name      <- \"Billing First Name\" + \"Billing Last Name\"")
        .expect_stderr_line(
            "  not the customer's name: \"Name\" (beside \"SKU\", it names the product; if it holds the customer's \
             name, add --map name=\"Name\")",
        );
    assert_eq!(
        results_of(&t, "woocommerce-order-items.csv").column("name"),
        ["Lucía García", "Lucía García", "Mateo Rossi"]
    );

    // With no other name in the file, the run stops before anything, rather than greet "Dear T-Shirt".
    t.write("items.csv", "Order ID,Email,Name,SKU,Quantity\n7,ann@example.com,T-Shirt,TS-1,1\n");
    dry_run(&t, "items.csv", &[])
        .expect_code(1)
        .expect_stderr_line("tp-invite: 'items.csv' has no column for the field name.")
        .expect_stderr_line(
            "  not the customer's name: \"Name\" (beside \"SKU\", it names the product; if it holds the customer's \
             name, add --map name=\"Name\")",
        );
    assert!(!t.exists("items.results.csv"));
}

#[test]
fn a_bare_name_passed_over_for_billing_names_is_said_and_stands_in() {
    let t = Test::new();
    dry_run_sample(&t, "magento-customers.csv", &[])
        .expect_code(0)
        .expect_stderr_line("  name      <- \"Billing Firstname\" + \"Billing Lastname\", else \"Name\"")
        .expect_stderr_line(
            "  passed over: \"Name\" for \"Billing Firstname\" + \"Billing Lastname\", except where both are empty \
             (to take every name from \"Name\", add --map name=\"Name\")",
        );
    // The customer without a billing address keeps the account's name.
    assert_eq!(
        results_of(&t, "magento-customers.csv").column("name"),
        ["Hannah Brooks", "Marcus Lee", "Sofia Costa-Pereira"]
    );
    // The --map it names takes every name from there.
    dry_run(&t, "platforms/magento-customers.csv", &["--map", "name=Name"]).expect_code(0);
    assert_eq!(t.table("platforms/magento-customers.results.csv").row(3)["name"], "Sofia Costa");
}

#[test]
fn a_missing_reference_suggests_identifiers_or_the_email_never_counts_or_phones() {
    let t = Test::new();
    dry_run_sample(&t, "woocommerce-customers.csv", &[])
        .expect_code(1)
        .expect_no_panic()
        .expect_stderr_line("tp-invite: 'platforms/woocommerce-customers.csv' has no column for the field reference.")
        .expect_stderr_line("Say which column holds each field, e.g. --map reference=\"Username\"")
        .expect_stderr_line(
            "A list without order numbers can use the email as the reference: --map reference=\"Email\"",
        )
        .expect_stderr_lacks("\"Orders\"\n")
        .expect_stderr_lacks("=\"Orders\"")
        .expect_stderr_lacks("=\"Total Spend\"");
    assert_eq!(t.files(), ["platforms"]);

    t.write(
        "crm.csv",
        "Email Address,Full Name,Total Orders,Phone Number,prefix,Notes\nann@example.com,Ann Lee,3,555 0100,Dr,x\n",
    );
    dry_run(&t, "crm.csv", &[])
        .expect_code(1)
        .expect_stderr_line("Say which column holds each field, e.g. --map reference=\"<column name>\"")
        .expect_stderr_line(
            "A list without order numbers can use the email as the reference: --map reference=\"Email Address\"",
        )
        .expect_stderr_lacks("=\"Total Orders\"")
        .expect_stderr_lacks("=\"Phone Number\"")
        .expect_stderr_lacks("=\"prefix\"");
    // One column may serve two fields when the user says so.
    dry_run(&t, "crm.csv", &["--map", "reference=Email Address"])
        .expect_code(0)
        .expect_stderr_line("  email     <- \"Email Address\" (also the reference)")
        .expect_stderr_line("  reference <- \"Email Address\" (--map; also the email)");
    let results = t.table("crm.results.csv");
    assert_eq!([&results.row(1)["email"], &results.row(1)["reference"]], ["ann@example.com", "ann@example.com"]);
}

#[test]
fn crm_ids_are_references_of_a_customer_list() {
    for (file, line) in [
        ("hubspot-contacts.csv", "  reference <- \"Record ID\" (a customer id: the file has no order number)"),
        ("klaviyo-profiles.csv", "  reference <- \"Klaviyo ID\" (a customer id: the file has no order number)"),
        (
            "mailchimp-audience.csv",
            "  reference <- \"LEID\", else \"EUID\" (a customer id: the file has no order number)",
        ),
    ] {
        let t = Test::new();
        dry_run_sample(&t, file, &[]).expect_code(0).expect_stderr_line(line);
    }
}

#[test]
fn mailchimp_tags_and_address_forms_are_read_right() {
    let t = Test::new();
    dry_run_sample(&t, "mailchimp-audience.csv", &[]).expect_code(0).expect_stderr_line(
        "  not sent: \"TAGS\" (the shop's own data, not Trustpilot's; to send it anyway, add --map tags=\"TAGS\")",
    );
    let results = results_of(&t, "mailchimp-audience.csv");
    assert_eq!(
        results.column("email"),
        ["felix.wagner@example.com", "clara.schmitt@example.org", "jonas.weber@example.net"]
    );
    assert_eq!(results.column("tags"), ["", "", ""]);
}

#[test]
fn excel_sep_line_is_honoured_and_address_forms_are_reduced() {
    let t = Test::new();
    dry_run_sample(&t, "excel-sep-forms.csv", &[])
        .expect_code(3)
        .expect_stderr_line("Reading platforms/excel-sep-forms.csv (UTF-8, semicolon-separated). Columns:")
        .expect_stderr_line("  email     <- \"Email\"");
    let results = results_of(&t, "excel-sep-forms.csv");
    assert_eq!(
        results.columns(&["row", "line", "email", "reference"]),
        [
            ["1", "3", "oskar.berg@example.com", "00417"],
            ["2", "4", "lea.roth@example.org", "418"],
            ["3", "5", "mia.braun@example.net", "419"],
            ["4", "6", "nils.vogt@ｅｘａｍｐｌｅ.com", "420"],
            ["5", "7", "ida.krause@example.com", "421"],
        ]
    );
    let errors = t.table("platforms/excel-sep-forms.errors.csv");
    assert_eq!(
        errors.columns(&["row", "line", "field", "code", "value", "message"]),
        [[
            "4",
            "6",
            "email",
            "email.invalid",
            "nils.vogt@ｅｘａｍｐｌｅ.com",
            "The address 'nils.vogt@ｅｘａｍｐｌｅ.com' contains the full-width character 'ｅ' (U+FF45), as typed on a \
             Chinese, Japanese or Korean keyboard; mail servers do not take it. Retype the address as \
             'nils.vogt@example.com'."
        ]]
    );
    // --delimiter given does not make the sep= line a header either.
    dry_run(&t, "platforms/excel-sep-forms.csv", &["--delimiter", ";"]).expect_code(3);
}

#[test]
fn report_titles_and_footers_are_not_customers() {
    let t = Test::new();
    // eBay: a line of commas above and below the header, the footer after a blank line.
    dry_run_sample(&t, "ebay-orders.csv", &[]).expect_code(0).expect_stderr_line("3 rows: 3 ready to send.");
    let ebay = results_of(&t, "ebay-orders.csv");
    assert_eq!(ebay.columns(&["row", "line"]), [["1", "4"], ["2", "5"], ["3", "6"]]);
    assert!(!t.exists("platforms/ebay-orders.errors.csv"), "no footer line is an invalid row");

    dry_run_sample(&t, "title-line.csv", &[]).expect_code(0).expect_stderr_line("2 rows: 2 ready to send.");
    let titled = results_of(&t, "title-line.csv");
    assert_eq!(titled.columns(&["row", "line", "reference"]), [["1", "4", "C-1001"], ["2", "5", "C-1002"]]);
}

#[test]
fn exports_without_addresses_say_so_before_anything() {
    let t = Test::new();
    for file in ["etsy-sold-orders.csv", "prestashop-orders.csv"] {
        let stem = file.trim_end_matches(".csv");
        dry_run_sample(&t, file, &[])
            .expect_code(1)
            .expect_no_panic()
            .expect_stderr("  email: looked for a column like \"Email\", \"E-mail Address\"")
            .expect_stderr("--map email=\"<column name>\"");
        assert!(!t.exists(&format!("platforms/{stem}.results.csv")));
    }
}

#[test]
fn squarespace_line_items_belong_to_their_order() {
    let t = Test::new();
    let run = dry_run_sample(&t, "squarespace-orders.csv", &[]);
    run.expect_stderr_line("4 rows: 2 ready to send, 2 duplicate.").expect_stderr_lacks("invalid");
    // Line items are not problems: no error report; the results say whose they are.
    assert!(!t.exists("platforms/squarespace-orders.errors.csv"));
    let results = t.table("platforms/squarespace-orders.results.csv");
    assert_eq!(results.column("status"), ["ready", "duplicate", "duplicate", "ready"]);
}
