//! Never twice, nothing lost: `send --resume` and `retry` after interruptions, crashes,
//! changed inputs and torn writes, checked row by row against what the sandbox accepted
//! (SPEC section 4).

use std::collections::BTreeSet;
use std::io::Write as _;
use std::time::Duration;

use tp_invite::record::Loaded;
use tp_invite::sandbox::{self, SandboxConfig};

use crate::support::{
    Cmd, Run, Server, Table, Test, acceptances, check_never_twice, check_one_line_per_row, customers,
};

/// `cmd` pointed at `server` (for tests that change sandboxes between commands).
fn at(cmd: Cmd, server: &Server) -> Cmd {
    server.env().into_iter().fold(cmd, |cmd, (key, value)| cmd.env(key, value))
}

/// `tp-invite <args>` against `server`, to the end.
fn run_at(t: &Test, server: &Server, args: &[&str]) -> Run {
    at(t.command(args), server).run()
}

/// A sandbox with the faults of a bad day: some 5xx, some connections dropped after the
/// invitation was accepted, a little latency.
fn faulty(seed: u64) -> Server {
    Server::start(SandboxConfig {
        latency: Duration::from_millis(5),
        jitter: Duration::from_millis(2),
        fail_rate: 0.05,
        drop_rate: 0.02,
        seed,
        ..SandboxConfig::default()
    })
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

/// Kills `child` (SIGKILL) and checks that the record it leaves can be read back.
fn kill_9(t: &Test, mut child: std::process::Child, results: &str) -> Loaded {
    child.kill().expect("kill tp-invite");
    let run = Run::wait(child);
    Loaded::read(&t.join(results)).unwrap_or_else(|e| panic!("the record left by a kill is unreadable: {e}\n{run}"))
}

#[test]
fn kill_9_at_random_moments_loses_nothing_and_sends_nothing_twice() {
    // 300/s with 8 workers lets ~70 rows through between two kills; 1,500 rows keep every one
    // of the 15 kills in the middle of the batch.
    const ROWS: usize = 1500;
    let mut rng = fastrand::Rng::with_seed(7);
    let t = Test::new().env("TP_INVITE_BACKOFF_MS", "10");
    t.write("in.csv", customers(ROWS));
    let args = ["send", "in.csv", "--resume", "--rate", "300/s", "--concurrency", "8", "--quiet"];
    // A sandbox per run, their records added up: the sandbox answers 429 to more than 10
    // token requests in 10 seconds, and every run asks for one.
    let mut servers = Vec::new();
    for kill in 0..15 {
        let server = faulty(100 + kill);
        let mut child = at(t.command(args), &server).spawn();
        std::thread::sleep(Duration::from_millis(rng.u64(20..=400)));
        let ended = child.try_wait().expect("poll tp-invite");
        assert!(ended.is_none(), "run {kill} ended before it was killed: {ended:?}");
        let recorded = kill_9(&t, child, "in.results.csv");
        assert!(recorded.rows() < ROWS as u64, "the batch was done before kill {kill}");
        servers.push(server);
        let counts = acceptances(&servers);
        assert!(counts.values().all(|&n| n == 1), "accepted twice after kill {kill}: {counts:?}");
    }
    let server = faulty(999);
    let run = run_at(&t, &server, &args);
    servers.push(server);
    assert!(matches!(run.code(), Some(0 | 4)), "the last resume did not complete\n{run}");
    run.expect_no_panic();
    let results = check_one_line_per_row(&t, "in.results.csv", ROWS);
    let by_status = check_never_twice(&results, &acceptances(&servers));
    let statuses: Vec<&String> = by_status.keys().collect();
    assert!(statuses.iter().all(|s| ["sent", "failed", "unknown"].contains(&s.as_str())), "{by_status:?}");
    assert!(by_status["sent"] > ROWS / 2, "{by_status:?}");
}

#[test]
fn retry_resends_the_failed_rows_only_and_adds_up_their_attempts() {
    let first = Server::start(SandboxConfig { fail_rate: 0.1, seed: 3, ..SandboxConfig::default() });
    let t = Test::new().env("TP_INVITE_BACKOFF_MS", "10");
    t.write("in.csv", customers(100));
    run_at(&t, &first, &["send", "in.csv", "--rate", "200/s", "--max-attempts", "1"]).expect_code(4);
    let before = check_one_line_per_row(&t, "in.results.csv", 100);
    check_never_twice(&before, &acceptances([&first]));
    let failed = keys(&before, "failed");
    assert!(!failed.is_empty() && keys(&before, "sent").len() + failed.len() == 100, "{}", failed.len());

    // The sandbox's faults are fixed when it starts: the retry goes to a second one.
    let second = Server::clean();
    run_at(&t, &second, &["retry", "in.results.csv", "--rate", "200/s"])
        .expect_code(0)
        .expect_no_panic()
        .expect_stderr_line(&format!("{} rows to re-send from in.results.csv.", failed.len()))
        .expect_stderr_line("100 rows: 100 sent.");
    let after = check_one_line_per_row(&t, "in.results.csv", 100);
    let by_status = check_never_twice(&after, &acceptances([&first, &second]));
    assert_eq!(by_status["sent"], 100);
    let resent: BTreeSet<_> = acceptances([&second]).into_keys().collect();
    assert_eq!(resent, failed, "the second sandbox got exactly the failed rows");
    for (old, new) in before.records.iter().zip(&after.records) {
        for column in ["row", "line", "email", "name", "reference"] {
            assert_eq!(old[column], new[column], "{column} changed: {old:?} -> {new:?}");
        }
        let attempts = if old["status"] == "failed" { "2" } else { "1" };
        assert_eq!(new["attempts"], attempts, "{old:?} -> {new:?}");
    }
    assert_eq!(t.files(), ["in.csv", "in.results.csv", "in.results.csv.meta.json"], "rewritten in place");
}

#[test]
fn retry_never_resends_a_sent_row() {
    let first = Server::clean();
    let t = Test::new().env("TP_INVITE_BACKOFF_MS", "10");
    t.write("in.csv", customers(5));
    run_at(&t, &first, &["send", "in.csv", "--rate", "200/s"]).expect_code(0);
    let record = t.read_bytes("in.results.csv");
    let second = Server::clean();
    run_at(&t, &second, &["retry", "in.results.csv", "--rate", "200/s"])
        .expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("No row is `failed`; nothing was re-sent.")
        .expect_stderr_line("5 rows: 5 sent.");
    assert!(second.requests().is_empty(), "{:?}", second.requests());
    assert_eq!(t.read_bytes("in.results.csv"), record, "the record changed");
}

#[test]
fn unknown_rows_are_resent_only_with_include_unknown() {
    let first = Server::start(SandboxConfig { drop_rate: 0.2, seed: 9, ..SandboxConfig::default() });
    let t = Test::new().env("TP_INVITE_BACKOFF_MS", "10");
    t.write("in.csv", customers(50));
    run_at(&t, &first, &["send", "in.csv", "--rate", "200/s"]).expect_code(4);
    let before = check_one_line_per_row(&t, "in.results.csv", 50);
    check_never_twice(&before, &acceptances([&first]));
    let unknown = keys(&before, "unknown");
    assert!(!unknown.is_empty(), "no connection was dropped");
    assert_eq!(keys(&before, "sent").len() + unknown.len(), 50);
    // A dropped connection: the sandbox accepted every one of them.
    assert!(unknown.iter().all(|key| acceptances([&first])[key] == 1));

    let second = Server::clean();
    let record = t.read_bytes("in.results.csv");
    run_at(&t, &second, &["retry", "in.results.csv", "--rate", "200/s"])
        .expect_code(4)
        .expect_no_panic()
        .expect_stderr_line("No row is `failed`; nothing was re-sent.")
        .expect_stderr_line("Next:    tp-invite retry in.results.csv --include-unknown");
    assert!(second.requests().is_empty(), "{:?}", second.requests());
    assert_eq!(t.read_bytes("in.results.csv"), record);

    run_at(&t, &second, &["retry", "in.results.csv", "--include-unknown", "--rate", "200/s"])
        .expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("50 rows: 50 sent.");
    let after = check_one_line_per_row(&t, "in.results.csv", 50);
    assert_eq!(after.column("status"), ["sent"; 50]);
    // What the user asked for: the unknown rows, and only they, went out again.
    let resent = acceptances([&second]);
    assert_eq!(resent.keys().cloned().collect::<BTreeSet<_>>(), unknown);
    assert!(resent.values().all(|&n| n == 1), "{resent:?}");
    for (key, times) in acceptances([&first, &second]) {
        assert_eq!(times, if unknown.contains(&key) { 2 } else { 1 }, "{key:?}");
    }
    for record in &after.records {
        let key = (record["email"].clone(), record["reference"].clone());
        assert_eq!(record["attempts"], if unknown.contains(&key) { "2" } else { "1" }, "{record:?}");
    }
}

#[test]
fn a_changed_input_refuses_to_resume_unless_forced() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("in.csv", customers(6));
    t.run(["send", "in.csv", "--rate", "200/s", "--limit", "3"]).expect_code(0);
    let record = t.read_bytes("in.results.csv");
    t.write("in.csv", customers(6).replace("Customer 5", "Customer Five"));
    t.run(["send", "in.csv", "--rate", "200/s", "--resume"])
        .expect_code(1)
        .expect_no_panic()
        .expect_stderr("in.csv changed since in.results.csv was started")
        .expect_stderr("add --force to resume anyway");
    assert_eq!(t.read_bytes("in.results.csv"), record);
    assert_eq!(server.accepted().len(), 3);

    t.run(["send", "in.csv", "--rate", "200/s", "--resume", "--force"])
        .expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("6 rows: 6 sent.");
    let results = check_one_line_per_row(&t, "in.results.csv", 6);
    check_never_twice(&results, &acceptances([&server]));
    assert_eq!(results.row(5)["name"], "Customer Five");
    let five = server.accepted().into_iter().find(|a| a.reference == "R-5").expect("row 5 was sent");
    assert_eq!(five.body["consumerName"], "Customer Five");
}

#[test]
fn resuming_for_another_business_unit_refuses_unless_forced() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("in.csv", customers(6));
    t.run(["send", "in.csv", "--rate", "200/s", "--limit", "2"]).expect_code(0);
    let record = t.read_bytes("in.results.csv");
    let other = "0123456789abcdef01234567";
    t.run(["send", "in.csv", "--rate", "200/s", "--resume", "--business-unit-id", other])
        .expect_code(1)
        .expect_no_panic()
        .expect_stderr(&format!(
            "in.results.csv was started for business unit {}, not {other}; resuming would mix two shops' \
             invitations. Use the same business unit, or add --force.",
            sandbox::DEMO_BUSINESS_UNIT_ID
        ));
    assert_eq!(t.read_bytes("in.results.csv"), record);
    assert_eq!(server.accepted().len(), 2);

    // Forced, the run goes on for the other unit, which the sandbox does not know (404): the
    // run stops there, and nothing goes out twice.
    t.run(["send", "in.csv", "--rate", "200/s", "--resume", "--force", "--business-unit-id", other])
        .expect_code(1)
        .expect_no_panic()
        .expect_stderr("404")
        .expect_stderr_lacks("resuming would mix");
    let results = check_one_line_per_row(&t, "in.results.csv", 6);
    check_never_twice(&results, &acceptances([&server]));
    assert_eq!(server.accepted().len(), 2);
}

#[test]
fn resume_without_a_record_starts_from_the_beginning() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("in.csv", customers(4));
    t.run(["send", "in.csv", "--rate", "200/s", "--resume"])
        .expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("4 rows to send.")
        .expect_stderr_line("4 rows: 4 sent.");
    let results = check_one_line_per_row(&t, "in.results.csv", 4);
    assert_eq!(check_never_twice(&results, &acceptances([&server]))["sent"], 4);
}

#[test]
fn a_dry_run_record_is_replaced_but_a_real_send_record_is_never_overwritten() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("in.csv", customers(4));
    t.run(["send", "in.csv", "--dry-run"]).expect_code(0);
    assert_eq!(t.table("in.results.csv").column("status"), ["ready"; 4]);
    t.run(["send", "in.csv", "--rate", "200/s"]).expect_code(0).expect_stderr_line("4 rows: 4 sent.");
    let record = t.read_bytes("in.results.csv");
    let meta = t.read_bytes("in.results.csv.meta.json");

    for flags in [&["--rate", "200/s"][..], &["--dry-run"][..]] {
        let mut args = vec!["send", "in.csv"];
        args.extend_from_slice(flags);
        t.run(&args)
            .expect_code(1)
            .expect_no_panic()
            .expect_stderr("in.results.csv already records a real send (4 sent, 0 failed, 0 unknown)");
        assert_eq!(t.read_bytes("in.results.csv"), record, "{args:?} changed the record");
        assert_eq!(t.read_bytes("in.results.csv.meta.json"), meta, "{args:?} changed the metadata");
    }
    let results = check_one_line_per_row(&t, "in.results.csv", 4);
    assert_eq!(check_never_twice(&results, &acceptances([&server]))["sent"], 4);
}

#[test]
fn a_torn_last_line_is_tolerated_by_resume() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("in.csv", customers(10));
    t.run(["send", "in.csv", "--rate", "200/s", "--limit", "4"]).expect_code(0);
    // Half of a line, as a crash in the middle of a write leaves it.
    let mut file = std::fs::OpenOptions::new().append(true).open(t.join("in.results.csv")).unwrap();
    file.write_all(b"5,6,sent,1,202,,,,2026-01-01T00:00:00Z,c5@exa").unwrap();
    drop(file);
    t.run(["send", "in.csv", "--rate", "200/s", "--resume"])
        .expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("6 rows to send (resuming: 10 rows already recorded).")
        .expect_stderr_line("10 rows: 10 sent.");
    let results = check_one_line_per_row(&t, "in.results.csv", 10);
    assert_eq!(check_never_twice(&results, &acceptances([&server]))["sent"], 10);
    assert_ne!(results.row(5)["sent_at"], "2026-01-01T00:00:00Z", "the torn line was believed");
}

#[test]
fn a_killed_retry_is_resumed_by_the_next_retry_and_sends_nothing_twice() {
    let first = Server::start(SandboxConfig { fail_rate: 0.3, seed: 21, ..SandboxConfig::default() });
    let t = Test::new().env("TP_INVITE_BACKOFF_MS", "10");
    t.write("in.csv", customers(200));
    run_at(&t, &first, &["send", "in.csv", "--rate", "400/s", "--max-attempts", "1"]).expect_code(4);
    let failed = keys(&t.table("in.results.csv"), "failed");
    assert!(failed.len() > 30, "{}", failed.len());

    let args = ["retry", "in.results.csv", "--rate", "50/s", "--concurrency", "8", "--quiet"];
    let mut servers = vec![first];
    for after in [300, 250] {
        let server = faulty(40 + after);
        let mut child = at(t.command(args), &server).spawn();
        std::thread::sleep(Duration::from_millis(after));
        assert!(child.try_wait().expect("poll tp-invite").is_none(), "the retry ended before it was killed");
        let recorded = kill_9(&t, child, "in.results.csv");
        assert_eq!(recorded.rows(), 200);
        servers.push(server);
    }
    let last = Server::clean();
    let run = run_at(&t, &last, &args);
    servers.push(last);
    run.expect_no_panic();
    let results = check_one_line_per_row(&t, "in.results.csv", 200);
    let by_status = check_never_twice(&results, &acceptances(&servers));
    // Every failed row was re-sent or is `unknown` (in flight at a kill): none is left failed.
    assert_eq!(by_status.get("failed"), None, "{by_status:?}");
    assert_eq!(run.code(), Some(if by_status.contains_key("unknown") { 4 } else { 0 }), "{run}");
    let resent: BTreeSet<_> = acceptances(&servers[1..]).into_keys().collect();
    assert!(resent.is_subset(&failed), "a row that was not failed was re-sent");
    assert!(!acceptances(&servers[1..3]).is_empty(), "the killed retries sent nothing, so nothing was tested");
}

#[test]
fn a_record_left_empty_or_with_a_torn_header_is_started_over_by_resume() {
    // What a kill -9 or a power cut leaves right after the results file was created, before
    // its header reached the disk: no row can have been sent yet.
    for left in ["", "row,line,sta"] {
        let server = Server::clean();
        let t = Test::new().against(&server);
        t.write("in.csv", customers(3));
        t.write("in.results.csv", left);
        t.run(["send", "in.csv", "--rate", "200/s", "--resume"])
            .expect_code(0)
            .expect_no_panic()
            .expect_stderr_line("3 rows: 3 sent.");
        let results = check_one_line_per_row(&t, "in.results.csv", 3);
        assert_eq!(check_never_twice(&results, &acceptances([&server]))["sent"], 3, "{left:?}");
    }
}

#[test]
fn a_retry_stopped_by_throttling_leaves_its_rows_failed_for_the_next_retry() {
    let first = Server::start(SandboxConfig { fail_rate: 1.0, seed: 5, ..SandboxConfig::default() });
    let t = Test::new().env("TP_INVITE_BACKOFF_MS", "10");
    t.write("in.csv", customers(10));
    run_at(&t, &first, &["send", "in.csv", "--rate", "200/s", "--max-attempts", "1"]).expect_code(4);
    let before = check_one_line_per_row(&t, "in.results.csv", 10);
    assert_eq!(keys(&before, "failed").len(), 10);

    // One request a minute: the token takes it, and every invitation meets a 429.
    let throttled =
        Server::start(SandboxConfig { quota: Some((1, Duration::from_secs(60))), ..SandboxConfig::default() });
    at(t.command(["retry", "in.results.csv", "--rate", "200/s"]), &throttled)
        .env("TP_INVITE_MAX_THROTTLE_MS", "1000")
        .run()
        .expect_code(1)
        .expect_no_panic()
        .expect_stderr("Stopped: Trustpilot answered 429");
    let after = check_one_line_per_row(&t, "in.results.csv", 10);
    assert_eq!(keys(&after, "failed").len(), 10, "the rows are still `failed`, so the next retry takes them");
    for (old, new) in before.records.iter().zip(&after.records) {
        assert_eq!(old["attempts"], new["attempts"], "a 429 is not an attempt");
    }
    check_never_twice(&after, &acceptances([&first, &throttled]));
}

#[test]
fn an_error_report_path_that_holds_a_real_send_is_refused() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("old.csv", customers(3));
    t.run(["send", "old.csv", "--rate", "200/s"]).expect_code(0);
    let record = t.read("old.results.csv");
    t.write("new.csv", customers(2));
    t.write("other.csv", customers(2));
    t.run(["send", "other.csv", "--rate", "200/s"]).expect_code(0);
    for args in [&["send", "new.csv", "--dry-run"][..], &["send", "new.csv"][..], &["retry", "other.results.csv"][..]] {
        let mut args = args.to_vec();
        args.extend(["--errors", "old.results.csv"]);
        t.run(&args)
            .expect_code(1)
            .expect_stderr("--errors old.results.csv is a results file that records a real send");
        assert_eq!(t.read("old.results.csv"), record, "{args:?} left the record as it was");
    }
}
