//! Addresses learned from DNS answers, for policies that deny domains. The kernel hands over
//! the answers a scoped container receives, read into a [`Resolution`] (which names resolved
//! to which addresses); this module decides which policy rules cover them, and keeps each
//! learned address until it expires (at least [`MIN_TTL`]). It holds no kernel state: the
//! agent writes what it decides into the kernel's tables.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use haechi_events::dns::{MIN_TTL, Resolution};
use haechi_sensor::abi::Verdict;

use crate::Compiled;

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

    /// Takes out every learned address, expired or not: (policy, address) pairs to stop
    /// denying (the policies they were learned for are being replaced).
    pub fn take_all(&mut self) -> Vec<(u8, [u8; 16])> {
        self.names.clear();
        self.expiry.drain().map(|(key, _)| key).collect()
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
