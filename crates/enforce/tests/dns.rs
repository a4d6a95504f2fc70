//! Reading DNS answers and learning the addresses covered names resolve to, on answers built
//! as servers send them (compressed names, CNAME chains) and on bytes that are not answers.

use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use haechi_enforce::Compiled;
use haechi_enforce::dns::{LearnedAddresses, MIN_TTL, Resolution, mapped, resolution};
use simple_dns::rdata::{A, AAAA, CNAME, RData};
use simple_dns::{CLASS, Name, Packet, PacketFlag, QCLASS, QTYPE, Question, RCODE, ResourceRecord};

/// An answer to `question` with `records` (owner, rdata, ttl), compressed as servers send it.
fn answer(question: &str, records: &[(&str, RData<'_>, u32)], rcode: RCODE) -> Vec<u8> {
    let mut packet = Packet::new_reply(0x4d2);
    packet.set_flags(PacketFlag::RECURSION_DESIRED | PacketFlag::RECURSION_AVAILABLE);
    *packet.rcode_mut() = rcode;
    packet.questions.push(Question::new(
        Name::new_unchecked(question),
        QTYPE::ANY,
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    for (owner, rdata, ttl) in records {
        packet.answers.push(ResourceRecord::new(
            Name::new_unchecked(owner),
            CLASS::IN,
            *ttl,
            rdata.clone(),
        ));
    }
    packet.build_bytes_vec_compressed().unwrap()
}

fn a(ip: [u8; 4]) -> RData<'static> {
    RData::A(A {
        address: u32::from_be_bytes(ip),
    })
}

fn cname(target: &'static str) -> RData<'static> {
    RData::CNAME(CNAME(Name::new_unchecked(target)))
}

#[test]
fn a_cname_chain_is_followed_to_its_addresses() {
    let bytes = answer(
        "www.Shop.test",
        &[
            // Out of order, as some servers send them, plus a record for another name.
            ("edge.cdn.test", cname("beacon.evil.test"), 300),
            ("beacon.evil.test", a([203, 0, 113, 7]), 30),
            ("www.shop.test", cname("edge.cdn.test"), 300),
            (
                "beacon.evil.test",
                RData::AAAA(AAAA {
                    address: u128::from_be_bytes([
                        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,
                    ]),
                }),
                30,
            ),
            ("unrelated.test", a([192, 0, 2, 1]), 30),
        ],
        RCODE::NoError,
    );
    let got = resolution(&bytes).unwrap();
    assert_eq!(
        got.names,
        ["www.shop.test", "edge.cdn.test", "beacon.evil.test"]
    );
    assert_eq!(
        got.addresses,
        [
            ("203.0.113.7".parse::<IpAddr>().unwrap(), 30),
            ("2001:db8::7".parse().unwrap(), 30)
        ]
    );
}

#[test]
fn queries_errors_and_garbage_are_not_answers() {
    let nxdomain = answer("c2.haechi.test", &[], RCODE::NameError);
    assert_eq!(resolution(&nxdomain), None);
    let mut query = answer(
        "c2.haechi.test",
        &[("c2.haechi.test", a([1, 2, 3, 4]), 60)],
        RCODE::NoError,
    );
    query[2] &= 0x7f; // the QR bit: a query, not a response
    assert_eq!(resolution(&query), None);
    let whole = answer(
        "c2.haechi.test",
        &[("c2.haechi.test", a([1, 2, 3, 4]), 60)],
        RCODE::NoError,
    );
    for cut in 0..whole.len() {
        // Truncated answers (the kernel copies at most 1232 bytes) never panic.
        let _ = resolution(&whole[..cut]);
    }
    assert_eq!(resolution(b"\xff\xff\xff"), None);
}

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

#[test]
fn the_fuzz_seeds_are_real_answers() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/dns_answer");
    let read = |name: &str| resolution(&std::fs::read(seeds.join(name)).unwrap()).unwrap();
    let a = read("a-record");
    assert_eq!(a.names, ["c2.haechi.test"]);
    assert_eq!(a.addresses, [("127.0.0.9".parse().unwrap(), 60)]);
    let chain = read("cname-aaaa");
    assert_eq!(chain.names, ["www.shop.test", "edge.evil.test"]);
    assert_eq!(chain.addresses, [("::7".parse().unwrap(), 30)]);
}
