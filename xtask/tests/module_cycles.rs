//! No import cycle between the modules of any crate of the workspace, at any level of the module tree
//! (ARCHITECTURE.md, "Rules that hold everywhere"; the JS loader's twin is `loader/js/test/structure.test.js`).
//! A cycle means two modules each need the other, so neither can be read, tested or moved alone.
//!
//! How it reads the code: every crate root (`lib.rs`, `main.rs`, `bin/*.rs`) is parsed with `syn`, the real Rust
//! grammar, and its `mod` declarations followed file by file, so comments, doc comments, string, byte-string, raw
//! string and char literals are never mistaken for code, and `#[cfg(test)]` on any item (a `mod tests { .. }`
//! block, a `mod tests;` file, a test-only fn) leaves that item out. A module depends on the module that
//! defines what it names:
//! - `use` trees, grouped and nested (`use crate::{a::{X, Y}, b::Z}`), renamed, glob;
//! - paths in code, types, patterns and macro arguments (`format!("{}", crate::a::f())`);
//! - paths from `crate::`, `super::`, `self::`, `$crate::`, from a child module (`a::X`) or from a name a
//!   `use` brought in (`use crate::repo; repo::init::run()`);
//! - through re-exports: `crate::X` where the crate root says `pub use a::X` (or `self::a::X`,
//!   `crate::a::X`, `a::*`) is a dependency on `a`, not on the root; the same for a `pub use` in any module.
//!
//! Which cycles count: the modules under one parent (at every level: the crate's top-level modules, the
//! modules of `repo/`, of `repo/x/`, …) must form no cycle, a dependency of any module inside a child counting
//! as one of that child. A parent and its own children are one unit to the rest of the crate, so a parent that
//! re-exports its children's items (a facade) and children that use their parent's items are not a cycle.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

/// A module's path from its crate root (`[]` = the root, `["repo", "layout"]` = `crate::repo::layout`).
type ModPath = Vec<String>;

/// A path as written in a module: segments, the first may be `crate`, `super` or `self`.
#[derive(Clone, Debug)]
struct Ref {
    path: Vec<String>,
    line: usize,
}

#[derive(Default, Debug)]
struct Module {
    file: PathBuf,
    /// Non-test child modules.
    children: BTreeSet<String>,
    /// Names of the items it defines (fn, struct, enum, trait, const, macro, …).
    items: BTreeSet<String>,
    /// Names a `use` brings in, to the path it names (as written).
    aliases: BTreeMap<String, Vec<String>>,
    /// Glob imports (`use x::*`), as written.
    globs: Vec<Vec<String>>,
    /// Every path it names (use trees, code, macro arguments).
    refs: Vec<Ref>,
}

/// One crate (one root file) as a module tree.
#[derive(Default, Debug)]
struct Crate {
    modules: BTreeMap<ModPath, Module>,
    /// Every file reached by `mod` declarations, test-only ones included.
    files: BTreeSet<PathBuf>,
    errors: Vec<String>,
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        if !a.path().is_ident("cfg") {
            return false;
        }
        let syn::Meta::List(l) = &a.meta else {
            return false;
        };
        // `cfg(test)`, `cfg(all(test, …))`; `cfg(not(test))` is code that ships.
        let mut idents = Vec::new();
        idents_of(l.tokens.clone(), &mut idents);
        idents.iter().any(|i| i == "test") && !idents.iter().any(|i| i == "not")
    })
}

fn idents_of(ts: TokenStream, out: &mut Vec<String>) {
    for t in ts {
        match t {
            TokenTree::Ident(i) => out.push(i.to_string()),
            TokenTree::Group(g) => idents_of(g.stream(), out),
            _ => {}
        }
    }
}

fn path_attr(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| match &a.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

fn line_of(i: &proc_macro2::Ident) -> usize {
    i.span().start().line
}

/// Collects what one module's code names: paths, macro arguments, nested `use`s (in fn bodies).
struct Refs<'a> {
    m: &'a mut Module,
}

impl Refs<'_> {
    fn add_use(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.add_use(&p.tree, prefix);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let name = n.ident.to_string();
                let (path, alias) = if name == "self" {
                    (prefix.clone(), prefix.last().cloned())
                } else {
                    let mut p = prefix.clone();
                    p.push(name.clone());
                    (p, Some(name))
                };
                self.use_leaf(path, alias, line_of(&n.ident));
            }
            syn::UseTree::Rename(r) => {
                let name = r.ident.to_string();
                let path = if name == "self" {
                    prefix.clone()
                } else {
                    let mut p = prefix.clone();
                    p.push(name);
                    p
                };
                let alias = r.rename.to_string();
                self.use_leaf(path, (alias != "_").then_some(alias), line_of(&r.ident));
            }
            syn::UseTree::Glob(g) => {
                let line = g.star_token.spans[0].start().line;
                if !prefix.is_empty() {
                    self.m.globs.push(prefix.clone());
                    self.m.refs.push(Ref {
                        path: prefix.clone(),
                        line,
                    });
                }
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.add_use(t, prefix);
                }
            }
        }
    }

    fn use_leaf(&mut self, path: Vec<String>, alias: Option<String>, line: usize) {
        if path.is_empty() {
            return;
        }
        if let Some(a) = alias {
            self.m.aliases.insert(a, path.clone());
        }
        self.m.refs.push(Ref { path, line });
    }

    fn item_use(&mut self, u: &syn::ItemUse) {
        if u.leading_colon.is_none() && !is_test_only(&u.attrs) {
            self.add_use(&u.tree, &mut Vec::new());
        }
    }

    /// Paths inside a macro's arguments, which syn leaves as tokens: `ident (:: ident)+`, `$crate::…`.
    fn scan(&mut self, ts: TokenStream) {
        let toks: Vec<TokenTree> = ts.into_iter().collect();
        let colons = |i: usize| {
            matches!((toks.get(i), toks.get(i + 1)),
                (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == ':' && b.as_char() == ':')
        };
        let mut i = 0;
        while i < toks.len() {
            match &toks[i] {
                TokenTree::Group(g) => {
                    self.scan(g.stream());
                    i += 1;
                }
                TokenTree::Ident(id) => {
                    let leading = i >= 2 && colons(i - 2);
                    let dollar =
                        i >= 1 && matches!(&toks[i - 1], TokenTree::Punct(p) if p.as_char() == '$');
                    let mut path = vec![id.to_string()];
                    let line = line_of(id);
                    let mut j = i + 1;
                    while colons(j) {
                        match toks.get(j + 2) {
                            Some(TokenTree::Ident(n)) => {
                                path.push(n.to_string());
                                j += 3;
                            }
                            _ => break,
                        }
                    }
                    if path.len() >= 2 && (!leading || dollar) {
                        self.m.refs.push(Ref { path, line });
                    }
                    i = j.max(i + 1);
                }
                TokenTree::Punct(_) | TokenTree::Literal(_) => i += 1,
            }
        }
    }
}

impl<'ast> Visit<'ast> for Refs<'_> {
    fn visit_item(&mut self, i: &'ast syn::Item) {
        match i {
            syn::Item::Use(u) => self.item_use(u),
            syn::Item::Mod(_) => {} // a module inside a fn body: not followed
            _ if is_test_only(item_attrs(i)) => {}
            _ => syn::visit::visit_item(self, i),
        }
    }
    fn visit_impl_item(&mut self, i: &'ast syn::ImplItem) {
        let attrs = match i {
            syn::ImplItem::Fn(f) => &f.attrs,
            syn::ImplItem::Const(c) => &c.attrs,
            syn::ImplItem::Type(t) => &t.attrs,
            _ => return syn::visit::visit_impl_item(self, i),
        };
        if !is_test_only(attrs) {
            syn::visit::visit_impl_item(self, i);
        }
    }
    fn visit_path(&mut self, p: &'ast syn::Path) {
        if p.leading_colon.is_none() {
            let path: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
            let first = &path[0];
            if path.len() >= 2 || matches!(first.as_str(), "crate" | "super" | "self") {
                let line = line_of(&p.segments[0].ident);
                self.m.refs.push(Ref { path, line });
            }
        }
        syn::visit::visit_path(self, p);
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.visit_path(&m.path);
        self.scan(m.tokens.clone());
    }
}

fn item_attrs(i: &syn::Item) -> &[syn::Attribute] {
    match i {
        syn::Item::Const(x) => &x.attrs,
        syn::Item::Enum(x) => &x.attrs,
        syn::Item::ExternCrate(x) => &x.attrs,
        syn::Item::Fn(x) => &x.attrs,
        syn::Item::ForeignMod(x) => &x.attrs,
        syn::Item::Impl(x) => &x.attrs,
        syn::Item::Macro(x) => &x.attrs,
        syn::Item::Mod(x) => &x.attrs,
        syn::Item::Static(x) => &x.attrs,
        syn::Item::Struct(x) => &x.attrs,
        syn::Item::Trait(x) => &x.attrs,
        syn::Item::TraitAlias(x) => &x.attrs,
        syn::Item::Type(x) => &x.attrs,
        syn::Item::Union(x) => &x.attrs,
        syn::Item::Use(x) => &x.attrs,
        _ => &[],
    }
}

fn item_name(i: &syn::Item) -> Option<String> {
    let id = match i {
        syn::Item::Const(x) => &x.ident,
        syn::Item::Enum(x) => &x.ident,
        syn::Item::Fn(x) => &x.sig.ident,
        syn::Item::Macro(x) => x.ident.as_ref()?,
        syn::Item::Static(x) => &x.ident,
        syn::Item::Struct(x) => &x.ident,
        syn::Item::Trait(x) => &x.ident,
        syn::Item::TraitAlias(x) => &x.ident,
        syn::Item::Type(x) => &x.ident,
        syn::Item::Union(x) => &x.ident,
        syn::Item::ExternCrate(x) => x.rename.as_ref().map_or(&x.ident, |r| &r.1),
        _ => return None,
    };
    Some(id.to_string())
}

impl Crate {
    /// Parses the crate whose root file is `root`.
    fn load(root: &Path) -> Crate {
        let mut c = Crate::default();
        let dir = root.parent().unwrap().to_path_buf();
        c.load_file(root, Vec::new(), &dir);
        c
    }

    /// Parses `file` as module `path`; its `mod x;` declarations are looked for in `child_dir`.
    fn load_file(&mut self, file: &Path, path: ModPath, child_dir: &Path) {
        self.files.insert(file.to_path_buf());
        let src = match std::fs::read_to_string(file) {
            Ok(s) => s,
            Err(e) => return self.errors.push(format!("{}: {e}", file.display())),
        };
        let ast = match syn::parse_file(&src) {
            Ok(a) => a,
            Err(e) => {
                let at = e.span().start();
                return self.errors.push(format!(
                    "{}:{}:{}: does not parse: {e}",
                    file.display(),
                    at.line,
                    at.column + 1
                ));
            }
        };
        self.load_items(&ast.items, path, file, child_dir);
    }

    fn load_items(&mut self, items: &[syn::Item], path: ModPath, file: &Path, child_dir: &Path) {
        let mut m = Module {
            file: file.to_path_buf(),
            ..Module::default()
        };
        let mut subs = Vec::new();
        for item in items {
            let test_only = is_test_only(item_attrs(item));
            if let syn::Item::Mod(md) = item {
                let name = md.ident.to_string();
                let mut sub = path.clone();
                sub.push(name.clone());
                match &md.content {
                    Some((_, inner)) if !test_only => {
                        m.children.insert(name.clone());
                        m.items.insert(name.clone());
                        subs.push((sub, Some(inner), child_dir.join(&name), file.to_path_buf()));
                    }
                    Some(_) => {}
                    None => {
                        let dir_of_file = file.parent().unwrap();
                        let (f, cd) = if let Some(p) = path_attr(&md.attrs) {
                            let f = dir_of_file.join(p);
                            let cd = f.parent().unwrap().to_path_buf();
                            (f, cd)
                        } else if child_dir.join(format!("{name}.rs")).exists() {
                            (child_dir.join(format!("{name}.rs")), child_dir.join(&name))
                        } else {
                            (child_dir.join(&name).join("mod.rs"), child_dir.join(&name))
                        };
                        if test_only {
                            // Not analysed, but part of the tree (a test-only file is not "forgotten").
                            self.files.insert(f.clone());
                            if f.ends_with("mod.rs") || cd.is_dir() {
                                let mut rest = Vec::new();
                                if cd.is_dir() {
                                    rs_files(&cd, &mut rest);
                                }
                                self.files.extend(rest);
                            }
                        } else {
                            m.children.insert(name.clone());
                            m.items.insert(name.clone());
                            subs.push((sub, None, cd, f));
                        }
                    }
                }
                continue;
            }
            if test_only {
                continue;
            }
            if let Some(n) = item_name(item) {
                m.items.insert(n);
            }
            let mut v = Refs { m: &mut m };
            v.visit_item(item);
        }
        self.modules.insert(path, m);
        for (sub, inner, cd, f) in subs {
            match inner {
                Some(items) => self.load_items(items, sub, &f, &cd),
                None => self.load_file(&f, sub, &cd),
            }
        }
    }

    /// `raw`, written in module `m`, as a path from the crate root; `None` if it names nothing of this crate
    /// (another crate, a local, the prelude).
    fn absolute(&self, m: &[String], raw: &[String], depth: usize) -> Option<Vec<String>> {
        if depth > 16 {
            return None;
        }
        let mut base: Vec<String> = m.to_vec();
        let mut rest = raw;
        match raw.first()?.as_str() {
            "crate" => {
                base.clear();
                rest = &raw[1..];
            }
            "self" | "super" => {
                while let Some(s) = rest.first() {
                    match s.as_str() {
                        "self" => {}
                        "super" => {
                            base.pop()?;
                        }
                        _ => break,
                    }
                    rest = &rest[1..];
                }
            }
            first => {
                let module = self.modules.get(m)?;
                if module.children.contains(first) {
                    // relative to this module: `a::X` with `mod a;`
                } else if let Some(target) = module.aliases.get(first) {
                    if target.len() == 1 && target[0] == first {
                        return None; // `use serde;`
                    }
                    let mut p = target.clone();
                    p.extend_from_slice(&raw[1..]);
                    return self.absolute(m, &p, depth + 1);
                } else {
                    return None;
                }
            }
        }
        base.extend_from_slice(rest);
        Some(base)
    }

    /// The module that defines what the absolute path `abs` names, following `use`s and re-exports; `true` if
    /// it was found there (not just the deepest module the path reached).
    fn target(&self, abs: &[String], depth: usize) -> (ModPath, bool) {
        let mut cur: ModPath = Vec::new();
        for (i, seg) in abs.iter().enumerate() {
            let Some(m) = self.modules.get(&cur) else {
                return (cur, false);
            };
            if m.children.contains(seg) {
                cur.push(seg.clone());
                continue;
            }
            if m.items.contains(seg) {
                return (cur, true);
            }
            if depth < 16 {
                if let Some(alias) = m.aliases.get(seg) {
                    let mut p = alias.clone();
                    p.extend_from_slice(&abs[i + 1..]);
                    return match self.absolute(&cur, &p, depth + 1) {
                        Some(a) => self.target(&a, depth + 1),
                        None => (cur, true), // a re-export of another crate's item
                    };
                }
                for g in &m.globs {
                    if let Some(mut a) = self.absolute(&cur, g, depth + 1) {
                        a.extend_from_slice(&abs[i..]);
                        let (t, found) = self.target(&a, depth + 1);
                        if found {
                            return (t, true);
                        }
                    }
                }
            }
            return (cur, false);
        }
        (cur, true)
    }

    /// Module-to-module dependencies with their evidence (`file:line path`), each module's dependency on
    /// itself left out.
    fn edges(&self) -> BTreeMap<(ModPath, ModPath), String> {
        let mut out = BTreeMap::new();
        for (m, module) in &self.modules {
            for r in &module.refs {
                let Some(abs) = self.absolute(m, &r.path, 0) else {
                    continue;
                };
                let (t, _) = self.target(&abs, 0);
                if t != *m {
                    out.entry((m.clone(), t)).or_insert_with(|| {
                        format!(
                            "{}:{} `{}`",
                            module.file.display(),
                            r.line,
                            r.path.join("::")
                        )
                    });
                }
            }
        }
        out
    }

    /// Every cycle among the modules under one parent, at every level, as readable lines.
    fn cycles(&self) -> Vec<String> {
        // parent -> child -> (child it depends on -> evidence)
        type Level = BTreeMap<String, BTreeMap<String, String>>;
        let mut levels: BTreeMap<ModPath, Level> = BTreeMap::new();
        for ((u, v), why) in self.edges() {
            let common = u.iter().zip(&v).take_while(|(a, b)| a == b).count();
            if common < u.len() && common < v.len() {
                levels
                    .entry(u[..common].to_vec())
                    .or_default()
                    .entry(u[common].clone())
                    .or_default()
                    .entry(v[common].clone())
                    .or_insert(why);
            }
        }
        let mut out = Vec::new();
        for (parent, g) in &levels {
            if let Some(cycle) = find_cycle(g) {
                let name = |m: &str| {
                    let mut p = parent.clone();
                    p.push(m.to_owned());
                    p.join("::")
                };
                let mut s = cycle
                    .iter()
                    .map(|m| name(m))
                    .collect::<Vec<_>>()
                    .join(" -> ");
                for w in cycle.windows(2) {
                    let _ = write!(
                        s,
                        "\n    {} -> {}: {}",
                        name(&w[0]),
                        name(&w[1]),
                        g[&w[0]][&w[1]]
                    );
                }
                out.push(s);
            }
        }
        out
    }
}

fn find_cycle<V>(g: &BTreeMap<String, BTreeMap<String, V>>) -> Option<Vec<String>> {
    fn visit<V>(
        g: &BTreeMap<String, BTreeMap<String, V>>,
        u: &str,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == u) {
            let mut c = stack[i..].to_vec();
            c.push(u.to_owned());
            return Some(c);
        }
        if done.contains(u) {
            return None;
        }
        stack.push(u.to_owned());
        for v in g.get(u).into_iter().flat_map(BTreeMap::keys) {
            if let Some(c) = visit(g, v, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(u.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    g.keys()
        .find_map(|u| visit(g, u, &mut Vec::new(), &mut done))
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The crate roots of a `src/` folder: `lib.rs`, `main.rs`, `bin/*.rs`, `bin/*/main.rs`.
fn roots(src: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = ["lib.rs", "main.rs"]
        .iter()
        .map(|f| src.join(f))
        .filter(|f| f.exists())
        .collect();
    if let Ok(rd) = std::fs::read_dir(src.join("bin")) {
        for e in rd {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            } else if p.join("main.rs").exists() {
                out.push(p.join("main.rs"));
            }
        }
    }
    out.sort();
    out
}

/// What the check says about one `src/` folder: problems (cycles, files that do not parse or belong to no
/// module tree), the number of modules and of dependencies between them seen.
fn check_src(src: &Path) -> (Vec<String>, usize, usize) {
    let mut problems = Vec::new();
    let mut reached = BTreeSet::new();
    let (mut modules, mut edges) = (0, 0);
    let roots = roots(src);
    if roots.is_empty() {
        problems.push(format!("{}: no lib.rs, main.rs or bin/", src.display()));
    }
    for root in roots {
        let c = Crate::load(&root);
        problems.extend(c.errors.iter().cloned());
        for cycle in c.cycles() {
            problems.push(format!("import cycle in {}: {cycle}", root.display()));
        }
        modules += c.modules.len();
        edges += c.edges().len();
        reached.extend(c.files);
    }
    let mut all = Vec::new();
    rs_files(src, &mut all);
    for f in all {
        if !reached.contains(&f) {
            problems.push(format!("{}: in no module tree (not checked)", f.display()));
        }
    }
    (problems, modules, edges)
}

/// The workspace members (root Cargo.toml), each with a `src/` folder.
fn members(ws: &Path) -> Vec<String> {
    let manifest: toml::Table = std::fs::read_to_string(ws.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    manifest["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn no_module_cycles_in_any_crate() {
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    let (mut modules, mut edges) = (0, 0);
    for member in members(ws) {
        let src = ws.join(&member).join("src");
        if !src.is_dir() {
            eprintln!("{member}: no src/, nothing to check");
            continue;
        }
        let (p, m, e) = check_src(&src);
        problems.extend(p);
        seen.push(format!("{member}: {m} modules, {e} dependencies"));
        modules += m;
        edges += e;
    }
    assert!(
        problems.is_empty(),
        "{}\n({})",
        problems.join("\n"),
        seen.join("; ")
    );
    // What it saw on 2026-12-07: 145 modules, 332 dependencies between them.
    assert!(
        modules > 100 && edges > 200,
        "only {modules} modules, {edges} dependencies seen: {seen:?}"
    );
    eprintln!("{}", seen.join("\n"));
}

// ---- The check itself, on synthetic source trees: each kind of cycle is seen, look-alikes are not. ----

/// Writes `files` (path under `src/`, text) into a fresh folder and returns the problems the check reports.
fn check_tree(files: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    for (path, text) in files {
        let p = src.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        #[allow(clippy::disallowed_methods)] // a throw-away fixture
        std::fs::write(&p, text).unwrap();
    }
    check_src(&src).0
}

#[track_caller]
fn assert_cycle(files: &[(&str, &str)], between: &str) {
    let problems = check_tree(files);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("import cycle") && p.contains(between)),
        "expected a cycle {between}, got {problems:#?}"
    );
}

#[track_caller]
fn assert_clean(files: &[(&str, &str)]) {
    let problems = check_tree(files);
    assert!(
        problems.is_empty(),
        "expected no problem, got {problems:#?}"
    );
}

const B_USES_A: &str = "pub struct Y;\npub fn g() -> crate::a::X { crate::a::X }\n";

#[test]
fn sees_a_plain_import_cycle() {
    assert_cycle(
        &[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b::Y;\npub struct X;\n"),
            ("b.rs", B_USES_A),
        ],
        "a -> b -> a",
    );
}

#[test]
fn sees_a_grouped_import() {
    assert_cycle(
        &[
            ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
            ("a.rs", "use crate::{b::Y, c};\npub struct X;\n"),
            ("b.rs", B_USES_A),
            ("c.rs", ""),
        ],
        "a -> b -> a",
    );
}

#[test]
fn sees_a_nested_grouped_import() {
    assert_cycle(
        &[
            ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
            (
                "a.rs",
                "use crate::{c::{self, Z}, b::{Y as Why, g}};\npub struct X;\n",
            ),
            ("b.rs", B_USES_A),
            ("c.rs", "pub struct Z;\n"),
        ],
        "a -> b -> a",
    );
}

#[test]
fn sees_an_import_through_a_crate_root_reexport() {
    // b names `crate::X`, which the root re-exports from a: b depends on a, in each way of writing it.
    for reexport in [
        "pub use crate::a::X;",
        "pub use a::X;",
        "pub use self::a::X;",
        "pub use a::{X};",
        "pub use a::*;",
    ] {
        assert_cycle(
            &[
                ("lib.rs", &format!("mod a;\nmod b;\n{reexport}\n")),
                ("a.rs", "use crate::b::Y;\npub struct X;\n"),
                ("b.rs", "pub struct Y;\nfn g() -> crate::X { crate::X }\n"),
            ],
            "a -> b -> a",
        );
    }
}

#[test]
fn sees_an_import_through_a_reexport_in_a_submodule() {
    assert_cycle(
        &[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a/mod.rs", "mod inner;\npub use inner::X;\n"),
            ("a/inner.rs", "use crate::b::Y;\npub struct X;\n"),
            ("b.rs", "pub struct Y;\nuse crate::a::X;\n"),
        ],
        "a -> b -> a",
    );
}

#[test]
fn sees_a_cycle_between_submodules_at_every_level() {
    // repository/src/repo/a.rs <-> repository/src/repo/b.rs, by `crate::` paths
    assert_cycle(
        &[
            ("lib.rs", "mod repo;\n"),
            ("repo/mod.rs", "mod a;\nmod b;\n"),
            ("repo/a.rs", "pub struct X;\nuse crate::repo::b::Y;\n"),
            (
                "repo/b.rs",
                "pub struct Y;\nfn f() { crate::repo::a::X; }\n",
            ),
        ],
        "repo::a -> repo::b -> repo::a",
    );
    // one level down, by `super::` (in an expression) and `self::` paths, non-mod-rs files
    assert_cycle(
        &[
            ("lib.rs", "mod repo;\n"),
            ("repo.rs", "mod x;\n"),
            ("repo/x.rs", "mod a;\nmod b;\n"),
            ("repo/x/a.rs", "pub fn f() { super::b::g() }\n"),
            (
                "repo/x/b.rs",
                "pub fn g() { super::super::x::a::f() }\nfn h() { self::g() }\n",
            ),
        ],
        "repo::x::a -> repo::x::b -> repo::x::a",
    );
    // inline modules are modules too
    assert_cycle(
        &[(
            "lib.rs",
            "mod a { pub fn f() { super::b::g() } }\nmod b { pub fn g() { crate::a::f() } }\n",
        )],
        "a -> b -> a",
    );
}

#[test]
fn sees_a_cycle_through_submodules_of_different_parents() {
    // repo::a -> mirror::b and mirror::b -> repo::c: the top-level modules repo and mirror form the cycle.
    assert_cycle(
        &[
            ("lib.rs", "mod repo;\nmod mirror;\n"),
            ("repo/mod.rs", "mod a;\nmod c;\n"),
            ("repo/a.rs", "use crate::mirror::b::B;\n"),
            ("repo/c.rs", "pub struct C;\n"),
            ("mirror/mod.rs", "pub mod b;\n"),
            ("mirror/b.rs", "pub struct B(crate::repo::c::C);\n"),
        ],
        "mirror -> repo -> mirror",
    );
}

#[test]
fn sees_paths_in_macros_and_through_imported_modules() {
    assert_cycle(
        &[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "pub fn f() { println!(\"{}\", crate::b::g()); }\n"),
            ("b.rs", "use crate::a;\npub fn g() -> u8 { a::f(); 1 }\n"),
        ],
        "a -> b -> a",
    );
}

#[test]
fn a_url_in_a_string_does_not_hide_the_rest_of_the_line() {
    // The old line-based comment stripping cut at the `//` of the URL and lost `crate::b::g()`.
    assert_cycle(
        &[
            ("lib.rs", "mod a;\nmod b;\n"),
            (
                "a.rs",
                "pub fn f() -> u8 { let _u = \"http://x\"; crate::b::g() }\n",
            ),
            ("b.rs", "pub fn g() -> u8 { crate::a::f() }\n"),
        ],
        "a -> b -> a",
    );
}

#[test]
fn code_after_a_test_module_still_counts() {
    // The old check dropped everything after the first `#[cfg(test)]\nmod tests`.
    assert_cycle(
        &[
            ("lib.rs", "mod a;\nmod b;\n"),
            (
                "a.rs",
                "#[cfg(test)]\nmod tests {}\npub fn f() { crate::b::g() }\n",
            ),
            ("b.rs", "pub fn g() { crate::a::f() }\n"),
        ],
        "a -> b -> a",
    );
}

#[test]
fn look_alikes_are_not_dependencies() {
    let b = ("b.rs", "pub fn g() { crate::a::f() }\n");
    for a in [
        // in strings: plain, with a URL, raw, byte, and a char before it
        "pub fn f() { let _ = \"http://x crate::b::g()\"; }",
        "pub fn f() { let _ = r#\"crate::b::g() \" crate::b::g()\"#; }",
        "pub fn f() { let _ = b\"crate::b::g()\"; let _c = '\"'; let _ = \"crate::b\"; }",
        // in comments and doc comments
        "// crate::b::g()\n/* crate::b::g() /* nested */ crate::b::g() */\npub fn f() {}",
        "//! crate::b::g()\n/// calls [crate::b::g]\npub fn f() {}",
        // another crate whose name ends in `crate`
        "pub fn f() { x0x_dist_crate::b::g() }",
        // unit tests, inline and in their own file, and a test-only fn
        "pub fn f() {}\n#[cfg(test)]\nmod tests { use crate::b::g; }",
        "pub fn f() {}\n#[cfg(test)]\nmod tests;",
        "pub fn f() {}\n#[cfg(all(test, unix))]\nfn helper() { crate::b::g() }",
        // an absolute path to another crate
        "pub fn f() { ::b::g() }",
    ] {
        let mut files = vec![("lib.rs", "mod a;\nmod b;\n"), ("a.rs", a), b];
        if a.contains("mod tests;") {
            files.push(("a/tests.rs", "use crate::b::g;\n"));
        }
        assert_clean(&files);
    }
}

#[test]
fn a_facade_and_its_children_are_not_a_cycle() {
    // repo/mod.rs re-exports its children's items, the children use it and each other one way.
    assert_clean(&[
        ("lib.rs", "pub mod repo;\npub use repo::Repo;\nmod cli;\n"),
        (
            "repo/mod.rs",
            "mod layout;\nmod init;\npub use layout::Layout;\npub use init::init;\npub struct Repo(Layout);\n",
        ),
        ("repo/layout.rs", "pub struct Layout;\n"),
        (
            "repo/init.rs",
            "use super::{Layout, Repo};\npub fn init() -> Repo { Repo(Layout) }\n",
        ),
        ("cli.rs", "use crate::{repo::init, Repo};\n"),
    ]);
}

#[test]
fn a_file_outside_every_module_tree_is_reported() {
    let problems = check_tree(&[("lib.rs", "mod a;\n"), ("a.rs", ""), ("stray.rs", "")]);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("stray.rs") && p.contains("no module tree")),
        "{problems:?}"
    );
    let problems = check_tree(&[("lib.rs", "fn f( {}\n")]);
    assert!(
        problems.iter().any(|p| p.contains("does not parse")),
        "{problems:?}"
    );
}
