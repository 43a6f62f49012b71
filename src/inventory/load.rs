//! Reading an inventory file, with every error at its place.

use std::collections::{BTreeMap, HashSet};

use toml::Spanned;
use toml::de::DeValue;

use super::model::{
    Inventory, MaxscaleEndpoint, MysqlDefaults, MysqlEndpoint, ProbeConfig, Role, Server, Transport,
};
use super::raw::{RawHeader, RawRoles, RawServer};
use crate::diag::{Diagnostics, SourceError, SourceFile, deserialize_at, parse_document};

const TOP_LEVEL: [&str; 9] = [
    "inventory",
    "mysql",
    "maxscale",
    "secrets",
    "vars",
    "heartbeat",
    "probe",
    "roles",
    "server",
];

pub fn load(file: SourceFile) -> Result<Inventory, Diagnostics> {
    let mut root = parse_document(&file)?;
    let mut diags = Diagnostics::default();
    refuse_inline_passwords(&file, root.get_mut(), false, &mut diags);
    let mut inv = Inventory {
        name: None,
        mysql: MysqlDefaults::default(),
        maxscale: None,
        secrets: BTreeMap::new(),
        vars: BTreeMap::new(),
        servers: Vec::new(),
        heartbeat: None,
        probe: None,
        named_replica: None,
        named_candidate: None,
        file: file.clone(),
    };
    let mut raw_servers = Vec::new();
    for (key, value) in root.into_inner() {
        let d = &mut diags;
        match key.get_ref().as_ref() {
            "inventory" => {
                inv.name = deserialize_at::<RawHeader>(&file, value, d).and_then(|h| h.name)
            }
            "mysql" => inv.mysql = deserialize_at(&file, value, d).unwrap_or_default(),
            "maxscale" => {
                let url = value_span(&value, "url");
                inv.maxscale = deserialize_at::<MaxscaleEndpoint>(&file, value, d);
                if let (Some(m), Some(span)) = (&inv.maxscale, url) {
                    check_url(&file, &m.url, span, d);
                }
            }
            "secrets" => inv.secrets = deserialize_at(&file, value, d).unwrap_or_default(),
            "vars" => inv.vars = deserialize_at(&file, value, d).unwrap_or_default(),
            "heartbeat" => inv.heartbeat = deserialize_at(&file, value, d),
            "probe" => {
                let table = value_span(&value, "table");
                inv.probe = deserialize_at::<ProbeConfig>(&file, value, d);
                if let (Some(p), Some(span)) = (&inv.probe, table)
                    && p.table_parts().is_none()
                {
                    d.push(
                        SourceError::new(
                            &file,
                            span,
                            format!("probe table `{}` is not `database.table`", p.table),
                        )
                        .help("two plain identifiers: letters, digits, `_` and `$`"),
                    );
                }
            }
            "roles" => {
                let spanned = |r: Spanned<String>| {
                    let span = r.span();
                    (r.into_inner(), span)
                };
                if let Some(roles) = deserialize_at::<RawRoles>(&file, value, d) {
                    inv.named_replica = roles.replica.map(spanned);
                    inv.named_candidate = roles.candidate.map(spanned);
                }
            }
            "server" => raw_servers = servers(&file, value, d),
            other => d.push(
                SourceError::new(
                    &file,
                    key.span(),
                    format!("unknown top-level table `{other}`"),
                )
                .help(format!("expected one of: {}", TOP_LEVEL.join(", "))),
            ),
        }
    }
    let mut names = HashSet::new();
    for (span, raw) in raw_servers {
        if !names.insert(raw.name.get_ref().clone()) {
            diags.push(SourceError::new(
                &file,
                raw.name.span(),
                format!("duplicate server name `{}`", raw.name.get_ref()),
            ));
        }
        if let Some(server) = convert_server(&file, &inv.mysql, span, raw, &mut diags) {
            inv.servers.push(server);
        }
    }
    let named = [
        ("replica", &inv.named_replica),
        ("candidate", &inv.named_candidate),
    ];
    for (key, (name, span)) in named
        .into_iter()
        .filter_map(|(key, n)| n.as_ref().map(|n| (key, n)))
    {
        check_named_replica(&file, &inv.servers, key, name, span.clone(), &mut diags);
    }
    if inv.servers.is_empty() && diags.is_empty() {
        diags.push(
            SourceError::new(&file, 0..0, "the inventory has no `[[server]]`")
                .help("add one [[server]] table per MariaDB server"),
        );
    }
    if diags.is_empty() {
        Ok(inv)
    } else {
        Err(diags)
    }
}

/// `[roles] replica` (or `candidate`, `key`) names a server of this inventory whose initial
/// role is replica.
fn check_named_replica(
    file: &SourceFile,
    servers: &[Server],
    key: &str,
    name: &str,
    span: std::ops::Range<usize>,
    d: &mut Diagnostics,
) {
    let replicas: Vec<&str> = servers
        .iter()
        .filter(|s| s.role == Role::Replica)
        .map(|s| s.name.as_str())
        .collect();
    let problem = match servers.iter().find(|s| s.name == name) {
        None => format!("[roles] {key} names `{name}`, which is not a server of this inventory"),
        Some(s) if s.role != Role::Replica => {
            format!(
                "[roles] {key} names `{name}`, whose role is {}",
                s.role.as_str()
            )
        }
        Some(_) => return,
    };
    d.push(
        SourceError::new(file, span, problem)
            .help(format!("name one of the replicas: {}", replicas.join(", "))),
    );
}

/// A password written into the inventory (`password = "…"`, or a `[secrets]` entry that is
/// a string) is refused at its place with an excerpt that never shows it, and how to give
/// it instead. The value is swapped for a placeholder in the tree, so that deserializing
/// does not refuse it again in serde's words (which quote the value).
fn refuse_inline_passwords(
    file: &SourceFile,
    table: &mut toml::de::DeTable<'_>,
    secrets: bool,
    d: &mut Diagnostics,
) {
    for (key, value) in table.iter_mut() {
        let name = key.get_ref().as_ref();
        let inline =
            matches!(value.get_ref(), DeValue::String(_)) && (secrets || name == "password");
        if inline {
            let span = value.span();
            d.push(
                SourceError::redacted(
                    file,
                    span.clone(),
                    format!("`{name}` holds a password written inline: refused"),
                )
                .help(
                    "passwords never live in the inventory: use { env = \"VAR\" }, \
                     { file = \"PATH\" } (mode 0600), { mycnf = true } (the client's \
                     ~/.my.cnf) or { mycnf = \"PATH\" } (another option file)",
                ),
            );
            let mut placeholder = toml::de::DeTable::new();
            placeholder.insert(
                Spanned::new(span.clone(), "env".into()),
                Spanned::new(span, DeValue::String("FLIGHTDECK_REFUSED".into())),
            );
            *value.get_mut() = DeValue::Table(placeholder);
            continue;
        }
        let in_secrets = name == "secrets" && !secrets;
        match value.get_mut() {
            DeValue::Table(t) => refuse_inline_passwords(file, t, in_secrets, d),
            DeValue::Array(items) => {
                for item in items.iter_mut() {
                    if let DeValue::Table(t) = item.get_mut() {
                        refuse_inline_passwords(file, t, false, d);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The span of `key`'s value in a table.
fn value_span(table: &Spanned<DeValue<'_>>, key: &str) -> Option<std::ops::Range<usize>> {
    let DeValue::Table(t) = table.get_ref() else {
        return None;
    };
    t.iter()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(_, v)| v.span())
}

/// MaxScale's REST API is reached at an absolute http(s) URL; without a scheme the
/// client fails only when `watch` or `run` first calls it ("relative URL without a base").
fn check_url(file: &SourceFile, url: &str, span: std::ops::Range<usize>, d: &mut Diagnostics) {
    let parsed = reqwest::Url::parse(url);
    let ok = parsed
        .as_ref()
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if !ok {
        d.push(
            SourceError::new(
                file,
                span,
                "MaxScale's `url` needs a scheme and a host".to_string(),
            )
            .help("e.g. url = \"https://maxscale.example:8989\" (or http:// on loopback)"),
        );
    }
}

fn servers(
    file: &SourceFile,
    value: Spanned<DeValue<'_>>,
    diags: &mut Diagnostics,
) -> Vec<(std::ops::Range<usize>, RawServer)> {
    let span = value.span();
    let DeValue::Array(items) = value.into_inner() else {
        diags.push(SourceError::new(
            file,
            span,
            "`server` must be an array of tables: [[server]]",
        ));
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|item| {
            let span = item.span();
            deserialize_at::<RawServer>(file, item, diags).map(|s| (span, s))
        })
        .collect()
}

fn convert_server(
    file: &SourceFile,
    defaults: &MysqlDefaults,
    span: std::ops::Range<usize>,
    raw: RawServer,
    diags: &mut Diagnostics,
) -> Option<Server> {
    let role = match raw.role.get_ref().as_str() {
        "primary" => Role::Primary,
        "replica" => Role::Replica,
        other => {
            diags.push(
                SourceError::new(file, raw.role.span(), format!("unknown role `{other}`"))
                    .help("a server's initial role is primary or replica"),
            );
            return None;
        }
    };
    let transport = match (
        raw.transport.as_ref().map(|t| t.get_ref().as_str()),
        raw.ssh,
    ) {
        (Some("local"), None) => Transport::Local,
        (Some("ssh") | None, Some(ssh)) => Transport::Ssh(ssh),
        // Polled only (watch); check refuses shell steps against it.
        (None, None) => Transport::None,
        (Some("ssh"), None) => {
            diags.push(
                SourceError::new(
                    file,
                    raw.name.span(),
                    format!("server `{}` has no `ssh` table", raw.name.get_ref()),
                )
                .help("add ssh = { host = \"…\" }, or transport = \"local\" for a lab host"),
            );
            return None;
        }
        (Some("local"), Some(_)) => {
            let at = raw.transport.as_ref().map_or(span.clone(), |t| t.span());
            diags.push(SourceError::new(
                file,
                at,
                "a `local` server takes no `ssh` table",
            ));
            return None;
        }
        (Some(other), _) => {
            let at = raw.transport.as_ref().map_or(span.clone(), |t| t.span());
            diags.push(
                SourceError::new(file, at, format!("unknown transport `{other}`"))
                    .help("expected ssh or local"),
            );
            return None;
        }
    };
    let tls = super::tls::resolve(
        file,
        raw.mysql.tls.as_ref(),
        defaults.tls.as_ref(),
        span.clone(),
        diags,
    )?;
    let name = raw.name.into_inner();
    Some(Server {
        maxscale_name: raw.maxscale_name.unwrap_or_else(|| name.clone()),
        config: raw.config,
        mysql: MysqlEndpoint {
            host: raw.mysql.host,
            port: raw.mysql.port,
            user: raw
                .mysql
                .user
                .or_else(|| defaults.user.clone())
                .unwrap_or_else(|| "root".into()),
            password: raw.mysql.password.or_else(|| defaults.password.clone()),
            operator: raw.mysql.operator.or_else(|| defaults.operator.clone()),
            tls,
        },
        name,
        role,
        transport,
        span,
    })
}
