//! The wire version (`api::wire`): one hash of the core's and this crate's
//! sources, the same for the server and the wasm built from them, so a tab
//! still running an older build can tell that the server's answers are
//! laid out for another one.
use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let mut files = Vec::new();
    for dir in [manifest.join("src"), manifest.join("../src")] {
        println!("cargo:rerun-if-changed={}", dir.display());
        sources(&dir, &mut files);
    }
    // Relative paths, sorted: the hash is the same wherever the tree lies.
    let mut files: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|f| (f.strip_prefix(&manifest).unwrap_or(&f).to_string_lossy().into_owned(), f))
        .collect();
    files.sort();
    // SipHash with fixed keys: the same value in every build from the same tree.
    let mut hash = DefaultHasher::new();
    for (name, path) in files {
        hash.write(name.as_bytes());
        hash.write(&std::fs::read(path).unwrap());
    }
    println!("cargo:rustc-env=TOKENBOARD_WIRE_VERSION={:016x}", hash.finish());
}
