//! Whom to invite and when, through the real binary: `--send-after` (the exact send times the
//! sandbox received, for every date form and time zone), `--exclude`, `--skip-where` and
//! `--cooldown` (rows left out as `excluded`, never received), and what the summary, `--json`
//! and the dry run say of them (SPEC sections 1 and 3; issue 12).
//!
//! Dates are far in the future (2099) when a send time must be kept and far in the past (2001)
//! when it must be dropped, so that no test depends on today's date.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use tp_invite::sandbox::SandboxConfig;

use crate::support::{ERRORS_HEADER, Run, Server, Table, Test, acceptances, check_never_twice, check_one_line_per_row};

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

/// The `preferredSendTime` of each invitation the sandbox accepted, by reference (`None`:
/// the body has none), checking that it asks for a service review.
fn send_times(server: &Server) -> BTreeMap<String, Option<String>> {
    server
        .accepted()
        .into_iter()
        .map(|a| {
            let service = &a.body["serviceReviewInvitation"];
            assert!(service.is_object(), "{}", a.body);
            (a.reference, service.get("preferredSendTime").and_then(Value::as_str).map(str::to_string))
        })
        .collect()
}

fn times(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
    pairs.iter().map(|(r, t)| (r.to_string(), t.map(str::to_string))).collect()
}

/// What the sandbox accepted of the rows `results` holds (other files' rows left out).
fn accepted_of(results: &Table, server: &Server) -> BTreeMap<(String, String), usize> {
    let held: BTreeSet<_> = results.records.iter().map(|r| (r["email"].clone(), r["reference"].clone())).collect();
    acceptances([server]).into_iter().filter(|(key, _)| held.contains(key)).collect()
}

/// How many requests reached the email-invitations endpoint.
fn invitation_requests(server: &Server) -> usize {
    server.requests().iter().filter(|r| r.path.ends_with("/email-invitations")).count()
}

// ---------------------------------------------------------------------------------------------
// --send-after

#[test]
fn send_after_sends_each_date_form_at_its_date_plus_the_delay() {
    let server = sandbox();
    let t = Test::new().against(&server);
    // Copenhagen is UTC+1 in November and UTC+2 in July; Excel's 73000 is 2099-11-11.
    t.write(
        "orders.csv",
        "email,name,reference,Dispatched,preferred_send_time\n\
         a@example.com,A,SHOPIFY,2099-11-03 14:05:09 +0100,\n\
         b@example.com,B,ISO-OFFSET,2099-11-03T14:05:09-05:00,\n\
         c@example.com,C,ISO-Z,2099-11-03T14:05:09Z,\n\
         d@example.com,D,ISO-LOCAL,2099-11-03T14:05:09,\n\
         e@example.com,E,LOCAL-SUMMER,2099-07-03 14:05,\n\
         f@example.com,F,DATE-ONLY,2099-11-03,\n\
         g@example.com,G,EXCEL,73000,\n\
         h@example.com,H,EXCEL-TIME,73000.75,\n\
         i@example.com,I,NAMED-MONTH,3 Nov 2099,\n\
         j@example.com,J,PAST,2001-03-02 10:00:00 +0100,\n\
         k@example.com,K,PAST-EXCEL,36952,\n\
         l@example.com,L,OWN-TIME,2001-03-02,2099-12-24T09:00:00+01:00\n",
    );
    let run = send(
        &t,
        "orders.csv",
        &["--send-after", "7d", "--date-column", "Dispatched", "--timezone", "Europe/Copenhagen"],
    );
    run.expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("  send time <- \"Dispatched\" (the order's date, for --send-after)")
        .expect_stderr_line("12 rows: 12 sent.");
    assert_eq!(
        send_times(&server),
        times(&[
            ("SHOPIFY", Some("2099-11-10T13:05:09")),
            ("ISO-OFFSET", Some("2099-11-10T19:05:09")),
            ("ISO-Z", Some("2099-11-10T14:05:09")),
            ("ISO-LOCAL", Some("2099-11-10T13:05:09")),
            ("LOCAL-SUMMER", Some("2099-07-10T12:05:00")),
            ("DATE-ONLY", Some("2099-11-09T23:00:00")),
            ("EXCEL", Some("2099-11-17T23:00:00")),
            ("EXCEL-TIME", Some("2099-11-18T17:00:00")),
            ("NAMED-MONTH", Some("2099-11-09T23:00:00")),
            // Already past: left out, so that Trustpilot sends at once.
            ("PAST", None),
            ("PAST-EXCEL", None),
            // The row's own send time wins over the order's date.
            ("OWN-TIME", Some("2099-12-24T08:00:00")),
        ])
    );
    let results = check_one_line_per_row(&t, "orders.results.csv", 12);
    assert_eq!(results.row(1)["preferred_send_time"], "2099-11-10T13:05:09", "the results hold what was sent");
    assert_eq!(results.row(10)["preferred_send_time"], "");
    check_never_twice(&results, &acceptances([&server]));

    // Without --timezone, a date without an offset is UTC.
    let server = sandbox();
    let t = Test::new().against(&server);
    t.write(
        "orders.csv",
        "email,name,reference,Dispatched\n\
         d@example.com,D,ISO-LOCAL,2099-11-03T14:05:09\n\
         f@example.com,F,DATE-ONLY,2099-11-03\n",
    );
    send(&t, "orders.csv", &["--send-after", "36h", "--date-column", "Dispatched"]).expect_code(0);
    assert_eq!(
        send_times(&server),
        times(&[("ISO-LOCAL", Some("2099-11-05T02:05:09")), ("DATE-ONLY", Some("2099-11-04T12:00:00"))])
    );
}

#[test]
fn the_date_column_is_found_by_its_name() {
    let table = [
        ("Fulfilled at", "2099-03-02 10:14:03 +0100", "2099-03-09T09:14:03"),
        ("Created at", "2099-03-02 10:14:03 +0100", "2099-03-09T09:14:03"),
        ("Order Date", "2099-03-02", "2099-03-09T00:00:00"),
        ("Shipped date", "2099-03-02", "2099-03-09T00:00:00"),
        ("Bestelldatum", "2099-03-02", "2099-03-09T00:00:00"),
        // eBay writes its dates with a month name and a two-digit year.
        ("Sale Date", "Mar-02-68", "2068-03-09T00:00:00"),
    ];
    for (header, date, expected) in table {
        let server = sandbox();
        let t = Test::new().against(&server);
        t.write("orders.csv", format!("email,name,reference,{header}\na@example.com,A,R-1,{date}\n"));
        send(&t, "orders.csv", &["--send-after", "1w"])
            .expect_code(0)
            .expect_no_panic()
            .expect_stderr_line(&format!("  send time <- \"{header}\" (the order's date, for --send-after)"));
        assert_eq!(send_times(&server), times(&[("R-1", Some(expected))]), "{header}");
    }

    // A Shopify export has several dates: the fulfilment's is when the parcel left.
    let server = sandbox();
    let t = Test::new().against(&server);
    t.write(
        "orders.csv",
        "Name,Email,Financial Status,Created at,Paid at,Fulfilled at,Cancelled at,Billing Name\n\
         #1001,a@example.com,paid,2099-03-01 09:00:00 +0000,2099-03-01 09:05:00 +0000,2099-03-04 16:00:00 +0000,,Ann\n",
    );
    send(&t, "orders.csv", &["--send-after", "2d"])
        .expect_code(0)
        .expect_stderr_line("  send time <- \"Fulfilled at\" (the order's date, for --send-after)");
    assert_eq!(send_times(&server), times(&[("1001", Some("2099-03-06T16:00:00"))]));
}

#[test]
fn an_ebay_order_report_is_sent_after_its_sale_date() {
    let server = sandbox();
    let t = Test::new().against(&server);
    t.sample("platforms/ebay-orders.csv");
    // Its sales (`Mar-14-26`) are long past: sent at once, without a send time.
    send(&t, "platforms/ebay-orders.csv", &["--send-after", "7d"])
        .expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("  send time <- \"Sale Date\" (the order's date, for --send-after)");
    let times = send_times(&server);
    assert!(!times.is_empty() && times.values().all(Option::is_none), "{times:?}");
}

#[test]
fn day_and_month_are_never_guessed_and_the_fixed_row_is_sent_next_time() {
    let server = sandbox();
    let t = Test::new().against(&server);
    t.write(
        "orders.csv",
        "email,name,reference,Order Date\n\
         a@example.com,A,R-1,2099-11-03\n\
         b@example.com,B,R-2,03/11/2099\n",
    );
    let run = send(&t, "orders.csv", &["--send-after", "7d"]);
    run.expect_code(3).expect_no_panic().expect_stderr_line("2 rows: 1 sent, 1 invalid.");
    assert_eq!(send_times(&server), times(&[("R-1", Some("2099-11-10T00:00:00"))]), "the ambiguous row is not sent");
    let errors = t.table("orders.errors.csv");
    assert_eq!(
        errors.columns(&["row", "line", "field", "code", "value"]),
        [["2", "3", "date", "date.ambiguous", "03/11/2099"]]
    );
    assert_eq!(
        errors.records[0]["message"],
        "The date '03/11/2099' could have its day or its month first; say which with --date-format '%d/%m/%Y' (day \
         first) or --date-format '%m/%d/%Y' (month first). (column \"Order Date\", for --send-after.)"
    );
    let results = t.table("orders.results.csv");
    assert_eq!(results.columns(&["status", "error_code"]), [["sent", ""], ["invalid", "date.ambiguous"]]);

    // The shop owner says which: day first. Only the fixed row goes out.
    send(&t, "orders.csv", &["--send-after", "7d", "--date-format", "%d/%m/%Y"])
        .expect_code(0)
        .expect_stderr_line("2 rows: 1 sent, 1 already sent.");
    assert_eq!(
        send_times(&server),
        times(&[("R-1", Some("2099-11-10T00:00:00")), ("R-2", Some("2099-11-10T00:00:00"))])
    );
    assert!(!t.exists("orders.errors.csv"), "no row is invalid any more");

    // Month first reads the same cell as the 11th of March.
    let server = sandbox();
    let t = Test::new().against(&server);
    t.write("orders.csv", "email,name,reference,Order Date\nb@example.com,B,R-2,03/11/2099\n");
    send(&t, "orders.csv", &["--send-after", "7d", "--date-format", "%m/%d/%Y"]).expect_code(0);
    assert_eq!(send_times(&server), times(&[("R-2", Some("2099-03-18T00:00:00"))]));
}

#[test]
fn an_unreadable_or_empty_date_is_an_error_of_its_row_never_send_now() {
    let server = sandbox();
    let t = Test::new().against(&server);
    t.write(
        "orders.csv",
        "email,name,reference,Order Date\n\
         a@example.com,A,R-1,2099-11-03\n\
         b@example.com,B,R-2,soon\n\
         c@example.com,C,R-3,\n",
    );
    let run = send(&t, "orders.csv", &["--send-after", "7d"]);
    run.expect_code(3).expect_no_panic().expect_stderr_line("3 rows: 1 sent, 2 invalid.");
    assert_eq!(send_times(&server), times(&[("R-1", Some("2099-11-10T00:00:00"))]));
    assert_eq!(t.read("orders.errors.csv").lines().next(), Some(ERRORS_HEADER));
    let errors = t.table("orders.errors.csv");
    assert_eq!(
        errors.columns(&["row", "field", "code", "value"]),
        [["2", "date", "date.invalid", "soon"], ["3", "date", "date.required", ""]]
    );
    assert_eq!(
        errors.records[0]["message"],
        "The date 'soon' is not a date this tool can read, such as 2026-11-03, 2026-11-03 14:05:09 or \
         2026-11-03T14:05:09+01:00; give its layout with --date-format (e.g. --date-format '%d.%m.%Y %H:%M'), or \
         name the right column with --date-column. (column \"Order Date\", for --send-after.)"
    );
    let results = t.table("orders.results.csv");
    assert_eq!(results.column("status"), ["sent", "invalid", "invalid"]);
}

#[test]
fn a_date_column_the_file_lacks_is_a_usage_error_before_anything_is_sent() {
    let server = sandbox();
    let t = Test::new().against(&server);
    t.write("orders.csv", "email,name,reference,Order Date\na@example.com,A,R-1,2099-11-03\n");
    send(&t, "orders.csv", &["--send-after", "7d", "--date-column", "Shipped"])
        .expect_code(2)
        .expect_no_panic()
        .expect_stderr_line(
            "tp-invite: --date-column \"Shipped\": the file has no such column. Its columns are: \"email\", \"name\", \
         \"reference\", \"Order Date\".",
        );
    let json = send(&t, "orders.csv", &["--send-after", "7d", "--date-column", "Shipped", "--json"]);
    json.expect_code(2);
    assert_eq!(json.json()["error"]["code"], "usage");

    // Nor is there a column --send-after can count from.
    t.write("plain.csv", "email,name,reference\na@example.com,A,R-1\n");
    send(&t, "plain.csv", &["--send-after", "7d"]).expect_code(2).expect_stderr_line(
        "tp-invite: --send-after counts from the order's date, but no column looks like one (such as \"Fulfilled \
         at\", \"Order Date\" or \"Created at\"). Name it with --date-column; the columns are: \"email\", \"name\", \
         \"reference\".",
    );
    assert_eq!(invitation_requests(&server), 0);
    assert!(!t.exists("orders.results.csv") && !t.exists("plain.results.csv"), "{:?}", t.files());
}

// ---------------------------------------------------------------------------------------------
// --exclude

#[test]
fn excluded_addresses_and_domains_are_never_invited_and_the_results_say_where_they_are_listed() {
    let server = sandbox();
    let t = Test::new().against(&server);
    t.write(
        "optouts.txt",
        "# People who asked us not to write\n\
         Opted.Out@Example.com\n\
         \n\
         @staff.example.org\n\
         'quoted@example.com\n",
    );
    // A newsletter tool's unsubscribe export.
    t.write(
        "unsubscribed.csv",
        "Email Address,First Name,Last Name,UNSUB_TIME,UNSUB_REASON\n\
         mailto:gone@example.net,Gone,Away,2026-10-01 10:00:00,\"No longer interested, thanks\"\n",
    );
    t.write(
        "customers.csv",
        "email,name,reference\n\
         ann@example.com,Ann,X-1\n\
         opted.out@example.com,Opt,X-2\n\
         boss@staff.example.org,Boss,X-3\n\
         dev@eu.staff.example.org,Dev,X-4\n\
         Gone@Example.NET,Gone,X-5\n\
         quoted@example.com,Quinn,X-6\n\
         staff.example.org@example.com,Not Staff,X-7\n\
         bo@notstaff.example.org,Bo,X-8\n",
    );
    let run = send(&t, "customers.csv", &["--exclude", "optouts.txt", "--exclude", "unsubscribed.csv"]);
    run.expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("3 rows to send (5 rows not invited by your rules).")
        .expect_stderr_line("8 rows: 3 sent, 5 excluded.")
        .expect_stderr_line("Not invited by your rules: 5 rows by --exclude.");
    let received: Vec<String> = server.accepted().into_iter().map(|a| a.reference).collect();
    assert_eq!(received.len(), 3);
    for reference in ["X-1", "X-7", "X-8"] {
        assert!(received.contains(&reference.to_string()), "{reference} was not sent: {received:?}");
    }
    let results = check_one_line_per_row(&t, "customers.results.csv", 8);
    check_never_twice(&results, &acceptances([&server]));
    assert_eq!(
        results.columns(&["reference", "status", "error_code", "error"]),
        [
            ["X-1", "sent", "", ""],
            ["X-2", "excluded", "excluded.list", "Listed in optouts.txt (line 2): not invited."],
            [
                "X-3",
                "excluded",
                "excluded.list",
                "Its domain is listed in optouts.txt (line 4: @staff.example.org): not invited.",
            ],
            [
                "X-4",
                "excluded",
                "excluded.list",
                "Its domain is listed in optouts.txt (line 4: @staff.example.org): not invited.",
            ],
            ["X-5", "excluded", "excluded.list", "Listed in unsubscribed.csv (line 2): not invited."],
            ["X-6", "excluded", "excluded.list", "Listed in optouts.txt (line 5): not invited."],
            ["X-7", "sent", "", ""],
            ["X-8", "sent", "", ""],
        ]
    );
    assert!(!t.exists("customers.errors.csv"), "an excluded row is not a problem");

    // The dry run of the same file says the same, and --json counts the excluded rows.
    let json = t.run([
        "send",
        "customers.csv",
        "--dry-run",
        "--json",
        "--exclude",
        "optouts.txt",
        "--exclude",
        "unsubscribed.csv",
    ]);
    json.expect_code(0);
    let object = json.json();
    assert_eq!((object["excluded"].as_u64(), object["already_sent"].as_u64()), (Some(5), Some(3)), "{object}");
}

#[test]
fn an_exclusion_list_that_cannot_be_used_stops_the_run_before_anything_is_sent() {
    let table: &[(&str, &[u8], &str, &str)] = &[
        (
            "missing.txt",
            b"",
            "exclude.not_found",
            "cannot read the exclusion list 'missing.txt': there is no such file. Check the path and the spelling of \
             the file name.",
        ),
        (
            "empty.txt",
            b"",
            "exclude.empty",
            "the exclusion list 'empty.txt' is empty, so it would exclude nobody. Check that the export finished and \
             that this is the right file.",
        ),
        (
            "comments.txt",
            b"# nobody yet\n\n",
            "exclude.empty",
            "the exclusion list 'comments.txt' has no address and no @domain (only blank lines or comments), so it \
             would exclude nobody. Check that the export finished and that this is the right file.",
        ),
        (
            "header-only.csv",
            b"Email,Unsubscribed at\n",
            "exclude.empty",
            "the exclusion list 'header-only.csv' has a header but no address in its column \"Email\", so it would \
             exclude nobody. Check that the export finished and that this is the right file.",
        ),
        (
            "typo.txt",
            b"a@example.com\nb@example\n",
            "exclude.invalid",
            "the exclusion list 'typo.txt', line 2: 'b@example' is neither an email address nor an @domain. In the \
             address 'b@example', the domain 'example' has no dot (such as example.com). Correct or delete the line \
             (a # at its start makes it a comment).",
        ),
        (
            "no-email-column.csv",
            b"Customer,Reason\nAnn,spam\n",
            "exclude.invalid",
            "the exclusion list 'no-email-column.csv', line 1: 'Customer,Reason' is neither an email address nor an \
             @domain. The address 'Customer,Reason' has no '@'; write an address such as jane@example.com. If the \
             file is a CSV export, its first line must name the email column (Email, Email Address ...). Correct or \
             delete the line (a # at its start makes it a comment). Line 2 is not either.",
        ),
    ];
    let server = sandbox();
    for (name, bytes, code, message) in table {
        let t = Test::new().against(&server);
        t.write("customers.csv", "email,name,reference\nann@example.com,Ann,R-1\n");
        if *name != "missing.txt" {
            t.write(name, bytes);
        }
        send(&t, "customers.csv", &["--exclude", name])
            .expect_code(1)
            .expect_no_panic()
            .expect_stderr_line(&format!("tp-invite: {message}"));
        let json = send(&t, "customers.csv", &["--exclude", name, "--json"]);
        json.expect_code(1);
        assert_eq!(json.json()["error"]["code"], *code, "{name}");
        assert!(!t.exists("customers.results.csv"), "{name}: {:?}", t.files());
    }
    assert_eq!(invitation_requests(&server), 0, "nothing was sent");
}

// ---------------------------------------------------------------------------------------------
// --skip-where

#[test]
fn skip_where_leaves_out_the_orders_that_did_not_happen() {
    let server = sandbox();
    let t = Test::new().against(&server);
    t.write(
        "orders.csv",
        "email,name,reference,Status,Fulfillment\n\
         a@example.com,A,S-1,paid,fulfilled\n\
         b@example.com,B,S-2, Refunded ,fulfilled\n\
         c@example.com,C,S-3,VOIDED,\n\
         d@example.com,D,S-4,partially_refunded,fulfilled\n\
         e@example.com,E,S-5,paid,Unfulfilled\n\
         f@example.com,F,S-6,,\n",
    );
    let run = send(
        &t,
        "orders.csv",
        &["--skip-where", "Status = refunded | voided", "--skip-where", "fulfillment=unfulfilled"],
    );
    run.expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("6 rows: 3 sent, 3 excluded.")
        .expect_stderr_line("Not invited by your rules: 3 rows by --skip-where.");
    let results = check_one_line_per_row(&t, "orders.results.csv", 6);
    check_never_twice(&results, &acceptances([&server]));
    assert_eq!(
        results.columns(&["reference", "status", "error_code", "error"]),
        [
            ["S-1", "sent", "", ""],
            ["S-2", "excluded", "excluded.rule", "Status is 'Refunded' (--skip-where): not invited."],
            ["S-3", "excluded", "excluded.rule", "Status is 'VOIDED' (--skip-where): not invited."],
            ["S-4", "sent", "", ""],
            ["S-5", "excluded", "excluded.rule", "fulfillment is 'Unfulfilled' (--skip-where): not invited."],
            ["S-6", "sent", "", ""],
        ]
    );
    assert_eq!(invitation_requests(&server), 3);

    send(&t, "orders.csv", &["--skip-where", "Financial Status=refunded"]).expect_code(2).expect_stderr_line(
        "tp-invite: --skip-where \"Financial Status\": the file has no such column. Its columns are: \"email\", \
         \"name\", \"reference\", \"Status\", \"Fulfillment\".",
    );
    send(&t, "orders.csv", &["--skip-where", "Status"]).expect_code(2).expect_stderr(
        "tp-invite: --skip-where 'Status' has no '='; write COLUMN=VALUE (more values separated by '|'), e.g. \
         --skip-where \"Financial Status=refunded|voided\".",
    );
    assert_eq!(invitation_requests(&server), 3, "nothing more was sent");
}

#[test]
fn a_skip_where_value_that_no_row_has_is_named_with_the_values_the_column_holds() {
    let t = Test::new();
    t.write(
        "orders.csv",
        "email,name,reference,Status\n\
         a@example.com,A,S-1,paid\n\
         b@example.com,B,S-2,refunded\n\
         c@example.com,C,S-3,voided\n\
         d@example.com,D,S-4,\n",
    );
    // A typo in one value: the other still leaves its rows out, and the summary says which
    // value matched nothing and what the column holds instead.
    let run = t.run(["send", "orders.csv", "--dry-run", "--skip-where", "Status=refundd|voided"]);
    run.expect_code(0).expect_stderr_line("4 rows: 3 ready to send, 1 excluded.").expect_stderr_line(
        "--skip-where \"Status=refundd|voided\": no valid row has 'refundd' in Status (it holds 'paid', \
             'refunded', (empty)); check the spelling.",
    );
    // Values that match say nothing more.
    let run = t.run(["send", "orders.csv", "--dry-run", "--skip-where", "Status=REFUNDED|voided"]);
    run.expect_code(0).expect_stderr_line("4 rows: 2 ready to send, 2 excluded.").expect_stderr_lacks("spelling");
}

#[test]
fn a_shopify_order_that_did_not_happen_is_excluded_even_without_a_fulfilment_date() {
    let server = sandbox();
    let t = Test::new().against(&server);
    // A refunded order and an unfulfilled one have no "Fulfilled at": the rules leave them out
    // before their date is read, so they are not invalid.
    t.write(
        "orders.csv",
        "Name,Email,Financial Status,Fulfillment Status,Fulfilled at,Lineitem name,Billing Name\n\
         #1001,ann@example.com,paid,fulfilled,2099-03-02 10:14:03 +0100,Mug,Ann Lee\n\
         #1002,bo@example.com,refunded,,,Mug,Bo Berg\n\
         #1003,cy@example.com,paid,unfulfilled,,Mug,Cy Dee\n\
         #1004,dee@example.com,voided,fulfilled,not a date,Mug,Dee Poe\n",
    );
    let run = send(
        &t,
        "orders.csv",
        &[
            "--send-after",
            "7d",
            "--skip-where",
            "Financial Status=refunded|voided",
            "--skip-where",
            "Fulfillment Status=unfulfilled",
        ],
    );
    run.expect_code(0).expect_no_panic().expect_stderr_line("4 rows: 1 sent, 3 excluded.");
    assert_eq!(send_times(&server), times(&[("1001", Some("2099-03-09T09:14:03"))]));
    let results = check_one_line_per_row(&t, "orders.results.csv", 4);
    assert_eq!(results.column("error_code"), ["", "excluded.rule", "excluded.rule", "excluded.rule"]);
    assert!(!t.exists("orders.errors.csv"), "{}", t.read("orders.errors.csv"));
}

// ---------------------------------------------------------------------------------------------
// --cooldown

/// `Invited on <UTC time> for order <reference>; --cooldown 30 days invites a customer once
/// in 30 days.`
#[track_caller]
fn assert_cooldown_from_ledger(error: &str, reference: &str) {
    let rest = error.strip_prefix("Invited on ").unwrap_or_else(|| panic!("{error:?}"));
    let (at, rest) = rest.split_at(20);
    assert!(at.ends_with('Z') && at.as_bytes()[10] == b'T', "not a UTC time: {error:?}");
    assert_eq!(rest, format!(" for order {reference}; --cooldown 30 days invites a customer once in 30 days."));
}

#[test]
fn cooldown_leaves_out_a_customer_invited_last_month_and_a_second_order_in_the_same_file() {
    let server = sandbox();
    let t = Test::new().against(&server);
    t.write("october.csv", "email,name,reference\nann@example.com,Ann,O-1\nbo@example.com,Bo,O-2\n");
    send(&t, "october.csv", &["--cooldown", "30d"]).expect_code(0).expect_stderr_line("2 rows: 2 sent.");

    // November: Ann again (another order, her email in capitals), Bo's October order again
    // (the export overlaps), Cy twice, Dee once.
    t.write(
        "november.csv",
        "email,name,reference\n\
         ANN@example.com,Ann,N-1\n\
         cy@example.com,Cy,N-2\n\
         bo@example.com,Bo,O-2\n\
         Cy@Example.com,Cy,N-3\n\
         dee@example.com,Dee,N-4\n",
    );
    let dry = t.run(["send", "november.csv", "--cooldown", "30d", "--dry-run"]);
    dry.expect_code(0).expect_no_panic().expect_stderr_line("5 rows: 2 ready to send, 1 already sent, 2 excluded.");
    let rehearsed = check_one_line_per_row(&t, "november.results.csv", 5);

    let run = send(&t, "november.csv", &["--cooldown", "30d"]);
    run.expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("2 rows to send (1 row already sent before, 2 rows not invited by your rules).")
        .expect_stderr_line("5 rows: 2 sent, 1 already sent, 2 excluded.")
        .expect_stderr_line("Not invited by your rules: 2 rows by --cooldown.");
    let results = check_one_line_per_row(&t, "november.results.csv", 5);
    check_never_twice(&results, &accepted_of(&results, &server));
    let statuses = ["excluded", "sent", "already_sent", "excluded", "sent"];
    assert_eq!(results.column("status"), statuses);
    let ready: Vec<&str> = statuses.iter().map(|&s| if s == "sent" { "ready" } else { s }).collect();
    assert_eq!(rehearsed.column("status"), ready, "the dry run said what the send did");
    assert_eq!(results.column("error_code")[0], "excluded.cooldown");
    assert_cooldown_from_ledger(&results.row(1)["error"], "O-1");
    assert_eq!(results.row(4)["error_code"], "excluded.cooldown");
    let second_order = "This customer's order in row 2 of this file is the one invited; --cooldown 30 days invites a \
                        customer once in 30 days.";
    assert_eq!(results.row(4)["error"], second_order);
    assert_eq!(rehearsed.row(4)["error"], second_order);
    assert_eq!(rehearsed.row(1)["error"], results.row(1)["error"]);
    let received: Vec<String> = server.accepted().into_iter().map(|a| a.reference).collect();
    assert_eq!(received.len(), 4);
    assert!(!received.contains(&"N-1".to_string()) && !received.contains(&"N-3".to_string()), "{received:?}");

    // Sending November again: what was sent is already sent, not excluded; nothing goes out.
    send(&t, "november.csv", &["--cooldown", "30d"])
        .expect_code(0)
        .expect_stderr_line("5 rows: 3 already sent, 2 excluded.");
    let again = t.table("november.results.csv");
    assert_eq!(again.column("status"), ["excluded", "already_sent", "already_sent", "excluded", "already_sent"]);
    // Once Cy's first order is sent, the ledger says when (the file's order does not matter).
    assert_cooldown_from_ledger(&again.row(4)["error"], "N-2");
    assert_eq!(server.accepted().len(), 4);
}

#[test]
fn the_summary_and_json_count_the_rows_left_out_by_each_rule() {
    let server = sandbox();
    let t = Test::new().against(&server);
    t.write("optouts.txt", "opt@example.com\n");
    t.write(
        "orders.csv",
        "email,name,reference,Status\n\
         ann@example.com,Ann,R-1,paid\n\
         opt@example.com,Opt,R-2,paid\n\
         bo@example.com,Bo,R-3,refunded\n\
         ann@example.com,Ann,R-4,paid\n\
         cy@example.com,Cy,R-5,paid\n",
    );
    let flags = ["--exclude", "optouts.txt", "--skip-where", "Status=refunded", "--cooldown", "14d"];
    let dry = t.run([&["send", "orders.csv", "--dry-run"][..], &flags].concat());
    dry.expect_code(0).expect_stderr_line("5 rows: 2 ready to send, 3 excluded.").expect_stderr_line(
        "Not invited by your rules: 1 row by --exclude, 1 row by --skip-where, 1 row by --cooldown.",
    );
    let run = send(&t, "orders.csv", &[&flags[..], &["--json"]].concat());
    run.expect_code(0).expect_no_panic();
    let object = run.json();
    for (key, count) in [("rows", 5), ("sent", 2), ("excluded", 3), ("invalid", 0), ("exit_code", 0)] {
        assert_eq!(object[key].as_u64(), Some(count), "{key} in {object}");
    }
    let results = t.table("orders.results.csv");
    assert_eq!(
        results.column("error_code"),
        ["", "excluded.list", "excluded.rule", "excluded.cooldown", ""],
        "one code per rule"
    );
    check_never_twice(&results, &acceptances([&server]));
    assert_eq!(t.read("orders.results.csv").lines().count(), 6);
}

#[test]
fn a_cooldown_of_nothing_is_a_usage_error() {
    let t = Test::new();
    t.write("orders.csv", "email,name,reference\nann@example.com,Ann,R-1\nann@example.com,Ann,R-2\n");
    t.run(["send", "orders.csv", "--dry-run", "--cooldown", "0d"]).expect_code(2).expect_no_panic().expect_stderr_line(
        "tp-invite: --cooldown 0d: a cool-down of no time leaves no one out; give how long to wait before inviting \
         a customer again (e.g. --cooldown 30d), or leave --cooldown out to invite every order.",
    );
    assert!(!t.exists("orders.results.csv"), "a usage error writes nothing");
    // --send-after 0d is meaningful: send at the order's date.
    t.write("dated.csv", "email,name,reference,Order Date\nann@example.com,Ann,R-1,2099-01-01\n");
    t.run(["send", "dated.csv", "--dry-run", "--send-after", "0d"]).expect_code(0);
    assert_eq!(t.table("dated.results.csv").row(1)["preferred_send_time"], "2099-01-01T00:00:00");
}

#[test]
fn a_financial_status_column_beside_the_tools_own_columns_keeps_the_name() {
    let t = Test::new();
    t.write(
        "orders.csv",
        "email,name,reference,Financial Status\n\
         ann@example.com,Ann Lee,R-1,refunded\n\
         bo@example.com,Bo Berg,R-2,paid\n",
    );
    t.run(["send", "orders.csv", "--dry-run", "--skip-where", "Financial Status=refunded"])
        .expect_code(0)
        .expect_stderr_line("2 rows: 1 ready to send, 1 excluded.");
}

#[test]
fn the_dry_run_and_the_send_agree_on_a_repeated_excluded_row() {
    let server = sandbox();
    let t = Test::new().against(&server);
    t.write("optouts.txt", "opt@example.com\n");
    t.write(
        "customers.csv",
        "email,name,reference\nopt@example.com,Opt,R-2\nann@example.com,Ann,R-1\nopt@example.com,Opt,R-2\n",
    );
    let dry = t.run(["send", "customers.csv", "--dry-run", "--exclude", "optouts.txt"]);
    dry.expect_code(0);
    let rehearsed = t.table("customers.results.csv").column("status").join(",");
    send(&t, "customers.csv", &["--exclude", "optouts.txt"])
        .expect_code(0)
        .expect_stderr_line("Not invited by your rules: 1 row by --exclude.");
    let sent = t.table("customers.results.csv").column("status").join(",");
    assert_eq!(sent, "excluded,sent,duplicate");
    assert_eq!(rehearsed, "excluded,ready,duplicate", "the dry run says what the send does");
    dry.expect_stderr_line("Not invited by your rules: 1 row by --exclude.");
}

#[test]
fn the_columns_the_rules_read_are_not_said_to_be_ignored() {
    let t = Test::new();
    t.write("orders.csv", "email,name,reference,Status,Order Date,Notes\na@example.com,A,R-1,paid,2099-01-01,\n");
    let run = t.run(["send", "orders.csv", "--dry-run", "--send-after", "1d", "--skip-where", "Status=refunded"]);
    run.expect_code(0)
        .expect_stderr_line("  send time <- \"Order Date\" (the order's date, for --send-after)")
        .expect_stderr_line("  read by --skip-where: \"Status\"")
        .expect_stderr_line("  ignored: \"Notes\"");
}
