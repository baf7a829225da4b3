//! Embeds into the binary what iota needs at run time besides a `python3`: its Python runtime
//! (`python/` at the repository root) and the bundled rule pack (`rules/`). Generates two
//! tables of (relative path, bytes).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

const RUNTIME_PACKAGES: &[&str] = &[
    "iota_runtime",
    "iota_helpers",
    "panther_core",
    "panther_detection_helpers",
];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let repo = manifest
        .join("../..")
        .canonicalize()
        .expect("repository root");

    let python = repo.join("python");
    let mut runtime = Vec::new();
    for package in RUNTIME_PACKAGES {
        collect(&python.join(package), &["py"], &mut runtime);
    }
    let rules_dir = repo.join("rules");
    let mut rules = Vec::new();
    collect(&rules_dir, &["py", "yml", "yaml"], &mut rules);

    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    fs::write(
        out.join("python_files.rs"),
        table("FILES", &python, runtime),
    )
    .unwrap();
    fs::write(
        out.join("bundled_rules.rs"),
        table("FILES", &rules_dir, rules),
    )
    .unwrap();
}

fn table(name: &str, root: &Path, mut files: Vec<PathBuf>) -> String {
    files.sort();
    let mut table = format!("pub(crate) static {name}: &[(&str, &[u8])] = &[\n");
    for file in &files {
        let rel = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        table.push_str(&format!(
            "    ({rel:?}, include_bytes!({:?})),\n",
            file.display().to_string()
        ));
    }
    table.push_str("];\n");
    table
}

fn collect(dir: &Path, extensions: &[&str], files: &mut Vec<PathBuf>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "__pycache__") {
                collect(&path, extensions, files);
            }
        } else if path
            .extension()
            .is_some_and(|e| extensions.iter().any(|x| e == *x))
        {
            files.push(path);
        }
    }
}
