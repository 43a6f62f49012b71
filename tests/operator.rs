//! Who the journal and the lock name as the operator.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use flightdeck::session::lock::{current_operator, operator_from, set_operator};

#[test]
fn the_name_given_wins_then_sudo_user_then_the_login_then_the_uid() {
    let login = || Some("dba".to_string());
    assert_eq!(operator_from(Some("alice"), Some("bob"), login, 0), "alice");
    assert_eq!(operator_from(None, Some("bob"), login, 0), "bob");
    assert_eq!(operator_from(None, None, login, 0), "dba");
    assert_eq!(operator_from(None, None, || None, 1000), "uid:1000");
}

#[test]
fn blank_names_are_skipped_and_the_login_is_read_only_when_needed() {
    assert_eq!(
        operator_from(Some(" "), Some(""), || Some(" root ".into()), 0),
        "root"
    );
    let never = || -> Option<String> { panic!("the password database was read") };
    assert_eq!(operator_from(None, Some("bob"), never, 0), "bob");
    assert_eq!(
        operator_from(None, None, || Some(String::new()), 7),
        "uid:7"
    );
}

#[test]
fn the_name_set_for_the_process_is_used_and_set_once() {
    // The only test in this binary that sets it.
    assert!(set_operator("carol"));
    assert_eq!(current_operator(), "carol");
    assert!(!set_operator("mallory"));
    assert_eq!(current_operator(), "carol");
}
