//! docs/rules.md is generated from the field catalogue so it cannot drift: this test fails when
//! it is stale; `HAECHI_BLESS=1 cargo test -p haechi-rules --test catalogue` rewrites it.

use std::fmt::Write;
use std::path::Path;

use haechi_rules::fields::{Arg, CATALOGUE, Source, UNSUPPORTED_CLASSES};

const INTRO: &str = "# Rules

Generated from the code by `crates/rules/tests/catalogue.rs`; do not edit by hand.

haechi reads Falco's rules format: YAML files of `list`, `macro` and `rule` items, with
`required_engine_version` and `required_plugin_versions` accepted. Files load in order; an item
that redefines a name replaces it, and `append: true` or `override:` (`key: append` or
`key: replace`) changes an earlier one, across files, as Falco does. Lists and macros may be used
before they are defined. Rules take `condition`, `output`, `priority`, `desc`, `tags`, `enabled`,
`exceptions`, `source` and `skip-if-unknown-filter`; an exception's `fields`, `comps` and
`values` become `and not (...)` on the condition, with Falco's defaults (`in` for one field, `=`
for each of a list).

```sh
haechi rules check [--strict] FILE...        # what compiled, and what is unsupported, by rule
haechi rules test --rules FILE... --events EVENTS.jsonl [--format json|text] [--match first|all]
```

`check` exits 0 when the files load, 1 with `--strict` when a rule needs something haechi cannot
evaluate yet, 2 on errors (each names the file, line, item and what to do). `test` replays
events, one flat JSON object of Falco fields per line (what `haechi agent --events` writes), and
prints alerts in Falco's JSON shape (`hostname`, `output`, `output_fields`, `priority`, `rule`,
`source`, `tags`, `time`) or as Falco's text lines.

## Conditions

`and`, `or`, `not` and parentheses (`not` binds tighter than `and`, `and` tighter than `or`);
comparisons `=` (`==`), `!=`, `<`, `<=`, `>`, `>=`; `contains`, `icontains`, `bcontains`,
`startswith`, `istartswith`, `bstartswith`, `endswith`, `glob`, `iglob`, `regex` (RE2 syntax,
whole value); `in`, `intersects` and `pmatch` (path prefixes) with a list `(a, b, \"c d\")` or a
list's name; `exists`. Values are bare words or quoted strings; `b*` operators take hex bytes.
A field is compared with another through `val(field)`; transformers `tolower`, `toupper`, `b64`,
`basename` and `len` apply to either side. Macros and lists are expanded when the rules are
compiled; an unquoted list item that names a list is replaced by its items.

As in Falco, a test of a field the event lacks is false whatever the operator (`not` of it is
true), and `exists` asks whether it is there. A field without an ancestor index (`proc.aname`)
holds when any ancestor matches (`!=`: when none does); `fd.ip`, `fd.port` and `fd.net` test
either end of a socket the same way.

Outputs name fields as `%proc.name` or `%proc.aname[2]`; a missing one renders `<NA>` (`null` in
`output_fields`). `%evt.time` renders as the time of day, UTC. As with Falco's default
`append_output` (`suggested_output: true`, which appends the fields its container plugin
suggests), every rule's output is followed by `container_id=%container.id
container_name=%container.name container_image_repository=%container.image.repository
container_image_tag=%container.image.tag k8s_pod_name=%k8s.pod.name k8s_ns_name=%k8s.ns.name`,
so an alert says which container and pod it came from even when the rule's output names
neither. `output_fields` holds each field the output names and, as Falco's always do,
`evt.time` (nanoseconds since the epoch); `hostname` is `HAECHI_HOSTNAME` when set, else the
kernel's host name.

A field Falco has but haechi cannot evaluate (marked *unsupported* below, or in a class listed at
the end), or a `source` other than `syscall`, leaves its rule out and is reported by name; the
rest loads. Falco's stable ruleset compiles completely.

## Throughput

Everything that depends on the rules is done when they load: macros and lists expanded, each
rule's condition specialized for every event type it can match (its `evt.type in (open, openat,
openat2)` is decided before an `openat` event arrives, and branches for other types are gone),
`in` lists and `pmatch` prefixes built into hash sets. `haechi agent` then evaluates the
sensor's events as they are: each field a rule names was resolved at load to the agent's own
field, and is read from the event, its process and its container only when a condition asks for
it; a command line or the open flags are built only then. The JSON object of Falco fields is
built only for `--events`, from the same function that answers the rules, so what the rules see
and what `--events` writes cannot differ.

`bench/rules.sh` measures one core (`taskset -c 0`; events per second of the thread's CPU time,
each batch of 1024 events at its best of five passes) on a generated mix like a busy node's: half
opens, then execs, forks, exits, connects, unlinks and sockets, in containers and on the host.
On the agent's path, the typed view next to the JSON map the agent used to build for every event
(rendered, then evaluated), and the first rule matched as Falco does; then the replay path of
`haechi rules test`, flat JSON events (every matching rule). Measured on a shared two-core AMD
EPYC virtual machine (CI, 2026-12-03):

| Rules | Agent, typed view | with alerts | Agent, JSON map | Replay, evaluation |
|---|---|---|---|---|
| default (17 rules) | 3,850,000 events/s | 1,980,000 | 244,000 | 1,104,000 |
| Falco stable (25 rules) | 2,210,000 events/s | 1,910,000 | 224,000 | 927,000 |

Before the typed view and the specialized conditions, a slower run evaluated 184,000 events/s
with the default rules and 165,000 with Falco's on the agent's path (the JSON map), and 540,000
and 432,000 replayed. About 15 % of the generated events raise an alert with the default rules;
rendering the alert (text, time, output fields) is what halves that row's figure. These runs
predate the container and pod fields appended to every rule's output and `evt.time` in
`output_fields`, which the *with alerts* column now also renders.

## Fields

The *haechi agent* column says where a value comes from: **yes**, `haechi agent` writes it; a
derivation, it is computed from other fields when the event does not carry it; **event**, it is
read when the event's producer sets it (the agent does not yet).

| Field | Type | Argument | haechi agent | Description |
|---|---|---|---|---|
";

/// The limits section, from the constants the loader and compiler use.
fn limits() -> String {
    use haechi_rules::limits::*;
    let n = |x: usize| {
        let digits = x.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    format!(
        "## Limits

Loading rules costs work and memory in proportion to the rules, whatever a file asks for: each
macro and each list is expanded once and the result copied where it is used, and everything
compiled is counted. The limits are far above what real rules need (haechi's defaults and
Falco's stable ruleset together compile to 2,261 nodes and an index of 1,797 entries). Passing
one is an error that names the limit, the file, line and item, and what to do; only the index
limit is a warning, because rules past it still work.

| What | Limit | When it is passed |
|---|---|---|
| a rules file | {file} MiB; only regular files are read (a FIFO, socket or device is refused unread) | error: the file's size and the limit |
| YAML in one file | {yaml_nodes} nodes (alias copies included), {yaml_depth} levels of nesting | error naming the node limit, or aliases when they make most of the nodes |
| one condition | {nesting} levels of parentheses, `not`s and transformers | syntax error |
| macros using macros, lists naming lists | chains of {chain} | error with the chain (a cycle is an error at once) |
| all compiled conditions together | {size} nodes: each `and`, `or`, `not` and test counts one, each value of an expanded list one, each copy of a macro its nodes | error at the macro or rule that passes it; nothing is compiled after it |
| nesting of a compiled condition, macros expanded | {depth} levels | error at the macro or rule that passes it |
| the index by event type | {index} entries (each rule once per event type it can match, plus the nodes of its condition specialized for that type) | past the specialized copies' share, rules keep their own condition; past one entry per rule and type, a warning, and every event is tested against every rule (the same alerts, slower) |

",
        file = MAX_FILE_BYTES >> 20,
        yaml_nodes = n(MAX_YAML_NODES),
        yaml_depth = MAX_YAML_DEPTH,
        nesting = MAX_CONDITION_NESTING,
        chain = MAX_EXPANSION_CHAIN,
        size = n(MAX_COMPILED_SIZE),
        depth = MAX_COMPILED_DEPTH,
        index = n(MAX_INDEX_SIZE),
    )
}

fn render() -> String {
    let (intro, fields) = INTRO.split_at(INTRO.find("## Fields").expect("a Fields section"));
    let mut md = String::from(intro);
    md.push_str(&limits());
    md.push_str(fields);
    for f in CATALOGUE {
        let arg = match f.arg {
            Arg::None => "",
            Arg::Ancestor => "`[level]`, optional",
            Arg::Name => "`.name` or `[name]`",
        };
        let source = match f.source {
            Source::Agent => "yes".to_owned(),
            Source::Derived(d) => format!("from {d}"),
            Source::Event => "event".to_owned(),
            Source::Unsupported(why) => format!("*unsupported*: {why}"),
        };
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {} |",
            f.name, f.ty, arg, source, f.desc
        );
    }
    md.push_str("\n## Field classes reported as unsupported\n\n| Prefix | Why |\n|---|---|\n");
    for (prefix, why) in UNSUPPORTED_CLASSES {
        let _ = writeln!(md, "| `{prefix}*` | {why} |");
    }
    md
}

#[test]
fn docs_rules_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules.md");
    let expected = render();
    if std::env::var_os("HAECHI_BLESS").is_some() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/rules.md is stale: run HAECHI_BLESS=1 cargo test -p haechi-rules --test catalogue"
    );
}

#[test]
fn catalogue_names_are_unique_and_described() {
    let mut names: Vec<_> = CATALOGUE.iter().map(|f| f.name).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "duplicate field names");
    assert!(
        CATALOGUE
            .iter()
            .all(|f| !f.desc.is_empty() && f.desc.ends_with('.'))
    );
}
