//! `sqlx::migrate!` embeds the migrations when the crate compiles: without
//! this, a migration added or changed alone would not rebuild it (as sqlx's
//! `migrate build-script` advises).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
