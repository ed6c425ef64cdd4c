//! `tp-invite retry`: re-send the rows of a results file that failed (and, if asked, those
//! whose outcome is unknown), then rewrite the file so it stays the one complete record.

use std::borrow::Cow;
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use crate::cmd::{Fatal, Running, connect};
use crate::config::RetryConfig;
use crate::exit::Exit;
use crate::invitation::{Field, Invitation};
use crate::record::meta::Meta;
use crate::record::results::compact;
use crate::record::{ErrorReport, Loaded, ResultsWriter, Status};
use crate::send::Job;
use crate::send::budget::Budget;
use crate::send::progress::Progress;
use crate::summary::{Count, Summary, shell_quote};
use crate::validate::{Checked, RawRow, Validator};

/// A results line seen as a row to validate again.
struct Recorded<'a>(&'a Invitation);

impl RawRow for Recorded<'_> {
    fn get(&self, field: Field) -> Option<Cow<'_, str>> {
        Some(self.0.value(field))
    }
}

pub fn run(config: RetryConfig) -> Result<Exit> {
    crate::cmd::check_error_report_path(&config.errors)?;
    if !config.results.exists() {
        bail!(Fatal(format!(
            "{} does not exist. Give the results file that `tp-invite send` wrote (by default <INPUT>.results.csv \
             beside the input).",
            config.results.display()
        )));
    }
    let loaded = Loaded::read(&config.results)?;
    let counts = loaded.counts();
    if counts.get(Status::Ready) > 0 && !loaded.records_real_send() {
        bail!(Fatal(format!(
            "{} is the record of a dry run: nothing was sent, so there is nothing to retry. Send the input with \
             `tp-invite send <INPUT>`.",
            config.results.display()
        )));
    }
    let include_unknown = config.include_unknown;
    let wanted = move |status: Status| status == Status::Failed || (include_unknown && status == Status::Unknown);
    let targets = counts.get(Status::Failed) + if config.include_unknown { counts.get(Status::Unknown) } else { 0 };
    let meta = Meta::read(&config.results)?;
    if targets == 0 {
        let counts = compact(&config.results)?;
        let mut summary = Summary::from_record(&counts, config.results.clone(), None);
        let exit = crate::cmd::send::finish_summary(
            &mut summary,
            None,
            &config.results,
            resume_command(&config, meta.as_ref()),
            &config.sending,
        );
        summary.advice.insert(0, "No row is `failed`; nothing was re-sent.".to_string());
        summary.print(config.output.json, config.output.quiet);
        return Ok(exit);
    }
    if !config.output.quiet && !config.output.json {
        eprintln!("{} to re-send from {}.", Count(targets, "row"), config.results.display());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(retry(config, loaded, meta, targets, wanted_set(wanted)))
}

type Wanted = [bool; 7];

fn wanted_set(wanted: impl Fn(Status) -> bool) -> Wanted {
    let mut set = [false; 7];
    for status in Status::ALL {
        set[status as usize] = wanted(status);
    }
    set
}

fn resume_command(config: &RetryConfig, meta: Option<&Meta>) -> String {
    let input = meta.map(|m| shell_quote(&m.input.to_string_lossy())).unwrap_or_else(|| "<INPUT>".to_string());
    let mut command =
        format!("tp-invite send {input} --resume --results {}", shell_quote(&config.results.to_string_lossy()));
    if config.sending.sandbox {
        command.push_str(" --sandbox");
    }
    command
}

async fn retry(config: RetryConfig, loaded: Loaded, meta: Option<Meta>, targets: u64, wanted: Wanted) -> Result<Exit> {
    let mut sending = config.sending.clone();
    let recorded_unit = meta.as_ref().and_then(|m| m.business_unit_id.clone());
    if sending.business_unit_id.is_none() && sending.domain.is_none() {
        sending.business_unit_id = recorded_unit.clone();
    }
    let budget = Arc::new(Budget::new(&sending.rates));
    let connection = connect(&sending, budget.clone(), config.output.quiet).await?;
    if let Some(previous) = recorded_unit {
        if previous != connection.business_unit_id {
            bail!(Fatal(format!(
                "{} was sent for business unit {previous}, not {}; re-sending its rows elsewhere would mix two \
                 shops' invitations. Leave out --business-unit-id/--domain to use the recorded one.",
                config.results.display(),
                connection.business_unit_id
            )));
        }
    }

    let mut writer = ResultsWriter::append(&config.results, loaded.complete_len)?;
    writer.sync()?;
    let progress = Progress::new(targets, !config.output.quiet && !config.output.json);
    let (running, jobs_tx) = Running::start(writer, progress, Some(connection), &sending, budget);

    let feed = {
        let stop = running.stop.clone();
        let recorder = running.recorder.clone();
        let results = config.results.clone();
        let errors_path = config.errors.clone();
        let defaults = config.defaults.clone();
        std::thread::spawn(move || -> Result<bool> {
            let mut errors = ErrorReport::create(&errors_path)?;
            let mut validator = Validator::new(defaults);
            let mut checked = Checked::default();
            for line in loaded.lines_in_order(&results)? {
                let line = line?;
                if !wanted[line.status as usize] {
                    continue;
                }
                if stop.is_stopped() {
                    break; // the row keeps its line, so the next retry finds it
                }
                validator.check(&Recorded(&line.invitation), &mut checked);
                if !checked.is_valid() {
                    crate::cmd::send::report(&mut errors, line.row, line.line, &checked)?;
                    let mut refused = crate::cmd::send::refused_line(line.row, line.line, &checked);
                    refused.attempts = line.attempts;
                    if recorder.line_blocking(refused).is_err() {
                        bail!("the results file could not be written");
                    }
                    continue;
                }
                let job = Job {
                    row: line.row,
                    line: line.line,
                    invitation: checked.invitation.clone(),
                    attempts: line.attempts,
                    previous: Some(line),
                };
                if jobs_tx.blocking_send(job).is_err() {
                    break;
                }
            }
            Ok(errors.finish()?)
        })
    };
    let stop = running.stop.clone();
    let wrote_errors = running.finish(feed).await?.unwrap_or(false);
    let counts = compact(&config.results)?;
    let errors = wrote_errors.then(|| config.errors.clone());
    let mut summary = Summary::from_record(&counts, config.results.clone(), errors);
    let exit = crate::cmd::send::finish_summary(
        &mut summary,
        stop.reason(),
        &config.results,
        resume_command(&config, meta.as_ref()),
        &sending,
    );
    summary.print(config.output.json, config.output.quiet);
    Ok(exit)
}
