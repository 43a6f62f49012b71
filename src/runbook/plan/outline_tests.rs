use std::time::Duration;

use super::*;

#[test]
fn durations_read_like_a_ticket() {
    let s = Duration::from_secs;
    assert_eq!(human(Duration::ZERO), "0 s");
    assert_eq!(human(Duration::from_millis(40_600)), "41 s");
    assert_eq!(human(s(59)), "59 s");
    assert_eq!(human(s(60)), "1 min");
    assert_eq!(human(s(19 * 60 + 29)), "19 min");
    assert_eq!(human(s(3600)), "1 h");
    assert_eq!(human(s(3 * 3600 + 14 * 60)), "3 h 14 min");
    assert!(human(Duration::MAX).ends_with(" h"), "no overflow");
}

#[test]
fn an_estimate_says_when_steps_were_not_timed() {
    let e = |secs, untimed: &[&str]| Estimate {
        known: Duration::from_secs(secs),
        untimed: untimed.iter().map(|s| s.to_string()).collect(),
    };
    assert_eq!(e(90, &[]).shown(3), "2 min");
    assert_eq!(e(41, &["a"]).shown(3), "≥ 41 s");
    assert_eq!(e(0, &["a", "b"]).shown(2), "not in the journal");
}

#[test]
fn a_rollback_is_summarised_by_its_first_sentence() {
    assert_eq!(
        first_sentence("Nothing to undo. If the step fails, run it again."),
        "Nothing to undo."
    );
    assert_eq!(
        first_sentence("systemctl start mariadb (10.5 stays installed)\nthen check"),
        "systemctl start mariadb (10.5 stays installed)"
    );
    let long = first_sentence(&"word ".repeat(30));
    assert_eq!(long.chars().count(), ROLLBACK_CHARS);
    assert!(long.ends_with("word…"), "{long}");
}

#[test]
fn the_rollback_line_fits_and_counts_what_it_leaves_out() {
    let room = WIDTH - DETAIL_PAD - LABEL;
    let item = |id: &str, text: &str| (id.to_string(), text.to_string());
    assert_eq!(rollback_line(&[]), "none written");
    assert_eq!(
        rollback_line(&[item("a", "Undo a."), item("b", "Undo b.")]),
        "a: Undo a.; b: Undo b."
    );
    let long = "x".repeat(ROLLBACK_CHARS);
    let many = vec![
        item("first", &long),
        item("second", &long),
        item("third", "t"),
    ];
    let line = rollback_line(&many);
    assert!(line.starts_with("first: xxx"), "{line}");
    assert!(line.ends_with("xxx; +2 more"), "{line}");
    assert!(line.chars().count() <= room, "{line}");
    let short: Vec<_> = (0..20).map(|i| item(&format!("s{i}"), "Undo.")).collect();
    let line = rollback_line(&short);
    assert!(line.chars().count() <= room, "{line}");
    assert!(line.starts_with("s0: Undo.; s1: Undo."), "{line}");
    assert!(line.ends_with(" more"), "{line}");
}

#[test]
fn lists_wrap_under_their_label_and_lines_fit_the_width() {
    let ids: Vec<String> = (0..12).map(|i| format!("p3-step-number-{i}")).collect();
    let wrapped = wrap(&ids.join(", "), DETAIL_PAD + LABEL);
    let lines: Vec<&str> = wrapped.lines().collect();
    assert!(lines.len() > 1);
    assert!(lines[1].starts_with(&" ".repeat(DETAIL_PAD + LABEL)));
    assert!(
        lines[1..].iter().all(|l| l.chars().count() <= WIDTH),
        "{wrapped}"
    );
    assert!(lines[0].chars().count() <= WIDTH - DETAIL_PAD - LABEL);

    let mut line = String::new();
    let untimed = Estimate {
        known: Duration::ZERO,
        untimed: vec!["a".into(); 130],
    };
    main_line(
        &mut line,
        "12",
        &"a long phase title ".repeat(6),
        130,
        &untimed,
    );
    assert_eq!(line.trim_end().chars().count(), WIDTH, "{line}");
    assert!(line.contains("…  130 steps  not in the journal"), "{line}");
}
