//! Opening a run session: the lock, the secrets, and the journal — new, or replayed to
//! resume where a crash or a quit left off.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::SystemTime;

use crate::inventory::{self, Inventory, Secret};
use crate::runbook::Loaded;
use crate::runbook::roles::RoleMap;
use crate::session::journal::{
    self, Event, Journal, JournalError, JournalHandle, SessionStart, Stream,
};
use crate::session::lock::{Lock, LockError};
use crate::session::mask::Masker;
use crate::session::replay::{self, StepState as Replayed};
use crate::session::run::{Resolved, Run, StepState};

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("secrets the runbook needs cannot be read:\n{0}")]
    Secrets(String),
}

/// Everything a run needs that is opened once.
pub struct Session {
    /// Held while this process drives; released early by a handover.
    pub lock: Option<Lock>,
    /// The journal, written on its own thread.
    pub journal: JournalHandle,
    pub secrets: BTreeMap<String, Secret>,
    pub masker: Masker,
    /// What the operator must know before going on (resume, a changed runbook, a weak or
    /// default credential).
    pub notices: Vec<String>,
    /// Each step's journaled output (of its latest attempt), for the detail pane.
    pub restored_output: BTreeMap<String, Vec<(Stream, String)>>,
    /// When the session began (the journal's first line).
    pub began: SystemTime,
    /// When the run was journaled complete, if it was.
    pub completed_at: Option<SystemTime>,
    /// Notes journaled so far: (operator, text).
    pub notes: Vec<(String, String)>,
}

/// Every runbook secret, resolved now, or all the ones that cannot be.
pub fn resolve_secrets(
    loaded: &Loaded,
    inv: &Inventory,
) -> Result<BTreeMap<String, Secret>, SessionError> {
    let mut found = BTreeMap::new();
    let mut missing = Vec::new();
    for name in loaded.runbook.secrets.keys() {
        let source = inv.secret_source(name);
        match inventory::resolve(&source, inv.base_dir()) {
            Ok(v) => {
                found.insert(name.clone(), v);
            }
            Err(e) => missing.push(format!("  {name}: {e}")),
        }
    }
    if missing.is_empty() {
        Ok(found)
    } else {
        Err(SessionError::Secrets(missing.join("\n")))
    }
}

/// Every password flightdeck holds, so none is ever shown or journaled.
pub fn masker(secrets: &BTreeMap<String, Secret>, inv: &Inventory) -> Masker {
    let mut values: Vec<String> = secrets.values().map(|s| s.expose().to_string()).collect();
    let sources = inv
        .servers
        .iter()
        .flat_map(|s| {
            let operator = s.mysql.operator.as_ref().and_then(|o| o.password.clone());
            [s.mysql.password.clone(), operator]
        })
        .flatten()
        .chain(inv.maxscale.as_ref().and_then(|m| m.password.clone()))
        .chain(inv.probe.as_ref().and_then(|p| p.password.clone()));
    for src in sources {
        if let Ok(v) = inventory::resolve(&src, inv.base_dir()) {
            values.push(v.expose().to_string());
        }
    }
    Masker::new(values)
}

/// Every password the inventory holds: its `[secrets]` (those that resolve) and its
/// credentials. What `watch` masks, having no runbook to say which secrets it needs.
pub fn inventory_masker(inv: &Inventory) -> Masker {
    let secrets: BTreeMap<String, Secret> = inv
        .secrets
        .iter()
        .filter_map(|(name, src)| {
            let value = inventory::resolve(src, inv.base_dir()).ok()?;
            Some((name.clone(), value))
        })
        .collect();
    masker(&secrets, inv)
}

/// Opens (or resumes) the session; restores step states into `run` and pins into `roles`.
pub fn open(
    journal_path: &Path,
    loaded: &Loaded,
    inv: &Inventory,
    run: &mut Run,
    roles: &mut RoleMap,
) -> Result<Session, SessionError> {
    let lock = Lock::acquire(journal_path)?;
    let secrets = resolve_secrets(loaded, inv)?;
    let masker = masker(&secrets, inv);
    // Poller and replication errors are made far from the session; they mask with this.
    crate::session::mask::remember(&masker);
    let mut notices = Vec::new();
    // A weak or default credential is not masked in free output: the operator hears why.
    let names = loaded.runbook.secrets.keys().map(String::as_str);
    for warning in inventory::audit(inv, names) {
        notices.push(format!("credential warning: {warning}"));
    }
    if let Some(stale) = &lock.took_over_stale {
        notices.push(format!(
            "took over a stale lock of {} (pid {}, no longer running)",
            stale.operator, stale.pid
        ));
    }
    let runbook_sha = loaded.sha256();
    let mut restored_output = BTreeMap::new();
    let mut began = SystemTime::now();
    let mut completed_at = None;
    let mut notes = Vec::new();
    let journal = if journal_path.exists() {
        let replayed = replay::replay(journal_path)?;
        if replayed.header.runbook_sha256 != runbook_sha {
            let known: BTreeSet<&str> = replayed.steps.keys().map(String::as_str).collect();
            let now: BTreeSet<&str> = loaded
                .runbook
                .steps()
                .map(|(_, s)| s.id.value.as_str())
                .collect();
            let gone: Vec<&str> = known.difference(&now).copied().collect();
            let added: Vec<&str> = now.difference(&known).copied().collect();
            notices.push(format!(
                "the runbook changed since this journal began (sha256 {} → {}); steps no longer in it: [{}]; steps it did not know: [{}]. Review before going on.",
                &replayed.header.runbook_sha256[..12.min(replayed.header.runbook_sha256.len())],
                &runbook_sha[..12],
                gone.join(", "),
                added.join(", ")
            ));
        }
        restore(run, &replayed);
        for id in replayed.unknown_outcomes() {
            notices.push(format!(
                "step {id} was running when the last process stopped: outcome unknown — verify"
            ));
        }
        restored_output = replayed.outputs.clone();
        notes = replayed.notes.clone();
        began = crate::session::clock::parse_rfc3339(&replayed.started).unwrap_or(began);
        completed_at = replayed
            .completed_at
            .as_deref()
            .and_then(crate::session::clock::parse_rfc3339);
        roles.pins = replayed.header.pins.clone();
        if let Some(journaled) = &replayed.header.candidate {
            if roles.candidate.as_ref().ok() != Some(journaled) {
                notices.push(format!(
                    "the candidate is {journaled}, as when this run began; the inventory now says {}",
                    match &roles.candidate {
                        Ok(c) => c.clone(),
                        Err(e) => e.to_string(),
                    }
                ));
            }
            roles.candidate = Ok(journaled.clone());
        }
        tracing::info!(journal = %journal_path.display(), runbook = %loaded.file.path.display(), "session resumed");
        Journal::open_append(journal_path, masker.clone())?
    } else {
        let inv_sha = journal::sha256_hex(inv.file.text.as_bytes());
        let mut header = SessionStart::new(
            &loaded.file.path,
            runbook_sha,
            &inv.file.path,
            inv_sha,
            roles.pins.clone(),
        );
        header.candidate = roles.candidate.clone().ok();
        tracing::info!(journal = %journal_path.display(), runbook = %loaded.file.path.display(), "session started");
        Journal::create(journal_path, header, masker.clone())?
    };
    let journal = JournalHandle::spawn(journal).map_err(|source| JournalError::Io {
        path: journal_path.to_path_buf(),
        source,
    })?;
    Ok(Session {
        lock: Some(lock),
        journal,
        secrets,
        masker,
        notices,
        restored_output,
        began,
        completed_at,
        notes,
    })
}

/// Puts back into `run` what the journal says: each step's state and details, what each
/// started step was resolved to, overrides, verifications and completion.
fn restore(run: &mut Run, replayed: &replay::Replayed) {
    for (id, state) in &replayed.steps {
        let detail = || {
            replayed
                .details
                .get(id)
                .cloned()
                .unwrap_or_else(|| "done in an earlier process (journal)".into())
        };
        let restored = match state {
            Replayed::Pending => continue,
            Replayed::Running { .. } | Replayed::Unknown { .. } => StepState::Unknown,
            Replayed::Succeeded => StepState::Succeeded { detail: detail() },
            Replayed::ManualDone => StepState::Succeeded {
                detail: "done by the operator".into(),
            },
            Replayed::Verified { reason } => {
                run.verified.insert(id.clone(), reason.clone());
                StepState::Succeeded {
                    detail: format!("verified done by the operator: {reason}"),
                }
            }
            Replayed::Failed { detail, .. } => StepState::Failed {
                detail: detail.clone(),
            },
            Replayed::Skipped { reason } => StepState::Skipped {
                reason: reason.clone(),
            },
        };
        let attempts = replayed.started_steps.get(id).map_or(0, |s| s.attempts);
        run.restore(id, restored, attempts);
    }
    for (id, started) in &replayed.started_steps {
        run.resolved.insert(
            id.clone(),
            Resolved {
                primary: started.primary.clone(),
                servers: started.servers.clone(),
                sent: Some(started.rendered.clone()),
            },
        );
    }
    for o in &replayed.overrides {
        run.overrides
            .insert(o.step.clone(), o.justification.clone());
    }
    run.completed = replayed.completed;
    run.approved = replayed.approvals.clone();
}

/// Journals the roles when they change, so a replay knows who was primary when.
pub fn roles_event(roles: &RoleMap) -> Event {
    Event::Roles {
        primary: roles.primary.clone(),
        replicas: roles.replicas(),
    }
}
