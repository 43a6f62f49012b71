//! Shell steps are safe by construction (issue 11, item 1): whatever a var or a secret
//! holds, it reaches the command as literal data, through `sh -s` on this machine and over
//! SSH; `check` refuses a reference where no quoting is safe, at file:line:column; and a
//! secret in a running script is in no process's argv, here or on the host
//! (`shell_injection/argv.rs`).

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // not every helper of the sshd fixture is used here
#[path = "ssh_exec/sshd.rs"]
mod sshd;

#[path = "shell_injection/argv.rs"]
mod argv;
mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use flightdeck::diag::SourceFile;
use flightdeck::exec::host::{HostPool, HostRun, HostTransport, RunEnd, SshOptions};
use flightdeck::runbook::check_text;
use flightdeck::runbook::template::{Context, Escape, Reveal, ServerField, Template};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// How long anything may take before a test gives up (never a duration assertion).
const PATIENCE: Duration = Duration::from_secs(60);

/// Property cases run through `sh -s` on this machine (and `bash --posix -s`), and over SSH.
const LOCAL_CASES: u32 = 1024;
const SSH_CASES: u32 = 64;

/// Values for templates: every var and secret named here.
#[derive(Default)]
struct Values {
    vars: BTreeMap<String, String>,
    secrets: BTreeMap<String, String>,
}

impl Context for Values {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
    fn secret(&self, name: &str) -> Option<String> {
        self.secrets.get(name).cloned()
    }
    fn fact(&self, _: &str, _: ServerField) -> Option<String> {
        None
    }
}

fn render(source: &str, values: &Values) -> String {
    let t = Template::parse(source).expect("template parses");
    t.render(values, Escape::Shell, Reveal::Secrets)
        .expect("renders")
}

/// Runs `script` on `transport` to its end; its exit code and stdout.
async fn run(pool: &HostPool, transport: &HostTransport, script: &str) -> (HostRun, String) {
    pool.run_collect(transport, script, PATIENCE)
        .await
        .expect("run")
}

fn exited(code: i32) -> HostRun {
    HostRun {
        exit_code: Some(code),
        ended: RunEnd::Exited,
    }
}

/// Every quoting a value can get, each `printf '%s\0'` argument checked against `value`;
/// then the two ways `check`'s help suggests: a variable in a here-document, and the value
/// as an argument of its own to `sh -c`.
const PROBE: &str = "printf '%s\\0' {{ vars.x }}\n\
    printf '%s\\0' \"{{ vars.x }}\"\n\
    printf '%s\\0' a{{ vars.x }}b \"<{{ vars.x }}>\" \"$(printf '%s' {{ vars.x }})\"\n\
    printf '%s\\0' -p{{ secret.pw }} ~{{ vars.x }} x=\"{{ secret.pw }}\"\n\
    pre=A; printf '%s\\0' $pre{{ vars.x }} \"${pre}{{ vars.x }}\"\n\
    v={{ vars.x }}; cat <<EOF\n<$v>\nEOF\n\
    sh -c 'printf \"%s\\0\" \"$1\"' sh {{ vars.x }}\n";

fn probe(value: &str) -> (Values, String) {
    let mut values = Values::default();
    values.vars.insert("x".into(), value.into());
    values.secrets.insert("pw".into(), value.into());
    // `$( … )` drops trailing newlines, as it does with any output.
    let v = value;
    let trimmed = value.trim_end_matches('\n');
    let want =
        format!("{v}\0{v}\0a{v}b\0<{v}>\0{trimmed}\0-p{v}\0~{v}\0x={v}\0A{v}\0A{v}\0<{v}>\n{v}\0");
    (values, want)
}

/// Arbitrary text, weighted towards what a shell treats specially.
fn hostile() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        "'",
        "\"",
        "\\",
        "$",
        "`",
        "$(",
        ")",
        "${",
        "}",
        "\n",
        " ",
        "\t",
        "*",
        "?",
        "[",
        "~",
        "#",
        ";",
        "&",
        "|",
        "<",
        ">",
        "!",
        "=",
        "'\\''",
        "'\"'\"'",
        "$(touch pwned)",
        "`id`",
        "${HOME}",
        "EOF",
        "-",
        "%",
        "\r",
        "\\n",
        "$'",
        "\u{e9}",
        "\u{202e}",
    ]);
    let piece = prop_oneof![
        3 => any::<char>().prop_filter("no NUL", |c| *c != '\0').prop_map(String::from),
        4 => special.prop_map(String::from),
        1 => "[a-z0-9/._-]{1,8}",
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

/// `script` through `bash --posix -s` (what `/bin/sh` is on RHEL hosts); its stdout.
fn bash(script: &str) -> Option<String> {
    if !Path::new("/bin/bash").exists() {
        return None;
    }
    let mut child = Command::new("/bin/bash")
        .args(["--posix", "-s"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn bash");
    let mut stdin = child.stdin.take().expect("bash stdin");
    stdin.write_all(script.as_bytes()).expect("write to bash");
    drop(stdin);
    let out = child.wait_with_output().expect("bash ends");
    Some(String::from_utf8(out.stdout).expect("bash prints UTF-8 back"))
}

#[test]
fn hostile_values_arrive_as_literal_arguments_locally() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pool = HostPool::new(SshOptions::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let mut runner = TestRunner::new(Config::with_cases(LOCAL_CASES));
    let result = runner.run(&hostile(), |value| {
        let (values, want) = probe(&value);
        // Run where a `touch pwned` in a value would land, to see it never runs.
        let script = format!(
            "cd {} || exit 9\n{}",
            dir.path().display(),
            render(PROBE, &values)
        );
        let (ended, got) = rt.block_on(run(&pool, &HostTransport::Local, &script));
        prop_assert_eq!(ended, exited(0));
        prop_assert_eq!(&got, &want, "sh -s, value {:?}", value);
        if let Some(got) = bash(&script) {
            prop_assert_eq!(&got, &want, "bash --posix -s, value {:?}", value);
        }
        prop_assert!(!dir.path().join("pwned").exists(), "value {:?} ran", value);
        Ok(())
    });
    result.expect("every value arrives as it is");
}

#[test]
fn hostile_values_arrive_as_literal_arguments_over_ssh() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let sshd = sshd::sshd();
    let control = tempfile::tempdir().expect("control dir");
    let pool = HostPool::new(argv::ssh_options(&sshd, control.path()));
    let transport = argv::ssh_transport(&sshd);
    let mut runner = TestRunner::new(Config::with_cases(SSH_CASES));
    let result = runner.run(&hostile(), |value| {
        let (values, want) = probe(&value);
        let (ended, got) = rt.block_on(run(&pool, &transport, &render(PROBE, &values)));
        prop_assert_eq!(ended, exited(0));
        prop_assert_eq!(&got, &want, "over ssh, value {:?}", value);
        Ok(())
    });
    rt.block_on(pool.close());
    result.expect("every value arrives as it is");
}

/// A script longer than a pipe holds arrives whole, and the commands in it read
/// `/dev/null`, not the rest of the script (as under `sh -c`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_arrive_whole_on_stdin_here_and_over_ssh() {
    let script = format!(
        ": {}\ncat\nread x || echo eof\necho \"$0\" done; exit 3",
        "x".repeat(300_000)
    );
    let sshd = sshd::sshd();
    let control = tempfile::tempdir().expect("control dir");
    let pool = HostPool::new(argv::ssh_options(&sshd, control.path()));
    // A shell that stops reading at a syntax error leaves most of the script unread: the
    // run ends with its status; the unread rest is no error and no hang.
    let broken = format!("if then\n: {}\necho never", "y".repeat(300_000));
    for transport in [HostTransport::Local, argv::ssh_transport(&sshd)] {
        let (ended, out) = run(&pool, &transport, &script).await;
        let want = (exited(3), "eof\nsh done\n");
        assert_eq!((ended, out.as_str()), want, "{transport}");
        let (ended, out) = run(&pool, &transport, &broken).await;
        assert_eq!((ended, out.as_str()), (exited(2), ""), "{transport}");
    }
    pool.close().await;
}

#[tokio::test]
async fn the_issue_examples_are_data_now() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pwned = dir.path().join("pwned");
    let mut values = Values::default();
    let x = format!("$(touch {})", pwned.display());
    values.vars.insert("x".into(), x.clone());
    values.secrets.insert("pw".into(), "p\"w'$d".into());
    let pool = HostPool::new(SshOptions::default());
    let script = render(
        "echo \"{{ vars.x }}\"; printf '%s\\n' -p\"{{ secret.pw }}\"",
        &values,
    );
    let (ended, out) = run(&pool, &HostTransport::Local, &script).await;
    assert_eq!(ended, exited(0));
    assert_eq!(out, format!("{x}\n-pp\"w'$d\n"));
    assert!(!pwned.exists(), "the substitution ran");

    // A value no argument can hold is refused, not cut short.
    values.vars.insert("x".into(), "a\0b".into());
    let t = Template::parse("echo {{ vars.x }}").expect("parses");
    let err = t
        .render(&values, Escape::Shell, Reveal::Secrets)
        .expect_err("NUL refused");
    assert!(err.message.contains("NUL"), "{err}");
}

/// A runbook whose one shell step runs `{CMD}` (a TOML literal string).
const RUNBOOK: &str = "[runbook]\nname = \"t\"\nroles = [\"primary\", \"replica\"]\n\n\
    [vars]\ndir = \"/backup\"\n\n[[phase]]\nid = \"p1\"\ntitle = \"one\"\n\n\
    [[phase.step]]\nid = \"s\"\ntitle = \"t\"\nkind = \"shell\"\ntarget = \"db1\"\n\
    command = '''\nmkdir -p {{ vars.dir }}\n{CMD}\n'''\n";

#[test]
fn check_refuses_a_reference_no_quoting_makes_safe() {
    let inventory = flightdeck::inventory::parse(Path::new("inv.toml"), common::LOCAL_PAIR)
        .expect("test inventory");
    let cases = [
        (
            "sh -c 'ls {{ vars.dir }}'",
            "inside single quotes",
            "sh -c '… \"$1\"' sh",
        ),
        (
            "cat <<EOF >f\nfrom {{ vars.dir }}\nEOF",
            "inside a here-document",
            "write $v in it",
        ),
        (
            "ls # {{ vars.dir }}",
            "in a `#` comment",
            "out of the comment",
        ),
        (
            "echo \\{{ vars.dir }}",
            "right after a backslash",
            "remove the backslash",
        ),
        ("echo `ls {{ vars.dir }}`", "inside backticks", "$( … )"),
        (
            "echo ${X:-{{ vars.dir }}}",
            "inside `${ … }`",
            "v={{ vars.dir }}",
        ),
        (
            "echo \"${{ vars.dir }}\"",
            "right after `$`",
            "remove the `$`",
        ),
        (
            "bash -c \"ls {{ vars.dir }}\"",
            "`sh -c` reads again as code",
            "sh -c '… \"$1\"' sh {{ vars.dir }}",
        ),
        (
            "eval \"ls {{ vars.dir }}\"",
            "`eval` reads again as code",
            "sh -c '… \"$1\"' sh {{ vars.dir }}",
        ),
        (
            "su - mysql -c \"ls {{ vars.dir }}\"",
            "`su -c` reads again as code",
            "sh -c '… \"$1\"' sh {{ vars.dir }}",
        ),
        (
            "ssh db2 \"ls {{ vars.dir }}\"",
            "`ssh` reads again as code",
            "give the step that target",
        ),
        (
            "find /var/lib/mysql -name '*.err' -exec sh -c \"cp {} {{ vars.dir }}\" \\;",
            "`sh -c` reads again as code",
            "sh -c '… \"$1\"' sh {{ vars.dir }}",
        ),
        (
            "ls | xargs -I{} sh -c \"cp {} {{ vars.dir }}\"",
            "`sh -c` reads again as code",
            "sh -c '… \"$1\"' sh {{ vars.dir }}",
        ),
    ];
    for (command, place, help) in cases {
        let text = RUNBOOK.replace("{CMD}", command);
        let Err(diags) = check_text(SourceFile::new("rb.toml", text.clone()), Some(&inventory))
        else {
            panic!("accepted: {command}");
        };
        assert_eq!(diags.len(), 1, "{command}: {diags}");
        let e = &diags.errors[0];
        // The unsafe reference is the last `{{` of the file.
        let at = text.rfind("{{").expect("a reference");
        let line = text[..at].matches('\n').count() + 1;
        let column = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
        assert_eq!((e.line, e.column), (line, column), "{command}");
        assert!(
            e.message.starts_with("`{{ vars.dir }}` is "),
            "{}",
            e.message
        );
        assert!(e.message.contains(place), "{command}: {}", e.message);
        let h = e.help.as_deref().unwrap_or("");
        assert!(h.contains(help), "{command}: {h}");
    }
}

#[test]
fn check_names_file_line_and_column_on_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rb.toml");
    let text = RUNBOOK.replace("{CMD}", "echo 'dir: {{ vars.dir }}'");
    std::fs::write(&path, &text).expect("write runbook");
    let inv = dir.path().join("inv.toml");
    std::fs::write(&inv, common::LOCAL_PAIR).expect("write inventory");
    let out = assert_cmd::Command::cargo_bin("flightdeck")
        .expect("binary")
        .arg("check")
        .arg(&path)
        .arg("--inventory")
        .arg(&inv)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let want = format!(
        "{}:19:12: `{{{{ vars.dir }}}}` is inside single quotes",
        path.display()
    );
    assert!(all.contains(&want), "{all}");
}
