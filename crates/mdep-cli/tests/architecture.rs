//! The workspace's shape, checked on every test run (docs/architecture.md):
//!
//! - no source file under `crates/*/src` is longer than 800 lines;
//! - inside each crate, no two modules import each other, directly or through others
//!   (a module graph without cycles). An edge `a -> b` is any path in `a` that names an
//!   item of module `b`: `use crate::b::X`, `super::X`, `b::f()` after `mod b;`, a
//!   re-export `pub use b::X`. The crate root (lib.rs, main.rs) is left out: it only
//!   declares the modules and re-exports them. Unit tests (`#[cfg(test)]` items and
//!   `tests.rs` files) are left out too: a test may reach anywhere.
//!
//! The checker reads the code as text with a small tokenizer (no extra dependencies);
//! its own tests at the bottom show it finds the cycles it should.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest a source file may be.
const MAX_LINES: usize = 800;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

fn crate_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(workspace_root().join("crates"))
        .expect("crates/ is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("src").is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_source_file_is_longer_than_800_lines() {
    let mut too_long = Vec::new();
    for krate in crate_dirs() {
        let mut files = Vec::new();
        rust_files(&krate.join("src"), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).expect("a source file is readable");
            let lines = text.lines().count();
            if lines > MAX_LINES {
                too_long.push(format!("{} ({lines} lines)", f.display()));
            }
        }
    }
    assert!(
        too_long.is_empty(),
        "source files longer than {MAX_LINES} lines; split them by concern:\n  {}",
        too_long.join("\n  ")
    );
}

#[test]
fn no_two_modules_import_each_other() {
    let mut report = Vec::new();
    for krate in crate_dirs() {
        let src = krate.join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut sources = BTreeMap::new();
        for f in files {
            let rel = f.strip_prefix(&src).expect("under src").to_path_buf();
            if let Some(module) = module_of(&rel) {
                sources.insert(module, std::fs::read_to_string(&f).expect("readable"));
            }
        }
        let edges = module_edges(&sources);
        for cycle in strongly_connected(&edges)
            .into_iter()
            .filter(|c| c.len() > 1)
        {
            // Name the edges inside the cycle, so that the one to cut can be chosen.
            let inside: Vec<String> = cycle
                .iter()
                .flat_map(|from| {
                    edges[from]
                        .iter()
                        .filter(|to| cycle.contains(to))
                        .map(move |to| format!("{from} -> {to}"))
                })
                .collect();
            report.push(format!(
                "{}: {}\n    edges: {}",
                krate.file_name().unwrap_or_default().to_string_lossy(),
                cycle.join(" <-> "),
                inside.join(", ")
            ));
        }
    }
    assert!(
        report.is_empty(),
        "modules that import each other (move what both need into a module below them):\n  {}",
        report.join("\n  ")
    );
}

/// The module path of a file under src/ (`a/b.rs` and `a/b/mod.rs` are `a::b`); `None`
/// for the crate roots, test files and binaries under src/bin.
fn module_of(rel: &Path) -> Option<String> {
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        return None;
    }
    if parts.first().is_some_and(|p| p == "bin")
        || parts.iter().any(|p| p == "tests")
        || parts.last().is_some_and(|p| p == "tests")
    {
        return None;
    }
    let mut parts = parts;
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    Some(parts.join("::"))
}

/// Each module's imports of other modules of the crate.
fn module_edges(sources: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    sources
        .iter()
        .map(|(module, text)| (module.clone(), imports(module, text, &modules)))
        .collect()
}

/// Every cycle (strongly connected component of more than one module), each sorted.
fn cycles(sources: &BTreeMap<String, String>) -> Vec<Vec<String>> {
    strongly_connected(&module_edges(sources))
        .into_iter()
        .filter(|c| c.len() > 1)
        .collect()
}

/// The modules of this crate that `module` names.
fn imports(module: &str, text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let tokens = tokenize(text);
    let tokens = drop_test_items(&tokens);
    let here: Vec<String> = module.split("::").map(str::to_string).collect();
    // Names in scope that stand for modules: child modules (`mod x;`), and aliases bound
    // by `use` of a module.
    let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut paths: Vec<Vec<String>> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].as_str();
        if t == "use" {
            let end = tokens[i..]
                .iter()
                .position(|t| t == ";")
                .map_or(tokens.len(), |p| i + p);
            let mut found = Vec::new();
            expand_use(&tokens[i + 1..end], Vec::new(), &mut found);
            for (path, alias) in found {
                if let Some(abs) = absolute(&here, &path, &aliases, modules) {
                    if let Some(alias) = alias
                        && modules.contains(&abs.join("::"))
                    {
                        aliases.insert(alias, abs.clone());
                    }
                    paths.push(abs);
                }
            }
            i = end + 1;
            continue;
        }
        if t == "mod" && tokens.get(i + 2).is_some_and(|t| t == ";" || t == "{") {
            let name = tokens[i + 1].clone();
            let mut child = here.clone();
            child.push(name.clone());
            aliases.insert(name, child);
            i += 2;
            continue;
        }
        if is_ident(t) && tokens.get(i + 1).is_some_and(|t| t == "::") {
            let prev_is_path = i > 0 && tokens[i - 1] == "::";
            if !prev_is_path {
                let mut path = vec![t.to_string()];
                let mut j = i + 1;
                while tokens.get(j).is_some_and(|t| t == "::")
                    && tokens.get(j + 1).is_some_and(|t| is_ident(t))
                {
                    path.push(tokens[j + 1].clone());
                    j += 2;
                }
                if let Some(abs) = absolute(&here, &path, &aliases, modules) {
                    paths.push(abs);
                }
                i = j;
                continue;
            }
        }
        i += 1;
    }
    let mut out = BTreeSet::new();
    for path in paths {
        // The longest prefix of the path that is a module of this crate.
        for n in (1..=path.len()).rev() {
            let candidate = path[..n].join("::");
            if modules.contains(&candidate) {
                if candidate != module {
                    out.insert(candidate);
                }
                break;
            }
        }
    }
    out
}

/// Resolves a path as written in `here` to an absolute path in the crate, or `None` when
/// it names something outside the crate (another crate, std, a local item).
fn absolute(
    here: &[String],
    path: &[String],
    aliases: &BTreeMap<String, Vec<String>>,
    modules: &BTreeSet<String>,
) -> Option<Vec<String>> {
    let first = path.first()?;
    let rest = &path[1..];
    let mut base: Vec<String> = match first.as_str() {
        "crate" => Vec::new(),
        "self" => here.to_vec(),
        "super" => {
            let mut b = here.to_vec();
            b.pop();
            let mut k = 0;
            while rest.get(k).is_some_and(|s| s == "super") {
                b.pop();
                k += 1;
            }
            b.extend(rest[k..].iter().cloned());
            return Some(b);
        }
        name => {
            if let Some(target) = aliases.get(name) {
                target.clone()
            } else {
                // A child module used without `mod` in view (declared in a file this
                // tokenizer did not see as such): resolve against here.
                let mut child = here.to_vec();
                child.push(name.to_string());
                if modules.contains(&child.join("::")) {
                    child
                } else {
                    return None;
                }
            }
        }
    };
    base.extend(rest.iter().cloned());
    Some(base)
}

/// Expands a use tree (`a::{b, c::d as e, f::*}`) into its paths, each with the name it
/// binds (`None` for globs and `self` imports of a renamed module).
fn expand_use(
    tokens: &[String],
    prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>)>,
) {
    let mut path = prefix;
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].as_str();
        match t {
            "::" | "pub" => i += 1,
            "{" => {
                // Split the group at top-level commas.
                let mut depth = 0;
                let mut start = i + 1;
                let mut j = i + 1;
                while j < tokens.len() {
                    match tokens[j].as_str() {
                        "{" => depth += 1,
                        "}" if depth == 0 => {
                            expand_use(&tokens[start..j], path.clone(), out);
                            return;
                        }
                        "}" => depth -= 1,
                        "," if depth == 0 => {
                            expand_use(&tokens[start..j], path.clone(), out);
                            start = j + 1;
                        }
                        _ => {}
                    }
                    j += 1;
                }
                expand_use(&tokens[start..], path.clone(), out);
                return;
            }
            "*" => {
                out.push((path.clone(), None));
                return;
            }
            "as" => {
                let alias = tokens.get(i + 1).cloned();
                out.push((path.clone(), alias.filter(|a| a != "_")));
                return;
            }
            "self" if !path.is_empty() => i += 1,
            _ if is_ident(t) => {
                path.push(t.to_string());
                i += 1;
            }
            _ => i += 1,
        }
    }
    if !path.is_empty() {
        let alias = path.last().cloned();
        out.push((path, alias));
    }
}

fn is_ident(t: &str) -> bool {
    t.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && t.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Identifiers, `::` and single punctuation characters; comments, strings and character
/// literals are dropped.
fn tokenize(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 1;
            i += 2;
            while i < chars.len() && depth > 0 {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                } else {
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && raw_string_at(&chars, i) {
            i = skip_raw_string(&chars, i);
        } else if c == 'b' && next == Some('"') {
            i = skip_string(&chars, i + 1);
        } else if c == '"' {
            i = skip_string(&chars, i);
        } else if c == '\'' {
            // A char literal ('a', '\n', '\u{1F600}') or a lifetime ('a).
            if chars.get(i + 1) == Some(&'\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else if c.is_ascii_digit() {
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
        } else if c == ':' && next == Some(':') {
            tokens.push("::".to_string());
            i += 2;
        } else if c.is_whitespace() {
            i += 1;
        } else {
            tokens.push(c.to_string());
            i += 1;
        }
    }
    tokens
}

fn raw_string_at(chars: &[char], i: usize) -> bool {
    // r"..." or r#"..."#; `r#ident` is a raw identifier, not a string.
    let mut j = i + 1;
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    chars.get(j) == Some(&'"')
        && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'))
}

fn skip_raw_string(chars: &[char], i: usize) -> usize {
    let mut j = i + 1;
    let mut hashes = 0;
    while chars.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    j += 1; // the opening quote
    while j < chars.len() {
        if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
            return j + 1 + hashes;
        }
        j += 1;
    }
    j
}

fn skip_string(chars: &[char], i: usize) -> usize {
    let mut j = i + 1;
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            '"' => return j + 1,
            _ => j += 1,
        }
    }
    j
}

/// Drops every item behind `#[cfg(test)]`: up to its `;` or its balanced `{ … }`.
fn drop_test_items(tokens: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let is_cfg_test = tokens[i] == "#"
            && tokens.get(i + 1).is_some_and(|t| t == "[")
            && tokens.get(i + 2).is_some_and(|t| t == "cfg")
            && tokens.get(i + 3).is_some_and(|t| t == "(")
            && tokens.get(i + 4).is_some_and(|t| t == "test")
            && tokens.get(i + 5).is_some_and(|t| t == ")")
            && tokens.get(i + 6).is_some_and(|t| t == "]");
        if !is_cfg_test {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        }
        let mut j = i + 7;
        while j < tokens.len() && tokens[j] != ";" && tokens[j] != "{" {
            j += 1;
        }
        if tokens.get(j).is_some_and(|t| t == "{") {
            let mut depth = 0;
            while j < tokens.len() {
                if tokens[j] == "{" {
                    depth += 1;
                } else if tokens[j] == "}" {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                j += 1;
            }
        }
        i = j + 1;
    }
    out
}

/// Tarjan's algorithm, iteratively over a small graph.
fn strongly_connected(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(w: &mut Walk<'a>, v: &'a str) {
        let n = w.index.len();
        w.index.insert(v, n);
        w.low.insert(v, n);
        w.stack.push(v);
        w.on_stack.insert(v);
        let edges = w.edges;
        for u in edges.get(v).into_iter().flatten() {
            let u = u.as_str();
            if !edges.contains_key(u) {
                continue;
            }
            if !w.index.contains_key(u) {
                visit(w, u);
                let lu = w.low[u];
                let lv = w.low[v];
                w.low.insert(v, lv.min(lu));
            } else if w.on_stack.contains(u) {
                let iu = w.index[u];
                let lv = w.low[v];
                w.low.insert(v, lv.min(iu));
            }
        }
        if w.low[v] == w.index[v] {
            let mut component = Vec::new();
            while let Some(u) = w.stack.pop() {
                w.on_stack.remove(u);
                component.push(u.to_string());
                if u == v {
                    break;
                }
            }
            component.sort();
            w.out.push(component);
        }
    }
    let mut w = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !w.index.contains_key(v.as_str()) {
            visit(&mut w, v);
        }
    }
    w.out
}

fn sources(files: &[(&str, &str)]) -> BTreeMap<String, String> {
    files
        .iter()
        .map(|(m, t)| ((*m).to_string(), (*t).to_string()))
        .collect()
}

#[test]
fn the_checker_finds_a_direct_cycle_through_use() {
    let s = sources(&[
        ("a", "use crate::b::Thing; pub struct Other;"),
        ("b", "use crate::a::{Other, self as aa}; pub struct Thing;"),
        ("c", "use crate::a::Other;"),
    ]);
    assert_eq!(cycles(&s), vec![vec!["a".to_string(), "b".to_string()]]);
}

#[test]
fn the_checker_finds_parent_and_child_importing_each_other() {
    let s = sources(&[
        ("p", "mod child; pub use child::Thing; pub fn helper() {}"),
        ("p::child", "pub struct Thing; fn f() { super::helper() }"),
    ]);
    assert_eq!(
        cycles(&s),
        vec![vec!["p".to_string(), "p::child".to_string()]]
    );
}

#[test]
fn the_checker_finds_a_longer_cycle_through_paths_in_code() {
    let s = sources(&[
        ("x", "fn f() { crate::y::g() }"),
        ("y", "fn g() { let _ = crate::z::Z::new(); }"),
        ("z", "use crate::x; fn h() { x::f() }"),
    ]);
    assert_eq!(
        cycles(&s),
        vec![vec!["x".to_string(), "y".to_string(), "z".to_string()]]
    );
}

#[test]
fn the_checker_ignores_comments_strings_tests_and_one_way_edges() {
    let s = sources(&[
        (
            "a",
            "// use crate::b::X;\n/* crate::b::Y */ const S: &str = \"crate::b::Z\";\n\
             const R: &str = r#\"super::b\"#; fn l<'a>(x: &'a str) -> char { 'b' }\n\
             use crate::c::C;\n#[cfg(test)] mod tests { use crate::b::X; }",
        ),
        ("b", "use crate::a::l; pub struct X;"),
        ("c", "pub struct C;"),
    ]);
    assert!(cycles(&s).is_empty(), "{:?}", cycles(&s));
    let edges = imports("a", &s["a"], &s.keys().cloned().collect());
    assert_eq!(edges, BTreeSet::from(["c".to_string()]));
}

#[test]
fn module_paths_follow_the_file_layout() {
    assert_eq!(module_of(Path::new("lib.rs")), None);
    assert_eq!(module_of(Path::new("a.rs")).as_deref(), Some("a"));
    assert_eq!(module_of(Path::new("a/mod.rs")).as_deref(), Some("a"));
    assert_eq!(module_of(Path::new("a/b.rs")).as_deref(), Some("a::b"));
    assert_eq!(module_of(Path::new("a/tests.rs")), None);
    assert_eq!(module_of(Path::new("a/tests/x.rs")), None);
}
