//! The layers, checked (README, "Development"): a lower layer never names a higher one.
//! Cargo keeps the crates apart (`ncompass-core` cannot see `ncompass-store`, neither
//! can see the server); this test keeps the rest: what each crate may depend on, and
//! within the server, which folder may name which. Production code only: comments and
//! the `#[cfg(test)]` module at the end of a file are left out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

/// The root of the workspace.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the backend is inside the workspace")
        .to_path_buf()
}

/// Every `.rs` file below `dir` but test-only modules (`*tests.rs`), sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs")
                // Test-only modules (`#[cfg(test)] mod fault_tests;`, `analytics/tests.rs`).
                && !path.to_string_lossy().ends_with("tests.rs")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The production lines of a source file, numbered from 1: up to its test module (the
/// project puts it last), without comment lines.
fn production_lines(text: &str) -> Vec<(usize, &str)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        if trimmed == "#[cfg(test)]"
            && lines
                .get(i + 1)
                .is_some_and(|next| next.trim_start().starts_with("mod "))
        {
            break;
        }
        if !trimmed.starts_with("//") {
            kept.push((i + 1, *line));
        }
    }
    kept
}

/// Whether `line` names `word` as a whole path segment or identifier (`diesel` in
/// `diesel::`, not in `undiesel`).
fn names(line: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    line.match_indices(word).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// The places below `dir` whose production code names one of `forbidden`.
fn violations(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let root = workspace();
    let mut found = Vec::new();
    for file in rust_files(&root.join(dir)) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in production_lines(&text) {
            for word in forbidden {
                if names(line, word) {
                    let path = file.strip_prefix(&root).unwrap_or(&file).display();
                    found.push(format!("{path}:{number} names `{word}`: {}", line.trim()));
                }
            }
        }
    }
    found
}

/// The names of `[dependencies]` (not dev-dependencies) in a crate's Cargo.toml.
fn dependencies(manifest: &str) -> Vec<String> {
    let text = std::fs::read_to_string(workspace().join(manifest)).unwrap();
    let mut in_dependencies = false;
    let mut names = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
        } else if in_dependencies && !line.is_empty() && !line.starts_with('#') {
            if let Some((name, _)) = line.split_once('=') {
                names.push(name.trim().trim_end_matches(".workspace").to_string());
            }
        }
    }
    names
}

/// What a layer must not name, and why.
struct Rule {
    dir: &'static str,
    forbidden: &'static [&'static str],
    why: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        dir: "core/src",
        forbidden: &["diesel", "actix_web", "clap", "tokio", "ncompass_store"],
        why: "the domain is pure: no database, HTTP, command line or async runtime",
    },
    Rule {
        dir: "store/src",
        forbidden: &["actix_web", "clap", "AppError", "StatusCode", "HttpResponse"],
        why: "storage returns its own errors and knows nothing of HTTP or the command line",
    },
    Rule {
        dir: "backend/src/pipeline",
        forbidden: &[
            "actix_web", "clap", "AppError", "diesel", "batch_execute", "sql_query",
            // The higher layers, by their paths and by the old names lib.rs re-exports.
            "http", "app", "routes", "auth", "error", "openapi", "config", "startup",
            "accounts",
            // Time decides retention and partitions: the injected clock, not the system's.
            "unix_now",
        ],
        why: "the pipeline returns its own errors, never decides an HTTP status, and takes its config from the application",
    },
    Rule {
        dir: "backend/src/http",
        forbidden: &[
            "clap", "diesel", "batch_execute", "sql_query", "app", "config", "startup",
            "accounts", "unix_now",
        ],
        why: "handlers call the storage and the pipeline (no SQL), take what the application hands them (no flags), and read the server's clock",
    },
    Rule {
        dir: "frontend/src/components",
        forbidden: &["app", "pages"],
        why: "components take props and render; they never import the app or a page",
    },
];

/// `crate::NAME` for the names that are modules of the crate; external crates as they
/// are. (A bare word like `app` would match too much: only its path form counts.)
fn spelled(word: &str) -> String {
    const MODULES: &[&str] = &[
        "http", "app", "routes", "auth", "error", "openapi", "config", "startup", "accounts",
        "pages",
    ];
    if MODULES.contains(&word) {
        format!("crate::{word}")
    } else {
        word.to_string()
    }
}

#[test]
fn no_layer_names_a_higher_one() {
    let mut found = Vec::new();
    for rule in RULES {
        let forbidden: Vec<String> = rule.forbidden.iter().map(|word| spelled(word)).collect();
        let forbidden: Vec<&str> = forbidden.iter().map(String::as_str).collect();
        for violation in violations(rule.dir, &forbidden) {
            found.push(format!("{violation}\n    ({}: {})", rule.dir, rule.why));
        }
    }
    assert!(
        found.is_empty(),
        "layer rules broken:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_sql_outside_the_storage_crate() {
    // Statements, and the one place per concern where the two databases differ.
    let found = violations(
        "backend/src",
        &[
            "diesel",
            "batch_execute",
            "sql_query",
            "PRAGMA",
            "Conn::Sqlite",
            "Conn::Postgres",
        ],
    );
    assert!(
        found.is_empty(),
        "SQL outside store/:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_crates_depend_downward_only() {
    let checks: [(&str, &[&str]); 3] = [
        (
            "core/Cargo.toml",
            &[
                "diesel",
                "diesel_migrations",
                "actix-web",
                "clap",
                "tokio",
                "ncompass-store",
                "ncompass",
            ],
        ),
        ("store/Cargo.toml", &["actix-web", "clap", "ncompass"]),
        // The fuzz targets build the parser alone, not the server.
        (
            "fuzz/Cargo.toml",
            &["ncompass", "ncompass-store", "diesel", "actix-web"],
        ),
    ];
    let mut found = Vec::new();
    for (manifest, forbidden) in checks {
        for name in dependencies(manifest) {
            if forbidden.contains(&name.as_str()) {
                found.push(format!("{manifest} depends on {name}"));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
    assert!(dependencies("fuzz/Cargo.toml").contains(&"ncompass-core".to_string()));
}

#[test]
fn the_checks_see_what_they_look_for() {
    // The scanner itself: a comment and a test module are not production code, a
    // path segment is found, a longer identifier is not.
    let text = "use crate::http::error;\n// crate::app in a comment\nfn f() {}\n#[cfg(test)]\nmod tests {\n    use crate::app;\n}\n";
    let lines = production_lines(text);
    assert_eq!(lines.len(), 2);
    assert!(names(lines[0].1, "crate::http"));
    assert!(!lines.iter().any(|(_, line)| names(line, "crate::app")));
    assert!(!names("let undiesel = 1;", "diesel"));
    assert!(names("diesel::sql_query(x)", "diesel"));
    assert!(!names("crate::application", "crate::app"));
    // Every rule's folder exists: a moved folder must not silently pass.
    for rule in RULES {
        assert!(
            !rust_files(&workspace().join(rule.dir)).is_empty(),
            "no source under {}",
            rule.dir
        );
    }
}
