//! Masking a stream of output that arrives in chunks.

use super::Masker;

/// One output stream (a step attempt's stdout, say) masked as its chunks arrive: a
/// secret split across two reads is still masked. What could be the start of a secret
/// is held back (at most the longest secret's length less one byte, see
/// [`Masker::mask_prefix`]) until the next chunk or [`StreamMask::finish`]. Complete lines
/// are never held back, unless some secret itself holds a newline.
#[derive(Debug, Default)]
pub struct StreamMask {
    pending: String,
}

impl StreamMask {
    pub fn new() -> Self {
        Self::default()
    }

    /// The masked text that `chunk` makes final (possibly empty).
    pub fn push(&mut self, masker: &Masker, chunk: &str) -> String {
        self.pending.push_str(chunk);
        let (mut out, mut used) = masker.mask_prefix(&self.pending);
        if !masker.has_multiline()
            && let Some(end) = self.pending.rfind('\n').map(|i| i.saturating_add(1))
            && end > used
        {
            // No secret spans a line end: everything up to the last one is final.
            out = masker.mask(&self.pending[..end]);
            used = end;
        }
        self.pending.drain(..used);
        out
    }

    /// The rest, masked, when the stream ends.
    pub fn finish(&mut self, masker: &Masker) -> String {
        let out = masker.mask(&self.pending);
        self.pending.clear();
        out
    }

    /// Whether some text is held back.
    pub fn is_holding(&self) -> bool {
        !self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn through(masker: &Masker, chunks: &[&str]) -> (Vec<String>, String) {
        let mut stream = StreamMask::new();
        let mut said: Vec<String> = chunks.iter().map(|c| stream.push(masker, c)).collect();
        said.push(stream.finish(masker));
        let all = said.concat();
        (said, all)
    }

    #[test]
    fn whole_lines_pass_at_once_and_a_split_secret_is_held() {
        let m = Masker::new(["hunter22-long"]);
        let (said, all) = through(&m, &["line one\npw=hun", "ter22-long\n", "tail"]);
        assert_eq!(said[0], "line one\n", "the complete line is not held");
        assert_eq!(said[1], "pw=****\n");
        assert_eq!(all, "line one\npw=****\ntail");
        // Nothing to mask: nothing held.
        let (said, _) = through(&Masker::none(), &["a", "b"]);
        assert_eq!(said, ["a", "b", ""]);
    }

    fn collapse(text: &str) -> String {
        let mut text = text.to_string();
        while text.contains("********") {
            text = text.replace("********", "****");
        }
        text
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// A secret split at any byte offset across two chunks never shows, and nothing
        /// else is lost or changed.
        #[test]
        fn a_secret_split_anywhere_never_shows(
            secret in "[ -~]{8,40}",
            before in "[a-z \n]{0,30}",
            after in "[a-z \n]{0,30}",
            split in 0usize..200,
        ) {
            prop_assume!(crate::inventory::weakness(&secret).is_none());
            let m = Masker::new([secret.as_str()]);
            let text = format!("{before}{secret}{after}");
            let split = split.checked_rem(text.len().saturating_add(1)).unwrap_or(0);
            let (said, all) = through(&m, &[&text[..split], &text[split..]]);
            for piece in &said {
                prop_assert!(!piece.contains(secret.as_str()), "{:?}", said);
            }
            prop_assert!(!all.contains(secret.as_str()), "{:?}", all);
            // The same text as masking it whole, but for adjacent occurrences: one `****`
            // each when they straddle what was held back, one for both otherwise.
            prop_assert_eq!(collapse(&all), collapse(&m.mask(&text)));
        }
    }
}
