//! Masking fragments of secrets in server error texts.
//!
//! MariaDB quotes the statement it could not parse `near '…'`, cut at 80 characters, so
//! an error may hold the head or the tail of a password that no whole-value search finds.
//! [`Masker::mask_partial`] masks every run of at least `min_chars` characters that also
//! occurs in a secret (raw or escaped as sent). It is meant for error texts, which are
//! short: a run of 8 characters of a random password in an error is no coincidence.

use std::collections::HashSet;

use super::{Masker, render};

impl Masker {
    /// `text` with whole secrets masked and, beyond [`Masker::mask`], every run of
    /// `min_chars` or more consecutive characters of a secret (at least 1).
    pub fn mask_partial(&self, text: &str, min_chars: usize) -> String {
        if self.needles.is_empty() {
            return text.to_string();
        }
        // Windows of `min` characters are `min + 1` character boundaries.
        let min = min_chars.max(1);
        let span = min.saturating_add(1);
        let mut covered = self
            .coverage(text)
            .unwrap_or_else(|| vec![false; text.len()]);
        // A run of `min` or more characters of a needle is exactly a chain of windows of
        // `min` characters, each of which occurs in that needle.
        let mut windows: HashSet<&str> = HashSet::new();
        for needle in &self.needles {
            let bounds: Vec<usize> = needle
                .char_indices()
                .map(|(i, _)| i)
                .chain([needle.len()])
                .collect();
            for pair in bounds.windows(span) {
                if let [first, .., last] = pair {
                    windows.insert(&needle[*first..*last]);
                }
            }
        }
        let bounds: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect();
        let mut any = covered.contains(&true);
        for pair in bounds.windows(span) {
            if let [first, .., last] = pair
                && windows.contains(&text[*first..*last])
            {
                covered[*first..*last].fill(true);
                any = true;
            }
        }
        if any {
            render(text, &covered, text.len())
        } else {
            text.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::session::mask::PARTIAL_MIN_CHARS;

    /// Whether `text` holds a run of `min` characters of `secret`.
    fn holds_run(text: &str, secret: &str, min: usize) -> bool {
        let chars: Vec<char> = secret.chars().collect();
        chars
            .windows(min)
            .any(|w| text.contains(&w.iter().collect::<String>()))
    }

    #[test]
    fn the_cut_echo_of_a_statement_is_masked() {
        let secret = "Zq8-vT3u'Lp0-Wx5yRb7";
        let m = Masker::new([secret]);
        // As MariaDB quotes it: the statement as sent (SQL-escaped), cut at 80 characters.
        let error = "ERROR 1064 (42000): You have an error in your SQL syntax; check the manual \
             that corresponds to your MariaDB server version for the right syntax to use \
             near 'FROM t WHERE note = 'a long note that pushes the password off the end' \
             AND pw = 'Zq8-vT3u''Lp0-W' at line 1";
        let masked = m.mask_partial(error, PARTIAL_MIN_CHARS);
        assert!(masked.ends_with("AND pw = '****' at line 1"), "{masked}");
        assert!(!holds_run(&masked, secret, 8), "{masked}");
        // The head of the message is untouched.
        assert!(masked.starts_with("ERROR 1064 (42000): You have an error"));
        // Seven characters are not enough.
        assert_eq!(m.mask_partial("pw Zq8-vT3", 8), "pw Zq8-vT3");
        assert_eq!(m.mask_partial("pw Zq8-vT3u", 8), "pw ****");
        assert_eq!(Masker::none().mask_partial("near 'x'", 8), "near 'x'");
    }

    #[test]
    fn fragments_of_multibyte_secrets_are_masked_on_character_boundaries() {
        let m = Masker::new(["ünïcødé-pässwörd"]);
        assert_eq!(m.mask_partial("near 'ïcødé-pä' at", 8), "near '****' at");
        assert_eq!(m.mask_partial("near 'ïcødé-p", 9), "near 'ïcødé-p");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever surrounds it, no run of 8 characters of the secret survives, and a
        /// text sharing no such run with it is left alone.
        #[test]
        fn no_run_of_eight_survives(
            secret in "[a-zA-Z0-9'!é-]{8,32}",
            before in "[a-z .]{0,40}",
            after in "[a-z .]{0,40}",
            from in 0usize..32,
            len in 8usize..40,
        ) {
            prop_assume!(crate::inventory::weakness(&secret).is_none());
            let chars: Vec<char> = secret.chars().collect();
            let from = from.min(chars.len().saturating_sub(8));
            let to = from.saturating_add(len).min(chars.len());
            let piece: String = chars[from..to].iter().collect();
            let m = Masker::new([secret.as_str()]);
            let text = format!("{before}{piece}{after}");
            let masked = m.mask_partial(&text, 8);
            prop_assert!(!holds_run(&masked, &secret, 8), "{} → {}", text, masked);
            prop_assert!(masked.contains(crate::runbook::template::MASK), "{}", masked);
            let unrelated = format!("{before}{after}");
            if !holds_run(&unrelated, &secret, 8) {
                prop_assert_eq!(m.mask_partial(&unrelated, 8), unrelated);
            }
        }
    }
}
