//! What a failed poll means for a DBA. The driver's errors are sorted by when they
//! happened: a failed connection attempt (down, login refused, refusing connections) or a
//! failed poll on an open connection (closed or killed by the server, a failed query).

use std::io::ErrorKind;

use mysql_async::{DriverError, Error, IoError};

use super::snapshot::PollError;

/// Why one attempt failed, before the poller judges it into a [`PollError`] (which may
/// depend on what the previous attempts saw).
#[derive(Debug, PartialEq)]
pub(crate) enum Failure {
    /// Nothing took the connection: refused, no route.
    NoConnection(String),
    /// Connecting took longer than the connect timeout.
    ConnectTimeout(String),
    /// An open connection was closed or killed by the server.
    Lost(String),
    /// Published as it is.
    Other(PollError),
}

/// MariaDB's "access denied" family: a refused login.
const ACCESS_DENIED: [u16; 3] = [1044, 1045, 1698];
/// The server ended the connection: ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED, and MySQL's
/// ER_CLIENT_INTERACTION_TIMEOUT.
const CONNECTION_ENDED: [u16; 3] = [1053, 1927, 4031];

/// An I/O error that means the peer closed or reset the connection.
fn closed_by_peer(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::UnexpectedEof
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe
    )
}

/// Classifies a failed connection attempt.
pub(crate) fn on_connect(e: &Error) -> Failure {
    match e {
        Error::Server(s) if ACCESS_DENIED.contains(&s.code) => {
            Failure::Other(PollError::AccessDenied(s.message.clone()))
        }
        // Too many connections, host blocked, shutting down: it answered and said no.
        Error::Server(s) => {
            Failure::Other(PollError::Refused(format!("{} ({})", s.message, s.code)))
        }
        Error::Io(IoError::Io(io)) if closed_by_peer(io.kind()) => Failure::Other(
            PollError::Refused(format!("closed the connection during the login: {io}")),
        ),
        Error::Driver(DriverError::ConnectionClosed) => Failure::Other(PollError::Refused(
            "closed the connection during the login".into(),
        )),
        Error::Driver(d) => Failure::Other(PollError::Refused(d.to_string())),
        // The OS's words ("Connection refused (os error 111)"), without the driver's
        // doubled "Input/output error:" prefix.
        Error::Io(IoError::Io(io)) => Failure::NoConnection(io.to_string()),
        Error::Io(_) => Failure::NoConnection(e.to_string()),
        other => Failure::Other(PollError::Query(other.to_string())),
    }
}

/// Classifies a failed poll on an open connection.
pub(crate) fn on_open_connection(e: &Error) -> Failure {
    match e {
        Error::Server(s) if CONNECTION_ENDED.contains(&s.code) => Failure::Lost(format!(
            "the server ended the connection: {} ({})",
            s.message, s.code
        )),
        Error::Server(s) => Failure::Other(PollError::Query(format!("{} ({})", s.message, s.code))),
        Error::Io(IoError::Io(io)) if closed_by_peer(io.kind()) => {
            Failure::Lost(format!("the server closed the connection ({io})"))
        }
        Error::Driver(DriverError::ConnectionClosed) => {
            Failure::Lost("the server closed the connection".into())
        }
        Error::Io(IoError::Io(io)) => Failure::NoConnection(io.to_string()),
        Error::Io(_) => Failure::NoConnection(e.to_string()),
        Error::Driver(_) => Failure::Other(PollError::Query(e.to_string())),
        other => Failure::Other(PollError::Query(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: u16, message: &str) -> Error {
        Error::Server(mysql_async::ServerError {
            code,
            message: message.into(),
            state: "HY000".into(),
        })
    }

    fn io(kind: ErrorKind, text: &str) -> Error {
        Error::Io(IoError::Io(std::io::Error::new(kind, text)))
    }

    #[test]
    fn a_refused_or_unrouted_connection_is_no_connection() {
        for kind in [
            ErrorKind::ConnectionRefused,
            ErrorKind::HostUnreachable,
            ErrorKind::TimedOut,
        ] {
            assert!(
                matches!(on_connect(&io(kind, "x")), Failure::NoConnection(_)),
                "{kind:?}"
            );
        }
        assert_eq!(
            on_connect(&io(
                ErrorKind::ConnectionRefused,
                "Connection refused (os error 111)"
            )),
            Failure::NoConnection("Connection refused (os error 111)".into())
        );
    }

    #[test]
    fn a_refused_login_is_access_denied() {
        let e = server(1045, "Access denied for user 'flightdeck'@'localhost'");
        assert_eq!(
            on_connect(&e),
            Failure::Other(PollError::AccessDenied(
                "Access denied for user 'flightdeck'@'localhost'".into()
            ))
        );
    }

    #[test]
    fn a_server_that_answers_no_is_refusing_not_down() {
        for e in [
            server(1040, "Too many connections"),
            server(1053, "Server shutdown in progress"),
            io(ErrorKind::UnexpectedEof, "connection closed"),
            Error::Driver(DriverError::ConnectionClosed),
        ] {
            let f = on_connect(&e);
            assert!(
                matches!(f, Failure::Other(PollError::Refused(_))),
                "{e}: {f:?}"
            );
        }
    }

    #[test]
    fn a_closed_or_killed_connection_is_lost() {
        // What mysql_async reports when the server killed an idle connection (the lab's
        // endpoint and MaxScale do so in a switchover), and the kill's own error packet.
        for e in [
            io(ErrorKind::UnexpectedEof, "connection closed"),
            io(
                ErrorKind::ConnectionReset,
                "Connection reset by peer (os error 104)",
            ),
            io(ErrorKind::BrokenPipe, "Broken pipe (os error 32)"),
            Error::Driver(DriverError::ConnectionClosed),
            server(1927, "Connection was killed"),
            server(1053, "Server shutdown in progress"),
        ] {
            let f = on_open_connection(&e);
            assert!(matches!(f, Failure::Lost(_)), "{e}: {f:?}");
        }
    }

    #[test]
    fn a_failed_statement_is_a_query_error() {
        let f = on_open_connection(&server(
            1227,
            "Access denied; you need (at least one of) the REPLICATION CLIENT privilege(s)",
        ));
        assert!(matches!(f, Failure::Other(PollError::Query(_))), "{f:?}");
    }
}
