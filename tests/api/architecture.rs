//! The module table of ARCHITECTURE.md is the rule: every `crate::…` path in `src/` (outside
//! test code and comments) names a module its own module may use, and the domain stays
//! free of storage, search and HTTP.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const DOMAIN: &[&str] = &[
    "clock",
    "identity",
    "calendar",
    "workflow",
    "deadlines",
    "catalogue",
    "form",
    "policy",
    "metrics",
    "field_error",
    "auth",
    "config",
];
const NEVER_IN_DOMAIN: &[&str] = &["store", "db", "web", "search", "startup", "cli"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// module → the modules its row says it may use.
fn table() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut rows = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // "| `name` | holds | may use |" splits into ["", name, holds, may use, ""].
        if cells.len() < 5 || !cells[1].starts_with('`') {
            continue;
        }
        let name = cells[1].trim_matches('`').to_owned();
        let may: BTreeSet<String> = cells[cells.len() - 2]
            .split('`')
            .skip(1)
            .step_by(2)
            .map(|m| m.split("::").next().unwrap_or(m).to_owned())
            .collect();
        rows.insert(name, may);
    }
    rows
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules named by `crate::` paths on one line (with `crate::{a, b::c}`).
fn crate_paths(line: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.push(std::mem::take(&mut item));
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            names.push(item);
        } else {
            names.push(rest.to_owned());
        }
    }
    names
        .into_iter()
        .map(|n| {
            n.trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|n| !n.is_empty() && n != "self")
        .collect()
}

/// (module, file, line number, line, imported module) for every cross-module path.
fn imports() -> Vec<(String, String, usize, String, String)> {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for path in files {
        let rel = path.strip_prefix(&src).expect("under src").to_path_buf();
        let first = rel
            .components()
            .next()
            .expect("a component")
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("source");
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let lines: Vec<&str> = code
            .lines()
            .map(|l| l.split("//").next().unwrap_or_default())
            .collect();
        // A `use crate::{…}` may span lines: each statement is read whole, from the line it
        // starts on.
        let mut n = 0;
        while n < lines.len() {
            let start = n;
            let mut statement = lines[n].to_owned();
            if statement.contains("crate::{") {
                while !statement.contains('}') && n + 1 < lines.len() {
                    n += 1;
                    statement.push_str(lines[n]);
                }
            }
            for used in crate_paths(&statement) {
                if used != module {
                    found.push((
                        module.clone(),
                        rel.display().to_string(),
                        start + 1,
                        lines[start].trim().to_owned(),
                        used,
                    ));
                }
            }
            n += 1;
        }
    }
    found
}

#[test]
fn every_import_between_modules_is_allowed_by_the_architecture_table() {
    let table = table();
    assert!(table.len() >= 15, "the module table was not found: {table:?}");
    let mut wrong = Vec::new();
    for (module, file, n, line, used) in imports() {
        match table.get(&module) {
            None => wrong.push(format!(
                "src/{file}: module `{module}` has no row in ARCHITECTURE.md"
            )),
            Some(may) if !may.contains(&used) => {
                wrong.push(format!("src/{file}:{n}: `{module}` may not use `{used}`: {line}"))
            }
            Some(_) => {}
        }
    }
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "imports the table does not allow:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_table_keeps_the_domain_pure_and_the_store_below_the_web() {
    let table = table();
    for module in DOMAIN {
        let may = table
            .get(*module)
            .unwrap_or_else(|| panic!("ARCHITECTURE.md has no row for `{module}`"));
        for banned in NEVER_IN_DOMAIN {
            assert!(
                !may.contains(*banned),
                "ARCHITECTURE.md lets the domain module `{module}` use `{banned}`"
            );
        }
    }
    assert!(
        !table["store"].contains("web"),
        "ARCHITECTURE.md lets `store` use `web`"
    );
    for (module, may) in &table {
        assert!(!may.contains("cli"), "ARCHITECTURE.md lets `{module}` use `cli`");
    }
}

#[test]
fn crate_paths_are_read_from_single_and_grouped_imports() {
    assert_eq!(crate_paths("use crate::store::cases as store;"), ["store"]);
    assert_eq!(
        crate_paths("use crate::{calendar::Calendar, db::{DbConn, DbError}, workflow};"),
        ["calendar", "db", "workflow"]
    );
    assert_eq!(
        crate_paths("let x = crate::clock::beijing(a) + crate::metrics::local_day(b);"),
        ["clock", "metrics"]
    );
}
