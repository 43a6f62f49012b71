//! The cases of tests/option_files.rs: tricky option files, and what the client reads from
//! them (its last `--password=`, `--user=`, `--host=`). Each expectation was first seen in
//! `my_print_defaults` 10.11's output; the test checks both readers against it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub struct Case {
    pub name: &'static str,
    /// Files under the case's folder, the top one first: path, text (`@DIR@` stands for
    /// the folder), mode.
    files: Vec<(&'static str, Vec<u8>, u32)>,
    /// Folders to create (one named like a `.cnf` file, say).
    dirs: Vec<&'static str>,
    /// Both readers must refuse it (a fault in the top file).
    pub fatal: bool,
    pub password: Option<Vec<u8>>,
    pub user: Option<Vec<u8>>,
    pub host: Option<Vec<u8>>,
}

impl Case {
    /// Writes the files under `dir`; returns the top file's path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        std::fs::create_dir_all(dir.join("home")).expect("mkdir home");
        for d in &self.dirs {
            std::fs::create_dir_all(dir.join(d)).expect("mkdir");
        }
        let here = dir.to_str().expect("utf-8 tempdir");
        for (name, text, mode) in &self.files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            let text = match String::from_utf8(text.clone()) {
                Ok(t) if t.contains("@DIR@") => t.replace("@DIR@", here).into_bytes(),
                _ => text.clone(),
            };
            std::fs::write(&path, text).expect("write");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode)).expect("chmod");
        }
        dir.join(self.files[0].0)
    }

    fn expect(mut self, password: Option<&[u8]>, user: Option<&[u8]>, host: Option<&[u8]>) -> Self {
        self.password = password.map(<[u8]>::to_vec);
        self.user = user.map(<[u8]>::to_vec);
        self.host = host.map(<[u8]>::to_vec);
        self
    }

    fn mode(mut self, name: &str, mode: u32) -> Self {
        let file = self
            .files
            .iter_mut()
            .find(|f| f.0 == name)
            .expect("a file of the case");
        file.2 = mode;
        self
    }

    fn dir(mut self, dir: &'static str) -> Self {
        self.dirs.push(dir);
        self
    }

    fn fatal(mut self) -> Self {
        self.fatal = true;
        self
    }
}

fn case(name: &'static str, files: &[(&'static str, &[u8])]) -> Case {
    Case {
        name,
        files: files.iter().map(|(p, t)| (*p, t.to_vec(), 0o600)).collect(),
        dirs: Vec::new(),
        fatal: false,
        password: None,
        user: None,
        host: None,
    }
}

fn s(v: &str) -> Option<&[u8]> {
    Some(v.as_bytes())
}

pub fn cases() -> Vec<Case> {
    let long_user = format!("[client]\nuser={}\npassword=after-long\n", "x".repeat(5000));
    let x4089 = "x".repeat(4094 - "user=".len());
    vec![
        case(
            "groups, case, file order and the last value",
            &[(
                "my.cnf",
                b"# a comment\n; another\n[client]\nuser=c1\npassword=first-pass\n\
                  [mysqld]\npassword=server-side\nuser=server\n[CLIENT-server]\nhost=h1\n\
                  [ client]\nuser=leading-space-is-another-group\n\
                  [client ] trailing words\nport=3307\n[client-mariadb]\n\
                  password = second-pass\n[mysql]\npassword=mysql-cli-only\n\
                  [mariadb-client]\nuser=mariadb-cli-only\n[client-mariadb-x]\nhost=no\n",
            )],
        )
        .expect(s("second-pass"), s("c1"), s("h1")),
        case(
            "quotes, escapes and comments",
            &[(
                "my.cnf",
                b"[client]\npassword = \"p#ss w0rd\"   # after quotes\nuser = \"o\\'brien\"\n\
                  host=db.example# no space before\ndatabase=\\n\\t\\s\\q\\\\end\\\n\
                  socket = \"/run/my sql.sock\ninit-command=x\"#\"y#z\nssl\n\
                  ssl-verify-server-cert =\ndefault-character-set = 'utf8mb4'\n\
                  prompt = '\\\"'\npager=\"less -S'\nk=a = b\n",
            )],
        )
        .expect(s("p#ss w0rd"), s("o'brien"), s("db.example")),
        case(
            "!include: relative to the current directory, ~/, missing, in another group",
            &[
                (
                    "my.cnf",
                    b"[client]\nuser=top\npassword=top-pass\n!include conf/extra.cnf\n\
                      host=after-include\n!include ~/home.cnf\n!include conf/missing.cnf\n\
                      \t!   include   conf/spaced.cnf   \n!includex conf/extra.cnf\n\
                      !something else\n[mysqld]\n!include @DIR@/conf/server.cnf\n\
                      user=server-user\n",
                ),
                (
                    "conf/extra.cnf",
                    b"[mysqld]\npassword=x\n[client-server]\npassword=extra-pass\n\
                      !include nested.cnf\n",
                ),
                // Relative to the current directory, not to conf/extra.cnf.
                ("nested.cnf", b"[client]\nhost=nested-from-cwd\n"),
                (
                    "conf/nested.cnf",
                    b"[client]\nhost=nested-beside-includer\n",
                ),
                ("home/home.cnf", b"[client-mariadb]\nuser=home-user\n"),
                ("conf/spaced.cnf", b"[client]\nhost=spaced\n"),
                ("conf/server.cnf", b"[client]\npassword=server-cnf-pass\n"),
            ],
        )
        .expect(s("server-cnf-pass"), s("home-user"), s("spaced")),
        case(
            "!includedir: .cnf files only, in byte order",
            &[
                (
                    "my.cnf",
                    b"[client]\npassword=top\n!includedir conf.d\nuser=after-dir\n",
                ),
                ("conf.d/.hidden.cnf", b"[client]\nhost=hidden\n"),
                ("conf.d/10-a.cnf", b"[client]\npassword=ten\n"),
                ("conf.d/9-b.cnf", b"[client]\npassword=nine\n"),
                ("conf.d/Z.cnf", b"[client-server]\nuser=Z\n"),
                ("conf.d/a.b.cnf", b"[client]\nhost=a.b\n"),
                ("conf.d/x.ini", b"[client]\npassword=ini\n"),
                ("conf.d/y.CNF", b"[client]\npassword=upper\n"),
                ("conf.d/z.cnf~", b"[client]\npassword=backup\n"),
            ],
        )
        .dir("conf.d/sub.cnf")
        .expect(s("nine"), s("after-dir"), s("a.b")),
        case(
            "!includedir absolute with a trailing slash, then !include of another extension",
            &[
                ("my.cnf", b"[client-server]\n!includedir   @DIR@/d/   \n"),
                (
                    "d/one.cnf",
                    b"[client]\nuser=one\n!include @DIR@/d/two.inc\n",
                ),
                ("d/two.inc", b"[client]\nuser=two\npassword=from-two\n"),
            ],
        )
        .expect(s("from-two"), s("two"), None),
        case(
            "a file including itself is read 11 times",
            &[(
                "loop.cnf",
                b"[client]\nuser=again\n!include loop.cnf\npassword=after\n",
            )],
        )
        .expect(s("after"), s("again"), None),
        case(
            "two files including each other",
            &[
                ("a.cnf", b"[client]\npassword=a\n!include b.cnf\n"),
                ("b.cnf", b"[client]\npassword=b\n!include a.cnf\nhost=b\n"),
            ],
        )
        .expect(s("a"), None, s("b")),
        case(
            "a fault in an included file skips its rest only",
            &[
                (
                    "my.cnf",
                    b"[client]\npassword=top-pass\n!include conf/nogroup.cnf\n\
                      !include conf/unclosed.cnf\n!include conf/empty-include.cnf\n\
                      !include conf/nodir.cnf\nuser=still-read\n",
                ),
                (
                    "conf/nogroup.cnf",
                    b"host=before-group\n[client]\nhost=never\n",
                ),
                (
                    "conf/unclosed.cnf",
                    b"[client]\nhost=unclosed-first\n[client\nhost=never\n",
                ),
                (
                    "conf/empty-include.cnf",
                    b"[client]\npassword=empty-include-first\n!include\npassword=never\n",
                ),
                (
                    "conf/nodir.cnf",
                    b"[client]\nhost=nodir-first\n!includedir conf/nowhere\nhost=never\n",
                ),
            ],
        )
        .expect(s("empty-include-first"), s("still-read"), s("nodir-first")),
        case(
            "world-writable included files are skipped",
            &[
                (
                    "my.cnf",
                    b"[client]\npassword=top-pass\n!include conf/ww.cnf\n!includedir conf.d\n",
                ),
                ("conf/ww.cnf", b"[client]\npassword=ww-pass\n"),
                ("conf.d/a.cnf", b"[client]\nuser=ww-dir\n"),
                ("conf.d/b.cnf", b"[client]\nuser=b\n"),
            ],
        )
        .mode("conf/ww.cnf", 0o666)
        .mode("conf.d/a.cnf", 0o602)
        .expect(s("top-pass"), s("b"), None),
        case(
            "an !include on a last line without newline loses its last byte",
            &[
                (
                    "my.cnf",
                    b"[client]\npassword=top-pass\n!include conf/a.cnf",
                ),
                ("conf/a.cnf", b"[client]\npassword=full-name\n"),
                ("conf/a.cn", b"[client]\npassword=cut-name\n"),
            ],
        )
        .expect(s("cut-name"), None, None),
        case(
            "bytes: 0xA0 is white space, CRLF, vertical tab and form feed",
            &[(
                "my.cnf",
                b"[client]\r\npassword=s3cret-caf\xc3\xa0\r\nuser=\xa0x\xa0\n\x0bhost=\x0bv\x0c\n\
                  \x0c[client-server]\ndatabase=\xe9t\xe9\n",
            )],
        )
        .expect(Some(b"s3cret-caf\xc3"), s("x"), s("v")),
        case(
            "a line longer than 4094 bytes is read in pieces",
            &[("my.cnf", long_user.as_bytes())],
        )
        .expect(s("after-long"), s(&x4089), None),
        case(
            "a NUL byte ends the line",
            &[("my.cnf", b"[client]\npassword=before\0after\nuser=u\n")],
        )
        .expect(s("before"), s("u"), None),
        case(
            "no password in the client groups",
            &[(
                "my.cnf",
                b"[client]\nuser=u\n[mysql]\npassword=s3cret-for-the-cli\n",
            )],
        )
        .expect(None, s("u"), None),
        case(
            "an option before any group",
            &[("my.cnf", b"password=s3cret-x\n[client]\n")],
        )
        .fatal(),
        case(
            "a group without ]",
            &[("my.cnf", b"[client]\npassword=s3cret-x\n[client\nuser=u\n")],
        )
        .fatal(),
        case(
            "!include with nothing after it",
            &[("my.cnf", b"[client]\n!include   \n")],
        )
        .fatal(),
        case(
            "!include with one byte on a last line without newline",
            &[("my.cnf", b"[client]\npassword=s3cret-x\n!include x")],
        )
        .fatal(),
        case(
            "!includedir of a missing folder",
            &[(
                "my.cnf",
                b"[client]\npassword=s3cret-x\n!includedir nowhere.d\n",
            )],
        )
        .fatal(),
    ]
}
