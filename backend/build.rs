// The migrations are compiled into the binary (`embed_migrations!`): rebuild when one
// changes, not only when Rust code does.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
