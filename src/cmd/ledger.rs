//! `tp-invite ledger`: what the ledger holds, an export of it, forgetting a customer,
//! settling an unknown outcome, and importing the results files of tp-invite 0.1.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::api::Endpoints;
use crate::cli::{LedgerAction, LedgerArgs, UnitArgs};
use crate::cmd::retry::Recorded;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::fields::Field;
use crate::journal::{Kind, PriorStatus, Status};
use crate::ledger::{ImportRow, Ledger, Scope, ScopeId, Settled};
use crate::record::cell::protect;
use crate::record::results::{REHEARSAL, ResultsReader};
use crate::summary::{Count, shell_quote};
use crate::validate::{Checked, Defaults, Validator};
use crate::{errln, outln};

pub fn run(args: LedgerArgs) -> Result<Exit> {
    let json = args.json;
    if json && matches!(args.action, Some(LedgerAction::Export { output: None, .. })) {
        return Err(Error::Usage(
            "ledger export --json needs --output PATH: the entries are CSV, and stdout holds the JSON.".to_string(),
        ));
    }
    let path = crate::ledger::location(args.ledger.as_deref())?;
    let (exit, value) = match args.action {
        None => summary(&path, json)?,
        Some(LedgerAction::Export { business_unit_id, output }) => export(&path, business_unit_id, output, json)?,
        Some(LedgerAction::Forget { emails }) => forget(&path, &emails, json)?,
        Some(LedgerAction::Settle { email, reference, sent, not_sent, unit }) => {
            settle(&path, &email, &reference, sent && !not_sent, &unit, json)?
        }
        Some(LedgerAction::Import { results, unit }) => import(&path, &results, &unit, json)?,
    };
    if json {
        let mut value = value;
        value["ledger"] = json!(path);
        value["exit_code"] = json!(exit.code());
        outln!("{value}");
    }
    Ok(exit)
}

/// An action's outcome: its exit code and, for `--json`, what it did.
type Done = (Exit, serde_json::Value);

/// A line of text output, unless the command speaks JSON.
fn say(json: bool, text: &str) {
    if !json {
        outln!("{text}");
    }
}

fn summary(path: &Path, json: bool) -> Result<Done> {
    let scopes = match Ledger::open_read_only(path)? {
        Some(mut ledger) => ledger.store.summary()?,
        None => Vec::new(),
    };
    if json {
        return Ok((Exit::Success, json!({ "scopes": scopes })));
    }
    let say = |text: &str| say(false, text);
    say(&format!("Ledger: {}", path.display()));
    if scopes.is_empty() {
        say("It holds no invitation yet.");
        return Ok((Exit::Success, json!({})));
    }
    for scope in &scopes {
        let domain = scope.domain.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
        say(&format!("\nBusiness unit {}{domain} at {}", scope.business_unit_id, scope.api_url));
        for (kind, status, count) in &scope.counts {
            let what = match (kind.as_str(), status.as_str()) {
                ("link", "link") => "links made".to_string(),
                ("link", status) => format!("links {status}"),
                (_, status) => format!("email invitations {status}"),
            };
            say(&format!("  {count:>9}  {what}"));
        }
        if let (Some(first), Some(last)) = (&scope.first_attempt_at, &scope.last_attempt_at) {
            say(&format!("  first request {first}, last {last}"));
        }
    }
    Ok((Exit::Success, json!({})))
}

/// The columns of `ledger export`.
const EXPORT_HEADER: [&str; 19] = [
    "business_unit_id",
    "api_url",
    "domain",
    "kind",
    "email",
    "reference",
    "status",
    "attempts",
    "first_attempt_at",
    "last_attempt_at",
    "sent_at",
    "http_status",
    "error_code",
    "error",
    "correlation_id",
    "file",
    "row",
    "link",
    "request",
];

fn export(path: &Path, business_unit_id: Option<String>, output: Option<PathBuf>, json: bool) -> Result<Done> {
    let Some(mut ledger) = Ledger::open_read_only(path)? else {
        return Err(Error::other("ledger.missing", format!("There is no ledger at {} yet.", path.display())));
    };
    // A business unit's entries under every API address it was sent through (Trustpilot's,
    // a test server's): the filter is the unit, not one of its scopes.
    if let Some(id) = &business_unit_id
        && !ledger.store.summary()?.iter().any(|s| s.business_unit_id == *id)
    {
        return Err(Error::other(
            "ledger.no_business_unit",
            format!("The ledger {} holds nothing for business unit {id}.", path.display()),
        ));
    }
    let write_error = |target: &str, e: &dyn std::fmt::Display| {
        Error::other("export.unwritable", format!("cannot write {target}: {e}"))
    };
    let (sink, temp): (Box<dyn Write>, Option<(tempfile::TempPath, PathBuf)>) = match &output {
        Some(out) => {
            check_export_output(out, &ledger.path)?;
            let out = crate::cmd::resolve_link(out);
            let (file, temp) = crate::record::results::temp_beside(&out)?;
            (Box::new(std::io::BufWriter::new(file)), Some((temp, out)))
        }
        None => (Box::new(std::io::stdout().lock()), None),
    };
    let mut csv = csv::Writer::from_writer(sink);
    let target = output.as_ref().map_or("stdout".to_string(), |o| o.display().to_string());
    csv.write_record(EXPORT_HEADER).map_err(|e| write_error(&target, &e))?;
    let mut closed = false;
    let written = ledger.store.export(business_unit_id.as_deref(), &mut |e| {
        let prior = &e.entry.prior;
        let record = [
            e.scope.business_unit_id.clone(),
            e.scope.api_url.clone(),
            e.domain.clone(),
            e.kind.as_str().to_string(),
            e.email.clone(),
            e.reference.clone(),
            prior.status.as_str().to_string(),
            prior.attempts.to_string(),
            e.entry.first_attempt_at.clone(),
            prior.last_attempt_at.clone(),
            prior.sent_at.clone(),
            prior.http_status.map(|s| s.to_string()).unwrap_or_default(),
            prior.error_code.clone(),
            e.entry.error.clone(),
            prior.correlation_id.clone(),
            prior.file.clone(),
            prior.row.map(|r| r.to_string()).unwrap_or_default(),
            prior.link.clone(),
            e.entry.request.clone(),
        ];
        csv.write_record(record.iter().map(|cell| protect(cell).into_owned())).map_err(|e| {
            if e.is_io_error() && temp.is_none() {
                closed = true;
            }
            e.to_string()
        })
    });
    let written = match written {
        Err(_) if closed => return Ok((Exit::Success, json!({}))), // stdout closed (`| head`): nobody reads the rest
        Err(e) => return Err(e.into()),
        Ok(written) => written,
    };
    let flushed = csv.flush();
    if let Some((temp, out)) = temp {
        flushed.map_err(|e| write_error(&target, &e))?;
        drop(csv);
        temp.persist(&out).map_err(|e| write_error(&target, &e.error))?;
        if !json {
            errln!("Wrote {} to {}.", Count(written, "entry"), out.display());
        }
    }
    Ok((Exit::Success, json!({ "output": output, "entries": written })))
}

/// Refuses an `--output` whose file the export would destroy: the ledger itself (by any
/// name), or an existing file that is not an earlier export (another month's customers, a
/// results file). An earlier export, or an empty file, is replaced.
fn check_export_output(out: &Path, ledger: &Path) -> Result<()> {
    crate::cmd::check_output_path(out, "--output")?;
    if crate::ledger::is_ledger_file(out, ledger) {
        return Err(Error::other(
            "export.in_the_way",
            format!(
                "--output {} is the ledger {} (or one of its files): the export would replace the record of who \
                 was invited. Give the export another path, such as ledger-export.csv.",
                out.display(),
                ledger.display()
            ),
        ));
    }
    let Ok(meta) = std::fs::metadata(out) else { return Ok(()) };
    if meta.len() == 0 || first_line_is_export_header(out) {
        return Ok(());
    }
    Err(Error::other(
        "export.in_the_way",
        format!(
            "--output {} already exists and is not an earlier export of the ledger (its first line is not the \
             export's header), so it is left as it is. Give a path that does not exist yet, or delete that file \
             first if you no longer need it.",
            out.display()
        ),
    ))
}

/// Whether the file starts with the header `ledger export` writes.
fn first_line_is_export_header(path: &Path) -> bool {
    use std::io::Read;
    let mut start = Vec::with_capacity(1024);
    let read = std::fs::File::open(path).and_then(|file| file.take(1024).read_to_end(&mut start));
    if read.is_err() {
        return false;
    }
    let start = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&start);
    let line = start.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line == EXPORT_HEADER.join(",").as_bytes()
}

fn forget(path: &Path, emails: &[String], json: bool) -> Result<Done> {
    let normalised: Vec<String> = emails.iter().map(|e| crate::invitation::email_key(e.trim()).into_owned()).collect();
    if Ledger::open_read_only(path)?.is_none() {
        say(json, &format!("There is no ledger at {}: nothing to forget.", path.display()));
        let forgotten: Vec<_> = normalised.iter().map(|email| json!({ "email": email, "entries": 0 })).collect();
        return Ok((Exit::Success, json!({ "forgotten": forgotten })));
    }
    let mut ledger = Ledger::open(path)?;
    let counts = ledger.store.forget(&normalised)?;
    for (email, count) in normalised.iter().zip(&counts) {
        match count {
            0 => say(json, &format!("{email}: the ledger held nothing.")),
            n => say(json, &format!("{email}: {} removed.", Count(*n, "entry"))),
        }
    }
    if counts.iter().any(|&n| n > 0) {
        say(
            json,
            "The ledger no longer knows these customers were invited: a later run of a file that holds them would \
             invite them again. Remove them from your exports, or list them in an --exclude file. Trustpilot keeps \
             its own copy: ask it to delete theirs in Trustpilot Business.",
        );
    }
    let forgotten: Vec<_> =
        normalised.iter().zip(&counts).map(|(email, n)| json!({ "email": email, "entries": n })).collect();
    Ok((Exit::Success, json!({ "forgotten": forgotten })))
}

/// The scope a ledger command is about: the environment's invitations API and the business
/// unit of `--business-unit-id`, the environment, or the domain an earlier send recorded.
fn scope_of(ledger: &mut Ledger, unit: &UnitArgs) -> Result<Scope> {
    let api_url = Endpoints::from_env()?.invitations.to_string();
    let (id, domain) = crate::cli::business_unit(unit.business_unit_id.as_deref(), unit.domain.as_deref());
    if let Some(business_unit_id) = id {
        return Ok(Scope { api_url, business_unit_id });
    }
    let Some(domain) = domain else {
        return Err(crate::api::ApiError::NoBusinessUnit.into());
    };
    if let Some(scope) = ledger.store.scope_of_domain(&api_url, &domain)? {
        return Ok(scope);
    }
    Err(Error::other(
        "ledger.no_business_unit",
        format!(
            "No send recorded the business unit of {domain} in this ledger; give it with --business-unit-id (see \
             `tp-invite business-unit {domain}`)."
        ),
    ))
}

fn settle(path: &Path, email: &str, reference: &str, sent: bool, unit: &UnitArgs, json: bool) -> Result<Done> {
    // A mistyped path must not leave a new, empty ledger behind.
    if Ledger::open_read_only(path)?.is_none() {
        return Err(Error::other(
            "ledger.missing",
            format!("There is no ledger at {}: nothing to settle. Check --ledger or TP_INVITE_LEDGER.", path.display()),
        ));
    }
    let mut ledger = Ledger::open(path)?;
    let scope = scope_of(&mut ledger, unit)?;
    let Some(scope_id) = ledger.store.find_scope(&scope)? else {
        return Err(Error::other(
            "ledger.no_entry",
            format!("The ledger holds nothing for business unit {}.", scope.business_unit_id),
        ));
    };
    // An entry a live run is sending is not settled under it.
    let _lock = ledger.lock(&scope, None, |_| {})?;
    ledger.store.settle_in_flight(scope_id)?;
    let invitation = crate::invitation::Invitation::default()
        .with(crate::fields::Field::Email, email.trim())
        .with(crate::fields::Field::Reference, reference.trim());
    let key = crate::ledger::Key::of(Kind::Email, &invitation);
    let shown = format!("{} / {}", shell_quote(email.trim()), shell_quote(reference.trim()));
    match ledger.store.settle(scope_id, &key, sent)? {
        Settled::Done { .. } if sent => say(json, &format!("{shown}: recorded as sent; it is never sent again.")),
        Settled::Done { .. } => say(json, &format!("{shown}: recorded as not sent; the next run sends it.")),
        Settled::NotUnknown(status) => {
            return Err(Error::other(
                "ledger.not_unknown",
                format!("{shown} is `{}` in the ledger, not `unknown`: there is nothing to settle.", status.as_str()),
            ));
        }
        Settled::NoEntry => {
            return Err(Error::other(
                "ledger.no_entry",
                format!(
                    "The ledger holds no invitation {shown} for business unit {}. Check the email and the reference \
                     (as the results file writes them).",
                    scope.business_unit_id
                ),
            ));
        }
    }
    let settled = json!({
        "business_unit_id": scope.business_unit_id,
        "email": email.trim(),
        "reference": reference.trim(),
        "status": if sent { "sent" } else { "not_sent" },
    });
    Ok((Exit::Success, settled))
}

/// Rows imported per transaction.
const IMPORT_BATCH: usize = 10_000;

/// Rows of one kind that `ledger import` leaves out, counted, with the first as an example.
#[derive(Debug, Default)]
struct Left {
    count: u64,
    example: Option<String>,
}

impl Left {
    fn add(&mut self, example: impl FnOnce() -> String) {
        self.count += 1;
        if self.example.is_none() {
            self.example = Some(example());
        }
    }
}

/// A results file's `sent_at` as the ledger keeps it, UTC `YYYY-MM-DDTHH:MM:SSZ`: the form
/// tp-invite writes, and the unambiguous forms a spreadsheet may save it in (no `Z`, a space
/// for the `T`, no seconds, an offset). A day and month in either order (`03/04/2026`) is
/// not read: it cannot be told which is which.
fn sent_at_utc(text: &str) -> Option<String> {
    crate::validate::normalise_send_time(text).map(|utc| utc + "Z")
}

fn import(path: &Path, files: &[PathBuf], unit: &UnitArgs, json: bool) -> Result<Done> {
    let mut ledger = Ledger::open(path)?;
    let scope = scope_of(&mut ledger, unit)?;
    let scope_id: ScopeId = ledger.store.scope(&scope, None)?;
    let _lock = ledger.lock(&scope, None, |_| {})?;
    let mut total = crate::ledger::Imported::default();
    let (mut rehearsal, mut unreadable_time, mut invalid) = (0u64, Left::default(), Left::default());
    // The keys exactly as `send` makes them: the same rules reduce the email and reference.
    let mut validator = Validator::new(Defaults::default()).leave_duplicates();
    let mut checked = Checked::default();
    for file in files {
        let Some(mut reader) = ResultsReader::open(file)? else { continue };
        // The report of `tp-invite links`: its rows are links made, not emails sent.
        let kind = if reader.layout().link { Kind::Link } else { Kind::Email };
        let origin = std::path::absolute(file).unwrap_or_else(|_| file.clone()).display().to_string();
        let mut batch = Vec::with_capacity(IMPORT_BATCH);
        let mut add = |batch: &mut Vec<ImportRow>, ledger: &mut Ledger| -> Result<()> {
            let done = ledger.store.import(scope_id, batch)?;
            total.added += done.added;
            total.updated += done.updated;
            total.known += done.known;
            batch.clear();
            Ok(())
        };
        while let Some(line) = reader.next_line()? {
            let status = match (line.status, kind) {
                (Status::Sent | Status::AlreadySent, Kind::Email) => PriorStatus::Sent,
                (Status::Sent | Status::AlreadySent, Kind::Link) if !line.link.is_empty() => PriorStatus::Link,
                (Status::Unknown, _) => PriorStatus::Unknown,
                _ => continue,
            };
            // Sent by a --sandbox rehearsal: nothing reached Trustpilot, so importing it would
            // mark a real customer as invited.
            if line.error_code == REHEARSAL {
                rehearsal += 1;
                continue;
            }
            validator.check(&Recorded(&line.invitation), &mut checked);
            let key_fields = [Field::Email.name(), Field::Reference.name()];
            if let Some(problem) = checked.problems.iter().find(|p| key_fields.contains(&p.field)) {
                invalid.add(|| format!("{}, row {}: {}", file.display(), line.row, problem.message));
                continue;
            }
            if checked.invitation.email().is_empty() {
                continue; // a further line item of the order on the row before, which carries the customer
            }
            let sent_at = match line.sent_at.as_str() {
                "" => String::new(),
                text => match sent_at_utc(text) {
                    Some(utc) => utc,
                    None => {
                        unreadable_time.add(|| format!("{}, row {}: '{text}'", file.display(), line.row));
                        continue;
                    }
                },
            };
            let mut invitation = checked.invitation.clone();
            invitation.products = line.invitation.products.clone();
            let body = match kind {
                Kind::Email => invitation.body(),
                Kind::Link => invitation.link_body(),
            };
            batch.push(ImportRow {
                key: crate::ledger::Key::of(kind, &invitation),
                status,
                attempts: line.attempts,
                sent_at,
                http_status: line.http_status,
                error_code: line.error_code.clone(),
                correlation_id: line.correlation_id.clone(),
                file: origin.clone(),
                row: line.row,
                link: line.link.clone(),
                request: serde_json::to_string(&body).unwrap_or_default(),
            });
            if batch.len() == IMPORT_BATCH {
                add(&mut batch, &mut ledger)?;
            }
        }
        add(&mut batch, &mut ledger)?;
    }
    say(
        json,
        &format!(
            "Imported into {} for business unit {}: {} new, {} made stronger, {} already known.",
            path.display(),
            scope.business_unit_id,
            total.added,
            total.updated,
            total.known
        ),
    );
    let mut notes = Vec::new();
    if rehearsal > 0 {
        notes.push(format!(
            "{} of a --sandbox rehearsal (error_code {REHEARSAL}) {} left out: nothing in {} reached Trustpilot.",
            Count(rehearsal, "row"),
            if rehearsal == 1 { "was" } else { "were" },
            if rehearsal == 1 { "it" } else { "them" },
        ));
    }
    if let Some(example) = &unreadable_time.example {
        let one = unreadable_time.count == 1;
        notes.push(format!(
            "{} not imported: {} sent_at is not a time tp-invite can read, e.g. {example} (tp-invite writes UTC \
             times such as 2026-03-14T10:00:00Z; a spreadsheet may have rewritten them). Until {} imported, {} may \
             be invited again: import the results file as tp-invite wrote it, or write that column as \
             YYYY-MM-DDTHH:MM:SSZ (UTC), then import the file again (rows already imported are not counted twice).",
            Count(unreadable_time.count, "row"),
            if one { "its" } else { "their" },
            if one { "it is" } else { "they are" },
            if one { "this customer" } else { "these customers" },
        ));
    }
    if let Some(example) = &invalid.example {
        let one = invalid.count == 1;
        notes.push(format!(
            "{} not imported: `send` refuses {} email or reference, so {} never sent, e.g. {example}",
            Count(invalid.count, "row"),
            if one { "its" } else { "their" },
            if one { "such a row is" } else { "such rows are" },
        ));
    }
    if !json {
        for note in &notes {
            errln!("{note}");
        }
    }
    let exit = match unreadable_time.count + invalid.count {
        0 => Exit::Success,
        _ => Exit::InvalidRows,
    };
    let imported = json!({
        "business_unit_id": scope.business_unit_id,
        "added": total.added,
        "updated": total.updated,
        "known": total.known,
        "rehearsal": rehearsal,
        "unreadable_sent_at": unreadable_time.count,
        "invalid": invalid.count,
        "notes": notes,
    });
    Ok((exit, imported))
}
