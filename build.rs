//! Build facts for the report's environment table: the git commit of the
//! source, the dfdx version in Cargo.lock and the compiler.

use std::process::Command;

fn run(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let commit = match run("git", &["rev-parse", "--short=12", "HEAD"]) {
        Some(c) if !c.is_empty() => {
            let dirty = run("git", &["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            format!(
                "{c}{}",
                if dirty {
                    " (with uncommitted changes)"
                } else {
                    ""
                }
            )
        }
        _ => "unknown (not built from a git checkout)".into(),
    };
    let dfdx = std::fs::read_to_string("Cargo.lock")
        .ok()
        .and_then(|lock| {
            let at = lock.find("name = \"dfdx\"\nversion = \"")?;
            let rest = &lock[at + "name = \"dfdx\"\nversion = \"".len()..];
            Some(rest[..rest.find('"')?].to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc = run(&rustc, &["--version"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=BUILT_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=BUILT_DFDX_VERSION={dfdx}");
    println!("cargo:rustc-env=BUILT_RUSTC_VERSION={rustc}");
    for path in [
        ".git/HEAD",
        ".git/index",
        ".git/refs",
        ".git/packed-refs",
        "Cargo.lock",
        "src",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
}
