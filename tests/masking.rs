//! Masking end to end: what executors emit (a secret split across two reads, a server
//! error quoting part of a password), weak and default credentials (not masked, warned
//! about), secret files others can read (refused), templated secrets (always masked
//! where inserted) and the `Debug` of a job (never the revealed text).

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::Command;
use flightdeck::diag::SourceFile;
use flightdeck::exec::host::{HostPool, SshOptions};
use flightdeck::exec::job::{self, Job, JobContext};
use flightdeck::exec::spawn::{ExecMsg, Executors};
use flightdeck::inventory::{self, Inventory, Secret, SecretSource};
use flightdeck::lab::{Lab, LabOptions};
use flightdeck::poll::start::{operator_targets, sql_targets};
use flightdeck::poll::{IoState, PollError, ReplicaStatus};
use flightdeck::runbook::roles::RoleMap;
use flightdeck::runbook::template::Reveal;
use flightdeck::runbook::{Loaded, check_text};
use flightdeck::session::mask::{self, Masker};
use flightdeck::session::run::Run;
use mysql_async::prelude::Queryable;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Twenty characters, nothing a shell or SQL would escape.
const SECRET: &str = "Zq8vT3uLp0Wx5yRb7Kc2";
const DEADLINE: Duration = Duration::from_secs(30);

/// Whether `text` holds a run of `min` consecutive characters of `secret`.
fn holds_run(text: &str, secret: &str, min: usize) -> bool {
    let chars: Vec<char> = secret.chars().collect();
    chars
        .windows(min)
        .any(|w| text.contains(&w.iter().collect::<String>()))
}

fn write_mode(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// One local server, its password and the runbook secrets from files in `dir`.
fn inventory(dir: &Path, secrets: &[&str]) -> Inventory {
    let mut text = String::from(
        "[mysql]\npassword = { file = \"mysql_pw\" }\n\n\
         [[server]]\nname = \"db1\"\nrole = \"primary\"\n\
         mysql = { host = \"127.0.0.1\", port = 3306 }\ntransport = \"local\"\n\n[secrets]\n",
    );
    for name in secrets {
        text.push_str(&format!("{name} = {{ file = \"{name}\" }}\n"));
    }
    let path = dir.join("inventory.toml");
    std::fs::write(&path, &text).expect("write inventory");
    inventory::load_file(&path).expect("valid inventory")
}

/// A runbook of `steps` (TOML `[[phase.step]]` tables) declaring `secrets`.
fn runbook(secrets: &[&str], steps: &str) -> String {
    let mut text = String::from("[runbook]\nname = \"t\"\n\n[secrets]\n");
    for name in secrets {
        text.push_str(&format!("{name} = \"a test secret\"\n"));
    }
    text.push_str("\n[[phase]]\nid = \"p\"\ntitle = \"p\"\n");
    text.push_str(steps);
    text
}

fn load(dir: &Path, inv: &Inventory, text: &str) -> Loaded {
    let path = dir.join("runbook.toml");
    std::fs::write(&path, text).expect("write runbook");
    check_text(SourceFile::new(path, text), Some(inv)).expect("valid runbook")
}

/// The jobs of `step`, revealed (as sent) with `secrets`.
fn jobs_of(loaded: &Loaded, inv: &Inventory, step: &str, secrets: &[(&str, &str)]) -> Vec<Job> {
    let secrets: BTreeMap<String, Secret> = secrets
        .iter()
        .map(|(k, v)| (k.to_string(), Secret::new(*v)))
        .collect();
    let roles = RoleMap::from_inventory(inv, &loaded.runbook.pins);
    let mut ctx = JobContext {
        vars: &loaded.runbook.vars,
        secrets: &secrets,
        inventory: inv,
        roles: &roles,
        target: None,
        reveal: Reveal::Secrets,
    };
    let step = loaded.runbook.step(step).expect("the step exists");
    job::jobs(step, &["db1".to_string()], &mut ctx).expect("jobs resolve")
}

fn executors(
    masker: Masker,
    sql: Vec<flightdeck::poll::mysql::SqlTarget>,
) -> (Executors, mpsc::Receiver<ExecMsg>) {
    let (tx, rx) = mpsc::channel(256);
    let executors = Executors {
        sql: Arc::new(sql),
        hosts: HostPool::new(SshOptions::default()),
        maxscale: None,
        inventory: None,
        masker: Arc::new(masker),
        tx,
        panic_on: None,
    };
    (executors, rx)
}

/// Every message of every step in `steps` until each has finished: (outputs, outcome).
async fn collect(
    rx: &mut mpsc::Receiver<ExecMsg>,
    steps: usize,
) -> BTreeMap<String, (Vec<(String, String)>, String)> {
    let mut seen: BTreeMap<String, (Vec<(String, String)>, String)> = BTreeMap::new();
    let mut finished = 0;
    while finished < steps {
        let msg = tokio::time::timeout(DEADLINE, rx.recv())
            .await
            .expect("the executors report within the deadline")
            .expect("the channel stays open");
        match msg {
            ExecMsg::Output {
                step, stream, text, ..
            } => seen
                .entry(step)
                .or_default()
                .0
                .push((stream.to_string(), text)),
            ExecMsg::Finished { step, outcome, .. } => {
                seen.entry(step).or_default().1 = format!("{outcome:?}");
                finished += 1;
            }
            ExecMsg::Progress { .. } | ExecMsg::Probe { .. } => {}
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_split_at_any_byte_offset_never_reaches_what_the_executor_emits() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_mode(&dir.path().join("mysql_pw"), "not-used-here-long", 0o600);
    let inv = inventory(dir.path(), &[]);
    // The command prints the secret in two writes with a pause between, so the executor
    // reads it in two chunks, split at every byte offset (0 and 20: not split).
    let mut steps = String::new();
    for split in 0..=SECRET.len() {
        let (head, tail) = SECRET.split_at(split);
        steps.push_str(&format!(
            "\n[[phase.step]]\nid = \"split{split}\"\ntitle = \"t\"\nkind = \"shell\"\n\
             target = \"primary\"\n\
             command = \"printf '%s' 'line one\\npw={head}'; sleep 0.2; printf '%s\\n' '{tail} end'\"\n"
        ));
    }
    let loaded = load(dir.path(), &inv, &runbook(&[], &steps));
    let (executors, mut rx) = executors(Masker::new([SECRET]), Vec::new());
    for split in 0..=SECRET.len() {
        let id = format!("split{split}");
        let jobs = jobs_of(&loaded, &inv, &id, &[]);
        executors.spawn(id, 1, jobs, DEADLINE, CancellationToken::new());
    }
    let seen = collect(&mut rx, SECRET.len() + 1).await;
    for (step, (outputs, outcome)) in &seen {
        assert!(outcome.contains("Succeeded"), "{step}: {outcome}");
        for (_, text) in outputs {
            assert!(!text.contains(SECRET), "{step}: {text:?}");
        }
        let stdout: String = outputs
            .iter()
            .filter(|(s, _)| s == "stdout")
            .map(|(_, t)| t.as_str())
            .collect();
        // Nothing of the secret, nothing else lost; the first line is not held back.
        assert_eq!(stdout, "line one\npw=**** end\n", "{step}: {outputs:?}");
        assert!(
            outputs[0].1.starts_with("line one\n"),
            "{step}: {outputs:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weak_or_default_secret_is_not_masked_in_output_but_warned_about() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_mode(&dir.path().join("mysql_pw"), "mariadb", 0o600);
    write_mode(&dir.path().join("short"), "Tr0ub4", 0o600);
    let inv = inventory(dir.path(), &["short"]);
    let steps = "\n[[phase.step]]\nid = \"say\"\ntitle = \"t\"\nkind = \"shell\"\n\
                 target = \"primary\"\n\
                 command = \"echo modules/mariadbmon/async-switchover Tr0ub4-dump\"\n";
    let loaded = load(dir.path(), &inv, &runbook(&["short"], steps));
    let secrets = flightdeck::session::open::resolve_secrets(&loaded, &inv).expect("resolve");
    let masker = flightdeck::session::open::masker(&secrets, &inv);
    assert_eq!(masker.ignored(), 2, "both values are too weak to mask");
    let (executors, mut rx) = executors(masker, Vec::new());
    let jobs = jobs_of(&loaded, &inv, "say", &[("short", "Tr0ub4")]);
    executors.spawn("say".into(), 1, jobs, DEADLINE, CancellationToken::new());
    let seen = collect(&mut rx, 1).await;
    let stdout: String = seen["say"].0.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(stdout, "modules/mariadbmon/async-switchover Tr0ub4-dump\n");

    // The warnings, by what uses each credential, never with the value.
    let warnings: Vec<String> = inventory::audit(&inv, ["short"])
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(
        warnings[0].starts_with("secret.short (file "),
        "{warnings:#?}"
    );
    assert!(warnings[0].contains(") is only 6 characters long (fewer than 8): it is not masked"));
    assert!(warnings[1].starts_with("the MySQL password of db1 (file "));
    assert!(warnings[1].contains(") is a well-known default password: it is not masked"));
    for w in &warnings {
        assert!(!w.contains("Tr0ub4") && !w.contains("mariadb"), "{w}");
    }

    // The session's notices (the cockpit's header) say the same.
    let mut run = Run::new(loaded.runbook.clone());
    let mut roles = RoleMap::from_inventory(&inv, &loaded.runbook.pins);
    let journal = dir.path().join("run.jsonl");
    let session = flightdeck::session::open::open(&journal, &loaded, &inv, &mut run, &mut roles)
        .expect("the session opens");
    let notices: Vec<&String> = session
        .notices
        .iter()
        .filter(|n| n.starts_with("credential warning: "))
        .collect();
    assert_eq!(notices.len(), 2, "{:#?}", session.notices);
    assert!(notices[0].ends_with(&warnings[0]), "{notices:#?}");
    drop(session);

    // And `check --inventory`, on stderr, the runbook still valid.
    let out = Command::cargo_bin("flightdeck")
        .expect("the binary")
        .args(["check", "runbook.toml", "--inventory", "inventory.toml"])
        .current_dir(dir.path())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: secret.short (file ")
            && stderr.contains("warning: the MySQL password of db1 (file ")
            && stderr.contains("is a well-known default password"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Tr0ub4") && !stderr.contains("mariadb"),
        "{stderr}"
    );
}

#[test]
fn a_secret_file_others_can_read_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pw = dir.path().join("mysql_pw");
    write_mode(&pw, "a-long-random-password", 0o644);
    let inv = inventory(dir.path(), &[]);
    let e = inventory::resolve(&SecretSource::File(pw.clone()), dir.path())
        .expect_err("a 0644 secret file is refused");
    let text = e.to_string();
    assert!(text.contains("(mode 0644)"), "{text}");
    assert!(
        text.contains(&format!("run `chmod 600 {}`", pw.display())),
        "{text}"
    );
    assert!(!text.contains("random-password"), "{text}");
    // The pollers refuse it, before anything connects.
    let refused = sql_targets(&inv)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(refused.contains("chmod 600"), "{refused}");

    // `check --inventory` says so before the window.
    let loaded_text = runbook(
        &[],
        "\n[[phase.step]]\nid = \"n\"\ntitle = \"t\"\nkind = \"note\"\ntext = \"x\"\n",
    );
    std::fs::write(dir.path().join("runbook.toml"), loaded_text).expect("write");
    let out = Command::cargo_bin("flightdeck")
        .expect("the binary")
        .args(["check", "runbook.toml", "--inventory", "inventory.toml"])
        .current_dir(dir.path())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: the MySQL password of db1 (file ")
            && stderr.contains("is refused: ")
            && stderr.contains("(mode 0644)")
            && stderr.contains("chmod 600"),
        "{stderr}"
    );
    // Once fixed, nothing to say.
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    assert!(inventory::audit(&inv, []).is_empty());
}

#[test]
fn a_templated_secret_is_always_masked_where_inserted_and_a_job_never_debugs_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_mode(&dir.path().join("mysql_pw"), "not-used-here-long", 0o600);
    let inv = inventory(dir.path(), &["weak", "strong"]);
    let steps = "\n[[phase.step]]\nid = \"users\"\ntitle = \"t\"\nkind = \"sql\"\n\
                 target = \"primary\"\n\
                 sql = [\"ALTER USER 'a'@'%' IDENTIFIED BY '{{ secret.weak }}'\", \
                 \"ALTER USER 'b'@'%' IDENTIFIED BY '{{ secret.strong }}'\"]\n";
    let loaded = load(dir.path(), &inv, &runbook(&["weak", "strong"], steps));
    let jobs = jobs_of(
        &loaded,
        &inv,
        "users",
        &[("weak", "root"), ("strong", SECRET)],
    );
    let [
        Job::Sql {
            statements, shown, ..
        },
    ] = jobs.as_slice()
    else {
        panic!("one SQL job: {jobs:?}");
    };
    assert!(statements[0].ends_with("BY 'root'") && statements[1].contains(SECRET));
    // Weak or strong, the position a template fills is masked.
    assert_eq!(
        shown,
        &[
            "ALTER USER 'a'@'%' IDENTIFIED BY '****'",
            "ALTER USER 'b'@'%' IDENTIFIED BY '****'"
        ]
    );
    assert!(jobs[0].shown().contains("IDENTIFIED BY '****'"));
    let debug = format!("{jobs:?} {:#?}", jobs[0]);
    assert!(
        !debug.contains(SECRET) && !debug.contains("'root'"),
        "{debug}"
    );
    assert!(debug.contains("IDENTIFIED BY '****'"), "{debug}");
}

#[test]
fn poller_and_replication_errors_mask_fragments_of_known_secrets() {
    // What a session remembers (the cockpit opens one before its pollers speak).
    mask::remember(&Masker::new([SECRET]));
    let near = format!(
        "You have an error in your SQL syntax; check the manual near 'SELEC {}' at line 1 (1064)",
        &SECRET[..12]
    );
    let e = PollError::Query(near.clone());
    assert!(!holds_run(&e.detail(), SECRET, 8), "{}", e.detail());
    assert!(e.detail().ends_with("near 'SELEC ****' at line 1 (1064)"));
    assert!(!holds_run(&e.to_string(), SECRET, 8), "{e}");
    let replica = ReplicaStatus {
        connection_name: String::new(),
        master_host: "127.0.0.1".into(),
        master_port: 3306,
        io: IoState::Yes,
        sql_running: false,
        seconds_behind: None,
        gtid_io_pos: Default::default(),
        using_gtid: "Slave_Pos".into(),
        last_io_errno: 0,
        last_io_error: String::new(),
        last_sql_errno: 1396,
        last_sql_error: format!(
            "Error 'Operation CREATE USER failed' on query. Query: 'CREATE USER x IDENTIFIED BY '{}''",
            &SECRET[5..]
        ),
        sql_state: String::new(),
        master_user: String::new(),
        ssl_allowed: false,
    };
    let shown = replica.last_error().expect("an error");
    assert!(shown.starts_with("SQL 1396: Error 'Operation CREATE USER failed'"));
    assert!(!holds_run(&shown, SECRET, 8), "{shown}");
}

/// As MariaDB quotes a statement it cannot parse: `near '…'`, cut at 80 characters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_quoting_part_of_a_secret_is_masked() {
    // "SELEC '" + padding + "', '" is 66 characters: the quote ends 11 characters into
    // the secret, before the "..." that marks the cut.
    let statement = format!("SELEC '{}', '{SECRET}'", "x".repeat(55));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = LabOptions::new(dir.path());
    opts.replicas = 0;
    let lab = Lab::up(opts).await.expect("lab up").guard();
    let inv = inventory::load_file(lab.inventory_path()).expect("lab inventory is valid");

    // The server's own words hold a fragment of the secret, not all of it.
    let mut root = lab
        .connect("server1", "root")
        .await
        .expect("connect as root");
    let raw = root
        .query_drop(statement.as_str())
        .await
        .expect_err("a syntax error")
        .to_string();
    root.disconnect().await.expect("disconnect");
    assert!(holds_run(&raw, SECRET, 8) && !raw.contains(SECRET), "{raw}");

    let (executors, mut rx) = executors(
        Masker::new([SECRET]),
        operator_targets(&inv).expect("lab credentials resolve"),
    );
    let job = Job::Sql {
        server: "server1".into(),
        statements: vec![statement.clone()],
        shown: vec!["SELEC '…', '****'".into()],
        expect: Vec::new(),
    };
    executors.spawn(
        "bad".into(),
        1,
        vec![job],
        DEADLINE,
        CancellationToken::new(),
    );
    let seen = collect(&mut rx, 1).await;
    let (outputs, outcome) = &seen["bad"];
    assert!(
        outcome.contains("Failed") && outcome.contains("1064"),
        "{outcome}"
    );
    assert!(outcome.contains("near 'SELEC 'xxx"), "{outcome}");
    assert!(!holds_run(outcome, SECRET, 8), "{outcome}");
    assert!(outcome.contains("', '****"), "{outcome}");
    for (_, text) in outputs {
        assert!(!holds_run(text, SECRET, 8), "{text}");
    }
    lab.down(true).await.expect("lab down");
}
