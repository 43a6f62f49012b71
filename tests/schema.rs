//! The JSON Schemas editors check runbooks and inventories with (assets/schema/): they are
//! what `flightdeck schema` prints, every shipped runbook and example inventory passes
//! them, and what the loader refuses they refuse too, at the key that is wrong.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use flightdeck::diag::SourceFile;
use serde_json::Value;

const RUNBOOK_SCHEMA: &str = "assets/schema/runbook.schema.json";
const INVENTORY_SCHEMA: &str = "assets/schema/inventory.schema.json";

/// A compiled schema.
struct Schema {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Schema {
    fn load(path: &str) -> Schema {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let value: Value = serde_json::from_str(&text).expect("the schema is JSON");
        let mut compiler = boon::Compiler::new();
        let mut schemas = boon::Schemas::new();
        let url = format!("file:///{path}");
        compiler.add_resource(&url, value).expect("a resource");
        let index = compiler
            .compile(&url, &mut schemas)
            .unwrap_or_else(|e| panic!("{path} does not compile: {e:#}"));
        Schema { schemas, index }
    }

    /// Each error as `/pointer: what`; none when the TOML is valid.
    fn errors(&self, toml_text: &str) -> Vec<String> {
        // Every error of the tree: a `oneOf` that failed, and why each branch did.
        fn leaves(e: &boon::ValidationError<'_, '_>, out: &mut Vec<String>) {
            if !matches!(
                e.kind,
                boon::ErrorKind::Group | boon::ErrorKind::Schema { .. }
            ) {
                out.push(format!("{}: {}", e.instance_location, e.kind));
            }
            for cause in &e.causes {
                leaves(cause, out);
            }
        }
        let document: Value = toml::from_str(toml_text).expect("valid TOML");
        let mut out = Vec::new();
        if let Err(e) = self.schemas.validate(&document, self.index) {
            leaves(&e, &mut out);
        }
        out
    }
}

fn toml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

fn is_inventory(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("inventory"))
}

#[test]
fn the_shipped_schemas_are_what_flightdeck_schema_prints() {
    for (format, path) in [("runbook", RUNBOOK_SCHEMA), ("inventory", INVENTORY_SCHEMA)] {
        let out = Command::cargo_bin("flightdeck")
            .expect("the binary is built")
            .args(["schema", format])
            .output()
            .expect("runs");
        assert!(out.status.success(), "{out:?}");
        let printed = String::from_utf8(out.stdout).expect("utf-8");
        let shipped = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            printed == shipped,
            "{path} is not what `flightdeck schema {format}` prints: the types it is \
             generated from changed. Regenerate it with\n    \
             cargo run -q -- schema {format} > {path}\nand commit it."
        );
    }
}

/// Every shipped runbook (the one that extends another too) and the example inventories
/// pass, and name their schema on their first line for taplo.
#[test]
fn every_shipped_runbook_and_example_inventory_passes_its_schema() {
    let runbook = Schema::load(RUNBOOK_SCHEMA);
    let inventory = Schema::load(INVENTORY_SCHEMA);
    let mut files = toml_files("runbooks");
    files.extend(toml_files("tests/runbooks"));
    files.push("tests/fixtures/pair.toml".into());
    files.push("tests/fixtures/three.toml".into());
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable");
        let fixture = path.starts_with("tests/fixtures");
        let (schema, file) = if is_inventory(path) || fixture {
            (&inventory, INVENTORY_SCHEMA)
        } else {
            (&runbook, RUNBOOK_SCHEMA)
        };
        let errors = schema.errors(&text);
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        let depth = path.components().count().saturating_sub(1);
        let directive = format!("#:schema {}{file}\n", "../".repeat(depth));
        assert!(
            text.starts_with(&directive),
            "{} starts with `{}`",
            path.display(),
            directive.trim_end()
        );
    }
    // Runbooks used by tests and benchmarks, without the directive.
    for path in [
        toml_files("benches/support"),
        toml_files("tests/secret_sweep"),
    ]
    .concat()
    {
        let text = std::fs::read_to_string(&path).expect("readable");
        let errors = runbook.errors(&text);
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

/// Whether the loader refuses `text` as a runbook at `runbooks/…` (an overlay's base is
/// the seed-000 runbook beside it).
fn loader_refuses_runbook(text: &str) -> bool {
    let file = SourceFile::new("runbooks/schema-case.toml", text);
    flightdeck::runbook::check_text(file, None).is_err()
}

const RUNBOOK: &str = r#"[runbook]
name = "schema case"
roles = ["primary", "replica"]

[[phase]]
id = "p1"
title = "Phase"

[[phase.step]]
id = "s1"
title = "A shell step"
kind = "shell"
target = "primary"
command = "true"
"#;

const OVERLAY: &str = r#"[runbook]
extends = "mariadb-10.5-to-11.4-maxscale.toml"

[[override]]
step = "p3-stop-service"
title = "Stop it"
kind = "shell"
target = "item"
command = "true"
"#;

/// Each case: a runbook the loader refuses, and where the schema says it is wrong.
#[test]
fn the_runbook_schema_refuses_what_the_loader_refuses_at_the_wrong_key() {
    let schema = Schema::load(RUNBOOK_SCHEMA);
    assert_eq!(schema.errors(RUNBOOK), Vec::<String>::new());
    assert!(!loader_refuses_runbook(RUNBOOK));
    assert_eq!(schema.errors(OVERLAY), Vec::<String>::new());
    assert!(!loader_refuses_runbook(OVERLAY));
    let step = |extra: &str| format!("{RUNBOOK}{extra}\n");
    let cases: Vec<(String, &str)> = vec![
        (
            step("tagret = \"primary\""),
            "/phase/0/step/0: additionalProperties 'tagret' not allowed",
        ),
        (
            step("sql = \"SELECT 1\""),
            "/phase/0/step/0/sql: false schema",
        ),
        (
            step("until = \"primary.up\""),
            "/phase/0/step/0/until: false schema",
        ),
        (
            RUNBOOK.replace("kind = \"shell\"", "kind = \"shel\""),
            "/phase/0/step/0/kind: value must be one of",
        ),
        (
            RUNBOOK.replace("command = \"true\"", ""),
            "/phase/0/step/0: missing properties 'command'",
        ),
        (
            RUNBOOK.replace("target = \"primary\"", ""),
            "/phase/0/step/0: missing properties 'target'",
        ),
        (
            RUNBOOK.replace("id = \"s1\"", "id = \"S1\""),
            "/phase/0/step/0/id: 'S1' does not match pattern",
        ),
        (
            step("approval = \"third\""),
            "/phase/0/step/0/approval: value must be",
        ),
        (
            step("timeout = \"30\""),
            "/phase/0/step/0/timeout: '30' does not match pattern",
        ),
        (
            step("notes = [{ kind = \"caution\", text = \"x\" }]"),
            "/phase/0/step/0/notes/0/kind: value must be one of",
        ),
        (
            RUNBOOK.replace("[[phase]]", "[vars]\nn = 1\n\n[[phase]]"),
            "/vars/n: want string, but got number",
        ),
        (
            RUNBOOK.replace("[[phase]]", "[pins]\nfirst = \"leader\"\n\n[[phase]]"),
            "/pins/first: oneOf failed",
        ),
        (
            RUNBOOK.replace("roles = [", "rolse = ["),
            "/runbook: additionalProperties 'rolse' not allowed",
        ),
        (
            RUNBOOK.replace("[runbook]", "[runbok]\nname = \"x\"\n[runbook]"),
            "additionalProperties 'runbok' not allowed",
        ),
        (
            RUNBOOK.replace("name = \"schema case\"", ""),
            "/runbook: missing properties 'name'",
        ),
        (
            format!("{RUNBOOK}\n[[override]]\nstep = \"s1\"\n"),
            "/override: false schema",
        ),
        (
            format!(
                "{RUNBOOK}\n[[phase.step]]\nid = \"s2\"\ntitle = \"sql\"\nkind = \"sql\"\n\
                 target = \"primary\"\nsql = \"SELECT 1\"\n\
                 expect = [{{ column = \"c\", equals = \"1\", starts_with = \"1\" }}]\n"
            ),
            "/phase/0/step/1/expect/0: oneOf failed",
        ),
        (
            format!(
                "{RUNBOOK}\n[[phase.step]]\nid = \"s2\"\ntitle = \"switch\"\nkind = \"maxscale\"\n\
                 action = \"switchover\"\nnew_primary = \"replica\"\n"
            ),
            "/phase/0/step/1: missing properties 'old_primary'",
        ),
        (
            format!(
                "{RUNBOOK}\n[[phase.step]]\nid = \"s2\"\ntitle = \"maint\"\nkind = \"maxscale\"\n\
                 action = \"set\"\nstate = \"down\"\nserver = \"replica\"\n"
            ),
            "/phase/0/step/1/state: value must be one of",
        ),
        (
            OVERLAY.replace("kind = \"shell\"", "kind = \"sql\""),
            "/override/0/kind: value must be one of",
        ),
        (
            OVERLAY.replace("step = \"p3", "id = \"p3"),
            "/override/0: additionalProperties 'id' not allowed",
        ),
        (
            format!("{OVERLAY}\n[[phase]]\nid = \"x\"\ntitle = \"x\"\n"),
            "/phase: false schema",
        ),
        (
            OVERLAY.replace("[[override]]", "[secrets]\npw = \"x\"\n\n[[override]]"),
            "/secrets: false schema",
        ),
        (
            OVERLAY.replace("extends =", "roles = [\"primary\"]\nextends ="),
            "/runbook/roles: false schema",
        ),
    ];
    for (text, want) in cases {
        assert!(loader_refuses_runbook(&text), "the loader accepts:\n{text}");
        let errors = schema.errors(&text);
        assert!(
            errors.iter().any(|e| e.contains(want)),
            "want `{want}` in {errors:#?} for:\n{text}"
        );
    }
}

/// What the loader accepts at the edges, the schema does too.
#[test]
fn the_runbook_schema_accepts_what_the_loader_accepts_at_the_edges() {
    let schema = Schema::load(RUNBOOK_SCHEMA);
    let step =
        |body: &str| format!("{RUNBOOK}\n[[phase.step]]\nid = \"s2\"\ntitle = \"t\"\n{body}\n");
    for text in [
        // `not_empty = false` is no test: `equals` is the one.
        step(
            "kind = \"sql\"\ntarget = \"primary\"\nsql = [\"SELECT 1\", \"SELECT 2\"]\n\
              expect = [{ column = \"c\", equals = \"1\", not_empty = false }]",
        ),
        step("kind = \"manual\"\ninstructions = \"do it\"\ncommand = [\"a\", \"b\"]"),
        step("kind = \"maxscale\"\naction = \"clear\"\nserver = \"replica\""),
        step("kind = \"wait\"\nuntil = \"primary.up\"\ntimeout = \"1h 30m\"\nprobe = true"),
        step("kind = \"preflight\"\nto = \"11.4\"\napproval = \"second\"\ndestructive = true"),
        RUNBOOK.replace("[[phase]]", "[pins]\nfirst = \"primary\"\n\n[[phase]]"),
    ] {
        assert!(
            !loader_refuses_runbook(&text),
            "the loader refuses:\n{text}"
        );
        assert_eq!(schema.errors(&text), Vec::<String>::new(), "{text}");
    }
}

const INVENTORY: &str = r#"[mysql]
user = "watch"
password = { env = "WATCH_PASSWORD" }

[[server]]
name = "server1"
role = "primary"
mysql = { host = "127.0.0.1", port = 3306 }
transport = "local"
"#;

#[test]
fn the_inventory_schema_refuses_what_the_loader_refuses() {
    let schema = Schema::load(INVENTORY_SCHEMA);
    let refused = |text: &str| flightdeck::inventory::parse(Path::new("inv.toml"), text).is_err();
    assert_eq!(schema.errors(INVENTORY), Vec::<String>::new());
    assert!(!refused(INVENTORY));
    let cases: Vec<(String, &str)> = vec![
        (INVENTORY.replace("{ env = \"WATCH_PASSWORD\" }", "\"hunter22\""), "/mysql/password: oneOf failed"),
        (INVENTORY.replace("role = \"primary\"", "role = \"leader\""), "/server/0/role: oneOf failed"),
        (INVENTORY.replace("transport = \"local\"", "transport = \"local\"\nssh = { host = \"h\" }"), "/server/0/ssh: false schema"),
        (INVENTORY.replace("transport = \"local\"", "transport = \"ssh\""), "/server/0: missing properties 'ssh'"),
        (INVENTORY.replace("transport = \"local\"", "transport = \"telnet\""), "/server/0/transport: value must be one of"),
        (INVENTORY.replace("[mysql]", "[mysql]\ntls = { mode = \"VERIFY_FULL\" }"), "/mysql/tls/mode: oneOf failed"),
        (INVENTORY.replace("port = 3306", "port = 70000"), "/server/0/mysql/port: must be <=65535"),
        (INVENTORY.replace("[[server]]", "[maxscale]\nurl = \"maxscale:8989\"\n\n[[server]]"), "/maxscale/url: 'maxscale:8989' does not match pattern"),
        (
            INVENTORY.replace("[[server]]", "[probe]\nrouter = { host = \"h\", port = 1 }\nuser = \"p\"\ntable = \"probe\"\n\n[[server]]"),
            "/probe/table: 'probe' does not match pattern",
        ),
        (INVENTORY.replace("[mysql]", "[mysq]\n[mysql]"), "additionalProperties 'mysq' not allowed"),
        (INVENTORY.replace("name = \"server1\"", "nmae = \"server1\""), "/server/0: additionalProperties 'nmae' not allowed"),
        (INVENTORY.split("[[server]]").next().unwrap_or_default().to_string(), "missing properties 'server'"),
    ];
    for (text, want) in cases {
        assert!(refused(&text), "the loader accepts:\n{text}");
        let errors = schema.errors(&text);
        assert!(
            errors.iter().any(|e| e.contains(want)),
            "want `{want}` in {errors:#?} for:\n{text}"
        );
    }
}
