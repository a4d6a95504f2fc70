//! Any text as a rules file and as a condition: no panic, and every rule that compiles can be
//! evaluated and rendered against an empty and a typical event.
//!
//! The same bytes also drive a structure-aware generator: lists naming earlier lists and macros
//! using earlier macros several times each (fan-out, so a macro shared by others doubles with
//! each level), nesting through `not` and parentheses, and now and then a cycle. Whatever it
//! writes must end within the stated limits: a ruleset no larger than
//! `MAX_COMPILED_SIZE`/`MAX_INDEX_SIZE`, or errors.
#![no_main]

use haechi_rules::limits::{MAX_COMPILED_SIZE, MAX_INDEX_SIZE};
use haechi_rules::parse::parse_condition;
use haechi_rules::{Options, Ruleset};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_condition(text);
        check(text);
    }
    if let Ok(text) = generate(&mut Unstructured::new(data)) {
        check(&text);
    }
});

fn check(text: &str) {
    let Ok(set) = Ruleset::from_text("fuzz.yaml", text, Options::default()) else { return };
    assert!(set.report().size <= MAX_COMPILED_SIZE, "{}", set.report().size);
    assert!(set.report().indexed <= MAX_INDEX_SIZE, "{}", set.report().indexed);
    let empty = serde_json::Map::new();
    let typical = serde_json::json!({"evt.type": "openat", "proc.name": "bash", "fd.name": "/etc/shadow",
        "evt.rawres": 3, "fd.cip": "10.0.0.1", "proc.aname[1]": "sh", "proc.pid": 7});
    let serde_json::Value::Object(typical) = typical else { return };
    for ev in [&empty, &typical] {
        let mut out = Vec::new();
        set.matches(ev, &mut out);
        for i in 0..set.rules().len() {
            let _ = set.alert(i, ev, "fuzz");
        }
    }
}

const FIELDS: [&str; 6] = ["proc.name", "fd.name", "proc.pid", "evt.type", "proc.aname", "user.uid"];
const VALUES: [&str; 6] = ["bash", "/etc/shadow", "7", "openat", "sh", "0"];

/// A rules file of lists, macros and rules that use each other.
fn generate(u: &mut Unstructured<'_>) -> Result<String> {
    let lists = u.int_in_range(0..=24u32)?;
    let macros = u.int_in_range(0..=48u32)?;
    let rules = u.int_in_range(1..=6u32)?;
    let mut text = String::new();
    for i in 0..lists {
        let mut items = Vec::new();
        for _ in 0..u.int_in_range(0..=4u32)? {
            items.push(if i > 0 && u.ratio(2, 3)? {
                format!("l{}", u.int_in_range(0..=i - 1)?)
            } else if u.ratio(1, 16)? {
                // Forward or self reference: a cycle when it closes.
                format!("l{}", u.int_in_range(0..=lists)?)
            } else {
                u.choose(&VALUES)?.to_string()
            });
        }
        text.push_str(&format!("- list: l{i}\n  items: [{}]\n", items.join(", ")));
    }
    for i in 0..macros {
        let cond = expr(u, i, lists, 0)?;
        text.push_str(&format!("- macro: m{i}\n  condition: {cond}\n"));
    }
    for r in 0..rules {
        let cond = expr(u, macros, lists, 0)?;
        text.push_str(&format!(
            "- rule: r{r}\n  desc: d\n  condition: {cond}\n  output: \"%proc.name %fd.name\"\n  priority: WARNING\n"
        ));
        if u.ratio(1, 4)? {
            text.push_str("  exceptions:\n    - name: e\n      fields: [proc.name, fd.name]\n      values: [[bash, /tmp], [sh, /etc]]\n");
        }
    }
    Ok(text)
}

/// A condition for macro `me` (or a rule when `me` is the number of macros): macros before it,
/// used any number of times, lists, tests, `and`/`or`/`not`.
fn expr(u: &mut Unstructured<'_>, me: u32, lists: u32, depth: u32) -> Result<String> {
    let leaf = depth >= 4 || u.ratio(1, 3)?;
    if leaf {
        return Ok(match u.int_in_range(0..=9u8)? {
            0..=3 if me > 0 => format!("m{}", u.int_in_range(0..=me - 1)?),
            4 => format!("m{}", u.int_in_range(0..=me)?),
            5 | 6 if lists > 0 => {
                format!("{} in (l{})", u.choose(&FIELDS)?, u.int_in_range(0..=lists - 1)?)
            }
            _ => format!("{} = {}", u.choose(&FIELDS)?, u.choose(&VALUES)?),
        });
    }
    let width = u.int_in_range(1..=4u32)?;
    Ok(match u.int_in_range(0..=2u8)? {
        0 => format!("not ({})", expr(u, me, lists, depth + 1)?),
        op => {
            let mut parts = Vec::new();
            for _ in 0..width {
                parts.push(expr(u, me, lists, depth + 1)?);
            }
            let joiner = if op == 1 { " and " } else { " or " };
            format!("({})", parts.join(joiner))
        }
    })
}
