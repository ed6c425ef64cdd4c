//! `tp-invite send`: validate a customer export, then send every valid row (or, with
//! `--dry-run`, only say what would be sent).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use tokio::sync::mpsc;

use crate::cmd::{EarlyInterrupts, Fatal, Running, connect};
use crate::config::SendConfig;
use crate::exit::Exit;
use crate::input::Input;
use crate::record::background::BackgroundWriter;
use crate::record::meta::{Fingerprint, Meta};
use crate::record::results::{compact, records_real_send};
use crate::record::{ErrorReport, Loaded, ResultLine, ResultsWriter, Status};
use crate::send::budget::Budget;
use crate::send::progress::Progress;
use crate::send::{Job, StopReason, skip_reason};
use crate::summary::{Count, Summary, shell_quote};
use crate::validate::{Checked, Validator};

pub fn run(config: SendConfig) -> Result<Exit> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let interrupts = EarlyInterrupts::start(&runtime);
    crate::cmd::check_error_report_path(&config.errors)?;
    if config.dry_run {
        // Whether the dry run may replace the results file is found out beside it (reading
        // a large old record takes a while) and settled before anything is put in place.
        let path = config.results.clone();
        let guard = std::thread::spawn(move || if path.exists() { records_real_send(&path) } else { Ok(false) });
        let mut input = open_input(&config)?;
        return dry_run(&config, &mut input, guard, &interrupts);
    }
    // Only a resume needs the record itself; any other run needs to know that it replaces
    // nothing that was really sent.
    let existing = match config.resume {
        true => existing_record(&config.results)?,
        false => None,
    };
    if !config.resume && config.results.exists() && records_real_send(&config.results)? {
        let loaded = Loaded::read(&config.results)?;
        return Err(Fatal(refuse_overwrite(&config, &loaded)).into());
    }
    let mut input = open_input(&config)?;
    // A dry run's record is simply replaced; only a real send's record is resumed.
    let record = existing.filter(|loaded| config.resume && loaded.records_real_send());
    let fingerprint =
        Fingerprint::of(&config.input).with_context(|| format!("cannot read {}", config.input.display()))?;
    let meta = match &record {
        Some(_) => check_same_input(&config, &fingerprint)?,
        None => None,
    };

    // Every row is checked before anything is sent, so a fatal input problem (a broken file
    // half-way down) stops the run while nothing has gone out.
    let pending = validate_all(&config, &mut input, record.as_ref(), &interrupts)?;
    if !config.output.quiet && !config.output.json {
        eprintln!(
            "{} to send{}.",
            Count(pending.to_send, "row"),
            match &record {
                Some(loaded) => format!(" (resuming: {} already recorded)", Count(loaded.rows(), "row")),
                None => String::new(),
            }
        );
    }
    runtime.block_on(send(config, record, meta, fingerprint, pending, interrupts))
}

/// The record already at the results path, if any.
fn existing_record(path: &Path) -> Result<Option<Loaded>> {
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(Loaded::read(path)?))
}

fn refuse_overwrite(config: &SendConfig, loaded: &Loaded) -> String {
    let results = shell_quote(&config.results.to_string_lossy());
    let counts = loaded.counts();
    format!(
        "{} already records a real send ({} sent, {} failed, {} unknown); a new `send` would overwrite it and could \
         invite customers twice.\n  To finish that batch:       {}\n  To re-send its failed rows: tp-invite retry {results}\n  \
         To start a new batch, give another --results path, or move that file away.",
        config.results.display(),
        counts.get(Status::Sent),
        counts.get(Status::Failed),
        counts.get(Status::Unknown),
        next_send_command(true),
    )
}

fn open_input(config: &SendConfig) -> Result<Input> {
    let input = Input::open(&config.input, &config.input_options).map_err(|e| Fatal(e.to_string()))?;
    if !config.output.quiet {
        eprintln!(
            "Reading {} ({}, {}-separated). Columns:\n{}",
            config.input.display(),
            input.encoding_name(),
            delimiter_name(input.delimiter()),
            input.mapping().describe().trim_end()
        );
    }
    Ok(input)
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

fn validator(config: &SendConfig, input: &Input) -> Validator {
    Validator::new(config.defaults.clone()).strip_reference_hash(input.mapping().shopify())
}

/// The results line of a row the validator refused.
pub(crate) fn refused_line(row: u64, line: u64, checked: &Checked) -> ResultLine {
    let status = if checked.problems.is_empty() { Status::Duplicate } else { Status::Invalid };
    let mut result = ResultLine::new(row, line, status, checked.invitation.clone());
    match checked.problems.first() {
        Some(first) => {
            result.error_code = first.code.to_string();
            result.error = checked.problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join(" ");
        }
        None => {
            let problem = Validator::duplicate_problem(&checked.invitation);
            result.error_code = problem.code.to_string();
            result.error = problem.message;
        }
    }
    result
}

pub(crate) fn report(errors: &mut ErrorReport, row: u64, line: u64, checked: &Checked) -> Result<()> {
    for problem in &checked.problems {
        errors.write(row, line, problem)?;
    }
    if checked.duplicate && checked.problems.is_empty() {
        errors.write(row, line, &Validator::duplicate_problem(&checked.invitation))?;
    }
    Ok(())
}

type Guard = std::thread::JoinHandle<Result<bool, crate::record::RecordError>>;

fn dry_run(config: &SendConfig, input: &mut Input, guard: Guard, interrupts: &EarlyInterrupts) -> Result<Exit> {
    let mut validator = validator(config, input).leave_duplicates();
    let (results, temp) = ResultsWriter::create_beside(&config.results)?;
    let mut writer = BackgroundWriter::start(results, ErrorReport::create(&config.errors)?);
    let mut checked = Checked::default();
    let outcome = (|| -> Result<()> {
        while let Some(record) = input.next_record().map_err(|e| Fatal(e.to_string()))? {
            let (row, line) = (record.row(), record.line());
            if row % 4096 == 0 {
                interrupts.check()?;
            }
            validator.check(&record, &mut checked);
            writer.push_with(|entry| {
                entry.problems.clone_from(&checked.problems);
                if checked.is_valid() {
                    let result = &mut entry.line;
                    result.row = row;
                    result.line = line;
                    result.status = Status::Ready;
                    result.attempts = 0;
                    result.http_status = None;
                    for text in
                        [&mut result.error_code, &mut result.error, &mut result.correlation_id, &mut result.sent_at]
                    {
                        text.clear();
                    }
                    // The validator refills the invitation it gets back.
                    std::mem::swap(&mut result.invitation, &mut checked.invitation);
                } else {
                    entry.line = refused_line(row, line, &checked);
                }
            })?;
        }
        Ok(())
    })();
    let finished = writer.finish();
    outcome?;
    let (mut results, errors, tally) = finished?;
    let mut summary = Summary {
        rows: tally.rows,
        ready: tally.ready,
        invalid: tally.invalid,
        duplicate: tally.duplicate,
        results: config.results.clone(),
        ..Summary::default()
    };
    match guard.join() {
        Ok(Ok(false)) => {}
        Ok(Ok(true)) => {
            let loaded = Loaded::read(&config.results)?;
            return Err(Fatal(refuse_overwrite(config, &loaded)).into());
        }
        Ok(Err(e)) => return Err(e.into()),
        Err(panic) => std::panic::resume_unwind(panic),
    }
    results.sync()?;
    drop(results);
    temp.persist(&config.results)
        .map_err(|e| anyhow::Error::new(e.error))
        .with_context(|| format!("cannot write {}", config.results.display()))?;
    crate::record::results::sync_dir(&config.results);
    Meta::remove(&config.results);
    if errors.finish()? {
        summary.errors = Some(config.errors.clone());
    }
    let exit = summary.completed_exit();
    summary.exit_code = exit.code();
    let send = next_send_command(false);
    summary.next = Some(send);
    if summary.rows == 0 {
        summary.next = None;
        summary.advice.push("The file has a header but no rows.".to_string());
    } else if summary.invalid > 0 {
        summary.advice.push(format!(
            "The invalid rows are listed in {}: fix them in the file now, or send as it is (they are never sent).",
            config.errors.display()
        ));
    } else if summary.duplicate > 0 {
        summary
            .advice
            .push(format!("The duplicate rows are listed in {}; they are not sent.", config.errors.display()));
    }
    summary.print(config.output.json, config.output.quiet);
    Ok(exit)
}

/// The result of checking every row before sending.
struct Pending {
    to_send: u64,
}

fn check_same_input(config: &SendConfig, fingerprint: &Fingerprint) -> Result<Option<Meta>> {
    let meta = Meta::read(&config.results)?;
    match &meta {
        None if !config.force => Err(Fatal(format!(
            "{} has no record of the input it was made from ({} is missing), so resuming could send the wrong \
             rows. If {} is certainly the same file, add --force.",
            config.results.display(),
            Meta::path_for(&config.results).display(),
            config.input.display()
        ))
        .into()),
        Some(meta) if meta.fingerprint != *fingerprint && !config.force => Err(Fatal(format!(
            "{} changed since {} was started (it was {} bytes, now {}): resuming against a different file could \
             send the wrong rows or skip some. Restore the original file, or add --force to resume anyway (rows \
             are matched by their row number).",
            config.input.display(),
            config.results.display(),
            meta.fingerprint.size,
            fingerprint.size
        ))
        .into()),
        _ => Ok(meta),
    }
}

/// The first pass: every row checked, the error report written, the rows left to send counted.
fn validate_all(
    config: &SendConfig,
    input: &mut Input,
    record: Option<&Loaded>,
    interrupts: &EarlyInterrupts,
) -> Result<Pending> {
    let mut validator = validator(config, input);
    let mut errors = ErrorReport::create(&config.errors)?;
    let mut checked = Checked::default();
    let mut to_send = 0;
    while let Some(row) = input.next_record().map_err(|e| Fatal(e.to_string()))? {
        if row.row() % 4096 == 0 {
            interrupts.check()?;
        }
        validator.check(&row, &mut checked);
        if checked.is_valid() {
            if record.and_then(|r| r.status(row.row())).is_none_or(|s| s == Status::Skipped) {
                to_send += 1;
            }
        } else {
            report(&mut errors, row.row(), row.line(), &checked)?;
        }
    }
    errors.finish()?;
    Ok(Pending { to_send: config.limit.map_or(to_send, |limit| to_send.min(limit)) })
}

async fn send(
    config: SendConfig,
    record: Option<Loaded>,
    meta: Option<Meta>,
    fingerprint: Fingerprint,
    pending: Pending,
    interrupts: EarlyInterrupts,
) -> Result<Exit> {
    let budget = Arc::new(Budget::new(&config.sending.rates));
    // With nothing left to send (every row done, or none valid), no credentials are needed.
    let connection = match pending.to_send {
        0 => None,
        _ => tokio::select! {
            connection = connect(&config.sending, budget.clone(), config.output.quiet) => Some(connection?),
            () = interrupts.pressed() => return Err(crate::cmd::Interrupted.into()),
        },
    };
    // From here on, Ctrl-C drains the workers instead.
    interrupts.stop();
    let unit = connection.as_ref().map(|c| c.business_unit_id.clone());
    if let (Some(meta), Some(unit), false) = (&meta, &unit, config.force) {
        if let Some(previous) = &meta.business_unit_id {
            if previous != unit {
                bail!(Fatal(format!(
                    "{} was started for business unit {previous}, not {unit}; resuming would mix two shops' \
                     invitations. Use the same business unit, or add --force.",
                    config.results.display(),
                )));
            }
        }
    }

    let mut writer = match &record {
        Some(loaded) => ResultsWriter::append(&config.results, loaded.complete_len)?,
        None => ResultsWriter::create(&config.results)?,
    };
    if record.is_none() || config.force {
        let unit = unit.clone().or_else(|| meta.as_ref().and_then(|m| m.business_unit_id.clone()));
        Meta::new(&config.input, fingerprint, unit).write(&config.results)?;
    }
    writer.sync()?;

    let progress = Progress::new(pending.to_send, !config.output.quiet && !config.output.json);
    let (running, jobs_tx) = Running::start(writer, progress, connection, &config.sending, budget);

    // The second pass reads the file again (the one whose fingerprint the record keeps) and
    // feeds the workers; it runs on its own thread since reading is blocking work.
    let feed = {
        let stop = running.stop.clone();
        let recorder = running.recorder.clone();
        let config_input = config.input.clone();
        let options = config.input_options.clone();
        let defaults = config.defaults.clone();
        let limit = config.limit;
        std::thread::spawn(move || -> Result<()> {
            let mut input = Input::open(&config_input, &options).map_err(|e| Fatal(e.to_string()))?;
            let mut validator = Validator::new(defaults).strip_reference_hash(input.mapping().shopify());
            let mut checked = Checked::default();
            let mut queued = 0u64;
            while let Some(row) = input.next_record().map_err(|e| Fatal(e.to_string()))? {
                let (number, line) = (row.row(), row.line());
                validator.check(&row, &mut checked);
                let recorded = record.as_ref().and_then(|r| r.status(number));
                if recorded.is_some_and(|s| s != Status::Skipped) {
                    continue;
                }
                let sent = if checked.is_valid() {
                    let job =
                        Job { row: number, line, invitation: checked.invitation.clone(), attempts: 0, previous: None };
                    if stop.is_stopped() || limit.is_some_and(|l| queued >= l) {
                        let mut skipped = ResultLine::new(number, line, Status::Skipped, job.invitation);
                        skipped.error = skip_reason(stop.reason().as_ref()).to_string();
                        recorder.line_blocking(skipped)
                    } else {
                        queued += 1;
                        match jobs_tx.blocking_send(job) {
                            Ok(()) => Ok(()),
                            Err(mpsc::error::SendError(job)) => {
                                recorder.line_blocking(crate::send::skipped(&job, stop.reason()))
                            }
                        }
                    }
                } else {
                    recorder.line_blocking(refused_line(number, line, &checked))
                };
                if sent.is_err() {
                    bail!("the results file could not be written");
                }
            }
            Ok(())
        })
    };

    let stop = running.stop.clone();
    running.finish(feed).await?;

    let counts = compact(&config.results)?;
    let errors = config.errors.exists().then(|| config.errors.clone());
    let mut summary = Summary::from_record(&counts, config.results.clone(), errors);
    let exit = finish_summary(&mut summary, stop.reason(), &config.results, next_send_command(true), &config.sending);
    summary.print(config.output.json, config.output.quiet);
    Ok(exit)
}

/// Sets the exit code, the reason for stopping and the next command, for `send` and `retry`.
pub fn finish_summary(
    summary: &mut Summary,
    reason: Option<StopReason>,
    results: &Path,
    resume_command: String,
    sending: &crate::config::Sending,
) -> Exit {
    let exit = match &reason {
        Some(StopReason::Interrupted) => Exit::Interrupted,
        Some(StopReason::Fatal(_)) => Exit::Fatal,
        // The run stopped before its end, as on a fatal error: `--resume` later finishes it.
        Some(StopReason::Throttled(_) | StopReason::AskedToWait(_)) => Exit::Fatal,
        None => summary.completed_exit(),
    };
    summary.exit_code = exit.code();
    summary.stopped = match &reason {
        None => None,
        Some(StopReason::Interrupted) => Some("interrupted (Ctrl-C); rows not attempted are `skipped`.".to_string()),
        Some(StopReason::Fatal(message)) => Some(message.clone()),
        Some(StopReason::AskedToWait(how_long)) => Some(format!(
            "Trustpilot answered 429 (too many requests) and asked to wait {} (Retry-After), longer than a run \
             waits; rows not attempted are `skipped`. Run the same command with --resume after that.",
            humantime(*how_long)
        )),
        Some(StopReason::Throttled(how_long)) => Some(format!(
            "Trustpilot answered 429 (too many requests) for {} without a break, so the run stopped; rows not \
             attempted are `skipped`. Try again later, or with a lower --rate.",
            humantime(*how_long)
        )),
    };
    let results = shell_quote(&results.to_string_lossy());
    let mut flags = String::new();
    if sending.sandbox {
        flags.push_str(" --sandbox");
    }
    if let Some(domain) = &sending.domain {
        flags.push_str(&format!(" --domain {}", shell_quote(domain)));
    }
    if summary.skipped > 0 {
        summary.next = Some(resume_command);
        if reason.is_none() {
            summary.advice.push(format!("{} left by --limit.", Count(summary.skipped, "row")));
        }
    } else if summary.failed > 0 {
        summary.next = Some(format!("tp-invite retry {results}{flags}"));
    } else if summary.unknown > 0 {
        summary.next = Some(format!("tp-invite retry {results} --include-unknown{flags}"));
    }
    if summary.unknown > 0 {
        summary.advice.push(format!(
            "{} may or may not have reached Trustpilot (the connection broke after the request left). Check in \
             Trustpilot Business before re-sending them with `retry --include-unknown`.",
            Count(summary.unknown, "row")
        ));
    }
    exit
}

fn humantime(duration: std::time::Duration) -> String {
    let secs = duration.as_secs();
    if secs >= 120 { Count(secs / 60, "minute").to_string() } else { Count(secs, "second").to_string() }
}

/// This command line again, as `send --resume` (or as a plain `send` after a dry run).
fn next_send_command(resume: bool) -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut out = vec!["tp-invite".to_string()];
    let mut skip_value = false;
    for arg in &args {
        if skip_value {
            skip_value = false;
            continue;
        }
        match arg.as_str() {
            "--limit" => skip_value = true,
            "--dry-run" | "--resume" | "--json" | "--quiet" => {}
            a if a.starts_with("--limit=") => {}
            a => out.push(shell_quote(a)),
        }
    }
    if resume {
        out.push("--resume".to_string());
    }
    out.join(" ")
}
