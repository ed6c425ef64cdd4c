//! `send` against the sandbox: the concurrent sender's outcomes row by row, checked against
//! what the emulator accepted (SPEC sections 1, 3 and 4).

use std::time::{Duration, Instant};

use serde_json::json;
use tp_invite::sandbox::{self, SandboxConfig};

use crate::support::{Run, Server, Test, acceptances, check_never_twice, check_one_line_per_row, customers};

/// `tp-invite send <input> <flags>`.
fn send(t: &Test, input: &str, flags: &[&str]) -> Run {
    let mut args = vec!["send", input];
    args.extend_from_slice(flags);
    t.run(args)
}

#[test]
fn a_clean_send_sends_every_row_once_with_the_normalised_body() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write(
        "in.csv",
        "email,name,reference,locale,tags,preferred_send_time,redirect_uri,sender_name\n\
         Ann@Example.com , Ann Lee ,R-1,en_us,spring_sale;vip|x.y,2026-12-01T10:00:00+01:00,https://example.com/thanks,Shop\n\
         bob@example.com,Bob Roe,R-2,,,,,\n\
         cy@example.com,Cy Dee,R-3,DE-de,,2026-12-01,,\n",
    );
    let run = send(&t, "in.csv", &["--rate", "200/s"]);
    run.expect_code(0).expect_no_panic().expect_stderr_line("3 rows: 3 sent.");
    let results = check_one_line_per_row(&t, "in.results.csv", 3);
    for record in &results.records {
        assert_eq!(record["status"], "sent", "{record:?}");
        assert_eq!(record["attempts"], "1", "{record:?}");
        let status: u16 = record["http_status"].parse().expect("http_status is a number");
        assert!((200..300).contains(&status), "{record:?}");
        assert!(!record["correlation_id"].is_empty(), "{record:?}");
        let sent_at = &record["sent_at"];
        assert!(
            sent_at.len() == 20 && sent_at.ends_with('Z') && sent_at.as_bytes()[10] == b'T',
            "sent_at is not UTC YYYY-MM-DDTHH:MM:SSZ: {record:?}"
        );
        assert!(record["error_code"].is_empty() && record["error"].is_empty(), "{record:?}");
    }
    assert_eq!(results.columns(&["row", "line"]), [["1", "2"], ["2", "3"], ["3", "4"]]);
    assert!(!t.exists("in.errors.csv"), "no row is invalid");

    let accepted = server.accepted();
    let mut bodies: Vec<_> = accepted.iter().map(|a| (a.reference.clone(), a.body.clone())).collect();
    bodies.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        bodies,
        [
            (
                "R-1".to_string(),
                json!({
                    "consumerEmail": "Ann@Example.com",
                    "consumerName": "Ann Lee",
                    "referenceNumber": "R-1",
                    "locale": "en-US",
                    "senderName": "Shop",
                    "serviceReviewInvitation": {
                        "tags": ["spring_sale", "vip", "x.y"],
                        "preferredSendTime": "2026-12-01T09:00:00",
                        "redirectUri": "https://example.com/thanks",
                    },
                })
            ),
            (
                "R-2".to_string(),
                json!({
                    "consumerEmail": "bob@example.com",
                    "consumerName": "Bob Roe",
                    "referenceNumber": "R-2",
                    "serviceReviewInvitation": {},
                })
            ),
            (
                "R-3".to_string(),
                json!({
                    "consumerEmail": "cy@example.com",
                    "consumerName": "Cy Dee",
                    "referenceNumber": "R-3",
                    "locale": "de-DE",
                    "serviceReviewInvitation": { "preferredSendTime": "2026-12-01T00:00:00" },
                })
            ),
        ]
    );
    let counts = acceptances([&server]);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    check_never_twice(&results, &counts);
    // The results hold what was sent, normalised.
    assert_eq!(results.row(1)["email"], accepted.iter().find(|a| a.reference == "R-1").unwrap().email);
    assert_eq!(results.row(1)["tags"], "spring_sale,vip,x.y");
    assert_eq!(results.row(1)["locale"], "en-US");
    assert_eq!(results.row(1)["preferred_send_time"], "2026-12-01T09:00:00");
}

#[test]
fn under_faults_every_row_ends_sent_failed_or_unknown_and_none_twice() {
    let server = Server::start(SandboxConfig { fail_rate: 0.2, drop_rate: 0.05, seed: 11, ..SandboxConfig::default() });
    let t = Test::new().against(&server);
    t.write("in.csv", customers(200));
    // Two attempts, so that some rows run out of them: with the default five, a row fails
    // only once in 3,000 at this fail rate.
    let run = send(&t, "in.csv", &["--rate", "400/s", "--concurrency", "8", "--max-attempts", "2"]);
    run.expect_code(4).expect_no_panic();
    let results = check_one_line_per_row(&t, "in.results.csv", 200);
    let by_status = check_never_twice(&results, &acceptances([&server]));
    for status in ["sent", "failed", "unknown"] {
        assert!(by_status.get(status).copied().unwrap_or(0) > 0, "no row is `{status}`: {by_status:?}\n{run}");
    }
    assert_eq!(by_status.keys().collect::<Vec<_>>(), ["failed", "sent", "unknown"], "{by_status:?}");
    for record in &results.records {
        match record["status"].as_str() {
            "sent" => assert!(record["http_status"].starts_with('2'), "{record:?}"),
            "failed" => {
                assert!(["500", "502", "503"].contains(&record["http_status"].as_str()), "{record:?}");
                assert!(!record["error_code"].is_empty() && !record["error"].is_empty(), "{record:?}");
                assert_eq!(record["attempts"], "2", "{record:?}");
            }
            _ => {
                assert_eq!(record["error_code"], "transport.unknown", "{record:?}");
                assert!(record["http_status"].is_empty(), "{record:?}");
            }
        }
    }
    let line = format!(
        "200 rows: {} sent, {} failed, {} unknown (may have been sent).",
        by_status["sent"], by_status["failed"], by_status["unknown"]
    );
    run.expect_stderr_line(&line).expect_stderr_line("Next:    tp-invite retry in.results.csv");
}

/// 30 rows at `--rate 50/s` against a sandbox that admits 10 requests a second.
fn throttled_run(retry_after: Option<Duration>) {
    let quota = (10, Duration::from_secs(1));
    let server = Server::start(SandboxConfig { quota: Some(quota), retry_after, seed: 5, ..SandboxConfig::default() });
    let t = Test::new().against(&server);
    t.write("in.csv", customers(30));
    let started = Instant::now();
    let run = send(&t, "in.csv", &["--rate", "50/s"]);
    let took = started.elapsed();
    run.expect_code(0).expect_no_panic().expect_stderr_line("30 rows: 30 sent.");
    let results = check_one_line_per_row(&t, "in.results.csv", 30);
    check_never_twice(&results, &acceptances([&server]));
    // 429 is not the row's fault: no row used up a second attempt.
    assert_eq!(results.column("attempts"), ["1"; 30]);
    let throttled = server.requests().iter().filter(|r| r.status == 429).count();
    assert!(throttled > 0, "the sandbox never answered 429, so nothing was tested");
    // 31 admitted requests (a token and 30 invitations), at most 10 in any second: the first
    // and the last are at least 3 seconds apart.
    assert!(took >= Duration::from_millis(2_900), "31 requests within a 10/s quota took only {took:?}");
}

#[test]
fn a_quota_answered_with_429_and_retry_after_delays_rows_but_never_fails_or_doubles_them() {
    throttled_run(Some(Duration::from_secs(1)));
}

#[test]
fn a_quota_answered_with_429_without_retry_after_delays_rows_but_never_fails_or_doubles_them() {
    throttled_run(None);
}

#[test]
fn a_retry_after_longer_than_a_run_waits_stops_it_at_once() {
    // One request a minute, and "come back in an hour".
    let quota = (1, Duration::from_secs(60));
    let config =
        SandboxConfig { quota: Some(quota), retry_after: Some(Duration::from_secs(3600)), ..SandboxConfig::default() };
    let server = Server::start(config);
    let t = Test::new().against(&server).env("TP_INVITE_MAX_THROTTLE_MS", "60000");
    t.write("in.csv", customers(10));
    let started = std::time::Instant::now();
    let run = send(&t, "in.csv", &["--rate", "50/s"]);
    assert!(started.elapsed() < Duration::from_secs(30), "it did not wait the hour out\n{run}");
    run.expect_code(1)
        .expect_no_panic()
        .expect_stderr_line("10 rows: 10 skipped.")
        .expect_stderr("asked to wait 60 minutes (Retry-After), longer than a run waits")
        .expect_stderr_line("Next:    tp-invite send in.csv --rate 50/s");
    let results = check_one_line_per_row(&t, "in.results.csv", 10);
    check_never_twice(&results, &acceptances([&server]));
}

#[test]
fn continuous_throttling_stops_the_run_and_skips_the_remaining_rows() {
    // One request a minute: the token takes it, every invitation meets a 429.
    let quota = (1, Duration::from_secs(60));
    let server = Server::start(SandboxConfig { quota: Some(quota), ..SandboxConfig::default() });
    let t = Test::new().against(&server).env("TP_INVITE_MAX_THROTTLE_MS", "1500");
    t.write("in.csv", customers(30));
    let run = send(&t, "in.csv", &["--rate", "50/s"]);
    // The run stopped before its end, as on a fatal error: exit 1, and the same command later.
    run.expect_code(1)
        .expect_no_panic()
        .expect_stderr_line("30 rows: 30 skipped.")
        .expect_stderr("Stopped: Trustpilot answered 429 (too many requests) for ")
        .expect_stderr("without a break, so the run stopped; rows not attempted are `skipped`.")
        .expect_stderr_line("Next:    tp-invite send in.csv --rate 50/s");
    let results = check_one_line_per_row(&t, "in.results.csv", 30);
    check_never_twice(&results, &acceptances([&server]));
    for record in &results.records {
        assert!(record["error"].starts_with("Not sent: "), "{record:?}");
        assert_eq!(record["attempts"], "0", "a 429 is not an attempt: {record:?}");
    }
}

#[test]
fn an_expiring_token_is_renewed_a_few_times_and_no_row_is_sent_twice() {
    let config = SandboxConfig { token_lifetime: Duration::from_secs(1), ..SandboxConfig::default() };
    let server = Server::start(config);
    let t = Test::new().against(&server);
    t.write("in.csv", customers(100));
    // One worker: with several, a worker can wait in the rate budget long enough for its
    // token to expire twice (see the ignored test below).
    let run = send(&t, "in.csv", &["--rate", "50/s", "--concurrency", "1"]);
    run.expect_code(0).expect_no_panic().expect_stderr_line("100 rows: 100 sent.");
    let results = check_one_line_per_row(&t, "in.results.csv", 100);
    check_never_twice(&results, &acceptances([&server]));
    // About 2 seconds of sending with 1-second tokens: the first token and two or three
    // renewals, not one per request.
    let tokens = server.token_requests();
    assert!((2..=5).contains(&tokens), "{tokens} token requests\n{run}");
}

#[test]
fn an_expiring_token_never_stops_a_run_with_several_workers() {
    let config = SandboxConfig {
        token_lifetime: Duration::from_secs(1),
        latency: Duration::from_millis(50),
        ..SandboxConfig::default()
    };
    let server = Server::start(config);
    let t = Test::new().against(&server);
    t.write("in.csv", customers(100));
    let run = send(&t, "in.csv", &["--rate", "50/s", "--concurrency", "8"]);
    run.expect_code(0).expect_no_panic().expect_stderr_line("100 rows: 100 sent.");
    let results = check_one_line_per_row(&t, "in.results.csv", 100);
    check_never_twice(&results, &acceptances([&server]));
}

#[test]
fn workers_take_turns_at_the_rate_budget() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("in.csv", customers(100));
    send(&t, "in.csv", &["--rate", "50/s", "--concurrency", "8"]).expect_code(0);
    // Workers take rows in order; if they also take turns at the budget, no row leaves more
    // than a few turns after the rows around it.
    let order: Vec<usize> = server
        .accepted()
        .iter()
        .map(|a| a.reference.trim_start_matches("R-").parse().expect("a reference R-<row>"))
        .collect();
    let late: Vec<(usize, usize)> = order
        .iter()
        .enumerate()
        .filter(|&(position, &row)| position + 1 > row + 16)
        .map(|(position, &row)| (row, position + 1))
        .collect();
    assert!(late.is_empty(), "(row, accepted as n-th): {late:?}");
}

#[test]
fn invalid_and_duplicate_rows_are_never_sent_and_the_run_exits_3() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write(
        "in.csv",
        "email,name,reference,tags\n\
         ann@example.com,Ann,R-1,\n\
         not-an-email,Bob,R-2,\n\
         cy@example.com,Cy,R#3,\n\
         dee@example.com,Dee,R-4,bad tag\n\
         ANN@example.com,Ann again,R-1,\n\
         eve@example.com,Eve,R-5,vip\n",
    );
    let run = send(&t, "in.csv", &["--rate", "200/s"]);
    run.expect_code(3).expect_no_panic().expect_stderr_line("6 rows: 2 sent, 3 invalid, 1 duplicate.");
    let results = check_one_line_per_row(&t, "in.results.csv", 6);
    assert_eq!(results.column("status"), ["sent", "invalid", "invalid", "invalid", "duplicate", "sent"]);
    check_never_twice(&results, &acceptances([&server]));
    let references: Vec<String> = server.accepted().into_iter().map(|a| a.reference).collect::<Vec<_>>();
    let mut references = references;
    references.sort();
    assert_eq!(references, ["R-1", "R-5"]);
    let invitations = server.requests().iter().filter(|r| r.path.ends_with("/email-invitations")).count();
    assert_eq!(invitations, 2, "only the valid rows reach the sandbox");
    assert!(t.exists("in.errors.csv"));
}

#[test]
fn limit_sends_a_canary_and_the_same_command_sends_the_rest() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("in.csv", customers(12));
    send(&t, "in.csv", &["--limit", "5", "--rate", "200/s"])
        .expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("5 rows to send (7 rows left for later by --limit).")
        .expect_stderr_line("12 rows: 5 sent, 7 skipped.")
        .expect_stderr_line("7 rows left by --limit; the same command without it sends them.")
        .expect_stderr_line("Next:    tp-invite send in.csv --rate 200/s");
    let results = check_one_line_per_row(&t, "in.results.csv", 12);
    assert_eq!(results.column("status"), [vec!["sent"; 5], vec!["skipped"; 7]].concat());
    check_never_twice(&results, &acceptances([&server]));
    assert_eq!(server.accepted().len(), 5);

    // `retry` re-sends failed rows only: it says how the skipped ones are sent, and does not
    // suggest itself again (a cron job following it would loop).
    let retry = t.run(["retry", "in.results.csv", "--rate", "200/s"]);
    retry.expect_code(0).expect_stderr_lacks("Next:").expect_stderr_line(
        "7 rows the earlier run did not send (`skipped`) are not `retry`'s to send, which re-sends only failed rows: \
         send the input file again (tp-invite send <INPUT>) to send them.",
    );
    assert_eq!(server.accepted().len(), 5);

    // `--resume` is still accepted (0.1's scripts), and changes nothing.
    send(&t, "in.csv", &["--rate", "200/s", "--resume"])
        .expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("7 rows to send (5 rows already sent before).")
        .expect_stderr_line("12 rows: 7 sent, 5 already sent.");
    let results = check_one_line_per_row(&t, "in.results.csv", 12);
    let by_status = check_never_twice(&results, &acceptances([&server]));
    assert_eq!((by_status["sent"], by_status["already_sent"]), (7, 5));
    assert_eq!(server.accepted().len(), 12);
    assert_eq!(t.files(), ["in.csv", "in.results.csv"], "the same input's report is replaced, not kept aside");
}

/// A clean sandbox and a test folder pointed at it, holding `in.csv` with three customers.
fn configured() -> (Server, Test) {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("in.csv", customers(3));
    (server, t)
}

#[test]
fn a_wrong_secret_stops_the_run_before_anything_is_sent() {
    let (server, t) = configured();
    let t = t.env("TRUSTPILOT_API_SECRET", "not-the-secret");
    send(&t, "in.csv", &["--rate", "200/s"])
        .expect_code(1)
        .expect_no_panic()
        .expect_stderr("Trustpilot did not accept the credentials (")
        .expect_stderr("Check TRUSTPILOT_API_KEY and TRUSTPILOT_API_SECRET")
        .expect_stderr_lacks("not-the-secret");
    assert!(server.accepted().is_empty());
    assert!(!t.exists("in.results.csv") && !t.exists("in.results.csv.meta.json"), "{:?}", t.files());

    // Resuming with a wrong secret leaves the record as it was.
    let (server, t) = configured();
    send(&t, "in.csv", &["--rate", "200/s", "--limit", "1"]).expect_code(0);
    let record = t.read_bytes("in.results.csv");
    let t = t.env("TRUSTPILOT_API_SECRET", "not-the-secret");
    send(&t, "in.csv", &["--rate", "200/s", "--resume"]).expect_code(1).expect_stderr("TRUSTPILOT_API_SECRET");
    assert_eq!(t.read_bytes("in.results.csv"), record, "a refused resume changed the record");
    assert_eq!(server.accepted().len(), 1);
}

#[test]
fn an_unknown_business_unit_stops_the_run_with_nothing_sent() {
    let (server, t) = configured();
    let run = send(&t, "in.csv", &["--rate", "200/s", "--business-unit-id", "0123456789abcdef01234567"]);
    run.expect_code(1).expect_no_panic().expect_stderr("404");
    assert!(server.accepted().is_empty());
    // The id is taken as given, so the first invitation finds out: the run stops there and
    // the record is complete, every row `failed` (404) or `skipped`.
    let results = check_one_line_per_row(&t, "in.results.csv", 3);
    for record in &results.records {
        match record["status"].as_str() {
            "failed" => assert_eq!(record["http_status"], "404", "{record:?}"),
            "skipped" => {}
            other => panic!("row {} is `{other}`\n{run}", record["row"]),
        }
    }
}

#[test]
fn missing_credentials_are_named_and_nothing_is_sent() {
    let server = Server::clean();
    for (missing, message) in [
        ("TRUSTPILOT_API_KEY", "TRUSTPILOT_API_KEY is not set."),
        ("TRUSTPILOT_API_SECRET", "TRUSTPILOT_API_SECRET is not set."),
        ("TRUSTPILOT_PASSWORD", "TRUSTPILOT_PASSWORD is not set."),
    ] {
        let t = server
            .env()
            .into_iter()
            .filter(|(key, _)| *key != missing)
            .fold(Test::new(), |t, (key, value)| t.env(key, value));
        t.write("in.csv", customers(3));
        send(&t, "in.csv", &["--rate", "200/s"]).expect_code(1).expect_no_panic().expect_stderr(message);
        assert!(!t.exists("in.results.csv"), "{missing}: {:?}", t.files());
    }
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn a_plain_http_url_that_is_not_loopback_is_refused_before_any_request() {
    let (server, t) = configured();
    let t = t.env("TRUSTPILOT_API_URL", "http://example.com");
    send(&t, "in.csv", &["--rate", "200/s"])
        .expect_code(1)
        .expect_no_panic()
        .expect_stderr("TRUSTPILOT_API_URL must start with https:// (http://example.com/)");
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    assert!(!t.exists("in.results.csv"), "{:?}", t.files());
}

/// Ctrl-C: SIGINT to a running `tp-invite`.
pub fn interrupt(child: &std::process::Child) {
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("run kill");
    assert!(kill.success(), "kill -INT {}: {kill}", child.id());
}

/// Waits for `child` for at most `limit`; kills it and fails if it is still running then.
#[track_caller]
fn wait_at_most(mut child: std::process::Child, limit: Duration) -> Run {
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("poll tp-invite").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("tp-invite was still running after {limit:?}\n{}", Run::wait(child));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Run::wait(child)
}

/// Waits until the sandbox has accepted `count` invitations (at most 10 seconds).
#[track_caller]
fn wait_for_acceptances(server: &Server, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.accepted().len() < count {
        assert!(Instant::now() < deadline, "the sandbox accepted fewer than {count} invitations within 10 seconds");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_row_that_failed_then_was_stopped_before_its_next_attempt_keeps_its_failure() {
    let server = Server::start(SandboxConfig { fail_rate: 1.0, ..SandboxConfig::default() });
    let t = Test::new().against(&server);
    t.write("in.csv", customers(1));
    // One request every 2 seconds: after the first attempt's 500, the second waits for its
    // slot, and Ctrl-C comes while it waits.
    let child = t.command(["send", "in.csv", "--rate", "1/2s", "--max-attempts", "3"]).spawn();
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.requests().iter().filter(|r| r.path.ends_with("/email-invitations")).count() < 1 {
        assert!(Instant::now() < deadline, "no invitation request within 10 seconds");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&child);
    Run::wait(child).expect_code(130).expect_no_panic();
    let results = t.table("in.results.csv");
    let line = results.row(1);
    assert_eq!((line["status"].as_str(), line["http_status"].as_str()), ("skipped", "500"), "{line:?}");
    assert!(line["error"].contains("interrupted") && line["error"].contains("500"), "{line:?}");
    let attempts = server.requests().iter().filter(|r| r.path.ends_with("/email-invitations")).count();
    assert_eq!(attempts, 1, "the second attempt never left");
}

#[test]
fn ctrl_c_stops_cleanly_with_a_complete_record_and_the_same_command_finishes() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("in.csv", customers(300));
    let child = t.command(["send", "in.csv", "--rate", "20/s"]).spawn();
    wait_for_acceptances(&server, 5);
    interrupt(&child);
    let run = Run::wait(child);
    run.expect_code(130)
        .expect_no_panic()
        .expect_stderr("Stopped: interrupted (Ctrl-C)")
        .expect_stderr_line("Next:    tp-invite send in.csv --rate 20/s");
    let results = check_one_line_per_row(&t, "in.results.csv", 300);
    let by_status = check_never_twice(&results, &acceptances([&server]));
    assert!(by_status["sent"] >= 5 && by_status["skipped"] > 200, "{by_status:?}");
    // Requests in flight were let finish: nothing is left `unknown`.
    assert_eq!(by_status.get("unknown"), None, "{by_status:?}");

    let sent = by_status["sent"];
    send(&t, "in.csv", &["--rate", "300/s"])
        .expect_code(0)
        .expect_stderr_line(&format!("300 rows: {} sent, {sent} already sent.", 300 - sent));
    let results = check_one_line_per_row(&t, "in.results.csv", 300);
    let by_status = check_never_twice(&results, &acceptances([&server]));
    assert_eq!((by_status["sent"], by_status["already_sent"]), (300 - sent, sent));
}

#[test]
fn secrets_never_appear_in_output_or_files() {
    // A successful send with the sandbox's demo credentials.
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("in.csv", "email,name,reference\nann@example.com,Ann,R-1\nbad,Bob,R-2\n");
    let mut runs = vec![send(&t, "in.csv", &["--rate", "200/s"])];
    runs[0].expect_code(3);
    let secrets = [sandbox::DEMO_API_KEY, sandbox::DEMO_API_SECRET, sandbox::DEMO_PASSWORD];
    let mut files = vec![(t.path().to_path_buf(), t.files())];

    // Failing sends with distinctive values: a wrong key and secret, then a wrong password.
    let wrong = ["key-Zq81Xv", "secret-Zq81Xv", "password-Zq81Xv"];
    let refused = Test::new()
        .against(&server)
        .env("TRUSTPILOT_API_KEY", wrong[0])
        .env("TRUSTPILOT_API_SECRET", wrong[1])
        .env("TRUSTPILOT_PASSWORD", wrong[2]);
    refused.write("in.csv", "email,name,reference\nann@example.com,Ann,R-1\nbad,Bob,R-2\n");
    runs.push(send(&refused, "in.csv", &["--rate", "200/s"]));
    let bad_password = Test::new().against(&server).env("TRUSTPILOT_PASSWORD", wrong[2]);
    bad_password.write("in.csv", "email,name,reference\nann@example.com,Ann,R-1\n");
    runs.push(send(&bad_password, "in.csv", &["--rate", "200/s"]));
    for run in &runs[1..] {
        run.expect_code(1).expect_stderr("Trustpilot did not accept the credentials");
    }
    files.push((refused.path().to_path_buf(), refused.files()));
    files.push((bad_password.path().to_path_buf(), bad_password.files()));

    for secret in secrets.iter().chain(&wrong) {
        for run in &runs {
            assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "{secret} shows\n{run}");
        }
        for (folder, names) in &files {
            for name in names {
                let text = String::from_utf8_lossy(&std::fs::read(folder.join(name)).unwrap()).into_owned();
                assert!(!text.contains(secret), "{secret} is in {name}");
            }
        }
    }
    // The files searched are the ones that matter.
    assert!(files[0].1.contains(&"in.results.csv".to_string()) && files[0].1.contains(&"in.errors.csv".to_string()));
    assert!(files[1].1.contains(&"in.errors.csv".to_string()));
}

#[test]
fn json_prints_one_object_with_the_counts() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("in.csv", "email,name,reference\nann@example.com,Ann,R-1\nbad,Bob,R-2\ncy@example.com,Cy,R-3\n");
    let run = send(&t, "in.csv", &["--rate", "200/s", "--json"]);
    run.expect_code(3);
    assert_eq!(run.stdout.lines().count(), 1, "{run}");
    let json = run.json();
    for (key, value) in [
        ("rows", 3),
        ("sent", 2),
        ("failed", 0),
        ("invalid", 1),
        ("duplicate", 0),
        ("skipped", 0),
        ("unknown", 0),
        ("ready", 0),
        ("exit_code", 3),
    ] {
        assert_eq!(json[key], value, "{key} in {json}");
    }
    assert_eq!(json["results"], "in.results.csv");
    assert_eq!(json["errors"], "in.errors.csv");
}

#[test]
fn sending_the_same_file_again_sends_nothing_twice_and_says_when_each_was_sent() {
    let (server, t) = configured();
    send(&t, "in.csv", &["--rate", "200/s"]).expect_code(0);
    let first = t.table("in.results.csv");
    send(&t, "in.csv", &["--rate", "200/s"])
        .expect_code(0)
        .expect_no_panic()
        .expect_stderr_line("0 rows to send (3 rows already sent before).")
        .expect_stderr_line("3 rows: 3 already sent.")
        .expect_stderr_line("Nothing is left to do.");
    let again = check_one_line_per_row(&t, "in.results.csv", 3);
    assert_eq!(again.column("status"), ["already_sent"; 3]);
    // The earlier send's time and correlation id, and where it came from.
    assert_eq!(again.column("sent_at"), first.column("sent_at"));
    assert_eq!(again.column("correlation_id"), first.column("correlation_id"));
    let input = std::fs::canonicalize(t.join("in.csv")).unwrap();
    assert_eq!(
        again.row(2)["error"],
        format!("Already invited on {} (from {}, row 2); not sent again.", first.row(2)["sent_at"], input.display())
    );
    assert_eq!(server.accepted().len(), 3);
    // Nothing to send: no token was asked for the second time.
    assert_eq!(server.token_requests(), 1);
}

#[test]
fn ctrl_c_during_a_long_429_pause_stops_at_once() {
    // The token takes the one request a minute; every invitation then meets a 429 asking to
    // wait 30 seconds.
    let server = Server::start(SandboxConfig {
        quota: Some((1, Duration::from_secs(60))),
        retry_after: Some(Duration::from_secs(30)),
        ..SandboxConfig::default()
    });
    let t = Test::new().against(&server);
    t.write("in.csv", customers(10));
    let child = t.command(["send", "in.csv", "--rate", "50/s", "--json"]).spawn();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.requests().iter().any(|r| r.status == 429) {
        assert!(Instant::now() < deadline, "no 429 within 10 seconds");
        std::thread::sleep(Duration::from_millis(20));
    }
    interrupt(&child);
    let run = wait_at_most(child, Duration::from_secs(10));
    run.expect_code(130).expect_no_panic();
    let json = run.json();
    assert_eq!((json["rows"].as_u64(), json["skipped"].as_u64()), (Some(10), Some(10)), "{json}");
    assert_eq!(json["exit_code"], 130, "{json}");
    assert_eq!(json["next"], "tp-invite send in.csv --rate 50/s", "{json}");
    let results = check_one_line_per_row(&t, "in.results.csv", 10);
    check_never_twice(&results, &acceptances([&server]));
}

#[test]
fn a_second_ctrl_c_quits_at_once_and_the_next_run_knows_what_was_in_flight() {
    // Slow answers, so the first Ctrl-C has requests in flight to wait for.
    let slow = Server::start(SandboxConfig { latency: Duration::from_secs(2), ..SandboxConfig::default() });
    let t = Test::new().against(&slow);
    t.write("in.csv", customers(20));
    let child = t.command(["send", "in.csv", "--rate", "200/s", "--concurrency", "4"]).spawn();
    let deadline = Instant::now() + Duration::from_secs(10);
    while slow.requests().iter().filter(|r| r.path.ends_with("/email-invitations")).count() < 4 {
        assert!(Instant::now() < deadline, "the requests did not leave within 10 seconds");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    interrupt(&child);
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&child);
    let run = wait_at_most(child, Duration::from_secs(10));
    run.expect_code(130)
        .expect_stderr("Stopping: no new rows are sent; waiting for the requests in flight.")
        .expect_stderr_line("tp-invite: quit at once; run the same command again to finish the batch.");
    // It did not wait for the answers: no report was put in place, the ledger knows the rest.
    assert!(!t.exists("in.results.csv"), "{:?}", t.files());

    let run = send(&t, "in.csv", &["--rate", "200/s", "--concurrency", "16"]);
    run.expect_code(4).expect_no_panic().expect_stderr_line(
        "4 requests of an earlier run that ended before Trustpilot answered are now `unknown` in the ledger: \
         check them in Trustpilot Business (the results file names each).",
    );
    let results = check_one_line_per_row(&t, "in.results.csv", 20);
    let by_status = check_never_twice(&results, &acceptances([&slow]));
    // The four requests in flight when it quit; the rows answered before are `already_sent`.
    assert_eq!(by_status["unknown"], 4, "{by_status:?}");
    let earlier = by_status.get("already_sent").copied().unwrap_or(0);
    assert_eq!(by_status["sent"] + earlier, 16, "{by_status:?}");
    run.expect_stderr_line(&format!(
        "20 rows: {} sent, {earlier} already sent, 4 unknown (may have been sent).",
        16 - earlier
    ));
    // Whether the four in flight were created is unknown (this sandbox drops a request whose
    // client went away); the second run did not send them again either way.
    let accepted = slow.accepted().len();
    assert!((16..=20).contains(&accepted), "{accepted} accepted");
    // The first run's half-written report was removed.
    assert_eq!(t.files(), ["in.csv", "in.results.csv"]);
}
