//! The files of the npm packages generated from a verified release: what `loader/js/scripts/pack.js` puts in
//! them, written in Rust so the server makes them from the repository alone (no Node, no build directory).
//! Every input has one source shared with pack.js: the loader files, the platform table and the WASM runtime
//! pins are embedded from `loader/js` and `manifests/vectors` at build time (`build.rs`); the package.json and
//! README texts follow pack.js line for line (the end-to-end test `loader/js/e2e/npm-registry.sh` compares
//! the two). What the server cannot have is left out: the WASI glue and `index.d.ts` come from a build
//! directory (pack.js `--release`), and `release.json` names no default repository (a mirror and its origin
//! must produce the same bytes; `X0X_DIST_URL` says where to fetch from when no platform package fits).
use x0x_dist_manifests::platform::{Kind, Libc};
use x0x_dist_manifests::Platform;

use super::json::Obj;
use super::NpmName;

include!(concat!(env!("OUT_DIR"), "/loader_files.rs"));

/// The licence of every generated package.
const LICENSE: &str = "MIT OR Apache-2.0";

/// The WASM runtime pins, in file order (serde_json's map would sort them; pack.js keeps the file's order).
fn pins() -> Vec<(String, String)> {
    struct Ordered(Vec<(String, String)>);
    impl<'de> serde::Deserialize<'de> for Ordered {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Ordered;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object of package name to version")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut m: A,
                ) -> Result<Ordered, A::Error> {
                    let mut out = Vec::new();
                    while let Some(kv) = m.next_entry::<String, String>()? {
                        out.push(kv);
                    }
                    Ok(Ordered(out))
                }
            }
            d.deserialize_map(V)
        }
    }
    serde_json::from_str::<Ordered>(NPM_PINS)
        .expect("npm-pins.json is an object of strings")
        .0
}

fn pins_obj() -> Obj {
    pins()
        .into_iter()
        .fold(Obj::new(), |o, (k, v)| o.with(&k, v))
}

/// The npm package of `platform`: `@<scope>/core-<napi name>`.
pub fn platform_package(scope: &str, p: Platform) -> Result<NpmName, crate::error::ApiError> {
    NpmName::scoped(scope, &format!("core-{}", p.name()))
}

/// npm's install constraints (`os`, `cpu`, `libc`) of a platform; none for WASM (it runs anywhere).
pub fn constraints(p: Platform) -> Obj {
    let i = p.info();
    if i.kind == Kind::Wasm {
        return Obj::new();
    }
    let o = Obj::new()
        .with("os", serde_json::json!([i.platform]))
        .with("cpu", serde_json::json!([i.arch]));
    if i.platform == "linux" {
        o.with(
            "libc",
            serde_json::json!([if i.libc == Libc::Musl {
                "musl"
            } else {
                "glibc"
            }]),
        )
    } else {
        o
    }
}

/// One signed target of a release, as its platform package needs it.
#[derive(Debug, Clone)]
pub struct ReleaseTarget {
    /// Its platform.
    pub platform: Platform,
    /// Its file name (`x0x.linux-x64-gnu.node`).
    pub file: String,
}

/// The `package.json` of a platform package (pack.js `platformPackageJson`).
pub fn platform_package_json(
    package: &str,
    scope: &str,
    version: &str,
    t: &ReleaseTarget,
) -> Result<Obj, crate::error::ApiError> {
    let p = t.platform;
    let what = if p.kind() == Kind::Wasm {
        format!("WebAssembly ({}) build", p.triple())
    } else {
        format!("{} binary ({})", p.name(), p.triple())
    };
    let mut o = Obj::new()
        .with("name", platform_package(scope, p)?.to_string())
        .with("version", version)
        .with(
            "description",
            format!("The {package} core, {what}. Loaded and verified by `{package}` (require('{package}')), which checks it against the signed TUF hashes it ships; do not require it directly."),
        )
        .with("license", LICENSE);
    for (k, v) in constraints(p).into_pairs() {
        o = o.with(&k, v);
    }
    Ok(o.with("main", t.file.as_str())
        .with("files", serde_json::json!([t.file]))
        .with_opt("dependencies", (p.kind() == Kind::Wasm).then(pins_obj))
        .with("publishConfig", Obj::new().with("access", "public")))
}

fn platform_readme(
    package: &str,
    scope: &str,
    version: &str,
    t: &ReleaseTarget,
) -> Result<String, crate::error::ApiError> {
    let p = t.platform;
    let pkg = platform_package(scope, p)?;
    let file = &t.file;
    let how = if p.kind() == Kind::Wasm {
        let runtime = pins()
            .iter()
            .map(|(k, v)| format!("`{k}@{v}`"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "It is not an optional dependency of `{package}`: install it explicitly (`npm install {pkg}@{version}`) on hosts\nwhere no native build fits; `require('{package}')` then loads it when no native binary loads. It depends on the\nWASM runtime ({runtime}), which `{package}` itself does not install.\n"
        )
    } else {
        format!(
            "`npm install {package}` installs it on {} hosts only (it is an optional dependency of `{package}` with\nnpm's `os`/`cpu`/`libc` fields).\n",
            p.name()
        )
    };
    let for_what = if p.kind() == Kind::Wasm {
        p.triple()
    } else {
        p.name()
    };
    Ok(format!(
        "# {pkg}\n\n`{file}`: the {package} core for {for_what}, version {version}.\n\nThis package is loaded and verified by `{package}`: `require('{package}')` hashes `{file}` and loads it only if its\nSHA-256 and length match the signed TUF metadata shipped inside `{package}` {version}. {how}"
    ))
}

/// The files of a platform package, `package.json` first: (path, bytes). `binary` is the verified target.
pub fn platform_files(
    package: &str,
    scope: &str,
    version: &str,
    t: &ReleaseTarget,
    binary: Vec<u8>,
) -> Result<Vec<(String, Vec<u8>)>, crate::error::ApiError> {
    Ok(vec![
        (
            "package.json".to_owned(),
            platform_package_json(package, scope, version, t)?
                .pretty()
                .into_bytes(),
        ),
        (
            "README.md".to_owned(),
            platform_readme(package, scope, version, t)?.into_bytes(),
        ),
        (t.file.clone(), binary),
    ])
}

/// The native platform packages `package` lists as `optionalDependencies`: one per set of npm constraints, the
/// first in table order (two packages npm would install on the same hosts, `win32-x64-msvc` and
/// `win32-x64-gnu`, would both be downloaded; the loader prefers the first). `targets` in table order.
pub fn optional_dependencies(
    scope: &str,
    targets: &[ReleaseTarget],
) -> Result<Vec<NpmName>, crate::error::ApiError> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for t in targets.iter().filter(|t| t.platform.kind() == Kind::Native) {
        if seen.insert(constraints(t.platform).to_value().to_string()) {
            out.push(platform_package(scope, t.platform)?);
        }
    }
    Ok(out)
}

/// `index.js`: `lib/hot.js` inlined (pack.js `singleFileIndex`).
fn index_js(package: &str, version: &str, scope: &str) -> String {
    let hot = LOADER_FILES
        .iter()
        .find(|(n, _)| *n == "lib/hot.js")
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let hot = hot.strip_prefix("'use strict';\n").unwrap_or(&hot);
    let hot = hot.split("\n// HOT-END").next().unwrap_or_default();
    let release = Obj::new()
        .with("pkg", package)
        .with("version", version)
        .with("scope", scope)
        .compact();
    format!(
        "'use strict';\n// require('{package}'): generated by scripts/pack.js. The warm path is lib/hot.js inlined (one module load, no lib/\n// requires); everything else is lib/warm.js and lib/loader.js. Sources: loader/js in x0x-dist.\nconst __hot = {{ exports: {{}} }};\n(function (module, exports, require) {{{hot}}})(__hot, __hot.exports, require);\nconst __release = {release};\nconst __warm = __hot.exports.fastLoad(__dirname, __release);\nmodule.exports = __warm !== null ? __warm : require('./lib/entry').load(__dirname, __release);\n"
    )
}

/// The files of the loader package `package` at `version`, sorted, `package.json` first. `metadata`: the
/// release record's signed metadata files (name, bytes); `root`: the trust anchor shipped as `root.json`.
pub fn loader_files(
    package: &str,
    version: &str,
    targets: &[ReleaseTarget],
    metadata: &[(String, Vec<u8>)],
    root: &[u8],
) -> Result<Vec<(String, Vec<u8>)>, crate::error::ApiError> {
    let scope = package;
    let optional = optional_dependencies(scope, targets)?;
    let wasm: Vec<String> = targets
        .iter()
        .filter(|t| t.platform.kind() == Kind::Wasm)
        .map(|t| platform_package(scope, t.platform).map(|n| n.to_string()))
        .collect::<Result<_, _>>()?;
    let mut files: Vec<(String, Vec<u8>)> = LOADER_FILES
        .iter()
        .map(|(n, b)| ((*n).to_owned(), b.to_vec()))
        .collect();
    files.push((
        "index.js".to_owned(),
        index_js(package, version, scope).into_bytes(),
    ));
    files.push(("root.json".to_owned(), root.to_vec()));
    for (n, b) in metadata {
        files.push((format!("metadata/{n}"), b.clone()));
    }
    files.push((
        "release.json".to_owned(),
        Obj::new()
            .with("package", package)
            .with("version", version)
            .with("scope", scope)
            .pretty()
            .into_bytes(),
    ));
    let ticks = |v: &[String]| {
        v.iter()
            .map(|w| format!("`{w}`"))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let platform_note = if optional.is_empty() {
        String::new()
    } else {
        let wasm_note = if wasm.is_empty() {
            String::new()
        } else {
            format!(
                " {} adds the WASM build where no native\none fits (install it explicitly).",
                ticks(&wasm)
            )
        };
        format!(
            "\nThe native binary comes from the optional dependency `@{scope}/core-<platform>` npm installs for this host (no network\nat require time; checked against the signed hashes like every other source). Without it (`--omit=optional`),\nfrom the repository (X0X_DIST_URL) or a bundle.{wasm_note}\n"
        )
    };
    let pin_cmd = pins()
        .iter()
        .map(|(k, v)| format!("{k}@{v}"))
        .collect::<Vec<_>>()
        .join(" ");
    let brings = if wasm.is_empty() {
        String::new()
    } else {
        format!(" (or install {}, which brings it)", ticks(&wasm))
    };
    files.push((
        "README.md".to_owned(),
        format!(
            "# {package}\n\nThe {package} core for Node.js. `require('{package}')` loads the prebuilt binary for this host (or the WebAssembly build),\nverified against signed TUF metadata before it is loaded. Configuration: X0X_DIST_URL, X0X_DIST_BUNDLE, X0X_DIST_CACHE,\nX0X_DIST_OFFLINE, X0X_DIST_ROOT, X0X_NATIVE_PATH, X0X_FORCE_WASM, X0X_DIST_VERIFY (see docs/loader.md in x0x-dist).\n{platform_note}\nThe WebAssembly build needs its runtime, which native hosts never install (optional peer dependencies):\n`npm install {pin_cmd}`{brings}.\n"
        )
        .into_bytes(),
    ));
    let optional_obj = optional
        .iter()
        .fold(Obj::new(), |o, n| o.with(&n.to_string(), version));
    let peers_meta = pins().into_iter().fold(Obj::new(), |o, (k, _)| {
        o.with(&k, Obj::new().with("optional", serde_json::json!(true)))
    });
    let pkg = Obj::new()
        .with("name", package)
        .with("version", version)
        .with("description", format!("The {package} core: prebuilt native binaries with a WebAssembly fallback, verified with TUF"))
        .with("license", LICENSE)
        .with("main", "index.js")
        .with("engines", Obj::new().with("node", ">=18"))
        .with("bin", Obj::new().with(package, "bin/x0x.js"))
        .with("peerDependencies", pins_obj())
        .with("peerDependenciesMeta", peers_meta)
        .with_opt("optionalDependencies", (!optional.is_empty()).then_some(optional_obj))
        .with(
            "files",
            serde_json::json!([
                "index.js", "index.d.ts", "postinstall.js", "bin/", "lib/", "metadata/", "root.json", "platforms.json",
                "release.json", format!("{package}.wasip1.cjs"), format!("{package}.wasi.cjs"), "wasi-worker.mjs"
            ]),
        );
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files.insert(0, ("package.json".to_owned(), pkg.pretty().into_bytes()));
    Ok(files)
}

/// The `package.json` fields a packument's version document repeats (everything but `files`), parsed back
/// from the generated package.json so the two never disagree.
pub fn manifest_of(files: &[(String, Vec<u8>)]) -> serde_json::Value {
    let mut v: serde_json::Value = files
        .iter()
        .find(|(n, _)| n == "package.json")
        .and_then(|(_, b)| serde_json::from_slice(b).ok())
        .unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("files");
        o.remove("publishConfig");
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_keep_the_file_order_pack_js_uses() {
        let pins = pins();
        assert!(!pins.is_empty());
        let at: Vec<usize> = pins
            .iter()
            .map(|(k, _)| NPM_PINS.find(&format!("\"{k}\"")).unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{pins:?}");
    }

    #[test]
    fn optional_dependencies_are_native_and_one_per_constraint_set() {
        let t = |name: &str| {
            let platform = Platform::from_name(name).unwrap();
            ReleaseTarget {
                platform,
                file: format!("x0x.{name}.node"),
            }
        };
        let targets = [
            t("linux-x64-gnu"),
            t("win32-x64-msvc"),
            t("win32-x64-gnu"),
            t("wasm32-wasip1"),
        ];
        let names: Vec<String> = optional_dependencies("x0x", &targets)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            names,
            ["@x0x/core-linux-x64-gnu", "@x0x/core-win32-x64-msvc"]
        );
    }
}
