//! What a rule worker may not do, enforced by the kernel rather than by the Python runtime
//! (rule code shares the worker's interpreter, so only the kernel can hold it to anything):
//!
//! - start processes: a system-call filter (seccomp) refuses `fork`, `vfork` and a `clone`
//!   that is not a thread, so a fork bomb, a daemon that escapes the process group, or a
//!   child that inherits the protocol pipes cannot exist (threads still work);
//! - use more than its address space (`RLIMIT_AS`, `--worker-memory`) or more CPU time per
//!   batch than `--rule-timeout` (`RLIMIT_CPU`, moved before every request, so it holds
//!   even when iota itself is gone);
//! - hold capabilities: a worker of an iota running as root runs without any, which, with
//!   iota made non-dumpable, keeps iota's environment and memory (`/proc/<iota>/environ`,
//!   `/proc/<iota>/mem`) out of its reach.

use std::io;
use std::time::Duration;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule,
};

/// The system-call filters a worker runs under, built in iota before the fork (building
/// allocates; installing them between fork and exec must not).
pub(crate) struct Filters {
    no_processes: BpfProgram,
    no_clone3: BpfProgram,
}

impl Filters {
    pub(crate) fn build() -> io::Result<Filters> {
        let arch = std::env::consts::ARCH.try_into().map_err(|_| {
            io::Error::other(format!(
                "rule workers cannot be sandboxed on {}: no system-call filter for it",
                std::env::consts::ARCH
            ))
        })?;
        let not_a_thread = SeccompRule::new(vec![SeccompCondition::new(
            0,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(libc::CLONE_THREAD as u64),
            0,
        )
        .map_err(io::Error::other)?])
        .map_err(io::Error::other)?;
        #[allow(unused_mut)]
        let mut process_calls = vec![(libc::SYS_clone, vec![not_a_thread])];
        #[cfg(target_arch = "x86_64")]
        process_calls.extend([(libc::SYS_fork, vec![]), (libc::SYS_vfork, vec![])]);
        let program = |calls: Vec<(i64, Vec<SeccompRule>)>, errno: i32| {
            SeccompFilter::new(
                calls.into_iter().collect(),
                SeccompAction::Allow,
                SeccompAction::Errno(errno as u32),
                arch,
            )
            .and_then(BpfProgram::try_from)
            .map_err(io::Error::other)
        };
        Ok(Filters {
            no_processes: program(process_calls, libc::EPERM)?,
            // clone3 passes its flags in memory, out of a filter's sight: "not implemented"
            // makes the C library fall back to clone, which the filter can judge.
            no_clone3: program(vec![(libc::SYS_clone3, vec![])], libc::ENOSYS)?,
        })
    }

    /// Installs the filters on the calling process. Async-signal-safe: for `pre_exec`.
    pub(crate) fn install(&self) -> io::Result<()> {
        for program in [&self.no_clone3, &self.no_processes] {
            seccompiler::apply_filter(program).map_err(|err| match err {
                seccompiler::Error::Seccomp(e) | seccompiler::Error::Prctl(e) => e,
                _ => io::Error::from_raw_os_error(libc::EINVAL),
            })?;
        }
        Ok(())
    }
}

/// Drops every capability for good: the bounding set (so that exec cannot grant them back to
/// a root worker), and the ambient set. Async-signal-safe: for `pre_exec`. Without
/// `CAP_SETPCAP` (an unprivileged iota) there is nothing to drop.
pub(crate) fn drop_capabilities() {
    // SAFETY: prctl with integer arguments only.
    unsafe {
        let mut cap = 0;
        while libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) == 0 {
            cap += 1;
        }
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        );
    }
}

/// Makes iota itself non-dumpable: its `/proc/<pid>/environ`, `mem` and the like can then be
/// read only with `CAP_SYS_PTRACE`, which workers do not have. Its environment holds the AWS
/// credentials and may hold output secrets.
pub(crate) fn hide_own_process() {
    // SAFETY: prctl with integer arguments only.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Sets resource limit `resource` to `soft` (the hard limit only ever comes down to meet
/// it). Async-signal-safe: for `pre_exec`.
pub(crate) fn set_limit(
    pid: libc::pid_t,
    resource: libc::__rlimit_resource_t,
    soft: u64,
) -> io::Result<()> {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: prlimit reads and writes the rlimit structs given.
    unsafe {
        if libc::prlimit(pid, resource, std::ptr::null(), &mut current) != 0 {
            return Err(io::Error::last_os_error());
        }
        let soft = soft.min(current.rlim_max);
        let limit = libc::rlimit {
            rlim_cur: soft,
            rlim_max: current.rlim_max,
        };
        if libc::prlimit(pid, resource, &limit, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Gives the worker `pid` a CPU-time budget of `budget` from now: its soft `RLIMIT_CPU`
/// becomes the CPU time it has used plus `budget`, rounded up to the second. Past it the
/// kernel sends SIGXCPU, which ends the worker.
pub(crate) fn limit_cpu_time(pid: u32, budget: Duration) -> io::Result<()> {
    let pid = pid as libc::pid_t;
    let mut clock: libc::clockid_t = 0;
    let mut used = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: both calls write only to the out-parameters given.
    unsafe {
        let rc = libc::clock_getcpuclockid(pid, &mut clock);
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        if libc::clock_gettime(clock, &mut used) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    let used = Duration::new(used.tv_sec as u64, used.tv_nsec as u32);
    set_limit(pid, libc::RLIMIT_CPU, cpu_seconds(used + budget))
}

/// `RLIMIT_CPU` counts whole seconds: a budget is rounded up, and is at least one second.
pub(crate) fn cpu_seconds(time: Duration) -> u64 {
    time.as_secs() + u64::from(time.subsec_nanos() > 0).max(u64::from(time.as_secs() == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_budgets_round_up_to_whole_seconds() {
        assert_eq!(cpu_seconds(Duration::from_millis(1)), 1);
        assert_eq!(cpu_seconds(Duration::ZERO), 1);
        assert_eq!(cpu_seconds(Duration::from_secs(30)), 30);
        assert_eq!(cpu_seconds(Duration::from_millis(30_001)), 31);
    }

    #[test]
    fn a_filtered_process_can_start_threads_but_no_process() {
        use std::os::unix::process::CommandExt;
        let python = crate::worker::process::Interpreter::check(std::path::Path::new("python3"))
            .unwrap()
            .executable;
        let filters = Filters::build().unwrap();
        let mut command = std::process::Command::new(python);
        command.args([
            "-I",
            "-c",
            "import os, subprocess, threading\n\
             t = threading.Thread(target=print, args=('thread',)); t.start(); t.join()\n\
             for start in (os.fork, lambda: subprocess.run(['true'])):\n\
             \x20   try:\n\
             \x20       start()\n\
             \x20       print('started')\n\
             \x20   except PermissionError:\n\
             \x20       print('refused')\n",
        ]);
        // SAFETY: install only makes system calls.
        unsafe { command.pre_exec(move || filters.install()) };
        let output = command.output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "thread\nrefused\nrefused\n",
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
