//! migrate-bench: migrate side by side with raw rusqlite (the limit),
//! refinery and rusqlite_migration, on the same generated migrations, in one
//! run. Writes the table to BENCHMARKS.md.
//!
//! ```sh
//! cargo run --release --manifest-path bench/Cargo.toml              # full run, writes BENCHMARKS.md
//! cargo run --release --manifest-path bench/Cargo.toml -- --quick   # smaller sizes, fewer repetitions
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// The contenders, in the order of the table's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Raw,
    Migrate,
    Refinery,
    RusqliteMigration,
    /// Raw rusqlite plus a history row of migrate's shape in the same
    /// transaction: the floor for any tool that records what it applied.
    RawRow,
}

const ALL: [Who; 5] = [
    Who::Raw,
    Who::Migrate,
    Who::Refinery,
    Who::RusqliteMigration,
    Who::RawRow,
];

/// A history table of migrate's shape, for [`Who::RawRow`].
const RAW_HISTORY: &str = "CREATE TABLE IF NOT EXISTS history (version INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms INTEGER NOT NULL)";
const RAW_RECORD: &str =
    "INSERT INTO history VALUES (?1, ?2, 'sql', ?3, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0)";

impl Who {
    fn name(self) -> &'static str {
        match self {
            Who::Raw => "raw rusqlite",
            Who::Migrate => "migrate",
            Who::Refinery => "refinery 0.10",
            Who::RusqliteMigration => "rusqlite_migration 2.6",
            Who::RawRow => "raw + a history row (floor)",
        }
    }
}

/// N generated migrations: each a CREATE TABLE, a CREATE INDEX and an INSERT
/// of 10 rows.
struct Workload {
    n: usize,
    sqls: Vec<String>,
    /// The same files, for migrate's loader.
    dir: PathBuf,
    migrate: migrate_core::Migrations,
    refinery: Vec<refinery::Migration>,
}

impl Workload {
    fn new(n: usize, root: &Path) -> Workload {
        let sqls: Vec<String> = (1..=n)
            .map(|i| {
                let rows: Vec<String> = (1..=10).map(|r| format!("({r}, 'row {r} of {i}', {})", r * i)).collect();
                format!(
                    "CREATE TABLE t{i} (id INTEGER PRIMARY KEY, label TEXT NOT NULL, amount INTEGER NOT NULL);\n\
                     CREATE INDEX idx_t{i}_amount ON t{i} (amount);\n\
                     INSERT INTO t{i} (id, label, amount) VALUES {};\n",
                    rows.join(", ")
                )
            })
            .collect();
        let dir = root.join(format!("migrations-{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        for (i, sql) in sqls.iter().enumerate() {
            std::fs::write(dir.join(format!("{:04}_t{}.sql", i + 1, i + 1)), sql).unwrap();
        }
        let migrate = migrate_core::Migrations::from_dir(&dir).unwrap();
        let refinery = sqls
            .iter()
            .enumerate()
            .map(|(i, sql)| {
                refinery::Migration::unapplied(&format!("V{}__t{}", i + 1, i + 1), sql).unwrap()
            })
            .collect();
        Workload {
            n,
            sqls,
            dir,
            migrate,
            refinery,
        }
    }

    fn rusqlite_migration(&self) -> rusqlite_migration::Migrations<'_> {
        rusqlite_migration::Migrations::new(
            self.sqls
                .iter()
                .map(|s| rusqlite_migration::M::up(s))
                .collect(),
        )
    }
}

/// A fresh database file path.
fn fresh(root: &Path, tag: &str) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    root.join(format!("{tag}-{n}.db"))
}

fn open(path: &Path, wal: bool) -> Connection {
    let conn = Connection::open(path).unwrap();
    if wal {
        conn.query_row("PRAGMA journal_mode = wal", [], |_| Ok(()))
            .unwrap();
        conn.execute_batch("PRAGMA synchronous = normal").unwrap();
    }
    conn
}

/// Applies every migration of `w` to `conn`, one transaction each, or all
/// in one (`atomic`).
fn apply(who: Who, w: &Workload, conn: &mut Connection, atomic: bool) {
    match who {
        Who::Raw => {
            if atomic {
                let tx = conn.transaction().unwrap();
                for sql in &w.sqls {
                    tx.execute_batch(sql).unwrap();
                }
                tx.commit().unwrap();
            } else {
                for sql in &w.sqls {
                    let tx = conn.transaction().unwrap();
                    tx.execute_batch(sql).unwrap();
                    tx.commit().unwrap();
                }
            }
        }
        Who::Migrate => {
            w.migrate.runner().atomic(atomic).run(conn).unwrap();
        }
        Who::RawRow => {
            conn.execute_batch(RAW_HISTORY).unwrap();
            let record = |tx: &rusqlite::Transaction, i: usize| {
                let m = &w.migrate.as_slice()[i];
                tx.prepare_cached(RAW_RECORD)
                    .unwrap()
                    .execute(rusqlite::params![
                        m.version as i64,
                        m.name.as_ref(),
                        m.checksum.as_ref()
                    ])
                    .unwrap();
            };
            if atomic {
                let tx = conn.transaction().unwrap();
                for (i, sql) in w.sqls.iter().enumerate() {
                    tx.execute_batch(sql).unwrap();
                    record(&tx, i);
                }
                tx.commit().unwrap();
            } else {
                for (i, sql) in w.sqls.iter().enumerate() {
                    let tx = conn.transaction().unwrap();
                    tx.execute_batch(sql).unwrap();
                    record(&tx, i);
                    tx.commit().unwrap();
                }
            }
        }
        Who::Refinery => {
            refinery::Runner::new(&w.refinery)
                .set_grouped(atomic)
                .run(conn)
                .unwrap();
        }
        Who::RusqliteMigration => {
            let ms = w.rusqlite_migration();
            if atomic {
                ms.to_latest(conn).unwrap();
            } else {
                // to_latest applies everything in one transaction; one
                // transaction per migration is one to_version call each.
                for v in 1..=w.n {
                    ms.to_version(conn, v).unwrap();
                }
            }
        }
    }
}

/// The startup check with nothing pending.
fn check(who: Who, w: &Workload, conn: &mut Connection) {
    match who {
        // The limit: read one row of a table.
        Who::Raw => {
            let id: i64 = conn
                .prepare_cached("SELECT id FROM t1 WHERE id = 1")
                .unwrap()
                .query_row([], |r| r.get(0))
                .unwrap();
            assert_eq!(id, 1);
        }
        Who::Migrate => {
            let r = w.migrate.runner().run(conn).unwrap();
            assert!(r.applied.is_empty());
        }
        Who::Refinery => {
            let r = refinery::Runner::new(&w.refinery).run(conn).unwrap();
            assert!(r.applied_migrations().is_empty());
        }
        Who::RusqliteMigration => w.rusqlite_migration().to_latest(conn).unwrap(),
        // The last row of its history table.
        Who::RawRow => {
            let v: i64 = conn
                .prepare_cached("SELECT max(version) FROM history")
                .unwrap()
                .query_row([], |r| r.get(0))
                .unwrap();
            assert_eq!(v as usize, w.n);
        }
    }
}

/// One measurement per contender per repetition, the order rotated each
/// repetition so no contender always runs first (or warm).
fn measure(reps: usize, mut run: impl FnMut(Who) -> Duration) -> Vec<(Who, Vec<Duration>)> {
    let mut samples: Vec<(Who, Vec<Duration>)> = ALL.iter().map(|&w| (w, Vec::new())).collect();
    for rep in 0..reps {
        for k in 0..ALL.len() {
            let who = ALL[(rep + k) % ALL.len()];
            let d = run(who);
            samples
                .iter_mut()
                .find(|(w, _)| *w == who)
                .unwrap()
                .1
                .push(d);
        }
    }
    samples
}

struct Row {
    scenario: String,
    cells: Vec<(Who, Stats)>,
}

#[derive(Clone, Copy)]
struct Stats {
    median: Duration,
    min: Duration,
    max: Duration,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    Stats {
        median: v[v.len() / 2],
        min: v[0],
        max: v[v.len() - 1],
    }
}

fn human(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1} µs")
    } else if us < 1e6 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

fn row(scenario: String, samples: Vec<(Who, Vec<Duration>)>) -> Row {
    let row = Row {
        scenario,
        cells: samples.into_iter().map(|(w, v)| (w, stats(v))).collect(),
    };
    let raw = row.cells[0].1.median.as_secs_f64();
    let line: Vec<String> = row
        .cells
        .iter()
        .map(|(w, s)| {
            format!(
                "{} {} ({:.2}×)",
                w.name(),
                human(s.median),
                s.median.as_secs_f64() / raw
            )
        })
        .collect();
    eprintln!("{}: {}", row.scenario, line.join(", "));
    row
}

/// One of issue #6's targets, as measured in this run.
struct Target {
    what: String,
    measured: String,
    limit: String,
    met: bool,
}

fn target(targets: &mut Vec<Target>, what: &str, ratio: f64, limit: f64) {
    targets.push(Target {
        what: what.to_owned(),
        measured: format!("{ratio:.2}×"),
        limit: format!("≤ {limit:.2}×"),
        met: ratio <= limit,
    });
}

/// migrate's median over raw's in `row`.
fn ratio(row: &Row) -> f64 {
    row.cells[1].1.median.as_secs_f64() / row.cells[0].1.median.as_secs_f64()
}

struct Options {
    sizes: Vec<usize>,
    reps: usize,
    backup_mb: u64,
    out: Option<PathBuf>,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let out = args
        .iter()
        .position(|a| a == "--out")
        .map(|i| PathBuf::from(&args[i + 1]))
        .or_else(|| {
            (!quick)
                .then(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../BENCHMARKS.md")))
        });
    Options {
        sizes: if quick {
            vec![10, 100]
        } else {
            vec![10, 100, 1000]
        },
        reps: if quick { 3 } else { 7 },
        backup_mb: if quick { 64 } else { 1024 },
        out,
    }
}

fn main() {
    let opts = options();
    let root = std::env::temp_dir().join(format!("migrate-bench-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let mut targets = Vec::new();

    for &n in &opts.sizes {
        let w = Workload::new(n, &root);
        for (label, atomic, wal) in [
            ("(1) apply, one transaction each", false, false),
            ("(2) apply, all in one transaction", true, false),
            (
                "(4) apply, one transaction each, WAL + synchronous=NORMAL",
                false,
                true,
            ),
        ] {
            // (1) at N=1000 takes seconds per run (two fsyncs per commit);
            // the others take a fraction of one and move most between runs.
            let reps = match (n >= 1000, atomic || wal) {
                (true, false) => opts.reps.min(5),
                (true, true) => opts.reps + 4,
                (false, _) => opts.reps,
            };
            rows.push(row(
                format!("{label}, N={n}"),
                measure(reps, |who| {
                    let mut conn = open(&fresh(&root, "apply"), wal);
                    let start = Instant::now();
                    apply(who, &w, &mut conn, atomic);
                    start.elapsed()
                }),
            ));
        }
        // Databases with everything applied, one per contender.
        let dbs: Vec<(Who, PathBuf)> = ALL
            .iter()
            .map(|&who| {
                let path = fresh(&root, "applied");
                apply(who, &w, &mut open(&path, false), false);
                (who, path)
            })
            .collect();
        let db = |who: Who| dbs.iter().find(|(w, _)| *w == who).unwrap().1.clone();
        let calls = 200;
        rows.push(row(
            format!("(3a) open + startup check, nothing pending, per call, N={n}"),
            measure(opts.reps, |who| {
                let path = db(who);
                let start = Instant::now();
                for _ in 0..calls {
                    let mut conn = Connection::open(&path).unwrap();
                    check(who, &w, &mut conn);
                }
                start.elapsed() / calls
            }),
        ));
        let mut warm: Vec<(Who, Connection)> = ALL
            .iter()
            .map(|&who| (who, Connection::open(db(who)).unwrap()))
            .collect();
        rows.push(row(
            format!("(3b) startup check on a warm connection, per call, N={n}"),
            measure(opts.reps, |who| {
                let conn = &mut warm.iter_mut().find(|(w, _)| *w == who).unwrap().1;
                check(who, &w, conn); // warm the statement cache
                let start = Instant::now();
                for _ in 0..calls {
                    check(who, &w, conn);
                }
                start.elapsed() / calls
            }),
        ));
        if n == *opts.sizes.last().unwrap() {
            processes(
                &root,
                &w,
                &db(Who::Migrate),
                &opts,
                &mut notes,
                &mut targets,
            );
        }
    }
    backup(&root, opts.backup_mb, &opts, &mut notes, &mut targets);
    build_time(&root, &mut notes, &mut targets);
    apply_targets(&rows, &opts, &mut targets);
    notes.push(floor_note(&rows, &opts));

    let report = render(&rows, &notes, &targets, &opts);
    match &opts.out {
        Some(path) => {
            // Everything from the PostgreSQL section on is not this
            // run's: that section is `--bin postgres`'s, and the move's
            // table after it is written by hand from `bench/move.sh`.
            let old = std::fs::read_to_string(path).unwrap_or_default();
            let kept = match old.find("<!-- postgres -->") {
                Some(a) => format!("\n{}", &old[a..]),
                None => String::new(),
            };
            std::fs::write(path, format!("{report}{kept}")).unwrap();
            eprintln!("wrote {}", path.display());
        }
        None => print!("{report}"),
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// The migrate-cli binary beside this one, built if it is not there.
fn cli() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.with_file_name("migrate-cli");
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "-p", "migrate-cli"])
            .status()
            .unwrap();
        assert!(status.success());
    }
    path
}

/// A command to time, built afresh for every run.
type MakeCommand<'a> = Box<dyn FnMut() -> Command + 'a>;

/// Wall times of each command, run `reps` times each, interleaved: every
/// repetition runs all of them, starting one further along each time, and
/// `after` runs after each (outside the timing).
fn time_processes(
    reps: usize,
    cmds: &mut [MakeCommand<'_>],
    mut after: impl FnMut(),
) -> Vec<Stats> {
    let mut samples = vec![Vec::new(); cmds.len()];
    for rep in 0..reps {
        for k in 0..cmds.len() {
            let i = (rep + k) % cmds.len();
            let mut cmd = cmds[i]();
            let start = Instant::now();
            let out = cmd.output().unwrap();
            let took = start.elapsed();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            samples[i].push(took);
            after();
        }
    }
    samples.into_iter().map(stats).collect()
}

/// Peak resident memory of one run, in KiB, from GNU time.
fn peak_kib(args: &[&str], cwd: &Path) -> Option<u64> {
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .args(args)
        .current_dir(cwd)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    text.lines().last()?.trim().parse().ok()
}

/// (5): whole processes against `sqlite3`, with every migration applied.
fn processes(
    root: &Path,
    w: &Workload,
    db: &Path,
    opts: &Options,
    notes: &mut Vec<String>,
    targets: &mut Vec<Target>,
) {
    let cli = cli();
    let dir = w.dir.display().to_string();
    let db_s = db.display().to_string();
    let reps = opts.reps * 3;
    let has = |tool: &str| Command::new(tool).arg("--version").output().is_ok();
    let (sqlite3, sha256sum) = (has("sqlite3"), has("sha256sum"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&w.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let ours = |args: [&'static str; 1]| -> MakeCommand<'_> {
        let (cli, dir, db_s) = (&cli, &dir, &db_s);
        Box::new(move || {
            let mut c = Command::new(cli);
            c.args(["--dir", dir, "--database", db_s]).args(args);
            c
        })
    };
    let mut labels = Vec::new();
    let mut cmds: Vec<MakeCommand<'_>> = Vec::new();
    if sqlite3 {
        labels.push("sqlite3 DB 'select * from schema_migrations'");
        cmds.push(Box::new(|| {
            let mut c = Command::new("sqlite3");
            c.arg(db).arg("select * from schema_migrations");
            c
        }));
    }
    if sha256sum {
        labels.push("sha256sum migrations/*");
        cmds.push(Box::new(|| {
            let mut c = Command::new("sha256sum");
            c.args(&files);
            c
        }));
    }
    labels.extend(["migrate-cli status", "migrate-cli up (nothing pending)"]);
    cmds.extend([ours(["status"]), ours(["up"])]);
    let stats = time_processes(reps, &mut cmds, || {});
    drop(cmds);
    let find = |label: &str| labels.iter().position(|l| *l == label).map(|i| stats[i]);
    let baseline = find("sqlite3 DB 'select * from schema_migrations'");
    let hashing = find("sha256sum migrations/*");
    let ratio = |s: &Stats, to: Option<Stats>| {
        to.map_or("-".into(), |b| {
            format!("{:.2}×", s.median.as_secs_f64() / b.median.as_secs_f64())
        })
    };
    let mut text = format!(
        "(5) whole processes, N={}, interleaved, median of {reps}:\n\n| command | median | min | max | ratio to sqlite3 | ratio to sha256sum |\n| --- | --- | --- | --- | --- | --- |\n",
        w.n
    );
    for (label, s) in labels.iter().zip(&stats) {
        if let (true, Some(b)) = (label.starts_with("migrate-cli"), baseline) {
            target(
                targets,
                &format!("(5) `{label}` against sqlite3, N={}", w.n),
                s.median.as_secs_f64() / b.median.as_secs_f64(),
                1.5,
            );
        }
        let _ = writeln!(
            text,
            "| `{label}` | {} | {} | {} | {} | {} |",
            human(s.median),
            human(s.min),
            human(s.max),
            ratio(s, baseline),
            ratio(s, hashing)
        );
    }
    // Peak memory of a real `up` applying all N.
    let fresh_db = fresh(root, "mem").display().to_string();
    if let Some(kib) = peak_kib(
        &[
            cli.to_str().unwrap(),
            "--dir",
            &dir,
            "--database",
            &fresh_db,
            "up",
        ],
        root,
    ) {
        let _ = writeln!(
            text,
            "\nPeak resident memory of `migrate-cli up` applying all {} migrations: {} KiB.",
            w.n, kib
        );
    }
    eprintln!("{text}");
    notes.push(text);
}

/// (6): backup of a large database against `cp` of the same file.
fn backup(
    root: &Path,
    mb: u64,
    opts: &Options,
    notes: &mut Vec<String>,
    targets: &mut Vec<Target>,
) {
    let db = root.join("big.db");
    {
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB NOT NULL);")
            .unwrap();
        let rows = mb * 1024 / 4; // 4 KiB each
        conn.execute_batch(&format!(
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {rows})
             INSERT INTO blobs (b) SELECT randomblob(4000) FROM n;"
        ))
        .unwrap();
    }
    let size = std::fs::metadata(&db).unwrap().len();
    let cli = cli();
    let reps = opts.reps.min(3);
    // Each run starts with nothing dirty in the page cache, so that no run
    // pays for writing out what the one before it left.
    let settled = |c: Command| {
        let _ = Command::new("sync").status();
        c
    };
    let copy_to = |i: usize| root.join(format!("copy-{i}.db"));
    let mut cmds: Vec<MakeCommand<'_>> = vec![
        Box::new(|| {
            let mut c = Command::new("cp");
            c.arg(&db).arg(copy_to(0));
            settled(c)
        }),
        // cp leaves the copy in the page cache; a backup is durable when it
        // says so, so this is what the same bytes cost on disk.
        Box::new(|| {
            let to = copy_to(1);
            let mut c = Command::new("sh");
            c.arg("-c").arg(format!(
                "cp '{}' '{}' && sync '{}'",
                db.display(),
                to.display(),
                to.display()
            ));
            settled(c)
        }),
        Box::new(|| {
            let mut c = Command::new(&cli);
            c.arg("--database").arg(&db).arg("backup").arg(copy_to(2));
            settled(c)
        }),
    ];
    let timed = time_processes(reps, &mut cmds, || {
        for i in 0..3 {
            let _ = std::fs::remove_file(copy_to(i));
        }
    });
    drop(cmds);
    let [cp, cp_sync, ours] = [timed[0], timed[1], timed[2]];
    let ratio = |s: &Stats, to: &Stats| s.median.as_secs_f64() / to.median.as_secs_f64();
    let mut text = format!(
        "(6) backup of a {} MiB database (rollback journal), median of {reps}, `sync` before each run:\n\n| command | median | min | max | ratio to cp | ratio to cp + sync |\n| --- | --- | --- | --- | --- | --- |\n",
        size >> 20
    );
    for (label, st) in [
        ("`cp`", &cp),
        ("`cp` then `sync` of the copy", &cp_sync),
        (
            "`migrate-cli backup` (copy + fsync + integrity_check + rename)",
            &ours,
        ),
    ] {
        let _ = writeln!(
            text,
            "| {label} | {} | {} | {} | {:.2}× | {:.2}× |",
            human(st.median),
            human(st.min),
            human(st.max),
            ratio(st, &cp),
            ratio(st, &cp_sync)
        );
    }
    let r = ours.median.as_secs_f64() / cp.median.as_secs_f64();
    target(
        targets,
        &format!("(6) backup against cp, {} MiB", size >> 20),
        r,
        1.5,
    );
    let target = copy_to(3);
    if let Some(kib) = peak_kib(
        &[
            cli.to_str().unwrap(),
            "--database",
            db.to_str().unwrap(),
            "backup",
            target.to_str().unwrap(),
        ],
        root,
    ) {
        let _ = writeln!(text, "\nPeak resident memory of that backup: {kib} KiB.");
    }
    eprintln!("{text}");
    notes.push(text);
}

/// (7): what `embed_migrations!` over 1000 files adds to a rebuild.
fn build_time(root: &Path, notes: &mut Vec<String>, targets: &mut Vec<Target>) {
    let krate = root.join("embed-1000");
    let migrations = krate.join("migrations");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    std::fs::create_dir_all(&migrations).unwrap();
    for i in 1..=1000 {
        std::fs::write(
            migrations.join(format!("{i:04}_t{i}.sql")),
            format!("CREATE TABLE t{i} (id INTEGER PRIMARY KEY, label TEXT);\nCREATE INDEX idx_t{i} ON t{i} (label);\n"),
        )
        .unwrap();
    }
    let workspace = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    std::fs::write(
        krate.join("Cargo.toml"),
        format!(
            "[package]\nname = \"embed-1000\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[dependencies]\nmigrate-core = {{ path = \"{workspace}/migrate-core\" }}\nmigrate-macros = {{ path = \"{workspace}/migrate-macros\" }}\n\n[workspace]\n"
        ),
    )
    .unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = root.join("embed-target");
    let build = |with_macro: bool| -> Duration {
        let body = if with_macro {
            "static M: migrate_core::Migrations = migrate_macros::embed_migrations!(\"migrations\");\nfn main() { println!(\"{}\", M.len()); }\n"
        } else {
            "static M: migrate_core::Migrations = migrate_core::Migrations::embedded(&[], None);\nfn main() { println!(\"{}\", M.len()); }\n"
        };
        std::fs::write(krate.join("src/main.rs"), body).unwrap();
        let start = Instant::now();
        let out = Command::new(&cargo)
            .args(["build", "--quiet"])
            .env("CARGO_TARGET_DIR", &target)
            .current_dir(&krate)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        start.elapsed()
    };
    build(false); // dependencies, once
    let mut with = Vec::new();
    let mut without = Vec::new();
    for _ in 0..3 {
        without.push(build(false));
        with.push(build(true));
    }
    let (with, without) = (stats(with), stats(without));
    let text = format!(
        "(7) rebuilding a crate that embeds 1000 migration files (debug build, dependencies already built), median of 3: {} with `embed_migrations!`, {} with an empty set instead: the macro costs {}.\n",
        human(with.median),
        human(without.median),
        human(with.median.saturating_sub(without.median))
    );
    let cost = with.median.saturating_sub(without.median);
    targets.push(Target {
        what: "(7) embed_migrations! over 1000 files".into(),
        measured: human(cost),
        limit: "< 1 s".into(),
        met: cost < Duration::from_secs(1),
    });
    eprintln!("{text}");
    notes.push(text);
}

/// The targets read off the scenario rows.
fn apply_targets(rows: &[Row], opts: &Options, targets: &mut Vec<Target>) {
    let n = opts.sizes.last().copied().unwrap_or(0);
    let find = |prefix: &str, n: usize| {
        rows.iter()
            .find(|r| r.scenario.starts_with(prefix) && r.scenario.ends_with(&format!("N={n}")))
    };
    for (prefix, limit) in [
        ("(1)", 1.05),
        ("(2)", 1.05),
        ("(4)", 1.05),
        ("(3a)", 1.0),
        ("(3b)", 2.0),
    ] {
        if let Some(r) = find(prefix, n) {
            target(
                targets,
                &format!("{} — migrate against raw", r.scenario),
                ratio(r),
                limit,
            );
        }
    }
    let first = opts.sizes.first().copied().unwrap_or(0);
    if let (Some(small), Some(large)) = (find("(3b)", first), find("(3b)", n)) {
        let growth = large.cells[1].1.median.as_secs_f64() / small.cells[1].1.median.as_secs_f64();
        target(
            targets,
            &format!("(3b) flat in N: migrate's warm check at N={n} over N={first}"),
            growth,
            1.2,
        );
    }
    let met = targets.iter().filter(|t| t.met).count();
    eprintln!("targets met: {met} of {}", targets.len());
}

/// migrate against the floor (raw SQL plus a history row), at the largest N.
fn floor_note(rows: &[Row], opts: &Options) -> String {
    let n = opts.sizes.last().copied().unwrap_or(0);
    let mut text = format!(
        "Against the floor, N={n}: what migrate costs beyond recording each migration (raw SQL plus one history row of the same shape in the same transaction):\n\n| scenario | raw + a history row over raw | migrate over raw + a history row |\n| --- | --- | --- |\n"
    );
    for r in rows.iter().filter(|r| {
        ["(1)", "(2)", "(4)"]
            .iter()
            .any(|p| r.scenario.starts_with(p))
            && r.scenario.ends_with(&format!("N={n}"))
    }) {
        let median = |who: Who| {
            r.cells
                .iter()
                .find(|(w, _)| *w == who)
                .map(|(_, s)| s.median.as_secs_f64())
        };
        if let (Some(raw), Some(migrate), Some(floor)) =
            (median(Who::Raw), median(Who::Migrate), median(Who::RawRow))
        {
            let _ = writeln!(
                text,
                "| {} | {:.2}× | {:.2}× |",
                r.scenario,
                floor / raw,
                migrate / floor
            );
        }
    }
    text
}

fn render(rows: &[Row], notes: &[String], targets: &[Target], opts: &Options) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Benchmarks\n");
    let _ = writeln!(
        s,
        "Generated by `cargo run --release --manifest-path bench/Cargo.toml` (this file is rewritten by it). Each migration is a CREATE TABLE, a CREATE INDEX and an INSERT of 10 rows; every contender runs the same SQL on its own fresh database file. Runs are interleaved, the order rotated each repetition; each cell is the median (min–max) of {} repetitions ({} for (1) at N=1000, {} for (2) and (4) at N=1000), and the ratio to raw rusqlite, which runs the same SQL in the same transactions with no bookkeeping. Peers: refinery 0.10 and rusqlite_migration 2.6, linked to the same bundled SQLite (rusqlite 0.40). rusqlite_migration applies everything pending in one transaction; for one transaction per migration it is called once per version.\n",
        opts.reps,
        opts.reps.min(5),
        opts.reps + 4
    );
    let _ = writeln!(
        s,
        "Machine: {} cores, {}; {}.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        os(),
        rustc()
    );
    let _ = writeln!(
        s,
        "| scenario | {} |",
        ALL.iter().map(|w| w.name()).collect::<Vec<_>>().join(" | ")
    );
    let _ = writeln!(s, "| --- |{}", " --- |".repeat(ALL.len()));
    for r in rows {
        let raw = r.cells[0].1.median.as_secs_f64();
        let cells: Vec<String> = r
            .cells
            .iter()
            .map(|(_, st)| {
                format!(
                    "{} ({}–{}) {:.2}×",
                    human(st.median),
                    human(st.min),
                    human(st.max),
                    st.median.as_secs_f64() / raw
                )
            })
            .collect();
        let _ = writeln!(s, "| {} | {} |", r.scenario, cells.join(" | "));
    }
    for n in notes {
        let _ = writeln!(s, "\n{n}");
    }
    let _ = writeln!(
        s,
        "\n## Targets in this run\n\n| target | measured | limit | met |\n| --- | --- | --- | --- |"
    );
    for t in targets {
        let met = if t.met { "yes" } else { "**no**" };
        let _ = writeln!(s, "| {} | {} | {} | {met} |", t.what, t.measured, t.limit);
    }
    let _ = write!(s, "\n{}", include_str!("../NOTES.md"));
    s
}

fn os() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_owned())
        })
        .map_or("unknown memory".into(), |kb| {
            format!("{} GiB memory", kb.parse::<u64>().unwrap_or(0) >> 20)
        })
}

fn rustc() -> String {
    Command::new("rustc")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}
