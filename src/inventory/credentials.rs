//! Resolving a [`SecretSource`] to its value at run time.
//!
//! Values are wrapped in [`Secret`], whose `Debug` and `Display` never show them, so a
//! stray `{:?}` in a log line cannot leak a password.

use std::path::{Path, PathBuf};

use super::model::SecretSource;

/// A resolved secret value. Shown as `****`; `expose` is the only way to the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(crate::runbook::template::MASK)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} has no `password` in its [client] section", path.display())]
    NoMycnfPassword { path: PathBuf },
}

/// Resolves a source; relative file paths are taken from `base` (the inventory's folder).
pub fn resolve(source: &SecretSource, base: &Path) -> Result<Secret, CredentialError> {
    match source {
        SecretSource::Env(var) => std::env::var(var)
            .map(Secret)
            .map_err(|_| CredentialError::MissingEnv(var.clone())),
        SecretSource::File(path) => {
            let path = expand(path, base);
            let text = read(&path)?;
            Ok(Secret(text.trim_end_matches(['\n', '\r']).to_string()))
        }
        SecretSource::Mycnf(path) => {
            let path = expand(path, base);
            let text = read(&path)?;
            mycnf_client_value(&text, "password")
                .map(Secret)
                .ok_or(CredentialError::NoMycnfPassword { path })
        }
    }
}

fn read(path: &Path) -> Result<String, CredentialError> {
    std::fs::read_to_string(path).map_err(|source| CredentialError::Unreadable {
        path: path.to_path_buf(),
        source,
    })
}

/// `~/` is the operator's home; a relative path is relative to the inventory.
pub fn expand(path: &Path, base: &Path) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    if path.is_relative() {
        base.join(path)
    } else {
        path.to_path_buf()
    }
}

/// A key of the `[client]` section of a MySQL option file, unquoted.
pub fn mycnf_client_value(text: &str, key: &str) -> Option<String> {
    let mut in_client = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_client = section.trim() == "client";
            continue;
        }
        if !in_client {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if k.trim().replace('-', "_") == key {
            let v = v.trim();
            let unquoted = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            return Some(unquoted.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_client_section_only() {
        let cnf = "[mysqld]\npassword=nope\n[client]\nuser = dba\npassword = \"p w\"\n";
        assert_eq!(mycnf_client_value(cnf, "password").as_deref(), Some("p w"));
        assert_eq!(mycnf_client_value(cnf, "user").as_deref(), Some("dba"));
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "**** Secret(****)");
    }
}
