//! Finding files and reading them into Kubernetes objects.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use haechi_manifest::{Limits, Node, parse_documents_at};
use haechi_policy::kinds::is_checked;
pub use haechi_report::Problem;

/// Where manifests come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file (read whatever its extension) or a directory (searched recursively for `.yaml`,
    /// `.yml` and `.json`).
    Path(PathBuf),
    /// Standard input (`-`).
    Stdin,
}

/// Bounds on input.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Files larger than this are skipped with a message.
    pub max_file_size: u64,
    /// Per-document parser bounds.
    pub limits: Limits,
    /// Parse documents of kinds haechi does not check instead of only counting them (`--fix`
    /// must write them back).
    pub parse_unchecked_kinds: bool,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            max_file_size: 32 << 20,
            limits: Limits::default(),
            parse_unchecked_kinds: false,
        }
    }
}

/// One Kubernetes object and where it came from.
#[derive(Debug, Clone)]
pub struct SourceObject {
    /// The file as given or found (`-` for standard input).
    pub file: String,
    /// The object.
    pub node: Node,
}

/// The result of reading the inputs.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The objects, in input order.
    pub objects: Vec<SourceObject>,
    /// Files read.
    pub files: usize,
    /// Documents that are not Kubernetes objects (no `kind`/`apiVersion`), e.g. Helm values.
    pub not_objects: usize,
    /// Objects of kinds haechi does not check, by kind. They are recognised from their top-level
    /// `kind:` line and not parsed further (CRDs and dashboards ConfigMaps are most of the bytes of
    /// a typical repository).
    pub skipped_kinds: BTreeMap<String, usize>,
    /// What could not be scanned.
    pub problems: Vec<Problem>,
}

/// Reads every input. Never fails: what cannot be read is a [`Problem`].
pub fn load(inputs: &[Input], options: &LoadOptions) -> Loaded {
    let mut loaded = Loaded::default();
    for input in inputs {
        match input {
            Input::Stdin => {
                let mut bytes = Vec::new();
                let limit = options.max_file_size;
                match std::io::stdin()
                    .lock()
                    .take(limit + 1)
                    .read_to_end(&mut bytes)
                {
                    Ok(_) => read_bytes("-", bytes, options, &mut loaded),
                    Err(e) => loaded
                        .problems
                        .push(fatal("-", format!("cannot read standard input: {e}"))),
                }
            }
            Input::Path(path) => match fs::metadata(path) {
                Ok(meta) if meta.is_dir() => {
                    let mut files = Vec::new();
                    walk(path, &mut files, &mut loaded.problems);
                    for file in files {
                        read_file(&file, options, &mut loaded);
                    }
                }
                Ok(_) => read_file(path, options, &mut loaded),
                Err(e) => loaded.problems.push(fatal(
                    &path.display().to_string(),
                    format!("cannot read: {e}"),
                )),
            },
        }
    }
    loaded
}

fn fatal(file: &str, message: String) -> Problem {
    Problem {
        file: file.to_string(),
        line: None,
        column: None,
        message,
        fatal: true,
    }
}

fn skipped(file: &str, message: String) -> Problem {
    Problem {
        fatal: false,
        ..fatal(file, message)
    }
}

/// Collects manifest files under `dir`, sorted, skipping hidden directories (`.git`).
fn walk(dir: &Path, files: &mut Vec<PathBuf>, problems: &mut Vec<Problem>) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push(fatal(
                &dir.display().to_string(),
                format!("cannot read directory: {e}"),
            ));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if path.is_dir() {
            if !hidden {
                walk(&path, files, problems);
            }
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            files.push(path);
        }
    }
}

fn read_file(path: &Path, options: &LoadOptions, loaded: &mut Loaded) {
    let name = path.display().to_string();
    match fs::metadata(path) {
        Ok(meta) if meta.len() > options.max_file_size => {
            loaded.problems.push(skipped(
                &name,
                format!(
                    "skipped: {} bytes is over the {} byte limit (--max-file-size)",
                    meta.len(),
                    options.max_file_size
                ),
            ));
            return;
        }
        Err(e) => {
            loaded
                .problems
                .push(fatal(&name, format!("cannot read: {e}")));
            return;
        }
        Ok(_) => {}
    }
    match fs::read(path) {
        Ok(bytes) => read_bytes(&name, bytes, options, loaded),
        Err(e) => loaded
            .problems
            .push(fatal(&name, format!("cannot read: {e}"))),
    }
}

fn read_bytes(name: &str, bytes: Vec<u8>, options: &LoadOptions, loaded: &mut Loaded) {
    loaded.files += 1;
    if bytes.len() as u64 > options.max_file_size {
        loaded.problems.push(skipped(
            name,
            format!(
                "skipped: over the {} byte limit (--max-file-size)",
                options.max_file_size
            ),
        ));
        return;
    }
    if bytes[..bytes.len().min(8192)].contains(&0) {
        loaded.problems.push(skipped(
            name,
            "skipped: binary file (contains NUL bytes)".to_string(),
        ));
        return;
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            loaded.problems.push(skipped(
                name,
                format!(
                    "skipped: not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            ));
            return;
        }
    };
    for (first_line, document) in split_documents(&text) {
        if let Some(kind) = unchecked_kind(document).filter(|_| !options.parse_unchecked_kinds) {
            *loaded.skipped_kinds.entry(kind.to_string()).or_default() += 1;
            continue;
        }
        for parsed in parse_documents_at(document, first_line, &options.limits) {
            match parsed {
                Ok(node) => add_object(name, node, loaded),
                Err(e) => loaded.problems.push(Problem {
                    file: name.to_string(),
                    line: Some(e.line),
                    column: Some(e.column),
                    message: format!("not valid YAML/JSON: {}", e.message),
                    fatal: false,
                }),
            }
        }
    }
}

/// Cuts a YAML stream at its document markers, returning each document with its first line.
/// A line that starts with `---` or `...` followed by a space or the line end is a marker
/// wherever it appears: YAML forbids such lines as content, even inside block scalars.
fn split_documents(text: &str) -> Vec<(u32, &str)> {
    let mut documents = Vec::new();
    let mut start = 0;
    let mut start_line = 1u32;
    let mut offset = 0;
    for (line, raw) in (1u32..).zip(text.split_inclusive('\n')) {
        let is_start = raw.starts_with("---")
            && (raw.len() == 3 || raw[3..].starts_with([' ', '\t', '\r', '\n']));
        if is_start && offset > start {
            documents.push((start_line, &text[start..offset]));
            start = offset;
            start_line = line;
        }
        offset += raw.len();
    }
    if start < text.len() || documents.is_empty() {
        documents.push((start_line, &text[start..]));
    }
    documents
}

/// The kind of a block-style document whose top-level `kind:` names a kind haechi does not
/// check (Lists excepted: their items may be checked). `None` means: parse it.
fn unchecked_kind(document: &str) -> Option<&str> {
    let mut kind = None;
    let mut has_api_version = false;
    // Top-level keys start at column 0 and nothing else of a block mapping can (block scalars
    // are indented), so the first `kind:` line is the kind; stop once both keys are seen, which
    // spares reading the rest of a large CRD.
    for line in document.lines() {
        if let Some(value) = line.strip_prefix("kind:") {
            let value = value
                .split('#')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(['"', '\'']);
            kind = Some(value);
        } else if line.starts_with("apiVersion:") {
            has_api_version = true;
        }
        if kind.is_some() && has_api_version {
            break;
        }
    }
    let kind = kind?;
    let simple = !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_alphanumeric());
    (simple && has_api_version && !kind.ends_with("List") && !is_checked(kind)).then_some(kind)
}

/// Adds a document: an object, the items of a `kind: List`, or nothing.
fn add_object(file: &str, node: Node, loaded: &mut Loaded) {
    if node.is_null() {
        return;
    }
    let kind = node.get("kind").and_then(Node::as_str);
    let is_object = kind.is_some() && node.get("apiVersion").and_then(Node::as_str).is_some();
    if !is_object {
        loaded.not_objects += 1;
        return;
    }
    if kind.is_some_and(|k| k == "List" || k.ends_with("List"))
        && node.get("items").is_some_and(Node::is_seq)
    {
        let haechi_manifest::Value::Map(entries) = node.value else {
            return;
        };
        for (key, items) in entries {
            if key.text == "items"
                && let haechi_manifest::Value::Seq(items) = items.value
            {
                for item in items {
                    add_object(file, item, loaded);
                }
            }
        }
        return;
    }
    loaded.objects.push(SourceObject {
        file: file.to_string(),
        node,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_split_at_markers_only() {
        let text = "a: 1\n---\nb: |\n  ---x\n  text\n--- # c\nc: 3\n----\n";
        let docs = split_documents(text);
        let lines: Vec<u32> = docs.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [1, 2, 6]);
        assert_eq!(docs.iter().map(|(_, d)| d.len()).sum::<usize>(), text.len());
        assert_eq!(split_documents("").len(), 1);
    }

    #[test]
    fn only_unchecked_block_kinds_are_skipped_unparsed() {
        assert_eq!(
            unchecked_kind("apiVersion: v1\nkind: ConfigMap\n"),
            Some("ConfigMap")
        );
        assert_eq!(
            unchecked_kind("apiVersion: v1\nkind: \"Secret\" # x\n"),
            Some("Secret")
        );
        assert_eq!(unchecked_kind("apiVersion: v1\nkind: Pod\n"), None);
        assert_eq!(
            unchecked_kind("apiVersion: v1\nkind: ConfigMapList\n"),
            None
        );
        assert_eq!(
            unchecked_kind("{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\"}"),
            None
        );
        assert_eq!(
            unchecked_kind("kind: ConfigMap\n"),
            None,
            "not an object without apiVersion"
        );
        assert_eq!(unchecked_kind("apiVersion: v1\nkind: {{ .Kind }}\n"), None);
    }
}
