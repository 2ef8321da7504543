//! Rebuild when a migration file is added or removed, not only when one
//! that is already embedded changes (embed_migrations! tracks those).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
