//! The REST API (axum): MaxScale's paths, status codes and bodies for what the
//! lab implements, a JSON `errors[].detail` saying so for everything else.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, put};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};

use crate::lab::router::RouterStats;
use crate::maxscale::{AdminState, Document, Links, MaxscaleServer, ResponseBody};

use super::ServeConfig;
use super::commands;
use super::monitor::{CmdState, MonitorCmd, SetStateError};
use super::render::{self, Ctx};
use super::state::ClusterView;
use super::util::{base64, percent_decode};

/// Sample 110, verbatim.
pub const PRIMARY_REFUSAL: &str = "The server is primary, so it cannot be set in maintenance or draining mode. \
     First perform a switchover and then retry the operation.";

pub(super) struct ApiState {
    pub cfg: Arc<ServeConfig>,
    pub base: String,
    pub view: watch::Receiver<Arc<ClusterView>>,
    pub cmd_tx: mpsc::Sender<MonitorCmd>,
    pub cmd_state: watch::Sender<CmdState>,
    pub stats: Arc<RouterStats>,
}

pub(super) type Api = Arc<ApiState>;

impl ApiState {
    pub(super) fn ctx(&self) -> Ctx<'_> {
        Ctx {
            cfg: &self.cfg,
            base: &self.base,
            stats: &self.stats,
        }
    }

    pub(super) fn snapshot(&self) -> Arc<ClusterView> {
        Arc::clone(&self.view.borrow())
    }
}

pub(super) fn app(api: Api) -> Router {
    let mut r = Router::new();
    for suffix in ["", "/"] {
        r = r
            .route(&format!("/v1/servers{suffix}"), get(list_servers))
            .route(&format!("/v1/servers/{{name}}{suffix}"), get(show_server))
            .route(&format!("/v1/monitors{suffix}"), get(list_monitors))
            .route(&format!("/v1/monitors/{{name}}{suffix}"), get(show_monitor))
            .route(&format!("/v1/servers/{{name}}/set{suffix}"), put(set_state))
            .route(
                &format!("/v1/servers/{{name}}/clear{suffix}"),
                put(clear_state),
            )
            .route(
                &format!("/v1/maxscale/modules/{{module}}/{{command}}{suffix}"),
                get(commands::module_command).post(commands::module_command),
            );
    }
    r.fallback(not_implemented)
        .method_not_allowed_fallback(not_implemented)
        .layer(middleware::from_fn_with_state(Arc::clone(&api), basic_auth))
        .with_state(api)
}

async fn basic_auth(State(api): State<Api>, req: Request, next: Next) -> Response {
    let expected = base64(format!("{}:{}", api.cfg.admin_user, api.cfg.admin_password).as_bytes());
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '));
    match given {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("basic") && token.trim() == expected =>
        {
            next.run(req).await
        }
        _ => {
            // Sample 43: this exact body, no content-type, a Basic challenge.
            let mut resp = Response::new(Body::from(
                r#"{"errors": [ { "detail": "Access denied" } ] }"#,
            ));
            *resp.status_mut() = StatusCode::UNAUTHORIZED;
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"maxscale\""),
            );
            resp
        }
    }
}

fn finish(mut resp: Response, status: StatusCode) -> Response {
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("Deny"));
    h.insert(header::X_XSS_PROTECTION, HeaderValue::from_static("1"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    resp
}

pub(super) fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec_pretty(body) {
        Ok(bytes) => {
            let mut resp = Response::new(Body::from(bytes));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            finish(resp, status)
        }
        Err(e) => errors(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot serialize the answer: {e}"),
        ),
    }
}

pub(super) fn errors(status: StatusCode, detail: impl Into<String>) -> Response {
    json(status, &ResponseBody::errors([detail.into()]))
}

pub(super) fn no_content() -> Response {
    finish(Response::new(Body::empty()), StatusCode::NO_CONTENT)
}

fn self_links(url: String) -> Links {
    Links::from([("self".to_owned(), url)])
}

pub(super) async fn not_implemented(method: Method, uri: Uri) -> Response {
    let detail = format!(
        "The flightdeck lab endpoint does not implement {method} {}.",
        uri.path()
    );
    let status = if matches!(method, Method::GET | Method::PUT | Method::POST)
        && uri.path().starts_with("/v1/")
    {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::METHOD_NOT_ALLOWED
    };
    errors(status, detail)
}

async fn list_servers(State(api): State<Api>) -> Response {
    let view = api.snapshot();
    let ctx = api.ctx();
    let data: Vec<MaxscaleServer> = view
        .servers
        .iter()
        .map(|s| render::server(&ctx, &view, s))
        .collect();
    json(
        StatusCode::OK,
        &Document {
            data,
            links: self_links(ctx.link("servers")),
        },
    )
}

async fn show_server(State(api): State<Api>, Path(name): Path<String>) -> Response {
    let view = api.snapshot();
    let ctx = api.ctx();
    match view.server(&name) {
        Some(s) => {
            let data = render::server(&ctx, &view, s);
            let links = self_links(ctx.link(&format!("servers/{name}")));
            json(StatusCode::OK, &Document { data, links })
        }
        None => errors(StatusCode::NOT_FOUND, format!("{name} is not a server")),
    }
}

async fn list_monitors(State(api): State<Api>) -> Response {
    let view = api.snapshot();
    let ctx = api.ctx();
    let data = vec![render::monitor(&ctx, &view)];
    json(
        StatusCode::OK,
        &Document {
            data,
            links: self_links(ctx.link("monitors")),
        },
    )
}

async fn show_monitor(State(api): State<Api>, Path(name): Path<String>) -> Response {
    if name != api.cfg.monitor_name {
        return errors(StatusCode::NOT_FOUND, format!("{name} is not a monitor"));
    }
    let view = api.snapshot();
    let ctx = api.ctx();
    let data = render::monitor(&ctx, &view);
    json(
        StatusCode::OK,
        &Document {
            data,
            links: self_links(ctx.link(&format!("monitors/{name}"))),
        },
    )
}

async fn set_state(
    State(api): State<Api>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    admin_state(api, name, q, true).await
}

async fn clear_state(
    State(api): State<Api>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    admin_state(api, name, q, false).await
}

/// `key=value` pairs of a query string, decoded.
pub(super) fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

pub(super) const MONITOR_BUSY: Duration = Duration::from_secs(300);

async fn admin_state(api: Api, name: String, q: Option<String>, on: bool) -> Response {
    if api.snapshot().server(&name).is_none() {
        return errors(StatusCode::NOT_FOUND, format!("{name} is not a server"));
    }
    let pairs = query_pairs(q.as_deref());
    let state = pairs
        .iter()
        .find(|(k, _)| k == "state")
        .and_then(|(_, v)| AdminState::parse(v));
    let Some(state) = state else {
        return errors(
            StatusCode::BAD_REQUEST,
            "Invalid or missing value for the `state` parameter",
        );
    };
    // `force=yes` only hangs up connections; the router never routes to a non-primary,
    // and the primary cannot be put in maintenance, so there is nothing to hang up.
    let (reply, answer) = oneshot::channel();
    let cmd = MonitorCmd::SetState {
        server: name.clone(),
        state,
        on,
        reply,
    };
    if api.cmd_tx.send(cmd).await.is_err() {
        return errors(
            StatusCode::SERVICE_UNAVAILABLE,
            "The lab monitor is not running.",
        );
    }
    match tokio::time::timeout(MONITOR_BUSY, answer).await {
        Ok(Ok(Ok(()))) => no_content(),
        Ok(Ok(Err(SetStateError::Primary))) => errors(StatusCode::BAD_REQUEST, PRIMARY_REFUSAL),
        Ok(Ok(Err(SetStateError::UnknownServer))) => {
            errors(StatusCode::NOT_FOUND, format!("{name} is not a server"))
        }
        _ => errors(
            StatusCode::SERVICE_UNAVAILABLE,
            "The lab monitor did not answer.",
        ),
    }
}
