//! Turns the parsed command line into what the engine runs on, checking every combination
//! of flags in this one step so the engine can trust what it is given.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{DefaultArgs, InputArgs, LedgerOptions, OutputArgs, Rate, RetryArgs, SendArgs, SendingArgs};
use crate::error::Error;
use crate::input::InputOptions;
use crate::validate::Defaults;

/// Trustpilot's quota (SPEC section 5): both windows hold.
pub fn trustpilot_quota() -> Vec<Rate> {
    vec![Rate { count: 833, per: Duration::from_secs(300) }, Rate { count: 10_000, per: Duration::from_secs(3600) }]
}

/// How to send, shared by `send` and `retry`.
#[derive(Debug, Clone)]
pub struct Sending {
    pub business_unit_id: Option<String>,
    pub domain: Option<String>,
    /// Every window must hold.
    pub rates: Vec<Rate>,
    pub concurrency: usize,
    pub max_attempts: u32,
    pub sandbox: bool,
    /// Base of the exponential backoff for retryable failures.
    pub backoff: Duration,
    /// How long continuous throttling (429) may last before the run stops.
    pub max_throttle: Duration,
}

/// `send`.
#[derive(Debug)]
pub struct SendConfig {
    /// What each row's request asks: an email invitation (`send`) or a link (`links`).
    pub kind: crate::journal::Kind,
    /// The input file, or `-` for standard input.
    pub input: PathBuf,
    /// Whether the input is standard input (`-`).
    pub stdin: bool,
    pub results: PathBuf,
    pub errors: PathBuf,
    /// Whether `--results` was given (the next command to run must repeat it).
    pub results_given: bool,
    pub dry_run: bool,
    pub limit: Option<u64>,
    pub input_options: InputOptions,
    /// Whom to invite and when; tied to the file's columns once it is open.
    pub rules: crate::rows::Rules,
    pub defaults: Defaults,
    pub sending: Sending,
    pub ledger: LedgerOptions,
    pub output: OutputArgs,
}

/// `retry`.
#[derive(Debug)]
pub struct RetryConfig {
    pub results: PathBuf,
    pub errors: PathBuf,
    pub include_unknown: bool,
    pub defaults: Defaults,
    pub sending: Sending,
    pub ledger: LedgerOptions,
    pub output: OutputArgs,
}

/// `customers.csv` -> `customers.<suffix>`, beside it.
pub fn beside(input: &Path, suffix: &str) -> PathBuf {
    let stem = input.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "input".to_string());
    input.with_file_name(format!("{stem}.{suffix}"))
}

/// `orders.results.csv` -> `orders.<suffix>`, beside it (`out.csv` -> `out.<suffix>`).
pub fn beside_results(results: &Path, suffix: &str) -> PathBuf {
    let name = results.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name.strip_suffix(".results.csv").or_else(|| name.strip_suffix(".csv")).unwrap_or(&name);
    results.with_file_name(format!("{stem}.{suffix}"))
}

/// How messages name standard input.
pub const STDIN_NAME: &str = "standard input";

impl SendConfig {
    pub fn from_args(args: SendArgs) -> Result<SendConfig, Error> {
        SendConfig::new(args, crate::journal::Kind::Email)
    }

    /// `links`: the same run, making a link of each row.
    pub fn from_links(args: crate::cli::LinksArgs) -> Result<SendConfig, Error> {
        SendConfig::new(args.into(), crate::journal::Kind::Link)
    }

    fn new(args: SendArgs, kind: crate::journal::Kind) -> Result<SendConfig, Error> {
        let stdin = args.input.as_os_str() == "-";
        if stdin && args.results.is_none() {
            return Err(Error::Usage(
                "reading standard input (INPUT -) needs --results PATH: there is no input file to write the \
                 results beside."
                    .to_string(),
            ));
        }
        let results_given = args.results.is_some();
        let suffix = match kind {
            crate::journal::Kind::Email => "results.csv",
            crate::journal::Kind::Link => "links.csv",
        };
        let results = args.results.unwrap_or_else(|| beside(&args.input, suffix));
        let errors = args.errors.unwrap_or_else(|| match stdin {
            true => beside_results(&results, "errors.csv"),
            false => beside(&args.input, "errors.csv"),
        });
        for (flag, path) in [("--results", &results), ("--errors", &errors)] {
            if same_file(path, &args.input) {
                return Err(Error::Usage(format!(
                    "{flag} {} is the input file itself; choose another path so the input is not overwritten.",
                    path.display()
                )));
            }
        }
        if same_file(&results, &errors) {
            return Err(Error::Usage(format!(
                "--results and --errors are the same file ({}); give them different paths.",
                results.display()
            )));
        }
        if args.limit == Some(0) {
            return Err(Error::Usage("--limit 0 would send nothing; use --dry-run to only validate.".to_string()));
        }
        Ok(SendConfig {
            kind,
            input: args.input,
            stdin,
            results,
            errors,
            results_given,
            dry_run: args.dry_run,
            limit: args.limit,
            rules: rules(&args.select, args.products)?,
            input_options: input_options(args.input_options, args.products),
            defaults: defaults(&args.defaults)?,
            sending: sending(&args.sending)?,
            ledger: args.ledger,
            output: args.output,
        })
    }
}

impl SendConfig {
    /// The input as messages name it.
    pub fn shown_input(&self) -> String {
        match self.stdin {
            true => STDIN_NAME.to_string(),
            false => self.input.display().to_string(),
        }
    }
}

impl RetryConfig {
    pub fn from_args(args: RetryArgs) -> Result<RetryConfig, Error> {
        let errors = args.errors.unwrap_or_else(|| beside_results(&args.results, "retry-errors.csv"));
        if same_file(&errors, &args.results) {
            return Err(Error::Usage("--errors is the results file itself; choose another path.".to_string()));
        }
        Ok(RetryConfig {
            results: args.results,
            errors,
            include_unknown: args.include_unknown,
            defaults: defaults(&args.defaults)?,
            sending: sending(&args.sending)?,
            ledger: args.ledger,
            output: args.output,
        })
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn input_options(args: InputArgs, products: crate::cli::ProductArgs) -> InputOptions {
    InputOptions {
        encoding: args.encoding,
        delimiter: args.delimiter,
        no_header: args.no_header,
        maps: args.maps,
        products: products.products || products.product_skus,
    }
}

/// Whom to invite and when, checked: durations, the date format and time zone, the
/// exclusion lists (read now: an unreadable or empty one stops the run) and the skip rules.
pub fn rules(args: &crate::cli::SelectArgs, input: crate::cli::ProductArgs) -> Result<crate::rows::Rules, Error> {
    use crate::rows::{ProductMode, Rules};
    let duration = |flag: &str, text: &Option<String>| -> Result<Option<chrono::TimeDelta>, Error> {
        text.as_deref()
            .map(|text| crate::schedule::parse_duration(text).map_err(|e| Error::Usage(format!("{flag} {e}"))))
            .transpose()
    };
    let send_after = duration("--send-after", &args.send_after)?;
    for (flag, given) in [("--date-column", args.date_column.is_some()), ("--date-format", args.date_format.is_some())]
    {
        if given && send_after.is_none() {
            return Err(Error::Usage(format!(
                "{flag} is for --send-after; give --send-after too (e.g. --send-after 7d)."
            )));
        }
    }
    let dates = crate::schedule::DateReader::new(args.date_format.as_deref(), args.timezone.as_deref())
        .map_err(Error::Usage)?;
    let skip = args
        .skip_where
        .iter()
        .map(|text| crate::exclude::SkipRule::parse(text).map_err(|e| Error::Usage(format!("--skip-where {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let exclude = match args.exclude.is_empty() {
        true => None,
        false => Some(crate::exclude::ExclusionList::load(&args.exclude)?),
    };
    let products = match (input.products, input.product_skus) {
        (_, true) => Some(ProductMode::Skus),
        (true, false) => Some(ProductMode::Listed),
        (false, false) => None,
    };
    let cooldown = duration("--cooldown", &args.cooldown)?;
    // A window of nothing leaves no one out by the ledger yet still one order per customer of
    // the file: say so rather than guess which was meant. (`--send-after 0d` is taken: it
    // sends at the order's date, one that may lie ahead.)
    if let (Some(window), Some(text)) = (cooldown, &args.cooldown)
        && window.is_zero()
    {
        return Err(Error::Usage(format!(
            "--cooldown {}: a cool-down of no time leaves no one out; give how long to wait before inviting a \
             customer again (e.g. --cooldown 30d), or leave --cooldown out to invite every order.",
            text.trim()
        )));
    }
    Ok(Rules { products, send_after, date_column: args.date_column.clone(), dates, exclude, skip, cooldown })
}

fn defaults(args: &DefaultArgs) -> Result<Defaults, Error> {
    Defaults::new(args.values.iter().map(|(field, value)| (*field, Some(value.clone())))).map_err(Error::Usage)
}

fn sending(args: &SendingArgs) -> Result<Sending, Error> {
    let rates = match args.rate {
        Some(rate) => vec![rate],
        None if args.sandbox => vec![Rate { count: 20, per: Duration::from_secs(1) }],
        None => trustpilot_quota(),
    };
    // Tests and rehearsals may shorten the waits; real runs keep Trustpilot's advice.
    let backoff = env_millis("TP_INVITE_BACKOFF_MS").unwrap_or(if args.sandbox {
        Duration::from_millis(100)
    } else {
        Duration::from_secs(2)
    });
    let max_throttle = env_millis("TP_INVITE_MAX_THROTTLE_MS").unwrap_or(Duration::from_secs(15 * 60));
    let (business_unit_id, domain) =
        crate::cli::business_unit(args.business_unit_id.as_deref(), args.domain.as_deref());
    Ok(Sending {
        business_unit_id,
        domain,
        rates,
        concurrency: args.concurrency as usize,
        max_attempts: args.max_attempts,
        sandbox: args.sandbox,
        backoff,
        max_throttle,
    })
}

fn env_millis(name: &str) -> Option<Duration> {
    std::env::var(name).ok()?.trim().parse().ok().map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_paths_sit_beside_the_input() {
        assert_eq!(beside(Path::new("data/customers.csv"), "results.csv"), Path::new("data/customers.results.csv"));
        assert_eq!(beside(Path::new("export"), "errors.csv"), Path::new("export.errors.csv"));
        assert_eq!(beside(Path::new("a.b.csv"), "results.csv"), Path::new("a.b.results.csv"));
        assert_eq!(beside_results(Path::new("d/in.results.csv"), "errors.csv"), Path::new("d/in.errors.csv"));
        assert_eq!(beside_results(Path::new("out.csv"), "retry-errors.csv"), Path::new("out.retry-errors.csv"));
    }
}
