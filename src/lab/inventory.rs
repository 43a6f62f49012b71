//! `DIR/inventory.toml`: the lab described in flightdeck's inventory format
//! (README.md, "Inventory"), so any runbook can run against it; beside it
//! `DIR/inventory.schema.json`, which its `#:schema` line names for editors.

use std::path::{Path, PathBuf};

use super::error::{Result, io};
use super::secrets;
use super::state::LabState;

/// A TOML basic string with escapes.
fn q(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn qp(p: &Path) -> String {
    q(&p.to_string_lossy())
}

/// The inventory text. `vars.flightdeck` is the program runbooks call for lab steps
/// (`{{ vars.flightdeck }} lab ctl …`); omitted when unknown. The inventory format has no field
/// for a SQL listener, so the router's port is `vars.router_port` (with a comment).
pub fn render(state: &LabState) -> String {
    let dir = &state.dir;
    let mut out = format!(
        "#:schema {SCHEMA_FILE}\n\
         # Written by `flightdeck lab up` for the lab in {dir}.\n\
         [inventory]\n\
         name = {name}\n\
         \n\
         # The pollers' user: monitoring grants only (no SUPER, READ_ONLY ADMIN or\n\
         # CONNECTION ADMIN), so a switchover has nothing of flightdeck's to kick out.\n\
         [mysql]\n\
         user = \"flightdeck_watch\"\n\
         password = {{ file = {watch_pw} }}\n\
         {mysql_tls}\
         \n\
         # What `sql` steps connect as, one connection per step.\n\
         [mysql.operator]\n\
         user = \"flightdeck\"\n\
         password = {{ file = {fd_pw} }}\n\
         \n\
         # The MaxScale-compatible endpoint also serves a SQL router on 127.0.0.1:{router_port}\n\
         # (like a readwritesplit listener: each connection goes to the current primary).\n\
         [maxscale]\n\
         url = {url}\n\
         user = {user}\n\
         password = {{ file = {mxs_pw} }}\n\
         monitor = {monitor}\n\
         {maxscale_tls}\
         \n\
         # What clients feel during a switchover: a row written and read back through the\n\
         # router every 20 ms while a switchover and the wait after it run.\n\
         [probe]\n\
         router = {{ host = \"127.0.0.1\", port = {router_port} }}\n\
         user = \"flightdeck_probe\"\n\
         password = {{ file = {probe_pw} }}\n\
         \n\
         [secrets]\n\
         repl_password = {{ file = {repl_pw} }}\n\
         \n\
         [vars]\n\
         lab_dir = {lab_dir}\n\
         backup_dir = {backup_dir}\n\
         repl_user = \"repl\"\n\
         router_port = \"{router_port}\"\n",
        dir = dir.display(),
        name = q(&format!("flightdeck lab ({})", dir.display())),
        fd_pw = qp(&state.secret_path(secrets::FLIGHTDECK)),
        watch_pw = qp(&state.secret_path(secrets::FLIGHTDECK_WATCH)),
        probe_pw = qp(&state.secret_path(secrets::FLIGHTDECK_PROBE)),
        mysql_tls = state.tls.as_ref().map_or(String::new(), |t| format!(
            "# Every server's certificate is checked against the lab CA, host name included.\n\
             tls = {{ mode = \"verify_identity\", ca_file = {} }}\n",
            qp(&t.ca)
        )),
        maxscale_tls = state.tls.as_ref().map_or(String::new(), |t| {
            format!("tls = {{ ca_file = {} }}\n", qp(&t.ca))
        }),
        url = q(&state.endpoint.url),
        router_port = state.endpoint.router_port,
        user = q(&state.endpoint.user),
        mxs_pw = qp(&state.secret_path(secrets::MAXSCALE_ADMIN)),
        monitor = q(&state.endpoint.monitor),
        repl_pw = qp(&state.secret_path(secrets::REPL)),
        lab_dir = qp(dir),
        backup_dir = qp(&state.backup_dir),
    );
    if let Some(exe) = &state.flightdeck_exe {
        out.push_str(&format!("flightdeck = {}\n", qp(exe)));
    }
    // The rehearsal's versions: from the build the servers were created on, to the
    // installed one (`lab ctl SERVER upgrade`'s default).
    if let Some(first) = state.servers.first() {
        out.push_str(&format!("from_version = {}\n", q(&first.build.version)));
        let to = state.upgrade_to.as_deref().unwrap_or(&first.build.version);
        out.push_str(&format!("to_version = {}\n", q(to)));
    }
    // The lab keeps pt-heartbeat's table in `app` and writes it on the primary.
    out.push_str("\n[heartbeat]\ndatabase = \"app\"\nupdate = true\n");
    for s in &state.servers {
        out.push_str(&format!(
            "\n[[server]]\n\
             name = {name}\n\
             role = \"{role}\"\n\
             mysql = {{ host = {host}, port = {port} }}\n\
             transport = \"local\"\n\
             maxscale_name = {name}\n\
             config = {config}\n",
            name = q(&s.name),
            config = qp(&s.cnf),
            role = s.initial_role,
            host = q(&s.host),
            port = s.port,
        ));
    }
    out
}

/// The inventory's schema, beside it: the lab's folder may be anywhere, and the schema is
/// the one of the flightdeck that wrote the inventory.
const SCHEMA_FILE: &str = "inventory.schema.json";

fn schema_path(state: &LabState) -> PathBuf {
    state.inventory.with_file_name(SCHEMA_FILE)
}

fn schema_text() -> String {
    crate::schema::to_json(&crate::schema::schema(crate::schema::Format::Inventory))
}

pub fn write(state: &LabState) -> Result<()> {
    std::fs::write(&state.inventory, render(state))
        .map_err(io(format!("writing {}", state.inventory.display())))?;
    let schema = schema_path(state);
    std::fs::write(&schema, schema_text()).map_err(io(format!("writing {}", schema.display())))
}

/// Whether the schema beside the inventory is this flightdeck's.
pub(crate) fn schema_is_current(state: &LabState) -> bool {
    std::fs::read_to_string(schema_path(state)).is_ok_and(|text| text == schema_text())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::config::new_server;
    use crate::lab::state::{EndpointState, Role};
    use crate::lab::versions::Build;
    use std::path::PathBuf;

    fn state() -> LabState {
        let build = Build {
            version: "10.11.19".into(),
            full_version: "10.11.19-MariaDB".into(),
            installed: true,
            basedir: "/usr".into(),
            mariadbd: "/usr/sbin/mariadbd".into(),
            install_db: None,
            upgrade: None,
            lc_messages_dir: None,
            plugin_dir: None,
        };
        let dir = PathBuf::from("/tmp/lab");
        LabState {
            format: 1,
            ready: true,
            created_unix: 0,
            servers: vec![
                new_server(&dir, 1, Role::Primary, 23001, &build).expect("s1"),
                new_server(&dir, 2, Role::Replica, 23002, &build).expect("s2"),
            ],
            endpoint: EndpointState {
                port: 8989,
                url: "http://127.0.0.1:8989".into(),
                router_port: 4006,
                user: "admin".into(),
                monitor: "MariaDB-Monitor".into(),
                pid: None,
                pid_file: dir.join("serve.pid"),
                log: dir.join("serve.log"),
                exe: None,
                stopped: false,
            },
            inventory: dir.join("inventory.toml"),
            secrets_dir: dir.join("secrets"),
            backup_dir: dir.join("backup"),
            flightdeck_exe: Some("/usr/bin/flightdeck".into()),
            upgrade_to: Some("10.11.19".into()),
            stopped_by_down: false,
            tls: None,
            semi_sync: false,
            dir,
        }
    }

    #[test]
    fn inventory_is_valid_toml_with_the_documented_fields() {
        let text = render(&state());
        assert!(
            text.starts_with("#:schema inventory.schema.json\n"),
            "editors find the schema written beside it: {text}"
        );
        let errors = crate::schema::errors(crate::schema::Format::Inventory, &text);
        assert!(errors.is_empty(), "{errors:#?}");
        let doc: toml::Table = text.parse().expect("valid TOML");
        assert_eq!(doc["mysql"]["user"].as_str(), Some("flightdeck_watch"));
        assert_eq!(
            doc["mysql"]["password"]["file"].as_str(),
            Some("/tmp/lab/secrets/flightdeck_watch")
        );
        assert_eq!(
            doc["mysql"]["operator"]["user"].as_str(),
            Some("flightdeck")
        );
        assert_eq!(
            doc["mysql"]["operator"]["password"]["file"].as_str(),
            Some("/tmp/lab/secrets/flightdeck")
        );
        assert_eq!(
            doc["maxscale"]["url"].as_str(),
            Some("http://127.0.0.1:8989")
        );
        assert_eq!(doc["maxscale"]["monitor"].as_str(), Some("MariaDB-Monitor"));
        assert_eq!(
            doc["secrets"]["repl_password"]["file"].as_str(),
            Some("/tmp/lab/secrets/repl")
        );
        assert_eq!(
            doc["vars"]["flightdeck"].as_str(),
            Some("/usr/bin/flightdeck")
        );
        assert_eq!(doc["vars"]["lab_dir"].as_str(), Some("/tmp/lab"));
        assert_eq!(doc["vars"]["router_port"].as_str(), Some("4006"));
        assert!(
            text.contains("SQL router on 127.0.0.1:4006"),
            "the router's port is named in a comment:\n{text}"
        );
        let servers = doc["server"].as_array().expect("servers");
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[1]["name"].as_str(), Some("server2"));
        assert_eq!(servers[1]["role"].as_str(), Some("replica"));
        assert_eq!(servers[1]["mysql"]["port"].as_integer(), Some(23002));
        assert_eq!(servers[1]["transport"].as_str(), Some("local"));
        assert!(doc["mysql"].get("tls").is_none(), "no TLS unless asked for");
    }

    #[test]
    fn a_tls_lab_inventory_verifies_servers_and_the_endpoint_against_the_lab_ca() {
        let mut state = state();
        state.tls = Some(crate::lab::tls::TlsFiles::in_dir(&state.dir));
        state.endpoint.url = "https://127.0.0.1:8989".into();
        let doc: toml::Table = render(&state).parse().expect("valid TOML");
        let errors = crate::schema::errors(crate::schema::Format::Inventory, &render(&state));
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(
            doc["mysql"]["tls"]["mode"].as_str(),
            Some("verify_identity")
        );
        assert_eq!(
            doc["mysql"]["tls"]["ca_file"].as_str(),
            Some("/tmp/lab/tls/ca.pem")
        );
        assert_eq!(
            doc["maxscale"]["tls"]["ca_file"].as_str(),
            Some("/tmp/lab/tls/ca.pem")
        );
        assert_eq!(
            doc["maxscale"]["url"].as_str(),
            Some("https://127.0.0.1:8989")
        );
    }
}
