//! Tidy rules that can be tests: module doc headers, no ignored tests, no debug macros, no stubs.

use std::collections::{BTreeMap, BTreeSet};
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

/// The line a file over [`MAX_LINES`] states its reason on, near its top.
const LONG_FILE_REASON: &str = "Long file:";
const MAX_LINES: usize = 800;

#[test]
fn no_file_is_over_800_lines_without_a_reason_at_its_top() {
    let root = crate::workspace_dir();
    let mut files = Vec::new();
    for dir in ["crates", "sim", "tests"] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines = text.lines().count();
        let head: String = text.lines().take(12).collect::<Vec<_>>().join("\n");
        if lines > MAX_LINES && !head.contains(LONG_FILE_REASON) {
            problems.push(format!(
                "{}: {lines} lines; split it along its seams or say why near its top (`{LONG_FILE_REASON} ...`)",
                file.display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The top-level modules of one crate's `src/` and which of them each one uses: `lib` stands for
/// items defined in lib.rs itself; uses through re-exports in lib.rs count for the module that
/// defines the item. Test modules are left out (they may use anything).
fn module_uses(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap_or_default();
    let mut modules = BTreeSet::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name == "lib" || name == "main" || name == "tests" || name.ends_with("_tests") {
            continue;
        }
        if path.is_dir() || path.extension().is_some_and(|e| e == "rs") {
            modules.insert(name);
        }
    }
    // `pub use module::{A, B}` / `pub use module::A` in lib.rs: name -> module.
    let mut reexported = BTreeMap::new();
    for line in lib.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix("pub use ") else {
            continue;
        };
        let rest = rest
            .trim_start_matches("self::")
            .trim_start_matches("crate::");
        let Some((module, items)) = rest.split_once("::") else {
            continue;
        };
        if !modules.contains(module) {
            continue;
        }
        for item in items
            .trim_matches(|c| c == '{' || c == '}' || c == ';')
            .split(',')
        {
            let item = item.trim().rsplit(" as ").next().unwrap_or("").trim();
            if !item.is_empty() {
                reexported.insert(item.to_string(), module.to_string());
            }
        }
    }
    let resolve = |name: &str| -> String {
        if modules.contains(name) {
            name.to_string()
        } else if let Some(module) = reexported.get(name) {
            module.clone()
        } else {
            "lib".to_string()
        }
    };
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = Vec::new();
    rust_files(src, &mut files);
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "main" || module == "tests" || module.ends_with("_tests") {
            continue;
        }
        let stem = file.file_stem().unwrap().to_string_lossy().to_string();
        if stem == "tests" || stem.ends_with("_tests") {
            continue;
        }
        let top_level = rel.components().count() == 1;
        let text = std::fs::read_to_string(&file).unwrap();
        // The code without comments, module declarations and (in lib.rs) re-exports, so a
        // `use` spread over several lines is read whole.
        let mut code = String::new();
        let mut in_reexport = false;
        for line in text.lines().map(str::trim) {
            if module == "lib" && line.starts_with("pub use ") {
                in_reexport = !line.ends_with(';');
                continue;
            }
            if in_reexport {
                in_reexport = !line.ends_with(';');
                continue;
            }
            if line.starts_with("//") || line.starts_with("mod ") || line.starts_with("pub mod ") {
                continue;
            }
            code.push_str(line);
            code.push('\n');
        }
        let mut names = Vec::new();
        for prefix in ["crate::", "super::"] {
            if prefix == "super::" && !(top_level && module != "lib") {
                continue;
            }
            for piece in code.split(prefix).skip(1) {
                if let Some(group) = piece.strip_prefix('{') {
                    // `crate::{a::X, b::{Y, Z}}`: the first segment of each top-level part.
                    let (mut depth, mut part) = (0, String::new());
                    for c in group.chars() {
                        match c {
                            '{' => depth += 1,
                            '}' if depth == 0 => break,
                            '}' => depth -= 1,
                            ',' if depth == 0 => {
                                names
                                    .push(part.trim().split("::").next().unwrap_or("").to_string());
                                part.clear();
                                continue;
                            }
                            _ => {}
                        }
                        part.push(c);
                    }
                    names.push(part.trim().split("::").next().unwrap_or("").to_string());
                } else {
                    let name: String = piece
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    names.push(name);
                }
            }
        }
        if module == "lib" {
            // lib.rs names its modules without `crate::` too: `ops::OpsLoop`, `use ops::X`.
            for other in &modules {
                let needle = format!("{other}::");
                let named = code.match_indices(&needle).any(|(i, _)| {
                    i == 0
                        || !code[..i]
                            .ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':')
                });
                if named {
                    names.push(other.clone());
                }
            }
        }
        for name in names.into_iter().filter(|n| !n.is_empty() && n != "self") {
            let target = resolve(&name);
            if target != module {
                uses.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    uses
}

/// Cycles in a directed graph, each as the modules of one strongly connected component.
fn cycles(uses: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(node) = stack.pop() {
            for next in uses.get(&node).into_iter().flatten() {
                if next == to {
                    return true;
                }
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        false
    };
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for node in uses.keys() {
        if done.contains(node) || !reaches(node, node) {
            continue;
        }
        let component: Vec<String> = uses
            .keys()
            .filter(|other| *other == node || (reaches(node, other) && reaches(other, node)))
            .cloned()
            .collect();
        done.extend(component.iter().cloned());
        out.push(component);
    }
    out
}

#[test]
fn no_crate_has_a_module_cycle() {
    let root = crate::workspace_dir();
    let mut srcs = vec![root.join("sim/src")];
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        srcs.push(entry.unwrap().path().join("src"));
    }
    let mut problems = Vec::new();
    for src in srcs {
        for cycle in cycles(&module_uses(&src)) {
            problems.push(format!(
                "{}: modules {} use each other",
                src.display(),
                cycle.join(" ↔ ")
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_module_cycle_check_finds_a_cycle() {
    let dir = std::env::temp_dir().join(format!("drover-tidy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("lib.rs"),
        "//! x\npub mod a;\npub mod b;\npub use b::Thing;\npub struct Root;\n",
    )
    .unwrap();
    std::fs::write(dir.join("a.rs"), "//! a\nuse crate::Thing;\n").unwrap();
    std::fs::write(dir.join("b.rs"), "//! b\nuse crate::a::X;\n").unwrap();
    let found = cycles(&module_uses(&dir));
    assert_eq!(found, vec![vec!["a".to_string(), "b".to_string()]]);
    std::fs::write(dir.join("b.rs"), "//! b\nuse super::Root;\n").unwrap();
    std::fs::write(
        dir.join("lib.rs"),
        "//! x\npub mod a;\npub mod b;\nuse a::Y;\n",
    )
    .unwrap();
    std::fs::write(dir.join("a.rs"), "//! a\nuse crate::b::Z;\n").unwrap();
    let found = cycles(&module_uses(&dir));
    assert_eq!(
        found,
        vec![vec!["a".to_string(), "b".to_string(), "lib".to_string()]]
    );
    // A `use` over several lines, as rustfmt writes long ones.
    std::fs::write(dir.join("lib.rs"), "//! x\npub mod a;\npub mod b;\n").unwrap();
    std::fs::write(dir.join("a.rs"), "//! a\nuse crate::{\n    b::Z,\n};\n").unwrap();
    std::fs::write(
        dir.join("b.rs"),
        "//! b\nuse crate::{\n    c::W,\n    a::{X, Y},\n};\n",
    )
    .unwrap();
    let found = cycles(&module_uses(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found, vec![vec!["a".to_string(), "b".to_string()]]);
}

/// ARCHITECTURE.md stays a map of the whole house, and short.
#[test]
fn architecture_names_every_crate_and_top_level_folder_in_two_pages() {
    let root = crate::workspace_dir();
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if !text.contains(&format!("`crates/{name}`")) {
            missing.push(format!("crates/{name}"));
        }
    }
    for entry in std::fs::read_dir(&root).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().to_string();
        let tracked = ["crates", "sim", "tests", "config", "docs", ".ci"];
        if entry.path().is_dir()
            && tracked.contains(&name.as_str())
            && !text.contains(&format!("`{name}/`"))
        {
            missing.push(format!("{name}/"));
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md does not name: {}",
        missing.join(", ")
    );
    let words = text.split_whitespace().count();
    assert!(
        words <= 1_600,
        "ARCHITECTURE.md has {words} words; two pages are about 1,400"
    );
}
