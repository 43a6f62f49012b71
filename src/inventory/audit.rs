//! Credentials worth a warning before a change window: a value that is empty, a
//! well-known default or short (flightdeck does not mask it in free output, see
//! `session::mask`), and a secret file or option file others can read, or an option file
//! others can write (refused when the value is needed). `check --inventory` prints these;
//! the cockpit shows them as notices.

use super::credentials::{self, CredentialError};
use super::model::{Inventory, SecretSource};

/// One credential and what is wrong with it. Never holds the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialWarning {
    /// What uses it: `secret.repl_password`, `the MySQL password of db1, db2`.
    pub who: String,
    pub source: SecretSource,
    pub problem: String,
}

impl std::fmt::Display for CredentialWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}) {}", self.who, self.source, self.problem)
    }
}

/// What to tell the operator about a weak credential, after what is wrong with it.
const WEAK_CONSEQUENCE: &str = "it is not masked in output (masking a common word would \
     corrupt the record and point at it), only where a template inserts it; use a long \
     random password";

/// The warnings for the runbook's `secrets` and the inventory's MySQL and MaxScale
/// passwords, each source once. A value that cannot be read for another reason (an unset
/// environment variable, a missing file) is not warned about here: running says so.
pub fn audit<'a>(
    inv: &Inventory,
    secrets: impl IntoIterator<Item = &'a str>,
) -> Vec<CredentialWarning> {
    let mut uses: Vec<(String, SecretSource)> = Vec::new();
    for name in secrets {
        uses.push((format!("secret.{name}"), inv.secret_source(name)));
    }
    let mut servers: Vec<(&str, SecretSource, Vec<&str>)> = Vec::new();
    for s in &inv.servers {
        let operator = s.mysql.operator.as_ref().and_then(|o| o.password.as_ref());
        let passwords = [("MySQL", s.mysql.password.as_ref()), ("operator", operator)];
        for (kind, src) in passwords {
            let Some(src) = src else { continue };
            match servers.iter_mut().find(|(_, known, _)| known == src) {
                Some((_, _, names)) => names.push(&s.name),
                None => servers.push((kind, src.clone(), vec![&s.name])),
            }
        }
    }
    for (kind, src, names) in servers {
        uses.push((format!("the {kind} password of {}", names.join(", ")), src));
    }
    if let Some(m) = &inv.maxscale
        && let Some(src) = &m.password
    {
        uses.push((format!("the MaxScale password of {}", m.user), src.clone()));
    }
    if let Some(p) = &inv.probe
        && let Some(src) = &p.password
    {
        uses.push((format!("the probe's password of {}", p.user), src.clone()));
    }
    let mut seen: Vec<SecretSource> = Vec::new();
    let mut out = Vec::new();
    for (who, source) in uses {
        if seen.contains(&source) {
            continue;
        }
        seen.push(source.clone());
        let problem = match credentials::resolve(&source, inv.base_dir()) {
            Ok(value) => match credentials::weakness(value.expose()) {
                Some(weak) => format!("{weak}: {WEAK_CONSEQUENCE}"),
                None => continue,
            },
            Err(e @ (CredentialError::Exposed { .. } | CredentialError::Writable { .. })) => {
                format!("is refused: {e}")
            }
            Err(_) => continue,
        };
        out.push(CredentialWarning {
            who,
            source,
            problem,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn write(dir: &std::path::Path, name: &str, value: &str, mode: u32) {
        let path = dir.join(name);
        std::fs::write(&path, value).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn weak_defaults_and_exposed_files_are_warned_once_per_source() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "fd", "root", 0o600);
        write(dir.path(), "mxs", "mariadb", 0o600);
        write(dir.path(), "repl", "a-long-random-one", 0o644);
        write(dir.path(), "strong", "a-long-random-one", 0o600);
        let text = r#"
            [mysql]
            password = { file = "fd" }
            [maxscale]
            url = "http://127.0.0.1:8989"
            password = { file = "mxs" }
            [secrets]
            repl = { file = "repl" }
            strong = { file = "strong" }
            [[server]]
            name = "db1"
            role = "primary"
            mysql = { host = "127.0.0.1", port = 3306 }
            transport = "local"
            [[server]]
            name = "db2"
            role = "replica"
            mysql = { host = "127.0.0.1", port = 3307 }
            transport = "local"
        "#;
        let inv = crate::inventory::parse(&dir.path().join("inv.toml"), text).expect("valid");
        let said: Vec<String> = audit(&inv, ["repl", "strong", "unset"])
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(said.len(), 3, "{said:#?}");
        assert!(said[0].starts_with("secret.repl (file "), "{said:#?}");
        assert!(said[0].contains("(mode 0644)") && said[0].contains("chmod 600"));
        assert!(said[1].starts_with("the MySQL password of db1, db2 (file "));
        assert!(said[1].contains(") is a well-known default password: it is not masked"));
        assert!(said[2].starts_with("the MaxScale password of admin (file "));
        for s in &said {
            assert!(!s.contains("mariadb") && !s.contains("random-one"), "{s}");
        }
    }
}
