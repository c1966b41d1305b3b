//! Who is training a run folder: `running.txt`, created (exclusively) when
//! a run starts and removed by the same process when it finishes. A folder
//! that holds one but no `metrics.csv` was left by a run that is still
//! going, or by one that was killed (a scheduler's time limit, preemption,
//! Ctrl-C): which, is told by asking Slurm about the job, or the operating
//! system about the process.

use crate::error::{Error, Result};
use crate::results::hostname;
use std::io::Write;
use std::path::Path;
use std::process::Command;

pub const FILE: &str = "running.txt";

/// The process (and the Slurm job, if any) training a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    /// The process's start time (clock ticks after boot), so that a reused
    /// pid is not taken for the holder.
    pub started: Option<u64>,
    /// `<array job>_<task>` or `<job>`, when started by Slurm.
    pub slurm_job: Option<String>,
}

/// Whether a holder still trains its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Alive,
    Gone,
    /// Slurm could not be asked about its job.
    Unknown,
}

/// Slurm job states after which a job no longer runs.
const ENDED: [&str; 9] = [
    "COMPLETED",
    "CANCELLED",
    "FAILED",
    "TIMEOUT",
    "NODE_FAIL",
    "PREEMPTED",
    "OUT_OF_MEMORY",
    "BOOT_FAIL",
    "DEADLINE",
];

/// Whether a state `squeue` lists is one of a job still queued or running.
pub fn is_live_state(state: &str) -> bool {
    !state.is_empty() && !ENDED.contains(&state)
}

impl Holder {
    /// This process.
    pub fn me() -> Holder {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let slurm_job = match (var("SLURM_ARRAY_JOB_ID"), var("SLURM_ARRAY_TASK_ID")) {
            (Some(array), Some(task)) => Some(format!("{array}_{task}")),
            _ => var("SLURM_JOB_ID"),
        };
        let pid = std::process::id();
        Holder {
            host: hostname(),
            pid,
            started: start_time(pid),
            slurm_job,
        }
    }

    fn text(&self) -> String {
        let mut text = format!("host={}\npid={}\n", self.host, self.pid);
        if let Some(t) = self.started {
            text.push_str(&format!("started={t}\n"));
        }
        if let Some(job) = &self.slurm_job {
            text.push_str(&format!("slurm_job={job}\n"));
        }
        text
    }

    /// The holder recorded in `dir`, if any.
    pub fn read(dir: &Path) -> Option<Holder> {
        let text = std::fs::read_to_string(dir.join(FILE)).ok()?;
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(str::to_string)
        };
        Some(Holder {
            host: field("host")?,
            pid: field("pid")?.parse().ok()?,
            started: field("started").and_then(|t| t.parse().ok()),
            slurm_job: field("slurm_job"),
        })
    }

    /// Whether the holder still trains. A Slurm job is asked of `squeue`; a
    /// process on this host, of the kernel. A process on another host with
    /// no Slurm job cannot be asked: it counts as gone, so its folder is
    /// trained again rather than trusted.
    pub fn liveness(&self) -> Liveness {
        self.liveness_seen_by(&Holder::me())
    }

    fn liveness_seen_by(&self, me: &Holder) -> Liveness {
        if self.pid == me.pid && self.host == me.host {
            return Liveness::Gone; // this process: a rerun after its own failure
        }
        let same_host = self.host == me.host;
        let process = || {
            if same_host && process_is(self.pid, self.started) {
                Liveness::Alive
            } else {
                Liveness::Gone
            }
        };
        if let Some(job) = &self.slurm_job {
            // The same job again: requeued (another pid, or another node), unless
            // its earlier process still runs here (two steps of one allocation).
            if me.slurm_job.as_ref() == Some(job) {
                return process();
            }
            return match slurm_state(job) {
                Some(state) if is_live_state(&state) => Liveness::Alive,
                Some(_) => Liveness::Gone,
                None if same_host => process(),
                None => Liveness::Unknown,
            };
        }
        process()
    }

    pub fn describe(&self) -> String {
        match &self.slurm_job {
            Some(job) => format!("Slurm job {job} (pid {} on {})", self.pid, self.host),
            None => format!("pid {} on {}", self.pid, self.host),
        }
    }
}

/// Field 22 of `/proc/<pid>/stat`: when the process started.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Whether process `pid` exists here and, if `started` is known, is the one
/// that started then (not a later process given the same pid).
fn process_is(pid: u32, started: Option<u64>) -> bool {
    let Ok(raw) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if raw <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let exists = unsafe { libc::kill(raw, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    exists && (started.is_none() || start_time(pid) == started || start_time(pid).is_none())
}

/// The state `squeue` reports for `job` (empty: the job has left the
/// queue); `None` if squeue cannot be asked.
fn slurm_state(job: &str) -> Option<String> {
    let out = Command::new("squeue")
        .args(["-h", "-j", job, "-o", "%T"])
        .output()
        .ok()?;
    if !out.status.success() {
        // squeue fails for a job id it no longer knows.
        let err = String::from_utf8_lossy(&out.stderr);
        return err.contains("Invalid job id").then(String::new);
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string(),
    )
}

/// Makes this process the holder of `dir`: refuses if a live (or unknown)
/// holder trains it; replaces a gone one. `running.txt` is created with
/// O_EXCL, so of two processes claiming at once only one wins.
pub fn take(dir: &Path) -> Result<()> {
    let busy = |h: &Holder, why: &str| Error::Output {
        path: dir.to_path_buf(),
        message: format!(
            "this run is {why} {}; not starting a second copy (wait for it, or stop it first)",
            h.describe()
        ),
    };
    let path = dir.join(FILE);
    if let Some(h) = Holder::read(dir) {
        match h.liveness() {
            Liveness::Alive => return Err(busy(&h, "being trained by")),
            Liveness::Unknown => {
                return Err(busy(
                    &h,
                    "held by a job Slurm could not be asked about (squeue did not answer):",
                ))
            }
            Liveness::Gone => {
                let _ = std::fs::remove_file(&path);
            }
        }
    } else if path.exists() {
        // Unreadable or half-written: another claim is writing it this moment, or one died doing so.
        let age = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok());
        if age.is_some_and(|a| a.as_secs() < 60) {
            return Err(Error::Output {
                path: dir.to_path_buf(),
                message:
                    "another process is claiming this run right now; not starting a second copy"
                        .into(),
            });
        }
        let _ = std::fs::remove_file(&path);
    }
    let me = Holder::me();
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path);
    match created {
        Ok(mut f) => f
            .write_all(me.text().as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(&path, "cannot record who trains this run", e)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::Output {
            path: dir.to_path_buf(),
            message:
                "another process claimed this run at the same moment; not starting a second copy"
                    .into(),
        }),
        Err(e) => Err(Error::io(&path, "cannot record who trains this run", e)),
    }
}

/// Removes `running.txt` if this process holds `dir`.
pub fn release(dir: &Path) {
    let me = Holder::me();
    if Holder::read(dir).is_some_and(|h| h.pid == me.pid && h.host == me.host) {
        let _ = std::fs::remove_file(dir.join(FILE));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sleeper() -> std::process::Child {
        Command::new("sleep").arg("30").spawn().unwrap()
    }

    #[test]
    fn a_run_is_taken_once_and_released_by_its_holder_only() {
        let dir = tempfile::tempdir().unwrap();
        take(dir.path()).unwrap();
        assert_eq!(Holder::read(dir.path()), Some(Holder::me()));
        // This very process never blocks itself (a rerun after its own failure).
        take(dir.path()).unwrap();

        // A live process on this host holds the folder.
        let mut s = sleeper();
        let live = Holder {
            pid: s.id(),
            started: start_time(s.id()),
            slurm_job: None,
            ..Holder::me()
        };
        std::fs::write(dir.path().join(FILE), live.text()).unwrap();
        let err = take(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(&format!("being trained by pid {}", s.id())),
            "{err}"
        );
        release(dir.path());
        assert!(dir.path().join(FILE).exists(), "not ours to remove");
        s.kill().unwrap();
        s.wait().unwrap();
        // Gone now: its folder is taken over.
        take(dir.path()).unwrap();
        release(dir.path());
        assert!(!dir.path().join(FILE).exists());
    }

    #[test]
    fn a_reused_pid_is_not_the_holder() {
        let mut s = sleeper();
        let earlier = Holder {
            pid: s.id(),
            started: start_time(s.id()).map(|t| t + 1), // another process's start
            slurm_job: None,
            ..Holder::me()
        };
        assert_eq!(earlier.liveness(), Liveness::Gone);
        let same = Holder {
            started: start_time(s.id()),
            ..earlier
        };
        assert_eq!(same.liveness(), Liveness::Alive);
        s.kill().unwrap();
        s.wait().unwrap();
    }

    #[test]
    fn a_requeued_slurm_job_does_not_block_itself_but_a_live_step_of_it_does() {
        let mut me = Holder::me();
        me.slurm_job = Some("41_3".into());
        // The earlier start of this job, on another node (or its pid is gone).
        let requeued = Holder {
            host: format!("{}-elsewhere", me.host),
            pid: me.pid + 1,
            ..me.clone()
        };
        assert_eq!(requeued.liveness_seen_by(&me), Liveness::Gone);
        // Another live process of the same job here: two steps of one allocation.
        let mut s = sleeper();
        let step = Holder {
            pid: s.id(),
            started: start_time(s.id()),
            ..me.clone()
        };
        assert_eq!(step.liveness_seen_by(&me), Liveness::Alive);
        s.kill().unwrap();
        s.wait().unwrap();
    }

    #[test]
    fn a_holder_on_another_host_without_slurm_counts_as_gone() {
        let h = Holder {
            host: format!("{}-elsewhere", hostname()),
            pid: 1,
            started: None,
            slurm_job: None,
        };
        assert_eq!(h.liveness(), Liveness::Gone);
    }

    #[test]
    fn ended_slurm_states_are_not_live() {
        assert!(
            is_live_state("RUNNING") && is_live_state("REQUEUE_HOLD") && is_live_state("SUSPENDED")
        );
        assert!(!is_live_state("COMPLETED") && !is_live_state("CANCELLED") && !is_live_state(""));
    }
}
