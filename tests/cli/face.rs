//! What the user reads, on every path (issue 10): one JSON object for every exit code, closed
//! pipes, `--quiet` with a fatal stop, the env file, standard input and FIFOs, progress in a
//! log, the problems in the summary, help texts (snapshots), completions, `--excel` through
//! `retry`, and `--version`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tp_invite::sandbox::{DEMO_BUSINESS_UNIT_ID, DEMO_BUSINESS_USER_ID, DEMO_DOMAIN, SandboxConfig};

use crate::send::interrupt;
use crate::support::{Run, Server, Test, binary, check_one_line_per_row, customers};

/// The keys every `send`/`retry` object holds (SPEC section 3).
const RUN_KEYS: [&str; 13] = [
    "rows",
    "sent",
    "already_sent",
    "failed",
    "invalid",
    "duplicate",
    "excluded",
    "skipped",
    "unknown",
    "ready",
    "results",
    "errors",
    "exit_code",
];

/// stdout is exactly one JSON object whose `exit_code` is the process's, with `error.code` on
/// exit 1 and 2; for a run, every documented key. Returns the object.
#[track_caller]
fn one_object(run: &Run, code: i32, is_run: bool) -> Value {
    run.expect_code(code).expect_no_panic();
    assert_eq!(run.stdout.lines().count(), 1, "one line of JSON\n{run}");
    let value = run.json();
    assert!(value.is_object(), "an object\n{run}");
    assert_eq!(value["exit_code"], code, "{run}");
    if code == 1 || code == 2 {
        let error = &value["error"];
        assert!(error["code"].as_str().is_some_and(|c| !c.is_empty()), "error.code\n{run}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "error.message\n{run}");
    }
    if is_run {
        for key in RUN_KEYS {
            assert!(value.get(key).is_some(), "{key}\n{run}");
        }
    }
    value
}

/// `tp-invite <args>` in the test's folder with exactly these variables (and the test's
/// ledger), so a test can wire stdin, stdout and stderr as it needs.
fn bare(t: &Test, args: &[&str], env: &[(&str, String)]) -> Command {
    let mut command = Command::new(binary());
    command.current_dir(t.path()).args(args).env_clear().env("TP_INVITE_LEDGER", t.ledger()).env("NO_COLOR", "1");
    for (key, value) in env {
        command.env(key, value);
    }
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

/// A pipe whose reader is already gone: every write to it fails (EPIPE).
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    writer.into()
}

#[test]
fn send_prints_one_object_for_every_exit_code() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("ok.csv", customers(2));
    t.write("bad.csv", "email,name,reference\nann@example.com,Ann,R-1\nbad,Bob,R-2\n");

    let run = t.run(["send", "ok.csv", "--json", "--rate", "200/s"]);
    // A log of --json runs still shows that they did not talk to Trustpilot (on stderr).
    run.expect_stderr("Not Trustpilot: sending to http://127.0.0.1:");
    let ok = one_object(&run, 0, true);
    assert_eq!((ok["sent"].as_u64(), ok["error"].is_null()), (Some(2), true), "{ok}");
    let invalid = one_object(&t.run(["send", "bad.csv", "--json", "--rate", "200/s"]), 3, true);
    assert_eq!(invalid["problems"][0]["code"], "email.invalid", "{invalid}");

    let missing = one_object(&t.run(["send", "no-such.csv", "--json"]), 1, true);
    assert_eq!(missing["error"]["code"], "input.not_found", "{missing}");
    let usage = one_object(&t.run(["send", "ok.csv", "--json", "--no-such-flag"]), 2, true);
    assert_eq!(usage["error"]["code"], "usage");
    assert_eq!(usage["error"]["message"], "unexpected argument '--no-such-flag' found; see tp-invite --help");
    one_object(&t.run(["send", "ok.csv", "--json", "--rate", "2/fortnight"]), 2, true);
    one_object(&t.run(["send", "ok.csv", "--json", "--limit", "0"]), 2, true);
    one_object(&t.run(["send", "-", "--json"]), 2, true);
    one_object(&t.run(["send", "--json"]), 2, true);

    // Missing credentials, before the file is even looked at.
    let bare = Test::new();
    let credentials = one_object(&bare.run(["send", "no-such.csv", "--json"]), 1, true);
    assert_eq!(credentials["error"]["code"], "credentials.missing", "{credentials}");

    // A fatal stop in the middle of a run (403: a business user id given as the unit).
    let forbidden = t.run(["send", "ok.csv", "--json", "--rate", "200/s", "--business-unit-id", DEMO_BUSINESS_USER_ID]);
    let forbidden = one_object(&forbidden, 1, true);
    assert_eq!(forbidden["error"]["code"], "api.forbidden", "{forbidden}");
    assert!(forbidden["error"]["message"].as_str().unwrap().contains("403"), "{forbidden}");
    assert_eq!(forbidden["rows"], 2, "the record is complete: {forbidden}");

    // Failed rows.
    let failing = Server::start(SandboxConfig { fail_rate: 1.0, ..SandboxConfig::default() });
    let f = Test::new().against(&failing);
    f.write("in.csv", customers(2));
    let failed = one_object(&f.run(["send", "in.csv", "--json", "--rate", "200/s", "--max-attempts", "1"]), 4, true);
    assert_eq!(failed["failed"], 2, "{failed}");
}

#[test]
fn ctrl_c_with_json_prints_one_object_whether_the_run_drains_or_quits_at_once() {
    // Slow answers, so that the first Ctrl-C has a request in flight to wait for.
    let slow = Server::start(SandboxConfig { latency: Duration::from_secs(1), ..SandboxConfig::default() });
    let t = Test::new().against(&slow);
    t.write("in.csv", customers(20));
    let child = t.command(["send", "in.csv", "--rate", "200/s", "--json"]).spawn();
    wait_for_invitation_requests(&slow, 1);
    interrupt(&child);
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&child);
    let run = Run::wait(child);
    let quit = one_object(&run, 130, true);
    assert_eq!(quit["error"]["code"], "interrupted", "{quit}");
    run.expect_stderr_line("tp-invite: quit at once; run the same command again to finish the batch.");
}

fn wait_for_invitation_requests(server: &Server, count: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.requests().iter().filter(|r| r.path.ends_with("/email-invitations")).count() < count {
        assert!(std::time::Instant::now() < deadline, "no invitation request within 10 seconds");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn retry_and_the_other_commands_print_one_object_for_every_exit_code() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("in.csv", customers(2));
    t.run(["send", "in.csv", "--rate", "200/s"]).expect_code(0);

    let nothing = one_object(&t.run(["retry", "in.results.csv", "--json"]), 0, true);
    assert_eq!(nothing["rows"], 2, "{nothing}");
    let missing = one_object(&t.run(["retry", "no.results.csv", "--json"]), 1, true);
    assert_eq!(missing["error"]["code"], "results.not_found");
    one_object(&t.run(["retry", "--json"]), 2, true);

    let ledger = one_object(&t.run(["ledger", "--json"]), 0, false);
    assert_eq!(ledger["scopes"][0]["business_unit_id"], DEMO_BUSINESS_UNIT_ID, "{ledger}");
    let forgot = one_object(&t.run(["ledger", "forget", "c1@example.com", "--json"]), 0, false);
    assert_eq!(forgot["forgotten"][0]["entries"], 1, "{forgot}");
    one_object(&t.run(["ledger", "settle", "nobody@example.com", "R-0", "--sent", "--json"]), 1, false);
    one_object(&t.run(["ledger", "export", "--json"]), 2, false);
    let export = one_object(&t.run(["ledger", "export", "--json", "--output", "all.csv"]), 0, false);
    assert_eq!(export["entries"], 1, "{export}");
    one_object(&t.run(["ledger", "--json", "--no-such-flag"]), 2, false);

    let templates = one_object(&t.run(["templates", "--json"]), 0, false);
    assert_eq!(templates["business_unit_id"], DEMO_BUSINESS_UNIT_ID, "{templates}");
    one_object(&t.run(["templates", "--json", "--business-unit-id", "000000000000000000000000"]), 1, false);
    one_object(&Test::new().run(["templates", "--json"]), 1, false);
    one_object(&t.run(["templates", "--json", "--domain", "not a domain"]), 2, false);

    let unit = one_object(&t.run(["business-unit", "https://www.example.com/reviews", "--json"]), 0, false);
    assert_eq!(
        (&unit["business_unit_id"], &unit["domain"]),
        (&Value::from(DEMO_BUSINESS_UNIT_ID), &Value::from(DEMO_DOMAIN))
    );
    one_object(&t.run(["business-unit", "no-such-shop.example", "--json"]), 1, false);
    one_object(&t.run(["business-unit", "--json"]), 2, false);
}

#[test]
fn a_closed_stdout_or_stderr_is_not_an_error() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("in.csv", "email,name,reference\nann@example.com,Ann,R-1\nbad,Bob,R-2\n");
    let env = server.env();

    // `send --json | true`: the run completes, its files are written, its exit code stands.
    let mut command = bare(&t, &["send", "in.csv", "--json", "--rate", "200/s"], &env);
    let run = Run::wait(command.stdout(closed_pipe()).spawn().expect("start tp-invite"));
    run.expect_code(3).expect_no_panic();
    check_one_line_per_row(&t, "in.results.csv", 2);
    assert!(t.exists("in.errors.csv"), "{:?}", t.files());

    // `send ... 2>&1 | head -1`: nothing can be said at all, the run still completes.
    let mut command = bare(&t, &["send", "in.csv", "--rate", "200/s"], &env);
    let status = command.stdout(closed_pipe()).stderr(closed_pipe()).status().expect("run tp-invite");
    assert_eq!(status.code(), Some(3), "{status}");
    assert_eq!(t.table("in.results.csv").column("status"), ["already_sent", "invalid"]);

    // `templates --sandbox | true`, help and completions into a closed pipe.
    for args in [&["templates", "--sandbox"][..], &["send", "--help"], &["completions", "bash"], &["--version"]] {
        let run = Run::wait(bare(&t, args, &[]).stdout(closed_pipe()).spawn().expect("start tp-invite"));
        run.expect_code(0).expect_no_panic();
    }
    // A usage error into a closed stderr.
    let status = bare(&t, &["send", "--no-such-flag"], &[]).stderr(closed_pipe()).status().expect("run");
    assert_eq!(status.code(), Some(2));
}

#[test]
fn quiet_still_says_in_one_line_why_a_run_stopped_or_could_not_start() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("in.csv", customers(3));
    let run = t.run(["send", "in.csv", "--quiet", "--rate", "200/s", "--business-unit-id", DEMO_BUSINESS_USER_ID]);
    run.expect_code(1).expect_no_panic();
    assert_eq!(run.stderr.lines().count(), 1, "one line\n{run}");
    assert!(run.stderr.starts_with("tp-invite: stopped: Trustpilot refused access with HTTP 403"), "{run}");
    check_one_line_per_row(&t, "in.results.csv", 3);

    let run = t.run(["send", "no-such.csv", "--quiet"]);
    run.expect_code(1);
    assert_eq!(
        run.stderr.lines().collect::<Vec<_>>(),
        [
            "tp-invite: cannot read 'no-such.csv': there is no such file. Check the path and the spelling of the file name."
        ]
    );

    // A run that completes says nothing with --quiet: its exit code tells.
    let run = t.run(["send", "in.csv", "--quiet", "--rate", "200/s"]);
    run.expect_code(0).expect_no_output();
}

#[test]
fn every_missing_setting_is_named_in_one_message_before_the_input_is_read() {
    let t = Test::new();
    let run = t.run(["send", "no-such.csv"]);
    run.expect_code(1).expect_stderr_line(
        "tp-invite: 4 settings are missing: TRUSTPILOT_API_KEY is not set: it holds your application's API key \
         (Trustpilot Business > Integrations > API); TRUSTPILOT_API_SECRET is not set: it holds your application's \
         API secret; no login is set: TRUSTPILOT_USERNAME and TRUSTPILOT_PASSWORD (a business user's login), or \
         TRUSTPILOT_BUSINESS_USER_ID (for the client-credentials grant); TRUSTPILOT_BUSINESS_UNIT_ID is not set: it \
         holds the id of the business unit to invite for, as `tp-invite business-unit example.com` prints it (or \
         give --domain). Set them in the environment (for example `export NAME=...`) or in a file given with \
         --env-file; credentials are never read from flags.",
    );
    assert_eq!(run.stderr.lines().count(), 1, "{run}");

    // retry: the settings before its results file is read (this one is not one).
    let t = Test::new().env("TRUSTPILOT_API_KEY", "k").env("TRUSTPILOT_BUSINESS_USER_ID", "u");
    t.write("in.results.csv", customers(1));
    t.run(["retry", "in.results.csv", "--domain", "example.com"])
        .expect_code(1)
        .expect_stderr("tp-invite: TRUSTPILOT_API_SECRET is not set.");
}

#[test]
fn a_base_url_that_is_not_trustpilots_is_said() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("in.csv", customers(1));
    let run = t.run(["send", "in.csv", "--rate", "200/s"]);
    run.expect_code(0).expect_stderr_line(&format!(
        "Not Trustpilot: asking {}/ for the access token and business units (set by TRUSTPILOT_API_URL); the \
         credentials are sent there.",
        server.api_url().trim_end_matches('/')
    ));
    run.expect_stderr("Not Trustpilot: sending to ");
}

/// An env file holding the sandbox's settings, with the given permissions.
fn env_file(t: &Test, server: &Server, mode: u32) -> String {
    use std::os::unix::fs::PermissionsExt;
    let mut text = String::from("# tp-invite settings\n");
    for (key, value) in server.env() {
        text.push_str(&format!("export {key}='{value}'\n"));
    }
    t.write("trustpilot.env", text);
    std::fs::set_permissions(t.join("trustpilot.env"), std::fs::Permissions::from_mode(mode)).unwrap();
    t.join("trustpilot.env").display().to_string()
}

#[test]
fn an_env_file_brings_the_settings_and_must_be_its_owners_alone() {
    let server = Server::clean();
    let t = Test::new();
    t.write("in.csv", customers(2));
    let path = env_file(&t, &server, 0o600);
    let run = t.run(["send", "in.csv", "--rate", "200/s", "--env-file", &path]);
    run.expect_code(0).expect_no_panic().expect_stderr("2 rows: 2 sent.");
    assert_eq!(server.accepted().len(), 2);

    // Readable by the group: refused, naming the file and chmod 600; nothing is read or sent.
    std::fs::set_permissions(t.join("trustpilot.env"), std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    let run = t.run(["send", "no-such.csv", "--env-file", &path, "--json"]);
    let refused = one_object(&run, 1, true);
    assert_eq!(refused["error"]["code"], "env_file.permissions");
    run.expect_stderr_line(&format!(
        "tp-invite: --env-file {path} is open to other users than its owner (its permissions are 640), and it \
         holds credentials. Run `chmod 600 {path}` and try again."
    ));

    // The file wins over a variable already set, and says so by name only.
    env_file(&t, &server, 0o600);
    let t = t.env("TRUSTPILOT_API_SECRET", "a-wrong-secret");
    let run = t.run(["send", "in.csv", "--rate", "200/s", "--env-file", &path]);
    run.expect_code(0)
        .expect_stderr_line(&format!(
            "Note: TRUSTPILOT_API_SECRET from --env-file {path} replaces the value set in the environment."
        ))
        .expect_stderr_lacks("a-wrong-secret");
}

#[test]
fn a_bad_env_file_line_is_named_by_its_number_and_never_shown() {
    use std::os::unix::fs::PermissionsExt;
    let t = Test::new();
    for (text, message) in [
        ("TRUSTPILOT_API_KEY=k\nhunter2-secret\n", "line 2: it is not KEY=VALUE, or a quote is not closed."),
        ("TRUSTPILOT_PASSWORD=\"hunter2$secret\"\n", "line 1: a $ outside single quotes"),
        ("\nTRUSTPILOT_APIKEY=hunter2-secret\n", "line 2: TRUSTPILOT_APIKEY is not a setting tp-invite reads"),
    ] {
        t.write("bad.env", text);
        std::fs::set_permissions(t.join("bad.env"), std::fs::Permissions::from_mode(0o600)).unwrap();
        t.run(["templates", "--env-file", "bad.env"])
            .expect_code(1)
            .expect_stderr(&format!("tp-invite: --env-file bad.env, {message}"))
            .expect_stderr_lacks("hunter2");
    }
    t.run(["business-unit", "example.com", "--env-file", "none.env"])
        .expect_code(1)
        .expect_stderr_line("tp-invite: cannot read --env-file none.env: there is no such file. Check the path.");
}

#[test]
fn standard_input_is_read_once_and_named_as_such() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    let env: Vec<(&str, String)> = server.env();
    let feed = |args: &[&str], input: &str| {
        let mut child = bare(&t, args, &env).stdin(Stdio::piped()).spawn().expect("start tp-invite");
        let mut stdin = child.stdin.take().expect("stdin");
        std::io::Write::write_all(&mut stdin, input.as_bytes()).expect("write the input");
        drop(stdin);
        Run::wait(child)
    };
    let run = feed(&["send", "-", "--results", "out.csv", "--rate", "200/s"], &customers(3));
    run.expect_code(0)
        .expect_no_panic()
        .expect_stderr("Reading standard input (UTF-8, comma-separated).")
        .expect_stderr_line("3 rows: 3 sent.");
    assert_eq!(server.accepted().len(), 3);
    assert_eq!(t.files(), ["out.csv"], "the copy of standard input is gone");

    let run = feed(&["send", "-", "--results", "out.csv", "--dry-run"], "");
    run.expect_code(1).expect_stderr_line(
        "tp-invite: 'standard input' is empty: it has no header row and no rows. Check that the export finished and \
         that this is the right file.",
    );
    assert_eq!(t.files(), ["out.csv"], "no copy is left after an error");

    t.run(["send", "-"]).expect_code(2).expect_stderr_line(
        "tp-invite: reading standard input (INPUT -) needs --results PATH: there is no input file to write the \
         results beside.",
    );
}

#[test]
fn a_device_or_a_binary_stream_is_refused_before_it_is_copied() {
    let t = Test::new();
    t.run(["send", "/dev/zero", "--dry-run", "--results", "out.csv"]).expect_code(1).expect_stderr_line(
        "tp-invite: cannot read '/dev/zero': it is a device, not a file. Give the path of the CSV file itself.",
    );
    // An endless binary stream on standard input: refused from its first bytes, while the
    // writer is still writing (the test would hang if the tool copied it whole).
    let mut child = bare(&t, &["send", "-", "--dry-run", "--results", "out.csv"], &[])
        .stdin(Stdio::piped())
        .spawn()
        .expect("start tp-invite");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        let chunk = [0u8; 64 * 1024];
        // Ends when tp-invite closes its end (EPIPE).
        while std::io::Write::write_all(&mut stdin, &chunk).is_ok() {}
    });
    let run = Run::wait(child);
    writer.join().unwrap();
    run.expect_code(1).expect_no_panic().expect_stderr(
        "tp-invite: 'standard input' does not look like a CSV text file: its first 8 KiB contain NUL bytes",
    );
    assert!(t.files().is_empty(), "nothing is left behind: {:?}", t.files());
}

#[test]
fn a_fifo_is_read_once() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    let made = Command::new("mkfifo").arg(t.join("in.fifo")).status().expect("run mkfifo");
    assert!(made.success());
    let fifo = t.join("in.fifo");
    let writer = std::thread::spawn(move || std::fs::write(fifo, customers(4)).expect("write the FIFO"));
    let run = t.run(["send", "in.fifo", "--results", "in.results.csv", "--rate", "200/s"]);
    writer.join().unwrap();
    run.expect_code(0).expect_stderr("Reading in.fifo (").expect_stderr_line("4 rows: 4 sent.");
    assert_eq!(server.accepted().len(), 4);
    assert_eq!(t.files(), ["in.fifo", "in.results.csv"]);
}

#[test]
fn a_log_gets_plain_progress_lines_unless_quiet() {
    let server = Server::start(SandboxConfig { latency: Duration::from_millis(20), ..SandboxConfig::default() });
    let t = Test::new().against(&server).env("TP_INVITE_PROGRESS_MS", "5");
    t.write("in.csv", customers(10));
    let run = t.run(["send", "in.csv", "--rate", "200/s", "--concurrency", "1"]);
    run.expect_code(0);
    let lines: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("Progress: ")).collect();
    assert!(!lines.is_empty(), "{run}");
    assert!(lines.iter().all(|l| l.contains(" of 10 rows (") && l.contains(" rows/")), "{lines:?}");

    // A retry's progress counts the rows it re-sends, not the lines it copies as they were.
    let t = Test::new().against(&server).env("TP_INVITE_PROGRESS_MS", "5");
    let mut record = format!("{}\n", crate::support::RESULTS_HEADER);
    for i in 1..=10 {
        let (status, code) = if i <= 8 { ("sent,1,202,", "") } else { ("failed,1,500,", "http.500") };
        record.push_str(&format!("{i},{},{status}{code},,,,c{i}@example.com,C {i},R-{i},,,,,,,,,\n", i + 1));
    }
    t.write("in.results.csv", &record);
    let run = t.run(["retry", "in.results.csv", "--rate", "200/s", "--concurrency", "1"]);
    run.expect_code(0).expect_stderr_line("10 rows: 10 sent.");
    let lines: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("Progress: ")).collect();
    assert!(!lines.is_empty(), "{run}");
    assert!(
        lines.iter().all(|l| ["Progress: 0 of 2 rows (", "Progress: 1 of 2 rows (", "Progress: 2 of 2 rows ("]
            .iter()
            .any(|start| l.starts_with(start))),
        "{lines:?}"
    );

    let t = Test::new().against(&server).env("TP_INVITE_PROGRESS_MS", "5");
    t.write("in.csv", customers(10));
    for flag in ["--quiet", "--json"] {
        t.run(["send", "in.csv", "--rate", "200/s", "--concurrency", "1", flag])
            .expect_code(0)
            .expect_stderr_lacks("Progress:");
    }
}

#[test]
fn the_summary_names_the_most_frequent_problems_with_an_example() {
    let t = Test::new();
    t.write(
        "in.csv",
        "email,name,reference\nann@example.com,Ann,R-1\njane@,Jane,R-2\nbob@example.com,,R-3\nx,Xavier,R-4\nann@example.com,Ann,R-1\n",
    );
    let run = t.run(["send", "in.csv", "--dry-run"]);
    run.expect_code(3);
    let lines: Vec<&str> =
        run.stderr.lines().filter(|l| l.starts_with("  ") && l.contains(": ") && l.contains(", e.g. row ")).collect();
    // The duplicate (row 5) is no problem: it is not among them.
    assert_eq!(lines.len(), 2, "{run}");
    assert!(lines[0].starts_with("  email.invalid: 2 rows, e.g. row 2 'jane@': "), "{run}");
    assert!(lines[1].starts_with("  name.required: 1 row, e.g. row 3 (empty): "), "{run}");
}

#[test]
fn excel_reports_round_trip_through_retry() {
    let failing = Server::start(SandboxConfig { fail_rate: 0.5, ..SandboxConfig::default() });
    let t = Test::new().against(&failing);
    let mut text = String::from("email;name;reference\n");
    for i in 1..=12 {
        text.push_str(&format!("c{i}@example.com;Customer {i};R-{i}\n"));
    }
    text.push_str("bad;Bad;R-13\n");
    t.write("in.csv", text);
    let run = t.run(["send", "in.csv", "--excel", "--rate", "500/s", "--concurrency", "1", "--max-attempts", "1"]);
    run.expect_code(4);
    for name in ["in.results.csv", "in.errors.csv"] {
        let bytes = t.read_bytes(name);
        assert!(bytes.starts_with("\u{feff}".as_bytes()), "{name} has no BOM");
        let header = String::from_utf8_lossy(&bytes[3..]).lines().next().unwrap_or_default().to_string();
        assert!(header.starts_with("row;line;"), "{name}: {header}");
    }
    let run = t.run(["retry", "in.results.csv", "--rate", "500/s", "--concurrency", "1", "--max-attempts", "40"]);
    run.expect_code(3).expect_no_panic();
    let bytes = t.read_bytes("in.results.csv");
    assert!(bytes.starts_with("\u{feff}row;line;status;".as_bytes()), "retry kept the layout");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let statuses: BTreeMap<&str, usize> = text.lines().skip(1).fold(BTreeMap::new(), |mut counts, line| {
        *counts.entry(line.split(';').nth(2).unwrap_or_default()).or_default() += 1;
        counts
    });
    assert_eq!(statuses, BTreeMap::from([("invalid", 1), ("sent", 12)]), "{text}");
}

#[test]
fn excel_reports_of_a_pipe_delimited_export_are_read_back_and_the_same_command_runs_again() {
    let server = Server::clean();
    let t = Test::new().against(&server);
    t.write("in.csv", "email|name|reference\nc1@example.com|One|R-1\nc2@example.com|Two|R-2\nbad|Bad|R-3\n");
    t.run(["send", "in.csv", "--excel", "--rate", "500/s", "--limit", "1"]).expect_code(3);
    assert!(t.read_bytes("in.results.csv").starts_with("\u{feff}row|line|status|".as_bytes()));
    // The hourly re-run of the same command: the reports it wrote are its own.
    t.run(["send", "in.csv", "--excel", "--rate", "500/s"])
        .expect_code(3)
        .expect_stderr_line("3 rows: 1 sent, 1 already sent, 1 invalid.");
    t.run(["retry", "in.results.csv"]).expect_code(3).expect_stderr_line("3 rows: 1 sent, 1 already sent, 1 invalid.");
    // An error report whose cells a spreadsheet quoted is still the tool's own.
    let quoted = "\"row\",\"line\",\"field\",\"code\",\"value\",\"message\"\n\"3\",\"4\",\"email\",\"email.invalid\",\"bad\",\"x\"\n";
    t.write("in.errors.csv", quoted);
    t.run(["send", "in.csv", "--dry-run"]).expect_code(3);
    // With --delimiter ':' the reports are written with ';', which they are read back in.
    t.write("colon.csv", "email:name:reference\nc1@example.com:One:R-1\n");
    t.run(["send", "colon.csv", "--delimiter", ":", "--excel", "--dry-run"]).expect_code(0);
    assert!(t.read_bytes("colon.results.csv").starts_with("\u{feff}row;line;status;".as_bytes()));
    assert_eq!(server.accepted().len(), 2);
}

#[test]
fn version_names_the_commit() {
    let run = Test::new().run(["--version"]);
    run.expect_code(0);
    let rest =
        run.stdout.strip_prefix(&format!("tp-invite {} (commit ", env!("CARGO_PKG_VERSION"))).unwrap_or_default();
    let commit = rest.strip_suffix(")\n").unwrap_or_default();
    assert!(commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())), "{run}");
}

#[test]
fn completions_for_every_shell() {
    let t = Test::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = t.run(["completions", shell]);
        run.expect_code(0).expect_no_panic();
        assert!(run.stdout.contains("tp-invite") && run.stdout.contains("send"), "{shell}\n{run}");
        assert!(run.stdout.contains("env-file"), "{shell}\n{run}");
    }
    t.run(["completions", "tcsh"]).expect_code(2).expect_stderr("tp-invite: invalid value 'tcsh'");
}

#[test]
fn usage_errors_have_the_one_prefix_and_say_what_to_do() {
    let t = Test::new();
    let run = t.run(["send", "in.csv", "--rate", "2/fortnight"]);
    run.expect_code(2);
    assert!(run.stderr.starts_with("tp-invite: invalid value '2/fortnight' for '--rate <N/UNIT>'"), "{run}");
    let run = t.run(["business-unit", "not a domain"]);
    run.expect_code(2).expect_stderr("is not a domain: write the shop's domain, e.g. example.com");
    // `tp-invite` alone: the help, on stderr, as a usage error.
    let run = t.run(Vec::<&str>::new());
    run.expect_code(2).expect_stderr("Usage: tp-invite <COMMAND>");
}

/// The help of each command, compared with its snapshot in tests/cli/snapshots/; run with
/// TP_INVITE_UPDATE_SNAPSHOTS=1 to write them after a deliberate change.
#[test]
fn help_texts_match_their_snapshots() {
    let t = Test::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/snapshots");
    let update = std::env::var_os("TP_INVITE_UPDATE_SNAPSHOTS").is_some();
    let commands: [&[&str]; 14] = [
        &[],
        &["send"],
        &["retry"],
        &["links"],
        &["ledger"],
        &["ledger", "export"],
        &["ledger", "forget"],
        &["ledger", "settle"],
        &["ledger", "import"],
        &["business-unit"],
        &["templates"],
        &["sandbox"],
        &["completions"],
        &["send", "-h"],
    ];
    let mut stale = Vec::new();
    for command in commands {
        let mut args: Vec<&str> = command.to_vec();
        if args.last() != Some(&"-h") {
            args.push("--help");
        }
        let run = t.command(&args).env("COLUMNS", "100").run();
        run.expect_code(0);
        let name = format!("{}.txt", if command.is_empty() { "tp-invite".to_string() } else { args.join(" ") });
        let path = dir.join(name.replace(' ', "_"));
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &run.stdout).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(run.stdout.as_str()) {
            stale.push(format!("{}:\n{}", path.display(), run.stdout));
        }
        if matches!(command.first(), Some(&"send" | &"retry" | &"templates")) {
            for variable in ["TRUSTPILOT_API_KEY", "TRUSTPILOT_API_URL", "TRUSTPILOT_BUSINESS_UNIT_ID"] {
                assert!(run.stdout.contains(variable), "{variable} in {args:?}");
            }
        }
        assert!(run.stdout.contains("Exit codes:") || command.len() == 2 && command[0] == "ledger", "{args:?}");
    }
    assert!(
        stale.is_empty(),
        "help texts differ from their snapshots (TP_INVITE_UPDATE_SNAPSHOTS=1 rewrites them):\n{}",
        stale.join("\n")
    );
}
