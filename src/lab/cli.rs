//! `flightdeck lab …`: arguments and dispatch. Output is plain lines and one table.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::ctl::Action;
use super::endpoint::ENDPOINT;
use super::error::{LabError, Result};
use super::handle::{Lab, LabOptions};
use super::resume::Resumed;
use super::serve;
use super::state::LabState;
use super::status;
use super::versions::BuildSpec;

/// A local, disposable primary/replica MariaDB lab on 127.0.0.1, with a MaxScale-compatible
/// endpoint, built from real MariaDB binaries.
#[derive(Debug, Clone, clap::Args)]
pub struct LabArgs {
    /// The lab's directory.
    #[arg(
        long,
        global = true,
        env = "FLIGHTDECK_LAB_DIR",
        default_value = "lab",
        value_name = "DIR"
    )]
    pub dir: PathBuf,

    #[command(subcommand)]
    pub command: LabCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum LabCommand {
    /// Start the lab (build it first if DIR holds none; restart it if it is stopped).
    Up {
        /// Number of replicas.
        #[arg(long, default_value_t = 1)]
        replicas: usize,
        /// Start the servers on an older build: a version (e.g. 10.11.18, fetched with
        /// apt-get into ~/.cache/flightdeck/mariadb) or the path of an extracted tree.
        #[arg(long, value_name = "VERSION_OR_PATH")]
        from: Option<String>,
        /// The build `lab ctl SERVER upgrade` moves a server to by default, and the inventory's
        /// `to_version`: `11.8` (trixie's, fetched like `--from 10.5`), a version, or a path.
        /// Default: the installed MariaDB.
        #[arg(long, value_name = "VERSION_OR_PATH")]
        to: Option<String>,
        /// Look for free server ports from this one up.
        #[arg(long, value_name = "PORT")]
        base_port: Option<u16>,
        /// Port of the MaxScale-compatible endpoint (another free one if taken).
        #[arg(long, default_value_t = 8989, value_name = "PORT")]
        maxscale_port: u16,
        /// Take the lab in whatever state it is (what ./scripts/cockpit runs): with no lab in
        /// DIR, build one as without --resume; with a lab, start or restart no server (one a
        /// runbook step stopped stays stopped) and only start the endpoint (REST API and SQL
        /// router) again if its process died, saying so on stderr (one stopped with
        /// `lab ctl endpoint stop` stays stopped). A lab stopped as a whole with `lab down` is
        /// started again. --replicas, --from and the ports only apply to a new lab.
        #[arg(long)]
        resume: bool,
        /// TLS everywhere: generate a lab CA and a server certificate (DIR/tls/), turn TLS on
        /// in every mariadbd, serve the endpoint over https, and write an inventory that
        /// verifies both against the lab CA (verify_identity). Only for a new lab.
        #[arg(long)]
        tls: bool,
        /// Semi-synchronous replication: every server has both rpl_semi_sync_master_enabled
        /// and rpl_semi_sync_slave_enabled ON in its my.cnf (the primary waits for an
        /// acknowledgement, the replicas acknowledge, and a switchover needs no change), with
        /// a 2 s rpl_semi_sync_master_timeout. Only for a new lab; kept by --resume.
        #[arg(long)]
        semi_sync: bool,
    },
    /// Show each server (port, pid, up/down, version, role), the endpoint and its SQL router
    /// (pid, ports, up/down). Exits 1 when any of them is down.
    Status,
    /// Stop every server cleanly and the endpoint (also one started by hand).
    Down {
        /// Also delete the lab directory.
        #[arg(long)]
        purge: bool,
    },
    /// Act on one server, or on the endpoint (stop, start, restart).
    Ctl {
        /// server1, server2, …, or `endpoint`: the process serving the MaxScale-compatible
        /// REST API and the SQL router
        server: String,
        #[command(subcommand)]
        action: CtlCommand,
    },
    /// Run the MaxScale-compatible endpoint in the foreground (`lab up` starts it detached;
    /// one started by hand writes DIR/serve.pid too, so `lab status` and `lab down` know it).
    #[command(hide = true)]
    Serve,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum CtlCommand {
    /// Clean shutdown (innodb_fast_shutdown=0); the endpoint: SIGTERM.
    Stop,
    /// Start it and wait until it answers.
    Start,
    /// Stop, then start.
    Restart,
    /// SIGKILL, to simulate a crash.
    Kill,
    /// Clean shutdown, switch binaries, start, mariadb-upgrade.
    Upgrade {
        /// Target build: a version (10.11, 11.8, 10.11.18), or an extracted tree [default: the
        /// lab's `lab up --to`, else the installed MariaDB].
        #[arg(long, value_name = "VERSION_OR_PATH")]
        to: Option<String>,
    },
    /// Copy the server's my.cnf into DIR/backup/.
    BackupConfig,
    /// Copy it back from DIR/backup/.
    RestoreConfig,
}

impl From<CtlCommand> for Action {
    fn from(c: CtlCommand) -> Self {
        match c {
            CtlCommand::Stop => Action::Stop,
            CtlCommand::Start => Action::Start,
            CtlCommand::Restart => Action::Restart,
            CtlCommand::Kill => Action::Kill,
            CtlCommand::Upgrade { to } => Action::Upgrade {
                to: to.map(|s| parse_spec(&s)),
            },
            CtlCommand::BackupConfig => Action::BackupConfig,
            CtlCommand::RestoreConfig => Action::RestoreConfig,
        }
    }
}

fn parse_spec(s: &str) -> BuildSpec {
    s.parse().unwrap_or_default()
}

/// Runs `flightdeck lab …`. `status` exits 1 when a server or the endpoint is down.
pub async fn run(args: LabArgs) -> Result<ExitCode> {
    let dir = args.dir;
    match args.command {
        LabCommand::Up {
            replicas,
            from,
            to,
            base_port,
            maxscale_port,
            resume,
            tls,
            semi_sync,
        } => {
            let exe = std::env::current_exe().ok();
            let opts = LabOptions {
                dir,
                replicas,
                from: from.as_deref().map(parse_spec).unwrap_or_default(),
                to: to.as_deref().map(parse_spec),
                base_port,
                endpoint_port: Some(maxscale_port),
                serve_exe: exe.clone(),
                flightdeck_exe: exe,
                quiet: false,
                tls,
                semi_sync,
            };
            let begun = Instant::now();
            let (lab, resumed) = if resume {
                Lab::resume(opts).await?
            } else {
                (Lab::up(opts).await?, Resumed::Built)
            };
            if matches!(resumed, Resumed::Kept { .. }) {
                println!("lab in {} kept as it is", lab.dir().display());
            } else {
                println!(
                    "lab up in {} ({:.1}s)",
                    lab.dir().display(),
                    begun.elapsed().as_secs_f64()
                );
            }
            status::print(&lab).await;
            println!("inventory  {}", lab.inventory_path().display());
            if let Some(first) = lab.servers().first() {
                println!(
                    "connect    mariadb --defaults-file={}",
                    first.client_cnf.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Status => {
            let lab = Lab::open(&dir)?;
            let all_up = status::print(&lab).await;
            Ok(if all_up {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        LabCommand::Down { purge } => {
            let mut lab = Lab::open(&dir)?;
            lab.set_quiet(false);
            lab.down(purge).await?;
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Ctl { server, action } => {
            let mut lab = Lab::open(&dir)?;
            lab.set_quiet(false);
            let said = if server == ENDPOINT {
                // Started as `lab up` starts it: this program, `lab serve --dir DIR`.
                if let Ok(exe) = std::env::current_exe() {
                    lab.set_serve_exe(exe);
                }
                lab.ctl_endpoint(action.into()).await?
            } else {
                lab.ctl(&server, action.into()).await?
            };
            println!("{said}");
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Serve => serve_foreground(&dir).await,
    }
}

async fn serve_foreground(dir: &Path) -> Result<ExitCode> {
    let dir = dir.canonicalize().map_err(|_| LabError::NoLab {
        dir: dir.to_path_buf(),
    })?;
    let state = LabState::load(&dir)?;
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) else {
            return;
        };
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = hup.recv() => continue, // detached from any terminal: ignore hangups
            }
        }
        on_signal.cancel();
    });
    serve::serve(state, cancel).await?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Top {
        #[command(subcommand)]
        cmd: TopCmd,
    }

    #[derive(Debug, clap::Subcommand)]
    enum TopCmd {
        Lab(LabArgs),
    }

    fn parse(args: &[&str]) -> LabArgs {
        let top = Top::try_parse_from(std::iter::once("flightdeck").chain(args.iter().copied()))
            .expect("parses");
        let TopCmd::Lab(lab) = top.cmd;
        lab
    }

    #[test]
    fn dir_may_follow_any_subcommand() {
        let args = parse(&[
            "lab", "ctl", "server2", "upgrade", "--to", "10.11.19", "--dir", "/x",
        ]);
        assert_eq!(args.dir, PathBuf::from("/x"));
        let LabCommand::Ctl {
            server,
            action: CtlCommand::Upgrade { to },
        } = args.command
        else {
            panic!("not an upgrade: {:?}", args.command);
        };
        assert_eq!(
            (server.as_str(), to.as_deref()),
            ("server2", Some("10.11.19"))
        );
    }

    #[test]
    fn up_defaults() {
        let args = parse(&["lab", "up", "--from", "10.11.18"]);
        let LabCommand::Up {
            replicas,
            from,
            maxscale_port,
            resume,
            ..
        } = args.command
        else {
            panic!("not up");
        };
        assert_eq!(
            (replicas, from.as_deref(), maxscale_port, resume),
            (1, Some("10.11.18"), 8989, false)
        );
        assert!(matches!(
            parse(&["lab", "up", "--resume", "--from", "10.11.18"]).command,
            LabCommand::Up { resume: true, .. }
        ));
        assert!(matches!(
            parse(&["lab", "ctl", "server1", "backup-config"]).command,
            LabCommand::Ctl {
                action: CtlCommand::BackupConfig,
                ..
            }
        ));
    }
}
