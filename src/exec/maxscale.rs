//! The `maxscale` executor: set / clear a server state, or a switchover (asynchronous,
//! polled with `fetch-cmd-result`, as MaxScale 2.5.4+ offers). MaxScale's own error
//! messages are returned verbatim.

use std::time::{Duration, Instant};

use crate::maxscale::{AdminState, CommandResult, MaxscaleClient, MaxscaleError};

/// A MaxScale call with server names already resolved to MaxScale's names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MaxscaleCall {
    Set {
        server: String,
        state: AdminState,
        force: bool,
    },
    Clear {
        server: String,
        state: AdminState,
    },
    Switchover {
        monitor: String,
        new_primary: String,
        old_primary: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum MaxscaleStepError {
    #[error("{0}")]
    Api(#[from] MaxscaleError),
    #[error("switchover: {}", .0.join(" "))]
    Refused(Vec<String>),
    #[error("switchover did not finish within {0:?}; check MaxScale before retrying")]
    Timeout(Duration),
}

/// Performs the call; progress lines go to `progress`. Returns MaxScale's final message.
pub async fn run(
    client: &MaxscaleClient,
    call: &MaxscaleCall,
    timeout: Duration,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<String, MaxscaleStepError> {
    match call {
        MaxscaleCall::Set {
            server,
            state,
            force,
        } => {
            client.set_state(server, *state, *force).await?;
            Ok(format!("{server}: {} set", state.as_str()))
        }
        MaxscaleCall::Clear { server, state } => {
            client.clear_state(server, *state).await?;
            Ok(format!("{server}: {} cleared", state.as_str()))
        }
        MaxscaleCall::Switchover {
            monitor,
            new_primary,
            old_primary,
        } => {
            client
                .async_switchover(monitor, new_primary, Some(old_primary))
                .await?;
            let begun = Instant::now();
            loop {
                match client.fetch_cmd_result(monitor).await? {
                    CommandResult::Done(msg) => return Ok(msg),
                    CommandResult::Failed(details) => {
                        return Err(MaxscaleStepError::Refused(details));
                    }
                    CommandResult::Running(detail) | CommandResult::NoResult(detail) => {
                        progress(format!("{detail} ({:.1} s)", begun.elapsed().as_secs_f64()));
                    }
                }
                if begun.elapsed() > timeout {
                    return Err(MaxscaleStepError::Timeout(timeout));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}
