//! One run of sqlx's migrator on a database the PostgreSQL bench made:
//! `sqlx-pg-bench URL DIR` applies DIR's migrations and prints how long the
//! run took, in microseconds, measured here (the process start is not in it).

use std::time::Instant;

use sqlx::Connection;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnection;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(dir)) = (args.next(), args.next()) else {
        eprintln!("usage: sqlx-pg-bench URL DIR");
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let micros = runtime.block_on(async {
        let migrator = Migrator::new(std::path::Path::new(&dir))
            .await
            .expect("read the migrations");
        let mut conn = PgConnection::connect(&url).await.expect("connect");
        let start = Instant::now();
        migrator.run(&mut conn).await.expect("apply");
        start.elapsed().as_micros()
    });
    println!("{micros}");
}
