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

/// The driver's words for `e`, each thing said once. mysql_async's `Display` prefixes
/// every layer of an I/O error (`Input/output error: Input/output error: Connection
/// refused`) and wraps the others in their kind (`Other error: …`); a pane's row already
/// says what kind of failure it is.
pub(crate) fn words(e: &Error) -> String {
    match e {
        Error::Io(IoError::Io(io)) => io.to_string(),
        Error::Io(other) => other.to_string(),
        Error::Server(s) => format!("{} ({})", s.message, s.code),
        Error::Driver(d) => d.to_string(),
        Error::Other(o) => o.to_string(),
        Error::Url(u) => u.to_string(),
    }
}

/// Classifies a failed connection attempt.
pub(crate) fn on_connect(e: &Error) -> Failure {
    if let Some(why) = super::tls::tls_failure(e) {
        return Failure::Other(PollError::Tls(why));
    }
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
        Error::Driver(_) => Failure::Other(PollError::Refused(words(e))),
        // The OS's words ("Connection refused (os error 111)"), without the driver's
        // doubled "Input/output error:" prefix.
        Error::Io(_) => Failure::NoConnection(words(e)),
        other => Failure::Other(PollError::Query(words(other))),
    }
}

/// Classifies a failed poll on an open connection.
pub(crate) fn on_open_connection(e: &Error) -> Failure {
    match e {
        Error::Server(s) if CONNECTION_ENDED.contains(&s.code) => Failure::Lost(format!(
            "the server ended the connection: {} ({})",
            s.message, s.code
        )),
        Error::Server(_) => Failure::Other(PollError::Query(words(e))),
        Error::Io(IoError::Io(io)) if closed_by_peer(io.kind()) => {
            Failure::Lost(format!("the server closed the connection ({io})"))
        }
        Error::Driver(DriverError::ConnectionClosed) => {
            Failure::Lost("the server closed the connection".into())
        }
        Error::Io(_) => Failure::NoConnection(words(e)),
        other => Failure::Other(PollError::Query(words(other))),
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
    fn the_driver_s_words_say_each_thing_once() {
        let refused = io(
            ErrorKind::ConnectionRefused,
            "Connection refused (os error 111)",
        );
        assert_eq!(
            refused.to_string(),
            "Input/output error: Input/output error: Connection refused (os error 111)",
            "what mysql_async's Display says"
        );
        assert_eq!(words(&refused), "Connection refused (os error 111)");
        let other = Error::Other("pool closed".into());
        assert_eq!(words(&other), "pool closed");
        for f in [
            on_connect(&refused),
            on_open_connection(&refused),
            on_connect(&other),
            on_open_connection(&other),
        ] {
            let text = match f {
                Failure::NoConnection(t) | Failure::ConnectTimeout(t) | Failure::Lost(t) => t,
                Failure::Other(e) => e.to_string(),
            };
            assert!(!text.contains("error: Input/output error"), "{text}");
            assert!(!text.contains("Other error"), "{text}");
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
