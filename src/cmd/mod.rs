//! One module per subcommand, wiring the rooms together; and what they share: reaching
//! Trustpilot (or the sandbox), the ledger with its run lock, and the words of the summary.

pub mod business_unit;
pub mod completions;
pub mod ledger;
pub mod retry;
pub mod send;
pub mod templates;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::api::{self, ApiError, BusinessUnit, Client, ConfigError, Credentials, Endpoints, Grant};
use crate::cli::LedgerOptions;
use crate::config::Sending;
use crate::errln;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::ledger::{Ledger, RunLock, Scope, ScopeId};
use crate::sandbox::{self, Sandbox, SandboxConfig};
use crate::send::interrupts::EarlyInterrupts;
use crate::send::{StopReason, budget::Budget};
use crate::summary::{Count, ErrorSummary, Summary, shell_quote};

/// The variable that names the business unit when no flag does.
pub const BUSINESS_UNIT_ID_VAR: &str = "TRUSTPILOT_BUSINESS_UNIT_ID";

/// The runtime of a command that talks to the network.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::other("system.runtime", format!("cannot start the async runtime: {e}")))
}

/// Refuses an error-report path that holds anything but an earlier error report (a results
/// file, an export, the ledger, given as `--errors` by mistake): the report would overwrite
/// it, or remove it when the run finds no problem.
pub fn check_error_report_path(errors: &Path) -> Result<()> {
    check_output_path(errors, "--errors")?;
    if !errors.is_file() || crate::record::errors::is_error_report(errors) {
        return Ok(());
    }
    let what = match crate::record::results::records_real_send(errors).unwrap_or(false) {
        true => "a results file that records a real send",
        false => "not an error report of tp-invite",
    };
    Err(Error::other(
        "errors.in_the_way",
        format!(
            "--errors {} is {what}; the error report would overwrite it. Give the error report another path (by \
             default it is <INPUT>.errors.csv beside the input).",
            errors.display()
        ),
    ))
}

/// A report path must be a regular file or absent: never a folder or a device.
pub fn check_output_path(path: &Path, flag: &str) -> Result<()> {
    match crate::record::results::not_a_file(path) {
        Ok(None) => Ok(()),
        Ok(Some(what)) => Err(Error::Usage(format!(
            "{flag} {} is {what}, not a file; give the path of a file (it is created if it does not exist).",
            path.display()
        ))),
        Err(e) => Err(Error::other("results.unwritable", format!("cannot use {flag} {}: {e}", path.display()))),
    }
}

/// A report path with any symbolic link resolved: the report is written where the link
/// points (and the link stays), not over the link.
pub fn resolve_link(path: &Path) -> PathBuf {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        _ => path.to_path_buf(),
    }
}

/// The API a run talks to, and the in-process sandbox behind it with `--sandbox`.
pub struct Api {
    pub client: Client,
    /// Serves until dropped.
    pub sandbox: Option<Sandbox>,
}

/// The endpoints and credentials to use: the environment's, or the in-process sandbox's.
/// `unit_given` says whether a flag or the environment names the business unit; when it does
/// not, TRUSTPILOT_BUSINESS_UNIT_ID is named with any missing credential, in one message.
pub async fn endpoints(sandbox: bool, unit_given: bool) -> Result<(Endpoints, Credentials, Option<Sandbox>)> {
    if !sandbox {
        let endpoints = Endpoints::from_env()?;
        let (credentials, mut missing) = match Credentials::from_env() {
            Ok(credentials) => (Some(credentials), Vec::new()),
            Err(ConfigError::Several { missing }) => (None, missing),
            Err(error @ (ConfigError::Missing { .. } | ConfigError::Empty { .. } | ConfigError::NoGrant)) => {
                (None, vec![error])
            }
            Err(error) => return Err(error.into()),
        };
        if !unit_given {
            missing.push(ConfigError::Missing {
                var: BUSINESS_UNIT_ID_VAR,
                what: "the id of the business unit to invite for, as `tp-invite business-unit example.com` prints \
                       it (or give --domain)",
            });
        }
        return match credentials {
            Some(credentials) if missing.is_empty() => Ok((endpoints, credentials, None)),
            _ => Err(ConfigError::together(missing).into()),
        };
    }
    let server = Sandbox::start(SandboxConfig::default(), 0)
        .await
        .map_err(|e| Error::other("sandbox.unavailable", format!("cannot start the sandbox on loopback: {e}")))?;
    let endpoints = Endpoints::new(&server.api_url(), &server.invitations_url())?;
    let credentials = Credentials {
        api_key: sandbox::DEMO_API_KEY.to_string().into(),
        api_secret: sandbox::DEMO_API_SECRET.to_string().into(),
        grant: Grant::Password {
            username: sandbox::DEMO_USERNAME.to_string(),
            password: sandbox::DEMO_PASSWORD.to_string().into(),
        },
    };
    Ok((endpoints, credentials, Some(server)))
}

/// The client for a run, its requests paced by `budget`. Reads the settings (and with
/// `--sandbox` starts the emulator); sends nothing yet.
pub async fn open_api(sending: &Sending, budget: Arc<Budget>, quiet: bool) -> Result<Api> {
    let unit_given = sending.business_unit_id.is_some() || sending.domain.is_some();
    let (endpoints, credentials, sandbox) = endpoints(sending.sandbox, unit_given).await?;
    if !quiet {
        match &sandbox {
            Some(server) => errln!(
                "Sandbox: sending to the built-in Trustpilot emulator at {} (no real invitations).",
                server.api_url()
            ),
            None => say_if_not_trustpilot(&endpoints),
        }
    }
    let client = Client::new(endpoints, credentials, Arc::new(crate::send::BudgetPace(budget)))?;
    Ok(Api { client, sandbox })
}

/// Says which base URL is not Trustpilot's, so that a forgotten variable is seen.
fn say_if_not_trustpilot(endpoints: &Endpoints) {
    let is = |url: &url::Url, default: &str| url::Url::parse(default).is_ok_and(|default| default == *url);
    if !is(&endpoints.api, api::DEFAULT_API_URL) {
        errln!(
            "Not Trustpilot: asking {} for the access token and business units (set by {}); the credentials are \
             sent there.",
            endpoints.api,
            api::API_URL_VAR
        );
    }
    if !is(&endpoints.invitations, api::DEFAULT_INVITATIONS_API_URL) {
        errln!(
            "Not Trustpilot: sending to {} (set by {}); invitations there are kept apart from Trustpilot's in the \
             ledger.",
            endpoints.invitations,
            api::INVITATIONS_API_URL_VAR
        );
    }
}

/// The business unit to send for: `--business-unit-id` (or the environment's), else the
/// domain looked up (the sandbox's demo unit with `--sandbox`).
pub async fn resolve_unit(api: &Api, sending: &Sending, quiet: bool) -> Result<BusinessUnit> {
    let demo = api.sandbox.is_some() && sending.domain.is_none();
    let id = sending.business_unit_id.as_deref().or(demo.then_some(sandbox::DEMO_BUSINESS_UNIT_ID));
    let unit =
        patiently("business unit", quiet, || api::resolve_business_unit(&api.client, id, sending.domain.as_deref()))
            .await?;
    if !quiet {
        match &unit.display_name {
            Some(name) => errln!("Business unit: {} ({name}).", unit.id),
            None => errln!("Business unit: {}.", unit.id),
        }
    }
    Ok(unit)
}

/// Gets the first access token, so a bad credential stops a run before anything is sent.
pub async fn authenticate(api: &Api, quiet: bool) -> Result<()> {
    Ok(patiently("access token", quiet, || api.client.authenticate()).await?)
}

/// Calls `call` again while Trustpilot answers 429 (it does so to token requests that come
/// too often, for instance when a cron job restarts quickly), waiting as it asks or with an
/// exponential backoff, for up to about a minute.
pub async fn patiently<T, F, Fut>(what: &str, quiet: bool, mut call: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let mut wait = Duration::from_secs(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match call().await {
            Err(ApiError::Throttled { retry_after }) if attempt < 7 => {
                let pause = retry_after.unwrap_or(wait).min(Duration::from_secs(120));
                if !quiet {
                    errln!(
                        "Trustpilot answered 429 (too many requests) when asked for the {what}; asking again in {} s.",
                        pause.as_secs_f64().ceil()
                    );
                }
                tokio::time::sleep(pause).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
            other => return other,
        }
    }
}

/// The ledger of a run that sends, its scope, and the scope's run lock (held until dropped).
pub struct Bound {
    pub ledger: Ledger,
    pub scope: Scope,
    pub scope_id: ScopeId,
    pub _lock: RunLock,
    /// With `--sandbox`: the throwaway ledger's folder, removed when the run ends.
    _throwaway: Option<tempfile::TempDir>,
}

impl Bound {
    pub fn path(&self) -> &Path {
        &self.ledger.path
    }

    /// A second connection to the same ledger (the journal's writer owns one).
    pub fn reopen(&self) -> Result<Ledger> {
        Ok(Ledger::open(&self.ledger.path)?)
    }

    /// Whether the ledger is the user's (not the sandbox's throwaway one).
    pub fn is_kept(&self) -> bool {
        self._throwaway.is_none()
    }
}

/// Opens the ledger (a throwaway one with `--sandbox`), records the scope, takes its run
/// lock (waiting for another run with `--wait`), and makes the `in_flight` entries of runs
/// that died `unknown`.
pub fn bind_ledger(
    options: &LedgerOptions,
    sandbox: bool,
    scope: Scope,
    domain: Option<&str>,
    interrupts: &EarlyInterrupts,
    quiet: bool,
) -> Result<Bound> {
    let (path, throwaway) = match sandbox {
        true => {
            let dir = tempfile::Builder::new().prefix("tp-invite-sandbox-ledger.").tempdir().map_err(|e| {
                Error::other("ledger.path", format!("cannot create a throwaway ledger for the sandbox: {e}"))
            })?;
            (dir.path().join("ledger.sqlite"), Some(dir))
        }
        false => (crate::ledger::location(options.ledger.as_deref())?, None),
    };
    let mut ledger = Ledger::open(&path)?;
    let scope_id = ledger.store.scope(&scope, domain.map(|d| d.trim().to_ascii_lowercase()).as_deref())?;
    let cancelled = || interrupts.is_pressed();
    let wait: Option<&dyn Fn() -> bool> = if options.wait { Some(&cancelled) } else { None };
    let lock = ledger.lock(&scope, wait, |holder| {
        if !quiet {
            errln!(
                "Waiting: another run is sending for business unit {} ({holder}); this one goes on when it ends.",
                scope.business_unit_id
            );
        }
    });
    let lock = match lock {
        Ok(lock) => lock,
        Err(_) if interrupts.is_pressed() => return Err(Error::Interrupted),
        Err(e) => return Err(e.into()),
    };
    let settled = ledger.store.settle_in_flight(scope_id)?;
    if settled > 0 && !quiet {
        errln!(
            "{} of an earlier run that ended before Trustpilot answered {} now `unknown` in the ledger: check {} in \
             Trustpilot Business (the results file names {}).",
            Count(settled, "request"),
            if settled == 1 { "is" } else { "are" },
            if settled == 1 { "it" } else { "them" },
            if settled == 1 { "it" } else { "each" },
        );
    }
    Ok(Bound { ledger, scope, scope_id, _lock: lock, _throwaway: throwaway })
}

/// Why a run that was not stopped left rows `skipped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// `send --limit`: the same command without it sends them.
    ByLimit,
    /// Another run was sending them: the same command sends what is left.
    ByOtherRun,
    /// `retry` passes an earlier run's `skipped` rows through; only a send of the input
    /// sends them.
    Earlier,
}

/// Sets the exit code, the reason for stopping, the next command and the advice, for the
/// commands that send.
pub fn finish_summary(
    summary: &mut Summary,
    reason: Option<StopReason>,
    again: String,
    results: &Path,
    sending: &Sending,
    skipped: Skipped,
) -> Exit {
    let exit = match &reason {
        Some(StopReason::Interrupted) => Exit::Interrupted,
        // The run stopped before its end: the same command later finishes it.
        Some(StopReason::Fatal { .. } | StopReason::Throttled(_) | StopReason::AskedToWait(_)) => Exit::Fatal,
        None => summary.completed_exit(),
    };
    summary.exit_code = exit.code();
    summary.stopped = match &reason {
        None => None,
        Some(StopReason::Interrupted) => Some("interrupted (Ctrl-C); rows not attempted are `skipped`.".to_string()),
        Some(StopReason::Fatal { message, .. }) => Some(message.clone()),
        Some(StopReason::AskedToWait(how_long)) => Some(format!(
            "Trustpilot answered 429 (too many requests) and asked to wait {} (Retry-After), longer than a run \
             waits; rows not attempted are `skipped`. Run the same command again after that.",
            humantime(*how_long)
        )),
        Some(StopReason::Throttled(how_long)) => Some(format!(
            "Trustpilot answered 429 (too many requests) for {} without a break, so the run stopped; rows not \
             attempted are `skipped`. Try again later, or with a lower --rate.",
            humantime(*how_long)
        )),
    };
    // With --json, a run that stopped says why as `error` too, as one that could not start does.
    if let (Some(reason), Some(message)) = (&reason, &summary.stopped)
        && exit == Exit::Fatal
    {
        let code = match reason {
            StopReason::Throttled(_) | StopReason::AskedToWait(_) => "api.throttled",
            StopReason::Fatal { code, .. } => code,
            StopReason::Interrupted => "interrupted",
        };
        summary.error = Some(ErrorSummary { code: code.to_string(), message: message.clone() });
    }
    let results = shell_quote(&results.to_string_lossy());
    let mut flags = String::new();
    if sending.sandbox {
        flags.push_str(" --sandbox");
    }
    if let Some(domain) = &sending.domain {
        flags.push_str(&format!(" --domain {}", shell_quote(domain)));
    }
    if summary.skipped > 0 && (reason.is_some() || skipped != Skipped::Earlier) {
        summary.next = Some(again);
        if reason.is_none() {
            summary.advice.push(match skipped {
                Skipped::ByLimit => format!(
                    "{} left by --limit; the same command without it sends them.",
                    Count(summary.skipped, "row")
                ),
                _ => format!(
                    "{} not sent: another run was sending them; the same command sends what is left.",
                    Count(summary.skipped, "row")
                ),
            });
        }
    } else if summary.failed > 0 {
        summary.next = Some(format!("tp-invite retry {results}{flags}"));
    } else if summary.invalid > 0 && summary.unknown == 0 && skipped != Skipped::Earlier {
        // Sending the file again sends exactly the rows fixed in it.
        summary.next = Some(format!("fix the rows the error report names in the input, then {again}"));
    } else if summary.unknown > 0 {
        summary.next = Some(format!(
            "check each in Trustpilot Business first; settle those it has (`tp-invite ledger settle EMAIL \
             REFERENCE --sent`), then re-send the rest: tp-invite retry {results} --include-unknown{flags}"
        ));
    }
    if summary.skipped > 0 && reason.is_none() && skipped == Skipped::Earlier {
        summary.advice.push(format!(
            "{} the earlier run did not send (`skipped`) are not `retry`'s to send, which re-sends only failed \
             rows: send the input file again (tp-invite send <INPUT>) to send them.",
            Count(summary.skipped, "row")
        ));
    }
    if summary.unknown > 0 {
        summary.advice.push(format!(
            "{} may or may not have reached Trustpilot (the connection broke, the answer was unclear, or a run ended \
             before the answer came); they are not sent again until you settle them. The results file says why for \
             each.",
            Count(summary.unknown, "row")
        ));
    }
    exit
}

fn humantime(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        // Retry-After is capped at a day (api::MAX_RETRY_AFTER): longer says no more.
        86_400.. => "a day or more".to_string(),
        7_200.. => Count(secs / 3600, "hour").to_string(),
        120.. => Count(secs / 60, "minute").to_string(),
        _ => Count(secs, "second").to_string(),
    }
}

/// This command line again, without `--dry-run`, `--limit`, `--resume`, `--json`, `--quiet`.
pub fn same_command() -> String {
    // Not `env::args`, which panics on a file name that is not Unicode.
    let args: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
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
    out.join(" ")
}
