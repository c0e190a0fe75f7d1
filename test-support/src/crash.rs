//! What a repository directory must look like after a writer (the server publishing, `bundle import`) was
//! killed with `kill -9` at any moment: shared by the crash tests.

use std::path::Path;

/// Every file under `targets/` hashes to its name's prefix; every named metadata file is complete JSON. A
/// killed writer's temporary files (`metadata/.tmp-*`) are allowed only with `debris` (the next writer removes
/// them); returns how many there were.
pub fn no_partial_files(repo: &Path, debris: bool) -> usize {
    let mut tmp = 0;
    for e in std::fs::read_dir(repo.join("metadata")).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with(".tmp-")
        {
            assert!(debris, "temporary file left behind: {}", p.display());
            tmp += 1;
            continue;
        }
        let b = std::fs::read(&p).unwrap();
        serde_json::from_slice::<serde_json::Value>(&b)
            .unwrap_or_else(|err| panic!("partial metadata file {}: {err}", p.display()));
    }
    let mut stack = vec![repo.join("targets")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p.file_name().unwrap().to_str().unwrap().to_owned();
            let (prefix, _) = name.split_once('.').unwrap();
            assert_eq!(
                x0x_dist_manifests::Sha256::digest(&std::fs::read(&p).unwrap()).to_hex(),
                prefix,
                "partial target {}",
                p.display()
            );
        }
    }
    tmp
}
