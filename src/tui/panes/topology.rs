//! The replication topology as a tree, for the replication pane: each replication
//! connection hangs under the inventory server its `Master_Host:Master_Port` names, so a
//! replica of a replica (chained replication) sits one level deeper, and each named
//! connection of a multi-source replica sits under its own source.
//!
//! Servers that replicate from no inventory server are the roots (the primary, a server
//! replicating from outside the inventory), in inventory order. A ring (circular
//! replication) has no root: its first server in inventory order is taken as one. Each
//! server's own line (primary, not replicating, failed) is drawn once, where it first
//! appears.

use std::collections::BTreeMap;

use crate::tui::dashboard::Dashboard;

/// One line of the tree, in drawing order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// The server itself (index into `Dashboard::servers`): a root, or a failed server.
    Server { server: usize, depth: usize },
    /// One replication connection (index into the server's `replicas`).
    Connection {
        server: usize,
        connection: usize,
        depth: usize,
    },
}

impl Entry {
    pub fn depth(self) -> usize {
        match self {
            Entry::Server { depth, .. } | Entry::Connection { depth, .. } => depth,
        }
    }
}

/// Host names that are the same machine for matching: a replica may name its source
/// `localhost` where the inventory says `127.0.0.1`.
fn same_host(a: &str, b: &str) -> bool {
    let norm = |h: &str| {
        let h = h.trim().to_ascii_lowercase();
        match h.as_str() {
            "localhost" | "::1" | "127.0.0.1" => "127.0.0.1".to_string(),
            _ => h,
        }
    };
    norm(a) == norm(b)
}

/// The inventory server at `host:port`, if any.
fn source_of(d: &Dashboard, host: &str, port: u16) -> Option<usize> {
    let name = d
        .addresses
        .iter()
        .find(|(_, (h, p))| *p == port && same_host(h, host))
        .map(|(name, _)| name)?;
    d.servers.iter().position(|s| &s.server == name)
}

/// Source server → its replicas' (server, connection), in inventory order.
type Children = BTreeMap<usize, Vec<(usize, usize)>>;

fn children(d: &Dashboard) -> Children {
    let mut children: Children = BTreeMap::new();
    for (i, snap) in d.servers.iter().enumerate() {
        let conns = snap.info.as_ref().map(|i| i.replicas.as_slice());
        for (c, r) in conns.unwrap_or_default().iter().enumerate() {
            if let Some(src) = source_of(d, &r.master_host, r.master_port).filter(|s| *s != i) {
                children.entry(src).or_default().push((i, c));
            }
        }
    }
    children
}

/// Which servers (by index) are the source of another inventory server.
pub fn sources(d: &Dashboard) -> Vec<bool> {
    let children = children(d);
    (0..d.servers.len())
        .map(|i| children.contains_key(&i))
        .collect()
}

/// The tree's lines, in drawing order.
pub fn entries(d: &Dashboard) -> Vec<Entry> {
    let children = children(d);
    let mut has_source = vec![false; d.servers.len()];
    for &(server, _) in children.values().flatten() {
        has_source[server] = true;
    }
    let mut out = Vec::new();
    let mut seen = vec![false; d.servers.len()];
    let roots: Vec<usize> = (0..d.servers.len()).filter(|i| !has_source[*i]).collect();
    // Roots first, then whatever a ring left unvisited.
    for root in roots.into_iter().chain(0..d.servers.len()) {
        if !seen[root] {
            visit(d, &children, root, &mut seen, &mut out);
        }
    }
    out
}

/// A root: its own line, its connections to sources outside the inventory, then the
/// subtree below it.
fn visit(d: &Dashboard, children: &Children, root: usize, seen: &mut [bool], out: &mut Vec<Entry>) {
    seen[root] = true;
    out.push(Entry::Server {
        server: root,
        depth: 0,
    });
    let conns = d.servers[root].info.as_ref().map(|i| i.replicas.as_slice());
    for (c, r) in conns.unwrap_or_default().iter().enumerate() {
        let inside = source_of(d, &r.master_host, r.master_port).is_some_and(|s| s != root);
        if !inside {
            out.push(Entry::Connection {
                server: root,
                connection: c,
                depth: 0,
            });
        }
    }
    below(children, root, 1, seen, out);
}

fn below(
    children: &Children,
    source: usize,
    depth: usize,
    seen: &mut [bool],
    out: &mut Vec<Entry>,
) {
    for &(server, connection) in children.get(&source).into_iter().flatten() {
        out.push(Entry::Connection {
            server,
            connection,
            depth,
        });
        // A multi-source replica's subtree hangs under its first appearance only; a ring
        // stops where it comes back.
        if !seen[server] {
            seen[server] = true;
            below(children, server, depth + 1, seen, out);
        }
    }
}

/// `server3` at depth 0, `└ server3` at 1, `  └ server3` at 2.
pub fn indent(name: &str, depth: usize) -> String {
    if depth == 0 {
        name.to_string()
    } else {
        format!("{}└ {name}", "  ".repeat(depth - 1))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant, SystemTime};

    use super::*;
    use crate::poll::{IoState, ReplicaStatus, ServerInfo, ServerSnapshot};

    fn conn(port: u16) -> ReplicaStatus {
        ReplicaStatus {
            connection_name: String::new(),
            master_host: "localhost".into(),
            master_port: port,
            io: IoState::Yes,
            sql_running: true,
            seconds_behind: Some(0),
            ..Default::default()
        }
    }

    /// Servers `db1`… on ports 3301…, each replicating from the ports given.
    fn dash(sources: &[&[u16]]) -> Dashboard {
        let names: Vec<(String, String)> = (1..=sources.len())
            .map(|k| (format!("db{k}"), format!("db{k}")))
            .collect();
        let mut d = Dashboard::new(&names, Duration::from_millis(250), Duration::from_secs(1));
        for (k, ports) in sources.iter().enumerate() {
            let name = format!("db{}", k + 1);
            d.addresses
                .insert(name.clone(), ("127.0.0.1".into(), 3301 + k as u16));
            d.apply_server(ServerSnapshot {
                server: name,
                taken_at: Instant::now(),
                wall_time: SystemTime::UNIX_EPOCH,
                info: Some(ServerInfo {
                    replicas: ports.iter().map(|p| conn(*p)).collect(),
                    ..ServerInfo::default()
                }),
                error: None,
            });
        }
        d
    }

    fn shape(d: &Dashboard) -> Vec<(usize, Option<usize>, usize)> {
        entries(d)
            .into_iter()
            .map(|e| match e {
                Entry::Server { server, depth } => (server, None, depth),
                Entry::Connection {
                    server,
                    connection,
                    depth,
                } => (server, Some(connection), depth),
            })
            .collect()
    }

    #[test]
    fn a_chain_nests_and_localhost_matches_127_0_0_1() {
        let d = dash(&[&[], &[3301], &[3302]]);
        assert_eq!(shape(&d), [(0, None, 0), (1, Some(0), 1), (2, Some(0), 2)]);
    }

    #[test]
    fn an_outside_source_is_a_root_and_a_ring_still_draws_every_server() {
        // db1 replicates from outside the inventory; db2 from db1.
        let d = dash(&[&[9999], &[3301]]);
        assert_eq!(shape(&d), [(0, None, 0), (0, Some(0), 0), (1, Some(0), 1)]);
        // db1 ↔ db2: no root; db1 is taken as one, each connection is drawn once.
        let d = dash(&[&[3302], &[3301]]);
        assert_eq!(shape(&d), [(0, None, 0), (1, Some(0), 1), (0, Some(0), 2)]);
    }
}
