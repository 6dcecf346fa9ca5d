//! The README stays true (issue 22): every Rust block in it is a complete program, the file of
//! `examples/readme/` named above it byte for byte (CI builds those files as examples, and
//! runs the testing one's tests), every crate a block uses is in the README's own
//! `Cargo.toml` block, and what it says of timeouts and installation is what the code does.
//!
//! A block and its file disagree: edit the file (`cargo fmt` formats it), then paste it into
//! the README between the ```` ```rust ```` fence under its `<!-- file: … -->` line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const MARK: &str = "<!-- file: ";

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md")
}

fn manifest() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .expect("Cargo.toml")
}

/// A fenced block of the README: its info string, body, and the line before its fence.
struct Block {
    info: String,
    body: String,
    line: usize,
    before: Option<String>,
}

fn blocks(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(info) = lines[i].strip_prefix("```") else {
            i += 1;
            continue;
        };
        let info = info.trim().to_owned();
        let before = i
            .checked_sub(1)
            .map(|b| lines[b].trim_end().to_owned())
            .filter(|b| !b.is_empty());
        let start = i;
        i += 1;
        let mut body = String::new();
        while i < lines.len() && lines[i].trim_end() != "```" {
            body.push_str(lines[i]);
            i += 1;
        }
        assert!(
            i < lines.len(),
            "README.md:{}: unclosed code block",
            start + 1
        );
        i += 1;
        blocks.push(Block {
            info,
            body,
            line: start + 1,
            before,
        });
    }
    blocks
}

fn is_rust(info: &str) -> bool {
    info.split(',').next().unwrap_or("").trim() == "rust"
}

/// The Rust blocks with the file each one is: `(line, path, body)`.
fn rust_blocks() -> Vec<(usize, String, String)> {
    blocks(&readme())
        .into_iter()
        .filter(|b| is_rust(&b.info))
        .map(|b| {
            let path = b
                .before
                .as_deref()
                .and_then(|l| l.strip_prefix(MARK))
                .and_then(|l| l.strip_suffix(" -->"))
                .unwrap_or_else(|| {
                    panic!(
                        "README.md:{}: a ```rust block needs `{MARK}examples/readme/NAME.rs -->` \
                         on the line right above it",
                        b.line
                    )
                })
                .to_owned();
            (b.line, path, b.body)
        })
        .collect()
}

#[test]
fn every_rust_block_is_its_example_file_byte_for_byte() {
    let blocks = rust_blocks();
    assert!(blocks.len() >= 5, "the README lost its programs");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (line, path, body) in &blocks {
        assert!(
            path.starts_with("examples/readme/") && path.ends_with(".rs"),
            "README.md:{line}: {path} is not under examples/readme/"
        );
        let file = std::fs::read_to_string(root.join(path))
            .unwrap_or_else(|e| panic!("README.md:{line}: {path}: {e}"));
        if &file != body {
            let differs = file
                .lines()
                .zip(body.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(file.lines().count().min(body.lines().count()));
            panic!(
                "README.md:{line}: the block is not {path} (first difference at its line {}); \
                 paste the file into the README",
                differs + 1
            );
        }
    }
}

#[test]
fn every_readme_example_is_in_the_readme_once_and_built() {
    let named: Vec<String> = rust_blocks().into_iter().map(|(_, p, _)| p).collect();
    let unique: BTreeSet<&String> = named.iter().collect();
    assert_eq!(
        unique.len(),
        named.len(),
        "a file is shown twice: {named:?}"
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/readme");
    let manifest = manifest();
    for entry in std::fs::read_dir(dir).expect("examples/readme") {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let path = format!("examples/readme/{name}");
        assert!(
            named.contains(&path),
            "{path} is not shown in the README (or remove it)"
        );
        // An [[example]] of its own, so that `cargo test` builds it.
        assert!(
            manifest.contains(&format!("path = \"{path}\"")),
            "{path} has no [[example]] in Cargo.toml, so CI does not build it"
        );
    }
}

#[test]
fn every_rust_block_is_a_complete_program_without_hidden_lines() {
    for (line, path, body) in rust_blocks() {
        assert!(
            body.lines()
                .any(|l| l.starts_with("fn main(") || l.starts_with("async fn main(")),
            "README.md:{line} ({path}): no `fn main`: a block must compile as src/main.rs"
        );
        for (n, text) in body.lines().enumerate() {
            let trimmed = text.trim_start();
            assert!(
                !(trimmed == "#" || trimmed.starts_with("# ")),
                "README.md:{}: a doctest-hidden line shows on GitHub: {text:?}",
                line + 1 + n
            );
        }
    }
    // No README doctests either: they would need hidden lines again.
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    assert!(!lib.contains("include_str!(\"../README.md\")"));
}

/// The README's `Cargo.toml` block: each dependency (`-` as `_`) and its line, from
/// `[dependencies]` and `[dev-dependencies]`.
fn readme_dependencies() -> BTreeMap<String, String> {
    let blocks = blocks(&readme());
    let manifest = blocks
        .iter()
        .find(|b| b.info == "toml" && b.body.contains("[dependencies]"))
        .expect("a ```toml block with the [dependencies] a new crate needs");
    let mut deps = BTreeMap::new();
    let mut section = "";
    for line in manifest.body.lines() {
        let line = line.split(" #").next().unwrap().trim();
        if line.starts_with('[') {
            section = if line == "[dependencies]" || line == "[dev-dependencies]" {
                "deps"
            } else {
                ""
            };
            continue;
        }
        if let (Some((name, value)), "deps") = (line.split_once('='), section) {
            deps.entry(name.trim().replace('-', "_"))
                .and_modify(|v: &mut String| v.push_str(value))
                .or_insert_with(|| value.to_owned());
        }
    }
    deps
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The names a block brings into scope with `use` (the last segment of each path, or its
/// `as` name), and the crates it names: the first segment of `use` paths and of every other
/// `name::` path whose `name` is lower case and not brought into scope.
fn crates_used(body: &str) -> BTreeSet<String> {
    let code: String = body
        .lines()
        .map(|l| match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut imported = BTreeSet::new();
    let mut crates = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("use ") {
        let starts_item = rest[..at]
            .chars()
            .last()
            .is_none_or(|c| c.is_whitespace() || c == ';' || c == '{' || c == '}');
        let after = &rest[at + 4..];
        let end = after.find(';').unwrap_or(after.len());
        if starts_item {
            let tree = &after[..end];
            let root: String = tree
                .trim_start_matches("::")
                .chars()
                .take_while(|&c| is_ident(c))
                .collect();
            crates.insert(root);
            for leaf in tree.split(['{', '}', ',']) {
                let leaf = leaf.trim();
                let name = match leaf.split_once(" as ") {
                    Some((_, alias)) => alias.trim(),
                    None => leaf.rsplit("::").next().unwrap_or(""),
                };
                if !name.is_empty() && name != "*" && name != "self" {
                    imported.insert(name.to_owned());
                }
            }
        }
        rest = &after[end..];
    }
    let bytes: Vec<char> = code.chars().collect();
    for i in 0..bytes.len() {
        if bytes[i] != ':' || bytes.get(i + 1) != Some(&':') || i == 0 || !is_ident(bytes[i - 1]) {
            continue;
        }
        let mut start = i;
        while start > 0 && is_ident(bytes[start - 1]) {
            start -= 1;
        }
        if start >= 1 && matches!(bytes[start - 1], ':' | '.') || bytes.get(i + 2) == Some(&'<') {
            continue; // not the first segment; a method; a turbofish
        }
        let name: String = bytes[start..i].iter().collect();
        if name.starts_with(|c: char| c.is_ascii_lowercase()) && !imported.contains(&name) {
            crates.insert(name);
        }
    }
    for local in ["std", "core", "alloc", "crate", "self", "super"] {
        crates.remove(local);
    }
    crates
}

#[test]
fn every_crate_a_block_uses_is_in_the_readme_dependencies() {
    let deps = readme_dependencies();
    for needed in ["iampass", "actix_web", "serde", "tokio"] {
        assert!(deps.contains_key(needed), "{needed} missing: {deps:?}");
    }
    for (line, path, body) in rust_blocks() {
        for krate in crates_used(&body) {
            assert!(
                deps.contains_key(&krate),
                "README.md:{line} ({path}) uses `{krate}`, which the README's Cargo.toml block \
                 does not list ({:?})",
                deps.keys().collect::<Vec<_>>()
            );
        }
        let needs = |what: &str, krate: &str, feature: &str| {
            if body.contains(what) {
                let line_of = deps.get(krate).map(String::as_str).unwrap_or("");
                assert!(
                    line_of.contains(&format!("\"{feature}\"")),
                    "{path} uses `{what}`: {krate} needs the feature {feature:?} in the README's \
                     Cargo.toml block"
                );
            }
        };
        needs("#[tokio::main]", "tokio", "macros");
        needs("#[tokio::main]", "tokio", "rt-multi-thread");
        needs("tokio::time", "tokio", "time");
        needs("derive(serde::", "serde", "derive");
        needs("iampass::emulator", "iampass", "emulator");
    }
}

#[test]
fn the_crate_finder_sees_paths_and_imports() {
    let body = "use actix_web::{App, web};\nuse iampass::actix::{Iampass as I};\n\
                #[derive(serde::Deserialize)]\nstruct S;\n#[tokio::main]\nasync fn main() {\n\
                web::get(); I::x(); std::time::Duration::ZERO; other::thing(); \
                x.parse::<u8>(); // not::this\n}\n";
    let found: Vec<String> = crates_used(body).into_iter().collect();
    assert_eq!(found, ["actix_web", "iampass", "other", "serde", "tokio"]);
}

#[test]
fn the_newcomer_commands_and_the_installation_are_what_works() {
    let readme = readme();
    for command in [
        "cargo run --example login_page --features emulator",
        "cargo test --all-features",
        "cargo run --features cli --bin iampass --",
        "cargo run --features emulator --bin iampass-emulator --",
    ] {
        assert!(readme.contains(command), "the README lost `{command}`");
    }
    // Not on crates.io yet: only installs from a checkout work.
    for line in readme.lines().filter(|l| l.contains("cargo install")) {
        assert!(
            line.contains("--path"),
            "{line:?} would need the crate published"
        );
    }
    assert!(
        !readme.contains("version = \"0.1\""),
        "not on crates.io yet"
    );
}

#[cfg(feature = "core")]
#[test]
fn the_timeouts_the_readme_gives_are_the_codes() {
    let readme = readme();
    let middleware = iampass::core::defaults::DEFAULT_REQUEST_TIMEOUT.as_secs();
    let client = iampass::client::DEFAULT_TIMEOUT.as_secs();
    assert!(readme.contains(&format!(
        "| made from the credentials, {middleware} s per call (`core::defaults::DEFAULT_REQUEST_TIMEOUT`) |"
    )));
    assert!(readme.contains(&format!(
        "| `timeout` | {client} s (`client::DEFAULT_TIMEOUT`; {middleware} s in `Iampass`) |"
    )));
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    assert!(lib.contains(&format!("**{middleware} s per IAMPASS call**")));
    assert!(lib.contains(&format!("{client} s")));
}
