//! Each server's files: `DIR/serverK/{data, my.cnf, client.cnf, error.log, mariadbd.pid,
//! mariadb.sock}`. my.cnf holds configuration only; build paths go on mariadbd's command line.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::error::{LabError, Result, io};
use super::state::{Role, ServerState};
use super::versions::Build;

/// Longest Unix socket path Linux accepts (`sun_path` is 108 bytes with the NUL).
const MAX_SOCKET_PATH: usize = 107;

/// A new server's state (not started yet) under `lab_dir/name`.
pub fn new_server(
    lab_dir: &Path,
    k: u32,
    role: Role,
    port: u16,
    build: &Build,
) -> Result<ServerState> {
    let name = format!("server{k}");
    let dir = lab_dir.join(&name);
    let socket = dir.join("mariadb.sock");
    if socket.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(LabError::Invalid(format!(
            "the socket path {} is longer than {MAX_SOCKET_PATH} bytes; use a shorter --dir",
            socket.display()
        )));
    }
    Ok(ServerState {
        name,
        server_id: k,
        initial_role: role,
        host: "127.0.0.1".into(),
        port,
        datadir: dir.join("data"),
        socket,
        pid_file: dir.join("mariadbd.pid"),
        error_log: dir.join("error.log"),
        cnf: dir.join("my.cnf"),
        client_cnf: dir.join("client.cnf"),
        dir,
        build: build.clone(),
        version: None,
        pid: None,
        tls: None,
        semi_sync: false,
    })
}

/// The server's my.cnf. `[mariadb]` is read by every MariaDB server version.
pub fn render_my_cnf(s: &ServerState) -> String {
    let mut out = format!(
        "# {name} of a flightdeck lab (initially the {role}).\n\
         # Build paths (basedir, lc-messages-dir, plugin-dir) are given on mariadbd's command line,\n\
         # so an in-place upgrade swaps binaries and leaves this file alone. Save a copy with\n\
         # `flightdeck lab ctl {name} backup-config` before editing.\n\
         [mariadb]\n\
         user                    = root\n\
         datadir                 = {datadir}\n\
         socket                  = {socket}\n\
         pid-file                = {pid}\n\
         log-error               = {log}\n\
         tmpdir                  = {tmp}\n\
         port                    = {port}\n\
         bind-address            = 127.0.0.1\n\
         skip-name-resolve\n\
         server_id               = {id}\n\
         gtid_domain_id          = 0\n\
         log_bin                 = mariadb-bin\n\
         log_slave_updates\n\
         relay_log               = relay-bin\n\
         binlog_format           = ROW\n\
         gtid_strict_mode        = 1\n\
         report_host             = 127.0.0.1\n\
         report_port             = {port}\n\
         innodb_buffer_pool_size = 32M\n\
         innodb_log_file_size    = 8M\n\
         max_connections         = 100\n",
        name = s.name,
        role = s.initial_role,
        datadir = s.datadir.display(),
        socket = s.socket.display(),
        pid = s.pid_file.display(),
        log = s.error_log.display(),
        tmp = s.dir.join("tmp").display(),
        port = s.port,
        id = s.server_id,
    );
    if s.initial_role == Role::Replica {
        out.push_str("read_only               = 1\n");
    }
    if s.semi_sync {
        // Both sides on every server, as a DBA configures a cluster that switches over: the
        // primary waits for an acknowledgement, the replicas give one, and whichever server
        // is promoted needs no change. Built in since MariaDB 10.3; `loose-` lets an older
        // build without the plugin start anyway. The timeout is shorter than MariaDB's 10 s
        // so that a rehearsal stopping the only replica waits 2 s once, then goes on async.
        out.push_str(
            "loose-rpl_semi_sync_master_enabled = ON\n\
             loose-rpl_semi_sync_slave_enabled  = ON\n\
             loose-rpl_semi_sync_master_timeout = 2000\n",
        );
    }
    if let Some(tls) = &s.tls {
        // TLS offered, not required: the lab's own clients use the socket.
        out.push_str(&format!(
            "ssl_cert                = {}\n\
             ssl_key                 = {}\n\
             ssl_ca                  = {}\n",
            tls.cert.display(),
            tls.key.display(),
            tls.ca.display()
        ));
    }
    out
}

/// `[client]` options for root over the socket: `mariadb --defaults-file=DIR/serverK/client.cnf`.
pub fn render_client_cnf(s: &ServerState, root_password: Option<&str>) -> String {
    let mut out = format!(
        "# root over {name}'s socket: mariadb --defaults-file={path}\n\
         [client]\n\
         user     = root\n\
         socket   = {socket}\n",
        name = s.name,
        path = s.client_cnf.display(),
        socket = s.socket.display(),
    );
    if let Some(pw) = root_password {
        out.push_str(&format!("password = {pw}\n"));
    }
    out
}

/// Writes my.cnf and client.cnf (0600: it holds root's password), in a private (0700)
/// `DIR/serverK`: its datadir holds password hashes, binlogs and master.info.
pub fn write_files(s: &ServerState, root_password: Option<&str>) -> Result<()> {
    super::secrets::private_dir(&s.dir)?;
    let tmp = s.dir.join("tmp");
    fs::create_dir_all(&tmp).map_err(io(format!("creating {}", tmp.display())))?;
    fs::write(&s.cnf, render_my_cnf(s)).map_err(io(format!("writing {}", s.cnf.display())))?;
    write_client_cnf(s, root_password)
}

pub fn write_client_cnf(s: &ServerState, root_password: Option<&str>) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&s.client_cnf)
        .map_err(io(format!("writing {}", s.client_cnf.display())))?;
    f.write_all(render_client_cnf(s, root_password).as_bytes())
        .map_err(io(format!("writing {}", s.client_cnf.display())))
}

/// mariadbd's arguments: `--defaults-file` (which must come first) then the build's paths.
pub fn mariadbd_args(s: &ServerState) -> Vec<String> {
    let mut args = vec![format!("--defaults-file={}", s.cnf.display())];
    args.extend(s.build.server_args());
    args
}

/// Makes a tree private: directories 0700, files 0600 (a fresh datadir: mariadb-install-db
/// writes a few files, e.g. mysql_upgrade_info, with its own umask).
pub fn make_private(tree: &Path) -> Result<()> {
    fs::set_permissions(tree, fs::Permissions::from_mode(0o700))
        .map_err(io(format!("chmod 0700 {}", tree.display())))?;
    let entries = fs::read_dir(tree).map_err(io(format!("reading {}", tree.display())))?;
    for entry in entries {
        let entry = entry.map_err(io(format!("reading {}", tree.display())))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(io(format!("reading {}", path.display())))?;
        if kind.is_dir() {
            make_private(&path)?;
        } else if kind.is_file() {
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
                .map_err(io(format!("chmod 0600 {}", path.display())))?;
        }
    }
    Ok(())
}

/// Copies a directory tree of regular files (an initialised datadir).
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).map_err(io(format!("creating {}", to.display())))?;
    let entries = fs::read_dir(from).map_err(io(format!("reading {}", from.display())))?;
    for entry in entries {
        let entry = entry.map_err(io(format!("reading {}", from.display())))?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let kind = entry
            .file_type()
            .map_err(io(format!("reading {}", src.display())))?;
        if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            fs::copy(&src, &dst).map_err(io(format!("copying {}", src.display())))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn build() -> Build {
        Build {
            version: "10.11.18".into(),
            full_version: "10.11.18-MariaDB-0+deb12u1".into(),
            installed: false,
            basedir: "/c/usr".into(),
            mariadbd: "/c/usr/sbin/mariadbd".into(),
            install_db: None,
            upgrade: None,
            lc_messages_dir: Some("/c/usr/share/mysql".into()),
            plugin_dir: None,
        }
    }

    #[test]
    fn replica_cnf_has_replication_settings_and_read_only() {
        let s = new_server(Path::new("/lab"), 2, Role::Replica, 23002, &build()).expect("server");
        let cnf = render_my_cnf(&s);
        for line in [
            "server_id               = 2",
            "port                    = 23002",
            "gtid_strict_mode        = 1",
            "binlog_format           = ROW",
            "log_slave_updates",
            "socket                  = /lab/server2/mariadb.sock",
            "read_only               = 1",
        ] {
            assert!(cnf.lines().any(|l| l == line), "missing {line:?} in\n{cnf}");
        }
        assert_eq!(
            mariadbd_args(&s),
            [
                "--defaults-file=/lab/server2/my.cnf",
                "--basedir=/c/usr",
                "--lc-messages-dir=/c/usr/share/mysql"
            ]
        );
    }

    #[test]
    fn semi_sync_enables_both_sides_on_every_server() {
        for (k, role) in [(1, Role::Primary), (2, Role::Replica)] {
            let mut s = new_server(Path::new("/lab"), k, role, 23000, &build()).expect("server");
            assert!(!render_my_cnf(&s).contains("semi_sync"));
            s.semi_sync = true;
            let cnf = render_my_cnf(&s);
            for line in [
                "loose-rpl_semi_sync_master_enabled = ON",
                "loose-rpl_semi_sync_slave_enabled  = ON",
            ] {
                assert!(cnf.lines().any(|l| l == line), "missing {line:?} in\n{cnf}");
            }
        }
    }

    #[test]
    fn primary_is_writable_and_long_socket_paths_are_refused() {
        let s = new_server(Path::new("/lab"), 1, Role::Primary, 1, &build()).expect("server");
        assert!(!render_my_cnf(&s).contains("read_only"));
        let long = PathBuf::from(format!("/{}", "x".repeat(120)));
        assert!(new_server(&long, 1, Role::Primary, 1, &build()).is_err());
    }
}
