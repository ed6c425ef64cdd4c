//! One live run per ledger and scope (guarantee 7): an operating-system lock on a small file
//! beside the ledger (`<ledger>.locks/<scope>.lock`). The system drops it when the process
//! ends, however it ends, so a run that died holds nothing. The file also says who holds it,
//! so a second run can name the first.
//!
//! The lock belongs to the file, not to the name the user typed: [`super::Ledger`] hands it
//! the ledger's path with symbolic links resolved, and refuses a ledger with several names
//! (hard links), so every way of reaching one ledger file meets the same lock folder (a
//! folder reached through two mount points is still one folder).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{LedgerError, Scope};

/// How often a run given `--wait` looks again.
const POLL: Duration = Duration::from_millis(250);

/// The run that holds a lock.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    /// UTC.
    pub started_at: String,
    /// Its command line (no secrets: they come from the environment only).
    pub command: String,
}

impl Holder {
    /// This process.
    pub fn me() -> Holder {
        let mut command: String =
            std::env::args_os().map(|a| crate::text::shell_quote(&a.to_string_lossy())).collect::<Vec<_>>().join(" ");
        if command.chars().count() > 200 {
            command = command.chars().take(200).collect::<String>() + "...";
        }
        Holder { pid: std::process::id(), started_at: super::now(), command }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.pid == 0 {
            return f.write_str("a run that has not said who it is yet");
        }
        write!(f, "process {}, started {}", self.pid, self.started_at)?;
        if !self.command.is_empty() {
            write!(f, " (`{}`)", self.command)?;
        }
        Ok(())
    }
}

/// A held run lock; dropped, it is released.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    path: PathBuf,
}

impl RunLock {
    /// Where the lock of `scope` lives.
    pub fn path_for(ledger: &Path, scope: &Scope) -> PathBuf {
        let name = ledger.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "ledger".into());
        let folder = ledger.with_file_name(format!("{name}.locks"));
        let id = xxhash_rust::xxh3::xxh3_64(format!("{}\u{0}{}", scope.api_url, scope.business_unit_id).as_bytes());
        folder.join(format!("{id:016x}.lock"))
    }

    /// Takes the lock of `scope`. If a live run holds it: an error naming that run, or with
    /// `wait`, `waiting(holder)` and then a wait until it is free (or `cancelled()`).
    pub fn acquire(
        ledger: &Path,
        scope: &Scope,
        wait: Option<&dyn Fn() -> bool>,
        waiting: impl FnOnce(&Holder),
    ) -> Result<RunLock, LedgerError> {
        let path = RunLock::path_for(ledger, scope);
        let error = |e: std::io::Error| LedgerError::Other {
            path: ledger.to_path_buf(),
            reason: format!("cannot use the run lock {}: {e}", path.display()),
        };
        if let Some(folder) = path.parent() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(folder).map_err(error)?;
        }
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(error)?;
        let mut waiting = Some(waiting);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let holder = read_holder(&mut file);
                    let Some(cancelled) = wait else {
                        return Err(LedgerError::Busy { business_unit_id: scope.business_unit_id.clone(), holder });
                    };
                    if let Some(tell) = waiting.take() {
                        tell(&holder);
                    }
                    if cancelled() {
                        return Err(LedgerError::Other {
                            path: ledger.to_path_buf(),
                            reason: "stopped waiting for the other run".to_string(),
                        });
                    }
                    std::thread::sleep(POLL);
                }
                Err(TryLockError::Error(e)) => return Err(error(e)),
            }
        }
        let me = serde_json::to_string(&Holder::me()).unwrap_or_default();
        let written =
            file.set_len(0).and_then(|()| file.seek(SeekFrom::Start(0))).and_then(|_| file.write_all(me.as_bytes()));
        written.map_err(error)?;
        Ok(RunLock { _file: file, path })
    }

    /// Whether a live run holds the lock of `scope` (for a dry run, which takes none).
    pub fn is_held(ledger: &Path, scope: &Scope) -> bool {
        let Ok(file) = File::open(RunLock::path_for(ledger, scope)) else { return false };
        match file.try_lock_shared() {
            Ok(()) => {
                let _ = file.unlock();
                false
            }
            Err(TryLockError::WouldBlock) => true,
            Err(TryLockError::Error(_)) => false,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn read_holder(file: &mut File) -> Holder {
    let mut text = String::new();
    let read = file.seek(SeekFrom::Start(0)).and_then(|_| file.take(4096).read_to_string(&mut text));
    match read {
        Ok(_) => serde_json::from_str(&text).unwrap_or_default(),
        Err(_) => Holder::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(unit: &str) -> Scope {
        Scope { api_url: "https://invitations-api.trustpilot.com/".into(), business_unit_id: unit.into() }
    }

    #[test]
    fn one_holder_per_scope_and_the_second_is_told_who() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.sqlite");
        let first = RunLock::acquire(&ledger, &scope("a"), None, |_| {}).unwrap();
        assert!(RunLock::is_held(&ledger, &scope("a")));
        assert!(!RunLock::is_held(&ledger, &scope("b")));
        match RunLock::acquire(&ledger, &scope("a"), None, |_| {}) {
            Err(LedgerError::Busy { business_unit_id, holder }) => {
                assert_eq!(business_unit_id, "a");
                assert_eq!(holder.pid, std::process::id());
            }
            other => panic!("expected busy, got {other:?}"),
        }
        let _other_scope = RunLock::acquire(&ledger, &scope("b"), None, |_| {}).unwrap();
        drop(first);
        assert!(!RunLock::is_held(&ledger, &scope("a")));
        RunLock::acquire(&ledger, &scope("a"), None, |_| {}).unwrap();
    }

    #[test]
    fn waiting_gives_up_when_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.sqlite");
        let _first = RunLock::acquire(&ledger, &scope("a"), None, |_| {}).unwrap();
        let told = std::cell::Cell::new(false);
        let cancelled = || true;
        let second = RunLock::acquire(&ledger, &scope("a"), Some(&cancelled), |_| told.set(true));
        assert!(second.is_err());
        assert!(told.get());
    }

    #[cfg(unix)]
    #[test]
    fn the_lock_folder_and_file_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.sqlite");
        let lock = RunLock::acquire(&ledger, &scope("a"), None, |_| {}).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(lock.path()), 0o600);
        assert_eq!(mode(lock.path().parent().unwrap()), 0o700);
    }
}
