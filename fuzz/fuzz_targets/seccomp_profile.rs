//! Any text as a seccomp profile: parsing never panics, and a profile that parses can be
//! checked, resolved per architecture, diffed, merged and written as JSON and as a
//! SeccompProfile object, and its JSON parses back to the same profile.
#![no_main]

use haechi_seccomp::{Arch, Profile, SpoProfile, check, diff, merge};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(profile) = Profile::parse(text, "fuzz.json") else { return };
    let _ = check(&profile);
    for arch in Arch::ALL {
        let resolved = profile.resolved(arch);
        let _ = SpoProfile::new(&resolved, "fuzz", None).map(|o| o.to_yaml());
        let _ = diff(&profile, &resolved);
    }
    let _ = merge(&[("fuzz.json".into(), profile.clone())]);
    let again = Profile::parse(&profile.to_json(), "again.json").expect("written profiles parse");
    assert_eq!(again, profile);
});
