//! `tp-invite retry`: re-send the rows of a results file that failed (and, if asked, those
//! whose outcome is unknown) through the same ledger, then rewrite the file in place (whole,
//! atomically) so that it stays the run's one report.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::cmd::{Bound, Skipped, bind_ledger, check_error_report_path, finish_summary, resolve_link};
use crate::config::RetryConfig;
use crate::errln;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::fields::Field;
use crate::invitation::{Invitation, Products};
use crate::journal::{Both, Job, Journal, Kind, Status};
use crate::ledger::writer::LedgerJournal;
use crate::ledger::{Key, Ledger, Scope, ScopeId};
use crate::record::errors::CodeCount;
use crate::record::report::{Placement, Report, ReportHandle, not_attempted_line, prior_line, refused_line};
use crate::record::results::{Counts, Layout, REHEARSAL, ResultsReader};
use crate::record::{ErrorReport, ResultLine};
use crate::send::budget::Budget;
use crate::send::interrupts::EarlyInterrupts;
use crate::send::pipeline::Running;
use crate::send::progress::Progress;
use crate::send::{Sender, Stop, not_attempted};
use crate::summary::{Count, Summary, shell_quote};
use crate::validate::{Checked, RawRow, Validator};

/// Rows looked up in the ledger at a time.
const LOOKUP_BATCH: usize = 256;

/// A results line seen as a row to validate again.
pub(crate) struct Recorded<'a>(pub(crate) &'a Invitation);

impl RawRow for Recorded<'_> {
    fn get(&self, field: Field) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(self.0.value(field)))
    }
}

fn quiet(config: &RetryConfig) -> bool {
    config.output.quiet || config.output.json
}

fn open(path: &Path) -> Result<ResultsReader> {
    ResultsReader::open(path)?.ok_or_else(|| {
        Error::other(
            "results.empty",
            format!("{} is empty. Give the results file that `tp-invite send` wrote.", path.display()),
        )
    })
}

pub fn run(config: RetryConfig) -> Result<Exit> {
    let runtime = crate::cmd::runtime()?;
    let interrupts = EarlyInterrupts::start(&runtime);
    check_error_report_path(&config.errors)?;
    let results = resolve_link(&config.results);
    if !results.exists() {
        return Err(Error::other(
            "results.not_found",
            format!(
                "{} does not exist. Give the results file that `tp-invite send` wrote (by default \
                 <INPUT>.results.csv beside the input).",
                config.results.display()
            ),
        ));
    }
    // The settings are checked before the file is read, so a missing variable is said at once.
    let budget = Arc::new(Budget::new(&config.sending.rates));
    // What the run talks to is said with --json too (on stderr): a cron log shows it.
    let api = runtime.block_on(crate::cmd::open_api(&config.sending, budget.clone(), config.output.quiet))?;
    // What the file holds, before anything is sent.
    let mut reader = open(&results)?;
    let mut counts = Counts::default();
    // Lines a `--sandbox` rehearsal sent, and lines of real requests (to Trustpilot or a server
    // of its own address).
    let (mut rehearsed, mut real_sends) = (0u64, 0u64);
    while let Some(line) = reader.next_line()? {
        counts.add(line.status);
        if line.is_real_send() {
            real_sends += 1;
        } else if line.error_code == REHEARSAL {
            rehearsed += 1;
        }
    }
    if config.sending.sandbox && real_sends > 0 {
        return Err(Error::other(
            "results.real_sends",
            format!(
                "{} records real sends; a --sandbox rehearsal of retry would write over that record. Rehearse on a \
                 copy: cp {} rehearsal.results.csv && tp-invite retry rehearsal.results.csv --sandbox",
                config.results.display(),
                crate::text::shell_quote(&config.results.to_string_lossy()),
            ),
        ));
    }
    if !config.sending.sandbox && rehearsed > 0 && real_sends == 0 {
        return Err(Error::other(
            "results.rehearsal",
            format!(
                "{} is the report of a --sandbox rehearsal: nothing in it reached Trustpilot, so there is nothing to \
                 retry. Retry the report of the real send (a rehearsal keeps it under a dated name beside this one), \
                 or send the input again: tp-invite send <INPUT>.",
                config.results.display()
            ),
        ));
    }
    let real = Status::ALL.into_iter().filter(|s| s.is_real_send()).map(|s| counts.get(s)).sum::<u64>();
    if counts.get(Status::Ready) > 0 && real == 0 {
        return Err(Error::other(
            "results.dry_run",
            format!(
                "{} is the record of a dry run: nothing was sent, so there is nothing to retry. Send the input with \
                 `tp-invite send <INPUT>`.",
                config.results.display()
            ),
        ));
    }
    let targets = counts.get(Status::Failed) + if config.include_unknown { counts.get(Status::Unknown) } else { 0 };
    if targets == 0 {
        let mut summary = Summary::from_counts(&counts, config.results.clone(), None);
        let exit =
            finish_summary(&mut summary, None, again(&config), &config.results, &config.sending, Skipped::Earlier);
        summary.advice.insert(
            0,
            match config.include_unknown {
                true => "No row is `failed` or `unknown`; nothing was re-sent.".to_string(),
                false => "No row is `failed`; nothing was re-sent.".to_string(),
            },
        );
        summary.print(config.output.json, config.output.quiet);
        return Ok(exit);
    }
    if !quiet(&config) {
        errln!("{} to re-send from {}.", Count(targets, "row"), config.results.display());
    }
    let unit = runtime.block_on(async {
        tokio::select! {
            unit = crate::cmd::resolve_unit(&api, &config.sending, quiet(&config)) => unit,
            () = interrupts.pressed() => Err(Error::Interrupted),
        }
    })?;
    let scope = Scope { api_url: api.client.endpoints().invitations.to_string(), business_unit_id: unit.id };
    let bound = bind_ledger(
        &config.ledger,
        config.sending.sandbox,
        scope,
        config.sending.domain.as_deref(),
        &interrupts,
        quiet(&config),
    )?;
    refuse_other_unit(&config, &results, &bound)?;
    runtime.block_on(async {
        tokio::select! {
            done = crate::cmd::authenticate(&api, quiet(&config)) => done,
            () = interrupts.pressed() => Err(Error::Interrupted),
        }
    })?;
    interrupts.stop();
    runtime.block_on(retry(config, results, api, bound, budget, targets))
}

/// The same retry, for the summary's "next".
fn again(config: &RetryConfig) -> String {
    crate::cmd::same_command().replace(" --include-unknown", "")
        + if config.include_unknown { " --include-unknown" } else { "" }
}

/// What the file's rows asked: links when it has a `link` column (written by `links`).
fn kind_of(reader: &ResultsReader) -> Kind {
    if reader.layout().link { Kind::Link } else { Kind::Email }
}

fn wanted(config: &RetryConfig, status: Status) -> bool {
    status == Status::Failed || (config.include_unknown && status == Status::Unknown)
}

/// Refuses to re-send rows whose invitations the ledger holds for another business unit
/// only: the results file was made for that one.
fn refuse_other_unit(config: &RetryConfig, results: &Path, bound: &Bound) -> Result<()> {
    let mut ledger = bound.reopen()?;
    let mut reader = open(results)?;
    let mut batch = Vec::new();
    let check = |batch: &mut Vec<Key>, ledger: &mut Ledger| -> Result<()> {
        let priors = ledger.store.lookup(bound.scope_id, batch)?;
        for (key, prior) in batch.drain(..).zip(priors) {
            if prior.is_some() {
                continue;
            }
            if let Some(other) = ledger.store.scopes_holding(bound.scope_id, &key)?.into_iter().next() {
                return Err(Error::other(
                    "results.other_business_unit",
                    format!(
                        "{} was sent for business unit {}, not {}: re-sending its rows here would invite them for \
                         another shop. Run retry with --business-unit-id {} (or leave out the flag that chose {}).",
                        config.results.display(),
                        other.business_unit_id,
                        bound.scope.business_unit_id,
                        shell_quote(&other.business_unit_id),
                        bound.scope.business_unit_id,
                    ),
                ));
            }
        }
        Ok(())
    };
    let kind = kind_of(&reader);
    while let Some(line) = reader.next_line()? {
        if wanted(config, line.status) {
            batch.push(Key::of(kind, &line.invitation));
            if batch.len() == LOOKUP_BATCH {
                check(&mut batch, &mut ledger)?;
            }
        }
    }
    check(&mut batch, &mut ledger)
}

async fn retry(
    config: RetryConfig,
    results: std::path::PathBuf,
    api: crate::cmd::Api,
    bound: Bound,
    budget: Arc<Budget>,
    targets: u64,
) -> Result<Exit> {
    let progress = Progress::new(targets, !quiet(&config));
    let reader = open(&results)?;
    // The layout the file was read in (delimiter, byte order mark); --excel adds the mark.
    let layout = Layout {
        bom: reader.layout().bom || config.output.excel,
        rehearsal: config.sending.sandbox,
        ..reader.layout()
    };
    let kind = kind_of(&reader);
    let observer = progress.clone();
    let report = Report::start(&results, layout, Box::new(move |line| observer.record(line.status)))?;
    let ledger =
        Arc::new(LedgerJournal::start(bound.reopen()?.store, bound.scope_id, fastrand::i64(1..i64::MAX), None));
    let stop = Stop::default();
    let journal: Arc<dyn Journal> = Arc::new(Both(ledger.clone(), report.handle()));
    let sender = Arc::new(Sender {
        client: api.client.clone(),
        budget: budget.clone(),
        business_unit_id: bound.scope.business_unit_id.clone(),
        max_attempts: config.sending.max_attempts,
        backoff: config.sending.backoff,
        max_throttle: config.sending.max_throttle,
        journal,
        stop: stop.clone(),
        turns: Arc::new(tokio::sync::Semaphore::new(crate::send::turns_for(
            &config.sending.rates,
            config.sending.concurrency,
        ))),
    });
    let (running, jobs_tx) = Running::start(Some(sender), config.sending.concurrency, stop.clone(), progress);
    let feed = {
        let feeder = Feeder {
            kind,
            report: report.handle(),
            jobs: jobs_tx,
            stop: stop.clone(),
            include_unknown: config.include_unknown,
            validator: Validator::new(config.defaults.clone()),
            ledger: bound.reopen()?,
            scope: bound.scope_id,
            errors: ErrorReport::create(&config.errors, layout)?,
        };
        std::thread::spawn(move || feeder.run(reader))
    };
    let problems = running.finish(feed).await.flatten();
    // A ledger that failed (a full disk) stops the run; the report is still completed.
    if let Err(error) = ledger.finish().map_err(Error::from) {
        stop.stop(crate::send::StopReason::Fatal { code: error.code(), message: error.to_string() });
    }
    drop(ledger);
    let finished = report.finish(Placement::Replace)?;
    let errors = problems.is_some().then(|| config.errors.clone());
    let mut summary = Summary::from_counts(&finished.counts, config.results.clone(), errors);
    summary.problems = problems.unwrap_or_default();
    summary.links = kind == Kind::Link;
    if bound.is_kept() {
        summary.ledger = Some(bound.path().to_path_buf());
    }
    let exit =
        finish_summary(&mut summary, stop.reason(), again(&config), &config.results, &config.sending, Skipped::Earlier);
    summary.print(config.output.json, config.output.quiet);
    Ok(exit)
}

/// Reads the results file again: every line it does not re-send stands as it was.
struct Feeder {
    kind: Kind,
    report: ReportHandle,
    jobs: mpsc::Sender<Job>,
    stop: Stop,
    include_unknown: bool,
    validator: Validator,
    ledger: Ledger,
    scope: ScopeId,
    errors: ErrorReport,
}

impl Feeder {
    /// The error report's problems by code, when it was written.
    fn run(mut self, mut reader: ResultsReader) -> Result<Option<Vec<CodeCount>>> {
        let mut seq = 0u64;
        let mut batch: Vec<(u64, ResultLine)> = Vec::with_capacity(LOOKUP_BATCH);
        let mut checked = Checked::default();
        while let Some(line) = reader.next_line()? {
            self.report.admit(seq);
            let targeted = line.status == Status::Failed || (self.include_unknown && line.status == Status::Unknown);
            if !targeted {
                self.report.line_blocking(seq, line)?;
            } else {
                self.validator.check(&Recorded(&line.invitation), &mut checked);
                if checked.is_valid() {
                    let mut line = line;
                    // The validator checks the consumer's fields; the products stay as read.
                    let products = std::mem::take(&mut line.invitation.products);
                    line.invitation = checked.invitation.clone();
                    line.invitation.products = products;
                    batch.push((seq, line));
                    if batch.len() == LOOKUP_BATCH {
                        self.flush(&mut batch)?;
                    }
                } else {
                    self.errors.write_checked(line.row, line.line, &checked)?;
                    let mut refused = refused_line(line.row, line.line, &checked);
                    refused.attempts = line.attempts;
                    self.report.line_blocking(seq, refused)?;
                }
            }
            seq += 1;
        }
        self.flush(&mut batch)?;
        Ok(self.errors.finish()?)
    }

    /// Looks the rows up, and queues those the ledger lets go.
    fn flush(&mut self, batch: &mut Vec<(u64, ResultLine)>) -> Result<()> {
        let keys: Vec<Key> = batch.iter().map(|(_, line)| Key::of(self.kind, &line.invitation)).collect();
        let priors = self.ledger.store.lookup(self.scope, &keys)?;
        for ((seq, line), prior) in batch.drain(..).zip(priors) {
            let stand = match &prior {
                Some(prior) if !prior.status.may_send(self.include_unknown) => {
                    Some(prior_line(line.row, line.line, line.invitation, prior))
                }
                _ if self.stop.is_stopped() => {
                    let why = not_attempted(self.stop.reason().as_ref());
                    Some(not_attempted_line(line.row, line.line, line.invitation, line.status, &why))
                }
                _ => {
                    let mut invitation = line.invitation;
                    // The results file keeps only the SKUs; the ledger kept the request as sent.
                    if prior.is_some() && !matches!(invitation.products, Products::None) {
                        let key = Key::of(self.kind, &invitation);
                        if let Some(request) = self.ledger.store.request_of(self.scope, &key)? {
                            let sent = Products::of_request(&request);
                            if matches!(sent, Products::Listed(_)) {
                                invitation.products = sent;
                            }
                        }
                    }
                    let job = Job {
                        seq,
                        row: line.row,
                        line: line.line,
                        invitation,
                        kind: self.kind,
                        resend_unknown: self.include_unknown,
                        unattempted: line.status,
                    };
                    match self.jobs.blocking_send(job) {
                        Ok(()) => None,
                        Err(mpsc::error::SendError(job)) => {
                            let why = not_attempted(self.stop.reason().as_ref());
                            Some(not_attempted_line(job.row, job.line, job.invitation, job.unattempted, &why))
                        }
                    }
                }
            };
            if let Some(stand) = stand {
                self.report.line_blocking(seq, stand)?;
            }
        }
        Ok(())
    }
}
