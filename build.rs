//! Stamps the git revision into `dialerd --version` (issue 8): operators
//! and bug reports need to know exactly which build runs. Outside a git
//! checkout (a source tarball) the revision is `unknown`; `DIALERD_REVISION`
//! overrides it (packagers building from an export).

use std::process::Command;

fn main() {
    let rev = std::env::var("DIALERD_REVISION").ok().filter(|r| !r.is_empty()).or_else(|| {
        let out = Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().ok()?;
        let rev = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (out.status.success() && !rev.is_empty()).then_some(rev)
    });
    println!("cargo:rustc-env=DIALERD_REVISION={}", rev.as_deref().unwrap_or("unknown"));
    println!("cargo:rerun-if-env-changed=DIALERD_REVISION");
    // A new commit or checkout moves HEAD or the ref it points to (not
    // the index: that would rebuild the crate on every `git add`; so a
    // build with uncommitted changes names the commit it started from).
    if std::path::Path::new(".git/HEAD").exists() {
        println!("cargo:rerun-if-changed=.git/HEAD");
    }
    if let Ok(head) = std::fs::read_to_string(".git/HEAD")
        && let Some(r) = head.strip_prefix("ref: ")
    {
        println!("cargo:rerun-if-changed=.git/{}", r.trim());
    }
}
