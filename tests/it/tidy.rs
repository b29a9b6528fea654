//! Tidy rules that can be tests: module doc headers, no ignored tests, no debug macros, no stubs.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() && name != "target" && !name.starts_with('.') {
            rust_files(&path, out);
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_opens_with_a_module_doc_and_has_no_stubs() {
    let root = crate::workspace_dir();
    let mut files = Vec::new();
    for dir in ["crates", "sim", "tests"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 10);
    let mut problems = Vec::new();
    // Built from pieces so this file does not trip its own check.
    let banned = [
        ["#[", "ignore]"].concat(),
        ["dbg", "!("].concat(),
        ["todo", "!("].concat(),
        ["unimplemented", "!("].concat(),
    ];
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        if !text.starts_with("//!") {
            problems.push(format!(
                "{}: does not start with a `//!` line",
                file.display()
            ));
        }
        for pattern in &banned {
            if text.contains(pattern.as_str()) {
                problems.push(format!("{}: contains `{pattern}`", file.display()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
