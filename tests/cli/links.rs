//! `tp-invite links`: one invitation link per valid row, made once (running again gives the
//! recorded link), never an email, checked against what the sandbox created (SPEC sections 1,
//! 5 and 7).

use std::collections::BTreeMap;

use tp_invite::sandbox::{Faults, SandboxConfig};

use crate::support::{RESULTS_HEADER, Server, Test, customers};

/// The links the sandbox created, by (email, reference): every URL it answered.
fn created(server: &Server) -> BTreeMap<(String, String), Vec<String>> {
    let mut links: BTreeMap<_, Vec<String>> = BTreeMap::new();
    for link in server.links() {
        links.entry((link.email, link.reference)).or_default().push(link.url);
    }
    links
}

/// (email, reference) → the `link` column of a results file, for the rows whose status is
/// one of `statuses`.
fn links_of(t: &Test, name: &str, statuses: &[&str]) -> BTreeMap<(String, String), String> {
    t.table(name)
        .records
        .iter()
        .filter(|r| statuses.contains(&r["status"].as_str()))
        .map(|r| ((r["email"].clone(), r["reference"].clone()), r["link"].clone()))
        .collect()
}

#[test]
fn links_makes_one_link_per_valid_row_and_sends_no_email() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    let mut input = customers(4);
    input.push_str("not-an-email,Broken,R-9\n");
    t.write("in.csv", input);

    let run = t.run(["links", "in.csv"]);
    run.expect_code(3).expect_stderr("4 given a new link").expect_stderr("1 invalid");

    assert!(server.accepted().is_empty(), "links sent an email invitation: {:?}", server.accepted());
    let made = created(&server);
    assert_eq!(made.len(), 4, "one link per valid row: {made:?}");
    assert!(made.values().all(|urls| urls.len() == 1), "a row got two links: {made:?}");

    // The results file is `<stem>.links.csv`, with the link Trustpilot answered on each row.
    assert!(t.exists("in.links.csv"), "files: {:?}", t.files());
    let text = t.read("in.links.csv");
    assert_eq!(text.lines().next(), Some(format!("{RESULTS_HEADER},link").as_str()));
    let written = links_of(&t, "in.links.csv", &["sent"]);
    let answered: BTreeMap<_, _> = made.into_iter().map(|(key, urls)| (key, urls[0].clone())).collect();
    assert_eq!(written, answered);
    let invalid = t.table("in.links.csv");
    assert_eq!(invalid.row(5)["status"], "invalid");
    assert_eq!(invalid.row(5)["link"], "");

    // The request used the link API's names, not the email invitation's.
    let body = &server.links()[0].body;
    assert!(body.get("referenceId").is_some() && body.get("email").is_some(), "{body}");
    assert!(body.get("consumerEmail").is_none() && body.get("referenceNumber").is_none(), "{body}");
}

#[test]
fn running_links_again_gives_the_recorded_links_and_creates_none() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("in.csv", customers(5));
    t.run(["links", "in.csv", "--quiet"]).expect_code(0);
    let first = links_of(&t, "in.links.csv", &["sent"]);
    assert_eq!(first.len(), 5);

    // Month two: the same five customers and two new ones, under the same file name.
    t.write("in.csv", customers(7));
    t.run(["links", "in.csv"]).expect_code(0).expect_stderr("2 given a new link, 5 given their link again");
    let made = created(&server);
    assert_eq!(made.len(), 7);
    assert!(made.values().all(|urls| urls.len() == 1), "a key got a second link: {made:?}");
    let again = links_of(&t, "in.links.csv", &["already_sent"]);
    assert_eq!(again, first, "the links given again are the ones made the first time");
    let table = t.table("in.links.csv");
    assert!(table.row(6)["link"].starts_with("https://"), "{:?}", table.row(6));

    // A dry run reads the same ledger: nothing to make, the links shown, no request.
    let before = server.requests().len();
    t.command(["links", "in.csv", "--dry-run", "--results", "dry.csv"])
        .env_remove("TRUSTPILOT_API_KEY")
        .run()
        .expect_code(0)
        .expect_stderr("7 given their link again");
    assert_eq!(server.requests().len(), before, "a dry run reached the server");
    assert_eq!(links_of(&t, "dry.csv", &["already_sent"]).len(), 7);
}

#[test]
fn a_link_is_not_an_email_invitation_nor_the_other_way_round() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("in.csv", customers(3));

    t.run(["send", "in.csv", "--quiet"]).expect_code(0);
    assert_eq!(server.accepted().len(), 3);
    // Invited by email already: a link is still made (it is another kind of key).
    t.run(["links", "in.csv", "--quiet"]).expect_code(0);
    assert_eq!(server.links().len(), 3);
    // And links do not stop the email invitations of a later file either.
    t.write("more.csv", customers(4));
    t.run(["send", "more.csv", "--quiet"]).expect_code(0);
    assert_eq!(server.accepted().len(), 4, "the email invitations sent: {:?}", server.accepted());
    t.run(["links", "more.csv", "--quiet"]).expect_code(0);
    assert_eq!(server.links().len(), 4);

    let ledger = t.run(["ledger"]);
    ledger.expect_code(0).expect_stdout_contains("4  email invitations sent").expect_stdout_contains("4  links made");
    // The ledger keeps each request as it was sent: a link's in the link API's names.
    t.run(["ledger", "export", "--output", "export.csv"]).expect_code(0);
    let export = t.table("export.csv");
    for entry in &export.records {
        let request: serde_json::Value = serde_json::from_str(&entry["request"]).expect("the request is JSON");
        match entry["kind"].as_str() {
            "link" => assert!(request.get("referenceId").is_some() && request.get("consumerEmail").is_none()),
            _ => assert!(request.get("referenceNumber").is_some() && request.get("referenceId").is_none()),
        }
    }
    assert_eq!(export.records.len(), 8);
}

#[test]
fn failed_links_are_made_by_retry_and_never_twice() {
    let server = Server::start(SandboxConfig { fail_rate: 1.0, token_limit: None, ..SandboxConfig::default() });
    let t = Test::new().against(&server);
    t.write("in.csv", customers(6));
    t.run(["links", "in.csv", "--max-attempts", "1", "--quiet"]).expect_code(4);
    assert!(server.links().is_empty());
    let table = t.table("in.links.csv");
    assert!(table.column("status").iter().all(|s| *s == "failed"), "{:?}", table.column("status"));

    server.set_faults(Faults::NONE);
    t.run(["retry", "in.links.csv"]).expect_code(0).expect_stderr("6 given a new link");
    let made = created(&server);
    assert_eq!(made.len(), 6);
    assert!(made.values().all(|urls| urls.len() == 1));
    let written = links_of(&t, "in.links.csv", &["sent"]);
    assert_eq!(written.len(), 6);
    assert!(server.accepted().is_empty(), "retry of a links file sent an email invitation");

    // Nothing left: a second retry and a second links run make nothing.
    t.run(["retry", "in.links.csv"]).expect_code(0);
    t.run(["links", "in.csv", "--quiet"]).expect_code(0);
    assert_eq!(server.links().len(), 6);
}

#[test]
fn a_link_whose_answer_was_lost_is_unknown_and_not_made_again() {
    let server = Server::start(SandboxConfig { drop_rate: 1.0, token_limit: None, ..SandboxConfig::default() });
    let t = Test::new().against(&server);
    t.write("in.csv", customers(2));
    t.run(["links", "in.csv", "--quiet"]).expect_code(4);
    assert_eq!(server.links().len(), 2, "the sandbox made the links and dropped the answers");
    let table = t.table("in.links.csv");
    assert_eq!(table.column("status"), ["unknown", "unknown"]);

    server.set_faults(Faults::NONE);
    t.run(["links", "in.csv", "--quiet"]).expect_code(4);
    assert_eq!(server.links().len(), 2, "an unknown link was made again without being asked");
}

#[test]
fn links_json_and_refused_options() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("in.csv", customers(2));
    let run = t.run(["links", "in.csv", "--json"]);
    run.expect_code(0);
    let json = run.json();
    assert_eq!(json["sent"], 2, "{json}");
    assert!(json["results"].as_str().is_some_and(|p| p.ends_with("in.links.csv")), "{json}");

    // Options that mean nothing for a link are not offered.
    for flag in [["--products", ""], ["--template-id", "abc"], ["--send-after", "3d"], ["--sender-name", "Shop"]] {
        let args: Vec<&str> =
            ["links", "in.csv"].into_iter().chain(flag.into_iter().filter(|s| !s.is_empty())).collect();
        t.run(args).expect_code(2).expect_stderr(flag[0]).expect_no_panic();
    }
    assert_eq!(server.links().len(), 2);
}
