//! Any bytes as a node's kube-apiserver manifest, encryption config, kubelet drop-in, env file
//! and kubelet config (split at NUL bytes), audited from a scratch root: no panic, every item
//! gets a verdict or the file becomes a problem.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use haechi_audit::node::{self, Flags, expand_command, parse_env_file, parse_unit, split_words};
use libfuzzer_sys::fuzz_target;

const FILES: [&str; 5] = [
    "etc/kubernetes/manifests/kube-apiserver.yaml",
    "etc/kubernetes/enc.yaml",
    "etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
    "var/lib/kubelet/kubeadm-flags.env",
    "var/lib/kubelet/config.yaml",
];

fn root() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("haechi-fuzz-audit-{}", std::process::id()));
        for file in FILES {
            std::fs::create_dir_all(root.join(file).parent().unwrap()).unwrap();
        }
        root
    })
}

fuzz_target!(|data: &[u8]| {
    let parts: Vec<&[u8]> = data.splitn(FILES.len(), |b| *b == 0).collect();
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = split_words(text);
        let unit = parse_unit(text, "u");
        let env = parse_env_file(text, "e").into_iter().collect();
        for line in unit.exec_start.into_iter().flatten() {
            let _ = Flags::parse(&expand_command(&line, &env));
        }
    }
    let root = root();
    for (i, file) in FILES.iter().enumerate() {
        std::fs::write(root.join(file), parts.get(i).copied().unwrap_or_default()).unwrap();
    }
    let report = node::audit(root).unwrap();
    for r in &report.results {
        assert!(!r.id.is_empty());
    }
});
