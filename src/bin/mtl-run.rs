//! `mtl-run`: runs multi-task-learning experiments declared in TOML files.

use clap::Parser;
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

    /// Train again and replace finished runs (by default they are skipped).
    #[arg(long)]
    force: bool,

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
    let options = RunOptions {
        jobs: usize::from(cli.jobs),
        overrides: cli.overrides,
        dry_run: cli.dry_run,
        force: cli.force,
        progress,
    };
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
