//! Finding files and reading them into Kubernetes objects, one object at a time.
//!
//! Every object is handed to a [`Visitor`] as soon as it is read and its tree is dropped right
//! after, so what a scan holds is one file's text and one object's tree, whatever the number of
//! files and objects. The items of a `kind: List` are read one by one too: a cluster export of
//! thousands of pods never becomes one tree.
//!
//! Discovery reads each real file once: directories are entered once per device and inode (so
//! `ln -s . a` and its fan-outs end), files are read once per device and inode, and only regular
//! files are read, at most up to the size limit, whatever their reported size.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use haechi_manifest::read::{ReadError, open_regular, read_opened, read_text};
use haechi_manifest::{Limits, Node, ParseError, ParseErrorKind, Parsed, parse_stream};
use serde::Serialize;

/// Where manifests come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file (read whatever its extension) or a directory (searched recursively for `.yaml`,
    /// `.yml` and `.json`).
    Path(PathBuf),
    /// Standard input (`-`).
    Stdin,
}

/// The default `--max-file-size`: 256 MiB, above the largest cluster exports and generated
/// manifests; what a scan holds grows with the largest file, not with their number.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 256 << 20;

/// Bounds on input.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Files larger than this are problems, not read past the limit.
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
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            limits: Limits::default(),
            parse_unchecked_kinds: false,
        }
    }
}

/// Why something in the input could not be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The path does not exist or may not be read.
    Unreadable,
    /// A directory entry, FIFO, socket or device where a file was expected.
    NotRegular,
    /// Over `--max-file-size`.
    TooLarge,
    /// A binary file.
    Binary,
    /// Not UTF-8.
    Encoding,
    /// Not valid YAML or JSON.
    Syntax,
    /// A mapping with the same key twice.
    DuplicateKey,
    /// A parser limit (nesting, nodes, alias expansion).
    Limit,
}

/// Something in the input that could not be checked. Every problem makes the scan exit with
/// status 2 unless `--allow-problems` is given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// 1-based column, when known.
    pub column: Option<u32>,
    /// Why, as a stable keyword.
    pub reason: Reason,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
    /// Whether a whole input (a file, a directory, standard input) was not read, as opposed to
    /// one document of it.
    #[serde(skip)]
    pub fatal: bool,
}

impl Problem {
    /// The problem as every report format carries it.
    pub fn to_report(&self) -> haechi_report::Problem {
        haechi_report::Problem {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            message: self.message.clone(),
            fatal: self.fatal,
        }
    }
}

/// Counts and problems of reading the inputs.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Files read.
    pub files: usize,
    /// Documents that are not Kubernetes objects (no `kind`/`apiVersion`), e.g. Helm values.
    pub not_objects: usize,
    /// Objects of kinds haechi does not check, recognised from their top-level `kind:` line and
    /// not parsed further (CRDs are most of the bytes of a typical repository), by kind.
    pub skipped_kinds: BTreeMap<String, usize>,
    /// What could not be checked.
    pub problems: Vec<Problem>,
}

/// What receives the objects, one at a time.
///
/// The items of a document are only known to be a list's when the document ends (kubectl
/// writes `items` before `kind`), so they come *provisionally*: the visitor keeps what they
/// lead to apart until [`Visitor::settle`] says whether they stand (a `kind: List`) or not (a
/// broken document, or a document that merely has an `items` field, which is then handed out
/// again whole).
pub trait Visitor {
    /// One object of `file`; its tree is dropped when this returns.
    fn object(&mut self, file: &str, node: &Node, provisional: bool);
    /// Whether the provisional objects since the last call stand.
    fn settle(&mut self, keep: bool);
}

/// Reads every input and hands its objects to `visitor`. Never fails: what cannot be read is a
/// [`Problem`].
pub fn load<V: Visitor>(inputs: &[Input], options: &LoadOptions, visitor: &mut V) -> Loaded {
    let mut reader = Reader {
        options,
        loaded: Loaded::default(),
        seen_dirs: HashSet::new(),
        seen_files: HashSet::new(),
    };
    for input in inputs {
        match input {
            Input::Stdin => {
                let stdin = std::io::stdin();
                match read_text(&mut stdin.lock(), options.max_file_size, 0) {
                    Ok(text) => reader.read_text("-", &text, visitor),
                    Err(e) => reader.read_error("-", e),
                }
            }
            Input::Path(path) => match fs::metadata(path) {
                Ok(meta) if meta.is_dir() => reader.walk(path, visitor),
                Ok(_) => reader.read_file(path, visitor),
                Err(e) => reader.read_error(&path.display().to_string(), ReadError::Io(e)),
            },
        }
    }
    reader.loaded
}

/// A device and inode: what a file or directory is, whatever path leads to it.
type Identity = (u64, u64);

#[cfg(unix)]
fn identity(meta: &fs::Metadata) -> Option<Identity> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn identity(_: &fs::Metadata) -> Option<Identity> {
    None
}

struct Reader<'o> {
    options: &'o LoadOptions,
    loaded: Loaded,
    seen_dirs: HashSet<Identity>,
    seen_files: HashSet<Identity>,
}

fn is_manifest_name(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

impl Reader<'_> {
    fn problem(&mut self, file: &str, reason: Reason, message: String, fatal: bool) {
        self.loaded.problems.push(Problem {
            file: file.to_string(),
            line: None,
            column: None,
            reason,
            message,
            fatal,
        });
    }

    fn read_error(&mut self, file: &str, error: ReadError) {
        let reason = match &error {
            ReadError::NotRegular(_) => Reason::NotRegular,
            ReadError::TooLarge { .. } => Reason::TooLarge,
            ReadError::Binary => Reason::Binary,
            ReadError::NotUtf8 { .. } => Reason::Encoding,
            ReadError::Io(_) => Reason::Unreadable,
        };
        let mut message = error.to_string();
        match error {
            ReadError::TooLarge { .. } => message.push_str(" (raise it with --max-file-size)"),
            ReadError::NotRegular("a FIFO") => {
                message.push_str(" (pipe it to standard input instead: ... | haechi scan -)")
            }
            _ => {}
        }
        self.problem(file, reason, message, true);
    }

    /// Lists the manifests under `root` depth first in name order, skipping hidden directories
    /// (`.git`), entering each real directory once.
    fn walk<V: Visitor>(&mut self, root: &Path, visitor: &mut V) {
        let mut stack: Vec<std::vec::IntoIter<PathBuf>> = Vec::new();
        self.enter(root, &mut stack);
        while let Some(entries) = stack.last_mut() {
            let Some(path) = entries.next() else {
                stack.pop();
                continue;
            };
            match fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => {
                    if !is_hidden(&path) {
                        self.enter(&path, &mut stack);
                    }
                }
                // Non-regular files with a manifest's name are reported when read.
                Ok(_) => {
                    if is_manifest_name(&path) {
                        self.read_file(&path, visitor);
                    }
                }
                // A dangling symlink named like a manifest is a manifest that cannot be read.
                Err(e) => {
                    if is_manifest_name(&path) {
                        self.read_error(&path.display().to_string(), ReadError::Io(e));
                    }
                }
            }
        }
    }

    /// Pushes the sorted entries of `dir`, unless it was entered before (a symlink cycle or a
    /// second link to it).
    fn enter(&mut self, dir: &Path, stack: &mut Vec<std::vec::IntoIter<PathBuf>>) {
        let name = dir.display().to_string();
        match fs::metadata(dir) {
            Ok(meta) => {
                if let Some(id) = identity(&meta)
                    && !self.seen_dirs.insert(id)
                {
                    return;
                }
            }
            Err(e) => return self.read_error(&name, ReadError::Io(e)),
        }
        match fs::read_dir(dir) {
            Ok(entries) => {
                let mut paths: Vec<PathBuf> = Vec::new();
                for entry in entries {
                    match entry {
                        Ok(entry) => paths.push(entry.path()),
                        Err(e) => {
                            self.problem(
                                &name,
                                Reason::Unreadable,
                                format!("cannot read directory: {e}"),
                                true,
                            );
                            break;
                        }
                    }
                }
                paths.sort();
                stack.push(paths.into_iter());
            }
            Err(e) => self.problem(
                &name,
                Reason::Unreadable,
                format!("cannot read directory: {e}"),
                true,
            ),
        }
    }

    fn read_file<V: Visitor>(&mut self, path: &Path, visitor: &mut V) {
        let name = path.display().to_string();
        let (mut file, meta) = match open_regular(path) {
            Ok(opened) => opened,
            Err(e) => return self.read_error(&name, e),
        };
        if let Some(id) = identity(&meta)
            && !self.seen_files.insert(id)
        {
            // The same file through another path (a symlink, a hard link, a repeated argument).
            return;
        }
        match read_opened(&mut file, &meta, self.options.max_file_size) {
            Ok(text) => {
                drop(file);
                self.read_text(&name, &text, visitor);
            }
            Err(e) => self.read_error(&name, e),
        }
    }

    fn read_text<V: Visitor>(&mut self, name: &str, text: &str, visitor: &mut V) {
        self.loaded.files += 1;
        for (first_line, document) in split_documents(text) {
            if !self.options.parse_unchecked_kinds
                && let Some(kind) = unchecked_kind(document)
            {
                *self
                    .loaded
                    .skipped_kinds
                    .entry(kind.to_string())
                    .or_default() += 1;
                continue;
            }
            self.read_chunk(name, first_line, document, visitor);
        }
    }

    fn parse_problem(&mut self, file: &str, e: ParseError) {
        let (reason, what) = match e.kind {
            ParseErrorKind::Syntax => (Reason::Syntax, "not valid YAML/JSON: "),
            ParseErrorKind::DuplicateKey => (Reason::DuplicateKey, ""),
            ParseErrorKind::Limit => (Reason::Limit, ""),
        };
        self.loaded.problems.push(Problem {
            file: file.to_string(),
            line: Some(e.line),
            column: Some(e.column),
            reason,
            message: format!("{what}{}", e.message),
            fatal: false,
        });
    }

    /// Reads one chunk of a stream (usually one document), handing items of lists out one at a
    /// time.
    fn read_chunk<V: Visitor>(&mut self, name: &str, first_line: u32, text: &str, visitor: &mut V) {
        // Documents not yet known to be lists count their non-object items apart.
        let mut waiting_not_objects = 0;
        let mut items = 0usize;
        let mut ordinal = 0usize;
        // Documents that had items split out but are no list: read again whole (rare).
        let mut again: Vec<usize> = Vec::new();
        let limits = self.options.limits;
        parse_stream(
            text,
            first_line,
            &limits,
            true,
            &mut |parsed| match parsed {
                Parsed::Item(node) => {
                    items += 1;
                    add_object(name, &node, visitor, true, &mut waiting_not_objects);
                }
                Parsed::Document(result) => {
                    let list = matches!(&result, Ok(root) if is_list(root));
                    if items > 0 {
                        visitor.settle(list);
                        if list {
                            self.loaded.not_objects += waiting_not_objects;
                        }
                    }
                    match result {
                        // Items a merge key brought in are still in the tree of a list.
                        Ok(root) if items == 0 || list => {
                            add_object(name, &root, visitor, false, &mut self.loaded.not_objects);
                        }
                        Ok(_) => again.push(ordinal),
                        Err(e) => self.parse_problem(name, e),
                    }
                    waiting_not_objects = 0;
                    items = 0;
                    ordinal += 1;
                }
            },
        );
        if again.is_empty() {
            return;
        }
        let mut ordinal = 0usize;
        parse_stream(text, first_line, &limits, false, &mut |parsed| {
            if let Parsed::Document(result) = parsed {
                if again.contains(&ordinal) {
                    match result {
                        Ok(root) => {
                            add_object(name, &root, visitor, false, &mut self.loaded.not_objects)
                        }
                        Err(e) => self.parse_problem(name, e),
                    }
                }
                ordinal += 1;
            }
        });
    }
}

/// Whether a document is a list whose `items` are objects: `kind: List` or `*List`.
fn is_list(node: &Node) -> bool {
    node.get("kind")
        .and_then(Node::as_str)
        .is_some_and(|k| k.ends_with("List"))
        && node.get("apiVersion").and_then(Node::as_str).is_some()
        && node.get("items").is_some_and(Node::is_seq)
}

/// Hands a document to the visitor: an object, the items of a list, or nothing (documents that
/// are not objects are counted in `not_objects`).
fn add_object<V: Visitor>(
    file: &str,
    node: &Node,
    visitor: &mut V,
    provisional: bool,
    not_objects: &mut usize,
) {
    if node.is_null() {
        return;
    }
    let is_object = node.get("kind").and_then(Node::as_str).is_some()
        && node.get("apiVersion").and_then(Node::as_str).is_some();
    if !is_object {
        *not_objects += 1;
        return;
    }
    if is_list(node) {
        for item in node.get("items").map(Node::items).unwrap_or_default() {
            add_object(file, item, visitor, provisional, not_objects);
        }
        return;
    }
    visitor.object(file, node, provisional);
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
///
/// Only a document this reading cannot be wrong about is skipped: every top-level line is a
/// plain `key:` (comments, blank lines and a bare `---` aside) and exactly one of them is
/// `kind:`. A quoted, tagged, anchored, merged or flow-style key, content on the `---` line, or
/// a second `kind:` (which the parser refuses as a duplicate key) sends the document to the
/// parser, so the kind skipped here is the kind the parser would read.
fn unchecked_kind(document: &str) -> Option<&str> {
    let mut kind = None;
    let mut kinds = 0;
    let mut has_api_version = false;
    for line in document.lines() {
        let Some(first) = line.bytes().next() else {
            continue;
        };
        if matches!(first, b' ' | b'\t' | b'#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("---") {
            let rest = rest.trim_start();
            if rest.is_empty() || rest.starts_with('#') {
                continue;
            }
            return None;
        }
        let (key, value) = line.split_once(':')?;
        let simple = !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'));
        if !simple || !(value.is_empty() || value.starts_with([' ', '\t'])) {
            return None;
        }
        match key {
            "kind" => {
                kinds += 1;
                kind = Some(
                    value
                        .split('#')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .trim_matches(['"', '\'']),
                );
            }
            "apiVersion" => has_api_version = true,
            _ => {}
        }
    }
    let kind = kind?;
    let simple = !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_alphanumeric());
    (kinds == 1
        && simple
        && has_api_version
        && !kind.ends_with("List")
        && !haechi_policy::kinds::is_checked(kind))
    .then_some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what a visitor is told.
    #[derive(Default)]
    struct Recorder(Vec<String>);

    impl Visitor for Recorder {
        fn object(&mut self, _: &str, node: &Node, provisional: bool) {
            let name = node
                .path(&["metadata", "name"])
                .and_then(Node::as_str)
                .unwrap_or("?");
            self.0
                .push(format!("{}{name}", if provisional { "~" } else { "" }));
        }

        fn settle(&mut self, keep: bool) {
            self.0.push(format!("settle {keep}"));
        }
    }

    fn record(text: &str) -> (Vec<String>, Loaded) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.yaml");
        fs::write(&file, text).unwrap();
        let mut recorder = Recorder::default();
        let loaded = load(&[Input::Path(file)], &LoadOptions::default(), &mut recorder);
        (recorder.0, loaded)
    }

    #[test]
    fn list_items_stand_only_when_the_document_is_a_list() {
        let item =
            |name: &str| format!("{{apiVersion: v1, kind: Pod, metadata: {{name: {name}}}}}");
        let (seen, loaded) = record(&format!(
            "apiVersion: v1\nitems:\n- {}\n- {}\n- not an object\nkind: List\n",
            item("a"),
            item("b")
        ));
        assert_eq!(seen, ["~a", "~b", "settle true"]);
        assert_eq!(loaded.not_objects, 1);
        // A document that has `items` but is no list is handed out whole instead.
        let (seen, loaded) = record(&format!(
            "{{apiVersion: v1, items: [{}], kind: Thing, metadata: {{name: t}}}}\n",
            item("a")
        ));
        assert_eq!(seen, ["~a", "settle false", "t"]);
        assert_eq!(loaded.not_objects, 0);
        // A list that breaks after some items: none of them stands, and the break is a problem.
        let items: Vec<String> = (0..100).map(|i| item(&format!("p{i}"))).collect();
        let (seen, loaded) = record(&format!(
            "{{\"apiVersion\": \"v1\", \"items\": [{}, [}}\n",
            items.join(",\n")
        ));
        assert!(seen.len() > 2, "{seen:?}");
        assert!(seen[..seen.len() - 1].iter().all(|s| s.starts_with('~')));
        assert_eq!(seen.last().unwrap(), "settle false");
        assert_eq!(loaded.problems.len(), 1);
        assert_eq!(loaded.problems[0].reason, Reason::Syntax);
    }

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
            unchecked_kind("apiVersion: v1\nkind: Other\n"),
            Some("Other")
        );
        assert_eq!(
            unchecked_kind("--- # crd\napiVersion: x/v1\nkind: \"Widget\" # x\nspec:\n  a: 1\n"),
            Some("Widget")
        );
        assert_eq!(unchecked_kind("apiVersion: v1\nkind: Pod\n"), None);
        assert_eq!(unchecked_kind("apiVersion: v1\nkind: ConfigMap\n"), None);
        assert_eq!(
            unchecked_kind("apiVersion: v1\nkind: ConfigMapList\n"),
            None
        );
        assert_eq!(
            unchecked_kind("{\"apiVersion\": \"v1\", \"kind\": \"Other\"}"),
            None
        );
        assert_eq!(
            unchecked_kind("kind: Other\n"),
            None,
            "not an object without apiVersion"
        );
        assert_eq!(unchecked_kind("apiVersion: v1\nkind: {{ .Kind }}\n"), None);
    }

    #[test]
    fn the_kind_skipped_is_the_kind_the_parser_reads() {
        // Two kinds: one verdict, the parser's (a duplicate key error).
        assert_eq!(
            unchecked_kind("apiVersion: v1\nkind: Other\nspec: {}\nkind: Pod\n"),
            None
        );
        // A key the line reading cannot be sure of.
        for doc in [
            "apiVersion: v1\nkind: Other\n\"kind\": Pod\n",
            "apiVersion: v1\nkind: Other\n? kind\n: Pod\n",
            "apiVersion: v1\nkind: Other\n<<: {kind: Pod}\n",
            "apiVersion: v1\nkind: Other\n!!str kind: Pod\n",
            "--- {kind: Pod}\napiVersion: v1\nkind: Other\n",
            "apiVersion: v1\nkind: Other\ndata: {a: 1,\nkind: Pod}\n",
        ] {
            assert_eq!(unchecked_kind(doc), None, "{doc}");
        }
    }
}
