//! The layers of ARCHITECTURE.md, checked against the code: every module of `src/` sits in one layer,
//! and imports only modules below it (or after it in its own layer). A new module, or an import that
//! points up, fails here until ARCHITECTURE.md and the code agree again.

use std::collections::BTreeMap;
use std::path::Path;

/// The layers, top first, each a list of modules, from the ```layers block of ARCHITECTURE.md.
fn layers_of(architecture: &str) -> Vec<Vec<String>> {
    let block = architecture.split("```layers\n").nth(1).and_then(|rest| rest.split("```").next());
    let block = block.expect("ARCHITECTURE.md has a ```layers block");
    block
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .filter(|layer| !layer.is_empty())
        .collect()
}

/// The top-level modules of the crate each file's code refers to (`crate::x`, `use crate::{x, y::z}`),
/// unit tests left out: a test module may reach anywhere.
fn imports(source: &str) -> Vec<String> {
    let code = match source.find("#[cfg(test)]\nmod tests") {
        Some(at) => &source[..at],
        None => source,
    };
    let path = regex::Regex::new(r"\bcrate::(\w+)").expect("pattern");
    let group = regex::Regex::new(r"use\s+crate::\{([^;]*)\}").expect("pattern");
    let first = regex::Regex::new(r"(?:^|[,{\s])(\w+)(?:::|\s*[,}]|\s*$)").expect("pattern");
    let mut found: Vec<String> = path.captures_iter(code).map(|c| c[1].to_owned()).collect();
    for g in group.captures_iter(code) {
        found.extend(first.captures_iter(&g[1]).map(|c| c[1].to_owned()));
    }
    found.sort();
    found.dedup();
    found
}

/// Every import that points up (or left within a layer), and every module not placed in a layer.
fn violations(layers: &[Vec<String>], sources: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut rank = BTreeMap::new();
    for (l, layer) in layers.iter().enumerate() {
        for (i, module) in layer.iter().enumerate() {
            rank.insert(module.as_str(), (l, i));
        }
    }
    let mut found = Vec::new();
    for (module, files) in sources {
        let Some(&from) = rank.get(module.as_str()) else {
            found.push(format!("module {module} is in no layer of ARCHITECTURE.md"));
            continue;
        };
        for text in files {
            for target in imports(text) {
                if target == *module || !sources.contains_key(&target) {
                    continue;
                }
                match rank.get(target.as_str()) {
                    Some(&to) if to > from => {}
                    _ => found.push(format!("{module} imports {target}, which is not below it")),
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// The sources of each top-level module of `src/` (a file `x.rs` or a folder `x/`), `main` and `lib`
/// apart (they sit above everything).
fn modules(src: &Path) -> BTreeMap<String, Vec<String>> {
    fn files(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("readable folder").flatten() {
            let path = entry.path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(std::fs::read_to_string(&path).expect("readable source"));
            }
        }
    }
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir(src).expect("src/").flatten() {
        let path = entry.path();
        let name = path.file_stem().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let mut texts = Vec::new();
        if path.is_dir() {
            files(&path, &mut texts);
        } else if path.extension().is_some_and(|e| e == "rs") && name != "main" && name != "lib" {
            texts.push(std::fs::read_to_string(&path).expect("readable source"));
        } else {
            continue;
        }
        modules.insert(name, texts);
    }
    modules
}

#[test]
fn every_module_imports_only_the_layers_below_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let found = violations(&layers_of(&architecture), &modules(&root.join("src")));
    assert!(found.is_empty(), "the layers of ARCHITECTURE.md do not hold:\n{}", found.join("\n"));
}

#[test]
fn an_upward_import_or_an_unplaced_module_is_found() {
    let layers = layers_of("```layers\napi\ningest  # flows\nstore\n```\n");
    assert_eq!(layers, vec![vec!["api"], vec!["ingest"], vec!["store"]]);
    let sources: BTreeMap<String, Vec<String>> = [
        ("api", "use crate::ingest::Ingestor;\nuse crate::{store::Store, ingest};"),
        ("ingest", "use crate::store::Store;"),
        ("store", "use crate::{ingest::Submission, extra};\n#[cfg(test)]\nmod tests {\n use crate::api;\n}"),
        ("extra", "fn f() {}"),
    ]
    .into_iter()
    .map(|(m, text)| (m.to_owned(), vec![text.to_owned()]))
    .collect();
    assert_eq!(
        violations(&layers, &sources),
        vec![
            "module extra is in no layer of ARCHITECTURE.md",
            "store imports extra, which is not below it",
            "store imports ingest, which is not below it"
        ]
    );
}
