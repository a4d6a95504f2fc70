//! Addresses learned from DNS answers, for policies that deny domains. The kernel hands over
//! the answers a scoped container receives; this module reads which names resolved to which
//! addresses, decides which policy rules cover them, and keeps each learned address until it
//! expires. It holds no kernel state: the agent writes what it decides into the kernel's
//! tables.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::Compiled;
use haechi_sensor::abi::Verdict;
use simple_dns::rdata::RData;
use simple_dns::{Packet, PacketFlag, RCODE};

/// The shortest time a learned address stays denied, whatever the answer's TTL: programs cache
/// answers longer than their TTL, and a C2 address must not come back within the hour (the
/// value Cilium's DNS-based policies use by default).
pub const MIN_TTL: Duration = Duration::from_secs(3600);

/// What one DNS answer says: the names asked for and the aliases they led to, and the
/// addresses they resolved to with their TTLs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolution {
    /// The question's name first, then each CNAME target the chain went through (lowercase).
    pub names: Vec<String>,
    /// Every A and AAAA record of the chain.
    pub addresses: Vec<(IpAddr, u32)>,
}

/// Reads a DNS response; `None` when it is not a successful answer (a query, an error, or bytes
/// that do not parse — the payload is untrusted and may be truncated).
pub fn resolution(payload: &[u8]) -> Option<Resolution> {
    let packet = Packet::parse(payload).ok()?;
    if !packet.has_flags(PacketFlag::RESPONSE) || packet.rcode() != RCODE::NoError {
        return None;
    }
    let mut names: Vec<String> = packet
        .questions
        .iter()
        .map(|q| q.qname.to_string().to_ascii_lowercase())
        .collect();
    // Follow CNAMEs from the question, in whatever order the records come.
    let mut grew = true;
    while grew {
        grew = false;
        for record in &packet.answers {
            if let RData::CNAME(target) = &record.rdata {
                let owner = record.name.to_string().to_ascii_lowercase();
                let target = target.0.to_string().to_ascii_lowercase();
                if names.contains(&owner) && !names.contains(&target) {
                    names.push(target);
                    grew = true;
                }
            }
        }
    }
    let addresses = packet
        .answers
        .iter()
        .filter(|r| names.contains(&r.name.to_string().to_ascii_lowercase()))
        .filter_map(|r| match &r.rdata {
            RData::A(a) => Some((IpAddr::from(a.address.to_be_bytes()), r.ttl)),
            RData::AAAA(a) => Some((IpAddr::from(a.address.to_be_bytes()), r.ttl)),
            _ => None,
        })
        .collect();
    Some(Resolution { names, addresses })
}

/// An address to deny under one policy, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Learned {
    /// The policy's index.
    pub policy: u8,
    /// The address (IPv4 mapped into IPv6, as the kernel's tables hold it).
    pub addr: [u8; 16],
    /// The rule's verdict.
    pub verdict: Verdict,
    /// The name that resolved to it.
    pub name: String,
}

/// The learned addresses and when each stops being denied.
#[derive(Debug, Default)]
pub struct LearnedAddresses {
    expiry: HashMap<(u8, [u8; 16]), Instant>,
    names: HashMap<[u8; 16], String>,
}

impl LearnedAddresses {
    /// What `resolution`, received by a cgroup under the policies of `scope`, adds to the
    /// denied addresses; addresses already denied only have their time extended.
    pub fn learn(
        &mut self,
        policies: &Compiled,
        scope: u32,
        resolution: &Resolution,
        now: Instant,
    ) -> Vec<Learned> {
        let mut new = Vec::new();
        for name in &resolution.names {
            for rule in policies.domain_rules_for(scope, name) {
                for &(ip, ttl) in &resolution.addresses {
                    let addr = mapped(ip);
                    let until = now + MIN_TTL.max(Duration::from_secs(ttl.into()));
                    let expiry = self.expiry.entry((rule.policy, addr)).or_insert_with(|| {
                        new.push(Learned {
                            policy: rule.policy,
                            addr,
                            verdict: rule.verdict,
                            name: name.clone(),
                        });
                        until
                    });
                    *expiry = (*expiry).max(until);
                    self.names.insert(addr, name.clone());
                }
            }
        }
        new
    }

    /// Takes out what has expired by `now`: (policy, address) pairs to stop denying.
    pub fn expire(&mut self, now: Instant) -> Vec<(u8, [u8; 16])> {
        let gone: Vec<_> = self
            .expiry
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(key, _)| *key)
            .collect();
        for key in &gone {
            self.expiry.remove(key);
        }
        self.names
            .retain(|addr, _| self.expiry.keys().any(|(_, a)| a == addr));
        gone
    }

    /// The name a denied address was learned from.
    pub fn name(&self, addr: &[u8; 16]) -> Option<&str> {
        self.names.get(addr).map(String::as_str)
    }
}

/// `ip` as the kernel's tables hold it: IPv6, with IPv4 mapped into ::ffff:0:0/96.
pub fn mapped(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}
