//! The journal interface: what the sender says about each row it handles, and what it must
//! hear back before a request may leave. The ledger (who was invited, durably) and the run's
//! results report implement it; the sender knows neither.

use std::future::Future;
use std::pin::Pin;

use crate::invitation::Invitation;

/// A future a journal hands back (journals are used behind `dyn`).
pub type JournalFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, JournalError>> + Send + 'a>>;

/// What happened to a row, as the results report and the summary name it (SPEC section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Sent,
    AlreadySent,
    Failed,
    Invalid,
    Duplicate,
    Excluded,
    Skipped,
    Unknown,
    Ready,
}

impl Status {
    pub const ALL: [Status; 9] = [
        Status::Sent,
        Status::AlreadySent,
        Status::Failed,
        Status::Invalid,
        Status::Duplicate,
        Status::Excluded,
        Status::Skipped,
        Status::Unknown,
        Status::Ready,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Sent => "sent",
            Status::AlreadySent => "already_sent",
            Status::Failed => "failed",
            Status::Invalid => "invalid",
            Status::Duplicate => "duplicate",
            Status::Excluded => "excluded",
            Status::Skipped => "skipped",
            Status::Unknown => "unknown",
            Status::Ready => "ready",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// A request for this row may have reached Trustpilot: a report holding such a row is
    /// the record of a real send, never destroyed.
    pub fn is_real_send(self) -> bool {
        matches!(self, Status::Sent | Status::AlreadySent | Status::Failed | Status::Unknown)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a request asks of Trustpilot; the ledger keeps each kind apart, so a link is not an
/// email invitation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `POST .../email-invitations`.
    #[default]
    Email,
    /// `POST .../invitation-links`.
    Link,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Link => "link",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        [Kind::Email, Kind::Link].into_iter().find(|k| k.as_str() == text)
    }
}

/// One valid row to send.
#[derive(Debug, Clone)]
pub struct Job {
    /// Its place in the run's report (0, 1, 2 ... in the order rows were read).
    pub seq: u64,
    /// The row and physical line of the input (or, for `retry`, as the results file says).
    pub row: u64,
    pub line: u64,
    pub invitation: Invitation,
    pub kind: Kind,
    /// `retry --include-unknown`: a key whose outcome is unknown may be sent again.
    pub resend_unknown: bool,
    /// The status the row keeps if it is not attempted: `skipped` for a send, the row's
    /// earlier `failed` or `unknown` for a retry (so the next retry still finds it).
    pub unattempted: Status,
}

/// A failed request, as the report and the ledger keep it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Failure {
    pub http_status: Option<u16>,
    /// Trustpilot's `errorCode`, else `http.<status>`, `transport.unknown`, ...
    pub error_code: String,
    /// One line, secrets removed.
    pub message: String,
    pub correlation_id: String,
}

/// Why a row was not attempted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotAttempted {
    /// Beyond `--limit`.
    Limit,
    /// Ctrl-C.
    Interrupted,
    /// The run stopped on an error every further row would meet.
    Fatal,
    /// Trustpilot kept answering 429.
    Throttled,
}

impl NotAttempted {
    pub fn reason(&self) -> &'static str {
        match self {
            NotAttempted::Limit => "Not sent: beyond --limit.",
            NotAttempted::Interrupted => "Not sent: the run was interrupted.",
            NotAttempted::Fatal => "Not sent: the run stopped on an error (see the summary).",
            NotAttempted::Throttled => "Not sent: Trustpilot kept answering 429 (too many requests).",
        }
    }
}

/// What the ledger already holds for a key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prior {
    pub status: PriorStatus,
    /// Requests recorded for the key, by every run.
    pub attempts: u32,
    /// UTC `YYYY-MM-DDTHH:MM:SSZ`.
    pub last_attempt_at: String,
    /// When Trustpilot accepted it (for `sent`).
    pub sent_at: String,
    pub http_status: Option<u16>,
    pub error_code: String,
    pub correlation_id: String,
    /// The file and row it came from.
    pub file: String,
    pub row: Option<u64>,
    /// The invitation link (kind `link`).
    pub link: String,
}

/// A ledger entry's status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum PriorStatus {
    /// A request is (or was) on its way; `live` when the run that sent it is still running.
    InFlight {
        live: bool,
    },
    #[default]
    Sent,
    Failed,
    Unknown,
    /// A link was created.
    Link,
}

impl PriorStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PriorStatus::InFlight { .. } => "in_flight",
            PriorStatus::Sent => "sent",
            PriorStatus::Failed => "failed",
            PriorStatus::Unknown => "unknown",
            PriorStatus::Link => "link",
        }
    }

    /// Whether a run may send the key now (with `resend_unknown` for `retry --include-unknown`).
    pub fn may_send(self, resend_unknown: bool) -> bool {
        match self {
            PriorStatus::Failed => true,
            PriorStatus::Unknown | PriorStatus::InFlight { live: false } => resend_unknown,
            PriorStatus::InFlight { live: true } | PriorStatus::Sent | PriorStatus::Link => false,
        }
    }
}

/// The ledger's answer before a request leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// Reserved durably: the request may leave. `attempts` counts it.
    Go { attempts: u32 },
    /// Another run, or an earlier one, has it: do not send.
    Taken(Prior),
}

/// What became of one job, told once per attempt and once at the end.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Accepted (any 2xx). `link` for an invitation link.
    Sent { attempts: u32, http_status: u16, correlation_id: String, sent_at: String, link: String },
    /// Refused, or never arrived. With `retrying`, another attempt follows (not final).
    Failed { attempts: u32, failure: Failure, retrying: bool },
    /// The request may or may not have reached Trustpilot.
    Unknown { attempts: u32, failure: Failure },
    /// Reserved, but nothing was created: the request never left (a stop while it waited
    /// for its slot), or Trustpilot answered 429. The reservation is given back, and the
    /// attempt does not count; `attempts` as before it. With `stop`, that is the job's end;
    /// without, it is tried again.
    Released { attempts: u32, failure: Option<Failure>, stop: Option<NotAttempted> },
    /// Never reserved.
    NotAttempted { why: NotAttempted },
    /// The ledger holds the key already (its [`Reservation::Taken`]).
    Taken(Prior),
}

impl Outcome {
    /// Whether this is the job's last word.
    pub fn is_final(&self) -> bool {
        !matches!(self, Outcome::Failed { retrying: true, .. } | Outcome::Released { stop: None, .. })
    }
}

/// A journal could not record: nothing more may be sent.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct JournalError(pub String);

/// Where the sender's outcomes go.
pub trait Journal: Send + Sync + 'static {
    /// Reserves the job's key before its request leaves. `Go` only once the reservation is
    /// durable (it survives `kill -9` and power loss).
    fn reserve<'a>(&'a self, job: &'a Job) -> JournalFuture<'a, Reservation>;

    /// Records an outcome. Only a final one reaches the report.
    fn record<'a>(&'a self, job: &'a Job, outcome: Outcome) -> JournalFuture<'a, ()>;
}

/// Two journals as one: a reservation must be granted by the first (the ledger) and is
/// then told to the second (the report); every outcome goes to both, the first first.
///
/// When the first fails (a full disk under the ledger), the second still gets the row's
/// line, so that the report says what happened to every row: sent when it was sent, not
/// attempted when its reservation failed. The error then stops the run.
pub struct Both<A, B>(pub A, pub B);

impl<A: Journal, B: Journal> Journal for Both<A, B> {
    fn reserve<'a>(&'a self, job: &'a Job) -> JournalFuture<'a, Reservation> {
        Box::pin(async move {
            let answer = match self.0.reserve(job).await {
                Ok(answer) => answer,
                Err(error) => {
                    self.1.record(job, Outcome::NotAttempted { why: NotAttempted::Fatal }).await?;
                    return Err(error);
                }
            };
            if let Reservation::Go { .. } = answer {
                self.1.reserve(job).await?;
            }
            Ok(answer)
        })
    }

    fn record<'a>(&'a self, job: &'a Job, outcome: Outcome) -> JournalFuture<'a, ()> {
        Box::pin(async move {
            let first = self.0.record(job, outcome.clone()).await;
            self.1.record(job, outcome).await?;
            first
        })
    }
}

impl<J: Journal + ?Sized> Journal for std::sync::Arc<J> {
    fn reserve<'a>(&'a self, job: &'a Job) -> JournalFuture<'a, Reservation> {
        (**self).reserve(job)
    }

    fn record<'a>(&'a self, job: &'a Job, outcome: Outcome) -> JournalFuture<'a, ()> {
        (**self).record(job, outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A journal that fails every call, or records what it is told.
    #[derive(Default)]
    struct Notebook {
        broken: bool,
        outcomes: std::sync::Mutex<Vec<(u64, Outcome)>>,
    }

    impl Journal for Notebook {
        fn reserve<'a>(&'a self, _: &'a Job) -> JournalFuture<'a, Reservation> {
            Box::pin(async move {
                match self.broken {
                    true => Err(JournalError("the disk is full".into())),
                    false => Ok(Reservation::Go { attempts: 1 }),
                }
            })
        }

        fn record<'a>(&'a self, job: &'a Job, outcome: Outcome) -> JournalFuture<'a, ()> {
            Box::pin(async move {
                if self.broken {
                    return Err(JournalError("the disk is full".into()));
                }
                self.outcomes.lock().unwrap().push((job.seq, outcome));
                Ok(())
            })
        }
    }

    #[tokio::test]
    async fn a_broken_ledger_still_leaves_every_row_its_line_in_the_report() {
        let both = Both(Notebook { broken: true, ..Notebook::default() }, Notebook::default());
        let job = |seq| Job {
            seq,
            row: seq + 1,
            line: seq + 2,
            invitation: Invitation::default(),
            kind: Kind::Email,
            resend_unknown: false,
            unattempted: Status::Skipped,
        };
        // Its reservation failed: the request never left, the report says so.
        let error = both.reserve(&job(0)).await.unwrap_err();
        assert_eq!(error.0, "the disk is full");
        // Sent, but the ledger could not record it: the report still says sent.
        let sent = Outcome::Sent {
            attempts: 1,
            http_status: 202,
            correlation_id: "c".into(),
            sent_at: "2026-11-30T10:00:00Z".into(),
            link: String::new(),
        };
        assert!(both.record(&job(1), sent).await.is_err());
        let outcomes = both.1.outcomes.lock().unwrap().clone();
        assert!(
            matches!(
                outcomes.as_slice(),
                [(0, Outcome::NotAttempted { why: NotAttempted::Fatal }), (1, Outcome::Sent { http_status: 202, .. })]
            ),
            "{outcomes:?}"
        );
    }

    #[test]
    fn status_names_round_trip() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("in_flight"), None);
    }

    #[test]
    fn who_may_send_a_key_again() {
        let table = [
            (PriorStatus::Failed, false, true),
            (PriorStatus::Sent, true, false),
            (PriorStatus::Unknown, false, false),
            (PriorStatus::Unknown, true, true),
            (PriorStatus::InFlight { live: false }, false, false),
            (PriorStatus::InFlight { live: false }, true, true),
            (PriorStatus::InFlight { live: true }, true, false),
            (PriorStatus::Link, true, false),
        ];
        for (status, resend_unknown, may) in table {
            assert_eq!(status.may_send(resend_unknown), may, "{status:?} {resend_unknown}");
        }
    }
}
