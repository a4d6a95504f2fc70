//! Reading the DNS answers sockets receive: which names resolved to which addresses. The
//! agent names the servers processes connect to from them (Falco's `fd.sip.name`), and
//! enforcement denies the addresses denied domains resolve to.

use std::net::IpAddr;
use std::time::Duration;

use simple_dns::rdata::RData;
use simple_dns::{Packet, PacketFlag, RCODE};

/// The shortest time an answer is taken to hold, whatever its TTL: programs cache answers
/// longer than their TTL, and a C2 address must not come back within the hour (the value
/// Cilium's DNS-based policies use by default).
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
