//! docs/checks.md is the check catalogue, generated from the checks themselves so it cannot drift:
//! this test fails when it is stale; `HAECHI_BLESS=1 cargo test -p haechi-policy --test catalogue`
//! rewrites it.

use std::fmt::Write;
use std::path::Path;

use haechi_policy::checks;

fn render() -> String {
    let mut md = String::from(
        "# Check catalogue\n\n\
         Generated from the code by `crates/policy/tests/catalogue.rs`; do not edit by hand.\n\n\
         | ID | Severity | PSS | Title |\n|---|---|---|---|\n",
    );
    let all: Vec<_> = checks::all().collect();
    for check in &all {
        let m = &check.meta;
        let _ = writeln!(
            md,
            "| [`{}`](#{}) | {} | {} | {} |",
            m.id,
            m.id,
            m.severity,
            m.pss.map_or("—".to_string(), |l| l.to_string()),
            m.title
        );
    }
    for check in &all {
        let m = &check.meta;
        let _ = write!(
            md,
            "\n## {}\n\n**{}** — severity `{}`{}\n\n{}\n\n**Remediation:** {}\n\n**References:**\n",
            m.id,
            m.title,
            m.severity,
            m.pss
                .map_or(String::new(), |l| format!(", Pod Security Standards `{l}`")),
            m.description,
            m.remediation
        );
        for r in m.references {
            let _ = writeln!(md, "- [{}]({})", r.name, r.url);
        }
    }
    md
}

#[test]
fn docs_catalogue_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/checks.md");
    let expected = render();
    if std::env::var_os("HAECHI_BLESS").is_some() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/checks.md is stale: run HAECHI_BLESS=1 cargo test -p haechi-policy --test catalogue"
    );
}
