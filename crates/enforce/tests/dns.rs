//! Learning the addresses covered names resolve to, for policies that deny domains.

use std::path::Path;
use std::time::{Duration, Instant};

use haechi_enforce::Compiled;
use haechi_enforce::dns::{LearnedAddresses, mapped};
use haechi_events::dns::{MIN_TTL, Resolution};

fn policies() -> Compiled {
    let text = "apiVersion: haechi.dev/v1alpha1\nkind: HaechiPolicy\nmetadata: {name: open}\n\
                spec:\n  rules:\n  - name: logged\n    privilege: [ptrace]\n    action: kill\n\
                ---\napiVersion: haechi.dev/v1alpha1\nkind: HaechiPolicy\n\
                metadata: {name: block-c2}\nspec:\n  rules:\n  - name: c2-domains\n    \
                egress: {deny: {domains: [c2.haechi.test, '*.evil.test']}}\n    action: deny\n";
    Compiled::new(haechi_enforce::policy::parse(text, Path::new("p.yaml")).unwrap()).unwrap()
}

#[test]
fn covered_names_teach_their_addresses_to_their_policy_until_they_expire() {
    let policies = policies();
    let mut learned = LearnedAddresses::default();
    let now = Instant::now();
    let c2 = Resolution {
        names: vec!["www.shop.test".into(), "beacon.evil.test".into()],
        addresses: vec![
            ("203.0.113.7".parse().unwrap(), 30),
            ("203.0.113.8".parse().unwrap(), 7200),
        ],
    };
    // Received in a cgroup under policy 0 only: nothing is learned.
    assert!(learned.learn(&policies, 0b01, &c2, now).is_empty());
    let new = learned.learn(&policies, 0b11, &c2, now);
    let got: Vec<_> = new
        .iter()
        .map(|l| (l.policy, l.addr, l.name.as_str()))
        .collect();
    let v4 = |ip: &str| mapped(ip.parse().unwrap());
    assert_eq!(
        got,
        [
            (1, v4("203.0.113.7"), "beacon.evil.test"),
            (1, v4("203.0.113.8"), "beacon.evil.test")
        ]
    );
    assert_eq!(
        policies.rule(new[0].verdict.rule).unwrap().rule,
        "c2-domains"
    );
    assert_eq!(learned.name(&v4("203.0.113.7")), Some("beacon.evil.test"));
    // The same answer again adds nothing new.
    assert!(learned.learn(&policies, 0b10, &c2, now).is_empty());
    let uncovered = Resolution {
        names: vec!["shop.test".into()],
        addresses: vec![("198.51.100.1".parse().unwrap(), 60)],
    };
    assert!(learned.learn(&policies, 0b10, &uncovered, now).is_empty());

    // A short TTL is held for MIN_TTL; a long one for itself.
    assert!(
        learned
            .expire(now + MIN_TTL - Duration::from_secs(1))
            .is_empty()
    );
    assert_eq!(learned.expire(now + MIN_TTL), [(1, v4("203.0.113.7"))]);
    assert_eq!(learned.name(&v4("203.0.113.7")), None);
    assert_eq!(
        learned.expire(now + Duration::from_secs(7200)),
        [(1, v4("203.0.113.8"))]
    );
}
