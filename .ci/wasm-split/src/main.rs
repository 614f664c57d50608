//! Splits the app's wasm at its `#[lazy]` points, as `cargo leptos build
//! --split` does (same library, same file names):
//!
//!     tokenboard-wasm-split INPUT.wasm PKG_DIR MAIN_OUT.wasm OUTPUT_NAME
//!
//! INPUT must be linked with `--emit-relocs` (.cargo/config.toml). Writes
//! the chunks and their loader `__wasm_split.______________________.js`
//! into PKG_DIR, the main module (for wasm-bindgen) to MAIN_OUT, and which
//! chunks each lazy function needs to `PKG_DIR/__wasm_split_manifest.json`,
//! which the server reads to preload a page's chunks.
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, pkg_dir, main_out, output_name] = args.as_slice() else {
        fail("usage: tokenboard-wasm-split INPUT.wasm PKG_DIR MAIN_OUT.wasm OUTPUT_NAME");
    };
    let input_wasm = std::fs::read(input).unwrap_or_else(|e| fail(&format!("cannot read {input}: {e}")));
    let pkg_dir = Path::new(pkg_dir);
    let main_module = format!("./{output_name}.js");
    let split = wasm_split_cli_support::transform({
        let mut opts = wasm_split_cli_support::Options::new(&input_wasm);
        opts.output_dir = pkg_dir;
        opts.main_out_path = Path::new(main_out);
        opts.main_module = &main_module;
        // The name leptos's HydrationScripts expects; the build puts the loader's hash in it.
        opts.link_name = "./__wasm_split.______________________.js";
        opts
    })
    .unwrap_or_else(|e| fail(&format!("cannot split {input}: {e:?}")));
    let manifest = serde_json::to_string_pretty(&split.prefetch_map).expect("a map of strings serialises");
    std::fs::write(pkg_dir.join("__wasm_split_manifest.json"), manifest)
        .unwrap_or_else(|e| fail(&format!("cannot write the manifest: {e}")));
    println!("{} chunks", split.split_modules.len());
}

fn fail(message: &str) -> ! {
    eprintln!("tokenboard-wasm-split: {message}");
    std::process::exit(1)
}
