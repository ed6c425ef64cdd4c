//! Tells the binary which commit it is built from (`tp-invite --version`): the short hash of
//! HEAD, or "unknown" outside a git checkout (a source archive, a crate).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

fn main() {
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=TP_INVITE_COMMIT={commit}");
    // Built again when HEAD moves (a commit, a checkout), not on every build. A file that
    // does not exist would make cargo run this on every build: only existing ones are named.
    let branch = git(&["symbolic-ref", "-q", "HEAD"]);
    let files = ["HEAD", "packed-refs"].into_iter().map(str::to_string).chain(branch);
    for path in files.filter_map(|file| git(&["rev-parse", "--git-path", &file])) {
        if std::path::Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
