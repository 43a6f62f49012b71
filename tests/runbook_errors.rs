//! Each class of runbook mistake is reported with its message at the right line and column.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use flightdeck::diag::{Diagnostics, SourceFile};
use flightdeck::inventory::{self, Inventory};
use flightdeck::runbook::check_text;

mod common;

const INVENTORY: &str = common::LOCAL_PAIR;

/// A valid runbook with one step; tests splice a mistake into `{STEP}`.
const TEMPLATE: &str = r#"[runbook]
name = "t"
roles = ["primary", "replica"]

[vars]
dir = "/backup"

[secrets]
pw = "replication password"

[[phase]]
id = "p1"
title = "one"

[[phase.step]]
id = "first"
title = "first"
kind = "note"
text = "hello"

[[phase.step]]
{STEP}
"#;

fn inventory() -> Inventory {
    inventory::parse(Path::new("inv.toml"), INVENTORY).expect("test inventory is valid")
}

fn errors(step: &str) -> Diagnostics {
    let text = TEMPLATE.replace("{STEP}", step);
    match check_text(SourceFile::new("rb.toml", text), Some(&inventory())) {
        Ok(_) => panic!("expected errors for:\n{step}"),
        Err(d) => d,
    }
}

/// The only error, as (message, line, column).
fn only_error(step: &str) -> (String, usize, usize) {
    let d = errors(step);
    assert_eq!(d.len(), 1, "expected one error, got: {d}");
    let e = &d.errors[0];
    (e.message.clone(), e.line, e.column)
}

// The spliced step starts on line 22.

#[test]
fn a_valid_step_passes() {
    let text = TEMPLATE.replace(
        "{STEP}",
        "id = \"s\"\ntitle = \"t\"\nkind = \"sql\"\ntarget = \"replica\"\nsql = \"SELECT 1\"",
    );
    check_text(SourceFile::new("rb.toml", text), Some(&inventory())).expect("valid");
}

#[test]
fn misspelled_field() {
    let (msg, line, col) = only_error("id = \"s\"\ntitle = \"t\"\nkind = \"note\"\ntxet = \"x\"");
    assert!(msg.starts_with("unknown field `txet`"), "{msg}");
    assert_eq!((line, col), (25, 1));
}

#[test]
fn unknown_step_kind() {
    let (msg, line, col) =
        only_error("id = \"s\"\ntitle = \"t\"\nkind = \"shel\"\ncommand = \"ls\"");
    assert_eq!(msg, "unknown step kind `shel`");
    assert_eq!((line, col), (24, 8));
}

#[test]
fn field_of_another_kind() {
    let (msg, line, col) = only_error(
        "id = \"s\"\ntitle = \"t\"\nkind = \"shell\"\ntarget = \"db1\"\ncommand = \"ls\"\nsql = \"SELECT 1\"",
    );
    assert_eq!(msg, "`sql` is not a field of a shell step");
    assert_eq!((line, col), (27, 7));
}

#[test]
fn duplicate_step_id() {
    let (msg, line, col) =
        only_error("id = \"first\"\ntitle = \"t\"\nkind = \"note\"\ntext = \"x\"");
    assert_eq!(msg, "duplicate step id `first`");
    assert_eq!((line, col), (22, 6));
}

#[test]
fn target_missing_from_inventory() {
    let (msg, line, col) = only_error(
        "id = \"s\"\ntitle = \"t\"\nkind = \"sql\"\ntarget = \"db9\"\nsql = \"SELECT 1\"",
    );
    assert_eq!(msg, "unknown target `db9`");
    assert_eq!((line, col), (25, 10));
}

#[test]
fn undefined_variable() {
    let (msg, line, col) = only_error(
        "id = \"s\"\ntitle = \"t\"\nkind = \"shell\"\ntarget = \"db1\"\ncommand = \"ls {{ vars.dri }}\"",
    );
    assert_eq!(msg, "undefined variable `vars.dri`");
    assert_eq!((line, col), (26, 15));
}

#[test]
fn undefined_secret() {
    let (msg, line, col) = only_error(
        "id = \"s\"\ntitle = \"t\"\nkind = \"sql\"\ntarget = \"db2\"\nsql = \"SET @p = '{{ secret.pass }}'\"",
    );
    assert_eq!(msg, "undefined secret `secret.pass`");
    assert_eq!((line, col), (26, 18));
}

#[test]
fn condition_that_does_not_parse() {
    let (msg, line, col) = only_error(
        "id = \"s\"\ntitle = \"t\"\nkind = \"wait\"\nuntil = \"replica.io_running and replica.lag < 1\"",
    );
    assert!(msg.starts_with("condition: unknown fact `lag`"), "{msg}");
    assert_eq!((line, col), (25, 41));
}

#[test]
fn expect_regex_that_does_not_compile_is_refused_at_load() {
    let (msg, line, col) = only_error(
        "id = \"s\"\ntitle = \"t\"\nkind = \"sql\"\ntarget = \"db1\"\nsql = \"SELECT VERSION()\"\n\
         expect = [{ column = \"VERSION()\", matches = \"^11\\\\.(4\" }]",
    );
    assert!(msg.starts_with("invalid regular expression: "), "{msg}");
    assert!(msg.contains("unclosed group"), "{msg}");
    assert_eq!((line, col), (27, 11), "{msg}");
}

#[test]
fn gate_waiting_for_a_later_or_missing_step() {
    let (msg, line, col) = only_error(
        "id = \"s\"\ntitle = \"t\"\nkind = \"note\"\ntext = \"x\"\ngates = [\"succeeded(backup)\"]",
    );
    assert_eq!(msg, "no step has id `backup`");
    assert_eq!((line, col), (26, 21));
}

#[test]
fn maxscale_on_a_group() {
    let (msg, line, col) = only_error(
        "id = \"s\"\ntitle = \"t\"\nkind = \"maxscale\"\naction = \"set\"\nserver = \"replicas\"",
    );
    assert_eq!(msg, "`replicas` names several servers; one is needed here");
    assert_eq!((line, col), (26, 10));
}

#[test]
fn toml_syntax_error() {
    let (msg, line, col) = only_error("id = \"s\ntitle = \"t\"");
    assert!(msg.contains("string"), "{msg}");
    assert_eq!(line, 22);
    assert!(col > 1);
}

#[test]
fn all_errors_are_reported_not_just_the_first() {
    let d = errors(
        "id = \"s\"\ntitle = \"t\"\nkind = \"shell\"\ntarget = \"db7\"\ncommand = \"echo {{ vars.x }} {{ secret.y }}\"",
    );
    let messages: Vec<&str> = d.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "unknown target `db7`",
            "undefined variable `vars.x`",
            "undefined secret `secret.y`"
        ]
    );
}

#[test]
fn inventory_errors_name_their_place() {
    let text = INVENTORY.replace("role = \"replica\"", "role = \"replika\"");
    let d = inventory::parse(Path::new("inv.toml"), &text).unwrap_err();
    assert_eq!(d.errors[0].message, "unknown role `replika`");
    assert_eq!((d.errors[0].line, d.errors[0].column), (13, 8));
}

#[test]
fn conditions_fill_in_vars_and_name_undefined_ones() {
    let step = "id = \"s\"\ntitle = \"t\"\nkind = \"check\"\ncondition = \"db1.version starts_with \\\"{{ vars.dir }}\\\"\"";
    let text = TEMPLATE.replace("{STEP}", step);
    let loaded = check_text(SourceFile::new("rb.toml", text), Some(&inventory())).expect("valid");
    let step = loaded.runbook.step("s").expect("step");
    let flightdeck::runbook::Action::Check { condition } = &step.action else {
        panic!("a check step")
    };
    // Kept as written; the var is a literal of the parsed condition, shown filled in.
    assert_eq!(
        condition.source,
        "db1.version starts_with \"{{ vars.dir }}\""
    );
    assert_eq!(condition.to_string(), "db1.version starts_with \"/backup\"");

    // Column 31: the file's `\"` before the template counts as written.
    let (msg, line, col) = only_error(
        "id = \"s\"\ntitle = \"t\"\nkind = \"check\"\ncondition = \"db1.version == \\\"{{ vars.to_version }}\\\"\"",
    );
    assert_eq!(msg, "condition: undefined variable `vars.to_version`");
    assert_eq!((line, col), (25, 31));
}

#[test]
fn sql_template_outside_a_string_literal() {
    let d = errors(
        "id = \"s\"\ntitle = \"t\"\nkind = \"sql\"\ntarget = \"db1\"\nsql = \"SELECT {{ vars.dir }}, '{{ vars.dir }}', {{ target.port }}\"",
    );
    assert_eq!(d.len(), 1, "{d}");
    let e = &d.errors[0];
    assert_eq!(
        e.message,
        "{{ vars.dir }} is outside a quoted string literal"
    );
    assert_eq!((e.line, e.column), (26, 15));
    let help = e.help.as_deref().unwrap_or_default();
    assert!(help.contains("'{{ vars.dir }}'"), "{help}");

    for (sql, what, col) in [
        (
            "SET @a = \\\"{{ vars.dir }}\\\"",
            "inside a \"…\" string",
            19,
        ),
        (
            "SELECT 1 FROM `{{ vars.dir }}`",
            "inside a `…` identifier",
            23,
        ),
        ("SELECT 1 -- {{ vars.dir }}", "inside a comment", 20),
    ] {
        let (msg, line, c) = only_error(&format!(
            "id = \"s\"\ntitle = \"t\"\nkind = \"sql\"\ntarget = \"db1\"\nsql = \"{sql}\""
        ));
        assert!(
            msg.starts_with("{{ vars.dir }} is ") && msg.contains(what),
            "{msg}"
        );
        assert_eq!((line, c), (26, col), "{sql}");
    }
}

#[test]
fn overlong_timeout_is_refused_where_it_is_written() {
    for (text, value) in [
        ("18446744073709551615s", "18446744073709551615s"),
        ("25h", "25h"),
        ("99999999999999999999h", "99999999999999999999h"),
    ] {
        let (msg, line, col) = only_error(&format!(
            "id = \"s\"\ntitle = \"t\"\nkind = \"note\"\ntext = \"x\"\ntimeout = \"{text}\""
        ));
        assert_eq!(
            msg,
            format!("`{value}` is longer than the 24h a timeout may be")
        );
        assert_eq!((line, col), (26, 11), "{text}");
    }
}

#[test]
fn malformed_timeout_is_refused_where_it_is_written() {
    let (msg, line, col) = only_error(
        "id = \"s\"\ntitle = \"t\"\nkind = \"note\"\ntimeout = \"5 mins-ish\"\ntext = \"x\"",
    );
    assert_eq!(msg, "`5 mins-ish` is not a duration");
    assert_eq!((line, col), (25, 11));
}

#[test]
fn timeouts_up_to_a_day_pass_in_any_documented_form() {
    for (text, secs) in [
        ("500ms", 0),
        ("1m30s", 90),
        ("1h 30m", 5400),
        ("24h", 86_400),
    ] {
        let step = format!(
            "id = \"s\"\ntitle = \"t\"\nkind = \"note\"\ntext = \"x\"\ntimeout = \"{text}\""
        );
        let text_rb = TEMPLATE.replace("{STEP}", &step);
        let loaded =
            check_text(SourceFile::new("rb.toml", text_rb), Some(&inventory())).expect("valid");
        let step = loaded.runbook.step("s").expect("step");
        assert_eq!(step.timeout.as_secs(), secs, "{text}");
    }
}

#[test]
fn a_maxscale_url_without_a_scheme_is_named_at_its_place() {
    // Without this, check and plan passed and watch failed with "relative URL without a base".
    inventory::parse(Path::new("inv.toml"), INVENTORY).expect("a URL with a scheme is fine");
    for bad in [
        "127.0.0.1:8989",
        "maxscale.example:8989",
        "ftp://maxscale.example",
    ] {
        let text = INVENTORY.replace("http://127.0.0.1:8989", bad);
        let d = inventory::parse(Path::new("inv.toml"), &text).unwrap_err();
        assert_eq!(d.len(), 1, "{bad}: {d}");
        assert_eq!(
            d.errors[0].message,
            "MaxScale's `url` needs a scheme and a host"
        );
        assert_eq!((d.errors[0].line, d.errors[0].column), (3, 7), "{bad}");
    }
}

#[test]
fn an_inline_password_is_refused_at_its_place_and_never_echoed() {
    let text = INVENTORY.replace(
        "url = \"http://127.0.0.1:8989\"",
        "url = \"http://127.0.0.1:8989\"\npassword = \"hunter2-inline\"",
    ) + "\n[secrets]\nrepl_password = \"s3cret-inline\"\n";
    let d = inventory::parse(Path::new("inv.toml"), &text).unwrap_err();
    assert_eq!(d.len(), 2, "{d}");
    let at: Vec<_> = d.errors.iter().map(|e| (e.line, e.column)).collect();
    assert_eq!(at, [(4, 12), (19, 17)], "{d}");
    assert!(d.errors[0].message.contains("written inline"), "{d}");
    assert!(
        d.errors[0]
            .help
            .as_deref()
            .unwrap_or_default()
            .contains("env")
    );
    let shown = d.render(false);
    for secret in ["hunter2-inline", "s3cret-inline", "hunter2", "s3cret"] {
        assert!(!shown.contains(secret), "{secret} shown:\n{shown}");
        assert!(!d.to_string().contains(secret), "{secret} in the message");
    }
    assert!(shown.contains("inv.toml:4:12"), "{shown}");
}

/// The test inventory and a second replica: `replica` names no one server.
fn three() -> Inventory {
    let text = format!(
        "{INVENTORY}\n[[server]]\nname = \"db3\"\nrole = \"replica\"\n\
         mysql = {{ host = \"127.0.0.1\", port = 3308 }}\ntransport = \"local\"\n"
    );
    inventory::parse(Path::new("three.toml"), &text).expect("inventory")
}

#[test]
fn replica_is_refused_where_the_inventory_has_several() {
    // With three servers the seed runbook passed check and ran with unresolved gates.
    let three = three();
    let step =
        "id = \"s\"\ntitle = \"t\"\nkind = \"sql\"\ntarget = \"replica\"\nsql = \"SELECT 1\"";
    let text = TEMPLATE.replace("{STEP}", step);
    let d = check_text(SourceFile::new("rb.toml", text.clone()), Some(&three)).unwrap_err();
    assert_eq!(d.len(), 1, "{d}");
    assert_eq!(
        d.errors[0].message,
        "`replica` is ambiguous with this inventory (db2, db3 are replicas)"
    );
    assert_eq!((d.errors[0].line, d.errors[0].column), (25, 10));
    // Named explicitly, it is fine; and with one replica `replica` is too.
    let named = text.replace("target = \"replica\"", "target = \"db3\"");
    check_text(SourceFile::new("rb.toml", named), Some(&three)).expect("a named server");
    check_text(SourceFile::new("rb.toml", text), Some(&inventory())).expect("one replica");

    // A pin of `replica` cannot be bound either.
    let pinned = TEMPLATE
        .replace(
            "[[phase]]\nid = \"p1\"",
            "[pins]\nkept = \"replica\"\n\n[[phase]]\nid = \"p1\"",
        )
        .replace(
            "{STEP}",
            "id = \"s\"\ntitle = \"t\"\nkind = \"sql\"\ntarget = \"kept\"\nsql = \"SELECT 1\"",
        );
    let d = check_text(SourceFile::new("rb.toml", pinned), Some(&three)).unwrap_err();
    assert_eq!(d.len(), 1, "{d}");
    assert!(
        d.errors[0]
            .message
            .starts_with("pin `kept` cannot be bound: `replica` is ambiguous"),
        "{d}"
    );
}

#[test]
fn the_inventory_names_which_replica_a_runbook_means() {
    // `[roles] replica` picks one of several replicas: with the initial primary, the pair
    // the runbook's live `replica` moves within.
    let step =
        "id = \"s\"\ntitle = \"t\"\nkind = \"sql\"\ntarget = \"replica\"\nsql = \"SELECT 1\"";
    let text = TEMPLATE.replace("{STEP}", step);
    let with = |roles: &str| {
        let three = format!(
            "{INVENTORY}\n[roles]\n{roles}\n\n[[server]]\nname = \"db3\"\nrole = \"replica\"\n\
             mysql = {{ host = \"127.0.0.1\", port = 3308 }}\ntransport = \"local\"\n"
        );
        inventory::parse(Path::new("named.toml"), &three)
    };
    let named = with("replica = \"db3\"").expect("db3 is a replica");
    check_text(SourceFile::new("rb.toml", text), Some(&named)).expect("`replica` is db3");
    let mut roles =
        flightdeck::runbook::roles::RoleMap::from_inventory(&named, &Default::default());
    assert_eq!(roles.resolve_one("replica").as_deref(), Ok("db3"));
    roles.switchover("db3");
    assert_eq!(
        roles.resolve_one("replica").as_deref(),
        Ok("db1"),
        "after the switchover, the old primary"
    );
    assert_eq!(
        roles.replicas(),
        vec!["db1", "db2"],
        "`replicas` is still all of them"
    );

    // A name that is not a replica of this inventory is refused where it is written.
    for (roles, message) in [
        (
            "replica = \"db1\"",
            "[roles] replica names `db1`, whose role is primary",
        ),
        (
            "replica = \"db9\"",
            "[roles] replica names `db9`, which is not a server of this inventory",
        ),
    ] {
        let d = with(roles).unwrap_err().to_string();
        assert!(d.contains(message), "{d}");
    }
    // `[roles] candidate` (the server a switchover promotes) sits beside `replica`: see
    // tests/candidate.rs. Anything else is refused.
    let named = with("candidate = \"db3\"").expect("db3 is a replica");
    assert_eq!(named.candidate(), Ok("db3"));
    let d = with("leader = \"db3\"").unwrap_err().to_string();
    assert!(d.contains("unknown field `leader`"), "{d}");
}

#[test]
fn a_server_without_a_transport_is_polled_only_and_refuses_shell_steps_at_check() {
    // watch needs no ssh table: such an inventory loads.
    let polled = INVENTORY.replacen("transport = \"local\"\n", "", 2);
    let inv = inventory::parse(Path::new("inv.toml"), &polled).expect("loads without transports");
    let sql = "id = \"s\"\ntitle = \"t\"\nkind = \"sql\"\ntarget = \"db1\"\nsql = \"SELECT 1\"";
    check_text(
        SourceFile::new("rb.toml", TEMPLATE.replace("{STEP}", sql)),
        Some(&inv),
    )
    .expect("sql steps need no shell access");
    let shell = "id = \"s\"\ntitle = \"t\"\nkind = \"shell\"\ntarget = \"db1\"\ncommand = \"true\"";
    let d = check_text(
        SourceFile::new("rb.toml", TEMPLATE.replace("{STEP}", shell)),
        Some(&inv),
    )
    .unwrap_err();
    assert_eq!(d.len(), 1, "{d}");
    assert_eq!(
        d.errors[0].message,
        "this runbook runs shell steps, and the inventory gives no shell access to db1, db2"
    );
    assert_eq!((d.errors[0].line, d.errors[0].column), (22, 6));
}
