//! Masking resolved secret values out of text before it reaches the journal or the screen.
//!
//! A [`Masker`] is built from the secret values a run resolved. [`Masker::mask`] replaces
//! every occurrence of any of them with `****`. The choices that matter:
//!
//! * **Weak values are not masked as values.** A value that is empty, shorter than
//!   [`MIN_SECRET_CHARS`] characters or a well-known default (MaxScale's `mariadb`,
//!   `admin`, `root`, `password`: see [`crate::inventory::weakness`]) is a common word:
//!   masking it wherever it appears corrupts the record (`modules/****mon`, `****-dump`,
//!   `/usr/sbin/****d`) and, by where the `****` fall, gives the password away.
//!   [`Masker::ignored`] counts them; the session's notices and `check --inventory` warn
//!   about each (`inventory::audit`). Where a template inserts a secret, the shown text
//!   has `****` in that position whatever the value (`Reveal::Masked`).
//! * **Escaped forms are masked too.** A secret lands in rendered SQL escaped for a
//!   string literal and in shell commands quoted as one word, so those spellings are
//!   added beside the raw value.
//! * **Overlaps never leak a fragment.** Occurrences of all values are found first
//!   (overlapping ones included) and each maximal covered run becomes one `****`. With
//!   secrets `abcYYYzz` and `xxabcYYY`, `xxabcYYYzz` masks to `****`, where replacing one
//!   value after another, longest first, would leave `xx` or `zz` behind.
//! * **Streams are masked across chunk boundaries** ([`StreamMask`]): a secret split
//!   across two reads is masked, because up to a secret's length is held back until the
//!   next chunk or the stream's end.
//! * **Server errors are masked for fragments** ([`Masker::mask_partial`]): MariaDB
//!   echoes a statement `near '…'` cut at 80 characters, so any run of
//!   [`PARTIAL_MIN_CHARS`] or more characters of a secret is masked in error texts.
//!
//! Journal events are masked field by field with [`Masker::mask_event`].

mod event;
mod partial;
mod shared;
mod stream;

pub use shared::{remember, remembered};
pub use stream::StreamMask;

use crate::inventory::weakness;
use crate::runbook::template::{MASK, sql_string_escape};

/// Values shorter than this many characters are not masked (see the module docs).
pub const MIN_SECRET_CHARS: usize = crate::inventory::credentials::WEAK_BELOW_CHARS;

/// Runs of this many characters of a secret are masked in server error texts.
pub const PARTIAL_MIN_CHARS: usize = 8;

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
        let mut ignored = 0_usize;
        for secret in secrets {
            let value = secret.as_ref();
            if weakness(value).is_some() {
                ignored = ignored.saturating_add(usize::from(!value.is_empty()));
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

    /// A masker for the values of both (what a process has learned from several).
    pub fn union(&self, other: &Masker) -> Masker {
        let mut needles: Vec<String> = self.needles.iter().chain(&other.needles).cloned().collect();
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
        Masker {
            needles,
            ignored: self.ignored.saturating_add(other.ignored),
        }
    }

    /// How many non-empty values were too weak to mask (short or a known default).
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

    /// Whether some value holds a newline (output is then masked as a stream, not by lines).
    pub fn has_multiline(&self) -> bool {
        self.needles.iter().any(|n| n.contains('\n'))
    }

    /// Masks the part of a stream's text that no later text can change, for output that
    /// arrives in arbitrary chunks (a secret may be split across two reads). Returns the
    /// masked prefix and how many bytes of `text` it stands for; keep the rest and pass
    /// it again in front of the next chunk, and [`Masker::mask`] it when the stream ends.
    /// At most the longest value's length less one byte is held back, plus any masked run
    /// touching that tail, unless more than [`STREAM_HOLD_LIMIT`] bytes would be held.
    /// [`StreamMask`] does this bookkeeping.
    pub fn mask_prefix(&self, text: &str) -> (String, usize) {
        let Some(longest) = self.needles.first().map(String::len) else {
            return (text.to_string(), text.len());
        };
        let covered = self
            .coverage(text)
            .unwrap_or_else(|| vec![false; text.len()]);
        // An occurrence only partly present starts after `cut`; everything before it is final.
        let mut cut = text.len().saturating_sub(longest.saturating_sub(1));
        while !text.is_char_boundary(cut) {
            cut = cut.saturating_sub(1);
        }
        // Do not split a masked run: hold the whole run back, it may still grow.
        while let Some(before) = cut.checked_sub(1)
            && covered.get(before) == Some(&true)
            && covered.get(cut) == Some(&true)
        {
            cut = before;
        }
        if text.len().saturating_sub(cut) > STREAM_HOLD_LIMIT {
            cut = text.len();
        }
        (render(text, &covered, cut), cut)
    }

    /// Which bytes of `text` belong to some occurrence; `None` when none do.
    pub(super) fn coverage(&self, text: &str) -> Option<Vec<bool>> {
        let mut covered: Option<Vec<bool>> = None;
        for needle in &self.needles {
            let mut from = 0;
            while let Some(at) = text[from..].find(needle.as_str()) {
                let start = from.saturating_add(at);
                let end = start.saturating_add(needle.len());
                covered.get_or_insert_with(|| vec![false; text.len()])[start..end].fill(true);
                // Step one character on, so overlapping occurrences are found too.
                from = start.saturating_add(text[start..].chars().next().map_or(1, char::len_utf8));
            }
        }
        covered
    }
}

/// `text[..end]` with each maximal covered run replaced by one `****`. Needles are valid
/// UTF-8, so covered runs start and end on character boundaries.
pub(super) fn render(text: &str, covered: &[bool], end: usize) -> String {
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
        let m = Masker::new(["s3cr'et-9", "hunter22"]);
        assert_eq!(m.mask("a hunter22 b hunter22"), "a **** b ****");
        assert_eq!(m.mask("PASSWORD='s3cr''et-9'"), "PASSWORD='****'");
        assert_eq!(m.mask(r"echo 's3cr'\''et-9'"), "echo '****'");
        assert_eq!(m.mask("nothing here"), "nothing here");
    }

    #[test]
    fn short_and_default_values_are_not_masked_but_counted() {
        let m = Masker::new([
            "", "a", "1234567", "mariadb", "Password", "root", "abcdefgh",
        ]);
        assert_eq!(m.ignored(), 5);
        assert_eq!(
            m.mask("a 1234567 modules/mariadbmon Password: root abcdefgh"),
            "a 1234567 modules/mariadbmon Password: root ****"
        );
        assert!(
            m.mask_partial("near 'mariadbmon/root'", 4)
                .contains("mariadbmon/root")
        );
    }

    #[test]
    fn overlapping_secrets_leave_no_fragment() {
        let m = Masker::new(["abcYYYzz", "xxabcYYY"]);
        assert_eq!(m.mask("-xxabcYYYzz-"), "-****-");
        let m = Masker::new(["ünïcødé!"]);
        assert_eq!(m.mask("→ünïcødé!←"), "→****←");
        assert_eq!(format!("{m:?}"), "Masker { needles: 1, ignored: 0 }");
        let both = m.union(&Masker::new(["abcdefgh", "x"]));
        assert_eq!(both.mask("ünïcødé! abcdefgh"), "**** ****");
        assert_eq!(both.ignored(), 1);
    }

    #[test]
    fn a_secret_split_across_chunks_is_still_masked() {
        let m = Masker::new(["hunter22", "xyzzy-42"]);
        let text = "pw=hunter22 and xyzzy-42, again hunter22; xyzzy-42hunter22 end";
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
