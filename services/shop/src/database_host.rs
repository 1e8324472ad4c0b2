//! The database host of the monolith stages: a PostgreSQL cluster of the stage's own, in a
//! data directory under the shop's data folder, on its own port, pinned to the CPUs the stage
//! gives it. That is how one machine shows the difference a separate database host makes:
//! in the first stage the database and the application compete for the same CPU, in the
//! second each has its own.
//!
//! The read/write split stage adds a hot standby of that cluster: a copy taken with
//! `pg_basebackup -R` into a data directory of its own, started on its own port, streaming
//! the primary's WAL and answering read-only queries.
//!
//! The database-per-business stage runs one such cluster per module.
//!
//! PostgreSQL refuses to run as root; run as root, the cluster belongs to the `postgres`
//! system user.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
};

use anyhow::{Context, bail};
use shop_platform::config::DatabaseUrl;
use tokio::process::Command;

pub struct DatabaseHost {
    data_dir: PathBuf,
    port: u16,
    bin: PathBuf,
    /// The `taskset` CPU list the server runs on, if pinned.
    cpus: Option<String>,
}

/// The system user that owns the cluster when the shop runs as root.
const SERVER_USER: &str = "postgres";

impl DatabaseHost {
    /// Creates the cluster on first use and starts it on `port`, on the CPUs `cpus` (a
    /// `taskset` list such as `1`) when given. A server left running by an earlier run is
    /// restarted, so it runs on the CPUs asked for now.
    pub async fn start(data_dir: &Path, port: u16, cpus: Option<&str>) -> anyhow::Result<Self> {
        let host = Self::at(data_dir, port, cpus)?;
        if !host.data_dir.join("PG_VERSION").exists() {
            host.create().await?;
        }
        if host.pg_ctl(&["status"], None).await.is_ok() {
            tracing::info!(data_dir = %host.data_dir.display(), "restarting the stage's database server left running");
            host.shut_down().await?;
        }
        host.launch().await?;
        tracing::info!(port, cpus = cpus.unwrap_or("any"), data_dir = %host.data_dir.display(), "stage database server started");
        Ok(host)
    }

    /// The cluster in `data_dir`, served on `port` on the CPUs `cpus`, neither created nor started.
    pub fn at(data_dir: &Path, port: u16, cpus: Option<&str>) -> anyhow::Result<Self> {
        Ok(Self {
            data_dir: std::path::absolute(data_dir)?,
            port,
            bin: server_binaries()?,
            cpus: cpus.map(str::to_owned),
        })
    }

    /// Makes a hot standby of `self` in `data_dir` — afresh each time, so it always follows
    /// this primary — and starts it on `port`, on the CPUs `cpus` when given.
    pub async fn start_standby(&self, data_dir: &Path, port: u16, cpus: Option<&str>) -> anyhow::Result<Self> {
        let standby = Self {
            data_dir: std::path::absolute(data_dir)?,
            port,
            bin: self.bin.clone(),
            cpus: cpus.map(str::to_owned),
        };
        if standby.data_dir.exists() {
            // Left by an earlier run, maybe still running: it is replaced either way.
            let _ = standby.pg_ctl(&["stop", "-m", "immediate"], None).await;
            tokio::fs::remove_dir_all(&standby.data_dir).await?;
        }
        standby.create_dir().await?;
        tracing::info!(data_dir = %standby.data_dir.display(), "copying the stage's database server for its standby");
        let mut command = standby.as_server_user(&standby.bin.join("pg_basebackup"));
        command
            .arg("-D")
            .arg(&standby.data_dir)
            .args(["-h", "127.0.0.1", "-U", "postgres", "-p", &self.port.to_string()])
            // -R: standby.signal and primary_conninfo, so it starts as this primary's standby.
            .args(["-R", "-X", "stream", "-c", "fast"]);
        run(command, "pg_basebackup").await?;
        standby.launch().await?;
        tracing::info!(port, primary = self.port, "stage standby started");
        Ok(standby)
    }

    async fn launch(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''",
            self.port
        );
        let log = self.data_dir.join("server.log");
        let log = log.to_str().context("the data directory's path is not UTF-8")?;
        self.pg_ctl(
            &["start", "-w", "-t", "60", "-o", &options, "-l", log],
            self.cpus.as_deref(),
        )
        .await
        .with_context(|| format!("the stage's database server did not start; see {log}"))
    }

    /// The database that holds every module's tables, a schema each (a module's server holds
    /// the module's database instead: this URL `with_database` its name).
    pub fn url(&self) -> DatabaseUrl {
        format!("postgres://postgres@127.0.0.1:{}/shop", self.port)
            .parse()
            .expect("a postgres:// URL")
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn cpus(&self) -> Option<&str> {
        self.cpus.as_deref()
    }

    pub async fn stop(self) {
        if let Err(error) = self.shut_down().await {
            tracing::warn!(%error, "could not stop the stage's database server");
        }
    }

    /// Stops the server (a fast shutdown: sessions are ended, nothing committed is lost), which
    /// [`DatabaseHost::start`] starts again.
    pub async fn shut_down(&self) -> anyhow::Result<()> {
        self.pg_ctl(&["stop", "-m", "fast"], None).await
    }

    /// The data directory, empty, owned by the server's user, for no one else (as the server
    /// insists).
    async fn create_dir(&self) -> anyhow::Result<()> {
        tokio::fs::create_dir_all(&self.data_dir).await?;
        tokio::fs::set_permissions(&self.data_dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).await?;
        if nix::unistd::geteuid().is_root() {
            let status = Command::new("chown")
                .arg(format!("{SERVER_USER}:"))
                .arg(&self.data_dir)
                .status()
                .await?;
            if !status.success() {
                bail!("cannot hand {} to the {SERVER_USER} user", self.data_dir.display());
            }
        }
        Ok(())
    }

    async fn create(&self) -> anyhow::Result<()> {
        self.create_dir().await?;
        tracing::info!(data_dir = %self.data_dir.display(), "creating the stage's database cluster");
        let initdb = self.bin.join("initdb");
        let mut command = self.as_server_user(&initdb);
        command.arg("-D").arg(&self.data_dir).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-instructions",
        ]);
        run(command, "initdb").await
    }

    async fn pg_ctl(&self, args: &[&str], cpus: Option<&str>) -> anyhow::Result<()> {
        let pg_ctl = self.bin.join("pg_ctl");
        let mut command = match cpus {
            Some(cpus) => {
                let mut pinned = self.as_server_user(Path::new("taskset"));
                pinned.args(["-c", cpus]).arg(&pg_ctl);
                pinned
            }
            None => self.as_server_user(&pg_ctl),
        };
        command.arg("-D").arg(&self.data_dir).args(args);
        run(command, "pg_ctl").await
    }

    fn as_server_user(&self, program: &Path) -> Command {
        if nix::unistd::geteuid().is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", SERVER_USER, "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }
}

async fn run(mut command: Command, what: &str) -> anyhow::Result<()> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("cannot run {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// The directory of `initdb` and `pg_ctl`: `pg_config --bindir`, else the newest of Debian's
/// `/usr/lib/postgresql/<version>/bin`.
fn server_binaries() -> anyhow::Result<PathBuf> {
    if let Ok(output) = std::process::Command::new("pg_config").arg("--bindir").output()
        && output.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| Some((entry.file_name().to_str()?.parse().ok()?, entry.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .context("no PostgreSQL server binaries (initdb, pg_ctl) found; install the postgresql package")
}
