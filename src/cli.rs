//! The command line, as clap parses it. `config` turns it into what the engine runs on. Every
//! help text comes from the doc comments below; what each command reads from the environment
//! and its exit codes are said after its options ([`help`]).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::fields::Field;

pub mod help;

/// Send Trustpilot service review invitations from a customer export (CSV), safely:
/// validate first, never send a row twice, keep a complete record of every row.
#[derive(Debug, Parser)]
#[command(
    name = "tp-invite",
    version = crate::VERSION,
    about,
    max_term_width = 100,
    after_help = help::top()
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Whether the command asks for one JSON object on stdout.
    pub fn json(&self) -> bool {
        match &self.command {
            Command::Send(args) => args.output.json,
            Command::Retry(args) => args.output.json,
            Command::Links(args) => args.output.json,
            Command::Ledger(args) => args.json,
            Command::Templates(args) => args.json,
            Command::BusinessUnit(args) => args.json,
            Command::Sandbox(_) | Command::Completions(_) => false,
        }
    }

    /// Whether the command is a run (`send`, `retry`), whose JSON always holds the counts.
    pub fn is_run(&self) -> bool {
        matches!(self.command, Command::Send(_) | Command::Retry(_))
    }

    /// Whether the command prints only what it must (a reason to stop still shows).
    pub fn quiet(&self) -> bool {
        match &self.command {
            Command::Send(args) => args.output.quiet || args.output.json,
            Command::Retry(args) => args.output.quiet || args.output.json,
            Command::Links(args) => args.output.quiet || args.output.json,
            _ => self.json(),
        }
    }

    /// The `--env-file` given, if any.
    pub fn env_file(&self) -> Option<&std::path::Path> {
        let args = match &self.command {
            Command::Send(args) => &args.sending.env,
            Command::Retry(args) => &args.sending.env,
            Command::Links(args) => &args.sending.env,
            Command::Ledger(args) => &args.env,
            Command::BusinessUnit(args) => &args.env,
            Command::Templates(args) => &args.env,
            Command::Sandbox(_) | Command::Completions(_) => return None,
        };
        args.env_file.as_deref()
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a customer export and send an invitation for every valid row.
    #[command(after_help = help::send())]
    Send(Box<SendArgs>),
    /// Re-send the rows of a results file whose status is `failed`.
    #[command(after_help = help::retry())]
    Retry(RetryArgs),
    /// Create an invitation link for every valid row, for SMS, a QR code or the shop's own
    /// email tool: no email is sent, the results carry each link (made once: running again
    /// gives the same links).
    #[command(after_help = help::links())]
    Links(Box<LinksArgs>),
    /// Show what the ledger holds (who was invited), export it, forget a customer, settle an
    /// unknown outcome, or import the results files of tp-invite 0.1.
    #[command(after_help = help::ledger())]
    Ledger(LedgerArgs),
    /// Print the business unit id (and display name) of a domain.
    #[command(after_help = help::business_unit())]
    BusinessUnit(BusinessUnitArgs),
    /// List the business unit's invitation templates: id, name, locale, default.
    #[command(after_help = help::templates())]
    Templates(TemplatesArgs),
    /// Run the Trustpilot API emulator as a standalone server on loopback.
    #[command(after_help = help::sandbox())]
    Sandbox(SandboxArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    #[command(after_help = help::completions())]
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The customer export to read (CSV, any common encoding and delimiter), or - to read
    /// standard input (then --results is required).
    pub input: PathBuf,

    /// Validate only: no network, no credentials needed.
    #[arg(long, help_heading = "Sending")]
    pub dry_run: bool,

    /// Send at most N invitations; the rest are `skipped` (a canary run).
    #[arg(long, value_name = "N", help_heading = "Sending")]
    pub limit: Option<u64>,

    /// Accepted for scripts written for tp-invite 0.1; it changes nothing: sending the same
    /// file again always finishes the job (rows already invited are `already_sent`).
    #[arg(long, hide = true)]
    pub resume: bool,

    #[command(flatten)]
    pub input_options: InputArgs,

    #[command(flatten)]
    pub products: ProductArgs,

    #[command(flatten)]
    pub select: SelectArgs,

    #[command(flatten)]
    pub sending: SendingArgs,

    #[command(flatten)]
    pub defaults: DefaultArgs,

    #[command(flatten)]
    pub ledger: LedgerOptions,

    /// Where to write the results [default: <INPUT without extension>.results.csv].
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub results: Option<PathBuf>,

    /// Where to write the error report [default: <INPUT without extension>.errors.csv, or
    /// beside --results when INPUT is -].
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub errors: Option<PathBuf>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct LinksArgs {
    /// The customer export to read (CSV, any common encoding and delimiter), or - to read
    /// standard input (then --results is required).
    pub input: PathBuf,

    /// Validate only, and say which rows have a link already: nothing is created, no
    /// credentials are needed.
    #[arg(long)]
    pub dry_run: bool,

    /// Create at most N links; the rest are `skipped`.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,

    #[command(flatten)]
    pub input_options: InputArgs,

    #[command(flatten)]
    pub sending: SendingArgs,

    #[command(flatten)]
    pub defaults: LinkDefaultArgs,

    #[command(flatten)]
    pub ledger: LedgerOptions,

    /// Where to write the results, with a `link` column [default: <INPUT without extension>.links.csv].
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub results: Option<PathBuf>,

    /// Where to write the error report [default: <INPUT without extension>.errors.csv].
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub errors: Option<PathBuf>,

    #[command(flatten)]
    pub output: OutputArgs,
}

impl From<LinksArgs> for SendArgs {
    /// `links` is a send whose requests make links: the same options, no rules of whom or
    /// when (a link has no send time).
    fn from(args: LinksArgs) -> SendArgs {
        SendArgs {
            input: args.input,
            dry_run: args.dry_run,
            limit: args.limit,
            resume: false,
            input_options: args.input_options,
            products: ProductArgs::default(),
            select: SelectArgs::default(),
            sending: args.sending,
            defaults: args.defaults.0,
            ledger: args.ledger,
            results: args.results,
            errors: args.errors,
            output: args.output,
        }
    }
}

#[derive(Debug, Args)]
pub struct RetryArgs {
    /// The results file of an earlier run; it is rewritten in place.
    pub results: PathBuf,

    /// Also re-send rows whose outcome is `unknown` (they may already have been delivered:
    /// check them in Trustpilot Business first).
    #[arg(long, help_heading = "Sending")]
    pub include_unknown: bool,

    #[command(flatten)]
    pub sending: SendingArgs,

    #[command(flatten)]
    pub defaults: DefaultArgs,

    #[command(flatten)]
    pub ledger: LedgerOptions,

    /// Where to write the error report for rows that no longer validate
    /// [default: <RESULTS without .results.csv>.retry-errors.csv].
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub errors: Option<PathBuf>,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// Which ledger, and what to do when another run is sending.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Ledger")]
pub struct LedgerOptions {
    /// The ledger file [default: TP_INVITE_LEDGER, else tp-invite/ledger.sqlite in your data
    /// folder, e.g. ~/.local/share on Linux].
    #[arg(long, value_name = "PATH")]
    pub ledger: Option<PathBuf>,

    /// If another run is sending for this business unit, wait for it to end and then go on
    /// (without it, this run stops at once with exit code 1).
    #[arg(long)]
    pub wait: bool,
}

/// Where the settings come from besides the environment.
#[derive(Debug, Args, Clone, Default)]
pub struct EnvArgs {
    /// Read TRUSTPILOT_* settings (and TP_INVITE_LEDGER) from this file: KEY=VALUE lines,
    /// `export` optional, # comments, values in quotes. Refused unless only its owner may read
    /// it (chmod 600). Its values win over variables already set.
    #[arg(long, value_name = "PATH", global = true)]
    pub env_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LedgerArgs {
    #[command(subcommand)]
    pub action: Option<LedgerAction>,

    /// The ledger file [default: TP_INVITE_LEDGER, else tp-invite/ledger.sqlite in your data
    /// folder].
    #[arg(long, value_name = "PATH", global = true)]
    pub ledger: Option<PathBuf>,

    /// Print one JSON object on stdout, whatever the outcome.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(flatten)]
    pub env: EnvArgs,
}

#[derive(Debug, Subcommand)]
pub enum LedgerAction {
    /// Write every entry of the ledger as CSV (to stdout, or --output).
    #[command(after_help = help::ledger())]
    Export {
        /// Only this business unit's entries.
        #[arg(long, value_name = "ID")]
        business_unit_id: Option<String>,
        /// Write to this file instead of stdout (needed with --json).
        #[arg(long, value_name = "PATH")]
        output: Option<PathBuf>,
    },
    /// Delete every entry of these customers (a data-protection request). They could then be
    /// invited again by a later run: remove them from your exports too, or keep an --exclude
    /// list.
    #[command(after_help = help::ledger())]
    Forget {
        /// The customers' email addresses.
        #[arg(required = true, value_name = "EMAIL")]
        emails: Vec<String>,
    },
    /// After checking in Trustpilot Business, settle an invitation whose outcome is
    /// `unknown`: --sent records it as sent, --not-sent lets the next run send it.
    #[command(group = clap::ArgGroup::new("outcome").args(["sent", "not_sent"]).required(true))]
    #[command(after_help = help::ledger())]
    Settle {
        /// The customer's email address.
        email: String,
        /// The invitation's reference (order number).
        reference: String,
        /// Trustpilot has the invitation.
        #[arg(long, conflicts_with = "not_sent")]
        sent: bool,
        /// Trustpilot does not have it: the next run sends it.
        #[arg(long)]
        not_sent: bool,
        #[command(flatten)]
        unit: UnitArgs,
    },
    /// Record the `sent` and `unknown` rows of results files written by tp-invite 0.1 (before
    /// the ledger), so that nobody in them is invited again (a `links` report: its links).
    #[command(after_help = help::ledger())]
    Import {
        /// Results files of earlier runs.
        #[arg(required = true, value_name = "RESULTS")]
        results: Vec<PathBuf>,
        #[command(flatten)]
        unit: UnitArgs,
    },
}

/// The business unit a ledger command is about.
#[derive(Debug, Args, Clone, Default)]
pub struct UnitArgs {
    /// The business unit [default: TRUSTPILOT_BUSINESS_UNIT_ID, unless --domain].
    #[arg(long, value_name = "ID", conflicts_with = "domain")]
    pub business_unit_id: Option<String>,

    /// The business unit an earlier send recorded for this domain (e.g. example.com; a URL
    /// such as https://www.example.com/ works too).
    #[arg(long, value_name = "DOMAIN", value_parser = parse_domain)]
    pub domain: Option<String>,
}

/// How to read the input file.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Input")]
pub struct InputArgs {
    /// Which input column holds a field (the help lists the fields of the table of fields).
    #[arg(long = "map", value_name = "FIELD=COLUMN", value_parser = parse_map, help = map_help())]
    pub maps: Vec<(String, String)>,

    /// The file has no header row: its columns are email, name, reference (or as --map
    /// numbers them).
    #[arg(long)]
    pub no_header: bool,

    /// The field delimiter: , ; | or tab [default: detected].
    #[arg(long, value_name = "C", value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,

    /// The file's encoding, e.g. utf-8, windows-1252, utf-16le [default: detected].
    #[arg(long, value_name = "NAME", value_parser = parse_encoding)]
    pub encoding: Option<&'static encoding_rs::Encoding>,
}

/// Product reviews (`send` only: an invitation link carries no products).
#[derive(Debug, Args, Clone, Copy, Default)]
#[command(next_help_heading = "Input")]
pub struct ProductArgs {
    /// Also ask for product reviews: the rows of one order (same reference, anywhere in the
    /// file) become one invitation listing each of its products once (SKU, name, and the
    /// product's URL, image, GTIN, MPN and brand when the file has them).
    #[arg(long)]
    pub products: bool,

    /// With --products: send only the SKUs (productSkus), for accounts whose product
    /// catalogue is uploaded to Trustpilot.
    #[arg(long)]
    pub product_skus: bool,
}

/// Whom to invite, and when.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Whom and when")]
pub struct SelectArgs {
    /// Send each invitation DURATION after the order's date (e.g. 7d, 36h, 2w, 1d12h): the
    /// preferred send time is the date in --date-column plus DURATION, left out when already
    /// past (Trustpilot then sends at once). A row's own preferred_send_time wins.
    #[arg(long, value_name = "DURATION")]
    pub send_after: Option<String>,

    /// The column holding the order's or fulfilment's date for --send-after [default: a column
    /// named like "Fulfilled at", "Order Date" or "Created at"].
    #[arg(long, value_name = "COLUMN")]
    pub date_column: Option<String>,

    /// How dates with the day and month in numbers are written, e.g. %d/%m/%Y or %m/%d/%Y
    /// (never guessed).
    #[arg(long, value_name = "FORMAT")]
    pub date_format: Option<String>,

    /// The time zone of dates written without an offset, e.g. Europe/Copenhagen [default: UTC].
    #[arg(long, value_name = "IANA")]
    pub timezone: Option<String>,

    /// Never invite these: a file of email addresses and @domains (one a line), or a CSV
    /// export with an email column (an unsubscribe list). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub exclude: Vec<PathBuf>,

    /// Do not invite rows whose COLUMN equals one of the values (trimmed, any case), e.g.
    /// "Financial Status=refunded|voided". For orders that did not happen, not for unhappy
    /// customers: Trustpilot's guidelines forbid choosing whom to invite by the review you
    /// expect. Repeatable.
    #[arg(long, value_name = "COLUMN=VALUE|VALUE")]
    pub skip_where: Vec<String>,

    /// Do not invite a customer (any order) invited less than DURATION ago, e.g. 30d; within
    /// one file, the customer's first order wins.
    #[arg(long, value_name = "DURATION")]
    pub cooldown: Option<String>,
}

/// Values for rows whose column is absent or empty: a flag for each field the table of fields
/// gives one (`--locale`, `--template-id`, ...), with its help from that table.
#[derive(Debug, Clone, Default)]
pub struct DefaultArgs {
    /// The flags given, by field.
    pub values: Vec<(Field, String)>,
}

impl DefaultArgs {
    /// The fields that have a default flag, with the flag.
    fn flagged() -> impl Iterator<Item = (&'static crate::fields::Spec, &'static str)> {
        crate::fields::FIELDS.iter().filter_map(|spec| spec.flag.map(|flag| (spec, flag)))
    }
}

impl clap::FromArgMatches for DefaultArgs {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        Self::from_arg_matches_mut(&mut matches.clone())
    }

    fn from_arg_matches_mut(matches: &mut clap::ArgMatches) -> Result<Self, clap::Error> {
        let values = DefaultArgs::flagged()
            // A command may define only some of the flags (`links`): the others are absent.
            .filter_map(|(spec, _)| {
                matches.try_remove_one::<String>(spec.name).ok().flatten().map(|value| (spec.field, value))
            })
            .collect();
        Ok(DefaultArgs { values })
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for DefaultArgs {
    fn augment_args(command: clap::Command) -> clap::Command {
        DefaultArgs::augment(command, |_| true)
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        Self::augment_args(command)
    }
}

impl DefaultArgs {
    /// The flags of the fields `wanted` keeps.
    fn augment(command: clap::Command, wanted: fn(&crate::fields::Spec) -> bool) -> clap::Command {
        use crate::fields::Rule;
        let command = command.next_help_heading("Defaults (for rows whose column is absent or empty)");
        DefaultArgs::flagged().filter(|(spec, _)| wanted(spec)).fold(command, |command, (spec, flag)| {
            let value_name = match spec.rule {
                Rule::Email => "EMAIL",
                Rule::Url => "URL",
                Rule::Name => "NAME",
                Rule::Text => "ID",
                Rule::Locale => "LOCALE",
                Rule::Tags => "TAGS",
                Rule::Reference | Rule::SendTime => "VALUE",
            };
            command.arg(clap::Arg::new(spec.name).long(flag).value_name(value_name).help(spec.help))
        })
    }
}

/// `links`' defaults: those of the fields an invitation link carries (no template, sender or
/// send time: a link sends no email).
#[derive(Debug, Clone, Default)]
pub struct LinkDefaultArgs(pub DefaultArgs);

impl clap::FromArgMatches for LinkDefaultArgs {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        DefaultArgs::from_arg_matches(matches).map(LinkDefaultArgs)
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }
}

impl Args for LinkDefaultArgs {
    fn augment_args(command: clap::Command) -> clap::Command {
        DefaultArgs::augment(command, |spec| spec.link.is_some())
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        Self::augment_args(command)
    }
}

/// Where and how fast to send.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Sending")]
pub struct SendingArgs {
    /// The business unit to invite for [default: TRUSTPILOT_BUSINESS_UNIT_ID, unless --domain].
    #[arg(long, value_name = "ID", conflicts_with = "domain")]
    pub business_unit_id: Option<String>,

    /// Find the business unit by its domain, e.g. example.com (a URL such as
    /// https://www.example.com/ works too).
    #[arg(long, value_name = "DOMAIN", value_parser = parse_domain)]
    pub domain: Option<String>,

    /// Requests per unit of time, e.g. 2/s, 150/min, 9000/h, 833/5min
    /// [default: Trustpilot's quota, 833 per 5 minutes and 10,000 per hour].
    #[arg(long, value_name = "N/UNIT", value_parser = parse_rate)]
    pub rate: Option<Rate>,

    /// Requests in flight at most.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,

    /// Attempts per row for failures that created nothing (5xx other than 504, 408, 425,
    /// connection refused); a 504 may have created it: `unknown`, never retried.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,

    /// Send to an in-process emulator of the Trustpilot API, with demo credentials.
    #[arg(long)]
    pub sandbox: bool,

    #[command(flatten)]
    pub env: EnvArgs,
}

/// What to print.
#[derive(Debug, Args, Clone, Copy, Default)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Write the results and the error report for Excel: with a UTF-8 byte order mark and the
    /// input's delimiter (e.g. ; for a European Excel export), so a double-click opens them
    /// right.
    #[arg(long)]
    pub excel: bool,

    /// Print one JSON object on stdout, whatever the outcome (the counts, the files, the exit
    /// code, and why the run could not run or stopped).
    #[arg(long)]
    pub json: bool,

    /// No progress, no summary; a reason to stop is still one line on stderr.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct BusinessUnitArgs {
    /// The shop's domain, e.g. example.com (a URL such as https://www.example.com/ works too).
    #[arg(value_parser = parse_domain)]
    pub domain: String,

    /// Ask the in-process emulator instead of Trustpilot.
    #[arg(long)]
    pub sandbox: bool,

    /// Print one JSON object on stdout: the id and names, or why not.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub env: EnvArgs,
}

#[derive(Debug, Args)]
pub struct TemplatesArgs {
    /// The business unit [default: TRUSTPILOT_BUSINESS_UNIT_ID, unless --domain].
    #[arg(long, value_name = "ID", conflicts_with = "domain")]
    pub business_unit_id: Option<String>,

    /// Find the business unit by its domain, e.g. example.com.
    #[arg(long, value_name = "DOMAIN", value_parser = parse_domain)]
    pub domain: Option<String>,

    /// Ask the in-process emulator instead of Trustpilot.
    #[arg(long)]
    pub sandbox: bool,

    /// Print one JSON object on stdout: the templates, or why not.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub env: EnvArgs,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Port to listen on, on 127.0.0.1 [default: any free port].
    #[arg(long, default_value_t = 0, hide_default_value = true)]
    pub port: u16,

    #[command(flatten)]
    pub faults: FaultArgs,
}

/// The emulator's fault knobs.
#[derive(Debug, Args, Clone, Default)]
pub struct FaultArgs {
    /// Answer every request after this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency: u64,

    /// Add up to ± this many milliseconds of random latency.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub jitter: u64,

    /// Share of invitation and link requests answered 500 (0.0 to 1.0).
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = parse_share)]
    pub fail_rate: f64,

    /// Share of invitation and link requests accepted, then left without an answer (connection dropped).
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = parse_share)]
    pub drop_rate: f64,

    /// Answer 429 beyond this many requests per window, e.g. 20/s or 833/5min.
    #[arg(long, value_name = "N/UNIT", value_parser = parse_rate)]
    pub quota: Option<Rate>,

    /// With --quota: send this Retry-After (seconds) on a 429 [default: no header].
    #[arg(long, value_name = "SECONDS")]
    pub retry_after: Option<u64>,

    /// With --quota: send this text as the Retry-After of a 429, as it is (e.g. 1e30, -5 or
    /// "Fri, 31 Dec 9999 23:59:59 GMT"), to see how a client copes.
    #[arg(long, value_name = "TEXT", conflicts_with = "retry_after")]
    pub retry_after_text: Option<String>,

    /// Share of invitation and link requests accepted, then answered 504 Gateway Timeout (as a gateway
    /// that stopped waiting for a service that created the invitation all the same).
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = parse_share)]
    pub timeout_rate: f64,

    /// Share of invitation and link requests accepted, then answered 303 See Other (a redirect).
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = parse_share)]
    pub redirect_rate: f64,

    /// Refuse every token request with 400, echoing its Authorization header and form body in
    /// the error (as a gateway's debug mode might).
    #[arg(long)]
    pub echo_token_requests: bool,

    /// Refuse every invitation that passes its checks with 400, echoing its body and its
    /// Authorization header (the access token) in the error.
    #[arg(long)]
    pub echo_invitation_requests: bool,

    /// Lifetime of the access tokens it issues, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 359_999)]
    pub token_lifetime: u64,

    /// Seed for the random faults, so a run can be repeated.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// The business unit a command names: `--business-unit-id`, else `--domain`, else the
/// environment's TRUSTPILOT_BUSINESS_UNIT_ID. (A flag wins over the environment, so a
/// `--domain` on the command line is not refused for a variable set elsewhere.)
pub fn business_unit(id: Option<&str>, domain: Option<&str>) -> (Option<String>, Option<String>) {
    let clean = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    let (id, domain) = (clean(id), clean(domain));
    if id.is_some() || domain.is_some() {
        return (id, domain);
    }
    (clean(std::env::var("TRUSTPILOT_BUSINESS_UNIT_ID").ok().as_deref()), None)
}

/// A number of requests per period of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl Rate {
    /// The longest window a rate may have. Trustpilot's longest quota window is an hour; a
    /// longer one only holds a run back for no reason, and an absurd one (years) would
    /// overflow the clock arithmetic of the budget.
    pub const MAX_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
    /// The shortest time between two requests a rate may ask for (a million a second). Below
    /// it the spacing is no longer a measurable wait, and at a nanosecond it rounds to zero.
    pub const MIN_SPACING: Duration = Duration::from_micros(1);
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.per.as_secs();
        match secs {
            1 => write!(f, "{}/s", self.count),
            60 => write!(f, "{}/min", self.count),
            3600 => write!(f, "{}/h", self.count),
            s if s % 60 == 0 => write!(f, "{}/{}min", self.count, s / 60),
            s => write!(f, "{}/{}s", self.count, s),
        }
    }
}

/// `2/s`, `150/min`, `9000/h`, `833/5min`. Every number is checked before any arithmetic, so
/// no value wraps or panics; windows over a day and rates over a million a second are refused.
pub fn parse_rate(text: &str) -> Result<Rate, String> {
    let bad = || {
        format!(
            "'{text}' is not a rate: write N/UNIT with UNIT s, min or h, optionally after a number (e.g. 2/s, \
             150/min, 9000/h, 833/5min)"
        )
    };
    let (count, unit) = text.trim().split_once('/').ok_or_else(bad)?;
    let count = count.trim();
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let count: u32 = count
        .parse()
        .map_err(|_| format!("'{text}': the number of requests must be at most {} (e.g. 2/s)", u32::MAX))?;
    if count == 0 {
        return Err(format!("'{text}': the rate must be at least 1 request per unit"));
    }
    let unit = unit.trim();
    let digits = unit.bytes().take_while(u8::is_ascii_digit).count();
    let (multiple, unit) = unit.split_at(digits);
    let unit_seconds: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "s" | "sec" | "second" | "seconds" => 1,
        "m" | "min" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        _ => return Err(bad()),
    };
    let too_long = || {
        format!(
            "'{text}': the window is longer than a day; write the rate per second, minute or hour \
             (e.g. 833/5min, 10000/h)"
        )
    };
    // Digits only, so a failed parse means more than u64 holds: far longer than a day.
    let multiple: u64 = if multiple.is_empty() { 1 } else { multiple.parse().map_err(|_| too_long())? };
    if multiple == 0 {
        return Err(format!("'{text}': the window must be at least 1 {}", unit.trim()));
    }
    let seconds = multiple.checked_mul(unit_seconds).ok_or_else(too_long)?;
    let per = Duration::from_secs(seconds);
    if per > Rate::MAX_WINDOW {
        return Err(too_long());
    }
    if per / count < Rate::MIN_SPACING {
        return Err(format!("'{text}' is more than a million requests a second; write a lower rate (e.g. 100000/s)"));
    }
    Ok(Rate { count, per })
}

/// The names `--map` takes: every field, and the two halves of a name.
fn map_fields() -> impl Iterator<Item = &'static str> + Clone {
    Field::ALL.iter().flat_map(|field| match field {
        Field::Name => vec!["name", "first_name", "last_name"],
        field => vec![field.name()],
    })
}

fn map_help() -> String {
    format!(
        "Which input column holds a field: its header, or its number counted from 1, e.g. --map \
         email=\"Customer E-mail\" or --map email=3 (with --no-header, numbers only). --map FIELD= (nothing \
         after =) means no column holds it: it turns a guessed column off. One column may serve two fields \
         (--map reference=Email). Repeatable. Fields: {}",
        map_fields().collect::<Vec<_>>().join(", ")
    )
}

fn parse_map(text: &str) -> Result<(String, String), String> {
    let (field, header) = text.split_once('=').ok_or_else(|| {
        format!("'{text}' is not a mapping: write FIELD=COLUMN, e.g. --map email=\"E-mail address\" or --map email=3")
    })?;
    let field = field.trim().to_ascii_lowercase().replace('-', "_");
    if !map_fields().any(|name| name == field) {
        return Err(format!(
            "'{field}' is not a field; the fields are: {}",
            map_fields().collect::<Vec<_>>().join(", ")
        ));
    }
    // Empty: no column holds the field (a guessed column switched off).
    Ok((field, header.trim().to_string()))
}

/// A shop's domain as Trustpilot knows it: `example.com`, also when written as a URL
/// (`https://www.example.com/shop` -> `example.com`).
fn parse_domain(text: &str) -> Result<String, String> {
    let bad = || {
        format!(
            "'{text}' is not a domain: write the shop's domain, e.g. example.com (a URL such as \
             https://www.example.com/ works too)"
        )
    };
    let trimmed = text.trim();
    let rest = trimmed.split_once("://").map_or(trimmed, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default().trim_end_matches('.').to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let label_ok = |label: &str| !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-');
    if !host.contains('.') || !host.split('.').all(label_ok) {
        return Err(bad());
    }
    Ok(host.to_string())
}

fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text {
        "tab" | "\\t" | "\t" | "TAB" => Ok(b'\t'),
        _ if text.len() == 1 && text.is_ascii() && text != "\"" && text != "\n" && text != "\r" => {
            Ok(text.as_bytes()[0])
        }
        _ => Err(format!("'{text}' is not a delimiter: use one character such as , ; | or the word tab")),
    }
}

fn parse_encoding(text: &str) -> Result<&'static encoding_rs::Encoding, String> {
    let label = text.trim();
    let alias = match label.to_ascii_lowercase().as_str() {
        "cp1252" | "latin1" | "latin-1" | "ansi" => "windows-1252",
        "utf16" | "utf-16" => "utf-16le",
        _ => label,
    };
    encoding_rs::Encoding::for_label(alias.as_bytes()).ok_or_else(|| {
        format!(
            "'{text}' is not an encoding this tool knows: try utf-8, windows-1252, utf-16le, utf-16be or iso-8859-15"
        )
    })
}

fn parse_share(text: &str) -> Result<f64, String> {
    let value: f64 = text.parse().map_err(|_| format!("'{text}' is not a number between 0 and 1"))?;
    if (0.0..=1.0).contains(&value) { Ok(value) } else { Err(format!("'{text}' is not between 0 and 1")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_in_every_unit() {
        let table = [
            ("2/s", 2, 1),
            ("150/min", 150, 60),
            ("9000/h", 9000, 3600),
            ("833/5min", 833, 300),
            (" 20 / s ", 20, 1),
            ("10/hour", 10, 3600),
            ("5/10 minutes", 5, 600),
            ("1/24h", 1, 86_400),
            ("1/1440min", 1, 86_400),
            ("1000000/s", 1_000_000, 1),
            ("4294967295/24h", u32::MAX, 86_400),
        ];
        for (text, count, secs) in table {
            assert_eq!(parse_rate(text), Ok(Rate { count, per: Duration::from_secs(secs) }), "{text}");
        }
    }

    #[test]
    fn bad_rates_are_refused_with_the_reason() {
        let not_a_rate = "is not a rate: write N/UNIT";
        let too_long = "the window is longer than a day";
        let too_fast = "is more than a million requests a second";
        let table = [
            ("", not_a_rate),
            ("2", not_a_rate),
            ("x/s", not_a_rate),
            ("-1/s", not_a_rate),
            ("+1/s", not_a_rate),
            ("2/day", not_a_rate),
            ("2/-5min", not_a_rate),
            ("2/5.5min", not_a_rate),
            ("0/s", "the rate must be at least 1 request per unit"),
            ("2/0min", "the window must be at least 1 min"),
            ("4294967296/s", "the number of requests must be at most 4294967295"),
            ("99999999999999999999/s", "the number of requests must be at most"),
            ("1/18446744073709551615s", too_long),
            ("1/18446744073709551616s", too_long),
            ("1/99999999999999999999999h", too_long),
            ("5/4611686018427387904min", too_long),
            ("1/307445734561825861h", too_long),
            ("1/25h", too_long),
            ("1/86401s", too_long),
            ("1000001/s", too_fast),
            ("4294967295/s", too_fast),
        ];
        for (text, reason) in table {
            let err = parse_rate(text).expect_err(text);
            assert!(err.starts_with(&format!("'{text}'")), "{text}: {err}");
            assert!(err.contains(reason), "{text}: {err}");
        }
    }

    #[test]
    fn delimiters_and_maps() {
        assert_eq!(parse_delimiter("tab"), Ok(b'\t'));
        assert_eq!(parse_delimiter(";"), Ok(b';'));
        assert!(parse_delimiter(";;").is_err());
        assert_eq!(parse_map("email=E-Mail Adresse"), Ok(("email".into(), "E-Mail Adresse".into())));
        assert_eq!(parse_map("First-Name=Vorname"), Ok(("first_name".into(), "Vorname".into())));
        assert_eq!(parse_map("email=3"), Ok(("email".into(), "3".into())));
        assert_eq!(parse_map("tags="), Ok(("tags".into(), String::new())));
        assert!(parse_map("mail=x").is_err());
        assert!(parse_map("email").is_err());
    }

    #[test]
    fn domains_may_be_written_as_urls() {
        let table = [
            ("example.com", "example.com"),
            (" Example.COM ", "example.com"),
            ("https://www.example.com/", "example.com"),
            ("http://shop.example.co.uk/path?q=1#x", "shop.example.co.uk"),
            ("www.example.com:443", "example.com"),
            ("example.com.", "example.com"),
            ("bücher.de", "bücher.de"),
        ];
        for (text, domain) in table {
            assert_eq!(parse_domain(text).as_deref(), Ok(domain), "{text}");
        }
        for text in ["", "example", "https://", "exa mple.com", "a..b", "https:///x"] {
            assert!(parse_domain(text).is_err(), "{text}");
        }
    }

    #[test]
    fn encodings_by_label() {
        assert_eq!(parse_encoding("latin1").unwrap(), encoding_rs::WINDOWS_1252);
        assert_eq!(parse_encoding("UTF-8").unwrap(), encoding_rs::UTF_8);
        assert!(parse_encoding("klingon").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
