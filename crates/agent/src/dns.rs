//! The names of servers, from the DNS answers the sensor sees sockets receive: Falco's
//! `fd.sip.name` is the domain a process asked for before it connected to the address. Falco
//! resolves the names its rules list itself and compares addresses; haechi reads the answers the
//! workload really got, so a name resolves as it did for that workload, at that time.
//!
//! Names are kept per receiving cgroup (the answer a container got names the servers of that
//! container, not of its neighbours) and per address, the latest answer winning, for as long
//! as [`MIN_KEEP`] or the answer's TTL, whichever is longer.

use std::collections::HashMap;
use std::net::IpAddr;

use haechi_events::dns::resolution;

/// The shortest time a name stays attached to an address, whatever the answer's TTL: programs
/// cache answers longer than their TTL (the time enforcement keeps a denied address too).
pub const MIN_KEEP: std::time::Duration = haechi_events::dns::MIN_TTL;

/// How many (cgroup, address) names are kept: past it, expired ones go first, then half of the
/// rest, so that a flood of answers costs bounded memory and amortised constant time.
const CAPACITY: usize = 1 << 16;

#[derive(Clone, Debug)]
struct Named {
    name: Box<str>,
    /// CLOCK_BOOTTIME nanoseconds after which the name no longer holds.
    until_ns: u64,
}

/// Server names by the cgroup that received the answer and the address it gave.
#[derive(Clone, Debug, Default)]
pub struct ServerNames {
    by_address: HashMap<(u64, IpAddr), Named>,
}

impl ServerNames {
    /// Learns from one DNS answer that a socket of cgroup `cgroup_id` received at `ts_ns`
    /// (CLOCK_BOOTTIME); what is not a successful answer is ignored (the bytes are untrusted).
    /// Each address is named by the question's name, the one the process asked for, not by
    /// the CNAME targets it went through.
    pub fn learn(&mut self, cgroup_id: u64, payload: &[u8], ts_ns: u64) {
        let Some(answer) = resolution(payload) else {
            return;
        };
        let Some(name) = answer.names.first() else {
            return;
        };
        let name: Box<str> = name.trim_end_matches('.').into();
        for &(ip, ttl) in &answer.addresses {
            let keep = MIN_KEEP.max(std::time::Duration::from_secs(ttl.into()));
            let until_ns = ts_ns.saturating_add(u64::try_from(keep.as_nanos()).unwrap_or(u64::MAX));
            if self.by_address.len() >= CAPACITY {
                self.make_room(ts_ns);
            }
            self.by_address.insert(
                (cgroup_id, ip),
                Named {
                    name: name.clone(),
                    until_ns,
                },
            );
        }
    }

    /// The name cgroup `cgroup_id` last resolved `ip` from, if it still holds at `ts_ns`.
    pub fn name(&self, cgroup_id: u64, ip: IpAddr, ts_ns: u64) -> Option<&str> {
        self.by_address
            .get(&(cgroup_id, ip))
            .filter(|named| named.until_ns >= ts_ns)
            .map(|named| &*named.name)
    }

    /// How many names are held.
    pub fn len(&self) -> usize {
        self.by_address.len()
    }

    /// Whether no name is held.
    pub fn is_empty(&self) -> bool {
        self.by_address.is_empty()
    }

    fn make_room(&mut self, now_ns: u64) {
        self.by_address.retain(|_, named| named.until_ns >= now_ns);
        if self.by_address.len() >= CAPACITY {
            let mut keep = false;
            self.by_address.retain(|_, _| {
                keep = !keep;
                keep
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simple_dns::rdata::{A, CNAME, RData};
    use simple_dns::{CLASS, Name, Packet, PacketFlag, Question, ResourceRecord};

    fn answer(question: &str, records: &[(&str, RData<'static>)], ttl: u32) -> Vec<u8> {
        let mut packet = Packet::new_reply(7);
        packet.set_flags(PacketFlag::RESPONSE);
        packet.questions.push(Question::new(
            Name::new_unchecked(question),
            simple_dns::QTYPE::TYPE(simple_dns::TYPE::A),
            simple_dns::QCLASS::CLASS(CLASS::IN),
            false,
        ));
        for (owner, rdata) in records {
            packet.answers.push(ResourceRecord::new(
                Name::new_unchecked(owner),
                CLASS::IN,
                ttl,
                rdata.clone(),
            ));
        }
        packet.build_bytes_vec().unwrap()
    }

    fn a(ip: [u8; 4]) -> RData<'static> {
        RData::A(A {
            address: u32::from_be_bytes(ip),
        })
    }

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn addresses_are_named_by_the_question_per_cgroup_until_they_expire() {
        let mut names = ServerNames::default();
        let payload = answer(
            "C2.Example.test",
            &[
                (
                    "c2.example.test",
                    RData::CNAME(CNAME(Name::new_unchecked("edge.cdn.test"))),
                ),
                ("edge.cdn.test", a([192, 0, 2, 7])),
            ],
            30,
        );
        names.learn(5, &payload, 100 * SECOND);
        let ip = IpAddr::from([192, 0, 2, 7]);
        assert_eq!(names.name(5, ip, 101 * SECOND), Some("c2.example.test"));
        assert_eq!(
            names.name(6, ip, 101 * SECOND),
            None,
            "another cgroup's answer"
        );
        let expiry = 100 * SECOND + MIN_KEEP.as_secs() * SECOND;
        assert_eq!(names.name(5, ip, expiry), Some("c2.example.test"));
        assert_eq!(names.name(5, ip, expiry + 1), None);

        // A later answer for the same address renames it.
        names.learn(
            5,
            &answer("other.test", &[("other.test", a([192, 0, 2, 7]))], 30),
            200 * SECOND,
        );
        assert_eq!(names.name(5, ip, 201 * SECOND), Some("other.test"));
    }

    #[test]
    fn what_is_not_an_answer_teaches_nothing() {
        let mut names = ServerNames::default();
        names.learn(1, b"\x00\x01 not DNS", 1);
        let mut query = Packet::new_query(1);
        query.questions.push(Question::new(
            Name::new_unchecked("example.test"),
            simple_dns::QTYPE::TYPE(simple_dns::TYPE::A),
            simple_dns::QCLASS::CLASS(CLASS::IN),
            false,
        ));
        names.learn(1, &query.build_bytes_vec().unwrap(), 1);
        assert!(names.is_empty());
    }

    #[test]
    fn a_flood_of_answers_stays_bounded() {
        let mut names = ServerNames::default();
        for i in 0..(CAPACITY as u32 + 10) {
            let payload = answer("flood.test", &[("flood.test", a(i.to_be_bytes()))], 3600);
            names.learn(1, &payload, SECOND);
        }
        assert!(names.len() <= CAPACITY);
        let last = IpAddr::from((CAPACITY as u32 + 9).to_be_bytes());
        assert_eq!(names.name(1, last, SECOND), Some("flood.test"));
    }
}
