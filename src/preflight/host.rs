//! What preflight reads on a server's host, over its transport (SSH, or this machine for a
//! lab): the option file the server starts with, as text with its line numbers, and the
//! free space of the file system under its datadir. One short read-only script, sent on
//! stdin; paths are quoted as single shell words.

use std::time::Duration;

use crate::exec::host::{HostPool, HostTransport};
use crate::runbook::template::shell::word;

const DEADLINE: Duration = Duration::from_secs(20);
const CONFIG_MARK: &str = "@@flightdeck-config";
const DF_MARK: &str = "@@flightdeck-df";

/// An option file's text, where it was read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OptionFile {
    pub path: String,
    pub text: String,
}

/// What the host said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostFacts {
    pub config: Option<OptionFile>,
    /// Why the option file could not be read.
    pub config_error: Option<String>,
    /// Free and total KiB of the datadir's file system (`df -Pk`).
    pub disk_free_kib: Option<u64>,
}

/// Reads the option file at `config` (when one is named) and `df` of `datadir`.
pub async fn read(
    pool: &HostPool,
    transport: &HostTransport,
    config: Option<&str>,
    datadir: &str,
) -> Result<HostFacts, String> {
    let mut script = String::new();
    if let Some(c) = config {
        script.push_str(&format!(
            "echo {CONFIG_MARK}; cat -- {} 2>&1 || echo {CONFIG_MARK}-unreadable\n",
            word(c)
        ));
    }
    script.push_str(&format!(
        "echo {DF_MARK}; df -Pk -- {} | tail -n 1\n",
        word(datadir)
    ));
    let (_, out) = pool
        .run_collect(transport, &script, DEADLINE)
        .await
        .map_err(|e| e.to_string())?;
    Ok(parse(&out, config))
}

fn parse(out: &str, config: Option<&str>) -> HostFacts {
    let mut facts = HostFacts::default();
    let (before_df, df) = out.split_once(DF_MARK).unwrap_or((out, ""));
    if let Some(path) = config {
        match before_df.split_once(CONFIG_MARK) {
            Some((_, rest)) if rest.contains(&format!("{CONFIG_MARK}-unreadable")) => {
                facts.config_error = Some(
                    rest.replace(&format!("{CONFIG_MARK}-unreadable"), "")
                        .trim()
                        .to_owned(),
                );
            }
            Some((_, rest)) => {
                facts.config = Some(OptionFile {
                    path: path.to_owned(),
                    text: rest.strip_prefix('\n').unwrap_or(rest).to_owned(),
                });
            }
            None => facts.config_error = Some("nothing read".into()),
        }
    }
    // `Filesystem 1024-blocks Used Available Capacity Mounted-on`
    facts.disk_free_kib = df.split_whitespace().nth(3).and_then(|v| v.parse().ok());
    facts
}

/// A server option set in an option file: its name (dashes as underscores), its value,
/// and the line it is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetOption {
    pub name: String,
    pub value: String,
    pub line: usize,
}

/// The options of the groups the server reads (`[mysqld]`, `[mariadbd]`, `[server]`,
/// `[mariadb]` and their versioned forms), as `my_print_defaults` would see them in this
/// one file (`!include` is not followed).
pub fn server_options(text: &str) -> Vec<SetOption> {
    let mut out = Vec::new();
    let mut in_server = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(group) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let group = group.trim().to_ascii_lowercase();
            in_server = ["mysqld", "mariadbd", "server", "mariadb"]
                .iter()
                .any(|g| group == *g || group.starts_with(&format!("{g}-")));
            continue;
        }
        if !in_server || line.starts_with('!') {
            continue;
        }
        let (name, value) = match line.split_once('=') {
            Some((n, v)) => (n.trim(), v.trim()),
            None => (line, ""),
        };
        let name = name
            .trim_start_matches("loose-")
            .trim_start_matches("loose_")
            .replace('-', "_")
            .to_ascii_lowercase();
        out.push(SetOption {
            name,
            value: value.trim_matches(|c| c == '"' || c == '\'').to_owned(),
            line: i + 1,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_groups_are_read_with_their_lines() {
        let text = "[client]\nport = 3306\n\n[mysqld]\ninnodb-undo-logs = 4\n# a comment\n\
                    innodb_checksum_algorithm=innodb\n[mariadb-10.5]\nloose-innodb-page-cleaners=2\n";
        let set = server_options(text);
        assert_eq!(
            set,
            vec![
                SetOption {
                    name: "innodb_undo_logs".into(),
                    value: "4".into(),
                    line: 5
                },
                SetOption {
                    name: "innodb_checksum_algorithm".into(),
                    value: "innodb".into(),
                    line: 7
                },
                SetOption {
                    name: "innodb_page_cleaners".into(),
                    value: "2".into(),
                    line: 9
                },
            ]
        );
    }

    #[test]
    fn the_script_output_splits_into_the_file_and_the_free_space() {
        let out = "@@flightdeck-config\n[mysqld]\nport=1\n@@flightdeck-df\n/dev/sda1 1000 400 600 40% /\n";
        let facts = parse(out, Some("/etc/my.cnf"));
        assert_eq!(
            facts.config,
            Some(OptionFile {
                path: "/etc/my.cnf".into(),
                text: "[mysqld]\nport=1\n".into()
            })
        );
        assert_eq!(facts.disk_free_kib, Some(600));
        let out = "@@flightdeck-config\ncat: /nope: No such file\n@@flightdeck-config-unreadable\n@@flightdeck-df\n";
        let facts = parse(out, Some("/nope"));
        assert_eq!(facts.config, None);
        assert_eq!(
            facts.config_error.as_deref(),
            Some("cat: /nope: No such file")
        );
    }
}
