//! Masking resolved secret values out of text before it reaches the journal or the screen.
//!
//! A [`Masker`] is built from the secret values a run resolved. [`Masker::mask`] replaces
//! every occurrence of any of them with `****`. Three choices matter:
//!
//! * **Short values are ignored.** A value of fewer than [`MIN_SECRET_CHARS`] characters
//!   (empty, `"a"`, `"42"`) would mask half of every line, timestamps and step ids
//!   included, so it is not masked at all. Such a value is no secret worth the name;
//!   [`Masker::ignored`] counts them so the caller can warn the operator.
//! * **Escaped forms are masked too.** A secret lands in rendered SQL escaped for a
//!   string literal and in shell commands quoted as one word, so those spellings are
//!   added beside the raw value.
//! * **Overlaps never leak a fragment.** Occurrences of all values are found first
//!   (overlapping ones included) and each maximal covered run becomes one `****`. With
//!   secrets `abcYYY` and `xxabc`, `xxabcYYY` masks to `****`, where replacing one value
//!   after another, longest first, would leave `xx` or `YYY` behind.
//!
//! Journal events are masked field by field with [`Masker::mask_event`].

use crate::runbook::template::{MASK, sql_string_escape};
use crate::session::journal::{Event, SessionStart};

/// Values shorter than this many characters are not masked (see the module docs).
pub const MIN_SECRET_CHARS: usize = 3;

/// [`Masker::mask_prefix`] never holds back more than this many bytes of a stream.
pub const STREAM_HOLD_LIMIT: usize = 64 * 1024;

/// Replaces resolved secret values with `****`.
#[derive(Clone, Default)]
pub struct Masker {
    /// Distinct values to find, longest first.
    needles: Vec<String>,
    ignored: usize,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the values themselves.
        f.debug_struct("Masker")
            .field("needles", &self.needles.len())
            .field("ignored", &self.ignored)
            .finish()
    }
}

impl Masker {
    /// A masker for these secret values (and their SQL- and shell-escaped spellings).
    pub fn new<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut needles = Vec::new();
        let mut ignored = 0;
        for secret in secrets {
            let value = secret.as_ref();
            if value.chars().count() < MIN_SECRET_CHARS {
                ignored += usize::from(!value.is_empty());
                continue;
            }
            needles.push(value.to_string());
            needles.push(sql_string_escape(value));
            needles.push(value.replace('\'', r"'\''"));
        }
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
        Self { needles, ignored }
    }

    /// A masker that masks nothing (no secrets were resolved).
    pub fn none() -> Self {
        Self::default()
    }

    /// How many non-empty values were too short to mask.
    pub fn ignored(&self) -> usize {
        self.ignored
    }

    /// Whether this masker masks nothing.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// `text` with every occurrence of every secret value replaced by `****`.
    pub fn mask(&self, text: &str) -> String {
        match self.coverage(text) {
            Some(covered) => render(text, &covered, text.len()),
            None => text.to_string(),
        }
    }

    /// Masks the part of a stream's text that no later text can change, for output that
    /// arrives in arbitrary chunks (a secret may be split across two reads). Returns the
    /// masked prefix and how many bytes of `text` it stands for; keep the rest and pass
    /// it again in front of the next chunk, and [`Masker::mask`] it when the stream ends.
    /// At most the longest value's length less one byte is held back, plus any masked run
    /// touching that tail, unless more than [`STREAM_HOLD_LIMIT`] bytes would be held.
    /// Whether some value holds a newline (output is then masked as a stream, not by lines).
    pub fn has_multiline(&self) -> bool {
        self.needles.iter().any(|n| n.contains('\n'))
    }

    pub fn mask_prefix(&self, text: &str) -> (String, usize) {
        let Some(longest) = self.needles.first().map(String::len) else {
            return (text.to_string(), text.len());
        };
        let covered = self
            .coverage(text)
            .unwrap_or_else(|| vec![false; text.len()]);
        // An occurrence only partly present starts after `cut`; everything before it is final.
        let mut cut = text.len().saturating_sub(longest - 1);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        // Do not split a masked run: hold the whole run back, it may still grow.
        while cut > 0 && cut < text.len() && covered[cut - 1] && covered[cut] {
            cut -= 1;
        }
        if text.len() - cut > STREAM_HOLD_LIMIT {
            cut = text.len();
        }
        (render(text, &covered, cut), cut)
    }

    /// Which bytes of `text` belong to some occurrence; `None` when none do.
    fn coverage(&self, text: &str) -> Option<Vec<bool>> {
        let mut covered: Option<Vec<bool>> = None;
        for needle in &self.needles {
            let mut from = 0;
            while let Some(at) = text[from..].find(needle.as_str()) {
                let start = from + at;
                covered.get_or_insert_with(|| vec![false; text.len()])[start..start + needle.len()]
                    .fill(true);
                // Step one character on, so overlapping occurrences are found too.
                from = start + text[start..].chars().next().map_or(1, char::len_utf8);
            }
        }
        covered
    }

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
            Event::Detached { operator } => Event::Detached {
                operator: m(operator),
            },
            Event::AttachRefused { user, uid, reason } => Event::AttachRefused {
                user: m(user),
                uid: *uid,
                reason: m(reason),
            },
            Event::SessionEnd { reason } => Event::SessionEnd { reason: m(reason) },
        }
    }
}

/// `text[..end]` with each maximal covered run replaced by one `****`. Needles are valid
/// UTF-8, so covered runs start and end on character boundaries.
fn render(text: &str, covered: &[bool], end: usize) -> String {
    let mut out = String::with_capacity(end);
    let mut i = 0;
    while i < end {
        let run_end = (i..end).find(|&j| covered[j] != covered[i]).unwrap_or(end);
        if covered[i] {
            out.push_str(MASK);
        } else {
            out.push_str(&text[i..run_end]);
        }
        i = run_end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_and_escaped_forms() {
        let m = Masker::new(["s3cr'et", "hunter2"]);
        assert_eq!(m.mask("a hunter2 b hunter2"), "a **** b ****");
        assert_eq!(m.mask("PASSWORD='s3cr''et'"), "PASSWORD='****'");
        assert_eq!(m.mask(r"echo 's3cr'\''et'"), "echo '****'");
        assert_eq!(m.mask("nothing here"), "nothing here");
    }

    #[test]
    fn short_values_are_ignored_and_counted() {
        let m = Masker::new(["", "a", "42", "abc"]);
        assert_eq!(m.ignored(), 2);
        assert_eq!(m.mask("a 42 abc"), "a 42 ****");
    }

    #[test]
    fn overlapping_secrets_leave_no_fragment() {
        let m = Masker::new(["abcYYY", "xxabc"]);
        assert_eq!(m.mask("-xxabcYYY-"), "-****-");
        let m = Masker::new(["ünïcødé"]);
        assert_eq!(m.mask("→ünïcødé←"), "→****←");
        assert_eq!(format!("{m:?}"), "Masker { needles: 1, ignored: 0 }");
    }

    #[test]
    fn a_secret_split_across_chunks_is_still_masked() {
        let m = Masker::new(["hunter22", "xyzzy"]);
        let text = "pw=hunter22 and xyzzy, again hunter22; xyzzyhunter22 end";
        for split in 1..5 {
            let mut out = String::new();
            let mut pending = String::new();
            for chunk in text.as_bytes().chunks(split) {
                pending.push_str(std::str::from_utf8(chunk).unwrap());
                let (done, used) = m.mask_prefix(&pending);
                out.push_str(&done);
                pending.drain(..used);
            }
            out.push_str(&m.mask(&pending));
            assert!(
                !out.contains("hunter") && !out.contains("xyz"),
                "{split}: {out}"
            );
            assert!(
                !out.contains("22;") && !out.contains("zy"),
                "{split}: {out}"
            );
            assert!(out.starts_with("pw=**** and ****, again") && out.ends_with(" end"));
        }
    }
}
