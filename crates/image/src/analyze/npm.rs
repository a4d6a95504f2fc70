//! npm: every installed package's `node_modules/NAME/package.json` (scoped ones under
//! `node_modules/@scope/NAME`), and `package-lock.json` files (lockfile v1 `dependencies`,
//! v2/v3 `packages`) for applications shipped without their `node_modules`.

use serde_json::Value;

use super::{Package, PackageKind};

pub(super) fn wants(path: &str) -> bool {
    is_installed_manifest(path) || is_lockfile(path)
}

fn is_installed_manifest(path: &str) -> bool {
    let Some(dir) = path.strip_suffix("/package.json") else {
        return false;
    };
    let mut parts = dir.rsplit('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(_), Some("node_modules"), _) => true,
        (Some(_), Some(scope), Some("node_modules")) => scope.starts_with('@'),
        _ => false,
    }
}

fn is_lockfile(path: &str) -> bool {
    (path == "package-lock.json" || path.ends_with("/package-lock.json"))
        && !path.contains("node_modules/")
}

pub(super) fn parse(path: &str, data: &[u8], out: &mut Vec<Package>) -> Result<(), String> {
    let json: Value = serde_json::from_slice(data)
        .map_err(|e| format!("invalid JSON at line {}: {e}", e.line()))?;
    if is_installed_manifest(path) {
        if let (Some(name), Some(version)) = (json["name"].as_str(), json["version"].as_str()) {
            let mut package = Package::new(PackageKind::Npm, name, version, path);
            package.license = json["license"].as_str().map(str::to_string);
            out.push(package);
        }
        return Ok(());
    }
    if let Some(packages) = json["packages"].as_object() {
        for (key, info) in packages {
            let Some(pos) = key.rfind("node_modules/") else {
                continue;
            };
            if info["link"].as_bool() == Some(true) {
                continue;
            }
            let name = info["name"]
                .as_str()
                .unwrap_or(&key[pos + "node_modules/".len()..]);
            if let Some(version) = info["version"].as_str() {
                out.push(Package::new(PackageKind::Npm, name, version, path));
            }
        }
    } else if let Some(deps) = json["dependencies"].as_object() {
        lock_v1(deps, path, out);
    }
    Ok(())
}

fn lock_v1(deps: &serde_json::Map<String, Value>, path: &str, out: &mut Vec<Package>) {
    for (name, info) in deps {
        if let Some(version) = info["version"].as_str()
            && !version.starts_with("file:")
        {
            out.push(Package::new(PackageKind::Npm, name, version, path));
        }
        if let Some(nested) = info["dependencies"].as_object() {
            lock_v1(nested, path, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_manifests_only_at_package_roots() {
        assert!(wants("app/node_modules/lodash/package.json"));
        assert!(wants("app/node_modules/@babel/core/package.json"));
        assert!(!wants("app/node_modules/lodash/lib/package.json"));
        assert!(wants("app/package-lock.json"));
        assert!(!wants("app/node_modules/.package-lock.json"));
    }

    #[test]
    fn lockfiles_v1_and_v3() {
        let v3 = br#"{"lockfileVersion":3,"packages":{"":{"name":"app"},"node_modules/lodash":{"version":"4.17.20"},"node_modules/a/node_modules/@s/b":{"version":"1.0.0"}}}"#;
        let mut out = Vec::new();
        parse("app/package-lock.json", v3, &mut out).unwrap();
        let names: Vec<_> = out.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["@s/b", "lodash"]);
        let v1 = br#"{"lockfileVersion":1,"dependencies":{"minimist":{"version":"1.2.0","dependencies":{"x":{"version":"2.0.0"}}}}}"#;
        out.clear();
        parse("package-lock.json", v1, &mut out).unwrap();
        assert_eq!(out.len(), 2);
        assert!(parse("package-lock.json", b"{", &mut out).is_err());
    }
}
