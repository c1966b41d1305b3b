//! `mtl-run`: runs multi-task-learning experiments declared in TOML files.

use clap::Parser;
use mtl::slurm::Submission;
use mtl::train::ProgressMode;
use mtl::{run_file, RunOptions};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Train a multi-task model and its single-task baselines from each TOML
/// experiment file, and write per-task comparisons under `runs/`.
///
/// Configuration is layered: the file, then `MTL_<SECTION>__<KEY>`
/// environment variables (e.g. `MTL_TRAIN__EPOCHS=1`), then `--set`.
/// See docs/config.md for every key.
#[derive(Parser, Debug)]
#[command(
    name = "mtl-run",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    version,
    about,
    after_help = "Environment:\n  MTL_<SECTION>__<KEY>=VALUE  override a key (e.g. MTL_TRAIN__EPOCHS=3); --set wins over it\n  RUST_LOG                    log filter (e.g. RUST_LOG=mtl=debug); wins over -v/-q\n\nResults go to <output_dir>/<experiment>/ (output_dir defaults to runs/): one folder per point\nand seed (<point-id>/seed-<k>/), shared single-task baselines under baselines/, and\nsummary.csv, comparison.csv and report.md over all of them. Finished runs are skipped, so\nrunning a file again finishes what an interrupted run left; --force trains them again.\nThe exit status is 1 if any file failed.\n\nEvery key: docs/config.md. The result files: docs/results.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Experiment files to run, in order.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,

    /// Train N runs at once. Each run gets `train.threads` compute threads if
    /// set, else the cores divided by N (at least 1), so the runs share the
    /// cores instead of competing for them. The result files are the same as
    /// with --jobs 1.
    #[arg(short, long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    jobs: u16,

    /// Print the points, the plan, the shape table and every run with its
    /// folder and state; train nothing and write nothing.
    #[arg(long)]
    dry_run: bool,

    /// Override a key: `--set train.epochs=3`, `--set tasks.parity.weight=0.5`,
    /// `--set trunk.layers.0.out_channels=16`. Repeatable; the value is read as TOML.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,

    /// Train on DEVICE: `cpu`, or `cuda` (GPU 0, in a build with CUDA:
    /// scripts/build-cuda.sh, docs/gpu.md). The same as `--set train.device="DEVICE"`.
    #[arg(long, value_name = "DEVICE", value_parser = device_name)]
    device: Option<String>,

    /// Train again and replace finished runs (by default they are skipped).
    #[arg(long)]
    force: bool,

    /// Train only run K (1-based, as `--dry-run` numbers them) of the one
    /// FILE, and leave summary.csv and the report to `mtl-run report`: what
    /// each task of a `mtl-run slurm` array runs.
    #[arg(long, value_name = "K", conflicts_with = "jobs")]
    run: Option<usize>,

    /// More log output (-v: debug, -vv: trace). `RUST_LOG` takes precedence.
    #[arg(short, long, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    verbose: u8,

    /// Only errors and the final tables; no progress bars.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Rebuild summary.csv, comparison.csv, report.md and plots/ of an
    /// experiment folder (runs/<experiment>) from its files alone; trains nothing.
    Report {
        /// The experiment folder, e.g. runs/mnist-ablation.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// List every data source, task kind, metric and weighting strategy a
    /// TOML may name in this build, with the crate that provides it.
    Plugins,
    /// Run a sweep on a Slurm cluster as one job array: write the sbatch
    /// scripts under runs/<experiment>/slurm/ (one array task per run, then a
    /// report job) and, with --submit, submit the runs not finished yet.
    /// `--status DIR` shows which runs are finished, running, queued or missing.
    /// See docs/slurm.md.
    #[command(
        after_help = "Resources come from the file's [slurm] section (partition, time, cpus_per_task,\nmem, max_parallel, extra); these options win over it."
    )]
    Slurm(SlurmArgs),
}

#[derive(clap::Args, Debug)]
struct SlurmArgs {
    /// The experiment file.
    #[arg(
        value_name = "FILE",
        required_unless_present = "status",
        conflicts_with = "status"
    )]
    file: Option<PathBuf>,

    /// Submit the runs not finished yet with sbatch (else only write the scripts).
    #[arg(long)]
    submit: bool,

    /// Show the state of every run of an experiment folder (runs/<experiment>).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["submit", "overrides", "partition", "time", "cpus_per_task", "mem", "max_parallel", "sbatch"])]
    status: Option<PathBuf>,

    /// Override a key, as for a local run; every array task gets it too.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,

    /// sbatch's --partition.
    #[arg(long, value_name = "NAME")]
    partition: Option<String>,

    /// Wall-time limit of each run (sbatch's --time, e.g. 30 or 01:30:00).
    #[arg(long, value_name = "TIME")]
    time: Option<String>,

    /// CPUs of each run, and its compute threads unless train.threads is set.
    #[arg(long, value_name = "N")]
    cpus_per_task: Option<u32>,

    /// Memory of each run (sbatch's --mem, e.g. 4G).
    #[arg(long, value_name = "SIZE")]
    mem: Option<String>,

    /// At most N runs at once (sbatch's --array=…%N).
    #[arg(long, value_name = "N")]
    max_parallel: Option<u32>,

    /// One more #SBATCH option, e.g. --sbatch=--account=lab. Repeatable.
    #[arg(long = "sbatch", value_name = "OPTION", allow_hyphen_values = true)]
    sbatch: Vec<String>,
}

/// `--device`: a name `train.device` takes.
fn device_name(name: &str) -> Result<String, String> {
    match mtl::config::DeviceName::parse(name) {
        Some(_) => Ok(name.to_string()),
        None => Err(format!("expected {}", mtl::config::DeviceName::EXPECTED)),
    }
}

/// `mtl-run slurm`: writes, submits or reports on an experiment's job array.
fn slurm(args: SlurmArgs) -> Result<(), mtl::Error> {
    if let Some(dir) = &args.status {
        print!("{}", mtl::slurm::status(dir)?);
        return Ok(());
    }
    let file = args.file.expect("clap requires FILE without --status");
    let options = mtl::slurm::SlurmOptions {
        overrides: args.overrides,
        resources: mtl::config::SlurmConfig {
            partition: args.partition,
            time: args.time,
            cpus_per_task: args.cpus_per_task,
            mem: args.mem,
            max_parallel: args.max_parallel,
            extra: args.sbatch,
        },
        submit: args.submit,
    };
    let scripts = mtl::slurm::write_scripts(&file, &options)?;
    let finished = scripts.runs - scripts.missing.len();
    println!(
        "wrote {}: {} run(s) as one array job ({finished} finished already), and {}, which rebuilds the summaries once the array has ended",
        scripts.array.display(),
        scripts.runs,
        scripts.report.display()
    );
    if !options.submit {
        println!(
            "not submitted (no --submit): the same command with --submit asks for the {} missing run(s); `sh '{}'` submits all of them",
            scripts.missing.len(),
            scripts.submit.display()
        );
        return Ok(());
    }
    let logs = scripts.array.with_file_name("logs");
    match mtl::slurm::submit(&scripts)? {
        Submission::Submitted(s) => {
            println!(
                "submitted array job {} (runs {}) and report job {} (after it)",
                s.array, s.runs, s.report
            );
            if s.busy > 0 {
                println!(
                    "left out {} unfinished run(s) that are queued or running already",
                    s.busy
                );
            }
            println!(
                "follow: mtl-run slurm --status {}; logs: {}",
                scripts.experiment_dir.display(),
                logs.display()
            );
        }
        Submission::AllFinished => println!(
            "all {} runs have finished: nothing submitted (`mtl-run report {}` rebuilds the summaries)",
            scripts.runs,
            scripts.experiment_dir.display()
        ),
        Submission::AllBusy(n) => println!(
            "nothing submitted: the {n} unfinished run(s) are all queued or running already (mtl-run slurm --status {})",
            scripts.experiment_dir.display()
        ),
    }
    Ok(())
}

fn main() -> ExitCode {
    // Stop quietly when stdout is closed early (`mtl-run … --dry-run | head`),
    // as other command-line tools do, instead of panicking in `println!`.
    #[cfg(unix)]
    // SAFETY: restores the default action of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("mtl={level}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .init();

    let progress = if cli.quiet || !std::io::stderr().is_terminal() {
        ProgressMode::Hidden
    } else {
        ProgressMode::Bars
    };
    if let Some(Command::Plugins) = &cli.command {
        print!("{}", mtl::plugins::listing_table());
        return ExitCode::SUCCESS;
    }
    if let Some(Command::Slurm(args)) = cli.command {
        return match slurm(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(Command::Report { dir }) = &cli.command {
        return match mtl::rebuild_report(dir) {
            Ok(summary) => {
                print!("{summary}");
                println!("report: {}", dir.join("report.md").display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    // `mtl-run -q slurm FILE`: a flag before the subcommand makes clap read
    // its name as a file; say so rather than run FILE here.
    for f in &cli.files {
        let name = f.to_string_lossy();
        if ["slurm", "report", "plugins"].contains(&name.as_ref()) && !f.exists() {
            eprintln!(
                "error: `{name}` is a subcommand, not an experiment file: put it first (`mtl-run {name} …`), with its own options after it"
            );
            return ExitCode::FAILURE;
        }
    }
    let mut overrides = cli.overrides;
    if let Some(device) = &cli.device {
        overrides.push(format!("train.device=\"{device}\""));
    }
    let options = RunOptions {
        jobs: usize::from(cli.jobs),
        overrides,
        dry_run: cli.dry_run,
        force: cli.force,
        progress,
        run: cli.run,
    };
    if cli.run.is_some() && cli.files.len() > 1 {
        eprintln!(
            "error: --run K names a run of one experiment file, but {} files were given",
            cli.files.len()
        );
        return ExitCode::FAILURE;
    }
    let mut failed = false;
    for file in &cli.files {
        if let Err(e) = run_file(file, &options) {
            eprintln!("error: {e}");
            failed = true;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
