//! Masking a journal event field by field.

use super::Masker;
use crate::session::journal::{Event, ProbeReport, ServerSample, SessionStart};

impl Masker {
    fn mask_all(&self, items: &[String]) -> Vec<String> {
        items.iter().map(|s| self.mask(s)).collect()
    }

    /// The event with every free-text field masked. Timestamps, sequence numbers and
    /// the sha256 digests (hex computed by flightdeck) are left alone: masking a digit
    /// run inside them would corrupt them without hiding anything.
    pub fn mask_event(&self, event: &Event) -> Event {
        let m = |s: &String| self.mask(s);
        match event {
            Event::SessionStart(h) => Event::SessionStart(SessionStart {
                operator: m(&h.operator),
                host: m(&h.host),
                pid: h.pid,
                runbook_path: m(&h.runbook_path),
                runbook_sha256: h.runbook_sha256.clone(),
                inventory_path: m(&h.inventory_path),
                inventory_sha256: h.inventory_sha256.clone(),
                flightdeck_version: m(&h.flightdeck_version),
                pins: h.pins.iter().map(|(k, v)| (m(k), m(v))).collect(),
                candidate: h.candidate.as_ref().map(m),
            }),
            Event::SessionResume {
                operator,
                host,
                pid,
            } => Event::SessionResume {
                operator: m(operator),
                host: m(host),
                pid: *pid,
            },
            Event::Gate {
                step,
                condition,
                holds,
                observed,
            } => Event::Gate {
                step: m(step),
                condition: m(condition),
                holds: *holds,
                observed: self.mask_all(observed),
            },
            Event::Confirm {
                step,
                operator,
                typed,
            } => Event::Confirm {
                step: m(step),
                operator: m(operator),
                typed: typed.as_ref().map(m),
            },
            Event::Override {
                step,
                justification,
                failed_gates,
            } => Event::Override {
                step: m(step),
                justification: m(justification),
                failed_gates: self.mask_all(failed_gates),
            },
            Event::Skip { step, reason } => Event::Skip {
                step: m(step),
                reason: m(reason),
            },
            Event::StepStart {
                step,
                attempt,
                target_servers,
                rendered,
                primary,
            } => Event::StepStart {
                step: m(step),
                attempt: *attempt,
                target_servers: self.mask_all(target_servers),
                rendered: m(rendered),
                primary: primary.as_ref().map(m),
            },
            Event::Output { step, stream, text } => Event::Output {
                step: m(step),
                stream: *stream,
                text: m(text),
            },
            Event::OutputTruncated {
                step,
                dropped_bytes,
            } => Event::OutputTruncated {
                step: m(step),
                dropped_bytes: *dropped_bytes,
            },
            Event::StepEnd {
                step,
                attempt,
                outcome,
                detail,
                exit_code,
                sql_errno,
            } => Event::StepEnd {
                step: m(step),
                attempt: *attempt,
                outcome: *outcome,
                detail: m(detail),
                exit_code: *exit_code,
                sql_errno: *sql_errno,
            },
            Event::ManualDone { step, operator } => Event::ManualDone {
                step: m(step),
                operator: m(operator),
            },
            Event::Roles { primary, replicas } => Event::Roles {
                primary: primary.as_ref().map(m),
                replicas: self.mask_all(replicas),
            },
            Event::Verified {
                step,
                operator,
                reason,
            } => Event::Verified {
                step: m(step),
                operator: m(operator),
                reason: m(reason),
            },
            Event::Complete {
                operator,
                duration_s,
                skipped,
                overridden,
                retried,
                verified,
            } => Event::Complete {
                operator: m(operator),
                duration_s: *duration_s,
                skipped: self.mask_all(skipped),
                overridden: self.mask_all(overridden),
                retried: self.mask_all(retried),
                verified: self.mask_all(verified),
            },
            Event::Approval {
                step,
                driver,
                approver,
                typed,
            } => Event::Approval {
                step: m(step),
                driver: m(driver),
                approver: m(approver),
                typed: m(typed),
            },
            Event::ApprovalRefused {
                step,
                approver,
                reason,
            } => Event::ApprovalRefused {
                step: m(step),
                approver: m(approver),
                reason: m(reason),
            },
            Event::Note { operator, text } => Event::Note {
                operator: m(operator),
                text: m(text),
            },
            Event::Attached { operator, pid } => Event::Attached {
                operator: m(operator),
                pid: *pid,
            },
            Event::Handover { from, to } => Event::Handover {
                from: m(from),
                to: m(to),
            },
            Event::Detached { operator } => Event::Detached {
                operator: m(operator),
            },
            Event::AttachRefused { user, uid, reason } => Event::AttachRefused {
                user: m(user),
                uid: *uid,
                reason: m(reason),
            },
            Event::SessionEnd { reason } => Event::SessionEnd { reason: m(reason) },
            Event::Sample { servers } => Event::Sample {
                servers: servers
                    .iter()
                    .map(|s| ServerSample {
                        server: m(&s.server),
                        role: s.role.as_ref().map(m),
                        io: s.io.as_ref().map(m),
                        mxs: s.mxs.as_ref().map(m),
                        ..s.clone()
                    })
                    .collect(),
            },
            Event::ServerVersion { server, version } => Event::ServerVersion {
                server: m(server),
                version: m(version),
            },
            Event::Probe(p) => Event::Probe(ProbeReport {
                step: m(&p.step),
                router: m(&p.router),
                first_error: p.first_error.as_ref().map(m),
                ..p.clone()
            }),
        }
    }
}
