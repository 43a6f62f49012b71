//! The pieces; tests/option_files.rs compares whole files with `my_print_defaults`.

use std::os::unix::fs::PermissionsExt;

use super::*;

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Self(tempfile::tempdir().expect("tempdir"))
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, text).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        path
    }

    fn ctx(&self) -> Context {
        Context {
            cwd: self.0.path().to_path_buf(),
            home: Some(self.0.path().join("home")),
        }
    }

    fn read(&self, top: &str, text: &str) -> Result<ClientOptions, OptionFileError> {
        let path = self.write(top, text);
        read_file(&path, &CLIENT_GROUPS, &self.ctx())
    }
}

fn value(options: &ClientOptions, name: &str) -> Option<String> {
    let opt = options.last(name)?;
    Some(String::from_utf8_lossy(opt.value()?).into_owned())
}

#[test]
fn the_three_client_groups_in_file_order_and_the_last_wins() {
    let dir = Dir::new();
    let cnf = "[client-mariadb]\nuser=a\n[mysqld]\nuser=server\n[client]\nuser=b\n\
               [CLIENT-Server]\nhost=h\n[mysql]\nhost=cli-only\n";
    let got = dir.read("my.cnf", cnf).expect("reads");
    assert_eq!(value(&got, "user").as_deref(), Some("b"));
    assert_eq!(value(&got, "host").as_deref(), Some("h"));
    let groups: Vec<&str> = got.options().iter().map(Opt::group).collect();
    assert_eq!(groups, ["client-mariadb", "client", "CLIENT-Server"]);
}

#[test]
fn names_match_as_my_getopt_matches_them() {
    let dir = Dir::new();
    let got = dir
        .read(
            "my.cnf",
            "[client]\nssl_ca=a\nSSL-CA=b\nloose-ssl-ca=c\nsslca=d\n",
        )
        .expect("reads");
    assert_eq!(value(&got, "ssl-ca").as_deref(), Some("c"));
    assert_eq!(value(&got, "ssl_ca").as_deref(), Some("c"));
}

#[test]
fn the_password_is_the_last_of_its_forms() {
    let dir = Dir::new();
    let password = |cnf: &str| {
        let got = dir.read("my.cnf", cnf).expect("reads");
        let found = got.password().map_err(|e| e.to_string())?;
        found
            .map(|p| got.password_text(p).map_err(|e| e.to_string()))
            .transpose()
    };
    assert_eq!(password("[client]\nuser=x\n"), Ok(None));
    let two = "[client]\npassword=one-long-value\n[client-mariadb]\npassword = 'two long'\n";
    assert_eq!(password(two), Ok(Some("two long".into())));
    assert_eq!(
        password("[client]\npassword=x-long-value\nskip-password\n"),
        Ok(Some(String::new()))
    );
    assert_eq!(
        password("[client]\nLOOSE_PASSWORD=upper-loose\n"),
        Ok(Some("upper-loose".into()))
    );
    let prompt = password("[client]\npassword=x-long-value\npassword\n").expect_err("prompt");
    assert!(prompt.ends_with(":3: `password` has no value: the mariadb client would ask for it at a prompt, which flightdeck cannot; give it a value"), "{prompt}");
    let abbr = password("[client]\npassw=s3cret-value\n").expect_err("abbreviated");
    assert!(
        abbr.contains(":2: `passw` abbreviates `password`"),
        "{abbr}"
    );
    let cut = password("[client]\npassword=s3cret-caf\u{e0}\n").expect_err("not utf-8");
    assert!(cut.contains(":2: the password is not UTF-8"), "{cut}");
    for e in [prompt, abbr, cut] {
        assert!(!e.contains("s3cret") && !e.contains("x-long"), "{e}");
    }
    assert_eq!(
        password("[client]\npassword=\"caf\u{e0}\"\n"),
        Ok(Some("caf\u{e0}".into()))
    );
}

#[test]
fn includes_follow_the_client_rules() {
    let dir = Dir::new();
    dir.write("home/h.cnf", "[client]\nhost=from-home\n");
    dir.write(
        "conf/inc.cnf",
        "[mysqld]\nuser=server\n[client]\nuser=included\n",
    );
    dir.write(
        "conf/broken.cnf",
        "[client]\nport=1\n\nport=2\n[client\nport=3\n",
    );
    let top = "[client]\nuser=top\n!include conf/inc.cnf\nport=9\n!include ~/h.cnf\n\
               !include conf/missing.cnf\n!include conf/broken.cnf\n!unknown directive\n";
    let got = dir.read("my.cnf", top).expect("reads");
    // After the include the top file's group goes on: `port=9` is [client]'s.
    let said: Vec<String> = got
        .options()
        .iter()
        .map(|o| format!("{}={}", String::from_utf8_lossy(o.name()), o.line()))
        .collect();
    assert_eq!(
        said,
        ["user=2", "user=4", "port=4", "host=2", "port=2", "port=4"]
    );
    let notes = got.notes().join("\n");
    assert!(
        notes.contains("conf/missing.cnf is skipped, as by the client: No such file"),
        "{notes}"
    );
    assert!(
        notes.contains(
            "conf/broken.cnf:5: a group name without `]`; the rest of this file is skipped"
        ),
        "{notes}"
    );
    assert_eq!(got.files().len(), 4);
}

#[test]
fn an_include_loop_is_read_eleven_times_as_by_the_client() {
    let dir = Dir::new();
    let got = dir
        .read("loop.cnf", "[client]\nuser=loop\n!include loop.cnf\n")
        .expect("reads");
    assert_eq!(got.options().len(), 1 + MAX_DEPTH as usize);
    assert!(
        got.notes()
            .iter()
            .any(|n| n.contains("more than 10 includes deep"))
    );
}

#[test]
fn an_includedir_explosion_stops_at_the_file_limit() {
    let dir = Dir::new();
    for name in ["d/a.cnf", "d/b.cnf", "d/c.cnf", "d/e.cnf"] {
        dir.write(name, "[client]\n!includedir d\n");
    }
    let e = dir
        .read("top.cnf", "[client]\n!includedir d\n")
        .expect_err("4^10 files");
    assert!(e.to_string().contains("more than 4096 files"), "{e}");
}

#[test]
fn includedir_reads_cnf_files_in_byte_order_and_skips_world_writable_ones() {
    let dir = Dir::new();
    for name in [
        "b.cnf", "B.cnf", "a.b.cnf", ".h.cnf", "x.ini", "y.CNF", "z.cnf~",
    ] {
        dir.write(&format!("d/{name}"), &format!("[client]\nuser={name}\n"));
    }
    let ww = dir.write("d/w.cnf", "[client]\nuser=w.cnf\n");
    std::fs::set_permissions(&ww, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    std::fs::create_dir(dir.0.path().join("d/sub.cnf")).expect("mkdir");
    let got = dir
        .read("my.cnf", "[client]\n!includedir d\n")
        .expect("reads");
    let users: Vec<String> = got
        .options()
        .iter()
        .map(|o| String::from_utf8_lossy(o.value().unwrap_or_default()).into_owned())
        .collect();
    assert_eq!(users, [".h.cnf", "B.cnf", "a.b.cnf", "b.cnf"]);
    let notes = got.notes().join("\n");
    assert!(
        notes.contains("w.cnf is skipped, as by the client: anyone may write to it"),
        "{notes}"
    );
}

#[test]
fn faults_in_the_top_file_are_fatal_and_never_quote_the_line() {
    let dir = Dir::new();
    for (cnf, said) in [
        (
            "password=s3cret\n[client]\n",
            ":1: an option before any [group]",
        ),
        (
            "[client]\npassword=s3cret\n[client\n",
            ":3: a group name without `]`",
        ),
        ("[client]\n!include\n", ":2: `!include` names nothing"),
        ("[client]\n!include x", ":2: `!include` names nothing"),
        (
            "[client]\n!includedir nowhere\n",
            ":2: cannot list `!includedir` ",
        ),
    ] {
        let e = dir.read("my.cnf", cnf).expect_err(cnf).to_string();
        assert!(
            e.contains(said) && e.contains("refuses this file too"),
            "{e}"
        );
        assert!(!e.contains("s3cret"), "{e}");
    }
}

#[test]
fn debug_does_not_show_values() {
    let dir = Dir::new();
    let got = dir
        .read("my.cnf", "[client]\npassword=s3cret\n")
        .expect("reads");
    let shown = format!("{got:?}");
    assert!(
        !shown.contains("s3cret") && shown.contains("****"),
        "{shown}"
    );
}
