//! Arbitrary input never panics the condition parser, the output splitter or the loader.

use haechi_rules::parse::parse_condition;
use haechi_rules::{Options, Ruleset};
use proptest::prelude::*;

/// Fragments that make up conditions, so generated inputs get past the first token.
fn condition_soup() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "proc.name",
        "fd.name",
        "proc.aname[2]",
        "evt.arg.flags",
        "evt.arg[0]",
        "=",
        "!=",
        "<",
        ">=",
        "contains",
        "in",
        "pmatch",
        "exists",
        "glob",
        "regex",
        "and",
        "or",
        "not",
        "(",
        ")",
        ",",
        "\"a b\"",
        "'x'",
        "bash",
        "-1",
        "0x1f",
        "val(",
        "tolower(",
        "len(",
        "m",
        "[",
        "]",
        "\\",
        "10.0.0.0/8",
        "*",
        " ",
    ]);
    prop::collection::vec(atoms, 0..24).prop_map(|v| v.join(" "))
}

fn rules_soup() -> impl Strategy<Value = String> {
    let lines = prop::sample::select(vec![
        "- rule: r",
        "- macro: m",
        "- list: l",
        "  desc: d",
        "  condition: proc.name = x",
        "  condition: m and proc.name in (l)",
        "  output: \"%proc.name %fd.nam\"",
        "  priority: WARNING",
        "  items: [a, l, \"b c\"]",
        "  append: true",
        "  override:",
        "    condition: append",
        "    items: replace",
        "  exceptions:",
        "    - name: e",
        "      fields: [proc.name]",
        "      values: [[a], [b]]",
        "  enabled: false",
        "  tags: [x]",
        "- required_engine_version: 1",
        "---",
        "  source: k8s_audit",
        "  condition: m",
        "key: [",
        "  : :",
    ]);
    prop::collection::vec(lines, 0..20).prop_map(|v| v.join("\n"))
}

proptest! {
    #[test]
    fn parser_never_panics(s in any::<String>()) {
        let _ = parse_condition(&s);
    }

    #[test]
    fn parser_never_panics_on_condition_like_input(s in condition_soup()) {
        let _ = parse_condition(&s);
        let rule = format!("- rule: r\n  desc: d\n  condition: {}\n  output: o\n  priority: INFO\n",
            serde_json::to_string(&s).unwrap());
        let _ = Ruleset::from_text("p.yaml", &rule, Options::default());
    }

    #[test]
    fn loader_never_panics(s in any::<String>()) {
        let _ = Ruleset::from_text("p.yaml", &s, Options::default());
    }

    #[test]
    fn loader_never_panics_on_rules_like_input(s in rules_soup()) {
        if let Ok(set) = Ruleset::from_text("p.yaml", &s, Options { strict: true }) {
            let ev = serde_json::Map::new();
            for i in 0..set.rules().len() {
                let _ = set.alert(i, &ev, "h");
            }
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!(
        "{}proc.name = a{}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    assert!(parse_condition(&deep).is_err());
    let nots = format!("{}proc.name = a", "not ".repeat(100_000));
    assert!(parse_condition(&nots).is_ok());
    let fns = format!(
        "{}proc.name{} = a",
        "tolower(".repeat(100_000),
        ")".repeat(100_000)
    );
    assert!(parse_condition(&fns).is_err());
}
