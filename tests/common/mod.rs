//! What the end-to-end tests share: running the binary from the crate root.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Output};

pub fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `mtl-run` from the crate root (data paths are relative to it).
pub fn mtl_run<S: AsRef<OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mtl-run"))
        .args(args)
        .current_dir(crate_root())
        .env_remove("RUST_LOG")
        .output()
        .expect("mtl-run starts")
}
