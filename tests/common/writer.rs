//! A client writing through the lab's router while a rehearsal runs, and the check that
//! no write it was told had committed is missing from a server afterwards.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use flightdeck::lab::Lab;
use mysql_async::prelude::Queryable;

/// Writes rows through the router until stopped; returns (rows written, longest gap).
pub fn writer(
    lab: &Lab,
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<Duration> {
    let port = lab.state().endpoint.router_port;
    let password = lab.secret("app").expect("app password");
    tokio::spawn(async move {
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(port)
            .user(Some("app"))
            .pass(Some(password))
            .prefer_socket(false);
        let mut last_ok = Instant::now();
        let mut longest = Duration::ZERO;
        let mut conn: Option<mysql_async::Conn> = None;
        let mut n = written.load(Ordering::SeqCst);
        while !stop.load(Ordering::SeqCst) {
            if conn.is_none() {
                conn = tokio::time::timeout(
                    Duration::from_secs(2),
                    mysql_async::Conn::new(opts.clone()),
                )
                .await
                .ok()
                .and_then(Result::ok);
            }
            if let Some(c) = conn.as_mut() {
                let name = format!("writer-{}", n + 1);
                let ok = tokio::time::timeout(
                    Duration::from_secs(2),
                    c.exec_drop("INSERT INTO app.demo (name) VALUES (?)", (name,)),
                )
                .await;
                if matches!(ok, Ok(Ok(()))) {
                    n += 1;
                    written.store(n, Ordering::SeqCst);
                    longest = longest.max(last_ok.elapsed());
                    last_ok = Instant::now();
                } else {
                    conn = None;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        longest
    })
}

/// (acknowledged writes present, all writer rows) on a server. A write whose commit
/// raced a killed connection may be retried under the same name, so rows can outnumber
/// acknowledgements; what must never happen is an acknowledged write missing.
pub async fn writer_rows(lab: &Lab, server: &str, acked: u64) -> (u64, u64) {
    let mut c = lab.connect(server, "flightdeck").await.expect("connect");
    let present: Option<u64> = c
        .exec_first(
            "SELECT COUNT(DISTINCT name) FROM app.demo WHERE name LIKE 'writer-%' \
             AND CAST(SUBSTRING(name, 8) AS UNSIGNED) <= ?",
            (acked,),
        )
        .await
        .expect("count acknowledged");
    let all: Option<u64> = c
        .query_first("SELECT COUNT(*) FROM app.demo WHERE name LIKE 'writer-%'")
        .await
        .expect("count all");
    (present.unwrap_or(0), all.unwrap_or(0))
}
