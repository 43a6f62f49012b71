//! `Lab::up`: build a new lab (or restart a stopped one) in a directory.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::config;
use super::error::{LabError, Result, io};
use super::handle::{Lab, LabOptions};
use super::instance::{self, START_TIMEOUT};
use super::inventory;
use super::ports;
use super::secrets::{self, Passwords};
use super::serve;
use super::setup;
use super::sql;
use super::state::{EndpointState, FORMAT, LabState, Role, ServerState, endpoint_url};
use super::versions::{self, Build};

const PORT_ATTEMPTS: usize = 5;
const CATCH_UP: Duration = Duration::from_secs(120);

impl Lab {
    /// Builds and starts a lab in `opts.dir`, or restarts the stopped lab there.
    /// Fails with `AlreadyRunning` if its servers are running. On failure, whatever it started
    /// is stopped again; the files stay for inspection.
    pub async fn up(opts: LabOptions) -> Result<Lab> {
        std::fs::create_dir_all(&opts.dir)
            .map_err(io(format!("creating {}", opts.dir.display())))?;
        let dir = opts
            .dir
            .canonicalize()
            .map_err(io(format!("resolving {}", opts.dir.display())))?;
        match LabState::load(&dir) {
            Ok(state) => return restart_stopped(state, &opts).await,
            Err(LabError::NoLab { .. }) => {}
            Err(e) => return Err(e),
        }
        let not_empty = std::fs::read_dir(&dir)
            .map_err(io(format!("reading {}", dir.display())))?
            .next()
            .is_some();
        if not_empty {
            return Err(LabError::NotALab {
                dir,
                detail: "not empty, and holds no lab.json".into(),
            });
        }
        // Datadirs, binlogs and master.info hold password hashes and the replication
        // password: they are private below it (see secrets::lab_dir).
        secrets::lab_dir(&dir)?;
        let say = |m: &str| {
            if !opts.quiet {
                eprintln!("{m}");
            }
        };
        let build = versions::resolve(&opts.from, &say).await?;
        let mut lab = Lab {
            state: new_state(&dir, &opts, &build)?,
            quiet: opts.quiet,
        };
        // Fetched now, so a target that cannot be had is said before anything is built.
        lab.state.upgrade_to = match &opts.to {
            Some(spec) => {
                let to = versions::resolve(spec, &say).await?;
                Some(match spec {
                    // The series name finds the cached build again (`lab ctl … --to 11.8`).
                    versions::BuildSpec::Version(v) => v.clone(),
                    versions::BuildSpec::Path(p) => p.display().to_string(),
                    versions::BuildSpec::Installed => to.version,
                })
            }
            None => versions::installed().await.ok().map(|b| b.version),
        };
        lab.state.save()?;
        match create(&mut lab).await {
            Ok(()) => Ok(lab),
            Err(e) => {
                lab.teardown_blocking();
                Err(e)
            }
        }
    }
}

fn new_state(dir: &Path, opts: &LabOptions, build: &Build) -> Result<LabState> {
    let mut servers = Vec::new();
    let mut next = opts.base_port;
    for k in 1..=u32::try_from(opts.replicas + 1).unwrap_or(1) {
        let port = ports::pick(next)?;
        next = Some(port.saturating_add(1));
        let role = if k == 1 { Role::Primary } else { Role::Replica };
        servers.push(config::new_server(dir, k, role, port, build)?);
    }
    let port = ports::pick(opts.endpoint_port)?;
    let tls = opts.tls.then(|| super::tls::TlsFiles::in_dir(dir));
    for s in &mut servers {
        s.tls = tls.clone();
        s.semi_sync = opts.semi_sync;
    }
    Ok(LabState {
        format: FORMAT,
        dir: dir.to_path_buf(),
        ready: false,
        created_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        servers,
        endpoint: EndpointState {
            port,
            url: endpoint_url(opts.tls, port),
            router_port: ports::pick(None)?,
            user: "admin".into(),
            monitor: "MariaDB-Monitor".into(),
            pid: None,
            pid_file: dir.join("serve.pid"),
            log: dir.join("serve.log"),
            exe: opts.serve_exe.clone(),
            stopped: false,
        },
        inventory: dir.join("inventory.toml"),
        secrets_dir: dir.join("secrets"),
        backup_dir: dir.join("backup"),
        flightdeck_exe: opts.flightdeck_exe.clone(),
        upgrade_to: None,
        stopped_by_down: false,
        tls,
        semi_sync: opts.semi_sync,
    })
}

async fn create(lab: &mut Lab) -> Result<()> {
    let pw = Passwords::generate()?;
    pw.write_all(&lab.state.secrets_dir)?;
    if lab.state.tls.is_some() {
        lab.state.tls = Some(super::tls::generate(&lab.state.dir)?);
        lab.say("lab CA and server certificate written to tls/ (TLS on every server, https)");
    }
    // The runbook's dump (which holds password hashes) goes here.
    secrets::private_dir(&lab.state.backup_dir)?;
    for s in &lab.state.servers {
        config::write_files(s, None)?;
    }
    let primary = lab.state.initial_primary()?.clone();
    lab.say(&format!(
        "initialising a datadir with MariaDB {} ({})",
        primary.build.full_version,
        primary.build.mariadbd.display()
    ));
    instance::install_db(&primary).await?;
    config::make_private(&primary.datadir)?;
    for s in lab
        .state
        .servers
        .iter()
        .filter(|s| s.initial_role == Role::Replica)
    {
        config::copy_tree(&primary.datadir, &s.datadir)?;
    }
    start_all(lab, true).await?;

    // Users on every server, outside the binary log (see setup.rs).
    let servers = lab.state.servers.clone();
    let users = servers.iter().map(|s| {
        let pw = &pw;
        async move {
            let mut conn = sql::connect(s, sql::root_opts(s, None)).await?;
            setup::users(&mut conn, s, pw).await?;
            let _ = conn.disconnect().await;
            Ok::<_, LabError>(())
        }
    });
    futures::future::try_join_all(users).await?;

    let primary = lab.state.initial_primary()?.clone();
    let mut pconn = sql::connect(&primary, sql::root_opts(&primary, Some(&pw.root))).await?;
    setup::schema(&mut pconn, &primary).await?;
    setup::watch_grants(&mut pconn, &primary).await?;
    let gtid = sql::scalar(&mut pconn, &primary.name, "SELECT @@gtid_binlog_pos").await?;
    let _ = pconn.disconnect().await;
    let replicas: Vec<&ServerState> = servers
        .iter()
        .filter(|s| s.initial_role == Role::Replica)
        .collect();
    let joins = replicas.iter().map(|s| {
        let (primary, pw, gtid) = (&primary, &pw, gtid.clone().unwrap_or_default());
        async move {
            let mut conn = sql::connect(s, sql::root_opts(s, Some(&pw.root))).await?;
            setup::replica(&mut conn, s, primary, &pw.repl).await?;
            setup::wait_gtid(&mut conn, s, &gtid, CATCH_UP).await?;
            setup::watch_grants(&mut conn, s).await?;
            let _ = conn.disconnect().await;
            Ok::<_, LabError>(())
        }
    });
    futures::future::try_join_all(joins).await?;
    lab.say(&format!(
        "users, schema `app` and replication set up ({} replica(s) caught up)",
        replicas.len()
    ));

    for s in &mut lab.state.servers {
        config::write_client_cnf(s, Some(&pw.root))?;
        s.version = Some(instance::version(s, Some(&pw.root)).await?);
    }
    lab.state.ready = true;
    lab.state.save()?;
    start_endpoint(lab).await?;
    inventory::write(&lab.state)
}

/// Starts every server concurrently; during a first `up` (`may_move`) a server whose port was
/// taken meanwhile moves to another free port.
async fn start_all(lab: &mut Lab, may_move: bool) -> Result<()> {
    let starts = lab.state.servers.iter().cloned().map(|mut s| async move {
        let mut attempt = 1;
        loop {
            match instance::start(&s, START_TIMEOUT).await {
                Ok(pid) => {
                    s.pid = Some(pid);
                    return Ok(s);
                }
                Err(LabError::PortInUse { .. }) if may_move && attempt < PORT_ATTEMPTS => {
                    attempt += 1;
                    s.port = ports::pick(None)?;
                    config::write_files(&s, None)?;
                }
                Err(e) => return Err(e),
            }
        }
    });
    let results = futures::future::join_all(starts).await;
    let mut first_error = None;
    for result in results {
        match result {
            Ok(s) => {
                lab.say(&format!(
                    "{} up on 127.0.0.1:{} (pid {})",
                    s.name,
                    s.port,
                    s.pid.unwrap_or(0)
                ));
                let slot = lab.state.server_mut(&s.name)?;
                *slot = s;
            }
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    lab.state.save()?;
    first_error.map_or(Ok(()), Err)
}

async fn start_endpoint(lab: &mut Lab) -> Result<()> {
    match serve::spawn(&mut lab.state).await? {
        Some(started) if started.listening => lab.say(&format!(
            "endpoint {} up (pid {})",
            lab.state.endpoint.url, started.pid
        )),
        Some(started) => lab.say(&format!(
            "warning: endpoint process (pid {}) is not listening on {} yet; see {}",
            started.pid,
            lab.state.endpoint.url,
            lab.state.endpoint.log.display()
        )),
        None => {}
    }
    lab.state.save()
}

/// `lab up` on an existing lab: restart it if it is stopped (every server down).
pub(crate) async fn restart_stopped(state: LabState, opts: &LabOptions) -> Result<Lab> {
    check_ready(&state)?;
    let dir = state.dir.clone();
    let running: Vec<String> = state
        .servers
        .iter()
        .filter_map(|s| instance::running_pid(s).map(|pid| format!("{} (pid {pid})", s.name)))
        .collect();
    if !running.is_empty() {
        return Err(LabError::AlreadyRunning {
            dir,
            detail: format!("{} running", running.join(", ")),
        });
    }
    let mut lab = Lab {
        state,
        quiet: opts.quiet,
    };
    lab.say(&format!(
        "restarting the stopped lab in {} ({} servers; --replicas/--from only apply to new labs)",
        lab.state.dir.display(),
        lab.state.servers.len()
    ));
    if opts.serve_exe.is_some() {
        lab.state.endpoint.exe = opts.serve_exe.clone();
    }
    if opts.flightdeck_exe.is_some() {
        lab.state.flightdeck_exe = opts.flightdeck_exe.clone();
    }
    let result = async {
        start_all(&mut lab, false).await?;
        let root = secrets::read(&lab.state.secret_path(secrets::ROOT))?;
        for s in &mut lab.state.servers {
            s.version = Some(instance::version(s, Some(&root)).await?);
        }
        lab.state.stopped_by_down = false;
        start_endpoint(&mut lab).await?;
        inventory::write(&lab.state)
    }
    .await;
    match result {
        Ok(()) => Ok(lab),
        Err(e) => {
            lab.teardown_blocking();
            Err(e)
        }
    }
}

/// A lab whose first `up` did not finish cannot be restarted or resumed.
pub(crate) fn check_ready(state: &LabState) -> Result<()> {
    if state.ready {
        return Ok(());
    }
    Err(LabError::NotALab {
        dir: state.dir.clone(),
        detail: "a previous `lab up` did not finish (its files are kept for inspection)".into(),
    })
}

/// The lab directory the CLI uses: `--dir`, else `$FLIGHTDECK_LAB_DIR`, else `./lab`.
pub fn default_dir() -> PathBuf {
    std::env::var_os("FLIGHTDECK_LAB_DIR").map_or_else(|| PathBuf::from("lab"), PathBuf::from)
}
