//! GTID positions: generated positions print and read back, any text reads as a position or
//! an error, and comparisons are per domain.

use std::collections::BTreeMap;

use flightdeck::poll::{Gtid, GtidPos};
use proptest::prelude::*;

use crate::checks;
use crate::{CASES, config};

/// Positions over the whole range of each number.
fn any_position() -> impl Strategy<Value = GtidPos> {
    prop::collection::btree_map(any::<u32>(), (any::<u32>(), any::<u64>()), 0..6)
        .prop_map(|m| position(m.into_iter().map(|(d, (s, q))| (d, s, q))))
}

/// Positions over few domains and small sequences, so that equal and missing domains, and
/// equal sequences, are common.
fn near_position() -> impl Strategy<Value = GtidPos> {
    prop::collection::btree_map(0u32..4, (1u32..3, 0u64..6), 0..4)
        .prop_map(|m| position(m.into_iter().map(|(d, (s, q))| (d, s, q))))
}

fn position(gtids: impl Iterator<Item = (u32, u32, u64)>) -> GtidPos {
    let map: BTreeMap<u32, Gtid> = gtids
        .map(|(domain, server_id, sequence)| {
            (
                domain,
                Gtid {
                    domain,
                    server_id,
                    sequence,
                },
            )
        })
        .collect();
    GtidPos(map)
}

proptest! {
    #![proptest_config(config(CASES))]

    #[test]
    fn generated_positions_print_and_read_back(pos in any_position()) {
        prop_assert_eq!(checks::gtid_round_trip(&pos), Ok(()));
    }

    /// MariaDB's own spellings: spaces after commas, a newline in a long value.
    #[test]
    fn positions_read_back_whatever_the_spacing(pos in any_position(), sep in "[ \t\n]{0,2},[ \t\n]{0,2}") {
        let text: Vec<String> = pos.0.values()
            .map(|g| format!("{}-{}-{}", g.domain, g.server_id, g.sequence))
            .collect();
        let text = text.join(&sep);
        prop_assert_eq!(text.parse::<GtidPos>(), Ok(pos));
    }

    #[test]
    fn any_text_is_a_position_or_an_error(text in prop_oneof![
        any::<String>(),
        "[0-9,\\- +]{0,40}",
        "([0-9]{1,21}-){0,3}[0-9]{0,21}(,[0-9 -]{0,24}){0,3}",
    ]) {
        prop_assert_eq!(checks::gtid_text(&text), Ok(()));
    }

    #[test]
    fn comparisons_are_per_domain(a in near_position(), b in near_position()) {
        prop_assert_eq!(checks::gtid_compare(&a, &b), Ok(()));
        prop_assert_eq!(checks::gtid_compare(&b, &a), Ok(()));
        prop_assert_eq!(checks::gtid_compare(&a, &a), Ok(()));
    }

    #[test]
    fn reaching_is_transitive(a in near_position(), b in near_position(), c in near_position()) {
        if a.has_reached(&b) && b.has_reached(&c) {
            prop_assert!(a.has_reached(&c), "{} ≥ {} ≥ {} but not {} ≥ {}", a, b, c, a, c);
        }
    }
}

#[test]
fn numbers_past_their_width_are_errors_not_wraps() {
    for text in [
        "4294967296-1-1",
        "0-4294967296-1",
        "0-1-18446744073709551616",
        "-1-1-1",
    ] {
        assert!(text.parse::<GtidPos>().is_err(), "{text}");
        assert_eq!(checks::gtid_text(text), Ok(()));
    }
}
