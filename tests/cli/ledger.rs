//! Never twice, nothing lost, with the ledger: runs killed at random moments, runs that
//! overlap, month two, fixed rows, rehearsals, `retry`, and the `ledger` commands, checked
//! row by row against what the sandbox received (SPEC sections 4 and 7).

use std::collections::BTreeSet;
use std::time::Duration;

use tp_invite::sandbox::{Faults, SandboxConfig};

use crate::support::{
    Run, Server, Table, Test, acceptances, check_never_twice, check_one_line_per_row, customers, wait_for_acceptances,
};

/// A sandbox that lets every run have a token (these tests start many runs quickly).
fn sandbox(config: SandboxConfig) -> Server {
    Server::start(SandboxConfig { token_limit: None, ..config })
}

/// The customers `from..=to` (same emails and references as [`customers`]).
fn customers_between(from: usize, to: usize) -> String {
    let mut text = String::from("email,name,reference\n");
    for i in from..=to {
        text.push_str(&format!("c{i}@example.com,Customer {i},R-{i}\n"));
    }
    text
}

/// The (email, reference) of the rows whose status is `status`.
fn keys(results: &Table, status: &str) -> BTreeSet<(String, String)> {
    results
        .records
        .iter()
        .filter(|r| r["status"] == status)
        .map(|r| (r["email"].clone(), r["reference"].clone()))
        .collect()
}

/// What the sandboxes accepted of the rows `results` holds (other files' rows left out).
fn accepted_of(results: &Table, servers: &[&Server]) -> std::collections::BTreeMap<(String, String), usize> {
    let held: BTreeSet<_> = results.records.iter().map(|r| (r["email"].clone(), r["reference"].clone())).collect();
    acceptances(servers.iter().copied()).into_iter().filter(|(key, _)| held.contains(key)).collect()
}

#[test]
fn kill_9_at_random_moments_then_the_same_send_loses_nothing_and_sends_nothing_twice() {
    // 300/s with 8 workers lets ~70 rows through between two kills; 1,500 rows keep every one
    // of the 15 kills in the middle of the batch.
    const ROWS: usize = 1500;
    let mut rng = fastrand::Rng::with_seed(7);
    let server = sandbox(SandboxConfig {
        latency: Duration::from_millis(5),
        jitter: Duration::from_millis(2),
        fail_rate: 0.05,
        drop_rate: 0.02,
        seed: 100,
        ..SandboxConfig::default()
    });
    let t = Test::new().against(&server);
    t.write("in.csv", customers(ROWS));
    let args = ["send", "in.csv", "--rate", "300/s", "--concurrency", "8", "--quiet"];
    for kill in 0..15 {
        let mut child = t.command(args).spawn();
        std::thread::sleep(Duration::from_millis(rng.u64(20..=400)));
        let ended = child.try_wait().expect("poll tp-invite");
        assert!(ended.is_none(), "run {kill} ended before it was killed: {ended:?}");
        child.kill().expect("kill tp-invite");
        Run::wait(child);
        let counts = acceptances([&server]);
        assert!(counts.len() < ROWS, "the batch was done before kill {kill}");
        assert!(counts.values().all(|&n| n == 1), "accepted twice after kill {kill}: {counts:?}");
    }
    let run = t.run(args);
    assert!(matches!(run.code(), Some(0 | 4)), "the last run did not complete\n{run}");
    run.expect_no_panic();
    let results = check_one_line_per_row(&t, "in.results.csv", ROWS);
    let by_status = check_never_twice(&results, &acceptances([&server]));
    let statuses: Vec<&String> = by_status.keys().collect();
    assert!(
        statuses.iter().all(|s| ["sent", "already_sent", "failed", "unknown"].contains(&s.as_str())),
        "{by_status:?}"
    );
    assert!(by_status["already_sent"] > 0 && by_status["sent"] > 0, "{by_status:?}");
    // No temporary report of a killed run is left behind.
    assert_eq!(t.files(), ["in.csv", "in.results.csv"]);
}

#[test]
fn a_second_send_while_the_first_is_sending_stops_at_once_and_names_it() {
    let server = sandbox(SandboxConfig { latency: Duration::from_millis(20), ..SandboxConfig::default() });
    let t = Test::new().against(&server);
    t.write("in.csv", customers(100));
    let first = t.command(["send", "in.csv", "--rate", "40/s"]).spawn();
    wait_for_acceptances(&server, 1);
    let second = t.run(["send", "in.csv", "--rate", "40/s"]);
    second
        .expect_code(1)
        .expect_no_panic()
        .expect_stderr(&format!(
            "tp-invite: another run is sending for business unit 46d6a890000064000500e0c3: process {}, started 20",
            first.id()
        ))
        .expect_stderr("Wait for it to finish, or add --wait to wait for it and then go on.");
    // Any command that sends for the business unit: a retry of another file too.
    t.write(
        "other.results.csv",
        format!("{}\n1,2,failed,1,500,,,,,z@example.com,Z,R-Z,,,,,,,,,\n", crate::support::RESULTS_HEADER),
    );
    t.run(["retry", "other.results.csv", "--rate", "40/s"])
        .expect_code(1)
        .expect_stderr("another run is sending for business unit");
    let json = t.run(["send", "in.csv", "--rate", "40/s", "--json"]);
    json.expect_code(1);
    let object = json.json();
    assert_eq!(object["error"]["code"], "ledger.busy", "{object}");
    assert_eq!(object["exit_code"], 1, "{object}");
    let first = Run::wait(first);
    first.expect_code(0).expect_stderr_line("100 rows: 100 sent.");
    let results = check_one_line_per_row(&t, "in.results.csv", 100);
    check_never_twice(&results, &acceptances([&server]));
    assert_eq!(server.accepted().len(), 100);
}

#[test]
fn with_wait_the_second_run_goes_on_when_the_first_ends_and_sends_nothing_twice() {
    let server = sandbox(SandboxConfig { latency: Duration::from_millis(20), ..SandboxConfig::default() });
    let t = Test::new().against(&server);
    // Two files sharing half their orders, as two exports of overlapping months would.
    t.write("a.csv", customers_between(1, 60));
    t.write("b.csv", customers_between(31, 90));
    let first = t.command(["send", "a.csv", "--rate", "40/s", "--wait"]).spawn();
    wait_for_acceptances(&server, 1);
    let second = t.command(["send", "b.csv", "--rate", "40/s", "--wait"]).spawn();
    let (first, second) = (Run::wait(first), Run::wait(second));
    first.expect_code(0).expect_stderr_line("60 rows: 60 sent.");
    second
        .expect_code(0)
        .expect_stderr("Waiting: another run is sending for business unit 46d6a890000064000500e0c3 (process ")
        .expect_stderr_line("60 rows: 30 sent, 30 already sent.");
    let a = check_one_line_per_row(&t, "a.results.csv", 60);
    let b = check_one_line_per_row(&t, "b.results.csv", 60);
    check_never_twice(&a, &accepted_of(&a, &[&server]));
    check_never_twice(&b, &accepted_of(&b, &[&server]));
    let accepted = acceptances([&server]);
    assert_eq!(accepted.len(), 90);
    assert!(accepted.values().all(|&n| n == 1));
}

#[test]
fn month_two_under_the_same_file_name_sends_exactly_the_new_customers() {
    let server = sandbox(SandboxConfig::default());
    let t = Test::new().against(&server);
    t.write("last-month.csv", customers_between(1, 20));
    t.run(["send", "last-month.csv", "--rate", "200/s"]).expect_code(0).expect_stderr_line("20 rows: 20 sent.");
    let october = t.read("last-month.results.csv");
    // Next month's export overlaps the last few days of this one.
    t.write("last-month.csv", customers_between(15, 40));
    let run = t.run(["send", "last-month.csv", "--rate", "200/s"]);
    run.expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("20 rows to send (6 rows already sent before).")
        .expect_stderr_line("26 rows: 20 sent, 6 already sent.");
    let november = check_one_line_per_row(&t, "last-month.results.csv", 26);
    check_never_twice(&november, &accepted_of(&november, &[&server]));
    let accepted = acceptances([&server]);
    assert_eq!(accepted.len(), 40, "every customer of both months once");
    assert!(accepted.values().all(|&n| n == 1));
    // Last month's report records real sends of another input: kept, not replaced.
    let kept: Vec<String> = t.files().into_iter().filter(|f| f.starts_with("last-month.results.20")).collect();
    assert_eq!(kept.len(), 1, "{:?}", t.files());
    assert_eq!(t.read(&kept[0]), october);
    run.expect_stderr_line(&format!("Kept:    {} (the earlier results, which record real sends)", kept[0]));
}

#[test]
fn fixing_invalid_rows_and_sending_again_sends_exactly_the_fixed_rows() {
    let server = sandbox(SandboxConfig::default());
    let t = Test::new().against(&server);
    t.write(
        "in.csv",
        "email,name,reference\nc1@example.com,One,R-1\nc2@example,Two,R-2\nc3@example.com,Three,R-3\nc4@example.com,,R-4\n",
    );
    t.run(["send", "in.csv", "--rate", "200/s"])
        .expect_code(3)
        .expect_stderr_line("4 rows: 2 sent, 2 invalid.")
        .expect_stderr_line(
            "Next:    fix the rows the error report names in the input, then tp-invite send in.csv --rate 200/s",
        );
    t.write(
        "in.csv",
        "email,name,reference\nc1@example.com,One,R-1\nc2@example.com,Two,R-2\nc3@example.com,Three,R-3\nc4@example.com,Four,R-4\n",
    );
    t.run(["send", "in.csv", "--rate", "200/s"])
        .expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("4 rows: 2 sent, 2 already sent.");
    let results = check_one_line_per_row(&t, "in.results.csv", 4);
    assert_eq!(results.column("status"), ["already_sent", "sent", "already_sent", "sent"]);
    check_never_twice(&results, &acceptances([&server]));
    assert!(!t.exists("in.errors.csv"), "the old error report is gone with its errors");
    // The first report's rows are all in the second: it was replaced, not kept aside.
    assert_eq!(t.files(), ["in.csv", "in.results.csv"]);
}

#[test]
fn a_sandbox_rehearsal_never_counts_as_a_real_invitation() {
    let server = sandbox(SandboxConfig::default());
    let t = Test::new().against(&server);
    t.write("in.csv", customers(5));
    t.run(["send", "in.csv", "--sandbox", "--rate", "200/s"]).expect_code(0).expect_stderr_line("5 rows: 5 sent.");
    assert!(!t.ledger().exists(), "the rehearsal used a throwaway ledger");
    // Its results say, on every line sent, that it was a rehearsal.
    let rehearsal = t.table("in.results.csv");
    assert!(rehearsal.column("error_code").iter().all(|code| *code == "sandbox.rehearsal"), "{rehearsal:?}");
    assert!(rehearsal.row(1)["error"].contains("not sent to Trustpilot"));
    let run = t.run(["send", "in.csv", "--rate", "200/s"]);
    run.expect_code(0).expect_stderr_line("5 rows: 5 sent.");
    // The real run replaces the rehearsal's results: they record no real send to keep.
    run.expect_stderr_lacks("Kept:");
    assert_eq!(t.files().iter().filter(|f| f.contains("results")).count(), 1, "{:?}", t.files());
    assert!(t.table("in.results.csv").column("error_code").iter().all(|code| code.is_empty()));
    assert_eq!(server.accepted().len(), 5);
    // Nor is a rehearsal's report kept aside by a real send of another file over it.
    t.write("other.csv", customers(7));
    t.run(["send", "other.csv", "--sandbox", "--rate", "200/s", "--results", "shared.results.csv"]).expect_code(0);
    let run = t.run(["send", "in.csv", "--rate", "200/s", "--results", "shared.results.csv"]);
    run.expect_code(0).expect_stderr_lacks("Kept:");
    assert!(!t.files().iter().any(|f| f.starts_with("shared.results.20")), "{:?}", t.files());
    // And a run against one API is not a run against another: a second sandbox (another
    // address) is another scope.
    let other = sandbox(SandboxConfig::default());
    let run = t
        .command(["send", "in.csv", "--rate", "200/s"])
        .env("TRUSTPILOT_API_URL", other.api_url())
        .env("TRUSTPILOT_INVITATIONS_API_URL", other.invitations_url())
        .run();
    run.expect_code(0).expect_stderr_line("5 rows: 5 sent.");
}

#[test]
fn a_rehearsal_after_a_real_send_keeps_its_report_and_retry_takes_the_real_one() {
    let failing = sandbox(SandboxConfig { fail_rate: 1.0, ..SandboxConfig::default() });
    let t = Test::new().against(&failing);
    t.write("in.csv", customers(3));
    t.run(["send", "in.csv", "--rate", "200/s", "--max-attempts", "1"]).expect_code(4);
    let real = t.read("in.results.csv");
    // A rehearsal of the same file: the real report is kept aside, not replaced.
    let run = t.run(["send", "in.csv", "--sandbox", "--rate", "200/s"]);
    run.expect_code(0);
    let kept: Vec<String> = t.files().into_iter().filter(|f| f.starts_with("in.results.20")).collect();
    assert_eq!(kept.len(), 1, "{:?}", t.files());
    assert_eq!(t.read(&kept[0]), real);
    // The rehearsal's report is nothing to retry against Trustpilot.
    t.run(["retry", "in.results.csv"]).expect_code(1).expect_stderr("is the report of a --sandbox rehearsal");
    // Nor may a rehearsal of retry write over the real report.
    t.run(["retry", &kept[0], "--sandbox"]).expect_code(1).expect_stderr("records real sends");
    assert_eq!(t.read(&kept[0]), real);
    // The real report's retry re-sends the failed rows.
    failing.set_faults(tp_invite::sandbox::Faults::NONE);
    t.run(["retry", &kept[0], "--rate", "200/s"]).expect_code(0).expect_stderr_line("3 rows: 3 sent.");
    assert_eq!(failing.accepted().len(), 3);
}

#[test]
fn a_dry_run_says_what_a_send_would_send_now_and_never_writes_the_ledger() {
    let server = sandbox(SandboxConfig::default());
    let t = Test::new().against(&server);
    t.write("in.csv", customers(10));
    t.run(["send", "in.csv", "--rate", "200/s", "--limit", "4"]).expect_code(0);
    let ledger = std::fs::read(t.ledger()).unwrap();
    let run = t.run(["send", "in.csv", "--dry-run"]);
    run.expect_code(0).expect_no_panic().expect_stderr_line("10 rows: 6 ready to send, 4 already sent.");
    let results = check_one_line_per_row(&t, "in.results.csv", 10);
    assert_eq!(results.column("status"), [vec!["already_sent"; 4], vec!["ready"; 6]].concat());
    assert!(results.row(1)["error"].starts_with("Already invited on 20"), "{:?}", results.row(1));
    assert_eq!(std::fs::read(t.ledger()).unwrap(), ledger, "the dry run wrote the ledger");
    // The real send sends exactly the rows the dry run called ready.
    t.run(["send", "in.csv", "--rate", "200/s"]).expect_code(0).expect_stderr_line("10 rows: 6 sent, 4 already sent.");
    let ready: BTreeSet<_> = keys(&results, "ready");
    let sent = keys(&t.table("in.results.csv"), "sent");
    assert_eq!(ready, sent);

    // Without a business unit it cannot tell, and says so.
    let blind = t.command(["send", "in.csv", "--dry-run"]).env_remove("TRUSTPILOT_BUSINESS_UNIT_ID").run();
    blind.expect_code(0).expect_stderr(
        "Could not check what was sent before: no business unit was given (set TRUSTPILOT_BUSINESS_UNIT_ID or \
         --business-unit-id); rows sent earlier show as ready.",
    );
}

#[test]
fn retry_resends_the_failed_rows_only_through_the_ledger() {
    let server = sandbox(SandboxConfig { fail_rate: 0.1, seed: 3, ..SandboxConfig::default() });
    let t = Test::new().against(&server);
    t.write("in.csv", customers(100));
    t.run(["send", "in.csv", "--rate", "200/s", "--max-attempts", "1"]).expect_code(4);
    let before = check_one_line_per_row(&t, "in.results.csv", 100);
    check_never_twice(&before, &acceptances([&server]));
    let failed = keys(&before, "failed");
    assert!(!failed.is_empty() && keys(&before, "sent").len() + failed.len() == 100, "{}", failed.len());

    server.set_faults(Faults::NONE);
    let accepted_before: BTreeSet<_> = acceptances([&server]).into_keys().collect();
    t.run(["retry", "in.results.csv", "--rate", "200/s"])
        .expect_code(0)
        .expect_no_panic()
        .expect_stderr_line(&format!("{} rows to re-send from in.results.csv.", failed.len()))
        .expect_stderr_line("100 rows: 100 sent.");
    let after = check_one_line_per_row(&t, "in.results.csv", 100);
    let by_status = check_never_twice(&after, &acceptances([&server]));
    assert_eq!(by_status["sent"], 100);
    let resent: BTreeSet<_> = acceptances([&server]).into_keys().filter(|key| !accepted_before.contains(key)).collect();
    assert_eq!(resent, failed, "exactly the failed rows went out again");
    for (old, new) in before.records.iter().zip(&after.records) {
        for column in ["row", "line", "email", "name", "reference"] {
            assert_eq!(old[column], new[column], "{column} changed: {old:?} -> {new:?}");
        }
        let attempts = if old["status"] == "failed" { "2" } else { "1" };
        assert_eq!(new["attempts"], attempts, "{old:?} -> {new:?}");
    }
    assert_eq!(t.files(), ["in.csv", "in.results.csv"], "rewritten in place");

    // Nothing is failed any more: a second retry sends nothing.
    let record = t.read_bytes("in.results.csv");
    t.run(["retry", "in.results.csv", "--rate", "200/s"])
        .expect_code(0)
        .expect_stderr_line("No row is `failed`; nothing was re-sent.");
    assert_eq!(t.read_bytes("in.results.csv"), record);
}

#[test]
fn unknown_outcomes_keep_exit_4_until_settled_or_resent_on_request() {
    let server = sandbox(SandboxConfig { drop_rate: 0.2, seed: 9, ..SandboxConfig::default() });
    let t = Test::new().against(&server);
    t.write("in.csv", customers(50));
    t.run(["send", "in.csv", "--rate", "200/s"]).expect_code(4);
    let before = check_one_line_per_row(&t, "in.results.csv", 50);
    let unknown = keys(&before, "unknown");
    assert!(unknown.len() >= 3, "too few connections were dropped: {}", unknown.len());
    server.set_faults(Faults::NONE);

    // Sending again sends nothing and still says that something needs a person.
    let again = t.run(["send", "in.csv", "--rate", "200/s"]);
    again.expect_code(4).expect_stderr_line(&format!(
        "50 rows: {} already sent, {} unknown (may have been sent).",
        50 - unknown.len(),
        unknown.len()
    ));
    assert_eq!(server.accepted().len(), 50, "dropped requests were accepted too, once each, and none again");

    // Settle one by hand each way, after "checking Trustpilot Business".
    let mut rest = unknown.iter();
    let (email, reference) = rest.next().unwrap();
    t.run(["ledger", "settle", email, reference, "--sent"]).expect_code(0).expect_stdout_contains("recorded as sent");
    let (email2, reference2) = rest.next().unwrap();
    t.run(["ledger", "settle", email2, reference2, "--not-sent"]).expect_code(0);
    t.run(["ledger", "settle", email2, reference2, "--sent"])
        .expect_code(1)
        .expect_stderr("`failed` in the ledger, not `unknown`");
    let run = t.run(["send", "in.csv", "--rate", "200/s"]);
    run.expect_code(4).expect_stderr_line(&format!(
        "50 rows: 1 sent, {} already sent, {} unknown (may have been sent).",
        50 - unknown.len() + 1,
        unknown.len() - 2
    ));
    assert_eq!(acceptances([&server])[&(email2.clone(), reference2.clone())], 2, "settled not sent: sent again");

    // retry without --include-unknown leaves them; with it, they go out again (on request).
    t.run(["retry", "in.results.csv", "--rate", "200/s"])
        .expect_code(4)
        .expect_stderr_line("No row is `failed`; nothing was re-sent.");
    t.run(["retry", "in.results.csv", "--rate", "200/s", "--include-unknown"]).expect_code(0);
    let after = check_one_line_per_row(&t, "in.results.csv", 50);
    assert!(keys(&after, "unknown").is_empty());
    t.run(["send", "in.csv", "--rate", "200/s"]).expect_code(0).expect_stderr_line("50 rows: 50 already sent.");
}

#[test]
fn retry_refuses_a_results_file_of_another_business_unit() {
    let server = sandbox(SandboxConfig { fail_rate: 1.0, ..SandboxConfig::default() });
    let t = Test::new().against(&server);
    t.write("in.csv", customers(3));
    t.run(["send", "in.csv", "--rate", "200/s", "--max-attempts", "1"]).expect_code(4);
    server.set_faults(Faults::NONE);
    t.run(["retry", "in.results.csv", "--rate", "200/s", "--business-unit-id", "5f0000000000000000000000"])
        .expect_code(1)
        .expect_no_panic()
        .expect_stderr(
            "in.results.csv was sent for business unit 46d6a890000064000500e0c3, not 5f0000000000000000000000",
        );
    assert!(server.accepted().is_empty());
}

#[test]
fn the_ledger_commands_show_export_forget_and_import() {
    let server = sandbox(SandboxConfig::default());
    let t = Test::new().against(&server);
    t.write("in.csv", customers(3));
    t.run(["send", "in.csv", "--rate", "200/s"]).expect_code(0);

    let summary = t.run(["ledger"]);
    summary.expect_code(0).expect_stdout_contains("3  email invitations sent");
    let json = t.run(["ledger", "--json"]).json();
    assert_eq!(json["scopes"][0]["business_unit_id"], "46d6a890000064000500e0c3", "{json}");

    let export = t.run(["ledger", "export"]);
    export.expect_code(0);
    let lines: Vec<&str> = export.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{export}");
    assert!(lines[0].starts_with("business_unit_id,api_url,domain,kind,email,reference,status,attempts,"));
    assert!(lines[1].contains(",email,c1@example.com,R-1,sent,1,"), "{}", lines[1]);
    t.run(["ledger", "export", "--output", "all.csv"]).expect_code(0);
    assert_eq!(t.read("all.csv"), export.stdout);

    // Forget a customer: gone from the ledger, so the next send of the file invites again.
    t.run(["ledger", "forget", "C2@Example.com"])
        .expect_code(0)
        .expect_stdout_contains("c2@example.com: 1 entry removed.")
        .expect_stdout_contains("a later run of a file that holds them would invite them again");
    let export = t.run(["ledger", "export"]).stdout;
    assert!(!export.contains("c2@example.com"), "{export}");
    let ledger_bytes = std::fs::read(t.ledger()).unwrap();
    assert!(
        !String::from_utf8_lossy(&ledger_bytes).contains("c2@example.com"),
        "the forgotten email is still in the file"
    );

    // Import the results of a 0.1 run: its sent and unknown rows are never invited again.
    t.write(
        "old.results.csv",
        format!(
            "{}\n1,2,sent,1,202,,,corr-a,2026-10-01T06:00:00Z,old1@example.com,Old One,O-1,,,,,,,,,\n\
             2,3,unknown,1,,transport.unknown,,,,old2@example.com,Old Two,O-2,,,,,,,,,\n\
             3,4,failed,1,500,http.500,,,,old3@example.com,Old Three,O-3,,,,,,,,,\n",
            crate::support::RESULTS_HEADER
        ),
    );
    t.run(["ledger", "import", "old.results.csv"])
        .expect_code(0)
        .expect_stdout_contains("for business unit 46d6a890000064000500e0c3: 2 new, 0 made stronger, 0 already known.");
    t.write("old.csv", "email,name,reference\nold1@example.com,Old One,O-1\nold2@example.com,Old Two,O-2\nold3@example.com,Old Three,O-3\n");
    t.run(["send", "old.csv", "--rate", "200/s"])
        .expect_code(4)
        .expect_stderr_line("3 rows: 1 sent, 1 already sent, 1 unknown (may have been sent).");
    assert_eq!(acceptances([&server]).keys().filter(|(e, _)| e.starts_with("old")).count(), 1);
}

#[test]
fn a_links_report_is_imported_as_links_and_export_and_settle_keep_to_what_is_there() {
    let server = sandbox(SandboxConfig::default());
    let t = Test::new().against(&server);
    t.write("in.csv", customers(2));
    t.run(["links", "in.csv"]).expect_code(0);
    let table = t.table("in.links.csv");
    let links = table.column("link");
    assert!(links.iter().all(|l| l.starts_with("http")), "{links:?}");

    // Into a new ledger: the rows are links made, so the customers' emails are still to send,
    // and `links` gives the same links again, making none.
    let fresh = Test::new().against(&server);
    fresh.write("in.csv", customers(2));
    fresh.write("in.links.csv", t.read("in.links.csv"));
    fresh.run(["ledger", "import", "in.links.csv"]).expect_code(0).expect_stdout_contains("2 new");
    let export = fresh.run(["ledger", "export"]).stdout;
    let entries: Vec<&str> = export.lines().skip(1).collect();
    assert_eq!(entries.len(), 2, "{export}");
    assert!(entries.iter().all(|e| e.contains(",link,c") && e.contains(",link,1,")), "kind and status link: {export}");
    fresh.run(["links", "in.csv"]).expect_code(0);
    assert_eq!(fresh.table("in.links.csv").column("link"), links);
    assert_eq!(server.links().len(), 2, "no link made again");
    fresh.run(["send", "in.csv", "--rate", "200/s"]).expect_code(0).expect_stderr_line("2 rows: 2 sent.");

    // One business unit under two API addresses: its export holds both.
    let other = sandbox(SandboxConfig::default());
    fresh.write("more.csv", customers(3));
    let to_other = other
        .env()
        .into_iter()
        .fold(fresh.command(["send", "more.csv", "--rate", "200/s"]), |cmd, (k, v)| cmd.env(k, v));
    to_other.run().expect_code(0).expect_stderr_line("3 rows: 3 sent.");
    let export = fresh.run(["ledger", "export", "--business-unit-id", "46d6a890000064000500e0c3"]);
    export.expect_code(0);
    assert_eq!(export.stdout.lines().count(), 1 + 2 + 2 + 3, "{}", export.stdout);

    // Settling against a mistyped ledger path leaves no new ledger behind.
    let typo = fresh.join("no-such-folder/ledger.sqlite");
    fresh
        .command(["ledger", "settle", "c1@example.com", "R-1", "--sent"])
        .env("TP_INVITE_LEDGER", &typo)
        .run()
        .expect_code(1)
        .expect_stderr("There is no ledger at");
    assert!(!typo.exists() && !typo.parent().unwrap().exists());
}

#[test]
fn a_broken_ledger_stops_the_run_before_anything_is_sent() {
    let server = sandbox(SandboxConfig::default());
    type Breaker = Box<dyn Fn(&Test)>;
    let cases: Vec<(&str, Breaker, &str)> = vec![
        (
            "garbage",
            Box::new(|t: &Test| std::fs::write(t.ledger(), b"not a database, just text").unwrap()),
            "is damaged or is not a tp-invite ledger",
        ),
        (
            "another program's database",
            Box::new(|t: &Test| {
                let conn = rusqlite::Connection::open(t.ledger()).unwrap();
                conn.execute_batch("CREATE TABLE songs (title TEXT)").unwrap();
            }),
            "is an SQLite database of another program, not a tp-invite ledger. Nothing was sent, and the file was \
             left as it was.",
        ),
        (
            "a newer ledger",
            Box::new(|t: &Test| {
                let conn = rusqlite::Connection::open(t.ledger()).unwrap();
                conn.execute_batch("PRAGMA application_id = 1953524086; PRAGMA user_version = 99;").unwrap();
            }),
            "was written by a newer tp-invite (ledger format 99",
        ),
        (
            "a folder",
            Box::new(|t: &Test| std::fs::create_dir(t.ledger()).unwrap()),
            "is not a regular file (it is a folder)",
        ),
        (
            // Cut to nothing by a full disk or a failed restore: not a new ledger.
            "an emptied ledger",
            Box::new(|t: &Test| std::fs::write(t.ledger(), b"").unwrap()),
            "is empty (0 bytes): it was probably cut short (a full disk, an interrupted copy or restore), and an \
             empty ledger would let every customer be invited again. Nothing was sent. Restore it from your backup \
             (see the README, \"The ledger\"); if it was meant to be a new ledger, delete the empty file and run \
             again.",
        ),
    ];
    for (what, break_it, message) in cases {
        let t = Test::new().against(&server);
        t.write("in.csv", customers(3));
        break_it(&t);
        let run = t.run(["send", "in.csv", "--rate", "200/s", "--json"]);
        run.expect_code(1).expect_no_panic().expect_stderr(message);
        assert!(run.json()["error"]["code"].as_str().unwrap().starts_with("ledger."), "{what}: {}", run.json());
        assert!(server.accepted().is_empty(), "{what}: something was sent");
        assert!(!t.exists("in.results.csv"), "{what}");
    }
}

#[cfg(unix)]
#[test]
fn the_ledger_is_created_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let server = sandbox(SandboxConfig::default());
    let t = Test::new().against(&server);
    let nested = t.join("data/tp-invite/ledger.sqlite");
    t.write("in.csv", customers(1));
    t.run(["send", "in.csv", "--rate", "200/s", "--ledger", nested.to_str().unwrap()])
        .expect_code(0)
        .expect_stderr_line(&format!("Ledger:  {}", nested.display()));
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&nested), 0o600);
    assert_eq!(mode(&t.join("data/tp-invite")), 0o700);
    assert!(!t.ledger().exists(), "--ledger wins over TP_INVITE_LEDGER");
}

#[test]
fn an_emptied_ledger_is_refused_by_a_dry_run_and_the_ledger_commands_too() {
    let t = Test::new();
    t.write("in.csv", customers(2));
    std::fs::write(t.ledger(), b"").unwrap();
    let dry = t.run(["send", "in.csv", "--dry-run"]);
    dry.expect_code(1).expect_no_panic().expect_stderr("is empty (0 bytes)");
    t.run(["ledger"]).expect_code(1).expect_stderr("is empty (0 bytes)");
    assert_eq!(std::fs::metadata(t.ledger()).unwrap().len(), 0, "left as it was, for the user to restore");
}

#[test]
fn ledger_import_leaves_out_rehearsals_and_rows_it_cannot_record_and_says_which() {
    let t = Test::new().env("TRUSTPILOT_BUSINESS_UNIT_ID", "46d6a890000064000500e0c3");
    let line = |row: u64, status: &str, code: &str, sent_at: &str, email: &str, reference: &str| {
        format!("{row},{},{status},1,202,{code},,,{sent_at},{email},Name {row},{reference},,,,,,,,,\n", row + 1)
    };
    t.write(
        "old.results.csv",
        [
            format!("{}\n", crate::support::RESULTS_HEADER),
            // Written by a --sandbox rehearsal: never a real invitation.
            line(1, "sent", "sandbox.rehearsal", "2026-10-01T06:00:00Z", "rehearsed@example.com", "A-1"),
            // As a spreadsheet saves it: no Z, a space, no seconds; an offset is converted.
            line(2, "sent", "", "2026-10-01 06:00", "'spread@example.com", "'A-2"),
            line(3, "sent", "", "2026-10-01T08:00:00+02:00", "offset@example.com", "A-3"),
            // Day and month in either order: cannot be read.
            line(4, "sent", "", "10/01/2026 06:00", "us@example.com", "A-4"),
            line(5, "sent", "", "01.10.2026", "eu@example.com", "A-5"),
            // An address send refuses.
            line(6, "sent", "", "2026-10-01T06:00:00Z", "not-an-address", "A-6"),
            // An unknown outcome has no sent_at.
            line(7, "unknown", "transport.unknown", "", "Una <una@example.com>", "#A-7"),
        ]
        .concat(),
    );
    let run = t.run(["ledger", "import", "old.results.csv"]);
    run.expect_code(3)
        .expect_no_panic()
        .expect_stdout_contains("for business unit 46d6a890000064000500e0c3: 3 new, 0 made stronger, 0 already known.")
        .expect_stderr_line(
            "1 row of a --sandbox rehearsal (error_code sandbox.rehearsal) was left out: nothing in it reached \
             Trustpilot.",
        )
        .expect_stderr_line(
            "2 rows not imported: their sent_at is not a time tp-invite can read, e.g. old.results.csv, row 4: \
             '10/01/2026 06:00' (tp-invite writes UTC times such as 2026-03-14T10:00:00Z; a spreadsheet may have \
             rewritten them). Until they are imported, these customers may be invited again: import the results \
             file as tp-invite wrote it, or write that column as YYYY-MM-DDTHH:MM:SSZ (UTC), then import the file \
             again (rows already imported are not counted twice).",
        )
        .expect_stderr(
            "1 row not imported: `send` refuses its email or reference, so such a row is never sent, e.g. \
                        old.results.csv, row 6: ",
        );
    t.run(["ledger", "export", "--output", "export.csv"]).expect_code(0);
    let export = t.table("export.csv");
    assert_eq!(
        export.columns(&["email", "reference", "status", "sent_at"]),
        [
            ["spread@example.com", "A-2", "sent", "2026-10-01T06:00:00Z"],
            ["offset@example.com", "A-3", "sent", "2026-10-01T06:00:00Z"],
            ["una@example.com", "A-7", "unknown", ""],
        ]
    );
    // Fixed and imported again: the rows already recorded are known, the fixed ones added.
    let fixed = t.read("old.results.csv").replace("10/01/2026 06:00", "2026-10-01T06:00:00Z");
    t.write("old.results.csv", fixed);
    let again = t.run(["ledger", "import", "old.results.csv", "--json"]);
    let json = again.json();
    assert_eq!((json["added"].as_u64(), json["known"].as_u64()), (Some(1), Some(3)), "{json}");
    assert_eq!((json["rehearsal"].as_u64(), json["unreadable_sent_at"].as_u64()), (Some(1), Some(1)), "{json}");
    assert_eq!(json["exit_code"], 3, "{json}");
}

#[cfg(unix)]
#[test]
fn ledger_import_reads_an_env_file_given_after_the_subcommand() {
    use std::os::unix::fs::PermissionsExt;
    let t = Test::new();
    t.write("trustpilot.env", "TRUSTPILOT_BUSINESS_UNIT_ID=46d6a890000064000500e0c3\n");
    std::fs::set_permissions(t.join("trustpilot.env"), std::fs::Permissions::from_mode(0o600)).unwrap();
    t.write(
        "old.results.csv",
        format!(
            "{}\n1,2,sent,1,202,,,,2026-10-01T06:00:00Z,ann@example.com,Ann,R-1,,,,,,,,,\n",
            crate::support::RESULTS_HEADER
        ),
    );
    t.run(["ledger", "import", "old.results.csv", "--env-file", "trustpilot.env"])
        .expect_code(0)
        .expect_stdout_contains("for business unit 46d6a890000064000500e0c3: 1 new");
}

#[test]
fn ledger_settle_without_an_outcome_names_both() {
    let t = Test::new();
    let run = t.run(["ledger", "settle", "ann@example.com", "R-1"]);
    run.expect_code(2).expect_stderr("<--sent|--not-sent>");
}

#[test]
fn ledger_export_replaces_an_earlier_export_and_nothing_else() {
    let server = sandbox(SandboxConfig::default());
    let t = Test::new().against(&server);
    t.write("in.csv", customers(2));
    t.run(["send", "in.csv", "--rate", "200/s"]).expect_code(0);
    t.run(["ledger", "export", "--output", "ledger.csv"]).expect_code(0);
    t.run(["ledger", "export", "--output", "ledger.csv"])
        .expect_code(0)
        .expect_stderr_line("Wrote 2 entries to ledger.csv.");
    // Another file under that name (a typo for the export's name) is left alone.
    for name in ["in.csv", "in.results.csv"] {
        let before = t.read(name);
        let run = t.run(["ledger", "export", "--output", name]);
        run.expect_code(1).expect_no_panic().expect_stderr_line(&format!(
            "tp-invite: --output {name} already exists and is not an earlier export of the ledger (its first line is \
             not the export's header), so it is left as it is. Give a path that does not exist yet, or delete that \
             file first if you no longer need it."
        ));
        assert_eq!(t.read(name), before);
    }
    // The ledger, by a symbolic link or its journal's name: refused.
    #[cfg(unix)]
    std::os::unix::fs::symlink(t.ledger(), t.join("link.sqlite")).unwrap();
    let mut wal = t.ledger().into_os_string();
    wal.push("-wal");
    for target in [t.join("link.sqlite"), std::path::PathBuf::from(wal)] {
        if !target.exists() {
            continue;
        }
        let run = t.run(["ledger", "export", "--output", target.to_str().unwrap()]);
        run.expect_code(1)
            .expect_stderr("(or one of its files): the export would replace the record of who was invited");
    }
    t.run(["send", "in.csv", "--rate", "200/s"]).expect_code(0).expect_stderr_line("2 rows: 2 already sent.");
}
