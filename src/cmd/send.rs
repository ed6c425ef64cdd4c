//! `tp-invite send`: validate a customer export, then send every valid row the ledger does
//! not already hold (or, with `--dry-run`, only say what would be sent).
//!
//! A send reads the file twice: the first pass checks every row (so a file broken half-way
//! down stops the run before anything is sent), writes the error report and counts what is
//! left to send; the second feeds the workers. Both ask the ledger about rows in batches.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::cmd::{
    Bound, Skipped, bind_ledger, check_error_report_path, check_output_path, finish_summary, resolve_link,
};
use crate::config::SendConfig;
use crate::errln;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::input::{Input, InputError};
use crate::journal::{Both, Job, Journal, Kind, Prior, Status};
use crate::ledger::writer::LedgerJournal;
use crate::ledger::{Key, Ledger, Scope, ScopeId};
use crate::record::background::{BackgroundWriter, LedgerView};
use crate::record::errors::CodeCount;
use crate::record::report::{Placement, Report, excluded_line, not_attempted_line, prior_line, refused_line};
use crate::record::results::Layout;
use crate::record::{ErrorReport, ResultsWriter};
use crate::rows::{Exclusion, Plan, Rules, Screen};
use crate::send::budget::Budget;
use crate::send::interrupts::EarlyInterrupts;
use crate::send::pipeline::Running;
use crate::send::progress::Progress;
use crate::send::{Sender, Stop, not_attempted};
use crate::summary::{Count, Summary};
use crate::validate::{Checked, Seen, Validator};

/// Valid rows are looked up in the ledger this many at a time.
const LOOKUP_BATCH: usize = 256;

pub fn run(mut config: SendConfig) -> Result<Exit> {
    let runtime = crate::cmd::runtime()?;
    let interrupts = EarlyInterrupts::start(&runtime);
    check_error_report_path(&config.errors)?;
    check_output_path(&config.results, "--results")?;
    let rules = std::mem::take(&mut config.rules);
    if config.dry_run {
        let source = Source::prepare(&config)?;
        return dry_run(&config, &source, rules, &interrupts);
    }
    let budget = Arc::new(Budget::new(&config.sending.rates));
    // The settings are checked before the file is read, so a missing variable is said at once.
    // What the run talks to is said with --json too (on stderr): a cron log shows it.
    let api = runtime.block_on(crate::cmd::open_api(&config.sending, budget.clone(), config.output.quiet))?;
    let source = Source::prepare(&config)?;
    let input = open_input(&config, &source)?;
    let plan = plan(&config, &source, rules, &input)?;
    let layout = layout(&config, &input, &plan);
    refuse_foreign_results(&config.results)?;
    let unit = runtime.block_on(async {
        tokio::select! {
            unit = crate::cmd::resolve_unit(&api, &config.sending, quiet(&config)) => unit,
            () = interrupts.pressed() => Err(Error::Interrupted),
        }
    })?;
    let scope = Scope { api_url: api.client.endpoints().invitations.to_string(), business_unit_id: unit.id };
    let mut bound = bind_ledger(
        &config.ledger,
        config.sending.sandbox,
        scope,
        config.sending.domain.as_deref(),
        &interrupts,
        quiet(&config),
    )?;

    // Every row is checked before anything is sent.
    let (pending, plan) = check_all(&config, &source, input, plan, layout, &mut bound, &interrupts)?;
    if !quiet(&config) {
        errln!("{}.", pending.describe(config.kind));
    }
    if pending.to_send > 0 {
        runtime.block_on(async {
            tokio::select! {
                done = crate::cmd::authenticate(&api, quiet(&config)) => done,
                () = interrupts.pressed() => Err(Error::Interrupted),
            }
        })?;
    }
    // From here on, Ctrl-C lets the requests in flight finish.
    interrupts.stop();
    runtime.block_on(send(config, source, plan, layout, api, bound, budget, pending))
}

/// The run's rules tied to the file: with `--products`, a first pass gathers the orders'
/// line items. The mapping is said before the run (also when the rules do not fit the file),
/// with the columns the rules read.
fn plan(config: &SendConfig, source: &Source, rules: Rules, input: &Input) -> Result<Plan> {
    let skip_columns: Vec<String> = rules.skip.iter().map(|rule| rule.column().to_string()).collect();
    let planned = (|| {
        let orders = match rules.products {
            Some(_) => Some(crate::rows::gather_orders(source.open(config)?, config.defaults.clone())?),
            None => None,
        };
        Plan::new(rules, input.mapping(), orders)
    })();
    if !quiet(config) {
        say_mapping(config, input, planned.as_ref().ok(), &skip_columns);
    }
    planned
}

/// Prints the mapping, with the columns the rules read besides the fields (the date of
/// `--send-after`, the columns of `--skip-where`), so that they are not said to be ignored.
fn say_mapping(config: &SendConfig, input: &Input, plan: Option<&Plan>, skip_columns: &[String]) {
    let mapping = input.mapping();
    let mut read: Vec<(String, Vec<usize>)> = Vec::new();
    if let Some(column) = plan.and_then(Plan::date_column) {
        let found = mapping.find_column(column);
        let shown = found.map_or_else(|| format!("\"{column}\""), |i| mapping.column_text(i, true));
        read.push((
            format!("  send time <- {shown} (the order's date, for --send-after)"),
            found.into_iter().collect(),
        ));
    }
    // The plan found each of them.
    let skip: Vec<usize> = match plan {
        Some(_) => skip_columns.iter().filter_map(|name| mapping.find_column(name)).collect(),
        None => Vec::new(),
    };
    let mut names: Vec<String> = Vec::new();
    for &i in &skip {
        let name = mapping.column_text(i, true);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if !names.is_empty() {
        read.push((format!("  read by --skip-where: {}", names.join(", ")), skip));
    }
    errln!(
        "Reading {} ({}, {}-separated). Columns:\n{}",
        config.shown_input(),
        input.encoding_name(),
        delimiter_name(input.delimiter()),
        mapping.describe_reading(&read).trim_end()
    );
}

/// The input as the run reads it: the file itself, or a copy of standard input (or of a
/// FIFO) in an owner-only temporary file beside the results, since a send reads its input
/// twice and a pipe can be read once. The copy is streamed (memory does not grow with the
/// input), named by what the user gave in every message, and removed when the run ends.
struct Source {
    /// What to open.
    path: PathBuf,
    naming: Naming,
    /// The copy: removed when dropped, so also when the run stops on an error.
    _copy: Option<tempfile::TempPath>,
}

/// How messages name the input when it is read from a copy.
#[derive(Clone, Default)]
struct Naming {
    /// The copy's path, as messages would show it, and what to show instead.
    copy: Option<(String, String)>,
}

impl Naming {
    /// An error about the copy, told about the input the user gave.
    fn apply(&self, mut error: InputError) -> InputError {
        let Some((copy, shown)) = &self.copy else { return error };
        let name = |path: &mut PathBuf| *path = PathBuf::from(shown);
        let fix = |text: &mut String| *text = text.replace(copy.as_str(), shown);
        match &mut error {
            InputError::Empty { path } => name(path),
            InputError::Unreadable { path, reason: text }
            | InputError::MissingColumns { path, message: text, .. }
            | InputError::UnknownMap { path, message: text, .. }
            | InputError::Csv { path, detail: text, .. } => {
                name(path);
                fix(text);
            }
            InputError::Encoding { path, detail, hint, .. } => {
                name(path);
                fix(detail);
                fix(hint);
            }
        }
        error
    }
}

/// A character or block device (`/dev/zero`, a disk), which no export is.
#[cfg(unix)]
fn is_device(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_char_device() || meta.file_type().is_block_device()
}

#[cfg(not(unix))]
fn is_device(_: &std::fs::Metadata) -> bool {
    false
}

impl Source {
    fn prepare(config: &SendConfig) -> Result<Source> {
        let given = &config.input;
        let special = |meta: std::fs::Metadata| !meta.is_file() && !meta.is_dir();
        if !config.stdin && !std::fs::metadata(given).is_ok_and(special) {
            return Ok(Source { path: given.clone(), naming: Naming::default(), _copy: None });
        }
        let shown = config.shown_input();
        let terminal = || std::fs::File::open(given).is_ok_and(|file| std::io::IsTerminal::is_terminal(&file));
        if !config.stdin && std::fs::metadata(given).is_ok_and(|meta| is_device(&meta)) && !terminal() {
            // /dev/zero, /dev/urandom, a disk: endless or not a file at all.
            return Err(InputError::Unreadable {
                path: given.clone(),
                reason: "it is a device, not a file. Give the path of the CSV file itself.".to_string(),
            }
            .into());
        }
        if config.stdin && std::io::IsTerminal::is_terminal(&std::io::stdin()) && !quiet(config) {
            errln!("Reading standard input from the terminal: paste the rows, then press Ctrl-D.");
        }
        let unreadable = |e: std::io::Error| InputError::Unreadable {
            path: PathBuf::from(&shown),
            reason: format!("{e}. Check what writes to it, then run again."),
        };
        let mut reader: Box<dyn std::io::Read> = match config.stdin {
            true => Box::new(std::io::stdin().lock()),
            false => Box::new(std::fs::File::open(given).map_err(unreadable)?),
        };
        // What is clearly not text is refused from its first bytes, before the rest is copied.
        let mut head = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(&mut reader, 8 * 1024), &mut head).map_err(unreadable)?;
        crate::input::decode::refuse_binary_start(Path::new(&shown), &head, config.input_options.encoding)?;
        let (mut file, copy) = crate::record::results::temp_beside(&config.results)?;
        file.write_all(&head)
            .and_then(|()| std::io::copy(&mut reader, &mut file))
            .and_then(|_| file.flush())
            .map_err(unreadable)?;
        let naming = Naming { copy: Some((copy.display().to_string(), shown)) };
        Ok(Source { path: copy.to_path_buf(), naming, _copy: Some(copy) })
    }

    fn open(&self, config: &SendConfig) -> Result<Input> {
        Input::open(&self.path, &config.input_options).map_err(|e| self.naming.apply(e).into())
    }
}

/// How the reports are written: with `--excel`, a byte order mark and the input's delimiter;
/// with `--products`, a column of the SKUs sent.
fn layout(config: &SendConfig, input: &Input, plan: &Plan) -> Layout {
    let columns = Layout {
        link: config.kind == Kind::Link,
        products: plan.products().is_some(),
        rehearsal: config.sending.sandbox,
        ..Layout::default()
    };
    match config.output.excel {
        // Another delimiter given with --delimiter: `;`, which a European Excel opens.
        true => {
            let delimiter = Some(input.delimiter()).filter(|d| crate::record::DELIMITERS.contains(d)).unwrap_or(b';');
            Layout { delimiter, bom: true, ..columns }
        }
        false => columns,
    }
}

fn quiet(config: &SendConfig) -> bool {
    config.output.quiet || config.output.json
}

/// Refuses to put a report over a file that is not one (a customer export, say).
fn refuse_foreign_results(results: &Path) -> Result<()> {
    if results.is_file() {
        crate::record::results::ResultsReader::open(results)?;
    }
    Ok(())
}

/// The input, its mapping worked out ([`plan`] prints it, with the columns the rules read).
fn open_input(config: &SendConfig, source: &Source) -> Result<Input> {
    source.open(config)
}

fn delimiter_name(delimiter: u8) -> String {
    match delimiter {
        b',' => "comma".to_string(),
        b';' => "semicolon".to_string(),
        b'\t' => "tab".to_string(),
        b'|' => "pipe".to_string(),
        other => format!("'{}'", other as char),
    }
}

fn validator(config: &SendConfig) -> Validator {
    Validator::new(config.defaults.clone())
}

/// What reading the file did that the user should know: values reduced (emails to their
/// address, references without `#` or `'`) and lines skipped as a report's framing.
fn reading_notes(notes: &crate::validate::Notes, input: &Input) -> Vec<String> {
    let mut lines = notes.lines();
    let skipped = input.skipped_lines();
    if let Some(first) = skipped.first() {
        let count = input.skipped_count();
        let more = match count.saturating_sub(skipped.len() as u64) {
            0 => String::new(),
            n => format!(" (and {n} more)"),
        };
        let list: Vec<String> = skipped.iter().take(3).map(|line| line.describe()).collect();
        let rest =
            if skipped.len() > 3 && more.is_empty() { format!(" (and {} more)", skipped.len() - 3) } else { more };
        lines.push(format!(
            "Skipped {} that {} not customers: {}{rest}.",
            Count(count, "line"),
            if count == 1 { "is" } else { "are" },
            if list.len() == 1 { first.describe() } else { list.join("; ") }
        ));
    }
    lines
}

/// The input file as the ledger will name it: an absolute path (or "standard input").
fn origin(config: &SendConfig) -> String {
    match config.stdin {
        true => config.shown_input(),
        false => std::path::absolute(&config.input).unwrap_or_else(|_| config.input.clone()).display().to_string(),
    }
}

/// What the first pass found.
#[derive(Debug, Default)]
struct Pending {
    /// Rows this run will send (at most `--limit`).
    to_send: u64,
    already_sent: u64,
    unknown: u64,
    /// Valid rows the limit leaves for later.
    beyond_limit: u64,
    /// Valid rows the user's rules leave out.
    excluded: u64,
    /// What reading the file did (see [`reading_notes`]), and the rules.
    notes: Vec<String>,
    /// The error report's problems by code.
    problems: Vec<CodeCount>,
}

impl Pending {
    fn describe(&self, kind: Kind) -> String {
        let (to_send, before) = match kind {
            Kind::Email => ("to send", "already sent before"),
            Kind::Link => ("to make a link for", "with a link already"),
        };
        let mut text = format!("{} {to_send}", Count(self.to_send, "row"));
        let mut also = Vec::new();
        if self.already_sent > 0 {
            also.push(format!("{} {before}", Count(self.already_sent, "row")));
        }
        if self.unknown > 0 {
            also.push(format!("{} whose earlier outcome is unknown", Count(self.unknown, "row")));
        }
        if self.beyond_limit > 0 {
            also.push(format!("{} left for later by --limit", Count(self.beyond_limit, "row")));
        }
        if self.excluded > 0 {
            also.push(format!("{} not invited by your rules", Count(self.excluded, "row")));
        }
        if !also.is_empty() {
            text.push_str(&format!(" ({})", also.join(", ")));
        }
        text
    }
}

/// One row, checked and (when valid) looked up in the ledger.
struct Row {
    row: u64,
    line: u64,
    checked: Checked,
    /// Why the user's rules leave a valid row out.
    exclusion: Option<Exclusion>,
    /// What the ledger holds for a valid row's key.
    prior: Option<Prior>,
}

/// The rows of the input in order, checked and screened by the run's rules, the valid ones
/// looked up in the ledger in batches.
struct CheckedRows {
    input: Input,
    naming: Naming,
    validator: Validator,
    plan: Plan,
    screen: Screen,
    /// What each row's request asks (the ledger keeps links apart).
    kind: Kind,
    ledger: Ledger,
    scope: ScopeId,
    ready: VecDeque<Row>,
    checked: Checked,
    done: bool,
}

impl CheckedRows {
    fn new(
        source: &Source,
        input: Input,
        plan: Plan,
        config: &SendConfig,
        ledger: Ledger,
        scope: ScopeId,
    ) -> CheckedRows {
        CheckedRows {
            input,
            naming: source.naming.clone(),
            validator: validator(config).with_products(plan.products().is_some()),
            plan,
            screen: Screen::default(),
            kind: config.kind,
            ledger,
            scope,
            ready: VecDeque::new(),
            checked: Checked::default(),
            done: false,
        }
    }

    fn next(&mut self) -> Result<Option<Row>> {
        if self.ready.is_empty() && !self.done {
            self.fill()?;
        }
        Ok(self.ready.pop_front())
    }

    /// Reads rows until [`LOOKUP_BATCH`] of them are valid (or the file ends), and looks
    /// those up in one query.
    fn fill(&mut self) -> Result<()> {
        let mut valid = Vec::new();
        while valid.len() < LOOKUP_BATCH {
            let Some(record) = self.input.next_record().map_err(|e| self.naming.apply(e))? else {
                self.done = true;
                break;
            };
            let (row, line) = (record.row(), record.line());
            self.validator.check(&record, &mut self.checked);
            let exclusion =
                self.plan.apply(&mut self.screen, &record, &mut self.checked, Some((&mut self.ledger, self.scope)))?;
            if self.checked.is_valid() && exclusion.is_none() {
                valid.push(self.ready.len());
            }
            self.ready.push_back(Row { row, line, checked: self.checked.clone(), exclusion, prior: None });
        }
        if valid.is_empty() {
            return Ok(());
        }
        let keys: Vec<Key> = valid.iter().map(|&i| Key::of(self.kind, &self.ready[i].checked.invitation)).collect();
        let priors = self.ledger.store.lookup(self.scope, &keys)?;
        for (i, prior) in valid.into_iter().zip(priors) {
            self.ready[i].prior = prior;
        }
        Ok(())
    }
}

/// The first pass: every row checked, the error report written, what is left counted.
fn check_all(
    config: &SendConfig,
    source: &Source,
    input: Input,
    plan: Plan,
    layout: Layout,
    bound: &mut Bound,
    interrupts: &EarlyInterrupts,
) -> Result<(Pending, Plan)> {
    let ledger = bound.reopen()?;
    let mut rows = CheckedRows::new(source, input, plan, config, ledger, bound.scope_id);
    let mut errors = ErrorReport::create(&config.errors, layout)?;
    let mut pending = Pending::default();
    while let Some(row) = rows.next()? {
        if row.row % 4096 == 0 {
            interrupts.check()?;
        }
        errors.write_checked(row.row, row.line, &row.checked)?;
        if !row.checked.is_valid() {
            continue;
        }
        if row.exclusion.is_some() {
            pending.excluded += 1;
            continue;
        }
        match row.prior.map(|p| p.status) {
            Some(status) if !status.may_send(false) => match status {
                crate::journal::PriorStatus::Sent | crate::journal::PriorStatus::Link => pending.already_sent += 1,
                _ => pending.unknown += 1,
            },
            _ if config.limit.is_some_and(|limit| pending.to_send >= limit) => pending.beyond_limit += 1,
            _ => pending.to_send += 1,
        }
    }
    pending.problems = errors.finish()?.unwrap_or_default();
    pending.notes = reading_notes(&rows.validator.notes(), &rows.input);
    pending.notes.extend(rule_notes(&rows.plan, &rows.screen));
    Ok((pending, rows.plan))
}

/// What the rules did: the orders of `--products`, the rows left out by rule.
fn rule_notes(plan: &Plan, screen: &Screen) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(orders) = &plan.orders {
        notes.push(orders.counts().describe());
    }
    notes.extend(screen.excluded.describe());
    notes.extend(plan.unmatched_rules(screen));
    notes
}

#[allow(clippy::too_many_arguments)]
async fn send(
    config: SendConfig,
    source: Source,
    plan: Plan,
    layout: Layout,
    api: crate::cmd::Api,
    bound: Bound,
    budget: Arc<Budget>,
    pending: Pending,
) -> Result<Exit> {
    let progress = Progress::new(pending.to_send, !quiet(&config));
    let results = resolve_link(&config.results);
    let observer = progress.clone();
    let report = Report::start(&results, layout, Box::new(move |line| observer.record(line.status)))?;
    let ledger = Arc::new(LedgerJournal::start(
        bound.reopen()?.store,
        bound.scope_id,
        fastrand::i64(1..i64::MAX),
        Some(origin(&config)),
    ));
    let stop = Stop::default();
    let journal: Arc<dyn Journal> = Arc::new(Both(ledger.clone(), report.handle()));
    let sender = (pending.to_send > 0).then(|| {
        Arc::new(Sender {
            client: api.client.clone(),
            budget: budget.clone(),
            business_unit_id: bound.scope.business_unit_id.clone(),
            max_attempts: config.sending.max_attempts,
            backoff: config.sending.backoff,
            max_throttle: config.sending.max_throttle,
            journal: journal.clone(),
            stop: stop.clone(),
            turns: Arc::new(tokio::sync::Semaphore::new(crate::send::turns_for(
                &config.sending.rates,
                config.sending.concurrency,
            ))),
        })
    });
    drop(journal);
    let (running, jobs_tx) = Running::start(sender, config.sending.concurrency, stop.clone(), progress);

    // The second pass reads the file again and feeds the workers, on a thread of its own
    // since reading is blocking work.
    let feed = {
        let input = source.open(&config)?;
        let rows = CheckedRows::new(&source, input, plan, &config, bound.reopen()?, bound.scope_id);
        let feeder = Feeder { report: report.handle(), jobs: jobs_tx, stop: stop.clone(), limit: config.limit };
        std::thread::spawn(move || feeder.run(rows))
    };
    let seen = running.finish(feed).await;
    // A ledger that failed (a full disk) stops the run; the report is still completed.
    if let Err(error) = ledger.finish().map_err(Error::from) {
        stop.stop(crate::send::StopReason::Fatal { code: error.code(), message: error.to_string() });
    }
    drop(ledger);
    let seen = seen.unwrap_or_default();
    let carried =
        |invitation: &crate::invitation::Invitation| seen.contains_row(invitation.email(), invitation.reference());
    // A rehearsal's report carries no real send: it keeps any report that records some.
    let placement = match config.sending.sandbox {
        true => Placement::KeepRealSends,
        false => Placement::KeepUnless(&carried),
    };
    let finished = report.finish(placement)?;

    drop(source);
    let errors = config.errors.exists().then(|| config.errors.clone());
    let mut summary = Summary::from_counts(&finished.counts, config.results.clone(), errors);
    summary.problems = pending.problems;
    summary.kept = finished.kept;
    summary.links = config.kind == Kind::Link;
    if bound.is_kept() {
        summary.ledger = Some(bound.path().to_path_buf());
    }
    summary.advice.extend(pending.notes);
    let exit = finish_summary(
        &mut summary,
        stop.reason(),
        crate::cmd::same_command(),
        &config.results,
        &config.sending,
        if config.limit.is_some() { Skipped::ByLimit } else { Skipped::ByOtherRun },
    );
    summary.print(config.output.json, config.output.quiet);
    Ok(exit)
}

/// The second pass: a line for every row the run does not send, a job for every other.
struct Feeder {
    report: crate::record::report::ReportHandle,
    jobs: mpsc::Sender<Job>,
    stop: Stop,
    limit: Option<u64>,
}

impl Feeder {
    fn run(self, mut rows: CheckedRows) -> Result<Seen> {
        let mut queued = 0u64;
        let mut seq = 0u64;
        while let Some(row) = rows.next()? {
            self.report.admit(seq);
            let invitation = row.checked.invitation.clone();
            let line = match (&row.prior, row.checked.is_valid()) {
                (_, false) => Some(refused_line(row.row, row.line, &row.checked)),
                (_, true) if row.exclusion.is_some() => {
                    row.exclusion.as_ref().map(|e| excluded_line(row.row, row.line, invitation, e))
                }
                (Some(prior), true) if !prior.status.may_send(false) => {
                    Some(prior_line(row.row, row.line, invitation, prior))
                }
                (_, true) if self.stop.is_stopped() || self.limit.is_some_and(|l| queued >= l) => {
                    let why = not_attempted(self.stop.reason().as_ref());
                    Some(not_attempted_line(row.row, row.line, invitation, Status::Skipped, &why))
                }
                (_, true) => {
                    queued += 1;
                    let job = Job {
                        seq,
                        row: row.row,
                        line: row.line,
                        invitation,
                        kind: rows.kind,
                        resend_unknown: false,
                        unattempted: Status::Skipped,
                    };
                    match self.jobs.blocking_send(job) {
                        Ok(()) => None,
                        Err(mpsc::error::SendError(job)) => {
                            let why = not_attempted(self.stop.reason().as_ref());
                            Some(not_attempted_line(job.row, job.line, job.invitation, Status::Skipped, &why))
                        }
                    }
                }
            };
            if let Some(line) = line {
                self.report.line_blocking(seq, line)?;
            }
            seq += 1;
        }
        Ok(rows.validator.into_seen().unwrap_or_default())
    }
}

/// `--dry-run`: every row checked and looked up in the ledger (read, never written); the
/// results say what a send would do now.
fn dry_run(config: &SendConfig, source: &Source, rules: Rules, interrupts: &EarlyInterrupts) -> Result<Exit> {
    let mut input = open_input(config, source)?;
    let plan = plan(config, source, rules, &input)?;
    let layout = layout(config, &input, &plan);
    let (target, note) = ledger_view(config)?;
    let view = match &target {
        Some((path, scope, live)) => Ledger::open_read_only(path)?.map(|ledger| LedgerView {
            ledger,
            scope: *scope,
            live: *live,
            kind: config.kind,
        }),
        None => None,
    };
    // --cooldown asks the ledger on this thread, with a connection of its own.
    let mut cooldown = match (&target, plan.needs_ledger()) {
        (Some((path, scope, _)), true) => Ledger::open_read_only(path)?.map(|ledger| (ledger, *scope)),
        _ => None,
    };
    let results = resolve_link(&config.results);
    // Duplicates are found on the writing thread (the reading one is the busier), after the
    // rules; a rule that leaves a row out must see a repeated row as the duplicate it is, as
    // a send does, so then the validator finds them before the rules.
    let validator = validator(config).with_products(plan.products().is_some());
    let mut validator = if plan.leaves_rows_out() { validator } else { validator.leave_duplicates() };
    let mut screen = Screen::default();
    // What a killed run (a send or a dry run) left beside the report.
    crate::record::results::remove_stale_temps(&results);
    let (writer, temp) = ResultsWriter::create_beside(&results, layout)?;
    let mut background = BackgroundWriter::start(writer, ErrorReport::create(&config.errors, layout)?, view);
    let mut checked = Checked::default();
    let outcome = (|| -> Result<()> {
        while let Some(record) = input.next_record().map_err(|e| source.naming.apply(e))? {
            let (row, line) = (record.row(), record.line());
            if row % 4096 == 0 {
                interrupts.check()?;
            }
            validator.check(&record, &mut checked);
            let ledger = cooldown.as_mut().map(|(ledger, scope)| (ledger, *scope));
            let exclusion = plan.apply(&mut screen, &record, &mut checked, ledger)?;
            background.push_with(|entry| {
                entry.problems.clone_from(&checked.problems);
                entry.problems.extend(checked.product_problems.iter().cloned());
                if let Some(exclusion) = &exclusion {
                    entry.line = excluded_line(row, line, std::mem::take(&mut checked.invitation), exclusion);
                } else if checked.is_valid() {
                    // Copied into the recycled line's memory: neither side allocates.
                    entry.line.refill(row, line, Status::Ready, &checked.invitation);
                } else {
                    entry.line = refused_line(row, line, &checked);
                }
            })?;
        }
        Ok(())
    })();
    // The writer's own error says more than the reader's "the writer stopped".
    let (mut writer, errors, counts) = match (outcome, background.finish()) {
        (_, Err(e)) | (Err(e), _) => return Err(e),
        (Ok(()), Ok(done)) => done,
    };
    writer.sync()?;
    drop(writer);
    let mut notes = reading_notes(&validator.notes(), &input);
    notes.extend(rule_notes(&plan, &screen));
    let kept = crate::record::report::place(temp, &results, Placement::KeepRealSends)?;
    let problems = errors.finish()?;
    let errors_path = problems.is_some().then(|| config.errors.clone());
    let mut summary = Summary::from_counts(&counts, config.results.clone(), errors_path);
    summary.problems = problems.unwrap_or_default();
    summary.kept = kept;
    summary.links = config.kind == Kind::Link;
    let exit = summary.completed_exit();
    summary.exit_code = exit.code();
    summary.next = Some(crate::cmd::same_command());
    summary.advice.extend(notes);
    if let Some(note) = note {
        summary.advice.push(note);
    }
    if summary.rows == 0 {
        summary.next = None;
        summary.advice.push("The file has a header but no rows.".to_string());
    } else if summary.invalid > 0 {
        summary.advice.push(format!(
            "The invalid rows are listed in {}: fix them in the file now, or send as it is (they are never sent).",
            config.errors.display()
        ));
    } else if summary.ready == 0 {
        summary.next = None;
    }
    if summary.duplicate > 0 {
        summary.advice.push(match summary.duplicate {
            1 => "1 row repeats an earlier row's email and reference (or is an order's further line item): one \
                  invitation per order, it is not sent."
                .to_string(),
            n => format!(
                "{n} rows repeat an earlier row's email and reference (or are an order's further line items): one \
                 invitation per order, they are not sent."
            ),
        });
    }
    summary.print(config.output.json, config.output.quiet);
    Ok(exit)
}

/// The ledger a dry run reads: its path, the scope, and whether a run sends for it now.
type Target = (PathBuf, ScopeId, bool);

/// The ledger a dry run reads, and a note when it cannot say what was sent before.
fn ledger_view(config: &SendConfig) -> Result<(Option<Target>, Option<String>)> {
    if config.sending.sandbox {
        return Ok((None, None));
    }
    let path = crate::ledger::location(config.ledger.ledger.as_deref())?;
    let Some(mut ledger) = Ledger::open_read_only(&path)? else {
        return Ok((None, Some(format!("No ledger yet at {}: nothing was sent with it.", path.display()))));
    };
    let api_url = match crate::api::Endpoints::from_env() {
        Ok(endpoints) => endpoints.invitations.to_string(),
        Err(e) => return Ok((None, Some(format!("Not checked against the ledger: {e}")))),
    };
    let scope = match (&config.sending.business_unit_id, &config.sending.domain) {
        (Some(id), _) => Some(Scope { api_url, business_unit_id: id.clone() }),
        (None, Some(domain)) => ledger.store.scope_of_domain(&api_url, domain)?,
        (None, None) => None,
    };
    let Some(scope) = scope else {
        let why = match &config.sending.domain {
            Some(domain) => format!("no earlier send recorded the business unit of {domain}"),
            None => "no business unit was given (set TRUSTPILOT_BUSINESS_UNIT_ID or --business-unit-id)".to_string(),
        };
        return Ok((
            None,
            Some(format!("Could not check what was sent before: {why}; rows sent earlier show as ready.")),
        ));
    };
    let Some(scope_id) = ledger.store.find_scope(&scope)? else {
        let note = format!(
            "The ledger {} has no invitation for business unit {} yet.",
            path.display(),
            scope.business_unit_id
        );
        return Ok((None, Some(note)));
    };
    let live = ledger.is_busy(&scope);
    Ok((Some((path, scope_id, live)), None))
}
