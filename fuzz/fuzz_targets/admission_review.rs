//! Any request body through AdmissionReview parsing, validation and mutation: no panic, and every
//! patch applies to the object it was made for.
#![no_main]

use base64::Engine as _;
use haechi_admission::evaluate::{mutate, validate};
use haechi_admission::review::parse;
use haechi_admission::{NamespaceLabels, Policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = parse(data) else { return };
    let policy = Policy::default();
    let labels = NamespaceLabels::default();
    let _ = validate(&policy, &labels, &request);
    if let Ok(outcome) = mutate(&policy, &labels, &request)
        && let Some(patch) = outcome.response.patch
    {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(patch)
            .expect("the patch is base64");
        let patch: json_patch::Patch = serde_json::from_slice(&bytes).expect("the patch is JSON Patch");
        let mut object = request.object.clone().unwrap_or_default();
        json_patch::patch(&mut object, &patch).expect("the patch applies to the object");
    }
});
