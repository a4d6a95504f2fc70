//! Hostile rules files: inputs a few kilobytes long that expand without bound when macros and
//! lists are copied, files too large to be rules, files that are not files. Each ends in a clear
//! error or a ruleset whose size the report states, never in a hang or an exhausted memory.
//! Work is asserted through the compiled size the report gives, never through timings.

use std::fmt::Write;

use haechi_rules::limits::{MAX_COMPILED_DEPTH, MAX_COMPILED_SIZE, MAX_FILE_BYTES, MAX_INDEX_SIZE};
use haechi_rules::{Loader, Options, Ruleset};

fn rule(name: &str, condition: &str) -> String {
    format!(
        "- rule: {name}\n  desc: d\n  condition: {condition}\n  output: o %proc.name\n  priority: WARNING\n"
    )
}

fn load(text: &str) -> Result<Ruleset, String> {
    Ruleset::from_text("hostile.yaml", text, Options::default()).map_err(|e| e.to_string())
}

fn event(fields: &[(&str, &str)]) -> serde_json::Map<String, serde_json::Value> {
    fields
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
        .collect()
}

fn doubling_macros(base: &str) -> String {
    let mut text = format!("- macro: m_0\n  condition: {base}\n");
    for i in 1..=40 {
        let _ = writeln!(
            text,
            "- macro: m_{i}\n  condition: (m_{} or m_{})",
            i - 1,
            i - 1
        );
    }
    text.push_str(&rule("r", "m_40"));
    text
}

/// 41 macros, each `(m_{i-1} or m_{i-1})`: 1.7 KB that expand to 2^41 tests when every use is
/// copied. Each macro is compiled once; when its two uses are one test they fold into one
/// (`x = a or x = a`), otherwise the copies are counted and stop at the stated limit.
#[test]
fn doubling_macros_stop_at_the_compiled_size_limit() {
    let set = load(&doubling_macros("proc.name = a")).unwrap();
    assert!(set.report().size < 200, "{}", set.report().size);
    let text = doubling_macros("proc.name = a and fd.name = b");
    assert!(text.len() < 2000, "{} bytes", text.len());
    let e = load(&text).unwrap_err();
    let limit = MAX_COMPILED_SIZE.to_string();
    assert!(e.contains("nodes"), "{e}");
    assert!(
        e.contains(&limit) || e.contains(&thousands(MAX_COMPILED_SIZE)),
        "{e}"
    );
    assert!(e.contains("macro 'm_"), "names the macro: {e}");
    assert!(e.contains("hint:"), "{e}");
    // One error, not one per macro or per copy.
    assert!(e.matches("nodes").count() <= 2, "{e}");
}

/// The same doubling used the way real rules use macros (a few times each) compiles, and the
/// compiled size the report gives is what the expansion really holds.
#[test]
fn a_macro_shared_by_many_rules_is_compiled_once_and_counted() {
    let mut text = String::from("- macro: base\n  condition: proc.name = a\n");
    for i in 1..=60 {
        let _ = writeln!(
            text,
            "- macro: m_{i}\n  condition: {} and proc.pid != {i}",
            if i == 1 {
                "base".to_owned()
            } else {
                format!("m_{}", i - 1)
            }
        );
    }
    for r in 0..300 {
        text.push_str(&rule(&format!("r{r}"), "evt.type = openat and m_60"));
    }
    let set = load(&text).unwrap();
    let size = set.report().size;
    // Each rule holds its own copy of the 60-level chain: about 3 nodes per level.
    assert!(size > 300 * 60, "{size}");
    assert!(size < 300 * 200, "{size}");
    let mut hits = Vec::new();
    set.matches(
        &event(&[("evt.type", "openat"), ("proc.name", "a")]),
        &mut hits,
    );
    // proc.pid is missing, so `proc.pid != i` is false: nothing matches.
    assert!(hits.is_empty());
    let ev: serde_json::Map<_, _> = [
        ("evt.type".to_owned(), "openat".into()),
        ("proc.name".to_owned(), "a".into()),
        ("proc.pid".to_owned(), 1000.into()),
    ]
    .into_iter()
    .collect();
    set.matches(&ev, &mut hits);
    assert_eq!(hits.len(), 300);
}

/// 41 lists, each naming the one before twice: expanded once each and deduplicated, the last
/// holds the one value there is.
#[test]
fn doubling_lists_expand_once_and_deduplicate() {
    let mut text = String::from("- list: l_0\n  items: [a]\n");
    for i in 1..=40 {
        let _ = writeln!(text, "- list: l_{i}\n  items: [l_{}, l_{}]", i - 1, i - 1);
    }
    text.push_str(&rule("r", "evt.type = openat and proc.name in (l_40)"));
    let set = load(&text).unwrap();
    assert!(set.report().size < 50, "{}", set.report().size);
    let mut hits = Vec::new();
    set.matches(
        &event(&[("evt.type", "openat"), ("proc.name", "a")]),
        &mut hits,
    );
    assert_eq!(hits, [0]);
    // With a new value at each level, the last list holds 41.
    let mut text = String::from("- list: l_0\n  items: [a]\n");
    for i in 1..=40 {
        let _ = writeln!(
            text,
            "- list: l_{i}\n  items: [l_{}, l_{}, v{i}]",
            i - 1,
            i - 1
        );
    }
    text.push_str(&rule("r", "evt.type = openat and proc.name in (l_40)"));
    let set = load(&text).unwrap();
    // Each of the 41 lists is kept expanded once: 1 + 2 + ... + 41 values.
    assert!(set.report().size < 1000, "{}", set.report().size);
    let mut hits = Vec::new();
    set.matches(
        &event(&[("evt.type", "openat"), ("proc.name", "v17")]),
        &mut hits,
    );
    assert_eq!(hits, [0]);
}

/// A list that names itself through others is an error, for every rule that uses it.
#[test]
fn list_cycles_are_errors_for_every_rule() {
    let text = format!(
        "- list: a\n  items: [x, b]\n- list: b\n  items: [a]\n{}{}",
        rule("r1", "proc.name in (a)"),
        rule("r2", "proc.name in (b)")
    );
    let e = load(&text).unwrap_err();
    assert!(e.contains("names itself"), "{e}");
    assert!(e.contains("rule 'r1'") || e.contains("r1"), "{e}");
    assert!(e.contains("r2"), "{e}");
}

/// Macros that each wrap the one before in 200 `not`s nest 12,000 deep: the compiled depth is
/// bounded, so neither compiling nor evaluating can exhaust the stack.
#[test]
fn deep_macro_nesting_stops_at_the_depth_limit() {
    let mut text = String::from("- macro: m_0\n  condition: proc.name = a\n");
    for i in 1..=60 {
        let _ = writeln!(
            text,
            "- macro: m_{i}\n  condition: {}m_{}{}",
            "not (".repeat(200),
            i - 1,
            ")".repeat(200)
        );
    }
    text.push_str(&rule("r", "m_60"));
    let e = load(&text).unwrap_err();
    assert!(
        e.contains(&format!("deeper than {MAX_COMPILED_DEPTH}")),
        "{e}"
    );
}

/// 20,000 rules that may match any event type and one rule naming 20,000 event types: indexing
/// every rule under every type would hold 400 million entries. Past the index limit, the rules
/// are evaluated unindexed, and the report says so.
#[test]
fn an_index_past_its_limit_falls_back_to_unindexed_rules() {
    let mut text = String::from("- list: types\n  items: [");
    for t in 0..20_000 {
        let _ = write!(text, "t{t}, ");
    }
    text.push_str("openat]\n");
    text.push_str(&rule("typed", "evt.type in (types) and proc.name = a"));
    for r in 0..20_000 {
        text.push_str(&rule(&format!("r{r}"), &format!("proc.name = n{r}")));
    }
    let set = load(&text).unwrap();
    let report = set.report();
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.message.contains(&thousands(MAX_INDEX_SIZE))),
        "{:?}",
        report.warnings
    );
    assert_eq!(set.event_types(), None);
    let mut hits = Vec::new();
    set.matches(&event(&[("evt.type", "t5"), ("proc.name", "a")]), &mut hits);
    assert_eq!(hits, [0]);
    hits.clear();
    set.matches(
        &event(&[("evt.type", "t5"), ("proc.name", "n7")]),
        &mut hits,
    );
    assert_eq!(hits, [8]);
}

/// A 20 MB rules file is refused for its size, with the limit and what to do, not as an alias
/// expansion bomb.
#[test]
fn a_file_larger_than_the_limit_says_so() {
    let dir = std::env::temp_dir().join(format!("haechi-hostile-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("huge.yaml");
    let mut text = String::from("- list: big\n  items: [");
    while text.len() < 20 << 20 {
        text.push_str("abcdefgh, ");
    }
    text.push_str("x]\n");
    std::fs::write(&path, &text).unwrap();
    let mut loader = Loader::new();
    loader.add_file(&path);
    let e = loader.compile(Options::default()).unwrap_err().to_string();
    assert!(!e.contains("alias"), "{e}");
    assert!(e.contains(&format!("{} MiB", MAX_FILE_BYTES >> 20)), "{e}");
    assert!(e.contains("huge.yaml"), "{e}");
    // The same text given directly is refused the same way.
    let e = load(&text).unwrap_err();
    assert!(e.contains(&format!("{} MiB", MAX_FILE_BYTES >> 20)), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Under the size limit, a document with more YAML nodes than a rules file may have names that
/// limit, not aliases.
#[test]
fn too_many_yaml_nodes_names_the_node_limit() {
    let mut text = String::from("- list: big\n  items: [");
    for _ in 0..1_100_000 {
        text.push_str("a,");
    }
    text.push_str("b]\n");
    assert!(text.len() < MAX_FILE_BYTES);
    let e = load(&text).unwrap_err();
    assert!(!e.contains("alias"), "{e}");
    assert!(e.contains("1000000 nodes"), "{e}");
}

/// Only regular files are read: a FIFO or a device is refused without blocking or reading.
#[test]
fn fifos_and_devices_are_not_read() {
    let dir = std::env::temp_dir().join(format!("haechi-hostile-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("rules.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    let mut paths = vec![std::path::PathBuf::from("/dev/zero")];
    if made {
        paths.push(fifo);
    } else {
        eprintln!("SKIP (FIFO part): mkfifo (coreutils) is missing");
    }
    for path in paths {
        let mut loader = Loader::new();
        loader.add_file(&path);
        let e = loader.compile(Options::default()).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
