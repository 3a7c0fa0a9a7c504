//! Writes the seed corpus (`shoal_fuzz::corpus::seeds`) to `corpus/<target>/<name>`
//! next to this crate's Cargo.toml. Existing files of the same name are replaced;
//! nothing else is touched. Run: `cargo run --example gen_corpus` in `fuzz/`.

use std::path::Path;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut total = 0;
    for (target, name, data) in shoal_fuzz::corpus::seeds() {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), &data)?;
        total += data.len();
    }
    println!("wrote {total} bytes of seeds under {}", root.display());
    Ok(())
}
