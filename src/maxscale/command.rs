//! What flightdeck asks MaxScale to do, as data: the REST request it becomes, the
//! `maxctrl` line an operator would type, and how module command results read.

use std::fmt;

use super::types::{Meta, ResponseBody};

/// The admin states `set`/`clear` accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdminState {
    Maintenance,
    Drain,
}

impl AdminState {
    pub fn as_str(self) -> &'static str {
        match self {
            AdminState::Maintenance => "maintenance",
            AdminState::Drain => "drain",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "maintenance" => Some(AdminState::Maintenance),
            "drain" => Some(AdminState::Drain),
            _ => None,
        }
    }
}

impl fmt::Display for AdminState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One MaxScale call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaxscaleAction {
    ListServers,
    ShowServer {
        server: String,
    },
    ListMonitors,
    ShowMonitor {
        monitor: String,
    },
    SetState {
        server: String,
        state: AdminState,
        force: bool,
    },
    ClearState {
        server: String,
        state: AdminState,
    },
    /// `old: None` lets the monitor pick the current primary.
    Switchover {
        monitor: String,
        new: String,
        old: Option<String>,
    },
    AsyncSwitchover {
        monitor: String,
        new: String,
        old: Option<String>,
    },
    FetchCmdResult {
        monitor: String,
    },
}

/// The parts of an HTTP request, before the base URL is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestParts {
    pub method: &'static str,
    /// Path segments after `/v1/`, unencoded.
    pub segments: Vec<String>,
    /// Query items, unencoded: `("state", Some("maintenance"))` or a bare `("MariaDB-Monitor", None)`.
    pub query: Vec<(String, Option<String>)>,
}

impl RequestParts {
    /// `/v1/servers/server2/set?state=maintenance`, percent-encoded.
    pub fn path_and_query(&self) -> String {
        let mut out = String::from("/v1");
        for s in &self.segments {
            out.push('/');
            out.push_str(&percent_encode(s));
        }
        let query: Vec<String> = self
            .query
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{}={}", percent_encode(k), percent_encode(v)),
                None => percent_encode(k),
            })
            .collect();
        if !query.is_empty() {
            out.push('?');
            out.push_str(&query.join("&"));
        }
        out
    }
}

fn seg(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| (*s).to_owned()).collect()
}

fn module_args(monitor: &str, new: &str, old: Option<&str>) -> Vec<(String, Option<String>)> {
    let mut q = vec![(monitor.to_owned(), None), (new.to_owned(), None)];
    if let Some(old) = old {
        q.push((old.to_owned(), None));
    }
    q
}

impl MaxscaleAction {
    pub fn request(&self) -> RequestParts {
        let (method, segments, query) = match self {
            MaxscaleAction::ListServers => ("GET", seg(&["servers"]), vec![]),
            MaxscaleAction::ShowServer { server } => ("GET", seg(&["servers", server]), vec![]),
            MaxscaleAction::ListMonitors => ("GET", seg(&["monitors"]), vec![]),
            MaxscaleAction::ShowMonitor { monitor } => ("GET", seg(&["monitors", monitor]), vec![]),
            MaxscaleAction::SetState {
                server,
                state,
                force,
            } => {
                let mut q = vec![("state".to_owned(), Some(state.as_str().to_owned()))];
                if *force {
                    q.push(("force".to_owned(), Some("yes".to_owned())));
                }
                ("PUT", seg(&["servers", server, "set"]), q)
            }
            MaxscaleAction::ClearState { server, state } => (
                "PUT",
                seg(&["servers", server, "clear"]),
                vec![("state".to_owned(), Some(state.as_str().to_owned()))],
            ),
            MaxscaleAction::Switchover { monitor, new, old } => (
                "POST",
                seg(&["maxscale", "modules", "mariadbmon", "switchover"]),
                module_args(monitor, new, old.as_deref()),
            ),
            MaxscaleAction::AsyncSwitchover { monitor, new, old } => (
                "POST",
                seg(&["maxscale", "modules", "mariadbmon", "async-switchover"]),
                module_args(monitor, new, old.as_deref()),
            ),
            MaxscaleAction::FetchCmdResult { monitor } => (
                "GET",
                seg(&["maxscale", "modules", "mariadbmon", "fetch-cmd-result"]),
                vec![(monitor.clone(), None)],
            ),
        };
        RequestParts {
            method,
            segments,
            query,
        }
    }

    /// The exact REST request line, e.g. `PUT /v1/servers/server2/set?state=maintenance`.
    pub fn rest_line(&self) -> String {
        let r = self.request();
        format!("{} {}", r.method, r.path_and_query())
    }

    /// What an operator would type, e.g. `maxctrl set server server2 maintenance`.
    pub fn maxctrl(&self) -> String {
        match self {
            MaxscaleAction::ListServers => "maxctrl list servers".to_owned(),
            MaxscaleAction::ShowServer { server } => format!("maxctrl show server {server}"),
            MaxscaleAction::ListMonitors => "maxctrl list monitors".to_owned(),
            MaxscaleAction::ShowMonitor { monitor } => format!("maxctrl show monitor {monitor}"),
            MaxscaleAction::SetState {
                server,
                state,
                force,
            } => {
                let force = if *force { " --force" } else { "" };
                format!("maxctrl set server {server} {state}{force}")
            }
            MaxscaleAction::ClearState { server, state } => {
                format!("maxctrl clear server {server} {state}")
            }
            MaxscaleAction::Switchover { monitor, new, old } => {
                module_line("switchover", monitor, new, old.as_deref())
            }
            MaxscaleAction::AsyncSwitchover { monitor, new, old } => {
                module_line("async-switchover", monitor, new, old.as_deref())
            }
            MaxscaleAction::FetchCmdResult { monitor } => {
                format!("maxctrl call command mariadbmon fetch-cmd-result {monitor}")
            }
        }
    }
}

fn module_line(cmd: &str, monitor: &str, new: &str, old: Option<&str>) -> String {
    let mut line = format!("maxctrl call command mariadbmon {cmd} {monitor} {new}");
    if let Some(old) = old {
        line.push(' ');
        line.push_str(old);
    }
    line
}

/// Percent-encode everything but RFC 3986 unreserved characters.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What `fetch-cmd-result` says about the last manual command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandResult {
    /// Scheduled or still running; the detail verbatim (`... switchover is still running.`).
    Running(String),
    /// Finished: `switchover completed successfully.`
    Done(String),
    /// Finished with errors: every `detail` verbatim (`... Switchover cancelled.`).
    Failed(Vec<String>),
    /// No manual command has run since MaxScale started.
    NoResult(String),
}

const NO_RESULTS: &str = "No manual command results are available";

impl CommandResult {
    /// Read a `fetch-cmd-result` body (200 in every case).
    pub fn from_body(body: &ResponseBody) -> CommandResult {
        match &body.meta {
            Some(Meta::Message(m)) if m.ends_with(" failed.") => {
                CommandResult::Failed(vec![m.clone()])
            }
            Some(Meta::Message(m)) => CommandResult::Done(m.clone()),
            Some(Meta::Errors { errors }) => {
                let details: Vec<String> = errors.iter().map(|e| e.detail.clone()).collect();
                match details.as_slice() {
                    [one]
                        if one.starts_with(NO_RESULTS)
                            && (one.ends_with("is still running.")
                                || one.ends_with("is still pending.")) =>
                    {
                        CommandResult::Running(one.clone())
                    }
                    [one] if one.starts_with(NO_RESULTS) => CommandResult::NoResult(one.clone()),
                    _ => CommandResult::Failed(details),
                }
            }
            Some(Meta::Other(v)) => CommandResult::Done(v.to_string()),
            None if !body.errors.is_empty() => CommandResult::Failed(body.messages()),
            None => CommandResult::NoResult(String::new()),
        }
    }

    pub fn is_finished(&self) -> bool {
        matches!(self, CommandResult::Done(_) | CommandResult::Failed(_))
    }
}
