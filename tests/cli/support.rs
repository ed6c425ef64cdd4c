//! The harness: a temporary folder holding the input files, the real binary run in it with a
//! clean environment, and the files it wrote read back by column name.
//!
//! ```ignore
//! let t = Test::new();
//! t.write("in.csv", "email,name,reference\nann@example.com,Ann,R-1\n");
//! t.run(["send", "in.csv", "--dry-run"]).expect_code(0);
//! assert_eq!(t.table("in.results.csv").row(1)["status"], "ready");
//! ```

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};

/// The results file's header, exactly as SPEC section 3 fixes it.
pub const RESULTS_HEADER: &str = "row,line,status,attempts,http_status,error_code,error,correlation_id,sent_at,\
                                  email,name,reference,locale,tags,redirect_uri,preferred_send_time,template_id,\
                                  sender_email,sender_name,reply_to,location_id";

/// The error report's header, exactly as SPEC section 3 fixes it.
pub const ERRORS_HEADER: &str = "row,line,field,code,value,message";

/// The binary under test, as Cargo built it for this test crate.
pub fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_tp-invite"))
}

/// A temporary folder to run `tp-invite` in, removed when the test ends.
pub struct Test {
    dir: tempfile::TempDir,
    ledger_dir: tempfile::TempDir,
    /// Set for every command this test runs.
    env: Vec<(OsString, OsString)>,
}

impl Default for Test {
    fn default() -> Test {
        Test::new()
    }
}

impl Test {
    /// A new folder. Every command run in it uses a ledger of its own in another temporary
    /// folder ([`Test::ledger`]), never the user's.
    pub fn new() -> Test {
        let dir = tempfile::Builder::new().prefix("tp-invite-test.").tempdir().expect("create a temporary folder");
        let ledger_dir =
            tempfile::Builder::new().prefix("tp-invite-test-ledger.").tempdir().expect("create a temporary folder");
        let ledger = ledger_dir.path().join("ledger.sqlite");
        Test { dir, ledger_dir, env: vec![("TP_INVITE_LEDGER".into(), ledger.into())] }
    }

    /// The ledger file the test's commands use.
    pub fn ledger(&self) -> PathBuf {
        self.ledger_dir.path().join("ledger.sqlite")
    }

    /// Sets an environment variable for every command this test runs.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Test {
        self.env.push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// The folder; commands run in it, so relative paths name files in it.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file (text or raw bytes), creating the folders it is in.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> &Test {
        let path = self.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
        }
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self
    }

    /// Copies the repository's `sample-data/<name>` into the folder, under the same name.
    pub fn sample(&self, name: &str) -> &Test {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data").join(name);
        let bytes = std::fs::read(&source).unwrap_or_else(|e| panic!("read {}: {e}", source.display()));
        self.write(name, bytes)
    }

    pub fn exists(&self, name: &str) -> bool {
        self.join(name).exists()
    }

    pub fn read_bytes(&self, name: &str) -> Vec<u8> {
        let path = self.join(name);
        std::fs::read(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}; the folder holds {:?}", path.display(), self.files()))
    }

    /// A file the tool wrote, which must be UTF-8.
    pub fn read(&self, name: &str) -> String {
        String::from_utf8(self.read_bytes(name)).unwrap_or_else(|e| panic!("{name} is not UTF-8: {e}"))
    }

    /// A CSV file with a header (results, error report), its records by column name.
    pub fn table(&self, name: &str) -> Table {
        Table::read(&self.join(name))
    }

    /// The names in the folder (not in its subfolders), sorted; hidden files included, so a
    /// temporary file left behind shows.
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path())
            .expect("list the test folder")
            .map(|entry| entry.expect("list the test folder").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// `tp-invite <args>` in the folder, with the test's environment; add more with
    /// [`Cmd::env`], then [`Cmd::run`] or [`Cmd::spawn`].
    pub fn command<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(binary());
        command.current_dir(self.path()).args(args).stdin(Stdio::null());
        // A developer's real credentials must never reach a test, and the settings that
        // shorten waits are each test's own choice. A panic must show its usual hint.
        for (key, _) in std::env::vars_os() {
            let key_text = key.to_string_lossy();
            if key_text.starts_with("TRUSTPILOT_")
                || key_text.starts_with("TP_INVITE_")
                || key_text == "RUST_BACKTRACE"
                || key_text == "RUST_LIB_BACKTRACE"
            {
                command.env_remove(&key);
            }
        }
        command.env("NO_COLOR", "1");
        for (key, value) in &self.env {
            command.env(key, value);
        }
        let shown = std::iter::once("tp-invite".to_string())
            .chain(command.get_args().map(|a| shell_word(&a.to_string_lossy())))
            .collect::<Vec<_>>()
            .join(" ");
        Cmd { command, shown }
    }

    /// Runs `tp-invite <args>` to the end.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command(args).run()
    }
}

/// A command about to run.
pub struct Cmd {
    command: Command,
    /// The command line, for failure messages.
    shown: String,
}

impl Cmd {
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cmd {
        self.command.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Cmd {
        self.command.env_remove(key);
        self
    }

    /// Runs to the end, capturing stdout, stderr and the exit status.
    pub fn run(mut self) -> Run {
        let output = self.command.output().unwrap_or_else(|e| panic!("cannot run {}: {e}", binary().display()));
        Run::new(self.shown, &output)
    }

    /// Starts in the background (for tests that interrupt or kill it), stdout and stderr
    /// piped; collect them with [`Run::wait`].
    pub fn spawn(mut self) -> Child {
        self.command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary().display()))
    }
}

/// How a command ended and what it printed.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    shown: String,
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ {}", self.shown)?;
        writeln!(f, "exit: {}", self.status)?;
        writeln!(f, "--- stdout\n{}", self.stdout)?;
        write!(f, "--- stderr\n{}", self.stderr)
    }
}

impl Run {
    fn new(shown: String, output: &Output) -> Run {
        Run {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            shown,
        }
    }

    /// Waits for a command started with [`Cmd::spawn`].
    pub fn wait(child: Child) -> Run {
        let output = child.wait_with_output().expect("wait for tp-invite");
        Run::new("(started in the background)".to_string(), &output)
    }

    /// The exit code; `None` when a signal ended the process.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(self.code(), Some(code), "unexpected exit code\n{self}");
        self
    }

    /// Some line of stderr is exactly `line`.
    #[track_caller]
    pub fn expect_stderr_line(&self, line: &str) -> &Run {
        assert!(self.stderr.lines().any(|l| l == line), "no stderr line is exactly\n{line}\n{self}");
        self
    }

    #[track_caller]
    pub fn expect_stderr(&self, text: &str) -> &Run {
        assert!(self.stderr.contains(text), "stderr does not contain {text:?}\n{self}");
        self
    }

    #[track_caller]
    pub fn expect_stdout_contains(&self, text: &str) -> &Run {
        assert!(self.stdout.contains(text), "stdout does not contain {text:?}\n{self}");
        self
    }

    #[track_caller]
    pub fn expect_stderr_lacks(&self, text: &str) -> &Run {
        assert!(!self.stderr.contains(text), "stderr contains {text:?}\n{self}");
        self
    }

    #[track_caller]
    pub fn expect_no_output(&self) -> &Run {
        assert!(self.stdout.is_empty() && self.stderr.is_empty(), "expected no output\n{self}");
        self
    }

    /// The tool reported a problem rather than crashing: no panic, no backtrace hint.
    #[track_caller]
    pub fn expect_no_panic(&self) -> &Run {
        for text in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
            assert!(!self.stderr.contains(text) && !self.stdout.contains(text), "the tool crashed\n{self}");
        }
        self
    }

    /// stdout as one JSON value (with `--json`).
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not one JSON value: {e}\n{self}"))
    }
}

/// One record of a [`Table`]: values by column name (`record["status"]`).
pub type Record = BTreeMap<String, String>;

/// A CSV file with a header, parsed with the `csv` crate.
#[derive(Debug)]
pub struct Table {
    pub header: Vec<String>,
    pub records: Vec<Record>,
}

impl Table {
    /// Every record must have as many fields as the header.
    #[track_caller]
    pub fn read(path: &Path) -> Table {
        let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        let header: Vec<String> = reader
            .headers()
            .unwrap_or_else(|e| panic!("read the header of {}: {e}", path.display()))
            .iter()
            .map(str::to_string)
            .collect();
        let records = reader
            .records()
            .map(|record| {
                let record = record.unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
                header.iter().cloned().zip(record.iter().map(str::to_string)).collect()
            })
            .collect();
        Table { header, records }
    }

    /// The values of one column, top to bottom.
    #[track_caller]
    pub fn column(&self, name: &str) -> Vec<&str> {
        assert!(self.header.iter().any(|h| h == name), "no column {name:?} in {:?}", self.header);
        self.records.iter().map(|record| record[name].as_str()).collect()
    }

    /// The values of some columns, one tuple-like `Vec` per record: handy to compare rows,
    /// lines and codes at once.
    pub fn columns(&self, names: &[&str]) -> Vec<Vec<&str>> {
        self.records.iter().map(|record| names.iter().map(|name| record[*name].as_str()).collect()).collect()
    }

    /// The one record whose `row` is `row` (the results file has exactly one per row).
    #[track_caller]
    pub fn row(&self, row: u64) -> &Record {
        let row = row.to_string();
        let found: Vec<&Record> = self.records.iter().filter(|record| record["row"] == row).collect();
        assert_eq!(found.len(), 1, "expected one record for row {row}, found {found:?}");
        found[0]
    }
}

/// A word as a shell would need it, for showing command lines.
fn shell_word(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c)) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

// ---------------------------------------------------------------------------------------------
// The sandbox, for tests that send

/// A sandbox (the project's Trustpilot emulator) served from this test process on loopback,
/// with the runtime that drives it. Dropping it stops both.
pub struct Server {
    // Dropped before the runtime that serves it.
    sandbox: tp_invite::sandbox::Sandbox,
    _runtime: tokio::runtime::Runtime,
}

impl Server {
    #[track_caller]
    pub fn start(config: tp_invite::sandbox::SandboxConfig) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("start a runtime for the sandbox");
        let sandbox = runtime.block_on(tp_invite::sandbox::Sandbox::start(config, 0)).expect("start the sandbox");
        Server { sandbox, _runtime: runtime }
    }

    /// A sandbox without faults.
    pub fn clean() -> Server {
        Server::start(tp_invite::sandbox::SandboxConfig::default())
    }
}

impl std::ops::Deref for Server {
    type Target = tp_invite::sandbox::Sandbox;

    fn deref(&self) -> &Self::Target {
        &self.sandbox
    }
}

impl Test {
    /// Points every command at `server` with the demo credentials, and shortens the retry
    /// backoff so that faults do not slow the suite down.
    pub fn against(self, server: &Server) -> Test {
        server.env().into_iter().fold(self, |t, (key, value)| t.env(key, value)).env("TP_INVITE_BACKOFF_MS", "10")
    }
}

/// Waits until the sandbox has accepted `count` invitations (at most 20 seconds).
#[track_caller]
pub fn wait_for_acceptances(server: &Server, count: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while server.accepted().len() < count {
        assert!(std::time::Instant::now() < deadline, "fewer than {count} invitations were accepted within 20 seconds");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// An export of `rows` distinct, valid customers: `c<i>@example.com`, `Customer <i>`, `R-<i>`.
pub fn customers(rows: usize) -> String {
    let mut text = String::from("email,name,reference\n");
    for i in 1..=rows {
        text.push_str(&format!("c{i}@example.com,Customer {i},R-{i}\n"));
    }
    text
}

/// How many times the sandboxes accepted each (email, reference).
pub fn acceptances<'a>(servers: impl IntoIterator<Item = &'a Server>) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for server in servers {
        for accepted in server.accepted() {
            *counts.entry((accepted.email, accepted.reference)).or_insert(0) += 1;
        }
    }
    counts
}

/// The guarantees, row by row, of a results file against what the sandboxes accepted (over
/// every run so far): a `sent` or `already_sent` row was accepted exactly once, a `failed`,
/// `invalid`, `duplicate`, `excluded` or `skipped` one never, an `unknown` one at most once,
/// and nothing was accepted that the file does not hold. Returns the number of rows by status.
#[track_caller]
pub fn check_never_twice(results: &Table, accepted: &BTreeMap<(String, String), usize>) -> BTreeMap<String, usize> {
    let mut by_status = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for record in &results.records {
        let key = (record["email"].clone(), record["reference"].clone());
        let times = accepted.get(&key).copied().unwrap_or(0);
        let status = record["status"].as_str();
        let allowed = match status {
            "sent" | "already_sent" => times == 1,
            "unknown" => times <= 1,
            _ => times == 0,
        };
        assert!(allowed, "row {} is `{status}` but was accepted {times} times: {record:?}", record["row"]);
        seen.insert(key);
        *by_status.entry(status.to_string()).or_insert(0) += 1;
    }
    for (key, times) in accepted {
        assert!(seen.contains(key), "{key:?} was accepted {times} times but no row of the results holds it");
    }
    by_status
}

/// The results file holds exactly one line per row `1..=rows`, in row order, under the header.
#[track_caller]
pub fn check_one_line_per_row(t: &Test, name: &str, rows: usize) -> Table {
    let text = t.read(name);
    assert_eq!(text.lines().next(), Some(RESULTS_HEADER), "{name} has another header");
    let table = t.table(name);
    let numbers: Vec<String> = table.column("row").into_iter().map(str::to_string).collect();
    let expected: Vec<String> = (1..=rows).map(|row| row.to_string()).collect();
    assert_eq!(numbers, expected, "{name} is not one line per row in row order");
    table
}
