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
    version,
    about,
    after_help = "Environment:\n  MTL_<SECTION>__<KEY>=VALUE  override a key (e.g. MTL_TRAIN__EPOCHS=3); --set wins over it\n  RUST_LOG                    log filter (e.g. RUST_LOG=mtl=debug); wins over -v/-q\n\nResults go to <output_dir>/<experiment>/<point-id>/seed-<k>/ (output_dir defaults to runs/):\nresolved.toml, history.csv, metrics.csv, comparison.csv. A finished run of the same config\nand seed is not overwritten without --force. The exit status is 1 if any file failed.\n\nEvery key: docs/config.md. The result files: docs/results.md."
)]
struct Cli {
    /// Experiment files to run, in order.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,

    /// Print the plan (models to train) and the shape table; train nothing.
    #[arg(long)]
    dry_run: bool,

    /// Override a key: `--set train.epochs=3`, `--set tasks.parity.weight=0.5`,
    /// `--set trunk.layers.0.out_channels=16`. Repeatable; the value is read as TOML.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,

    /// Train again and replace finished results of the same config and seed.
    #[arg(long)]
    force: bool,

    /// More log output (-v: debug, -vv: trace). `RUST_LOG` takes precedence.
    #[arg(short, long, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    verbose: u8,

    /// Only errors and the final tables; no progress bars.
    #[arg(short, long)]
    quiet: bool,
}

fn main() -> ExitCode {
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
    let options = RunOptions {
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
