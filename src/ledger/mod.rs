//! The ledger: every invitation ever asked of Trustpilot, per invitations API and business
//! unit (a [`Scope`]), so that no customer is invited twice for the same order, whichever
//! file, run, process or month it comes from (SPEC section 7).
//!
//! [`Store`] is the small interface a backend implements ([`sqlite`] today; a PostgreSQL
//! ledger for teams that send from several machines would be a second one). [`writer`] turns
//! a store into the sender's [`crate::journal::Journal`], committing reservations in groups;
//! [`lock`] keeps one live run per ledger and scope.

pub mod lock;
pub mod sqlite;
pub mod writer;

use std::path::{Path, PathBuf};

use crate::invitation::Invitation;
use crate::journal::{Kind, Prior, PriorStatus};

pub use lock::{Holder, RunLock};
pub use sqlite::SqliteStore;

/// The variable naming the ledger file.
pub const LEDGER_ENV: &str = "TP_INVITE_LEDGER";

/// Where entries belong: an invitations API (Trustpilot's, or a sandbox) and a business unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The invitations API's base URL, as the client normalises it.
    pub api_url: String,
    pub business_unit_id: String,
}

impl Scope {
    /// Whether this is Trustpilot's own API (not a sandbox or a test server).
    pub fn is_trustpilot(&self) -> bool {
        url::Url::parse(&self.api_url).is_ok_and(|url| url.host_str() == Some("invitations-api.trustpilot.com"))
    }
}

/// A scope's id inside one ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScopeId(pub i64);

/// A ledger key within a scope: the kind of request, the email in lower case, the reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub kind: Kind,
    pub email: String,
    pub reference: String,
}

impl Key {
    pub fn of(kind: Kind, invitation: &Invitation) -> Key {
        Key {
            kind,
            email: crate::invitation::email_key(invitation.email()).into_owned(),
            reference: invitation.reference().to_string(),
        }
    }
}

/// Everything the ledger holds about one key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    pub prior: Prior,
    pub first_attempt_at: String,
    /// A sentence about the last failure or the unknown outcome.
    pub error: String,
    /// The run holding an `in_flight` entry.
    pub run: Option<i64>,
    /// The request body that was (or is being) sent, as JSON.
    pub request: String,
}

/// One entry as `ledger export` writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exported {
    pub scope: Scope,
    pub domain: String,
    pub kind: Kind,
    pub email: String,
    pub reference: String,
    pub entry: Entry,
}

/// Counts of one scope, for `tp-invite ledger`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ScopeSummary {
    pub business_unit_id: String,
    pub api_url: String,
    pub domain: Option<String>,
    /// `(kind, status, count)`.
    pub counts: Vec<(String, String, u64)>,
    pub first_attempt_at: Option<String>,
    pub last_attempt_at: Option<String>,
}

/// What `ledger import` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Imported {
    /// New entries.
    pub added: u64,
    /// Entries whose status the import made stronger (`failed` to `sent`, ...).
    pub updated: u64,
    /// Keys the ledger already knew as well or better.
    pub known: u64,
}

/// One row of an old results file to import.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub key: Key,
    pub status: PriorStatus,
    pub attempts: u32,
    pub sent_at: String,
    pub http_status: Option<u16>,
    pub error_code: String,
    pub correlation_id: String,
    pub file: String,
    pub row: u64,
    /// The invitation link (kind `link`).
    pub link: String,
    pub request: String,
}

/// How `ledger settle` ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    Done {
        from: PriorStatus,
    },
    /// The entry is not `unknown` (nothing to settle).
    NotUnknown(PriorStatus),
    NoEntry,
}

/// The operations the sender's journal groups into one durable transaction.
#[derive(Debug, Clone)]
pub enum Op {
    /// Reserve `key` (`in_flight`) unless the ledger holds it; the answer is filled in.
    Reserve {
        key: Key,
        request: String,
        /// The file and row it comes from (`None`: keep what the entry says).
        origin: Option<(String, u64)>,
        resend_unknown: bool,
        answer: Option<Reserved>,
    },
    /// The outcome of a reserved key.
    Settle {
        key: Key,
        status: PriorStatus,
        http_status: Option<u16>,
        error_code: String,
        error: String,
        correlation_id: String,
        sent_at: String,
        link: String,
    },
    /// Give back a reservation whose request never left: the entry is as it was before.
    Release { key: Key, before: Option<Box<Entry>> },
}

/// A reservation as the store answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reserved {
    /// Reserved; `before` is the entry as it was (none for a new key), to give it back.
    Go {
        attempts: u32,
        before: Option<Box<Entry>>,
    },
    Taken(Prior),
}

/// A ledger backend.
pub trait Store: Send {
    /// The file or address it lives at, for messages.
    fn location(&self) -> String;
    /// The scope's id, created on first use; `domain` is remembered for dry runs.
    fn scope(&mut self, scope: &Scope, domain: Option<&str>) -> Result<ScopeId, LedgerError>;
    /// The scope's id if it exists (never writes).
    fn find_scope(&mut self, scope: &Scope) -> Result<Option<ScopeId>, LedgerError>;
    /// The scope an earlier send recorded for `domain` on this API.
    fn scope_of_domain(&mut self, api_url: &str, domain: &str) -> Result<Option<Scope>, LedgerError>;
    /// Every scope holding `key`'s email and reference, other than `except`.
    fn scopes_holding(&mut self, except: ScopeId, key: &Key) -> Result<Vec<Scope>, LedgerError>;
    /// What the ledger holds for each key (an `in_flight` entry says `live: false`; the
    /// caller knows whether its run lives).
    fn lookup(&mut self, scope: ScopeId, keys: &[Key]) -> Result<Vec<Option<Prior>>, LedgerError>;
    /// The request last sent (or being sent) for `key`, as JSON.
    fn request_of(&mut self, scope: ScopeId, key: &Key) -> Result<Option<String>, LedgerError>;
    /// The latest email invitation to `email` for another reference than `except`, at or
    /// after `since`, that was sent, is unknown or in flight: `(reference, last attempt)`.
    fn invited_since(
        &mut self,
        scope: ScopeId,
        email: &str,
        since: &str,
        except: &str,
    ) -> Result<Option<(String, String)>, LedgerError>;
    /// Makes every `in_flight` entry of the scope `unknown` (their runs are gone: the caller
    /// holds the scope's run lock). Returns how many.
    fn settle_in_flight(&mut self, scope: ScopeId) -> Result<u64, LedgerError>;
    /// Applies `ops` in one transaction and makes it durable; fills each reservation's answer.
    fn apply(&mut self, scope: ScopeId, run: i64, ops: &mut [Op]) -> Result<(), LedgerError>;
    fn summary(&mut self) -> Result<Vec<ScopeSummary>, LedgerError>;
    /// Calls `each` for every entry (of one business unit, under every API address, or all),
    /// scope by scope in order of first attempt.
    fn export(
        &mut self,
        business_unit_id: Option<&str>,
        each: &mut dyn FnMut(Exported) -> Result<(), String>,
    ) -> Result<u64, LedgerError>;
    /// Deletes every entry of each email (any scope, any kind); returns how many per email.
    fn forget(&mut self, emails: &[String]) -> Result<Vec<u64>, LedgerError>;
    /// Settles an `unknown` (or dead `in_flight`) email invitation after the user checked.
    fn settle(&mut self, scope: ScopeId, key: &Key, sent: bool) -> Result<Settled, LedgerError>;
    /// Records rows of old results files (in one transaction per batch).
    fn import(&mut self, scope: ScopeId, rows: &[ImportRow]) -> Result<Imported, LedgerError>;
}

/// The ledger cannot be used; nothing is sent without it.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(
        "cannot find your data folder for the ledger (is HOME set?). Set {LEDGER_ENV} to a file path, \
         or give --ledger PATH."
    )]
    NoDataFolder,
    #[error("{name} is empty. Set it to the path of the ledger file, or leave it unset.")]
    EmptyPath { name: &'static str },
    #[error(
        "the ledger {path} is not a regular file (it is {what}). Give --ledger (or {LEDGER_ENV}) the path of a \
         file."
    )]
    NotAFile { path: PathBuf, what: &'static str },
    #[error(
        "cannot create the ledger {path}: {reason}. Check the permissions of its folder, or give another --ledger."
    )]
    Create { path: PathBuf, reason: String },
    #[error(
        "cannot reach the ledger {path}: {reason}. Check the permissions of the folders on its path, or give \
         another --ledger."
    )]
    Unreachable { path: PathBuf, reason: String },
    #[error(
        "the ledger {path} is a symbolic link to {target}, which does not exist (a disk that is not mounted, or a \
         moved folder?). Nothing was sent: a new, empty ledger would let every customer be invited again. Make \
         what it points to available again, or give --ledger (or {LEDGER_ENV}) the path of the ledger.", target = target.display()
    )]
    DanglingLink { path: PathBuf, target: PathBuf },
    #[error(
        "the ledger {path} has {links} names (hard links). SQLite keeps a journal per name, so runs that reach the \
         file by different names could each send the same invitations. Nothing was sent. While no run is sending, \
         delete the other names (`find / -xdev -samefile {path}` lists them; a symbolic link is safe instead), \
         then run again."
    )]
    HardLinked { path: PathBuf, links: u64 },
    #[error(
        "the ledger {path} is empty (0 bytes): it was probably cut short (a full disk, an interrupted copy or \
         restore), and an empty ledger would let every customer be invited again. Nothing was sent. Restore it \
         from your backup (see the README, \"The ledger\"); if it was meant to be a new ledger, delete the empty \
         file and run again."
    )]
    Emptied { path: PathBuf },
    #[error(
        "the ledger {path} cannot be written ({reason}). tp-invite records every invitation there before it \
         sends it: make the file and its folder writable by you, or give another --ledger."
    )]
    ReadOnly { path: PathBuf, reason: String },
    #[error(
        "the ledger {path} is damaged or is not a tp-invite ledger ({reason}). Nothing was sent. Restore it \
         from a backup (see the README, \"The ledger\"); do not delete it: it is what keeps customers from \
         being invited twice."
    )]
    Corrupt { path: PathBuf, reason: String },
    #[error(
        "{path} is an SQLite database of another program, not a tp-invite ledger. Nothing was sent, and the file \
         was left as it was. Give the ledger's own path with --ledger or TP_INVITE_LEDGER (or leave both out for \
         the default ledger)."
    )]
    Foreign { path: PathBuf },
    #[error(
        "the ledger {path} was written by a newer tp-invite (ledger format {found}; this one knows up to \
         {known}). Nothing was sent. Use that newer tp-invite."
    )]
    Newer { path: PathBuf, found: i64, known: i64 },
    #[error(
        "the ledger {path} is locked by another program (for example a sqlite3 shell in a transaction); \
         waited {seconds} s. Close that program and run again."
    )]
    Locked { path: PathBuf, seconds: u64 },
    #[error(
        "another run is sending for business unit {business_unit_id}: {holder}. Wait for it to finish, or add \
         --wait to wait for it and then go on."
    )]
    Busy { business_unit_id: String, holder: Holder },
    #[error("the ledger {path}: {reason}")]
    Other { path: PathBuf, reason: String },
}

impl LedgerError {
    /// A stable, machine-readable name (`--json`'s `error.code`).
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::Busy { .. } => "ledger.busy",
            LedgerError::Locked { .. } => "ledger.locked",
            LedgerError::Corrupt { .. } => "ledger.corrupt",
            LedgerError::Foreign { .. } => "ledger.foreign",
            LedgerError::Newer { .. } => "ledger.newer",
            LedgerError::ReadOnly { .. } => "ledger.read_only",
            LedgerError::HardLinked { .. } => "ledger.hard_linked",
            LedgerError::Emptied { .. } => "ledger.empty",
            LedgerError::NoDataFolder
            | LedgerError::EmptyPath { .. }
            | LedgerError::NotAFile { .. }
            | LedgerError::Create { .. }
            | LedgerError::Unreachable { .. }
            | LedgerError::DanglingLink { .. } => "ledger.path",
            LedgerError::Other { .. } => "ledger.unavailable",
        }
    }
}

/// The ledger file: `--ledger`, else `TP_INVITE_LEDGER`, else `tp-invite/ledger.sqlite` in the
/// user's data folder.
pub fn location(flag: Option<&Path>) -> Result<PathBuf, LedgerError> {
    if let Some(path) = flag {
        if path.as_os_str().is_empty() {
            return Err(LedgerError::EmptyPath { name: "--ledger" });
        }
        return Ok(path.to_path_buf());
    }
    if let Some(value) = std::env::var_os(LEDGER_ENV) {
        if value.is_empty() {
            return Err(LedgerError::EmptyPath { name: LEDGER_ENV });
        }
        return Ok(PathBuf::from(value));
    }
    let dirs = directories::BaseDirs::new().ok_or(LedgerError::NoDataFolder)?;
    Ok(dirs.data_dir().join("tp-invite").join("ledger.sqlite"))
}

/// Whether `path` names the ledger at `ledger` (its resolved path) or one of the files SQLite
/// keeps beside it, by any name (a symbolic or hard link): writing a report there would
/// destroy the ledger.
pub fn is_ledger_file(path: &Path, ledger: &Path) -> bool {
    ["", "-wal", "-shm", "-journal"].into_iter().any(|suffix| {
        let mut name = ledger.as_os_str().to_owned();
        name.push(suffix);
        same_file(path, Path::new(&name))
    })
}

#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Now, as the ledger writes times: UTC `YYYY-MM-DDTHH:MM:SSZ` (these sort as text).
pub fn now() -> String {
    timestamp(chrono::Utc::now())
}

pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// An open ledger: the store, behind the interface.
pub struct Ledger {
    /// The file, symbolic links resolved: the one path of the database and of its run locks,
    /// however the user named it.
    pub path: PathBuf,
    pub store: Box<dyn Store>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Ledger {
    /// Opens the ledger for writing, creating it (owner-only) on first use.
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        let store = SqliteStore::open(path)?;
        Ok(Ledger { path: store.path().to_path_buf(), store: Box::new(store) })
    }

    /// Opens the ledger only to read it; `None` when there is none yet.
    pub fn open_read_only(path: &Path) -> Result<Option<Ledger>, LedgerError> {
        Ok(SqliteStore::open_read_only(path)?
            .map(|store| Ledger { path: store.path().to_path_buf(), store: Box::new(store) as Box<dyn Store> }))
    }

    /// Takes the scope's run lock: at once, or (with `wait`) once the other run is over
    /// (unless `wait` says to stop), calling `waiting` with the other run first.
    pub fn lock(
        &self,
        scope: &Scope,
        wait: Option<&dyn Fn() -> bool>,
        waiting: impl FnOnce(&Holder),
    ) -> Result<RunLock, LedgerError> {
        RunLock::acquire(&self.path, scope, wait, waiting)
    }

    /// Whether a live run holds the scope's run lock.
    pub fn is_busy(&self, scope: &Scope) -> bool {
        RunLock::is_held(&self.path, scope)
    }
}
