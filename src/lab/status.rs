//! `lab status`: one row per server, then the endpoint and its SQL router with their pid and
//! ports, then what is down. Exits 1 when any part of the lab is down.

use super::endpoint::EndpointStatus;
use super::handle::{Lab, ServerStatus};

/// Prints the status; true if every part of the lab is up (each server, and the endpoint
/// when the lab has one).
pub async fn print(lab: &Lab) -> bool {
    let (rows, endpoint) = tokio::join!(lab.status(), lab.endpoint_status());
    print_servers(&rows);
    for line in endpoint_lines(&endpoint) {
        println!("{line}");
    }
    if lab.state.semi_sync {
        // What `lab up --semi-sync` put in every my.cnf, so a reader knows commits wait.
        println!("semi-sync  master and slave enabled on every server (timeout 2 s)");
    }
    let mut down: Vec<String> = rows
        .iter()
        .filter(|r| !r.up)
        .map(|r| r.name.clone())
        .collect();
    if endpoint.down() {
        down.push("the endpoint (REST API and SQL router)".into());
    }
    if !down.is_empty() {
        println!("down: {}", down.join(", "));
    }
    down.is_empty()
}

fn print_servers(rows: &[ServerStatus]) {
    let table: Vec<[String; 6]> = rows.iter().map(status_cells).collect();
    let header = ["SERVER", "PORT", "PID", "STATE", "VERSION", "ROLE"].map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&table) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    for row in rows.iter().filter_map(|r| r.error.as_ref().map(|e| (r, e))) {
        println!("{}: {}", row.0.name, row.1);
    }
}

/// The endpoint's and the router's lines.
pub fn endpoint_lines(ep: &EndpointStatus) -> Vec<String> {
    let router = format!("127.0.0.1:{}", ep.router_port);
    let listening = |yes: bool| if yes { "" } else { ", NOT listening" };
    match ep.pid {
        Some(pid) => vec![
            format!(
                "endpoint   {}  {} (pid {pid}, REST API on port {}{})",
                ep.url,
                if ep.rest_listening { "up" } else { "down" },
                ep.port,
                listening(ep.rest_listening)
            ),
            format!(
                "router     {router}  {} (pid {pid}{}; SQL to the current primary, like a \
                 readwritesplit listener)",
                if ep.router_listening { "up" } else { "down" },
                listening(ep.router_listening)
            ),
        ],
        None if ep.stopped => vec![
            format!(
                "endpoint   {}  down (stopped with `lab ctl endpoint stop`; \
                 `flightdeck lab ctl endpoint start` starts it)",
                ep.url
            ),
            format!("router     {router}  down (it runs in the endpoint process)"),
        ],
        None if ep.expected => vec![
            format!(
                "endpoint   {}  dead (no process serves it; `flightdeck lab ctl endpoint start` \
                 or `flightdeck lab up --resume` starts it)",
                ep.url
            ),
            format!("router     {router}  dead (it runs in the endpoint process)"),
        ],
        None => vec![
            "endpoint   none started (so no SQL router either; `flightdeck lab ctl endpoint \
             start` starts one)"
                .to_owned(),
        ],
    }
}

fn status_cells(r: &ServerStatus) -> [String; 6] {
    let mut role = r.role.clone();
    if let Some(st) = &r.replication {
        let lag = st
            .seconds_behind
            .map_or("?".to_owned(), |s| format!("{s}s"));
        role.push_str(&format!(
            " (io {}, sql {}, lag {lag})",
            st.io_running, st.sql_running
        ));
        if let Some(e) = st.error() {
            role.push_str(&format!(" error: {e}"));
        }
    }
    if r.read_only == Some(true) {
        role.push_str(" read-only");
    }
    [
        r.name.clone(),
        r.port.to_string(),
        r.pid.map_or("-".into(), |p| p.to_string()),
        if r.up { "up" } else { "down" }.into(),
        r.version.clone().unwrap_or_else(|| "-".into()),
        role,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(pid: Option<u32>, expected: bool, stopped: bool) -> EndpointStatus {
        EndpointStatus {
            url: "http://127.0.0.1:8989".into(),
            port: 8989,
            router_port: 4006,
            pid,
            rest_listening: pid.is_some(),
            router_listening: pid.is_some(),
            expected,
            stopped,
        }
    }

    #[test]
    fn the_endpoint_and_router_lines_give_pid_ports_and_state() {
        let up = endpoint(Some(42), true, false);
        assert!(!up.down());
        assert_eq!(
            endpoint_lines(&up),
            [
                "endpoint   http://127.0.0.1:8989  up (pid 42, REST API on port 8989)",
                "router     127.0.0.1:4006  up (pid 42; SQL to the current primary, like a \
                 readwritesplit listener)",
            ]
        );
        let mut deaf = up.clone();
        deaf.router_listening = false;
        assert!(deaf.down());
        assert!(
            endpoint_lines(&deaf)[1]
                .starts_with("router     127.0.0.1:4006  down (pid 42, NOT listening")
        );
        let stopped = endpoint(None, true, true);
        assert!(stopped.down());
        assert!(endpoint_lines(&stopped)[0].contains("  down (stopped with"));
        let dead = endpoint(None, true, false);
        assert!(dead.down());
        assert!(endpoint_lines(&dead)[0].contains("  dead ("));
        let none = endpoint(None, false, false);
        assert!(
            !none.down(),
            "a lab built without an endpoint lacks nothing"
        );
        assert_eq!(endpoint_lines(&none).len(), 1);
    }
}
