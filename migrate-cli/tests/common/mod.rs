//! Helpers shared by the CLI tests: a project folder and the real binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_migrate-cli");

pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new(files: &[(&str, &str)]) -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("migrations")).unwrap();
        let p = Project { dir };
        for (name, text) in files {
            p.write(name, text);
        }
        p
    }

    /// Writes `migrations/<name>`; `name` may hold a folder (diesel's
    /// `2024-01-31-120000_users/up.sql`).
    pub fn write(&self, name: &str, text: &str) {
        let path = self.dir.path().join("migrations").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("app.db")
    }

    /// Runs the binary in the project dir with `--database app.db`.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// The binary in the project dir, with no `--database`.
    pub fn bare(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(self.dir.path())
            .env_remove("MIGRATE_DATABASE")
            .env_remove("MIGRATE_DIR")
            .env_remove("DATABASE_URL")
            .args(args);
        c
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(self.dir.path())
            .env_remove("MIGRATE_DATABASE")
            .env_remove("MIGRATE_DIR")
            .env_remove("DATABASE_URL")
            .args(["--database", "app.db"])
            .args(args);
        c
    }
}

/// Runs the binary with `--database app.db`; it must exit 0. Its stdout.
pub fn ok(p: &Project, args: &[&str]) -> String {
    let out = p.cli(args);
    assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// The database file's bytes, or `None` when it does not exist.
pub fn bytes(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

/// Runs `args`, expecting exit `want` and every one of `says` in stderr
/// (or stdout, for reports); the database must not change.
pub fn refuses(p: &Project, args: &[&str], want: i32, says: &[&str]) -> Output {
    let before = bytes(&p.db());
    let out = p.cli(args);
    let (o, e) = (stdout(&out), stderr(&out));
    assert_eq!(code(&out), want, "{args:?}\nstdout: {o}\nstderr: {e}");
    assert!(!e.contains("panicked"), "{e}");
    for s in says {
        assert!(
            e.contains(s) || o.contains(s),
            "{args:?}: expected {s:?}\nstdout: {o}\nstderr: {e}"
        );
    }
    assert!(bytes(&p.db()) == before, "{args:?} changed the database");
    out
}

/// [`refuses`] with exit 1, for a refusal that says it changed nothing.
pub fn refused(p: &Project, args: &[&str], says: &[&str]) {
    let mut says = says.to_vec();
    says.push("nothing was changed");
    refuses(p, args, 1, &says);
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

/// Starts every command at once and waits for all: each must exit 0 with no
/// lock error on stderr (no SQLITE_BUSY may reach a user).
pub fn run_at_once(commands: Vec<Command>, context: &str) {
    let children: Vec<_> = commands
        .into_iter()
        .map(|mut c| {
            c.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let (o, e) = (stdout(&out), stderr(&out));
        assert_eq!(code(&out), 0, "{context}: stdout: {o}\nstderr: {e}");
        assert!(
            !e.contains("locked") && !e.contains("busy"),
            "{context}: SQLITE_BUSY escaped: {e}"
        );
    }
}

/// Runs `args` as an unprivileged user when the tests run as root (root
/// ignores file permissions), so that read-only files are read-only.
pub fn as_unprivileged(p: &Project, args: &[&str]) -> Option<Output> {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .ok()?
        .stdout
        == b"0\n";
    let mut cmd = if root {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN]);
        c
    } else {
        std::process::Command::new(BIN)
    };
    cmd.current_dir(p.dir.path())
        .args(["--database", "app.db"])
        .args(args);
    cmd.output().ok().filter(|o| o.status.code() != Some(127))
}

/// The real dbmate: `$DBMATE`, or `dbmate` on the PATH. `CI=true` needs it
/// (`.ci/run` installs it); elsewhere its absence is said on stderr, with
/// what the test does instead (`instead`).
#[allow(dead_code)]
pub fn dbmate(instead: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("DBMATE")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|d| d.join("dbmate"))
                .find(|p| p.is_file())
        })
        .filter(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true, and dbmate is not installed: .ci/run installs it (npm install dbmate)"
        );
        eprintln!("NOTE: dbmate is not installed; {instead}");
    }
    found
}
