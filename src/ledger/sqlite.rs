//! The ledger in an embedded SQLite database (compiled in, nothing to install): WAL with a
//! full sync at every commit, so a committed reservation survives `kill -9` and power loss;
//! `BEGIN IMMEDIATE` transactions, so two processes never both reserve one key.
//!
//! Keys are looked up by a 64-bit hash of (scope, kind, email, reference) through a small
//! index, many at a time, and checked against the stored key, so a hash collision costs
//! nothing but a comparison. The unique constraint on the key itself is what keeps one entry
//! per key.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::{
    Entry, Exported, ImportRow, Imported, Key, LedgerError, Op, Reserved, Scope, ScopeId, ScopeSummary, Settled, Store,
};
use crate::journal::{Kind, Prior, PriorStatus};

/// `PRAGMA application_id`: "tpiv", so that another program's SQLite file is not taken for
/// a ledger.
const APPLICATION_ID: i64 = 0x7470_6976;
/// The schema this build writes; [`MIGRATIONS`] leads up to it.
pub const SCHEMA_VERSION: i64 = 1;
/// How long to wait for another process's write transaction.
#[cfg(not(test))]
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);
#[cfg(test)]
const BUSY_TIMEOUT: Duration = Duration::from_millis(200);
/// Keys per lookup query.
const LOOKUP_BATCH: usize = 1024;

/// Each step takes the schema from its index to the next version.
const MIGRATIONS: [&str; 1] = [r"
CREATE TABLE scopes (
    id INTEGER PRIMARY KEY,
    api_url TEXT NOT NULL,
    business_unit_id TEXT NOT NULL,
    domain TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (api_url, business_unit_id)
);
CREATE TABLE entries (
    id INTEGER PRIMARY KEY,
    hash INTEGER NOT NULL,
    scope INTEGER NOT NULL REFERENCES scopes (id),
    kind TEXT NOT NULL CHECK (kind IN ('email', 'link')),
    email TEXT NOT NULL,
    reference TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('in_flight', 'sent', 'failed', 'unknown', 'link')),
    attempts INTEGER NOT NULL,
    first_attempt_at TEXT NOT NULL,
    last_attempt_at TEXT NOT NULL,
    sent_at TEXT,
    http_status INTEGER,
    error_code TEXT,
    error TEXT,
    correlation_id TEXT,
    run INTEGER,
    file TEXT,
    row INTEGER,
    link TEXT,
    request TEXT NOT NULL,
    UNIQUE (scope, kind, email, reference)
);
CREATE INDEX entries_by_hash ON entries (hash);
CREATE INDEX entries_in_flight ON entries (scope) WHERE status = 'in_flight';
"];

/// The entries of a batch of hashes, read from the hash index alone (it holds each entry's
/// id); [`rows_sql`] then reads them in id order, the order they were written in, so that
/// the rows of one export come page by page instead of a random page each (a dry run of
/// 100,000 rows all in a ledger of a million: about a quarter faster).
const IDS_SQL: &str = "SELECT id FROM entries WHERE hash IN rarray(?1)";

/// The entries of a batch of ids, in a scope. `+scope`: the scope is checked, but the probe
/// must go by id (without statistics, the planner would walk every entry of the scope
/// instead).
fn rows_sql() -> String {
    format!("SELECT kind, email, reference, {PRIOR_COLUMNS} FROM entries WHERE id IN rarray(?1) AND +scope = ?2")
}

/// The latest email invitation to an address at or after a time.
const INVITED_SINCE_SQL: &str = "SELECT reference, last_attempt_at FROM entries
     WHERE scope = ?1 AND kind = 'email' AND email = ?2 AND status IN ('sent', 'unknown', 'in_flight')
       AND last_attempt_at >= ?3 AND reference != ?4
     ORDER BY last_attempt_at DESC LIMIT 1";

/// The `in_flight` entries of runs that are gone become `unknown`.
const SETTLE_IN_FLIGHT_SQL: &str = "UPDATE entries SET status = 'unknown', error = ?2,
         error_code = 'transport.unknown', run = NULL
     WHERE scope = ?1 AND status = 'in_flight'";

const ENTRY_COLUMNS: &str = "status, attempts, first_attempt_at, last_attempt_at, sent_at, http_status, \
                             error_code, error, correlation_id, run, file, row, link, request";
/// [`ENTRY_COLUMNS`] without the request: what a lookup reads for each row of a file. The
/// request (hundreds of bytes of JSON) is read only when asked for ([`Store::request_of`]);
/// reading it for every row made a dry run against a large ledger about a third slower.
const PRIOR_COLUMNS: &str = "status, attempts, first_attempt_at, last_attempt_at, sent_at, http_status, \
                             error_code, error, correlation_id, run, file, row, link";

/// A ledger in one SQLite file.
pub struct SqliteStore {
    path: PathBuf,
    conn: Connection,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the ledger for writing, creating it with owner-only permissions on first use.
    /// The store works on the resolved path ([`resolve`]): its [`SqliteStore::path`].
    pub fn open(path: &Path) -> Result<SqliteStore, LedgerError> {
        let resolved = match resolve(path)? {
            Some(resolved) => resolved,
            None => {
                create(path)?;
                resolve(path)?.ok_or_else(|| LedgerError::Create {
                    path: path.to_path_buf(),
                    reason: "it was gone right after it was created".to_string(),
                })?
            }
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&resolved, flags).map_err(|e| failure(&resolved, &e))?;
        // SQLite opens a file it may not write read-only, without a word: say so now, before
        // a run begins, not at its first reservation.
        if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
            let reason = why_unwritable(&resolved).unwrap_or_else(|| "SQLite opened it read-only".to_string());
            return Err(LedgerError::ReadOnly { path: resolved, reason });
        }
        let mut store = SqliteStore { path: resolved, conn };
        store.configure()?;
        // Before anything is written: another program's database is refused as it was.
        store.check_identity()?;
        store.use_wal()?;
        store.migrate()?;
        Ok(store)
    }

    /// Opens the ledger only to read it; `None` when it does not exist or holds nothing yet.
    pub fn open_read_only(path: &Path) -> Result<Option<SqliteStore>, LedgerError> {
        let Some(resolved) = resolve(path)? else {
            return Ok(None);
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&resolved, flags).map_err(|e| failure(&resolved, &e))?;
        let mut store = SqliteStore { path: resolved, conn };
        store.configure()?;
        let version = store.check_identity()?;
        Ok((version > 0).then_some(store))
    }

    /// The ledger file, symbolic links resolved: what the store opened.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Lets the file grow by at most `pages` more pages, as a full disk would.
    #[cfg(test)]
    pub(crate) fn fill_disk_after(&self, pages: i64) {
        let count: i64 = self.conn.query_row("PRAGMA page_count", [], |row| row.get(0)).unwrap();
        let _: i64 =
            self.conn.query_row(&format!("PRAGMA max_page_count = {}", count + pages), [], |r| r.get(0)).unwrap();
    }

    fn fail(&self, error: rusqlite::Error) -> LedgerError {
        failure(&self.path, &error)
    }

    fn configure(&mut self) -> Result<(), LedgerError> {
        let conn = &self.conn;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| failure(&self.path, &e))?;
        rusqlite::vtab::array::load_module(conn).map_err(|e| failure(&self.path, &e))?;
        let pragmas: &[(&str, &dyn rusqlite::ToSql)] = &[
            ("synchronous", &"FULL"),
            ("foreign_keys", &true),
            // 8 MB of page cache a connection and no memory map: a run's memory stays the same
            // whatever the ledger's size (a map of a 460 MB ledger made lookups 25% faster but
            // counted its pages in the run's memory: see the README's figures).
            ("cache_size", &-8_000),
            ("mmap_size", &0_i64),
            ("temp_store", &"MEMORY"),
        ];
        for (name, value) in pragmas {
            conn.pragma_update(None, name, value).map_err(|e| failure(&self.path, &e))?;
        }
        Ok(())
    }

    /// WAL lets readers (a dry run) read while a run writes; with synchronous=FULL every
    /// commit is synced before it returns. This is written into the file: only a ledger's.
    fn use_wal(&mut self) -> Result<(), LedgerError> {
        let conn = &self.conn;
        let mode: String =
            conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).map_err(|e| failure(&self.path, &e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            // A file system without shared memory (some network drives): the rollback
            // journal with a full sync is as durable, only slower.
            conn.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(())).map_err(|e| failure(&self.path, &e))?;
        }
        Ok(())
    }

    /// The schema version, after checking the file is a ledger this build can read.
    fn check_identity(&mut self) -> Result<i64, LedgerError> {
        let read = |sql: &str| -> Result<i64, LedgerError> {
            self.conn.query_row(sql, [], |row| row.get(0)).map_err(|e| failure(&self.path, &e))
        };
        let (id, version) = (read("PRAGMA application_id")?, read("PRAGMA user_version")?);
        let tables = read("SELECT count(*) FROM sqlite_schema")?;
        let corrupt = |reason: &str| LedgerError::Corrupt { path: self.path.clone(), reason: reason.to_string() };
        if id != APPLICATION_ID && (id != 0 || tables > 0) {
            return Err(LedgerError::Foreign { path: self.path.clone() });
        }
        if version > SCHEMA_VERSION {
            return Err(LedgerError::Newer { path: self.path.clone(), found: version, known: SCHEMA_VERSION });
        }
        if version < 0 {
            return Err(corrupt("its format number is negative"));
        }
        Ok(version)
    }

    fn migrate(&mut self) -> Result<(), LedgerError> {
        if self.check_identity()? == SCHEMA_VERSION {
            return Ok(());
        }
        let path = self.path.clone();
        let fail = |e: rusqlite::Error| failure(&path, &e);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(fail)?;
        // Read again inside the write transaction: of two processes creating the ledger at
        // once, the second finds the work done.
        let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(fail)?;
        for (step, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(version).unwrap_or(0)) {
            tx.execute_batch(sql).map_err(fail)?;
            tx.pragma_update(None, "user_version", step as i64 + 1).map_err(fail)?;
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID).map_err(fail)?;
        tx.commit().map_err(fail)
    }

    fn entry_by_key(&self, scope: ScopeId, key: &Key) -> Result<Option<Entry>, rusqlite::Error> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM entries WHERE scope = ?1 AND kind = ?2 AND email = ?3 AND reference = ?4"
        );
        self.conn
            .prepare_cached(&sql)?
            .query_row(params![scope.0, key.kind.as_str(), key.email, key.reference], entry_from_row)
            .optional()
    }
}

/// The ledger's path resolved (absolute, symbolic links followed), so that every name of one
/// file reaches one database, one journal and one run lock; `None` when there is no ledger
/// there yet. Refuses what must not be used as a ledger: something other than a file, a
/// file with several names (hard links), an emptied file.
pub(crate) fn resolve(path: &Path) -> Result<Option<PathBuf>, LedgerError> {
    let unreachable = |e: std::io::Error| LedgerError::Unreachable { path: path.to_path_buf(), reason: e.to_string() };
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {}
        Ok(meta) => {
            let what = if meta.is_dir() { "a folder" } else { "a device or other special file" };
            return Err(LedgerError::NotAFile { path: path.to_path_buf(), what });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A link to nothing (a disk that is not mounted, a moved folder): a new, empty
            // ledger there would let every customer be invited again.
            if let Ok(target) = std::fs::read_link(path) {
                return Err(LedgerError::DanglingLink { path: path.to_path_buf(), target });
            }
            return Ok(None);
        }
        Err(e) => return Err(unreachable(e)),
    }
    #[cfg(unix)]
    let resolved = std::fs::canonicalize(path).map_err(unreachable)?;
    // Windows' canonical form is a `\\?\` path, which not every program takes; links to
    // files are rare there.
    #[cfg(not(unix))]
    let resolved = std::path::absolute(path).map_err(unreachable)?;
    let meta = std::fs::metadata(&resolved).map_err(unreachable)?;
    #[cfg(unix)]
    {
        // SQLite finds its journal (`-wal`, `-shm`) by the name it was given: two names of
        // one file are two journals, and the run lock beside each name is two locks.
        let links = std::os::unix::fs::MetadataExt::nlink(&meta);
        if links > 1 {
            return Err(LedgerError::HardLinked { path: resolved, links });
        }
    }
    if meta.len() == 0 && !has_content(&wal_of(&resolved)) {
        return Err(LedgerError::Emptied { path: resolved });
    }
    Ok(Some(resolved))
}

/// The write-ahead log SQLite keeps beside a database.
fn wal_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

fn has_content(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|meta| meta.len() > 0)
}

/// Creates the ledger (and its folders) readable by its owner only. The database is built
/// whole under a temporary name and then given the ledger's name, which must not exist yet:
/// so a ledger file is never seen empty (an empty one is refused as emptied), and of two
/// runs creating it at once, the second finds the first one's.
fn create(path: &Path) -> Result<(), LedgerError> {
    let error = |reason: String| LedgerError::Create { path: path.to_path_buf(), reason };
    let folder = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(folder) => folder,
        None => Path::new("."),
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(folder).map_err(|e| error(e.to_string()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "ledger".into());
    // Owner-only (0600), as tempfile creates its files.
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".new")
        .tempfile_in(folder)
        .map_err(|e| error(e.to_string()))?
        .into_temp_path();
    {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&temp, flags).map_err(|e| error(e.to_string()))?;
        let mut store = SqliteStore { path: temp.to_path_buf(), conn };
        store.migrate().map_err(|e| error(e.to_string()))?;
        // Born in WAL mode (kept in the file), so that the runs opening it need not switch it,
        // which takes the database for themselves. Closing folds the log back into the file.
        let _ = store.conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()));
    }
    match temp.persist_noclobber(path) {
        Ok(()) => {}
        // Another run created it a moment ago (the temporary file is removed).
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(error(e.error.to_string())),
    }
    // The new name is durable too, not only the file's bytes.
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// An SQLite error, in words.
fn failure(path: &Path, error: &rusqlite::Error) -> LedgerError {
    let path = path.to_path_buf();
    let reason = error.to_string();
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            LedgerError::Locked { path, seconds: BUSY_TIMEOUT.as_secs() }
        }
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => LedgerError::Corrupt { path, reason },
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => match path.exists() {
            true => LedgerError::ReadOnly { reason: why_unwritable(&path).unwrap_or(reason), path },
            false => LedgerError::Create { path, reason },
        },
        Some(ErrorCode::DiskFull) => {
            LedgerError::Other { path, reason: "the disk is full; free some space and run again".to_string() }
        }
        _ => LedgerError::Other { path, reason },
    }
}

/// Why SQLite may not write an existing ledger, in words, when the file system says: the
/// file itself, its journal files, or its folder (where SQLite creates the journal).
fn why_unwritable(path: &Path) -> Option<String> {
    use std::io::ErrorKind;
    let why = |e: &std::io::Error| match e.kind() {
        ErrorKind::PermissionDenied => Some("its permissions do not let you write it"),
        ErrorKind::ReadOnlyFilesystem => Some("it is on a read-only file system"),
        _ => None,
    };
    if let Err(e) = std::fs::OpenOptions::new().write(true).open(path) {
        return why(&e).map(str::to_string);
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    for suffix in ["-wal", "-shm"] {
        let journal = path.with_file_name(format!("{name}{suffix}"));
        if let Err(e) = std::fs::OpenOptions::new().write(true).open(&journal)
            && let Some(why) = why(&e)
        {
            return Some(format!("its journal file {} exists, and {why}", journal.display()));
        }
    }
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let refused = match tempfile::tempfile_in(folder) {
        Err(e) if e.kind() == ErrorKind::PermissionDenied => "does not let you create files",
        Err(e) if e.kind() == ErrorKind::ReadOnlyFilesystem => "is on a read-only file system",
        _ => return None,
    };
    Some(format!(
        "its folder {} {refused}, and SQLite must create the ledger's journal, {name}-wal and {name}-shm, there",
        folder.display()
    ))
}

fn status_text(status: PriorStatus) -> &'static str {
    status.as_str()
}

fn parse_status(text: &str) -> PriorStatus {
    match text {
        "in_flight" => PriorStatus::InFlight { live: false },
        "sent" => PriorStatus::Sent,
        "failed" => PriorStatus::Failed,
        "link" => PriorStatus::Link,
        _ => PriorStatus::Unknown,
    }
}

fn kind_of(text: &str) -> Kind {
    Kind::parse(text).unwrap_or(Kind::Email)
}

/// The 64-bit lookup hash of a key in a scope.
fn key_hash(scope: ScopeId, key: &Key) -> i64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(&scope.0.to_le_bytes());
    hasher.update(key.kind.as_str().as_bytes());
    hasher.update(&[0]);
    hasher.update(key.email.as_bytes());
    hasher.update(&[0]);
    hasher.update(key.reference.as_bytes());
    hasher.digest() as i64
}

/// An [`Entry`] from the columns of [`ENTRY_COLUMNS`].
fn entry_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    entry_from_row_at(row, 0)
}

fn empty_null(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

impl Store for SqliteStore {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn scope(&mut self, scope: &Scope, domain: Option<&str>) -> Result<ScopeId, LedgerError> {
        let conn = &self.conn;
        let result = (|| {
            conn.execute(
                "INSERT INTO scopes (api_url, business_unit_id, domain, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (api_url, business_unit_id) DO UPDATE SET domain = coalesce(excluded.domain, domain)",
                params![scope.api_url, scope.business_unit_id, domain, super::now()],
            )?;
            conn.query_row(
                "SELECT id FROM scopes WHERE api_url = ?1 AND business_unit_id = ?2",
                params![scope.api_url, scope.business_unit_id],
                |row| row.get(0),
            )
        })();
        result.map(ScopeId).map_err(|e| self.fail(e))
    }

    fn find_scope(&mut self, scope: &Scope) -> Result<Option<ScopeId>, LedgerError> {
        self.conn
            .query_row(
                "SELECT id FROM scopes WHERE api_url = ?1 AND business_unit_id = ?2",
                params![scope.api_url, scope.business_unit_id],
                |row| row.get(0),
            )
            .optional()
            .map(|id| id.map(ScopeId))
            .map_err(|e| self.fail(e))
    }

    fn scope_of_domain(&mut self, api_url: &str, domain: &str) -> Result<Option<Scope>, LedgerError> {
        self.conn
            .query_row(
                "SELECT business_unit_id FROM scopes WHERE api_url = ?1 AND domain = ?2 ORDER BY id DESC LIMIT 1",
                params![api_url, domain.trim().to_ascii_lowercase()],
                |row| row.get::<_, String>(0),
            )
            .optional()
            .map(|id| id.map(|business_unit_id| Scope { api_url: api_url.to_string(), business_unit_id }))
            .map_err(|e| self.fail(e))
    }

    fn scopes_holding(&mut self, except: ScopeId, key: &Key) -> Result<Vec<Scope>, LedgerError> {
        let result = (|| {
            let mut statement = self.conn.prepare_cached(
                "SELECT s.api_url, s.business_unit_id FROM entries e JOIN scopes s ON s.id = e.scope
                 WHERE e.scope IN (SELECT id FROM scopes WHERE id != ?1) AND e.kind = ?2 AND e.email = ?3
                   AND e.reference = ?4",
            )?;
            let rows = statement.query_map(params![except.0, key.kind.as_str(), key.email, key.reference], |row| {
                Ok(Scope { api_url: row.get(0)?, business_unit_id: row.get(1)? })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })();
        result.map_err(|e| self.fail(e))
    }

    fn lookup(&mut self, scope: ScopeId, keys: &[Key]) -> Result<Vec<Option<Prior>>, LedgerError> {
        let mut found = vec![None; keys.len()];
        let result = (|| {
            let mut ids_statement = self.conn.prepare_cached(IDS_SQL)?;
            let mut statement = self.conn.prepare_cached(&rows_sql())?;
            for (chunk_index, chunk) in keys.chunks(LOOKUP_BATCH).enumerate() {
                let mut hashes: Vec<i64> = chunk.iter().map(|key| key_hash(scope, key)).collect();
                let mut wanted: HashMap<(Kind, &str, &str), Vec<usize>> = HashMap::with_capacity(chunk.len());
                for (i, key) in chunk.iter().enumerate() {
                    wanted
                        .entry((key.kind, key.email.as_str(), key.reference.as_str()))
                        .or_default()
                        .push(chunk_index * LOOKUP_BATCH + i);
                }
                // In index order, the probes walk the index forwards; in id order, the table.
                hashes.sort_unstable();
                hashes.dedup();
                let values = Rc::new(hashes.into_iter().map(Value::from).collect::<Vec<Value>>());
                let mut ids: Vec<i64> =
                    ids_statement.query_map(params![values], |row| row.get(0))?.collect::<Result<_, _>>()?;
                ids.sort_unstable();
                let ids = Rc::new(ids.into_iter().map(Value::from).collect::<Vec<Value>>());
                let mut rows = statement.query(params![ids, scope.0])?;
                while let Some(row) = rows.next()? {
                    let kind = kind_of(row.get_ref(0)?.as_str().unwrap_or_default());
                    let email = row.get_ref(1)?.as_str().unwrap_or_default();
                    let reference = row.get_ref(2)?.as_str().unwrap_or_default();
                    if let Some(indexes) = wanted.get(&(kind, email, reference)) {
                        let prior = prior_from_row_at(row, 3)?;
                        for &i in indexes {
                            found[i] = Some(prior.clone());
                        }
                    }
                }
            }
            Ok(())
        })();
        result.map_err(|e| self.fail(e))?;
        Ok(found)
    }

    fn request_of(&mut self, scope: ScopeId, key: &Key) -> Result<Option<String>, LedgerError> {
        let entry = self.entry_by_key(scope, key).map_err(|e| self.fail(e))?;
        Ok(entry.map(|entry| entry.request))
    }

    fn invited_since(
        &mut self,
        scope: ScopeId,
        email: &str,
        since: &str,
        except: &str,
    ) -> Result<Option<(String, String)>, LedgerError> {
        self.conn
            .prepare_cached(INVITED_SINCE_SQL)
            .and_then(|mut statement| {
                statement
                    .query_row(params![scope.0, email, since, except], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()
            })
            .map_err(|e| self.fail(e))
    }

    fn settle_in_flight(&mut self, scope: ScopeId) -> Result<u64, LedgerError> {
        let error = "The run that sent this request ended before Trustpilot answered (it was stopped or the \
                     machine went down): the invitation may or may not have been created.";
        self.conn.execute(SETTLE_IN_FLIGHT_SQL, params![scope.0, error]).map(|n| n as u64).map_err(|e| self.fail(e))
    }

    fn apply(&mut self, scope: ScopeId, run: i64, ops: &mut [Op]) -> Result<(), LedgerError> {
        let path = self.path.clone();
        let now = super::now();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| failure(&path, &e))?;
        let result = (|| -> rusqlite::Result<()> {
            for op in ops.iter_mut() {
                match op {
                    Op::Reserve { key, request, origin, resend_unknown, answer } => {
                        let sql = format!(
                            "SELECT {ENTRY_COLUMNS} FROM entries WHERE scope = ?1 AND kind = ?2 AND email = ?3 \
                             AND reference = ?4"
                        );
                        let before = tx
                            .prepare_cached(&sql)?
                            .query_row(params![scope.0, key.kind.as_str(), key.email, key.reference], entry_from_row)
                            .optional()?;
                        let (file, row) = match origin {
                            Some((file, row)) => (Some(file.as_str()), Some(i64::try_from(*row).unwrap_or(i64::MAX))),
                            None => (None, None),
                        };
                        *answer = Some(match before {
                            None => {
                                tx.prepare_cached(
                                    "INSERT INTO entries (hash, scope, kind, email, reference, status, attempts,
                                         first_attempt_at, last_attempt_at, run, file, row, request)
                                     VALUES (?1, ?2, ?3, ?4, ?5, 'in_flight', 1, ?6, ?6, ?7, ?8, ?9, ?10)",
                                )?
                                .execute(params![
                                    key_hash(scope, key),
                                    scope.0,
                                    key.kind.as_str(),
                                    key.email,
                                    key.reference,
                                    now,
                                    run,
                                    file,
                                    row,
                                    request.as_str()
                                ])?;
                                Reserved::Go { attempts: 1, before: None }
                            }
                            Some(mut entry) => {
                                let ours = entry.run == Some(run);
                                // An `in_flight` entry of another run: that run is sending
                                // (its own were settled when this run took the lock).
                                let status = match entry.prior.status {
                                    PriorStatus::InFlight { .. } => PriorStatus::InFlight { live: !ours },
                                    other => other,
                                };
                                entry.prior.status = status;
                                if ours || status.may_send(*resend_unknown) {
                                    let attempts = entry.prior.attempts.saturating_add(1);
                                    tx.prepare_cached(
                                        "UPDATE entries SET status = 'in_flight', attempts = ?5, last_attempt_at = ?6,
                                             run = ?7, file = coalesce(?8, file), row = coalesce(?9, row),
                                             request = ?10, http_status = NULL,
                                             error_code = NULL, error = NULL, correlation_id = NULL
                                         WHERE scope = ?1 AND kind = ?2 AND email = ?3 AND reference = ?4",
                                    )?
                                    .execute(params![
                                        scope.0,
                                        key.kind.as_str(),
                                        key.email,
                                        key.reference,
                                        attempts,
                                        now,
                                        run,
                                        file,
                                        row,
                                        request.as_str()
                                    ])?;
                                    Reserved::Go { attempts, before: Some(Box::new(entry)) }
                                } else {
                                    Reserved::Taken(entry.prior)
                                }
                            }
                        });
                    }
                    Op::Settle { key, status, http_status, error_code, error, correlation_id, sent_at, link } => {
                        tx.prepare_cached(
                            "UPDATE entries SET status = ?6, http_status = ?7, error_code = ?8, error = ?9,
                                 correlation_id = ?10, sent_at = coalesce(?11, sent_at), link = coalesce(?12, link),
                                 run = NULL
                             WHERE scope = ?1 AND kind = ?2 AND email = ?3 AND reference = ?4 AND run = ?5",
                        )?
                        .execute(params![
                            scope.0,
                            key.kind.as_str(),
                            key.email,
                            key.reference,
                            run,
                            status_text(*status),
                            *http_status,
                            empty_null(error_code),
                            empty_null(error),
                            empty_null(correlation_id),
                            empty_null(sent_at),
                            empty_null(link)
                        ])?;
                    }
                    Op::Release { key, before } => {
                        match before {
                            None => {
                                tx.prepare_cached(
                                "DELETE FROM entries WHERE scope = ?1 AND kind = ?2 AND email = ?3 AND reference = ?4
                                 AND run = ?5",
                            )?
                            .execute(params![scope.0, key.kind.as_str(), key.email, key.reference, run])?;
                            }
                            Some(entry) => {
                                let prior = &entry.prior;
                                tx.prepare_cached(
                                    "UPDATE entries SET status = ?6, attempts = ?7, last_attempt_at = ?8, sent_at = ?9,
                                     http_status = ?10, error_code = ?11, error = ?12, correlation_id = ?13,
                                     run = ?14, file = ?15, row = ?16, link = ?17, request = ?18
                                 WHERE scope = ?1 AND kind = ?2 AND email = ?3 AND reference = ?4 AND run = ?5",
                                )?
                                .execute(params![
                                    scope.0,
                                    key.kind.as_str(),
                                    key.email,
                                    key.reference,
                                    run,
                                    status_text(prior.status),
                                    prior.attempts,
                                    prior.last_attempt_at,
                                    empty_null(&prior.sent_at),
                                    prior.http_status,
                                    empty_null(&prior.error_code),
                                    empty_null(&entry.error),
                                    empty_null(&prior.correlation_id),
                                    entry.run,
                                    empty_null(&prior.file),
                                    prior.row.and_then(|r| i64::try_from(r).ok()),
                                    empty_null(&prior.link),
                                    entry.request
                                ])?;
                            }
                        }
                    }
                }
            }
            Ok(())
        })();
        match result {
            Ok(()) => tx.commit().map_err(|e| failure(&path, &e)),
            Err(e) => Err(failure(&path, &e)),
        }
    }

    fn summary(&mut self) -> Result<Vec<ScopeSummary>, LedgerError> {
        let result = (|| {
            let mut scopes: Vec<(i64, ScopeSummary)> = self
                .conn
                .prepare("SELECT id, api_url, business_unit_id, domain FROM scopes ORDER BY id")?
                .query_map([], |row| {
                    Ok((
                        row.get(0)?,
                        ScopeSummary {
                            api_url: row.get(1)?,
                            business_unit_id: row.get(2)?,
                            domain: row.get(3)?,
                            ..ScopeSummary::default()
                        },
                    ))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut statement = self.conn.prepare(
                "SELECT scope, kind, status, count(*), min(first_attempt_at), max(last_attempt_at) FROM entries
                 GROUP BY scope, kind, status ORDER BY scope, kind, status",
            )?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                let id: i64 = row.get(0)?;
                if let Some((_, summary)) = scopes.iter_mut().find(|(scope, _)| *scope == id) {
                    let count: i64 = row.get(3)?;
                    summary.counts.push((row.get(1)?, row.get(2)?, count as u64));
                    let first: Option<String> = row.get(4)?;
                    let last: Option<String> = row.get(5)?;
                    if first.is_some() && (summary.first_attempt_at.is_none() || first < summary.first_attempt_at) {
                        summary.first_attempt_at = first;
                    }
                    if last > summary.last_attempt_at {
                        summary.last_attempt_at = last;
                    }
                }
            }
            Ok(scopes.into_iter().map(|(_, summary)| summary).collect())
        })();
        result.map_err(|e| self.fail(e))
    }

    fn export(
        &mut self,
        business_unit_id: Option<&str>,
        each: &mut dyn FnMut(Exported) -> Result<(), String>,
    ) -> Result<u64, LedgerError> {
        let sql = format!(
            "SELECT s.api_url, s.business_unit_id, s.domain, e.kind, e.email, e.reference, {}
             FROM entries e JOIN scopes s ON s.id = e.scope
             WHERE ?1 IS NULL OR s.business_unit_id = ?1
             ORDER BY e.scope, e.first_attempt_at, e.id",
            ENTRY_COLUMNS.split(", ").map(|c| format!("e.{c}")).collect::<Vec<_>>().join(", ")
        );
        let mut written = 0;
        let mut stopped = None;
        let result = (|| {
            let mut statement = self.conn.prepare(&sql)?;
            let mut rows = statement.query(params![business_unit_id])?;
            while let Some(row) = rows.next()? {
                let exported = Exported {
                    scope: Scope { api_url: row.get(0)?, business_unit_id: row.get(1)? },
                    domain: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    kind: kind_of(&row.get::<_, String>(3)?),
                    email: row.get(4)?,
                    reference: row.get(5)?,
                    entry: entry_from_row_at(row, 6)?,
                };
                if let Err(message) = each(exported) {
                    stopped = Some(message);
                    break;
                }
                written += 1;
            }
            Ok(())
        })();
        result.map_err(|e| self.fail(e))?;
        match stopped {
            Some(reason) => Err(LedgerError::Other { path: self.path.clone(), reason }),
            None => Ok(written),
        }
    }

    fn forget(&mut self, emails: &[String]) -> Result<Vec<u64>, LedgerError> {
        let path = self.path.clone();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| failure(&path, &e))?;
        let mut counts = Vec::with_capacity(emails.len());
        for email in emails {
            let removed = tx
                .execute(
                    "DELETE FROM entries WHERE scope IN (SELECT id FROM scopes) AND kind IN ('email', 'link')
                     AND email = ?1",
                    params![email],
                )
                .map_err(|e| failure(&path, &e))?;
            counts.push(removed as u64);
        }
        tx.commit().map_err(|e| failure(&path, &e))?;
        // The deleted rows' bytes may linger in free pages and the WAL until reused: a
        // data-protection request wants them gone.
        self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;").map_err(|e| failure(&path, &e))?;
        Ok(counts)
    }

    fn settle(&mut self, scope: ScopeId, key: &Key, sent: bool) -> Result<Settled, LedgerError> {
        let entry = self.entry_by_key(scope, key).map_err(|e| self.fail(e))?;
        let Some(entry) = entry else { return Ok(Settled::NoEntry) };
        if !matches!(entry.prior.status, PriorStatus::Unknown | PriorStatus::InFlight { .. }) {
            return Ok(Settled::NotUnknown(entry.prior.status));
        }
        let now = super::now();
        let (status, error) = match sent {
            true => ("sent", format!("Settled by hand as sent on {now} (after checking Trustpilot Business).")),
            false => ("failed", format!("Settled by hand as not sent on {now}: the next run sends it.")),
        };
        self.conn
            .execute(
                "UPDATE entries SET status = ?5, error = ?6, error_code = 'settled', run = NULL,
                     sent_at = CASE WHEN ?5 = 'sent' THEN coalesce(sent_at, last_attempt_at) ELSE sent_at END
                 WHERE scope = ?1 AND kind = ?2 AND email = ?3 AND reference = ?4",
                params![scope.0, key.kind.as_str(), key.email, key.reference, status, error],
            )
            .map_err(|e| self.fail(e))?;
        Ok(Settled::Done { from: entry.prior.status })
    }

    fn import(&mut self, scope: ScopeId, rows: &[ImportRow]) -> Result<Imported, LedgerError> {
        let path = self.path.clone();
        let now = super::now();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| failure(&path, &e))?;
        let mut imported = Imported::default();
        let strength = |status: PriorStatus| match status {
            PriorStatus::Sent | PriorStatus::Link => 3,
            PriorStatus::Unknown | PriorStatus::InFlight { .. } => 2,
            PriorStatus::Failed => 1,
        };
        let result = (|| -> rusqlite::Result<()> {
            for row in rows {
                let key = &row.key;
                let existing: Option<String> = tx
                    .prepare_cached(
                        "SELECT status FROM entries WHERE scope = ?1 AND kind = ?2 AND email = ?3 AND reference = ?4",
                    )?
                    .query_row(params![scope.0, key.kind.as_str(), key.email, key.reference], |r| r.get(0))
                    .optional()?;
                let at = if row.sent_at.is_empty() { now.as_str() } else { row.sent_at.as_str() };
                let line = i64::try_from(row.row).unwrap_or(i64::MAX);
                match existing.map(|s| parse_status(&s)) {
                    None => {
                        tx.prepare_cached(
                            "INSERT INTO entries (hash, scope, kind, email, reference, status, attempts,
                                 first_attempt_at, last_attempt_at, sent_at, http_status, error_code, error,
                                 correlation_id, file, row, request, link)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                        )?
                        .execute(params![
                            key_hash(scope, key),
                            scope.0,
                            key.kind.as_str(),
                            key.email,
                            key.reference,
                            status_text(row.status),
                            row.attempts.max(1),
                            at,
                            empty_null(&row.sent_at),
                            row.http_status,
                            empty_null(&row.error_code),
                            None::<&str>,
                            empty_null(&row.correlation_id),
                            row.file,
                            line,
                            row.request,
                            empty_null(&row.link)
                        ])?;
                        imported.added += 1;
                    }
                    Some(existing) if strength(row.status) > strength(existing) => {
                        tx.prepare_cached(
                            "UPDATE entries SET status = ?5, sent_at = coalesce(?6, sent_at),
                                 correlation_id = coalesce(?7, correlation_id), link = coalesce(?8, link), run = NULL
                             WHERE scope = ?1 AND kind = ?2 AND email = ?3 AND reference = ?4",
                        )?
                        .execute(params![
                            scope.0,
                            key.kind.as_str(),
                            key.email,
                            key.reference,
                            status_text(row.status),
                            empty_null(&row.sent_at),
                            empty_null(&row.correlation_id),
                            empty_null(&row.link)
                        ])?;
                        imported.updated += 1;
                    }
                    Some(_) => imported.known += 1,
                }
            }
            Ok(())
        })();
        match result {
            Ok(()) => tx.commit().map_err(|e| failure(&path, &e))?,
            Err(e) => return Err(failure(&path, &e)),
        }
        Ok(imported)
    }
}

/// [`entry_from_row`] for columns starting at `offset`.
fn entry_from_row_at(row: &rusqlite::Row<'_>, offset: usize) -> rusqlite::Result<Entry> {
    let text = column_text(row, offset);
    Ok(Entry {
        prior: prior_from_row_at(row, offset)?,
        first_attempt_at: text(2)?,
        error: text(7)?,
        run: row.get(offset + 9)?,
        request: text(13)?,
    })
}

/// A [`Prior`] from the columns of [`PRIOR_COLUMNS`] starting at `offset`.
fn prior_from_row_at(row: &rusqlite::Row<'_>, offset: usize) -> rusqlite::Result<Prior> {
    let text = column_text(row, offset);
    Ok(Prior {
        status: parse_status(&text(0)?),
        attempts: u32::try_from(row.get::<_, i64>(offset + 1)?).unwrap_or(u32::MAX),
        last_attempt_at: text(3)?,
        sent_at: text(4)?,
        http_status: row.get::<_, Option<i64>>(offset + 5)?.and_then(|s| u16::try_from(s).ok()),
        error_code: text(6)?,
        correlation_id: text(8)?,
        file: text(10)?,
        row: row.get::<_, Option<i64>>(offset + 11)?.and_then(|r| u64::try_from(r).ok()),
        link: text(12)?,
    })
}

/// The text of column `offset + i` (NULL as empty).
fn column_text<'a>(row: &'a rusqlite::Row<'_>, offset: usize) -> impl Fn(usize) -> rusqlite::Result<String> + 'a {
    move |i| Ok(row.get::<_, Option<String>>(offset + i)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::PriorStatus as S;

    fn scope() -> Scope {
        Scope { api_url: "https://invitations-api.trustpilot.com/".into(), business_unit_id: "bu-1".into() }
    }

    fn key(email: &str, reference: &str) -> Key {
        Key { kind: Kind::Email, email: email.into(), reference: reference.into() }
    }

    fn reserve(store: &mut SqliteStore, scope: ScopeId, run: i64, key: &Key, resend_unknown: bool) -> Reserved {
        let mut ops = [Op::Reserve {
            key: key.clone(),
            request: "{}".into(),
            origin: Some(("orders.csv".into(), 7)),
            resend_unknown,
            answer: None,
        }];
        store.apply(scope, run, &mut ops).unwrap();
        match ops.into_iter().next() {
            Some(Op::Reserve { answer: Some(answer), .. }) => answer,
            other => panic!("no answer: {other:?}"),
        }
    }

    fn settle(store: &mut SqliteStore, scope: ScopeId, run: i64, key: &Key, status: PriorStatus) {
        let mut ops = [Op::Settle {
            key: key.clone(),
            status,
            http_status: Some(202),
            error_code: String::new(),
            error: String::new(),
            correlation_id: "corr-1".into(),
            sent_at: "2026-11-30T06:00:00Z".into(),
            link: String::new(),
        }];
        store.apply(scope, run, &mut ops).unwrap();
    }

    fn status(store: &mut SqliteStore, scope: ScopeId, key: &Key) -> Option<PriorStatus> {
        store.lookup(scope, std::slice::from_ref(key)).unwrap()[0].as_ref().map(|p| p.status)
    }

    fn open() -> (tempfile::TempDir, SqliteStore, ScopeId) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("ledger.sqlite")).unwrap();
        let id = store.scope(&scope(), Some("example.com")).unwrap();
        (dir, store, id)
    }

    #[test]
    fn a_key_is_reserved_once_and_its_outcome_decides_what_follows() {
        let (_dir, mut store, id) = open();
        let k = key("ann@example.com", "R-1");
        assert!(matches!(reserve(&mut store, id, 1, &k, false), Reserved::Go { attempts: 1, before: None }));
        assert_eq!(status(&mut store, id, &k), Some(S::InFlight { live: false }));
        // Another run meets it in flight: taken.
        assert!(
            matches!(reserve(&mut store, id, 2, &k, true), Reserved::Taken(p) if p.status == S::InFlight { live: true })
        );
        settle(&mut store, id, 1, &k, S::Failed);
        // Failed: sent again, the attempts add up.
        assert!(matches!(reserve(&mut store, id, 2, &k, false), Reserved::Go { attempts: 2, before: Some(_) }));
        settle(&mut store, id, 2, &k, S::Sent);
        let prior = store.lookup(id, std::slice::from_ref(&k)).unwrap()[0].clone().unwrap();
        assert_eq!((prior.status, prior.attempts), (S::Sent, 2));
        assert_eq!(
            (prior.file.as_str(), prior.row, prior.sent_at.as_str()),
            ("orders.csv", Some(7), "2026-11-30T06:00:00Z")
        );
        // Sent: never again, whatever is asked.
        assert!(matches!(reserve(&mut store, id, 3, &k, true), Reserved::Taken(p) if p.status == S::Sent));
    }

    #[test]
    fn unknown_is_sent_again_only_when_asked_and_a_release_puts_back_what_was() {
        let (_dir, mut store, id) = open();
        let k = key("bo@example.com", "R-2");
        reserve(&mut store, id, 1, &k, false);
        settle(&mut store, id, 1, &k, S::Unknown);
        assert!(matches!(reserve(&mut store, id, 2, &k, false), Reserved::Taken(p) if p.status == S::Unknown));
        let Reserved::Go { before, .. } = reserve(&mut store, id, 2, &k, true) else { panic!("not reserved") };
        // The request never left: the entry is unknown again, with its one attempt.
        store.apply(id, 2, &mut [Op::Release { key: k.clone(), before }]).unwrap();
        let prior = store.lookup(id, std::slice::from_ref(&k)).unwrap()[0].clone().unwrap();
        assert_eq!((prior.status, prior.attempts), (S::Unknown, 1));
        // A new key given back is gone, as if never reserved.
        let fresh = key("cy@example.com", "R-3");
        let Reserved::Go { before, .. } = reserve(&mut store, id, 2, &fresh, false) else { panic!() };
        store.apply(id, 2, &mut [Op::Release { key: fresh.clone(), before }]).unwrap();
        assert_eq!(status(&mut store, id, &fresh), None);
    }

    #[test]
    fn entries_of_a_dead_run_become_unknown_and_scopes_and_kinds_are_apart() {
        let (_dir, mut store, id) = open();
        let k = key("ann@example.com", "R-1");
        reserve(&mut store, id, 1, &k, false);
        assert_eq!(store.settle_in_flight(id).unwrap(), 1);
        assert_eq!(status(&mut store, id, &k), Some(S::Unknown));
        let other = store.scope(&Scope { business_unit_id: "bu-2".into(), ..scope() }, None).unwrap();
        let sandbox = store.scope(&Scope { api_url: "http://127.0.0.1:9/".into(), ..scope() }, None).unwrap();
        assert_eq!(status(&mut store, other, &k), None);
        assert_eq!(status(&mut store, sandbox, &k), None);
        let link = Key { kind: Kind::Link, ..k.clone() };
        assert_eq!(status(&mut store, id, &link), None);
        assert_eq!(store.scopes_holding(other, &k).unwrap(), [scope()]);
        assert_eq!(store.scope_of_domain(&scope().api_url, "EXAMPLE.com").unwrap(), Some(scope()));
    }

    #[test]
    fn lookups_in_batches_find_exactly_their_keys() {
        let (_dir, mut store, id) = open();
        let keys: Vec<Key> = (0..3000).map(|i| key(&format!("c{i}@example.com"), &format!("R-{i}"))).collect();
        for k in keys.iter().step_by(3) {
            reserve(&mut store, id, 1, k, false);
            settle(&mut store, id, 1, k, S::Sent);
        }
        let found = store.lookup(id, &keys).unwrap();
        for (i, prior) in found.iter().enumerate() {
            assert_eq!(prior.is_some(), i % 3 == 0, "key {i}");
        }
        // The same key twice in one batch is answered twice.
        let twice = store.lookup(id, &[keys[0].clone(), keys[0].clone(), keys[1].clone()]).unwrap();
        assert_eq!(twice.iter().map(Option::is_some).collect::<Vec<_>>(), [true, true, false]);
    }

    #[test]
    fn every_query_probes_an_index() {
        let (_dir, store, _) = open();
        let plans = [
            (IDS_SQL.to_string(), "COVERING INDEX entries_by_hash"),
            (rows_sql(), "INTEGER PRIMARY KEY"),
            (SETTLE_IN_FLIGHT_SQL.to_string(), "entries_in_flight"),
            (INVITED_SINCE_SQL.to_string(), "(scope=? AND kind=? AND email=?)"),
        ];
        for (sql, index) in plans {
            let mut statement = store.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let nulls = std::iter::repeat_n(rusqlite::types::Null, statement.parameter_count());
            let rows = statement.query_map(rusqlite::params_from_iter(nulls), |row| row.get(3)).unwrap();
            let details: Vec<String> = rows.map(Result::unwrap).collect();
            assert!(details.iter().any(|d| d.contains(index)), "{sql}: {details:?}");
        }
    }

    #[test]
    fn two_connections_reserving_one_key_let_exactly_one_send() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite");
        let id = SqliteStore::open(&path).unwrap().scope(&scope(), None).unwrap();
        let winners: Vec<bool> = std::thread::scope(|s| {
            let tasks: Vec<_> = (0..4)
                .map(|run| {
                    let path = path.clone();
                    s.spawn(move || {
                        let mut store = SqliteStore::open(&path).unwrap();
                        (0..50)
                            .map(|i| {
                                let k = key(&format!("c{i}@example.com"), "R");
                                matches!(reserve(&mut store, id, run + 1, &k, false), Reserved::Go { .. })
                            })
                            .collect::<Vec<bool>>()
                    })
                })
                .collect();
            tasks.into_iter().flat_map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(winners.iter().filter(|&&won| won).count(), 50, "each key reserved exactly once");
    }

    #[test]
    fn forget_settle_and_import() {
        let (_dir, mut store, id) = open();
        let k = key("ann@example.com", "R-1");
        reserve(&mut store, id, 1, &k, false);
        settle(&mut store, id, 1, &k, S::Unknown);
        assert_eq!(store.settle(id, &k, true).unwrap(), Settled::Done { from: S::Unknown });
        assert_eq!(status(&mut store, id, &k), Some(S::Sent));
        assert_eq!(store.settle(id, &k, false).unwrap(), Settled::NotUnknown(S::Sent));
        assert_eq!(store.settle(id, &key("x@example.com", "R"), true).unwrap(), Settled::NoEntry);

        let row = |email: &str, status: PriorStatus| ImportRow {
            key: key(email, "R-9"),
            status,
            attempts: 1,
            sent_at: String::new(),
            http_status: None,
            error_code: String::new(),
            correlation_id: String::new(),
            file: "old.results.csv".into(),
            row: 1,
            link: String::new(),
            request: "{}".into(),
        };
        let rows = [row("a@example.com", S::Unknown), row("b@example.com", S::Sent)];
        assert_eq!(store.import(id, &rows).unwrap(), Imported { added: 2, updated: 0, known: 0 });
        let stronger = [row("a@example.com", S::Sent), row("b@example.com", S::Unknown)];
        assert_eq!(store.import(id, &stronger).unwrap(), Imported { added: 0, updated: 1, known: 1 });
        assert_eq!(status(&mut store, id, &key("a@example.com", "R-9")), Some(S::Sent));

        assert_eq!(store.forget(&["ann@example.com".into(), "nobody@example.com".into()]).unwrap(), [1, 0]);
        assert_eq!(status(&mut store, id, &k), None);
    }

    #[test]
    fn a_file_that_is_not_a_ledger_is_refused_and_the_schema_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite");
        std::fs::write(&path, "hello").unwrap();
        assert!(matches!(SqliteStore::open(&path), Err(LedgerError::Corrupt { .. })));
        std::fs::remove_file(&path).unwrap();
        // Another program's database is refused before anything is written into it (not even
        // the WAL journal mode, which would stay in its file).
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);").unwrap();
        drop(conn);
        let before = std::fs::read(&path).unwrap();
        assert!(matches!(SqliteStore::open(&path), Err(LedgerError::Foreign { .. })));
        assert_eq!(std::fs::read(&path).unwrap(), before, "the file was changed");
        std::fs::remove_file(&path).unwrap();
        assert!(SqliteStore::open_read_only(&path).unwrap().is_none(), "no ledger yet");
        assert!(!path.exists(), "a read-only open creates nothing");
        drop(SqliteStore::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        drop(conn);
        assert!(matches!(SqliteStore::open(&path), Err(LedgerError::Newer { found: 2, known: 1, .. })));
        assert!(matches!(SqliteStore::open_read_only(&path), Err(LedgerError::Newer { .. })));
    }

    #[test]
    fn an_emptied_ledger_is_refused_and_a_new_one_is_never_seen_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite");
        drop(SqliteStore::open(&path).unwrap());
        assert!(std::fs::metadata(&path).unwrap().len() > 0, "created whole");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(names.iter().all(|n| !n.to_string_lossy().ends_with(".new")), "no temporary file left: {names:?}");
        // Cut to nothing (a full disk, a failed restore): refused, never taken for a new ledger.
        std::fs::write(&path, b"").unwrap();
        for error in [SqliteStore::open(&path).unwrap_err(), SqliteStore::open_read_only(&path).unwrap_err()] {
            assert!(matches!(error, LedgerError::Emptied { .. }), "{error:?}");
            assert!(error.to_string().contains("is empty (0 bytes)"), "{error}");
        }
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "left as it was");
        // Empty beside a write-ahead log that holds its pages: SQLite's to read, not refused.
        std::fs::write(dir.path().join("ledger.sqlite-wal"), b"pages").unwrap();
        assert!(resolve(&path).unwrap().is_some());
    }

    #[test]
    fn two_runs_creating_the_ledger_at_once_both_open_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/ledger.sqlite");
        std::thread::scope(|s| {
            let tasks: Vec<_> = (0..4).map(|_| s.spawn(|| SqliteStore::open(&path).map(drop))).collect();
            for task in tasks {
                task.join().unwrap().unwrap();
            }
        });
        assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 1, "only the ledger is left");
    }

    #[cfg(unix)]
    #[test]
    fn a_ledger_is_opened_by_its_resolved_path_and_refused_with_two_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite");
        drop(SqliteStore::open(&path).unwrap());
        let real = std::fs::canonicalize(&path).unwrap();
        // A symbolic link is the same ledger: one path for the database, its journal and its lock.
        let link = dir.path().join("link.sqlite");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert_eq!(SqliteStore::open(&link).unwrap().path(), real);
        assert_eq!(SqliteStore::open_read_only(&link).unwrap().unwrap().path(), real);
        // A link to nothing is not a place to start a new, empty ledger.
        let dangling = dir.path().join("dangling.sqlite");
        std::os::unix::fs::symlink(dir.path().join("unmounted/ledger.sqlite"), &dangling).unwrap();
        for error in [SqliteStore::open(&dangling).unwrap_err(), SqliteStore::open_read_only(&dangling).unwrap_err()] {
            assert!(matches!(error, LedgerError::DanglingLink { .. }), "{error:?}");
        }
        assert!(!dir.path().join("unmounted").exists(), "nothing created where the link points");
        // A second name (hard link) would be a second journal: refused by either name.
        let other = dir.path().join("other.sqlite");
        std::fs::hard_link(&path, &other).unwrap();
        for name in [&path, &other] {
            let error = SqliteStore::open(name).unwrap_err();
            assert!(matches!(error, LedgerError::HardLinked { links: 2, .. }), "{error:?}");
            assert!(error.to_string().contains("has 2 names (hard links)"), "{error}");
            assert!(matches!(SqliteStore::open_read_only(name), Err(LedgerError::HardLinked { .. })));
        }
        std::fs::remove_file(&other).unwrap();
        SqliteStore::open(&path).unwrap();
    }

    #[test]
    fn a_ledger_locked_by_another_program_is_a_clear_error() {
        let (dir, mut store, id) = open();
        let other = Connection::open(dir.path().join("ledger.sqlite")).unwrap();
        other.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let error = store.scope(&Scope { business_unit_id: "bu-2".into(), ..scope() }, None).unwrap_err();
        assert!(matches!(error, LedgerError::Locked { .. }), "{error:?}");
        assert!(error.to_string().contains("is locked by another program"), "{error}");
        let mut ops = [Op::Reserve {
            key: key("a@example.com", "R"),
            request: "{}".into(),
            origin: None,
            resend_unknown: false,
            answer: None,
        }];
        assert!(matches!(store.apply(id, 1, &mut ops), Err(LedgerError::Locked { .. })));
        other.execute_batch("COMMIT").unwrap();
        store.apply(id, 1, &mut ops).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_read_only_ledger_is_refused_with_a_clear_error() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite");
        drop(SqliteStore::open(&path).unwrap());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        if std::fs::OpenOptions::new().write(true).open(&path).is_ok() {
            return; // root ignores file permissions: nothing to test
        }
        let error = SqliteStore::open(&path).unwrap_err();
        assert!(matches!(error, LedgerError::ReadOnly { .. }), "{error:?}");
        assert!(error.to_string().contains("cannot be written (its permissions do not let you write it)"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn a_ledger_in_a_folder_that_cannot_be_written_says_so() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("shop");
        let path = folder.join("ledger.sqlite");
        drop(SqliteStore::open(&path).unwrap());
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o500)).unwrap();
        if tempfile::tempfile_in(&folder).is_ok() {
            return; // root ignores permissions: nothing to test
        }
        let error = SqliteStore::open(&path).unwrap_err();
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(matches!(error, LedgerError::ReadOnly { .. }), "{error:?}");
        assert!(error.to_string().contains("does not let you create files"), "{error}");
    }
}
