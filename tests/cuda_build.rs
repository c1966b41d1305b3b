//! The CUDA build of `scripts/build-cuda.sh`, on a machine without a GPU: it
//! trains on the CPU exactly as the CPU build does, and `--device cuda` is
//! one clear error with nothing written.
//!
//! `.ci/run` builds it and sets `CUDA_BUILD_BIN` (the binary),
//! `CUDA_BUILD_LIBRARY_PATH` (the wheels' CUDA libraries and the driver stub)
//! and `REQUIRE_CUDA_BUILD=1`, so there these tests fail rather than skip.
//! Elsewhere, without `CUDA_BUILD_BIN`, they say they were skipped.

mod common;
use common::{crate_root, mtl_run};

use std::path::Path;
use std::process::{Command, Output};

/// Runs the CUDA build, if there is one.
fn cuda_run(test: &str, args: &[String]) -> Option<Output> {
    let Some(bin) = std::env::var_os("CUDA_BUILD_BIN") else {
        assert!(
            std::env::var_os("REQUIRE_CUDA_BUILD").is_none(),
            "{test}: REQUIRE_CUDA_BUILD is set but CUDA_BUILD_BIN is not"
        );
        eprintln!("{test}: skipped, no CUDA build (CUDA_BUILD_BIN unset; scripts/build-cuda.sh)");
        return None;
    };
    let libraries = std::env::var_os("CUDA_BUILD_LIBRARY_PATH").unwrap_or_default();
    Some(
        Command::new(bin)
            .args(args)
            .current_dir(crate_root())
            .env("LD_LIBRARY_PATH", libraries)
            .env_remove("RUST_LOG")
            .output()
            .expect("the CUDA build starts"),
    )
}

fn args(out: &Path, device: &str) -> Vec<String> {
    [
        "experiments/digits8x8.toml",
        "-q",
        "--device",
        device,
        "--set",
        "train.epochs=2",
        "--set",
        "train.threads=1",
        "--set",
        &format!("experiment.output_dir=\"{}\"", out.display()),
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn cuda_without_a_gpu_is_one_clear_error_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("runs");
    let test = "cuda_without_a_gpu_is_one_clear_error_and_writes_nothing";
    let Some(o) = cuda_run(test, &args(&out, "cuda")) else {
        return;
    };
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    for part in [
        "train.device = \"cuda\": no usable CUDA GPU",
        "CUDA_ERROR_STUB_LIBRARY",
        "--device cpu",
    ] {
        assert!(errors[0].contains(part), "`{part}` missing from: {err}");
    }
    assert!(!out.exists(), "results were written: {err}");
}

#[test]
fn the_cuda_build_trains_on_the_cpu_exactly_as_the_cpu_build() {
    let tmp = tempfile::tempdir().unwrap();
    let test = "the_cuda_build_trains_on_the_cpu_exactly_as_the_cpu_build";
    let (cuda_out, cpu_out) = (tmp.path().join("cuda"), tmp.path().join("cpu"));
    let Some(o) = cuda_run(test, &args(&cuda_out, "cpu")) else {
        return;
    };
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = mtl_run(&args(&cpu_out, "cpu"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let read =
        |root: &Path| std::fs::read_to_string(root.join("digits8x8/comparison.csv")).unwrap();
    assert_eq!(read(&cuda_out), read(&cpu_out));
    let env = std::fs::read_to_string(cuda_out.join("digits8x8/environment.csv")).unwrap();
    assert!(env.contains("cuda_build,true"), "{env}");
    assert!(env.contains("device,cpu"), "{env}");
}
