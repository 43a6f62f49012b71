//! mariadbmon's module commands: `switchover`, `async-switchover`, `fetch-cmd-result`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use tokio::sync::oneshot;

use crate::maxscale::ResponseBody;

use super::api::{
    Api, ApiState, MONITOR_BUSY, errors, json, no_content, not_implemented, query_pairs,
};
use super::monitor::{CmdState, MonitorCmd};

/// `GET|POST /v1/maxscale/modules/:module/:command?ARG&ARG…`
pub(super) async fn module_command(
    State(api): State<Api>,
    method: Method,
    uri: Uri,
    Path((module, command)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let args: Vec<String> = query_pairs(q.as_deref())
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    match (module.as_str(), command.as_str(), &method) {
        ("mariadbmon", "switchover" | "async-switchover", &Method::POST) => {
            switchover(api, &command, &args).await
        }
        ("mariadbmon", "fetch-cmd-result", &Method::GET) => fetch_cmd_result(api, &args),
        _ => not_implemented(method, uri).await,
    }
}

fn check_monitor(api: &ApiState, args: &[String]) -> Option<Response> {
    match args.first() {
        Some(m) if *m == api.cfg.monitor_name => None,
        Some(m) => Some(errors(
            StatusCode::BAD_REQUEST,
            format!("Argument 1, monitor not found: {m}"),
        )),
        None => Some(errors(
            StatusCode::BAD_REQUEST,
            "Argument 1, monitor not found: (none given)",
        )),
    }
}

async fn switchover(api: Api, command: &str, args: &[String]) -> Response {
    if let Some(resp) = check_monitor(&api, args) {
        return resp;
    }
    let view = api.snapshot();
    let Some(new) = args.get(1).cloned() else {
        return errors(
            StatusCode::BAD_REQUEST,
            "Argument 2, server not found: (none given)",
        );
    };
    for (i, name) in args.iter().enumerate().skip(1).take(2) {
        if view.server(name).is_none() {
            return errors(
                StatusCode::BAD_REQUEST,
                format!("Argument {}, server not found: {name}", i + 1),
            );
        }
    }
    let old = args.get(2).cloned();
    api.cmd_state.send_replace(CmdState::Running("switchover"));
    if command == "async-switchover" {
        let cmd = MonitorCmd::Switchover {
            new,
            old,
            reply: None,
        };
        return match api.cmd_tx.send(cmd).await {
            Ok(()) => no_content(),
            Err(_) => errors(
                StatusCode::SERVICE_UNAVAILABLE,
                "The lab monitor is not running.",
            ),
        };
    }
    let (reply, answer) = oneshot::channel();
    let cmd = MonitorCmd::Switchover {
        new,
        old,
        reply: Some(reply),
    };
    if api.cmd_tx.send(cmd).await.is_err() {
        return errors(
            StatusCode::SERVICE_UNAVAILABLE,
            "The lab monitor is not running.",
        );
    }
    let limit = api.cfg.switchover_timeout + MONITOR_BUSY;
    match tokio::time::timeout(limit, answer).await {
        Ok(Ok(Ok(()))) => no_content(),
        Ok(Ok(Err(messages))) => {
            let link = api.ctx().link("maxscale/modules/mariadbmon/switchover");
            json(
                StatusCode::BAD_REQUEST,
                &ResponseBody::meta_errors(link, messages),
            )
        }
        _ => errors(
            StatusCode::SERVICE_UNAVAILABLE,
            "The lab monitor did not answer.",
        ),
    }
}

fn fetch_cmd_result(api: Api, args: &[String]) -> Response {
    if let Some(resp) = check_monitor(&api, args) {
        return resp;
    }
    let link = api
        .ctx()
        .link("maxscale/modules/mariadbmon/fetch-cmd-result");
    let state = api.cmd_state.borrow().clone();
    let body = match state {
        CmdState::None => {
            ResponseBody::meta_errors(link, ["No manual command results are available."])
        }
        CmdState::Running(name) => ResponseBody::meta_errors(
            link,
            [format!(
                "No manual command results are available, {name} is still running."
            )],
        ),
        CmdState::Done { name, errors } if errors.is_empty() => {
            ResponseBody::meta_message(link, format!("{name} completed successfully."))
        }
        CmdState::Done { errors, .. } => ResponseBody::meta_errors(link, errors),
    };
    json(StatusCode::OK, &body)
}
