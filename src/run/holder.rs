//! Who is training a run folder: `running.txt`, written when a run starts
//! and removed when it finishes. A folder that holds one but no
//! `metrics.csv` was left by a run that is still going, or by one that was
//! killed (a scheduler's time limit, preemption, Ctrl-C): which, is told by
//! asking Slurm about the job, or the operating system about the process.

use crate::error::{Error, Result};
use crate::results::{hostname, write_atomic};
use std::path::Path;
use std::process::Command;

pub const FILE: &str = "running.txt";

/// The process (and the Slurm job, if any) training a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    /// `<array job>_<task>` or `<job>`, when started by Slurm.
    pub slurm_job: Option<String>,
}

impl Holder {
    /// This process.
    pub fn me() -> Holder {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let slurm_job = match (var("SLURM_ARRAY_JOB_ID"), var("SLURM_ARRAY_TASK_ID")) {
            (Some(array), Some(task)) => Some(format!("{array}_{task}")),
            _ => var("SLURM_JOB_ID"),
        };
        Holder {
            host: hostname(),
            pid: std::process::id(),
            slurm_job,
        }
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        let mut text = format!("host={}\npid={}\n", self.host, self.pid);
        if let Some(job) = &self.slurm_job {
            text.push_str(&format!("slurm_job={job}\n"));
        }
        write_atomic(&dir.join(FILE), text.as_bytes())
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
            slurm_job: field("slurm_job"),
        })
    }

    /// Whether the holder is still training. A Slurm job is asked of
    /// `squeue`; a process on this host, of the kernel. A process on another
    /// host with no Slurm job cannot be asked: it counts as gone, so its
    /// folder is trained again rather than trusted.
    pub fn is_alive(&self) -> bool {
        self.is_alive_seen_by(&Holder::me())
    }

    fn is_alive_seen_by(&self, me: &Holder) -> bool {
        // This process, or an earlier start of this very Slurm job (requeued
        // after preemption or a node failure): nothing else holds the run.
        if self.pid == me.pid && self.host == me.host
            || self.slurm_job.is_some() && self.slurm_job == me.slurm_job
        {
            return false;
        }
        if let Some(job) = &self.slurm_job {
            if let Some(state) = slurm_state(job) {
                return matches!(state.as_str(), "RUNNING" | "COMPLETING" | "SUSPENDED");
            }
        }
        if self.host != me.host {
            return false;
        }
        // SAFETY: signal 0 only checks that the process exists.
        unsafe { libc::kill(self.pid as libc::pid_t, 0) == 0 }
    }

    pub fn describe(&self) -> String {
        match &self.slurm_job {
            Some(job) => format!("Slurm job {job} (pid {} on {})", self.pid, self.host),
            None => format!("pid {} on {}", self.pid, self.host),
        }
    }
}

/// The state `squeue` reports for `job` (empty output: the job has left
/// the queue, so `Some("")`); `None` if squeue cannot be asked.
pub fn slurm_state(job: &str) -> Option<String> {
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

/// Refuses to start a run another live process is training.
pub fn check_free(dir: &Path) -> Result<()> {
    match Holder::read(dir) {
        Some(h) if h.is_alive() => Err(Error::Output {
            path: dir.to_path_buf(),
            message: format!(
                "this run is being trained by {}; not starting a second copy (wait for it, or stop it first)",
                h.describe()
            ),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_reads_back_and_a_dead_one_is_not_alive() {
        let dir = tempfile::tempdir().unwrap();
        let me = Holder::me();
        me.write(dir.path()).unwrap();
        assert_eq!(Holder::read(dir.path()), Some(me.clone()));
        // This very process never blocks itself (a rerun after its own failure).
        assert!(check_free(dir.path()).is_ok());

        // A finished child: its pid is free, so its folder is not held.
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let dead = Holder {
            pid,
            slurm_job: None,
            ..me.clone()
        };
        assert!(!dead.is_alive());

        // A live child on this host holds the folder.
        let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
        let live = Holder {
            pid: sleeper.id(),
            slurm_job: None,
            ..me
        };
        live.write(dir.path()).unwrap();
        let err = check_free(dir.path()).unwrap_err().to_string();
        assert!(err.contains(&format!("pid {}", sleeper.id())), "{err}");
        sleeper.kill().unwrap();
        sleeper.wait().unwrap();
        assert!(check_free(dir.path()).is_ok());
    }

    #[test]
    fn a_requeued_slurm_job_does_not_block_itself() {
        // The earlier start of this job left its pid; say that pid is live.
        let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
        let mut me = Holder::me();
        me.slurm_job = Some("41_3".into());
        let earlier = Holder {
            pid: sleeper.id(),
            ..me.clone()
        };
        assert!(
            !earlier.is_alive_seen_by(&me),
            "the same job, started again"
        );
        let without_job = Holder {
            slurm_job: None,
            ..earlier.clone()
        };
        assert!(without_job.is_alive_seen_by(&me), "a live process here");
        sleeper.kill().unwrap();
        sleeper.wait().unwrap();
    }

    #[test]
    fn a_holder_on_another_host_without_slurm_counts_as_gone() {
        let h = Holder {
            host: format!("{}-elsewhere", hostname()),
            pid: 1,
            slurm_job: None,
        };
        assert!(!h.is_alive());
    }
}
