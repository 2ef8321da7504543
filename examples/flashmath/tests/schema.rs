//! The schema the migrations produce, pinned: a change to it shows up in
//! review as a snapshot diff.

#[test]
fn schema() {
    // Applies every migration to a fresh database file, checks every
    // `expect` line of the index sets, and dumps the normalised schema.
    let schema = migrate_core::testing::schema(&flashmath::MIGRATIONS).unwrap();
    insta::assert_snapshot!(schema);
}
