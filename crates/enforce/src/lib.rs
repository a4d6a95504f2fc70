//! haechi's enforcement policies: the `HaechiPolicy` YAML format ([`policy`]), the container
//! selectors that scope it ([`selector`]), and their compilation into the tables the kernel's
//! enforcement programs read ([`compile`]), and the addresses domain rules learn from DNS
//! answers ([`dns`]).
//!
//! This crate decides what a policy means and which action each rule gets on a kernel; it
//! never touches the kernel itself (the sensor crate loads the programs and writes the tables)
//! and knows nothing of where container metadata comes from (the agent supplies a [`Target`]).

#![deny(missing_docs)]

pub mod compile;
pub mod dns;
pub mod policy;
pub mod selector;

pub use compile::{Compiled, DomainRule, Hooks, RuleInfo};
pub use policy::{Action, DomainPattern, Policy, PolicyError, ProcessSelector, read_file};
pub use selector::{Selector, Target};

/// Reads and compiles every policy in `paths`, in order, for a kernel without BPF-LSM.
pub fn load(paths: &[std::path::PathBuf]) -> Result<Compiled, PolicyError> {
    load_for(paths, Hooks::default())
}

/// Reads and compiles every policy in `paths`, in order, for a kernel that offers `hooks`.
pub fn load_for(paths: &[std::path::PathBuf], hooks: Hooks) -> Result<Compiled, PolicyError> {
    let mut policies = Vec::new();
    for path in paths {
        policies.extend(read_file(path)?);
    }
    Compiled::for_hooks(policies, hooks)
}
