//! `business-unit`, `templates` and `sandbox`: the commands around sending.

use crate::support::{Server, Test};
use tp_invite::sandbox::{DEMO_BUSINESS_UNIT_ID, DEMO_DOMAIN};

#[test]
fn business_unit_prints_the_id_and_name_of_a_domain() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    let run = t.run(["business-unit", DEMO_DOMAIN]);
    run.expect_code(0).expect_no_panic();
    assert_eq!(run.stdout, format!("{DEMO_BUSINESS_UNIT_ID}\tExample Shop\n"), "{run}");
}

#[test]
fn business_unit_needs_only_the_api_key() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    let run = t
        .command(["business-unit", DEMO_DOMAIN])
        .env("TRUSTPILOT_API_SECRET", "")
        .env("TRUSTPILOT_USERNAME", "")
        .env("TRUSTPILOT_PASSWORD", "")
        .run();
    run.expect_code(0);
    assert!(run.stdout.starts_with(DEMO_BUSINESS_UNIT_ID), "{run}");
    assert_eq!(server.token_requests(), 0, "no token is needed to find a business unit");
}

#[test]
fn an_unknown_domain_is_a_clear_error() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.run(["business-unit", "no-such-shop.example"])
        .expect_code(1)
        .expect_no_panic()
        .expect_stderr("404")
        .expect_stderr("no-such-shop.example");
}

#[test]
fn business_unit_refuses_a_plain_http_url_to_another_host() {
    let t = Test::new().env("TRUSTPILOT_API_KEY", "k").env("TRUSTPILOT_API_URL", "http://api.example.com");
    t.run(["business-unit", "example.com"]).expect_code(1).expect_stderr("https");
}

#[test]
fn templates_lists_the_business_units_templates() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    let run = t.run(["templates"]);
    run.expect_code(0).expect_no_panic();
    let mut lines = run.stdout.lines();
    assert_eq!(
        lines.next().map(str::split_whitespace).map(Iterator::collect::<Vec<_>>),
        Some(vec!["ID", "LOCALE", "DEFAULT", "NAME"])
    );
    let rows: Vec<&str> = lines.collect();
    assert!(!rows.is_empty(), "{run}");
    assert_eq!(rows.iter().filter(|r| r.contains(" yes ")).count(), 1, "one default template\n{run}");

    let json = t.run(["templates", "--json"]);
    json.expect_code(0);
    let object = json.json();
    let list = object["templates"].as_array().expect("a JSON array of templates");
    assert_eq!(list.len(), rows.len());
    for template in list {
        for key in ["id", "name", "locale", "default"] {
            assert!(template.get(key).is_some(), "{key} in {template}");
        }
    }
}

#[test]
fn templates_of_an_unknown_business_unit_is_a_clear_error() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.run(["templates", "--business-unit-id", "000000000000000000000000"]).expect_code(1).expect_stderr("404");
}

#[test]
fn the_in_process_sandbox_answers_both_commands() {
    let t = Test::new();
    let run = t.run(["business-unit", DEMO_DOMAIN, "--sandbox"]);
    run.expect_code(0);
    assert!(run.stdout.starts_with(DEMO_BUSINESS_UNIT_ID), "{run}");
    t.run(["templates", "--sandbox"]).expect_code(0);
}

#[test]
fn the_standalone_sandbox_prints_what_to_export() {
    let t = Test::new();
    let mut child = t.command(["sandbox", "--port", "0"]).spawn();
    // It serves until Ctrl-C: read its banner, then stop it.
    let started = std::time::Instant::now();
    let mut banner = String::new();
    let stdout = child.stdout.take().expect("the sandbox's stdout");
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.expect("a line of the banner");
            let done = line.starts_with("export TRUSTPILOT_INVITATIONS_API_URL");
            lines.push(line);
            if done {
                break;
            }
        }
        lines
    });
    while !reader.is_finished() && started.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    crate::send::interrupt(&child);
    let _ = child.wait();
    for line in reader.join().expect("the banner") {
        banner.push_str(&line);
        banner.push('\n');
    }
    for variable in [
        "TRUSTPILOT_API_KEY",
        "TRUSTPILOT_API_SECRET",
        "TRUSTPILOT_USERNAME",
        "TRUSTPILOT_PASSWORD",
        "TRUSTPILOT_BUSINESS_UNIT_ID",
        "TRUSTPILOT_API_URL",
        "TRUSTPILOT_INVITATIONS_API_URL",
    ] {
        assert!(banner.contains(&format!("export {variable}=")), "{variable} missing from\n{banner}");
    }
    assert!(banner.contains("http://127.0.0.1:"), "{banner}");
}
