//! Option files read as the mariadb client reads them, checked against the client's own
//! reader: `my_print_defaults --defaults-file=FILE client client-server client-mariadb`
//! (MariaDB's `mysys/my_default.c`; package mariadb-client-core, which CI's
//! mariadb-server pulls in). Each case is a set of tricky files in a tempdir; flightdeck's
//! options, printed as `my_print_defaults` prints them, must be the same bytes, the last
//! `--password=`, `--user=` and `--host=` what the case expects, and the password
//! flightdeck resolves the one the client would send.

// Test code: a failing unwrap, expect or panic is a failing test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use flightdeck::inventory::credentials::{CredentialError, mycnf_password};
use flightdeck::inventory::option_file::{self, CLIENT_GROUPS, ClientOptions, Context};

#[path = "option_files/cases.rs"]
mod cases;
use cases::{Case, cases};

/// `my_print_defaults`' output for `top`, run where the case lives; `None` when it fails
/// (a fault the client calls fatal).
fn client_reads(dir: &Path, top: &Path) -> Option<Vec<u8>> {
    let out = Command::new("my_print_defaults")
        .arg(format!("--defaults-file={}", top.display()))
        .args(CLIENT_GROUPS)
        .current_dir(dir)
        .env("HOME", dir.join("home"))
        .env_remove("MYSQL_GROUP_SUFFIX")
        .output()
        .expect("my_print_defaults runs");
    out.status.success().then_some(out.stdout)
}

/// flightdeck's options as `my_print_defaults` prints them: `--name=value` a line.
fn printed(options: &ClientOptions) -> Vec<u8> {
    let mut out = Vec::new();
    for opt in options.options() {
        out.extend_from_slice(b"--");
        out.extend_from_slice(opt.name());
        if let Some(value) = opt.value() {
            out.push(b'=');
            out.extend_from_slice(value);
        }
        out.push(b'\n');
    }
    out
}

/// The value of the last `--NAME=` line.
fn last<'a>(printed: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let prefix = format!("--{name}=");
    printed
        .split(|&b| b == b'\n')
        .filter_map(|line| line.strip_prefix(prefix.as_bytes()))
        .next_back()
}

fn installed() -> bool {
    match Command::new("my_print_defaults").arg("--version").output() {
        Ok(out) if out.status.success() => true,
        _ => {
            eprintln!(
                "SKIPPED: my_print_defaults is not installed (Debian package \
                 mariadb-client-core, pulled in by mariadb-server): flightdeck's reading of \
                 option files is not compared with the client's"
            );
            false
        }
    }
}

fn check(case: &Case) {
    let dir = tempfile::tempdir().expect("tempdir");
    let top = case.write(dir.path());
    let ctx = Context {
        cwd: dir.path().to_path_buf(),
        home: Some(dir.path().join("home")),
    };
    let ours = option_file::read_file(&top, &CLIENT_GROUPS, &ctx);
    let theirs = client_reads(dir.path(), &top);
    let name = case.name;
    let (ours, theirs) = match (ours, theirs) {
        (Err(e), None) => {
            assert!(
                case.fatal,
                "{name}: both refuse it, the case did not expect so: {e}"
            );
            assert!(!e.to_string().contains("s3cret"), "{name}: {e}");
            return;
        }
        (Ok(_), None) => panic!("{name}: the client refuses it, flightdeck does not"),
        (Err(e), Some(_)) => panic!("{name}: flightdeck refuses it ({e}), the client does not"),
        (Ok(ours), Some(theirs)) => (ours, theirs),
    };
    assert!(!case.fatal, "{name}: the case expected a refusal");
    let printed = printed(&ours);
    assert_eq!(
        String::from_utf8_lossy(&printed),
        String::from_utf8_lossy(&theirs),
        "{name}: flightdeck (left) and my_print_defaults (right) read different options"
    );
    assert_eq!(
        printed, theirs,
        "{name}: the same text but not the same bytes"
    );
    for (key, expected) in [
        ("password", &case.password),
        ("user", &case.user),
        ("host", &case.host),
    ] {
        let client = last(&theirs, key);
        assert_eq!(
            client,
            expected.as_deref(),
            "{name}: the client's last --{key}="
        );
        let flightdeck = ours.last(key).and_then(|o| o.value());
        assert_eq!(flightdeck, client, "{name}: flightdeck's {key}");
    }
    // The password flightdeck would log in with: the client's, or an error without it.
    match (mycnf_password(top.clone(), &ctx), case.password.as_deref()) {
        (Ok(secret), Some(client)) => assert_eq!(secret.expose().as_bytes(), client, "{name}"),
        (Err(e), client) => {
            let said = e.to_string();
            match client {
                None => assert!(
                    matches!(e, CredentialError::NoMycnfPassword { .. }),
                    "{said}"
                ),
                Some(bytes) => {
                    assert!(std::str::from_utf8(bytes).is_err(), "{name}: {said}");
                    assert!(
                        said.contains("is not UTF-8 as the client reads it"),
                        "{said}"
                    );
                }
            }
            assert!(!said.contains("s3cret"), "{name}: {said}");
        }
        (Ok(_), None) => panic!("{name}: a password the client does not see"),
    }
}

#[test]
fn flightdeck_reads_option_files_as_my_print_defaults_does() {
    if !installed() {
        return;
    }
    let cases = cases();
    for case in &cases {
        check(case);
    }
    assert!(cases.len() >= 12, "every case ran");
}

#[test]
fn a_world_writable_top_file_is_refused_where_the_client_ignores_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let top = dir.path().join("my.cnf");
    std::fs::write(&top, "[client]\npassword=s3cret-value-long\n").expect("write");
    std::fs::set_permissions(&top, std::fs::Permissions::from_mode(0o602)).expect("chmod");
    if installed() {
        assert_eq!(client_reads(dir.path(), &top).as_deref(), Some(&b""[..]));
    }
    let ctx = Context::current();
    let e = mycnf_password(top.clone(), &ctx).expect_err("refused");
    let said = e.to_string();
    assert!(said.contains("is writable by others (mode 0602)"), "{said}");
    assert!(!said.contains("s3cret"), "{said}");
}

#[test]
fn mycnf_true_is_the_operators_own_my_cnf() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join("conf.d")).expect("mkdir");
    let private = |path: &Path, text: &str| {
        std::fs::write(path, text).expect("write");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    };
    // `~/` in an `!include` is $HOME too, as for the client.
    private(
        &home.join(".my.cnf"),
        "[client]\nuser = dba\n!include ~/conf.d/pw.cnf\n",
    );
    private(
        &home.join("conf.d/pw.cnf"),
        "[client-mariadb]\npassword = \"root\"  # the seed's\n",
    );
    let example = std::fs::read_to_string("runbooks/inventory.example.toml").expect("example");
    let text = example.replacen(
        "password = { env = \"FLIGHTDECK_WATCH_PASSWORD\" }",
        "password = { mycnf = true }",
        1,
    );
    assert_ne!(text, example, "the example's pollers' password line moved");
    let inventory = dir.path().join("inventory.toml");
    std::fs::write(&inventory, &text).expect("write");
    let out = assert_cmd::Command::cargo_bin("flightdeck")
        .expect("binary is built")
        .args([
            "check",
            "runbooks/mariadb-10.5-to-11.4-maxscale.toml",
            "--inventory",
        ])
        .arg(&inventory)
        .env("HOME", &home)
        .env_remove("FLIGHTDECK_WATCH_PASSWORD")
        .output()
        .expect("runs");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    // `check` warns about a weak password, which it could only know by reading it.
    assert!(
        said.contains("([client] password in ~/.my.cnf) is a well-known default password"),
        "{said}"
    );
}

#[test]
fn the_inventory_takes_mycnf_true_or_a_path_and_says_so_when_refusing_inline() {
    use flightdeck::inventory::{MycnfFile, SecretSource, parse};
    let inventory = |password: &str| {
        format!(
            "[mysql]\npassword = {password}\n[[server]]\nname = \"db1\"\nrole = \"primary\"\n\
             mysql = {{ host = \"127.0.0.1\", port = 3306 }}\ntransport = \"local\"\n"
        )
    };
    let path = Path::new("/nowhere/inv.toml");
    let source = |password: &str| {
        parse(path, &inventory(password))
            .map(|inv| inv.servers[0].mysql.password.clone())
            .map_err(|d| {
                let said = d
                    .errors
                    .iter()
                    .map(|e| format!("{} {}", e.message, e.help.as_deref().unwrap_or_default()));
                said.collect::<Vec<_>>().join("\n")
            })
    };
    assert_eq!(
        source("{ mycnf = true }"),
        Ok(Some(SecretSource::Mycnf(MycnfFile::Home)))
    );
    assert_eq!(
        source("{ mycnf = \"~/.my.cnf\" }"),
        Ok(Some(SecretSource::Mycnf(MycnfFile::Path(
            "~/.my.cnf".into()
        ))))
    );
    let no = source("{ mycnf = false }").expect_err("false");
    assert!(no.contains("`mycnf = false` names no file"), "{no}");
    let inline = source("\"hunter2-inline\"").expect_err("inline");
    assert!(
        inline.contains("{ mycnf = true } (the client's ~/.my.cnf)"),
        "{inline}"
    );
    assert!(!inline.contains("hunter2-inline"), "{inline}");
}
