//! A misbehaving Trustpilot and absurd values, through the real binary (issue 11): answers that
//! may mean "created", secrets echoed back in every form, control characters, absurd
//! `Retry-After` and `--rate` values, and token renewals under a tight quota. Each test checks
//! what the sandbox received, not only what the tool printed.

use std::time::Duration;

use base64::Engine;
use tp_invite::sandbox::SandboxConfig;

use crate::support::{Run, Server, Test, acceptances, check_never_twice, check_one_line_per_row, customers};

/// `tp-invite send in.csv --rate 200/s <flags>`.
fn send(t: &Test, flags: &[&str]) -> Run {
    let mut args = vec!["send", "in.csv", "--rate", "200/s"];
    args.extend_from_slice(flags);
    t.run(args)
}

/// `tp-invite retry in.results.csv --rate 200/s <flags>`.
fn retry(t: &Test, flags: &[&str]) -> Run {
    let mut args = vec!["retry", "in.results.csv", "--rate", "200/s"];
    args.extend_from_slice(flags);
    t.run(args)
}

/// Everything the runs printed and every file left in the test's folder, as one text.
fn everything(t: &Test, runs: &[&Run]) -> String {
    let mut all = String::new();
    for run in runs {
        all.push_str(&format!("{run}\n"));
    }
    for name in t.files() {
        all.push_str(&format!("--- {name}\n{}\n", String::from_utf8_lossy(&t.read_bytes(&name))));
    }
    all
}

/// No form of any of the secrets, nor its first 6 characters, shows in `text`.
#[track_caller]
fn assert_no_secret(text: &str, secrets: &[String]) {
    if let Some(piece) = tp_invite::sandbox::leaked(text, secrets) {
        panic!("{piece} shows in:\n{text}");
    }
}

// ----- answers that may mean "created" -----

#[test]
fn a_504_after_the_invitation_was_created_is_unknown_and_never_sent_again() {
    let server = Server::start(SandboxConfig { timeout_rate: 1.0, ..SandboxConfig::default() });
    let t = Test::new().against(&server);
    t.write("in.csv", customers(5));
    let run = send(&t, &[]);
    run.expect_code(4).expect_no_panic().expect_stderr("5 unknown");
    let results = check_one_line_per_row(&t, "in.results.csv", 5);
    let by_status = check_never_twice(&results, &acceptances([&server]));
    assert_eq!(by_status.get("unknown"), Some(&5), "{by_status:?}\n{run}");
    for record in &results.records {
        assert_eq!(record["http_status"], "504", "{record:?}");
        assert!(record["error"].contains("It is not known whether the invitation was created."), "{record:?}");
    }
    // Each was created once: not retried automatically (the issue saw 15 for 5 rows).
    assert_eq!(server.accepted().len(), 5);
    assert_eq!(server.requests().iter().filter(|r| r.status == 504).count(), 5);

    // A retry without --include-unknown leaves them alone.
    let run = retry(&t, &[]);
    run.expect_no_panic();
    assert_ne!(run.code(), Some(0), "unknown rows still need a person\n{run}");
    assert_eq!(server.accepted().len(), 5, "{run}");
    check_never_twice(&t.table("in.results.csv"), &acceptances([&server]));
}

#[test]
fn a_redirect_answer_to_an_invitation_is_unknown_and_never_sent_again() {
    let server = Server::start(SandboxConfig { redirect_rate: 1.0, ..SandboxConfig::default() });
    let t = Test::new().against(&server);
    t.write("in.csv", customers(5));
    let run = send(&t, &[]);
    run.expect_no_panic();
    // The run may stop at the first redirect (every further one would be redirected too) or
    // go on; either way no row is `sent` or `failed`, and none is retried by `retry`.
    assert!(matches!(run.code(), Some(1) | Some(4)), "{run}");
    let results = check_one_line_per_row(&t, "in.results.csv", 5);
    let by_status = check_never_twice(&results, &acceptances([&server]));
    assert!(by_status.keys().all(|s| s == "unknown" || s == "skipped"), "{by_status:?}\n{run}");
    assert!(by_status.contains_key("unknown"), "{by_status:?}");
    for record in results.records.iter().filter(|r| r["status"] == "unknown") {
        assert_eq!(record["http_status"], "303", "{record:?}");
        assert!(record["error"].contains("a redirect to /v1/private/business-units/"), "{record:?}");
    }
    let sent = server.accepted().len();
    assert_eq!(sent, by_status["unknown"]);
    // Not followed: only the token and the invitations reached the sandbox.
    assert_eq!(server.requests().len(), 1 + sent);

    retry(&t, &[]).expect_no_panic();
    assert_eq!(server.accepted().len(), sent, "retry without --include-unknown re-sent a redirected row");
}

// ----- absurd Retry-After -----

#[test]
fn an_absurd_retry_after_stops_the_run_cleanly_without_panic() {
    for text in ["1e30", "99999999999999999999", "18446744073709551615", "Fri, 31 Dec 9999 23:59:59 GMT"] {
        // One request a minute: the token takes it, every invitation meets the 429.
        let config = SandboxConfig {
            quota: Some((1, Duration::from_secs(60))),
            retry_after_text: Some(text.to_string()),
            ..SandboxConfig::default()
        };
        let server = Server::start(config);
        let t = Test::new().against(&server);
        t.write("in.csv", customers(4));
        let run = send(&t, &["--json"]);
        run.expect_code(1).expect_no_panic();
        let json = run.json();
        assert_eq!((&json["skipped"], &json["sent"]), (&4.into(), &0.into()), "{text}\n{run}");
        let stopped = json["stopped"].as_str().unwrap_or_default();
        assert!(stopped.contains("(Retry-After), longer than a run waits"), "{text}\n{run}");
        let results = check_one_line_per_row(&t, "in.results.csv", 4);
        check_never_twice(&results, &acceptances([&server]));
        assert!(server.accepted().is_empty());
    }
}

#[test]
fn a_negative_past_or_unreadable_retry_after_counts_as_none() {
    for text in ["-5", "Thu, 01 Jan 1970 00:00:00 GMT", "soon"] {
        let config = SandboxConfig {
            quota: Some((1, Duration::from_secs(60))),
            retry_after_text: Some(text.to_string()),
            ..SandboxConfig::default()
        };
        let server = Server::start(config);
        let t = Test::new().against(&server).env("TP_INVITE_MAX_THROTTLE_MS", "1000");
        t.write("in.csv", customers(3));
        // The run backs off by itself, then stops once throttling outlasts its allowance.
        send(&t, &[])
            .expect_code(1)
            .expect_no_panic()
            .expect_stderr_line("3 rows: 3 skipped.")
            .expect_stderr("without a break, so the run stopped");
        assert!(server.accepted().is_empty(), "{text}");
    }
}

// ----- --rate and --quota -----

#[test]
fn absurd_rates_are_usage_errors() {
    let t = Test::new();
    t.write("in.csv", customers(1));
    for (rate, message) in [
        ("1/18446744073709551615s", "the window is longer than a day"),
        ("5/4611686018427387904min", "the window is longer than a day"),
        ("1/25h", "the window is longer than a day"),
        ("99999999999/s", "the number of requests must be at most 4294967295"),
        ("4000000000/s", "is more than a million requests a second"),
        ("0/s", "the rate must be at least 1 request per unit"),
    ] {
        let run = t.run(["send", "in.csv", "--dry-run", "--rate", rate]);
        run.expect_code(2).expect_no_panic().expect_stderr(&format!("'{rate}'")).expect_stderr(message);
        let run = t.run(["sandbox", "--quota", rate]);
        run.expect_code(2).expect_no_panic().expect_stderr(message);
    }
    assert!(!t.exists("in.results.csv"), "{:?}", t.files());
}

// ----- the quota, with short-lived tokens -----

/// The most requests that arrived within any `window`.
fn busiest(arrivals: &[Duration], window: Duration) -> usize {
    let mut most = 0;
    let mut start = 0;
    for end in 0..arrivals.len() {
        while arrivals[end] - arrivals[start] >= window {
            start += 1;
        }
        most = most.max(end - start + 1);
    }
    most
}

#[test]
fn token_renewals_under_a_tight_quota_meet_no_429_and_no_window_over_budget() {
    // Tokens live 2 s (renewed every 1.8 s), and the sandbox answers 429 beyond 20 requests
    // in any second, token requests included: exactly the budget of --rate 20/s.
    let config = SandboxConfig {
        token_lifetime: Duration::from_secs(2),
        quota: Some((20, Duration::from_secs(1))),
        ..SandboxConfig::default()
    };
    let server = Server::start(config);
    let t = Test::new().against(&server);
    t.write("in.csv", customers(120));
    let run = t.run(["send", "in.csv", "--rate", "20/s", "--concurrency", "4"]);
    run.expect_code(0).expect_no_panic().expect_stderr_line("120 rows: 120 sent.");
    check_never_twice(&check_one_line_per_row(&t, "in.results.csv", 120), &acceptances([&server]));

    let requests = server.requests();
    let throttled = requests.iter().filter(|r| r.status == 429).count();
    assert_eq!(throttled, 0, "{throttled} answers 429");
    let renewals = server.token_requests() - 1;
    assert!(renewals >= 2, "only {renewals} renewals: the test tested nothing");
    let arrivals: Vec<Duration> = requests.iter().map(|r| r.at).collect();
    assert!(busiest(&arrivals, Duration::from_secs(1)) <= 20, "a second held more than 20 requests");
}

// ----- secrets -----

#[test]
fn a_token_endpoint_that_echoes_the_request_shows_no_secret_anywhere() {
    let server = Server::start(SandboxConfig { echo_token_requests: true, ..SandboxConfig::default() });
    let (key, secret, password) = ("key-\"q/+ é1", "sec&=ret%20\\x", "pa ss+wörd\"&=%");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:{secret}"));
    let t = Test::new()
        .against(&server)
        .env("TRUSTPILOT_API_KEY", key)
        .env("TRUSTPILOT_API_SECRET", secret)
        .env("TRUSTPILOT_PASSWORD", password);
    t.write("in.csv", customers(3));
    let sending = send(&t, &[]);
    sending.expect_code(1).expect_no_panic().expect_stderr("Authorization: Basic [redacted]; body: grant_type=");
    // With --json too (whatever stdout then holds).
    let json = send(&t, &["--json"]);
    json.expect_code(1).expect_no_panic();
    let templates = t.run(["templates", "--json"]);
    templates.expect_code(1).expect_no_panic();
    let secrets: Vec<String> = [key, secret, password, &basic].iter().map(|s| s.to_string()).collect();
    assert_no_secret(&everything(&t, &[&sending, &json, &templates]), &secrets);
    assert!(server.accepted().is_empty());
}

#[test]
fn a_short_password_is_hidden_where_it_stands_alone() {
    let server = Server::start(SandboxConfig { echo_token_requests: true, ..SandboxConfig::default() });
    let t = Test::new().against(&server).env("TRUSTPILOT_PASSWORD", "pw");
    t.write("in.csv", customers(1));
    let run = send(&t, &[]);
    run.expect_code(1).expect_no_panic().expect_stderr("password=[redacted]").expect_stderr("password '[redacted]'");
    assert!(!run.stderr.contains("=pw") && !run.stderr.contains("'pw'"), "{run}");
}

#[test]
fn an_answer_that_echoes_the_token_leaves_no_part_of_it_in_any_cell() {
    let server = Server::start(SandboxConfig { echo_invitation_requests: true, ..SandboxConfig::default() });
    let t = Test::new().against(&server);
    // Names of 100 to 160 characters move the echoed token across the 300th character of
    // Trustpilot's details, where the tool clips them.
    let mut input = String::from("email,name,reference\n");
    for n in 100..=160 {
        input.push_str(&format!("c{n}@example.com,{},R-{n}\n", "N".repeat(n)));
    }
    t.write("in.csv", input);
    let run = send(&t, &["--json"]);
    run.expect_code(4).expect_no_panic();
    let results = check_one_line_per_row(&t, "in.results.csv", 61);
    assert!(results.column("status").iter().all(|s| *s == "failed"), "{run}");
    let cells = results.column("error").join("\n");
    assert!(cells.contains("Bearer [redacted]"), "{cells}");
    let tokens = server.issued_tokens();
    assert!(!tokens.is_empty());
    assert_no_secret(&everything(&t, &[&run]), &tokens);
    assert!(server.accepted().is_empty());
}

// ----- control and bidirectional characters -----

#[test]
fn control_and_bidi_characters_from_a_server_reach_no_terminal_and_no_cell() {
    // The name (bidi override, valid input) comes back in the invitation's 400.
    let server = Server::start(SandboxConfig { echo_invitation_requests: true, ..SandboxConfig::default() });
    let t = Test::new().against(&server);
    t.write("in.csv", "email,name,reference\nann@example.com,Ann\u{202e}gnp.exe,R-1\n");
    let run = send(&t, &["--json"]);
    run.expect_code(4).expect_no_panic();
    let results = t.table("in.results.csv");
    let error = &results.row(1)["error"];
    assert!(error.contains("Ann\\u{202e}gnp.exe"), "{error}");
    let said = format!("{}{}{error}", run.stdout, run.stderr);
    assert!(!said.contains('\u{202e}'), "{said}");

    // The username (an escape sequence and a bidi override) comes back from the token endpoint.
    let server = Server::start(SandboxConfig { echo_token_requests: true, ..SandboxConfig::default() });
    let t =
        Test::new().against(&server).env("TRUSTPILOT_USERNAME", "me\u{1b}[2J\u{1b}]0;owned\u{7}\u{202e}@example.com");
    t.write("in.csv", customers(1));
    for flags in [&[][..], &["--json"][..]] {
        let run = send(&t, flags);
        run.expect_code(1).expect_no_panic();
        let said = format!("{}{}", run.stdout, run.stderr);
        assert!(!said.chars().any(|c| c == '\u{1b}' || c == '\u{7}' || c == '\u{202e}'), "{said:?}");
        if flags.is_empty() {
            run.expect_stderr("username 'me\\u{1b}[2J\\u{1b}]0;owned\\u{7}\\u{202e}@example.com'");
        }
    }
}

// ----- settings -----

#[test]
fn a_secret_pasted_into_a_url_setting_is_never_printed_back() {
    let key = "k3y-0f-the-app-123";
    for (var, value) in [
        ("TRUSTPILOT_API_URL", "https://me:hunter2hunter2@api.example.com"),
        ("TRUSTPILOT_API_URL", "https://api.example.com/?apikey=k3y-0f-the-app-123"),
        ("TRUSTPILOT_INVITATIONS_API_URL", "ftp://example.com/k3y-0f-the-app-123"),
        ("TRUSTPILOT_INVITATIONS_API_URL", "k3y-0f-the-app-123"),
    ] {
        let server = Server::clean();
        let t = Test::new().against(&server).env("TRUSTPILOT_API_KEY", key).env(var, value);
        t.write("in.csv", customers(1));
        let run = send(&t, &["--json"]);
        run.expect_code(1).expect_no_panic().expect_stderr(var);
        let all = everything(&t, &[&run]);
        for secret in ["hunter2", "k3y-0f"] {
            assert!(!all.contains(secret), "{value}: {secret} shows in\n{all}");
        }
        assert!(server.requests().is_empty(), "{value}");
    }
}
