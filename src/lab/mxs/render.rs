//! The cluster view as MaxScale documents, built from the client's own structs so
//! the lab answers with the same field names, types and nesting.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::lab::router::RouterStats;
use crate::maxscale::{
    MaxscaleMonitor, MaxscaleServer, MonitorAttributes, MonitorDiagnostics, MonitorServerInfo,
    Relationship, Relationships, ResourceRef, ServerAttributes, ServerParameters, ServerStatistics,
    SlaveConnection,
};

use super::ServeConfig;
use super::state::{ClusterView, ServerView};

pub(super) const SERVICE: &str = "RW-Split-Router";

/// What rendering needs besides the view.
pub(super) struct Ctx<'a> {
    pub cfg: &'a ServeConfig,
    /// `http://127.0.0.1:8989`
    pub base: &'a str,
    pub stats: &'a RouterStats,
}

impl Ctx<'_> {
    pub fn link(&self, path: &str) -> String {
        format!("{}/v1/{path}/", self.base)
    }

    fn relationship(&self, owner: &str, kind: &str, ids: &[&str]) -> Relationship {
        Relationship {
            data: ids
                .iter()
                .map(|id| ResourceRef {
                    id: (*id).to_owned(),
                    kind: kind.to_owned(),
                })
                .collect(),
            links: BTreeMap::from([
                ("related".to_owned(), self.link(kind)),
                (
                    "self".to_owned(),
                    self.link(&format!("{owner}/relationships/{kind}")),
                ),
            ]),
        }
    }
}

fn slave_connections(view: &ClusterView, s: &ServerView) -> Vec<SlaveConnection> {
    let Some(probe) = &s.probe else {
        return Vec::new();
    };
    probe
        .slaves
        .iter()
        .enumerate()
        .map(|(i, r)| SlaveConnection {
            connection_name: r.connection_name.clone(),
            gtid_io_pos: r.gtid_io_pos.clone(),
            last_io_error: r.last_io_error.clone(),
            last_sql_error: r.last_sql_error.clone(),
            master_host: r.master_host.clone(),
            master_port: Some(r.master_port),
            master_server_id: Some(r.master_server_id),
            master_server_name: s
                .link_targets
                .get(i)
                .cloned()
                .flatten()
                .filter(|n| view.server(n).is_some()),
            seconds_behind_master: r.seconds_behind_master,
            slave_io_running: r.slave_io_running.clone(),
            slave_sql_running: r.slave_sql_running.clone(),
            using_gtid: r.using_gtid.clone(),
        })
        .collect()
}

fn parameters(s: &ServerView) -> ServerParameters {
    let other = json!({
        "disk_space_threshold": null, "extra_port": 0, "max_routing_connections": 0,
        "monitorpw": null, "monitoruser": null, "persistmaxtime": "0ms", "persistpoolmax": 0,
        "priority": 0, "private_address": null, "proxy_protocol": false, "rank": "primary",
        "replication_custom_options": null, "ssl": false, "ssl_ca": null, "ssl_cert": null,
        "ssl_cert_verify_depth": 9, "ssl_cipher": null, "ssl_key": null,
        "ssl_verify_peer_certificate": false, "ssl_verify_peer_host": false, "ssl_version": "MAX"
    });
    ServerParameters {
        address: Some(s.host.clone()),
        port: Some(s.port),
        socket: None,
        other: serde_json::from_value(other).unwrap_or_default(),
    }
}

fn statistics(ctx: &Ctx<'_>, s: &ServerView) -> ServerStatistics {
    let (current, total) = ctx.stats.counts(&s.name);
    let other = json!({
        "adaptive_avg_select_time": "0ns", "connection_pool_empty": 0, "failed_auths": 0,
        "max_connections": total.min(1).max(current), "max_pool_size": 0, "persistent_connections": 0,
        "reused_connections": 0, "routed_packets": 0
    });
    ServerStatistics {
        connections: Some(current as i64),
        total_connections: Some(total as i64),
        active_operations: Some(0),
        other: serde_json::from_value(other).unwrap_or_default(),
    }
}

pub(super) fn server(ctx: &Ctx<'_>, view: &ClusterView, s: &ServerView) -> MaxscaleServer {
    let probe = s.probe.as_ref();
    let owner = format!("servers/{}", s.name);
    let relationships: Relationships = BTreeMap::from([
        (
            "monitors".to_owned(),
            ctx.relationship(&owner, "monitors", &[ctx.cfg.monitor_name.as_str()]),
        ),
        (
            "services".to_owned(),
            ctx.relationship(&owner, "services", &[SERVICE]),
        ),
    ]);
    MaxscaleServer {
        id: s.name.clone(),
        kind: "servers".to_owned(),
        attributes: ServerAttributes {
            gtid_binlog_pos: probe.map(|p| p.gtid_binlog_pos.clone()),
            gtid_current_pos: probe.map(|p| p.gtid_current_pos.clone()),
            last_event: s.last_event.clone(),
            lock_held: Value::Null,
            master_group: Value::Null,
            master_id: Some(s.master_id()),
            name: Some(s.name.clone()),
            node_id: probe.map(|p| p.server_id),
            parameters: parameters(s),
            read_only: probe.map(|p| p.read_only),
            replication_lag: Some(s.replication_lag),
            replication_depth: None,
            server_id: probe.map(|p| p.server_id),
            slave_connections: slave_connections(view, s),
            source: json!({"file": "flightdeck lab", "type": "static"}),
            state: s.state(),
            statistics: statistics(ctx, s),
            triggered_at: s.triggered_at.clone(),
            uptime: probe.map(|p| p.uptime),
            version_string: probe.map(|p| p.version.clone()),
        },
        relationships,
        links: BTreeMap::from([("self".to_owned(), ctx.link(&owner))]),
    }
}

pub(super) fn monitor(ctx: &Ctx<'_>, view: &ClusterView) -> MaxscaleMonitor {
    let cfg = ctx.cfg;
    let owner = format!("monitors/{}", cfg.monitor_name);
    let server_ids: Vec<&str> = view.servers.iter().map(|s| s.name.as_str()).collect();
    let server_info = view
        .servers
        .iter()
        .map(|s| MonitorServerInfo {
            gtid_binlog_pos: s.probe.as_ref().map(|p| p.gtid_binlog_pos.clone()),
            gtid_current_pos: s.probe.as_ref().map(|p| p.gtid_current_pos.clone()),
            lock_held: Value::Null,
            master_group: Value::Null,
            name: s.name.clone(),
            read_only: s.probe.as_ref().map(|p| p.read_only),
            server_id: s.probe.as_ref().map(|p| p.server_id),
            slave_connections: slave_connections(view, s),
            state_details: None,
        })
        .collect();
    let parameters = json!({
        "auto_failover": false, "auto_rejoin": false, "enforce_read_only_slaves": false,
        "module": "mariadbmon", "type": "monitor",
        "monitor_interval": format!("{}ms", cfg.monitor_interval.as_millis()),
        "switchover_timeout": format!("{}ms", cfg.switchover_timeout.as_millis()),
        "user": cfg.monitor_user, "password": "*****",
        "replication_user": cfg.replication_user(), "replication_password": "*****",
    });
    MaxscaleMonitor {
        id: cfg.monitor_name.clone(),
        kind: "monitors".to_owned(),
        attributes: MonitorAttributes {
            module: Some("mariadbmon".to_owned()),
            monitor_diagnostics: Some(MonitorDiagnostics {
                master: view.master.clone(),
                master_gtid_domain_id: Some(
                    view.primary()
                        .and_then(|p| p.probe.as_ref())
                        .map_or(-1, |p| p.gtid_domain_id),
                ),
                primary: None,
                server_info,
                state: Some("Idle".to_owned()),
            }),
            parameters: serde_json::from_value(parameters).unwrap_or_default(),
            source: json!({"file": "flightdeck lab", "type": "static"}),
            state: Some("Running".to_owned()),
            ticks: Some(view.ticks as i64),
        },
        relationships: BTreeMap::from([
            (
                "servers".to_owned(),
                ctx.relationship(&owner, "servers", &server_ids),
            ),
            (
                "services".to_owned(),
                ctx.relationship(&owner, "services", &[SERVICE]),
            ),
        ]),
        links: BTreeMap::from([("self".to_owned(), ctx.link(&owner))]),
    }
}
