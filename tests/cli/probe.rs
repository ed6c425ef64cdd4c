//! Probes: attempts to break the guarantees (SPEC sections 4, 7 and 8) as a hostile but
//! realistic user would. Each test was a failure of the tool when it was written (a
//! duplicate invitation, a lost row, a file overwritten, a wrong message); they stay as
//! regression tests.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tp_invite::sandbox::SandboxConfig;

use crate::support::{RESULTS_HEADER, Run, Server, Test, acceptances, check_one_line_per_row, wait_for_acceptances};

/// A sandbox that lets every run have a token (these tests start many runs quickly).
fn sandbox(config: SandboxConfig) -> Server {
    Server::start(SandboxConfig { token_limit: None, ..config })
}

/// A results line with only the fields these probes need.
fn results_line(row: u64, status: &str, sent_at: &str, email: &str, name: &str, reference: &str) -> String {
    format!("{row},{},{status},1,202,,,,{sent_at},{email},{name},{reference},,,,,,,,,\n", row + 1)
}

// ---------------------------------------------------------------------------------------------
// --products and retry

/// Ten orders of two or three line items each, the line items spread over the file.
fn orders_with_line_items() -> (String, BTreeMap<String, Vec<String>>) {
    let mut lines = Vec::new();
    let mut skus: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for order in 1..=10u32 {
        for item in 0..(2 + order % 2) {
            let sku = format!("SKU-{order}-{item}");
            lines.push((item, format!("c{order}@example.com,Customer {order},R-{order},{sku},Product {sku}\n")));
            skus.entry(format!("R-{order}")).or_default().push(sku);
        }
    }
    // First every order's first line item, then the second ones, then the third ones.
    lines.sort_by_key(|(item, _)| *item);
    let mut text = String::from("email,name,reference,product sku,product name\n");
    for (_, line) in lines {
        text.push_str(&line);
    }
    (text, skus)
}

#[test]
fn retry_of_failed_product_invitations_sends_the_same_products() {
    // Every other invitation fails (500) and is not tried again in the run (--max-attempts 1),
    // so `retry` has product invitations to re-send.
    let server = sandbox(SandboxConfig { fail_rate: 0.5, seed: 3, ..SandboxConfig::default() });
    let t = Test::new().against(&server);
    let (text, skus) = orders_with_line_items();
    t.write("orders.csv", text);
    let args = ["--rate", "200/s", "--concurrency", "1", "--max-attempts", "1"];
    let first = t.command(["send", "orders.csv", "--products"].into_iter().chain(args)).run();
    first.expect_no_panic();
    let failed_first = t.table("orders.results.csv").records.iter().filter(|r| r["status"] == "failed").count();
    assert!(failed_first > 0, "the probe needs failed rows\n{first}");
    for _ in 0..30 {
        let table = t.table("orders.results.csv");
        if !table.records.iter().any(|r| r["status"] == "failed") {
            break;
        }
        t.command(["retry", "orders.results.csv"].into_iter().chain(args)).run().expect_no_panic();
    }
    let accepted = server.accepted();
    assert_eq!(accepted.len(), 10, "every order once");
    for invitation in &accepted {
        let mut sent: Vec<&str> = invitation.skus();
        sent.sort_unstable();
        let mut expected: Vec<&str> = skus[&invitation.reference].iter().map(String::as_str).collect();
        expected.sort_unstable();
        assert_eq!(sent, expected, "order {} was sent with other products than its line items", invitation.reference);
    }
    // And the results file still says which products each order was sent with.
    let table = t.table("orders.results.csv");
    for record in table.records.iter().filter(|r| r["status"] == "sent") {
        assert!(!record["products"].is_empty(), "row {} lost its products: {record:?}", record["row"]);
    }
}

#[test]
fn a_further_line_item_reports_the_products_of_its_own_order() {
    let server = sandbox(SandboxConfig::default());
    let t = Test::new().against(&server);
    t.write(
        "orders.csv",
        "email,name,reference,product sku,product name\n\
         ann@example.com,Ann,R-1,S1,Shoe\n\
         bob@example.com,Bob,R-2,S4,Belt\n\
         ann@example.com,Ann,R-1,S2,Hat\n\
         bob@example.com,Bob,R-2,S5,Scarf\n",
    );
    t.run(["send", "orders.csv", "--products", "--rate", "200/s"]).expect_code(0);
    let results = t.table("orders.results.csv");
    assert_eq!(results.column("row"), ["1", "2", "3", "4"]);
    let r1: Vec<&str> = results.row(1)["products"].split(';').collect();
    let r3: Vec<&str> = results.row(3)["products"].split(';').collect();
    assert!(r1.contains(&"S1") && r1.contains(&"S2"), "{:?}", results.row(1));
    // Row 3 is order R-1's second line item: whatever the column shows, it is R-1's, never R-2's.
    assert!(!r3.contains(&"S4") && !r3.contains(&"S5"), "row 3 (order R-1) shows R-2's products: {:?}", results.row(3));
}

// ---------------------------------------------------------------------------------------------
// The run lock

#[cfg(unix)]
#[test]
fn a_ledger_reached_through_a_symlink_is_still_one_run_at_a_time() {
    let server = sandbox(SandboxConfig { latency: Duration::from_millis(20), ..SandboxConfig::default() });
    let t = Test::new().against(&server);
    t.write("in.csv", crate::support::customers(100));
    // The same ledger file under another name, in another folder (e.g. a data folder that a
    // shop owner linked to a backed-up disk; cron and the shell name it differently).
    let alias_dir = tempfile::tempdir().expect("a temporary folder");
    let alias = alias_dir.path().join("ledger.sqlite");
    std::fs::create_dir_all(t.ledger().parent().unwrap()).unwrap();
    // The first run creates the ledger; link to it once it exists.
    let first = t.command(["send", "in.csv", "--rate", "40/s"]).spawn();
    wait_for_acceptances(&server, 1);
    std::os::unix::fs::symlink(t.ledger(), &alias).expect("symlink the ledger");
    let second = t
        .command(["send", "in.csv", "--rate", "40/s", "--results", "second.results.csv"])
        .env("TP_INVITE_LEDGER", &alias)
        .run();
    let first = Run::wait(first);
    second.expect_no_panic();
    // Guarantee 7: one live run per business unit and ledger; the second must stop at once.
    assert_eq!(second.code(), Some(1), "the second run was let in beside the first\n{second}\n{first}");
    second.expect_stderr("another run is sending for business unit");
    // And the first run's own rows are not made `unknown` under it.
    first.expect_code(0);
}

#[cfg(unix)]
#[test]
fn a_hard_linked_ledger_never_lets_two_runs_invite_twice() {
    let server = sandbox(SandboxConfig { latency: Duration::from_millis(20), ..SandboxConfig::default() });
    let t = Test::new().against(&server);
    t.write("seed.csv", "email,name,reference\nseed@example.com,Seed,S-1\n");
    t.run(["send", "seed.csv", "--rate", "200/s", "--quiet"]).expect_code(0);
    // The same ledger file under a second name in another folder (SQLite's documentation
    // lists this among the ways to corrupt a database: each name gets its own WAL).
    let alias_dir = tempfile::tempdir().expect("a temporary folder");
    let alias = alias_dir.path().join("ledger.sqlite");
    t.write("in.csv", crate::support::customers(100));
    // A ledger with two names is refused by every run, so the second name is made while the
    // first run is sending (as a shop owner would while a long run goes on).
    let first = t.command(["send", "in.csv", "--rate", "40/s"]).spawn();
    wait_for_acceptances(&server, 2);
    std::fs::hard_link(t.ledger(), &alias).expect("hard-link the ledger");
    let second = t
        .command(["send", "in.csv", "--rate", "40/s", "--results", "second.results.csv"])
        .env("TP_INVITE_LEDGER", &alias)
        .run();
    let first = Run::wait(first);
    second.expect_no_panic();
    first.expect_no_panic();
    let twice: Vec<_> = acceptances([&server]).into_iter().filter(|(_, n)| *n > 1).collect();
    assert!(twice.is_empty(), "{} customers were invited twice, e.g. {:?}\n{second}", twice.len(), twice.first());
    assert_eq!(second.code(), Some(1), "the second run was let in beside the first\n{second}");
    second.expect_stderr("has 2 names (hard links)");
    first.expect_code(0);
    // Any run, by either name, is refused while the file has two names, and nothing is sent.
    let accepted = server.accepted().len();
    let third = t.run(["send", "in.csv", "--rate", "200/s", "--results", "third.results.csv"]);
    third.expect_code(1).expect_no_panic().expect_stderr("has 2 names (hard links)");
    assert_eq!(server.accepted().len(), accepted, "a run through a hard-linked ledger sent\n{third}");
}

// ---------------------------------------------------------------------------------------------
// ledger import

#[test]
fn ledger_import_records_the_keys_that_send_would_use() {
    let server = sandbox(SandboxConfig::default());
    let t = Test::new().against(&server);
    let sent_at = "2026-01-05T10:00:00Z";
    t.write(
        "old.results.csv",
        format!(
            "{RESULTS_HEADER}\n{}{}{}",
            results_line(1, "sent", sent_at, "mailto:bob@example.com", "Bob", "B-1"),
            results_line(2, "sent", sent_at, "Cat <cat@example.com>", "Cat", "C-1"),
            results_line(3, "sent", sent_at, "eve@example.com", "Eve", "#E-1"),
        ),
    );
    let import = t.run(["ledger", "import", "old.results.csv"]);
    import.expect_no_panic();
    if import.code() != Some(0) {
        // Refusing such a file (naming the lines) would also keep these customers safe.
        return;
    }
    t.write(
        "in.csv",
        "email,name,reference\nbob@example.com,Bob,B-1\ncat@example.com,Cat,C-1\neve@example.com,Eve,E-1\n",
    );
    let run = t.run(["send", "in.csv", "--rate", "200/s"]);
    run.expect_no_panic();
    let results = check_one_line_per_row(&t, "in.results.csv", 3);
    assert!(
        server.accepted().is_empty(),
        "customers the import recorded as invited were invited again: {:?}\n{run}",
        results.columns(&["row", "status", "email", "reference"])
    );
    assert_eq!(results.column("status"), ["already_sent", "already_sent", "already_sent"]);
}

#[test]
fn ledger_import_refuses_or_reads_a_sent_at_that_is_not_a_utc_timestamp() {
    let server = sandbox(SandboxConfig::default());
    let t = Test::new().against(&server);
    // A 0.1 results file opened and saved in a spreadsheet: the dates are rewritten in the
    // spreadsheet's own format (here a US one, month first). Fay was invited a few days ago.
    let recent = chrono::Utc::now() - chrono::Duration::days(3);
    t.write(
        "old.results.csv",
        format!(
            "{RESULTS_HEADER}\n{}",
            results_line(1, "sent", &recent.format("%m/%d/%Y %H:%M").to_string(), "fay@example.com", "Fay", "F-1"),
        ),
    );
    let import = t.run(["ledger", "import", "old.results.csv"]);
    import.expect_no_panic();
    if import.code() != Some(0) {
        import.expect_stderr("sent_at");
        return;
    }
    t.write("in.csv", "email,name,reference\nfay@example.com,Fay,F-2\n");
    let run = t.run(["send", "in.csv", "--rate", "200/s", "--cooldown", "30d"]);
    run.expect_no_panic();
    let results = check_one_line_per_row(&t, "in.results.csv", 1);
    assert_eq!(
        results.row(1)["status"],
        "excluded",
        "invited 3 days ago, yet --cooldown 30d invited again: {:?}",
        results.row(1)
    );
    assert!(server.accepted().is_empty());
}

#[test]
fn importing_a_sandbox_rehearsals_results_never_marks_a_real_customer_invited() {
    let t = Test::new();
    t.write("customers.csv", crate::support::customers(3));
    t.run(["send", "customers.csv", "--sandbox", "--quiet"]).expect_code(0);
    // The rehearsal's report sits where last month's real report would; the shop owner imports it.
    let import = t.run(["ledger", "import", "customers.results.csv", "--business-unit-id", "46d6a890000064000500e0c3"]);
    import.expect_no_panic();
    let dry = t
        .command(["send", "customers.csv", "--dry-run", "--results", "check.results.csv"])
        .env("TRUSTPILOT_BUSINESS_UNIT_ID", "46d6a890000064000500e0c3")
        .run();
    dry.expect_no_panic();
    let results = check_one_line_per_row(&t, "check.results.csv", 3);
    assert!(
        import.code() != Some(0) || results.column("status").iter().all(|s| *s == "ready"),
        "a rehearsal now counts as a real invitation: {:?}\n{import}",
        results.column("status")
    );
}

// ---------------------------------------------------------------------------------------------
// --cooldown

#[test]
fn cooldown_an_order_sent_long_ago_does_not_block_the_customers_new_order() {
    let server = sandbox(SandboxConfig::default());
    let t = Test::new().against(&server);
    // Ann was invited for R-1 two months ago (recorded through `ledger import`).
    let long_ago = (chrono::Utc::now() - chrono::Duration::days(60)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    t.write(
        "old.results.csv",
        format!("{RESULTS_HEADER}\n{}", results_line(1, "sent", &long_ago, "ann@example.com", "Ann", "R-1")),
    );
    t.run(["ledger", "import", "old.results.csv"]).expect_code(0);
    // Her new order alone is invited: the last invitation is older than the cooldown.
    t.write("alone.csv", "email,name,reference\nann@example.com,Ann,R-2\n");
    t.run(["send", "alone.csv", "--dry-run", "--cooldown", "30d"]).expect_no_panic();
    assert_eq!(t.table("alone.results.csv").row(1)["status"], "ready");
    // This month's export overlaps last month's: R-1 is in it again, before R-2.
    t.write("month.csv", "email,name,reference\nann@example.com,Ann,R-1\nann@example.com,Ann,R-2\n");
    let run = t.run(["send", "month.csv", "--rate", "200/s", "--cooldown", "30d"]);
    run.expect_no_panic();
    let results = check_one_line_per_row(&t, "month.results.csv", 2);
    assert_eq!(results.row(1)["status"], "already_sent");
    assert_eq!(
        results.row(2)["status"],
        "sent",
        "R-1 was not invited by this run (and long ago), yet R-2 is held back: {:?}",
        results.row(2)
    );
    // R-1 was invited before the ledger (imported): only R-2 reached the server, once.
    let accepted = acceptances([&server]);
    assert_eq!(accepted.into_iter().collect::<Vec<_>>(), [(("ann@example.com".to_string(), "R-2".to_string()), 1)]);
}

// ---------------------------------------------------------------------------------------------
// Absurd inputs

#[cfg(target_os = "linux")]
#[test]
fn an_endless_device_as_input_is_refused_not_read_forever() {
    let t = Test::new();
    let mut child = t.command(["send", "/dev/zero", "--dry-run", "--results", "zero.results.csv"]).spawn();
    // Bounds, not timing assertions: a file of NUL bytes is refused at once. Today the run
    // writes its temporary report at disk speed, so stop it before it fills the disk.
    let deadline = Instant::now() + Duration::from_secs(5);
    let written = |t: &Test| -> u64 {
        std::fs::read_dir(t.path())
            .map_or(0, |dir| dir.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
    };
    loop {
        if child.try_wait().expect("poll tp-invite").is_some() {
            break;
        }
        let bytes = written(&t);
        if Instant::now() > deadline || bytes > 50_000_000 {
            child.kill().expect("kill tp-invite");
            Run::wait(child);
            panic!("tp-invite was still reading /dev/zero (and had written {bytes} bytes beside its report)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let run = Run::wait(child);
    run.expect_code(1).expect_no_panic().expect_stderr("it is a device, not a file");
}

#[test]
fn a_dry_run_removes_the_temporary_report_a_killed_run_left() {
    let t = Test::new();
    t.write("in.csv", crate::support::customers(3));
    // What a dry run killed while writing leaves beside its report.
    t.write(".in.results.csv.999999.AbCdEf.tmp", "row,line,status\n1,2,ready\n");
    t.run(["send", "in.csv", "--dry-run"]).expect_code(0);
    assert!(!t.files().iter().any(|f| f.ends_with(".tmp")), "{:?}", t.files());
}

// ---------------------------------------------------------------------------------------------
// Output paths that name the ledger (or another file)

/// A ledger that holds one real send of `ann@example.com` / `R-1`.
fn ledger_with_one_send(t: &Test) {
    t.write("good.csv", "email,name,reference\nann@example.com,Ann,R-1\n");
    t.run(["send", "good.csv", "--rate", "200/s", "--quiet"]).expect_code(0);
}

#[test]
fn the_error_report_never_overwrites_the_ledger() {
    let server = sandbox(SandboxConfig::default());
    let t = Test::new().against(&server);
    ledger_with_one_send(&t);
    let before = std::fs::read(t.ledger()).expect("read the ledger");
    t.write("bad.csv", "email,name,reference\nnot-an-address,Bob,R-2\n");
    let ledger = t.ledger().display().to_string();
    let run = t.run(["send", "bad.csv", "--rate", "200/s", "--errors", ledger.as_str()]);
    run.expect_no_panic();
    let after = std::fs::read(t.ledger()).expect("read the ledger");
    assert!(after.starts_with(b"SQLite format 3\0"), "the ledger was overwritten\n{run}");
    assert!(after.len() >= before.len().min(4096));
    // And the ledger still knows Ann.
    t.run(["send", "good.csv", "--rate", "200/s"]).expect_code(0).expect_stderr_line("1 row: 1 already sent.");
    assert_eq!(server.accepted().len(), 1);
}

#[test]
fn ledger_export_never_overwrites_the_ledger() {
    let server = sandbox(SandboxConfig::default());
    let t = Test::new().against(&server);
    ledger_with_one_send(&t);
    let ledger = t.ledger().display().to_string();
    let run = t.run(["ledger", "export", "--output", ledger.as_str()]);
    run.expect_no_panic();
    let after = std::fs::read(t.ledger()).expect("read the ledger");
    assert!(after.starts_with(b"SQLite format 3\0"), "the ledger was replaced by its export\n{run}");
    t.run(["send", "good.csv", "--rate", "200/s"]).expect_code(0).expect_stderr_line("1 row: 1 already sent.");
    assert_eq!(server.accepted().len(), 1);
}

#[test]
fn the_error_report_never_overwrites_a_file_that_is_not_an_error_report() {
    let t = Test::new();
    t.write("march.csv", "email,name,reference\nnot-an-address,Bob,R-2\n");
    // A typo: the shop owner meant april.errors.csv.
    let april = "email,name,reference\nann@example.com,Ann,A-1\n";
    t.write("april.csv", april);
    let run = t.run(["send", "march.csv", "--dry-run", "--errors", "april.csv"]);
    run.expect_no_panic().expect_code(1).expect_stderr("--errors april.csv is not an error report of tp-invite");
    // An earlier error report, also one saved by a spreadsheet with `;`, may be replaced.
    t.write("old.errors.csv", "\u{feff}row;line;field;code;value;message\r\n");
    t.run(["send", "march.csv", "--dry-run", "--errors", "old.errors.csv"]).expect_code(3);
    assert!(t.read("old.errors.csv").contains("email.invalid"), "{}", t.read("old.errors.csv"));
    assert_eq!(t.read("april.csv"), april, "april.csv was overwritten by march's error report\n{run}");
}
