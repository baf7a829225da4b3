//! Starting and killing one Python worker process: scrubbed environment, protocol pipes on
//! fds 3 and 4, the progress record on fd 5, the sandbox of `sandbox.rs`, its own process
//! group, and its stdout/stderr drained into the debug log.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;

use super::protocol::Pipes;
use super::sandbox::{self, Filters};
use super::WorkerConfig;

/// Environment variables a worker may see. Everything else (AWS credentials, tokens, iota's
/// own settings and secrets) is withheld from rule code.
const ALLOWED_ENV: &[&str] = &["PATH", "LANG", "LC_ALL", "LC_CTYPE", "HOME"];

const BOOTSTRAP: &str = "import sys; sys.path.insert(0, sys.argv[1]); \
                         from iota_runtime.worker import main; main()";

/// Which rule on which event a worker was running, as it last wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Progress {
    pub batch_id: u64,
    pub event: i32,
    pub rule: i32,
}

pub(crate) struct Process {
    child: Child,
    pub pipes: Pipes,
    progress: File,
}

impl Process {
    pub(crate) fn spawn(config: &WorkerConfig, label: &str) -> io::Result<Process> {
        let (req_read, req_write) = io::pipe()?;
        let (resp_read, resp_write) = io::pipe()?;
        let progress = tempfile::tempfile()?;
        progress.set_len(16)?;

        let child_fds: [OwnedFd; 3] = [
            req_read.into(),
            resp_write.into(),
            progress.try_clone()?.into(),
        ];
        let raw: [i32; 3] = [
            child_fds[0].as_raw_fd(),
            child_fds[1].as_raw_fd(),
            child_fds[2].as_raw_fd(),
        ];
        let memory_limit = config.memory_limit_bytes;
        let startup_cpu = sandbox::cpu_seconds(config.startup_timeout);
        let filters = Filters::build()?;

        let mut command = Command::new(&config.python);
        command.arg("-I");
        match &config.bytecode_cache {
            Some(dir) => command.arg("-X").arg(pycache_prefix(dir)),
            None => command.arg("-B"),
        };
        command
            .arg("-c")
            .arg(BOOTSTRAP)
            .arg(&config.runtime_dir)
            .env_clear()
            .envs(
                ALLOWED_ENV
                    .iter()
                    .filter_map(|k| std::env::var_os(k).map(|v| (*k, v))),
            )
            .env("TZ", "UTC")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        // SAFETY: only async-signal-safe calls (fcntl, dup2, prlimit, prctl, seccomp) between
        // fork and exec.
        unsafe {
            command.pre_exec(move || {
                // Move the sources above 9 first so that dup2 onto 3..5 cannot clobber one.
                let mut high = [0i32; 3];
                for (i, fd) in raw.iter().enumerate() {
                    high[i] = libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, 10);
                    if high[i] < 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                for (i, fd) in high.iter().enumerate() {
                    if libc::dup2(*fd, 3 + i as i32) < 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                if let Some(limit) = memory_limit {
                    let rl = libc::rlimit {
                        rlim_cur: limit,
                        rlim_max: limit,
                    };
                    if libc::setrlimit(libc::RLIMIT_AS, &rl) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                // Importing the rules is the first request; each later one moves the limit.
                sandbox::set_limit(0, libc::RLIMIT_CPU, startup_cpu)?;
                sandbox::drop_capabilities();
                filters.install()
            });
        }
        let mut child = command.spawn()?;
        // The child has its copies; ours must close so EOF is seen when it exits.
        drop(child_fds);

        for (stream, name) in [
            (
                child
                    .stdout
                    .take()
                    .map(|s| Box::new(s) as Box<dyn Read + Send>),
                "stdout",
            ),
            (
                child
                    .stderr
                    .take()
                    .map(|s| Box::new(s) as Box<dyn Read + Send>),
                "stderr",
            ),
        ] {
            if let Some(stream) = stream {
                drain(stream, format!("{label} {name}"))?;
            }
        }
        Ok(Process {
            child,
            pipes: Pipes::new(req_write.into(), resp_read.into())?,
            progress,
        })
    }

    pub(crate) fn progress(&self) -> Option<Progress> {
        let mut buf = [0u8; 16];
        self.progress.read_exact_at(&mut buf, 0).ok()?;
        Some(Progress {
            batch_id: u64::from_le_bytes(buf[0..8].try_into().ok()?),
            event: i32::from_le_bytes(buf[8..12].try_into().ok()?),
            rule: i32::from_le_bytes(buf[12..16].try_into().ok()?),
        })
    }

    /// Kills the whole process group (a rule may have forked) and reaps the worker.
    pub(crate) fn kill(mut self) -> Option<ExitStatus> {
        let pgid = self.child.id() as i32;
        // SAFETY: signalling our own child's process group.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
        self.child.wait().ok()
    }

    /// The exit status if the worker has already exited.
    pub(crate) fn try_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Allows the worker `budget` of CPU time from now on (its next request).
    pub(crate) fn limit_cpu_time(&self, budget: std::time::Duration) -> io::Result<()> {
        sandbox::limit_cpu_time(self.child.id(), budget)
    }
}

/// Rule output is diagnostics for rule authors, never data: it goes to the debug log, one
/// line at a time, and is read continuously so a print flood cannot block the worker.
fn drain(mut stream: Box<dyn Read + Send>, label: String) -> io::Result<()> {
    thread::Builder::new()
        .name(format!("drain {label}"))
        .spawn(move || {
            // Fixed-size reads: a gigantic line without a newline must not grow a buffer.
            let mut chunk = vec![0u8; 16 * 1024];
            loop {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tracing::enabled!(target: "iota::rule_output", tracing::Level::DEBUG) {
                            for line in String::from_utf8_lossy(&chunk[..n]).lines() {
                                let line: String = line.chars().take(1000).collect();
                                tracing::debug!(target: "iota::rule_output", worker = %label, "{line}");
                            }
                        }
                    }
                }
            }
        })?;
    Ok(())
}

fn pycache_prefix(dir: &Path) -> std::ffi::OsString {
    let mut option = std::ffi::OsString::from("pycache_prefix=");
    option.push(dir);
    option
}

/// A Python 3 interpreter, as it describes itself.
pub struct Interpreter {
    pub version: String,
    /// The interpreter binary itself (`sys.executable`): workers run it directly, since a
    /// launcher script in between (a pyenv shim, say) would need to start processes, which
    /// a worker may not.
    pub executable: std::path::PathBuf,
}

/// Checks that `python` exists and is Python 3, for a clear error before any worker starts.
fn check_python(python: &Path) -> Result<Interpreter, String> {
    let output = Command::new(python)
        .arg("-I")
        .arg("-c")
        .arg("import sys; print('%d.%d.%d' % sys.version_info[:3]); print(sys.executable)")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let version = lines.next().unwrap_or_default().trim().to_string();
    if !output.status.success() || !version.starts_with('3') {
        return Err(format!(
            "{} is not a working Python 3 interpreter (got {:?})",
            python.display(),
            version
        ));
    }
    let executable = match lines.next().map(str::trim) {
        Some(path) if !path.is_empty() => path.into(),
        _ => python.to_path_buf(),
    };
    Ok(Interpreter {
        version,
        executable,
    })
}

impl Interpreter {
    /// Runs `python` once to check that it is a working Python 3 and to learn its version and
    /// the binary behind it. Nothing else of a run needs it, so callers may do this while
    /// they load the rules.
    pub fn check(python: &Path) -> Result<Interpreter, super::WorkerError> {
        check_python(python).map_err(super::WorkerError::Python)
    }
}
