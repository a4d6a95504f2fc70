//! Reading DNS answers, on answers built as servers send them (compressed names, CNAME
//! chains) and on bytes that are not answers.

use std::net::IpAddr;
use std::path::Path;

use haechi_events::dns::resolution;
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
