//! The help, the version and the shell completions, through the real binary.

mod common;

use common::*;

fn out(p: &Project, args: &[&str]) -> (i32, String) {
    let o = p.bare(args).output().unwrap();
    (code(&o), stdout(&o) + &stderr(&o))
}

#[test]
fn help_lists_the_global_options_once_apart_from_each_commands_own() {
    let p = Project::new(&[]);
    let (c, top) = out(&p, &["--help"]);
    assert_eq!(c, 0, "{top}");
    for option in [
        "--database",
        "--dir",
        "--table",
        "--busy-timeout",
        "--color",
        "--verbose",
    ] {
        assert_eq!(
            top.matches(&format!("{option} ")).count(),
            1,
            "{option}: {top}"
        );
    }
    for command in ["adopt", "baseline", "completions", "up", "down"] {
        assert!(top.contains(&format!("  {command} ")), "{command}: {top}");
    }
    // A subcommand: its own options, then the global ones under their own
    // heading; environment variables without a dangling `=`.
    let (c, up) = out(&p, &["up", "--help"]);
    assert_eq!(c, 0, "{up}");
    let (own, global) = up
        .split_once("Global options:")
        .expect("a heading for the global options");
    assert!(
        own.contains("--dry-run") && !own.contains("--database"),
        "{up}"
    );
    assert!(
        global.contains("--database") && !global.contains("--dry-run"),
        "{up}"
    );
    assert!(
        up.contains("[env: MIGRATE_DATABASE]") && !up.contains("=]"),
        "{up}"
    );
    // `new` lists only what it uses, and still accepts the rest.
    let (c, new) = out(&p, &["new", "--help"]);
    assert_eq!(c, 0, "{new}");
    for unused in ["--database", "--table", "--busy-timeout", "--verbose"] {
        assert!(!new.contains(unused), "{unused}: {new}");
    }
    assert!(new.contains("--dir") && new.contains("--pragmas"), "{new}");
    assert_eq!(out(&p, &["-d", "app.db", "new", "first", "-v"]).0, 0);
    assert!(p.dir.path().join("migrations/0001_first.sql").is_file());
    // `--help` after the name is help, never a file.
    let (c, _) = out(&p, &["new", "second", "--help"]);
    assert_eq!(c, 0);
    assert!(!p.dir.path().join("migrations/0002_second.sql").exists());
}

#[test]
fn version_and_completions() {
    let p = Project::new(&[]);
    let (c, version) = out(&p, &["--version"]);
    assert_eq!(
        (c, version.as_str()),
        (0, concat!("migrate-cli ", env!("CARGO_PKG_VERSION"), "\n"))
    );
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (c, script) = out(&p, &["completions", shell]);
        assert_eq!(c, 0, "{shell}: {script}");
        assert!(
            script.contains("migrate-cli") && script.contains("adopt"),
            "{shell}: {script}"
        );
    }
    let (c, e) = out(&p, &["completions", "tcsh"]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("possible values"), "{e}");
}
