//! Turning a step into a job an executor can run: templates filled in twice, once with
//! secrets for the server and once masked for the screen and the journal, and targets
//! resolved to servers as they are now.

use std::collections::BTreeMap;

use crate::inventory::{Inventory, Secret, Transport};
use crate::maxscale::MaxscaleAction as Call;
use crate::runbook::model::MaxscaleAction;
use crate::runbook::roles::RoleMap;
use crate::runbook::sql_context;
use crate::runbook::template::{Context, Escape, Reveal, ServerField, Template};
use crate::runbook::{Action, Expect, Step};

/// What to run, with the text to send and the text to show. `Debug` shows only the
/// text to show: what is sent may hold revealed secrets.
#[derive(Clone)]
pub enum Job {
    Sql {
        server: String,
        statements: Vec<String>,
        shown: Vec<String>,
        expect: Vec<Expect>,
    },
    Shell {
        server: String,
        transport: Transport,
        script: String,
        shown: String,
        expect_exit: i32,
    },
    Maxscale {
        call: Call,
        shown: String,
    },
    /// `flightdeck preflight --to VERSION` against every server of the inventory.
    Preflight {
        to: String,
    },
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Sql {
                server,
                shown,
                expect,
                ..
            } => f
                .debug_struct("Sql")
                .field("server", server)
                .field("shown", shown)
                .field("expect", expect)
                .finish_non_exhaustive(),
            Job::Shell {
                server,
                transport,
                shown,
                expect_exit,
                ..
            } => f
                .debug_struct("Shell")
                .field("server", server)
                .field("transport", transport)
                .field("shown", shown)
                .field("expect_exit", expect_exit)
                .finish_non_exhaustive(),
            Job::Maxscale { call, shown } => f
                .debug_struct("Maxscale")
                .field("call", call)
                .field("shown", shown)
                .finish(),
            Job::Preflight { to } => f.debug_struct("Preflight").field("to", to).finish(),
        }
    }
}

impl Job {
    /// The masked text of what is sent, for the detail pane and the journal.
    pub fn shown(&self) -> String {
        match self {
            Job::Sql { server, shown, .. } => format!("on {server}:\n{}", shown.join(";\n")),
            Job::Shell { server, shown, .. } => format!("on {server}:\n{shown}"),
            Job::Maxscale { shown, .. } => shown.clone(),
            Job::Preflight { to } => format!(
                "flightdeck preflight --to {to}: every server of the inventory, as the operator"
            ),
        }
    }
}

/// Values for templates: vars, secrets, and server facts under the current roles.
pub struct JobContext<'a> {
    pub vars: &'a BTreeMap<String, String>,
    pub secrets: &'a BTreeMap<String, Secret>,
    pub inventory: &'a Inventory,
    pub roles: &'a RoleMap,
    pub target: Option<String>,
    /// `Secrets` to build what is sent; `Masked` when only showing it (no secret needed).
    pub reveal: Reveal,
}

impl Context for JobContext<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    fn secret(&self, name: &str) -> Option<String> {
        self.secrets.get(name).map(|s| s.expose().to_string())
    }

    fn fact(&self, subject: &str, field: ServerField) -> Option<String> {
        let name = match subject {
            "target" => self.target.clone()?,
            s => self.roles.resolve_one(s).ok()?,
        };
        let server = self.inventory.server(&name)?;
        Some(server.field(field))
    }
}

/// The jobs of a step on its servers (one per server), or none for steps that run
/// inside the state machine (wait, check, manual, note).
pub fn jobs(step: &Step, servers: &[String], ctx: &mut JobContext<'_>) -> Result<Vec<Job>, String> {
    let fill = |t: &Template, esc, reveal, ctx: &JobContext<'_>| {
        t.render(ctx, esc, reveal).map_err(|e| e.to_string())
    };
    let mut out = Vec::new();
    match &step.action {
        Action::Sql { statements, expect } => {
            for server in servers {
                ctx.target = Some(server.clone());
                // Each value written for its place in the statement, the same under any
                // sql_mode (see runbook::sql_context).
                let sql = |t: &Template, reveal, ctx: &JobContext<'_>| {
                    sql_context::render(t, ctx, reveal).map_err(|e| e.to_string())
                };
                let sent = statements
                    .iter()
                    .map(|t| sql(t, ctx.reveal, ctx))
                    .collect::<Result<Vec<_>, _>>()?;
                let shown = statements
                    .iter()
                    .map(|t| sql(t, Reveal::Masked, ctx))
                    .collect::<Result<Vec<_>, _>>()?;
                out.push(Job::Sql {
                    server: server.clone(),
                    statements: sent,
                    shown,
                    expect: expect.clone(),
                });
            }
        }
        Action::Shell {
            command,
            expect_exit,
        } => {
            for server in servers {
                ctx.target = Some(server.clone());
                let inv_server = ctx
                    .inventory
                    .server(server)
                    .ok_or_else(|| format!("{server} is not in the inventory"))?;
                out.push(Job::Shell {
                    server: server.clone(),
                    transport: inv_server.transport.clone(),
                    script: fill(command, Escape::Shell, ctx.reveal, ctx)?,
                    shown: fill(command, Escape::Shell, Reveal::Masked, ctx)?,
                    expect_exit: *expect_exit,
                });
            }
        }
        Action::Maxscale(m) => {
            let call = maxscale_call(m, ctx)?;
            out.push(Job::Maxscale {
                shown: format!("{}\n(maxctrl: {})", call.rest_line(), call.maxctrl()),
                call,
            });
        }
        Action::Preflight { to } => out.push(Job::Preflight {
            to: fill(to, Escape::None, Reveal::Masked, ctx)?,
        }),
        Action::Wait { .. }
        | Action::Check { .. }
        | Action::Manual { .. }
        | Action::Note { .. } => {}
    }
    Ok(out)
}

fn maxscale_call(m: &MaxscaleAction, ctx: &JobContext<'_>) -> Result<Call, String> {
    let monitor = ctx
        .inventory
        .maxscale
        .as_ref()
        .map_or_else(|| "MariaDB-Monitor".into(), |m| m.monitor.clone());
    m.call(&monitor, |subject| {
        let server = ctx.roles.resolve_one(subject).map_err(|e| e.to_string())?;
        ctx.inventory
            .server(&server)
            .map(|s| s.maxscale_name.clone())
            .ok_or_else(|| format!("{server} is not in the inventory"))
    })
}
