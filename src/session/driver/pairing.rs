//! The driver's side of pairing: serving the session on its socket, who attaches and
//! leaves, approvals and notes from attached operators, and handing the wheel over.

use std::path::Path;

use tokio::sync::mpsc;

use super::Driver;
use crate::session::journal::{Event, JournalError};
use crate::session::pair::{self, Feeds, PairEvent};
use crate::session::wire::{ToDriver, ToObserver};

impl Driver {
    /// Serves the session on `JOURNAL.sock` for second operators (see `session::pair`).
    pub fn serve(&mut self) -> std::io::Result<mpsc::Receiver<PairEvent>> {
        let (tx, rx) = mpsc::channel(64);
        let feeds = Feeds {
            views: self.view_tx.subscribe(),
            dash: self.dash_tx.subscribe(),
            driver: self.operator.clone(),
            journal: self.session.journal.path().to_path_buf(),
            tasks: self.pair_tasks.clone(),
        };
        let path = pair::serve(feeds, tx, self.cancel.child_token())?;
        self.socket = Some(path);
        Ok(rx)
    }

    /// What happened on the pairing socket: who came and went, who was refused, and
    /// what attached operators ask (approvals, notes), judged and journaled.
    pub fn pair(&mut self, e: PairEvent) -> Result<(), JournalError> {
        let journal = &self.session.journal;
        match e {
            PairEvent::Attached { user, pid, to } => {
                self.core.attached.push(user.clone());
                self.clients.push((user.clone(), to));
                self.send_dash();
                journal.append(&Event::Attached {
                    operator: user,
                    pid,
                })?;
            }
            PairEvent::Detached { user } => {
                if let Some(i) = self.core.attached.iter().position(|u| *u == user) {
                    self.core.attached.remove(i);
                }
                self.clients.retain(|(_, to)| !to.is_closed());
                journal.append(&Event::Detached { operator: user })?;
            }
            PairEvent::Refused { user, uid, reason } => {
                journal.append(&Event::AttachRefused { user, uid, reason })?;
            }
            PairEvent::Said { user, msg, reply } => {
                let answer = match msg {
                    ToDriver::Note { text } => {
                        self.note(&user, &text).map(|()| "note added".into())
                    }
                    ToDriver::Approve { step, typed } => self.approve(&user, &step, &typed),
                    ToDriver::Reject { step, reason } => journal
                        .append(&Event::ApprovalRefused {
                            step: step.clone(),
                            approver: user,
                            reason,
                        })
                        .map(|()| format!("your refusal to approve {step} is journaled")),
                    ToDriver::Accept => return self.accept(&user, &reply),
                    ToDriver::Decline { reason } => {
                        if self.offered_to.as_deref() == Some(user.as_str()) {
                            self.offered_to = None;
                        }
                        // A note, so the driver's screen and the record both say it.
                        let text = format!("declined the wheel: {reason}");
                        self.note(&user, &text).map(|()| String::new())
                    }
                    ToDriver::Hello { .. } => Ok(String::new()),
                };
                let text = match answer {
                    Ok(text) => text,
                    Err(e) => format!("journal: {e}"),
                };
                let _ = reply.send(ToObserver::Said { text });
            }
        }
        Ok(())
    }

    /// Offers the wheel to an attached operator (the first attached when `to` is None).
    pub fn offer(&mut self, to: Option<&str>) -> String {
        let Some((user, channel)) = self
            .clients
            .iter()
            .find(|(u, c)| !c.is_closed() && to.is_none_or(|t| t == u))
            .cloned()
        else {
            return "nobody is attached to hand over to: `flightdeck attach` in another terminal"
                .into();
        };
        let from = self.operator.clone();
        let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let _ = channel.send(ToObserver::Offer {
            from,
            runbook: abs(&self.paths.0).display().to_string(),
            inventory: abs(&self.paths.1).display().to_string(),
            journal: abs(self.session.journal.path()).display().to_string(),
        });
        self.offered_to = Some(user.clone());
        format!("offered the wheel to {user}: they press y to take it")
    }

    /// Whether the session was handed over (the front end then ends, and may attach).
    pub fn handed_over(&self) -> Option<&str> {
        self.handed_over.as_deref()
    }

    /// The operator an offer went to takes the wheel: journaled, the journal closed and
    /// the lock released here before they are told, so their `run` finds it free.
    fn accept(
        &mut self,
        user: &str,
        reply: &mpsc::UnboundedSender<ToObserver>,
    ) -> Result<(), JournalError> {
        if self.offered_to.as_deref() != Some(user) {
            let text = "nothing was offered to you".to_string();
            let _ = reply.send(ToObserver::Said { text });
            return Ok(());
        }
        if let Some(r) = self.core.run.running() {
            let text = format!("{r} is running: the wheel changes hands between steps");
            let _ = reply.send(ToObserver::Said { text });
            return Ok(());
        }
        let journal = &self.session.journal;
        journal.append(&Event::Handover {
            from: self.operator.clone(),
            to: user.to_string(),
        })?;
        journal.append(&Event::SessionEnd {
            reason: format!("handed over to {user}"),
        })?;
        journal.close()?;
        self.session.lock = None;
        // The new driver serves the session on the same path; in a shared directory with
        // the sticky bit it could not remove a socket of ours. Clients already connected
        // keep their connections until the session ends here.
        if let Some(socket) = &self.socket {
            let _ = std::fs::remove_file(socket);
        }
        let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let _ = reply.send(ToObserver::HandedOver {
            runbook: abs(&self.paths.0).display().to_string(),
            inventory: abs(&self.paths.1).display().to_string(),
            journal: abs(journal.path()).display().to_string(),
        });
        self.handed_over = Some(user.to_string());
        Ok(())
    }

    /// A note from an operator (the driver's own, or an attached one's), journaled.
    pub fn note(&mut self, operator: &str, text: &str) -> Result<(), JournalError> {
        self.session.journal.append(&Event::Note {
            operator: operator.to_string(),
            text: text.to_string(),
        })?;
        self.core
            .notes
            .push((operator.to_string(), text.to_string()));
        Ok(())
    }

    /// A second operator's approval: another OS user than the driver, typing what the
    /// step's confirmation asks. Returns what to tell them.
    pub fn approve(
        &mut self,
        approver: &str,
        step: &str,
        typed: &str,
    ) -> Result<String, JournalError> {
        let refuse = |this: &Self, reason: String| -> Result<String, JournalError> {
            this.session.journal.append(&Event::ApprovalRefused {
                step: step.to_string(),
                approver: approver.to_string(),
                reason: reason.clone(),
            })?;
            Ok(format!("not approved: {reason}"))
        };
        if approver == self.operator {
            let reason = format!("{approver} drives this session: a second operator approves");
            return refuse(self, reason);
        }
        let Some(s) = self.core.run.runbook.step(step).cloned() else {
            return Ok(format!("no step `{step}`"));
        };
        let expected = self
            .core
            .confirm_name(&s)
            .unwrap_or_else(|_| step.to_string());
        if typed.trim() != expected {
            return refuse(self, format!("typed `{}`, not `{expected}`", typed.trim()));
        }
        if let Err(r) = self.core.run.approve(step, approver) {
            return refuse(self, r.to_string());
        }
        self.session.journal.append(&Event::Approval {
            step: step.to_string(),
            driver: self.operator.clone(),
            approver: approver.to_string(),
            typed: typed.trim().to_string(),
        })?;
        Ok(format!("{step} approved by {approver}"))
    }
}
