//! The benchmark items and how each is judged from files. Most API server, controller manager,
//! scheduler, etcd and kubelet items are a test on one setting, so they are data ([`FlagItem`],
//! [`KubeletItem`]); file permissions, authorization modes, encryption providers and etcd's CA
//! are code.

use std::collections::BTreeMap;
use std::path::Path;

use haechi_manifest::{Limits, Node, parse_documents};
use haechi_policy::check::Reference;
use haechi_policy::{CheckMeta, Severity};

use super::BENCHMARK;
use super::fs::NodeFs;
use super::kubelet::{Kubelet, Setting, Value};
use super::pods::{self, Component};
use crate::report::{CheckResult, Evidence, Item, Report, Skipped, Status};

const CIS: &[Reference] = &[Reference {
    name: "CIS Kubernetes Benchmark v1.9",
    url: "https://www.cisecurity.org/benchmark/kubernetes",
}];

const S11: &str = "1.1 Control Plane Node Configuration Files";
const S12: &str = "1.2 API Server";
const S13: &str = "1.3 Controller Manager";
const S14: &str = "1.4 Scheduler";
const S2: &str = "2 etcd";
const S32: &str = "3.2 Logging";
const S41: &str = "4.1 Worker Node Configuration Files";
const S42: &str = "4.2 Kubelet";

macro_rules! cis {
    ($section:expr, $id:literal, $automated:literal, $severity:ident, $title:literal, $why:literal, $fix:literal) => {
        Item {
            meta: CheckMeta {
                id: $id,
                title: $title,
                severity: Severity::$severity,
                pss: None,
                description: $why,
                remediation: $fix,
                references: CIS,
            },
            section: $section,
            automated: $automated,
        }
    };
}

/// A test on one effective setting.
#[derive(Debug, Clone, Copy)]
enum Test {
    Set,
    Unset,
    Eq(&'static str),
    Has(&'static str),
    NotHave(&'static str),
    NotZero,
    AtLeast(i64),
    Within(&'static [&'static str]),
}

impl Test {
    fn holds(self, value: Option<&str>) -> bool {
        let list = || -> Vec<&str> {
            value
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        };
        match self {
            Test::Set => value.is_some_and(|v| !v.is_empty()),
            Test::Unset => value.is_none(),
            Test::Eq(want) => value.is_some_and(|v| v.trim_matches('"').eq_ignore_ascii_case(want)),
            Test::Has(elem) => list().contains(&elem),
            Test::NotHave(elem) => !list().contains(&elem),
            Test::NotZero => !value.is_some_and(|v| {
                v.trim_end_matches(|c: char| c.is_ascii_alphabetic())
                    .parse::<f64>()
                    .is_ok_and(|n| n == 0.0)
            }),
            Test::AtLeast(n) => value
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v >= n),
            Test::Within(allowed) => {
                let list = list();
                !list.is_empty() && list.iter().all(|e| allowed.contains(e))
            }
        }
    }

    fn expectation(self) -> String {
        match self {
            Test::Set => "expected to be set".into(),
            Test::Unset => "expected not to be set".into(),
            Test::Eq(v) => format!("expected {v}"),
            Test::Has(e) => format!("expected to include {e}"),
            Test::NotHave(e) => format!("expected not to include {e}"),
            Test::NotZero => "expected not 0".into(),
            Test::AtLeast(n) => format!("expected at least {n}"),
            Test::Within(_) => "expected only the benchmark's strong cipher suites".into(),
        }
    }
}

fn describe(key: &str, value: &Value, test: Test) -> String {
    let now = match (&value.value, &value.evidence.value) {
        (_, Some(shown)) => format!("{key} is {shown}"),
        (Some(v), None) => format!("{key} is {v}"),
        (None, None) => format!("{key} is not set"),
    };
    format!("{now}; {}", test.expectation())
}

/// An item that is one or more tests on component flags (all must hold).
struct FlagItem {
    item: Item,
    tests: &'static [(&'static str, Test, Option<&'static str>)],
}

/// An item that is one or more tests on kubelet settings (all must hold).
struct KubeletItem {
    item: Item,
    tests: &'static [(Setting, Test)],
}

/// Flags whose occurrences add up (pflag string slices and maps).
const LIST_FLAGS: &[&str] = &[
    "enable-admission-plugins",
    "disable-admission-plugins",
    "authorization-mode",
    "feature-gates",
    "tls-cipher-suites",
];

/// The cipher suites CIS 1.2.29 accepts for the API server.
const APISERVER_CIPHERS: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
];

/// The cipher suites CIS 4.2.12 accepts for the kubelet.
const KUBELET_CIPHERS: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
];

static API_SERVER: &[FlagItem] = &[
    FlagItem {
        item: cis!(
            S12,
            "1.2.1",
            false,
            Medium,
            "Ensure that the --anonymous-auth argument is set to false",
            "Anonymous requests reach the API server as system:anonymous; any RBAC binding to it or to system:unauthenticated is open to the network.",
            "Set --anonymous-auth=false in the API server pod specification (health checks then need credentials, which is why the benchmark makes this Manual)."
        ),
        tests: &[("anonymous-auth", Test::Eq("false"), Some("true"))],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.2",
            true,
            High,
            "Ensure that the --token-auth-file parameter is not set",
            "Static token files hold long-lived bearer tokens in clear text that cannot be revoked without a restart.",
            "Remove --token-auth-file from the API server pod specification and use certificates, OIDC or service account tokens."
        ),
        tests: &[("token-auth-file", Test::Unset, None)],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.3",
            false,
            Medium,
            "Ensure that the DenyServiceExternalIPs admission plugin is set",
            "Without it any user who can create a Service can set externalIPs and intercept traffic (CVE-2020-8554).",
            "Add DenyServiceExternalIPs to --enable-admission-plugins."
        ),
        tests: &[(
            "enable-admission-plugins",
            Test::Has("DenyServiceExternalIPs"),
            None,
        )],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.4",
            true,
            Medium,
            "Ensure that the --kubelet-client-certificate and --kubelet-client-key arguments are set",
            "Without a client certificate the API server cannot authenticate to kubelets that require it.",
            "Set --kubelet-client-certificate and --kubelet-client-key to the API server's kubelet client certificate and key."
        ),
        tests: &[
            ("kubelet-client-certificate", Test::Set, None),
            ("kubelet-client-key", Test::Set, None),
        ],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.5",
            true,
            Medium,
            "Ensure that the --kubelet-certificate-authority argument is set",
            "Without it the API server does not verify kubelet serving certificates, so exec and logs traffic can be intercepted.",
            "Set --kubelet-certificate-authority to the CA that signs kubelet serving certificates."
        ),
        tests: &[("kubelet-certificate-authority", Test::Set, None)],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.9",
            false,
            Low,
            "Ensure that the admission control plugin EventRateLimit is set",
            "Without a limit a client can flood the API server and etcd with events.",
            "Add EventRateLimit to --enable-admission-plugins and configure it with --admission-control-config-file."
        ),
        tests: &[(
            "enable-admission-plugins",
            Test::Has("EventRateLimit"),
            None,
        )],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.10",
            true,
            High,
            "Ensure that the admission control plugin AlwaysAdmit is not set",
            "AlwaysAdmit admits every request, bypassing every other admission control.",
            "Remove AlwaysAdmit from --enable-admission-plugins."
        ),
        tests: &[(
            "enable-admission-plugins",
            Test::NotHave("AlwaysAdmit"),
            None,
        )],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.11",
            false,
            Low,
            "Ensure that the admission control plugin AlwaysPullImages is set",
            "Without it a pod can run a private image already pulled on the node without the credentials to pull it.",
            "Add AlwaysPullImages to --enable-admission-plugins."
        ),
        tests: &[(
            "enable-admission-plugins",
            Test::Has("AlwaysPullImages"),
            None,
        )],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.12",
            true,
            Medium,
            "Ensure that the admission control plugin ServiceAccount is set",
            "The ServiceAccount plugin gives every pod a service account and enforces token mounting rules.",
            "Remove ServiceAccount from --disable-admission-plugins."
        ),
        tests: &[(
            "disable-admission-plugins",
            Test::NotHave("ServiceAccount"),
            None,
        )],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.13",
            true,
            Low,
            "Ensure that the admission control plugin NamespaceLifecycle is set",
            "NamespaceLifecycle refuses objects in namespaces that are terminating or do not exist.",
            "Remove NamespaceLifecycle from --disable-admission-plugins."
        ),
        tests: &[(
            "disable-admission-plugins",
            Test::NotHave("NamespaceLifecycle"),
            None,
        )],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.14",
            true,
            Medium,
            "Ensure that the admission control plugin NodeRestriction is set",
            "NodeRestriction limits a kubelet to its own Node and the pods bound to it; without it a compromised node can modify others.",
            "Add NodeRestriction to --enable-admission-plugins."
        ),
        tests: &[(
            "enable-admission-plugins",
            Test::Has("NodeRestriction"),
            None,
        )],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.15",
            true,
            Low,
            "Ensure that the --profiling argument is set to false",
            "The profiling endpoints expose internals and cost performance; they are on by default.",
            "Set --profiling=false in the API server pod specification."
        ),
        tests: &[("profiling", Test::Eq("false"), Some("true"))],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.16",
            true,
            Medium,
            "Ensure that the --audit-log-path argument is set",
            "Without an audit log there is no record of who did what in the cluster.",
            "Set --audit-log-path (for example /var/log/kubernetes/audit/audit.log) and an --audit-policy-file."
        ),
        tests: &[("audit-log-path", Test::Set, None)],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.17",
            true,
            Low,
            "Ensure that the --audit-log-maxage argument is set to 30 or as appropriate",
            "Audit logs must be kept long enough to investigate an incident.",
            "Set --audit-log-maxage=30 (days) or more."
        ),
        tests: &[("audit-log-maxage", Test::AtLeast(30), None)],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.18",
            true,
            Low,
            "Ensure that the --audit-log-maxbackup argument is set to 10 or as appropriate",
            "Rotated audit logs must be kept, not overwritten.",
            "Set --audit-log-maxbackup=10 or more."
        ),
        tests: &[("audit-log-maxbackup", Test::AtLeast(10), None)],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.19",
            true,
            Low,
            "Ensure that the --audit-log-maxsize argument is set to 100 or as appropriate",
            "Audit logs must rotate at a size that keeps enough history.",
            "Set --audit-log-maxsize=100 (MB) or more."
        ),
        tests: &[("audit-log-maxsize", Test::AtLeast(100), None)],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.21",
            true,
            Medium,
            "Ensure that the --service-account-lookup argument is set to true",
            "Without the lookup a token of a deleted service account stays valid until it expires.",
            "Remove --service-account-lookup or set it to true."
        ),
        tests: &[("service-account-lookup", Test::Eq("true"), Some("true"))],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.22",
            true,
            Medium,
            "Ensure that the --service-account-key-file argument is set",
            "The key file is what lets service account keys be rotated.",
            "Set --service-account-key-file to the public key(s) that verify service account tokens."
        ),
        tests: &[("service-account-key-file", Test::Set, None)],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.23",
            true,
            High,
            "Ensure that the --etcd-certfile and --etcd-keyfile arguments are set",
            "etcd holds every secret of the cluster; the API server must authenticate to it with a client certificate.",
            "Set --etcd-certfile and --etcd-keyfile to the API server's etcd client certificate and key."
        ),
        tests: &[
            ("etcd-certfile", Test::Set, None),
            ("etcd-keyfile", Test::Set, None),
        ],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.24",
            true,
            Medium,
            "Ensure that the --tls-cert-file and --tls-private-key-file arguments are set",
            "The API server must serve TLS with a certificate clients can verify.",
            "Set --tls-cert-file and --tls-private-key-file."
        ),
        tests: &[
            ("tls-cert-file", Test::Set, None),
            ("tls-private-key-file", Test::Set, None),
        ],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.25",
            true,
            High,
            "Ensure that the --client-ca-file argument is set",
            "Without a client CA the API server cannot authenticate clients (kubelets, controllers, admins) by certificate.",
            "Set --client-ca-file to the cluster CA."
        ),
        tests: &[("client-ca-file", Test::Set, None)],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.26",
            true,
            High,
            "Ensure that the --etcd-cafile argument is set",
            "Without it the API server does not verify etcd's certificate.",
            "Set --etcd-cafile to the etcd CA."
        ),
        tests: &[("etcd-cafile", Test::Set, None)],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.27",
            false,
            High,
            "Ensure that the --encryption-provider-config argument is set",
            "Without encryption at rest, Secrets lie in etcd and its backups in clear text.",
            "Write an EncryptionConfiguration (aescbc, kms or secretbox first) and set --encryption-provider-config to it."
        ),
        tests: &[("encryption-provider-config", Test::Set, None)],
    },
    FlagItem {
        item: cis!(
            S12,
            "1.2.29",
            false,
            Low,
            "Ensure that the API Server only makes use of Strong Cryptographic Ciphers",
            "Weak cipher suites let a network attacker downgrade or break TLS.",
            "Set --tls-cipher-suites to a subset of the benchmark's strong suites."
        ),
        tests: &[("tls-cipher-suites", Test::Within(APISERVER_CIPHERS), None)],
    },
];

static CONTROLLER_MANAGER: &[FlagItem] = &[
    FlagItem {
        item: cis!(
            S13,
            "1.3.1",
            false,
            Low,
            "Ensure that the --terminated-pod-gc-threshold argument is set as appropriate",
            "Terminated pods pile up (12500 by default) and cost etcd and API server resources.",
            "Set --terminated-pod-gc-threshold to an appropriate number, for example 10."
        ),
        tests: &[("terminated-pod-gc-threshold", Test::Set, None)],
    },
    FlagItem {
        item: cis!(
            S13,
            "1.3.2",
            true,
            Low,
            "Ensure that the --profiling argument is set to false",
            "The profiling endpoints expose internals and are on by default.",
            "Set --profiling=false in the controller manager pod specification."
        ),
        tests: &[("profiling", Test::Eq("false"), Some("true"))],
    },
    FlagItem {
        item: cis!(
            S13,
            "1.3.3",
            true,
            Medium,
            "Ensure that the --use-service-account-credentials argument is set to true",
            "Each controller then runs with its own least-privilege service account instead of the manager's broad credentials.",
            "Set --use-service-account-credentials=true."
        ),
        tests: &[(
            "use-service-account-credentials",
            Test::Eq("true"),
            Some("false"),
        )],
    },
    FlagItem {
        item: cis!(
            S13,
            "1.3.4",
            true,
            Medium,
            "Ensure that the --service-account-private-key-file argument is set",
            "The private key signs service account tokens; setting it explicitly allows key rotation.",
            "Set --service-account-private-key-file to the service account signing key."
        ),
        tests: &[("service-account-private-key-file", Test::Set, None)],
    },
    FlagItem {
        item: cis!(
            S13,
            "1.3.5",
            true,
            Medium,
            "Ensure that the --root-ca-file argument is set",
            "Pods verify the API server with the root CA placed in their service account volume.",
            "Set --root-ca-file to the cluster CA bundle."
        ),
        tests: &[("root-ca-file", Test::Set, None)],
    },
    FlagItem {
        item: cis!(
            S13,
            "1.3.6",
            true,
            Low,
            "Ensure that the RotateKubeletServerCertificate argument is set to true",
            "Kubelet serving certificates must be rotated before they expire.",
            "Remove RotateKubeletServerCertificate=false from --feature-gates."
        ),
        tests: &[(
            "feature-gates",
            Test::NotHave("RotateKubeletServerCertificate=false"),
            None,
        )],
    },
    FlagItem {
        item: cis!(
            S13,
            "1.3.7",
            true,
            Medium,
            "Ensure that the --bind-address argument is set to 127.0.0.1",
            "The controller manager's secure port (10257) serves metrics and health; it need not listen beyond the node. Its default is 0.0.0.0.",
            "Set --bind-address=127.0.0.1."
        ),
        tests: &[("bind-address", Test::Eq("127.0.0.1"), Some("0.0.0.0"))],
    },
];

static SCHEDULER: &[FlagItem] = &[
    FlagItem {
        item: cis!(
            S14,
            "1.4.1",
            true,
            Low,
            "Ensure that the --profiling argument is set to false",
            "The profiling endpoints expose internals and are on by default.",
            "Set --profiling=false in the scheduler pod specification."
        ),
        tests: &[("profiling", Test::Eq("false"), Some("true"))],
    },
    FlagItem {
        item: cis!(
            S14,
            "1.4.2",
            true,
            Medium,
            "Ensure that the --bind-address argument is set to 127.0.0.1",
            "The scheduler's secure port (10259) need not listen beyond the node. Its default is 0.0.0.0.",
            "Set --bind-address=127.0.0.1."
        ),
        tests: &[("bind-address", Test::Eq("127.0.0.1"), Some("0.0.0.0"))],
    },
];

static ETCD: &[FlagItem] = &[
    FlagItem {
        item: cis!(
            S2,
            "2.1",
            true,
            High,
            "Ensure that the --cert-file and --key-file arguments are set",
            "Without them etcd serves its clients in clear text: every secret of the cluster crosses the network readable.",
            "Set --cert-file and --key-file (and serve https:// client URLs)."
        ),
        tests: &[
            ("cert-file", Test::Set, None),
            ("key-file", Test::Set, None),
        ],
    },
    FlagItem {
        item: cis!(
            S2,
            "2.2",
            true,
            Critical,
            "Ensure that the --client-cert-auth argument is set to true",
            "Without client certificate authentication anyone who reaches port 2379 reads and writes every key, secrets included.",
            "Set --client-cert-auth=true and --trusted-ca-file."
        ),
        tests: &[("client-cert-auth", Test::Eq("true"), Some("false"))],
    },
    FlagItem {
        item: cis!(
            S2,
            "2.3",
            true,
            Medium,
            "Ensure that the --auto-tls argument is not set to true",
            "Auto TLS uses self-signed certificates that clients cannot verify.",
            "Remove --auto-tls or set it to false."
        ),
        tests: &[("auto-tls", Test::Eq("false"), Some("false"))],
    },
    FlagItem {
        item: cis!(
            S2,
            "2.4",
            true,
            High,
            "Ensure that the --peer-cert-file and --peer-key-file arguments are set",
            "Without peer TLS, replication traffic (all data) crosses the network in clear text.",
            "Set --peer-cert-file and --peer-key-file."
        ),
        tests: &[
            ("peer-cert-file", Test::Set, None),
            ("peer-key-file", Test::Set, None),
        ],
    },
    FlagItem {
        item: cis!(
            S2,
            "2.5",
            true,
            High,
            "Ensure that the --peer-client-cert-auth argument is set to true",
            "Without it anyone who reaches port 2380 can join or talk to the cluster as a peer.",
            "Set --peer-client-cert-auth=true and --peer-trusted-ca-file."
        ),
        tests: &[("peer-client-cert-auth", Test::Eq("true"), Some("false"))],
    },
    FlagItem {
        item: cis!(
            S2,
            "2.6",
            true,
            Medium,
            "Ensure that the --peer-auto-tls argument is not set to true",
            "Peer auto TLS uses self-signed certificates peers cannot verify.",
            "Remove --peer-auto-tls or set it to false."
        ),
        tests: &[("peer-auto-tls", Test::Eq("false"), Some("false"))],
    },
];

static AUDIT_POLICY: FlagItem = FlagItem {
    item: cis!(
        S32,
        "3.2.1",
        false,
        Medium,
        "Ensure that a minimal audit policy is created",
        "The audit log records only what the audit policy selects; without a policy nothing is recorded.",
        "Write an audit Policy and set --audit-policy-file to it."
    ),
    tests: &[("audit-policy-file", Test::Set, None)],
};

static AUTHZ_NOT_ALWAYS_ALLOW: Item = cis!(
    S12,
    "1.2.6",
    true,
    Critical,
    "Ensure that the --authorization-mode argument is not set to AlwaysAllow",
    "AlwaysAllow lets every authenticated (and, with anonymous auth, every) request do anything. It is the default when no mode is given.",
    "Set --authorization-mode=Node,RBAC (or an --authorization-config without AlwaysAllow)."
);
static AUTHZ_NODE: Item = cis!(
    S12,
    "1.2.7",
    true,
    High,
    "Ensure that the --authorization-mode argument includes Node",
    "The Node authorizer limits each kubelet to the objects of its own pods.",
    "Include Node in --authorization-mode (for example Node,RBAC)."
);
static AUTHZ_RBAC: Item = cis!(
    S12,
    "1.2.8",
    true,
    High,
    "Ensure that the --authorization-mode argument includes RBAC",
    "RBAC is how least privilege is expressed for users and service accounts.",
    "Include RBAC in --authorization-mode (for example Node,RBAC)."
);
static ENCRYPTION_PROVIDERS: Item = cis!(
    S12,
    "1.2.28",
    false,
    High,
    "Ensure that encryption providers are appropriately configured",
    "The first provider of a resource encrypts new writes: identity (or a weak provider) first leaves Secrets in clear text.",
    "In the EncryptionConfiguration, list aescbc, kms or secretbox first for secrets."
);
static ETCD_UNIQUE_CA: Item = cis!(
    S2,
    "2.7",
    false,
    Medium,
    "Ensure that a unique Certificate Authority is used for etcd",
    "If etcd trusts the cluster CA, every client certificate the cluster issues (kubelets, users) can read etcd.",
    "Create a dedicated CA for etcd and set --trusted-ca-file to it (kubeadm does: /etc/kubernetes/pki/etcd/ca.crt)."
);

macro_rules! file_item {
    ($id:literal, $section:expr, $automated:literal, $severity:ident, $title:literal, $fix:literal) => {
        cis!($section, $id, $automated, $severity, $title,
            "Whoever can write this file changes how the component runs; whoever can read a credential in it acts as the component.",
            $fix)
    };
}

static F_1_1_1: Item = file_item!(
    "1.1.1",
    S11,
    true,
    Medium,
    "Ensure that the API server pod specification file permissions are set to 600 or more restrictive",
    "chmod 600 /etc/kubernetes/manifests/kube-apiserver.yaml"
);
static F_1_1_2: Item = file_item!(
    "1.1.2",
    S11,
    true,
    Medium,
    "Ensure that the API server pod specification file ownership is set to root:root",
    "chown root:root /etc/kubernetes/manifests/kube-apiserver.yaml"
);
static F_1_1_3: Item = file_item!(
    "1.1.3",
    S11,
    true,
    Medium,
    "Ensure that the controller manager pod specification file permissions are set to 600 or more restrictive",
    "chmod 600 /etc/kubernetes/manifests/kube-controller-manager.yaml"
);
static F_1_1_4: Item = file_item!(
    "1.1.4",
    S11,
    true,
    Medium,
    "Ensure that the controller manager pod specification file ownership is set to root:root",
    "chown root:root /etc/kubernetes/manifests/kube-controller-manager.yaml"
);
static F_1_1_5: Item = file_item!(
    "1.1.5",
    S11,
    true,
    Medium,
    "Ensure that the scheduler pod specification file permissions are set to 600 or more restrictive",
    "chmod 600 /etc/kubernetes/manifests/kube-scheduler.yaml"
);
static F_1_1_6: Item = file_item!(
    "1.1.6",
    S11,
    true,
    Medium,
    "Ensure that the scheduler pod specification file ownership is set to root:root",
    "chown root:root /etc/kubernetes/manifests/kube-scheduler.yaml"
);
static F_1_1_7: Item = file_item!(
    "1.1.7",
    S11,
    true,
    Medium,
    "Ensure that the etcd pod specification file permissions are set to 600 or more restrictive",
    "chmod 600 /etc/kubernetes/manifests/etcd.yaml"
);
static F_1_1_8: Item = file_item!(
    "1.1.8",
    S11,
    true,
    Medium,
    "Ensure that the etcd pod specification file ownership is set to root:root",
    "chown root:root /etc/kubernetes/manifests/etcd.yaml"
);
static F_1_1_9: Item = file_item!(
    "1.1.9",
    S11,
    false,
    Low,
    "Ensure that the Container Network Interface file permissions are set to 600 or more restrictive",
    "chmod 600 /etc/cni/net.d/* /var/lib/cni/networks/*/*"
);
static F_1_1_10: Item = file_item!(
    "1.1.10",
    S11,
    false,
    Low,
    "Ensure that the Container Network Interface file ownership is set to root:root",
    "chown root:root /etc/cni/net.d/* /var/lib/cni/networks/*/*"
);
static F_1_1_11: Item = file_item!(
    "1.1.11",
    S11,
    true,
    Medium,
    "Ensure that the etcd data directory permissions are set to 700 or more restrictive",
    "chmod 700 on the etcd data directory (--data-dir, /var/lib/etcd with kubeadm)"
);
static F_1_1_12: Item = file_item!(
    "1.1.12",
    S11,
    true,
    Low,
    "Ensure that the etcd data directory ownership is set to etcd:etcd",
    "Create an etcd user and group, run etcd as that user and chown etcd:etcd the data directory"
);
static F_1_1_13: Item = file_item!(
    "1.1.13",
    S11,
    true,
    High,
    "Ensure that the default administrative credential file permissions are set to 600",
    "chmod 600 /etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf"
);
static F_1_1_14: Item = file_item!(
    "1.1.14",
    S11,
    true,
    High,
    "Ensure that the default administrative credential file ownership is set to root:root",
    "chown root:root /etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf"
);
static F_1_1_15: Item = file_item!(
    "1.1.15",
    S11,
    true,
    Medium,
    "Ensure that the scheduler.conf file permissions are set to 600 or more restrictive",
    "chmod 600 /etc/kubernetes/scheduler.conf"
);
static F_1_1_16: Item = file_item!(
    "1.1.16",
    S11,
    true,
    Medium,
    "Ensure that the scheduler.conf file ownership is set to root:root",
    "chown root:root /etc/kubernetes/scheduler.conf"
);
static F_1_1_17: Item = file_item!(
    "1.1.17",
    S11,
    true,
    Medium,
    "Ensure that the controller-manager.conf file permissions are set to 600 or more restrictive",
    "chmod 600 /etc/kubernetes/controller-manager.conf"
);
static F_1_1_18: Item = file_item!(
    "1.1.18",
    S11,
    true,
    Medium,
    "Ensure that the controller-manager.conf file ownership is set to root:root",
    "chown root:root /etc/kubernetes/controller-manager.conf"
);
static F_1_1_19: Item = file_item!(
    "1.1.19",
    S11,
    true,
    High,
    "Ensure that the Kubernetes PKI directory and file ownership is set to root:root",
    "chown -R root:root /etc/kubernetes/pki/"
);
static F_1_1_20: Item = file_item!(
    "1.1.20",
    S11,
    false,
    Low,
    "Ensure that the Kubernetes PKI certificate file permissions are set to 600 or more restrictive",
    "chmod 600 /etc/kubernetes/pki/*.crt /etc/kubernetes/pki/etcd/*.crt"
);
static F_1_1_21: Item = file_item!(
    "1.1.21",
    S11,
    false,
    High,
    "Ensure that the Kubernetes PKI key file permissions are set to 600",
    "chmod 600 /etc/kubernetes/pki/*.key /etc/kubernetes/pki/etcd/*.key"
);
static F_4_1_1: Item = file_item!(
    "4.1.1",
    S41,
    true,
    Medium,
    "Ensure that the kubelet service file permissions are set to 600 or more restrictive",
    "chmod 600 on the kubelet unit's drop-ins (/etc/systemd/system/kubelet.service.d/10-kubeadm.conf)"
);
static F_4_1_2: Item = file_item!(
    "4.1.2",
    S41,
    true,
    Medium,
    "Ensure that the kubelet service file ownership is set to root:root",
    "chown root:root on the kubelet unit's drop-ins"
);
static F_4_1_3: Item = file_item!(
    "4.1.3",
    S41,
    false,
    Medium,
    "If proxy kubeconfig file exists ensure permissions are set to 600 or more restrictive",
    "chmod 600 on the kube-proxy kubeconfig"
);
static F_4_1_4: Item = file_item!(
    "4.1.4",
    S41,
    false,
    Medium,
    "If proxy kubeconfig file exists ensure ownership is set to root:root",
    "chown root:root on the kube-proxy kubeconfig"
);
static F_4_1_5: Item = file_item!(
    "4.1.5",
    S41,
    true,
    High,
    "Ensure that the --kubeconfig kubelet.conf file permissions are set to 600 or more restrictive",
    "chmod 600 /etc/kubernetes/kubelet.conf"
);
static F_4_1_6: Item = file_item!(
    "4.1.6",
    S41,
    true,
    High,
    "Ensure that the --kubeconfig kubelet.conf file ownership is set to root:root",
    "chown root:root /etc/kubernetes/kubelet.conf"
);
static F_4_1_7: Item = file_item!(
    "4.1.7",
    S41,
    false,
    Low,
    "Ensure that the certificate authorities file permissions are set to 600 or more restrictive",
    "chmod 600 on the kubelet's --client-ca-file"
);
static F_4_1_8: Item = file_item!(
    "4.1.8",
    S41,
    false,
    Low,
    "Ensure that the client certificate authorities file ownership is set to root:root",
    "chown root:root on the kubelet's --client-ca-file"
);
static F_4_1_9: Item = file_item!(
    "4.1.9",
    S41,
    true,
    Medium,
    "If the kubelet config.yaml configuration file is being used validate permissions set to 600 or more restrictive",
    "chmod 600 /var/lib/kubelet/config.yaml"
);
static F_4_1_10: Item = file_item!(
    "4.1.10",
    S41,
    true,
    Medium,
    "If the kubelet config.yaml configuration file is being used validate file ownership is set to root:root",
    "chown root:root /var/lib/kubelet/config.yaml"
);

const fn setting(
    flag: &'static str,
    path: &'static [&'static str],
    config_default: Option<&'static str>,
    flag_default: Option<&'static str>,
) -> Setting {
    Setting {
        flag,
        path,
        config_default,
        flag_default,
    }
}

static KUBELET: &[KubeletItem] = &[
    KubeletItem {
        item: cis!(
            S42,
            "4.2.1",
            true,
            Critical,
            "Ensure that the --anonymous-auth argument is set to false",
            "An anonymous kubelet API lets anyone who reaches port 10250 list pods and, with AlwaysAllow, exec into them.",
            "Set authentication.anonymous.enabled: false in the kubelet config (or --anonymous-auth=false) and restart the kubelet."
        ),
        tests: &[(
            setting(
                "anonymous-auth",
                &["authentication", "anonymous", "enabled"],
                Some("false"),
                Some("true"),
            ),
            Test::Eq("false"),
        )],
    },
    KubeletItem {
        item: cis!(
            S42,
            "4.2.2",
            true,
            Critical,
            "Ensure that the --authorization-mode argument is not set to AlwaysAllow",
            "AlwaysAllow authorizes every request to the kubelet API: exec, logs, pod listing.",
            "Set authorization.mode: Webhook in the kubelet config (or --authorization-mode=Webhook) and restart the kubelet."
        ),
        tests: &[(
            setting(
                "authorization-mode",
                &["authorization", "mode"],
                Some("Webhook"),
                Some("AlwaysAllow"),
            ),
            Test::NotHave("AlwaysAllow"),
        )],
    },
    KubeletItem {
        item: cis!(
            S42,
            "4.2.3",
            true,
            High,
            "Ensure that the --client-ca-file argument is set",
            "Without a client CA the kubelet cannot authenticate the API server's client certificate.",
            "Set authentication.x509.clientCAFile in the kubelet config (or --client-ca-file)."
        ),
        tests: &[(
            setting(
                "client-ca-file",
                &["authentication", "x509", "clientCAFile"],
                None,
                None,
            ),
            Test::Set,
        )],
    },
    KubeletItem {
        item: cis!(
            S42,
            "4.2.4",
            false,
            High,
            "Verify that the --read-only-port argument is set to 0",
            "The read-only port 10255 serves pod specs and metrics without any authentication.",
            "Set readOnlyPort: 0 in the kubelet config (or --read-only-port=0)."
        ),
        tests: &[(
            setting(
                "read-only-port",
                &["readOnlyPort"],
                Some("0"),
                Some("10255"),
            ),
            Test::Eq("0"),
        )],
    },
    KubeletItem {
        item: cis!(
            S42,
            "4.2.5",
            false,
            Low,
            "Ensure that the --streaming-connection-idle-timeout argument is not set to 0",
            "Streaming connections (exec, attach, port-forward) that never time out can exhaust the node.",
            "Set streamingConnectionIdleTimeout to a non-zero duration such as 5m."
        ),
        tests: &[(
            setting(
                "streaming-connection-idle-timeout",
                &["streamingConnectionIdleTimeout"],
                Some("4h0m0s"),
                Some("4h0m0s"),
            ),
            Test::NotZero,
        )],
    },
    KubeletItem {
        item: cis!(
            S42,
            "4.2.6",
            true,
            Low,
            "Ensure that the --make-iptables-util-chains argument is set to true",
            "The kubelet keeps its iptables chains consistent with pod networking only when it manages them.",
            "Set makeIPTablesUtilChains: true (the default) in the kubelet config."
        ),
        tests: &[(
            setting(
                "make-iptables-util-chains",
                &["makeIPTablesUtilChains"],
                Some("true"),
                Some("true"),
            ),
            Test::Eq("true"),
        )],
    },
    KubeletItem {
        item: cis!(
            S42,
            "v1.8/4.2.6",
            true,
            Medium,
            "Ensure that the --protect-kernel-defaults argument is set to true (CIS v1.8 4.2.6)",
            "With it the kubelet refuses to start when kernel tunables differ from what it needs, instead of changing them; v1.9 dropped the item, many hardening guides keep it.",
            "Set protectKernelDefaults: true in the kubelet config after setting the kernel parameters the kubelet expects."
        ),
        tests: &[(
            setting(
                "protect-kernel-defaults",
                &["protectKernelDefaults"],
                Some("false"),
                Some("false"),
            ),
            Test::Eq("true"),
        )],
    },
    KubeletItem {
        item: cis!(
            S42,
            "4.2.7",
            false,
            Low,
            "Ensure that the --hostname-override argument is not set",
            "An overridden hostname can break TLS between the API server and the kubelet.",
            "Remove --hostname-override from the kubelet's command line."
        ),
        tests: &[(setting("hostname-override", &[], None, None), Test::Unset)],
    },
    KubeletItem {
        item: cis!(
            S42,
            "4.2.9",
            false,
            Low,
            "Ensure that the --tls-cert-file and --tls-private-key-file arguments are set",
            "Without them the kubelet serves a self-signed certificate the API server cannot verify.",
            "Set tlsCertFile and tlsPrivateKeyFile (or serverTLSBootstrap: true with approved CSRs)."
        ),
        tests: &[
            (
                setting("tls-cert-file", &["tlsCertFile"], None, None),
                Test::Set,
            ),
            (
                setting("tls-private-key-file", &["tlsPrivateKeyFile"], None, None),
                Test::Set,
            ),
        ],
    },
    KubeletItem {
        item: cis!(
            S42,
            "4.2.10",
            true,
            Medium,
            "Ensure that the --rotate-certificates argument is not set to false",
            "Client certificates that are not rotated expire and break the node, or stay valid too long.",
            "Set rotateCertificates: true in the kubelet config (or remove --rotate-certificates=false)."
        ),
        tests: &[(
            setting("rotate-certificates", &["rotateCertificates"], None, None),
            Test::NotHave("false"),
        )],
    },
    KubeletItem {
        item: cis!(
            S42,
            "4.2.12",
            false,
            Low,
            "Ensure that the Kubelet only makes use of Strong Cryptographic Ciphers",
            "Weak cipher suites let a network attacker downgrade or break TLS to the kubelet.",
            "Set tlsCipherSuites to a subset of the benchmark's strong suites."
        ),
        tests: &[(
            setting("tls-cipher-suites", &["tlsCipherSuites"], None, None),
            Test::Within(KUBELET_CIPHERS),
        )],
    },
    KubeletItem {
        item: cis!(
            S42,
            "4.2.13",
            false,
            Low,
            "Ensure that a limit is set on pod PIDs",
            "Without a PID limit one pod can fork-bomb the node.",
            "Set podPidsLimit (or --pod-max-pids) to a positive number suited to the workloads."
        ),
        tests: &[(
            setting("pod-max-pids", &["podPidsLimit"], Some("-1"), Some("-1")),
            Test::AtLeast(1),
        )],
    },
];

static ROTATE_SERVER_CERT: Item = cis!(
    S42,
    "4.2.11",
    false,
    Low,
    "Verify that the RotateKubeletServerCertificate argument is set to true",
    "Serving certificates must be rotated before they expire.",
    "Remove RotateKubeletServerCertificate=false from the kubelet's feature gates."
);

struct Audit {
    fs: NodeFs,
    items: Vec<&'static Item>,
    results: Vec<CheckResult>,
    skipped: Vec<Skipped>,
    problems: Vec<String>,
}

impl Audit {
    fn add(&mut self, item: &'static Item, result: CheckResult) {
        self.items.push(item);
        self.results.push(result);
    }

    fn skip(&mut self, target: &str, reason: String) {
        self.skipped.push(Skipped {
            target: target.to_string(),
            reason,
        });
    }

    /// Permission bits beyond `max` on any of `files` (absent files are left out).
    fn permissions(&mut self, item: &'static Item, files: &[String], max: u32, absent: Absent) {
        let mut evidence = Vec::new();
        let mut bad = Vec::new();
        for file in files {
            if let Ok(stat) = self.fs.stat(file) {
                if stat.mode & !max != 0 {
                    bad.push(format!("{file} is {:03o}", stat.mode));
                }
                evidence.push(Evidence {
                    location: file.clone(),
                    line: None,
                    key: "mode".into(),
                    value: Some(format!("{:03o}", stat.mode)),
                });
            }
        }
        let result = self.verdict(
            item,
            evidence,
            bad,
            files,
            absent,
            &format!("{max:03o} or more restrictive"),
        );
        self.add(item, result);
    }

    /// An owner other than `want` (`user:group`) on any of `files`.
    fn ownership(&mut self, item: &'static Item, files: &[String], want: &str, absent: Absent) {
        let mut evidence = Vec::new();
        let mut bad = Vec::new();
        for file in files {
            if let Ok(stat) = self.fs.stat(file) {
                let owner = self.fs.owner(&stat);
                if owner != want {
                    bad.push(format!("{file} is owned by {owner}"));
                }
                evidence.push(Evidence {
                    location: file.clone(),
                    line: None,
                    key: "owner".into(),
                    value: Some(owner),
                });
            }
        }
        let result = self.verdict(item, evidence, bad, files, absent, want);
        self.add(item, result);
    }

    fn verdict(
        &self,
        item: &'static Item,
        evidence: Vec<Evidence>,
        mut bad: Vec<String>,
        files: &[String],
        absent: Absent,
        want: &str,
    ) -> CheckResult {
        if evidence.is_empty() {
            let names = if files.is_empty() {
                "no such file".to_string()
            } else {
                files.join(", ")
            };
            return match absent {
                Absent::Pass => item.result(Status::Pass, format!("not present ({names})"), vec![]),
                Absent::Warn => item.result(
                    Status::Warn,
                    format!("{names}: not found, so it cannot be checked"),
                    vec![],
                ),
            };
        }
        if bad.is_empty() {
            return item.judge(
                true,
                format!("{} checked, all {want}", evidence.len()),
                evidence,
            );
        }
        let total = bad.len();
        bad.truncate(5);
        let more = if total > 5 {
            format!(" and {} more", total - 5)
        } else {
            String::new()
        };
        let evidence = evidence
            .into_iter()
            .filter(|e| {
                bad.iter()
                    .any(|b| b.starts_with(&format!("{} ", e.location)))
            })
            .collect();
        item.judge(
            false,
            format!("{}{more}; expected {want}", bad.join(", ")),
            evidence,
        )
    }
}

#[derive(Clone, Copy)]
enum Absent {
    /// The item only applies if the file exists.
    Pass,
    /// The file should exist; its absence is worth a look.
    Warn,
}

/// A component flag's effective value (etcd also reads `ETCD_*` environment variables).
fn component_value(c: &Component, flag: &str, default: Option<&str>) -> Value {
    let occurrences: Vec<_> = c.flags.flags.iter().filter(|f| f.name == flag).collect();
    if let Some(last) = occurrences.last() {
        let value = if LIST_FLAGS.contains(&flag) {
            c.flags.list(flag).join(",")
        } else {
            last.value.clone()
        };
        return Value {
            value: Some(value.clone()),
            evidence: Evidence {
                location: last.file.clone(),
                line: last.line,
                key: format!("--{flag}"),
                value: Some(value),
            },
        };
    }
    if c.name == "etcd" {
        let var = format!("ETCD_{}", flag.to_uppercase().replace('-', "_"));
        if let Some((_, value, line)) = c.env.iter().rev().find(|(name, _, _)| *name == var) {
            return Value {
                value: Some(value.clone()),
                evidence: Evidence {
                    location: c.file.clone(),
                    line: Some(*line),
                    key: var,
                    value: Some(value.clone()),
                },
            };
        }
    }
    Value {
        value: default.map(str::to_string),
        evidence: Evidence {
            location: c.file.clone(),
            line: None,
            key: format!("--{flag}"),
            value: default.map(|d| format!("{d} (default)")),
        },
    }
}

fn judge_all<'a>(
    item: &Item,
    checks: impl Iterator<Item = (String, Value, Test)> + 'a,
) -> CheckResult {
    let mut holds = true;
    let mut messages = Vec::new();
    let mut evidence = Vec::new();
    for (key, value, test) in checks {
        let ok = test.holds(value.value.as_deref());
        holds &= ok;
        messages.push(describe(&key, &value, test));
        evidence.push(value.evidence);
    }
    item.judge(holds, messages.join("; "), evidence)
}

fn flag_items(audit: &mut Audit, c: &Component, items: &'static [FlagItem]) {
    for fi in items {
        let result = judge_all(
            &fi.item,
            fi.tests.iter().map(|(flag, test, default)| {
                (
                    format!("--{flag}"),
                    component_value(c, flag, *default),
                    *test,
                )
            }),
        );
        audit.add(&fi.item, result);
    }
}

/// Reads a YAML file a flag names, through the pod's mounts.
fn read_yaml(audit: &mut Audit, c: &Component, path: &str) -> Option<(String, Node)> {
    let file = c.host_path(path);
    match audit.fs.read(&file) {
        Ok(text) => match parse_documents(&text, &Limits::default())
            .into_iter()
            .next()
        {
            Some(Ok(doc)) => Some((file, doc)),
            Some(Err(e)) => {
                audit.problems.push(format!("{file}:{e}: not valid YAML"));
                None
            }
            None => {
                audit.problems.push(format!("{file}: empty"));
                None
            }
        },
        Err(e) => {
            audit.problems.push(format!(
                "{file}: cannot read: {e} (named by {} in {})",
                path, c.file
            ));
            None
        }
    }
}

fn authorization(audit: &mut Audit, api: &Component) {
    let mut modes: Vec<String>;
    let evidence: Evidence;
    let config = api
        .flags
        .get("authorization-config")
        .map(|f| f.value.clone());
    if let Some(path) = config {
        let Some((file, doc)) = read_yaml(audit, api, &path) else {
            for item in [&AUTHZ_NOT_ALWAYS_ALLOW, &AUTHZ_NODE, &AUTHZ_RBAC] {
                let r = item.result(
                    Status::Warn,
                    format!("--authorization-config {path} could not be read"),
                    vec![],
                );
                audit.add(item, r);
            }
            return;
        };
        let authorizers = doc.get("authorizers").map(Node::items).unwrap_or_default();
        modes = authorizers
            .iter()
            .filter_map(|a| a.get("type").and_then(Node::as_str).map(str::to_string))
            .collect();
        evidence = Evidence {
            location: file,
            line: doc.get("authorizers").map(|n| n.pos.line),
            key: "authorizers[].type".into(),
            value: Some(modes.join(",")),
        };
    } else {
        let value = component_value(api, "authorization-mode", Some("AlwaysAllow"));
        modes = value
            .value
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .collect();
        modes.retain(|m| !m.is_empty());
        evidence = value.evidence;
    }
    let shown = modes.join(",");
    let has = |m: &str| modes.iter().any(|x| x == m);
    for (item, ok, expect) in [
        (
            &AUTHZ_NOT_ALWAYS_ALLOW,
            !has("AlwaysAllow"),
            "not to include AlwaysAllow",
        ),
        (&AUTHZ_NODE, has("Node"), "to include Node"),
        (&AUTHZ_RBAC, has("RBAC"), "to include RBAC"),
    ] {
        let r = item.judge(
            ok,
            format!("authorization modes are {shown}; expected {expect}"),
            vec![evidence.clone()],
        );
        audit.add(item, r);
    }
}

/// 1.2.28: the first provider of the entry that covers secrets must encrypt (aescbc, kms,
/// secretbox); identity first means new writes are stored in clear text.
fn encryption_providers(audit: &mut Audit, api: &Component) {
    let item = &ENCRYPTION_PROVIDERS;
    let Some(path) = api
        .flags
        .get("encryption-provider-config")
        .map(|f| f.value.clone())
    else {
        let r = item.judge(
            false,
            "--encryption-provider-config is not set: Secrets are stored unencrypted".into(),
            vec![],
        );
        audit.add(item, r);
        return;
    };
    let Some((file, doc)) = read_yaml(audit, api, &path) else {
        let r = item.result(
            Status::Warn,
            format!("{path} could not be read (see problems)"),
            vec![],
        );
        audit.add(item, r);
        return;
    };
    let covers_secrets = |entry: &Node| {
        entry
            .get("resources")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .any(|r| matches!(r.as_str(), Some("secrets" | "*.*" | "*.")))
    };
    let entry = doc
        .get("resources")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .find(|e| covers_secrets(e));
    let Some(entry) = entry else {
        let r = item.judge(
            false,
            format!("{file}: no resources entry covers secrets"),
            vec![Evidence {
                location: file.clone(),
                line: Some(doc.pos.line),
                key: "resources[].resources".into(),
                value: None,
            }],
        );
        audit.add(item, r);
        return;
    };
    let providers: Vec<(String, u32)> = entry
        .get("providers")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| {
            p.entries()
                .first()
                .map(|(k, _)| (k.text.clone(), k.pos.line))
        })
        .collect();
    let names: Vec<&str> = providers.iter().map(|(n, _)| n.as_str()).collect();
    let first = providers.first();
    let ok = first.is_some_and(|(n, _)| matches!(n.as_str(), "aescbc" | "kms" | "secretbox"));
    let message = match first {
        None => "no providers for secrets".to_string(),
        Some((n, _)) if ok => format!(
            "secrets are encrypted with {n} (providers: {})",
            names.join(", ")
        ),
        Some((n, _)) => format!(
            "the first provider for secrets is {n}, so new Secrets are {}; expected aescbc, kms or secretbox first (providers: {})",
            if n == "identity" {
                "written unencrypted"
            } else {
                "not encrypted with a benchmark provider"
            },
            names.join(", ")
        ),
    };
    let r = item.judge(
        ok,
        message,
        vec![Evidence {
            location: file,
            line: first.map(|(_, l)| *l),
            key: "providers[0]".into(),
            value: first.map(|(n, _)| n.clone()),
        }],
    );
    audit.add(item, r);
}

/// 2.7: etcd's client CA must not be the CA the API server trusts for clients.
fn etcd_unique_ca(audit: &mut Audit, etcd: &Component, api: Option<&Component>) {
    let item = &ETCD_UNIQUE_CA;
    let ca = component_value(etcd, "trusted-ca-file", None);
    let Some(etcd_ca) = ca.value.clone() else {
        let r = item.judge(
            false,
            "--trusted-ca-file is not set".into(),
            vec![ca.evidence],
        );
        audit.add(item, r);
        return;
    };
    let mut evidence = vec![ca.evidence];
    let shared = api.and_then(|api| {
        let client_ca = component_value(api, "client-ca-file", None);
        let same =
            client_ca.value.as_deref().map(|p| api.host_path(p)) == Some(etcd.host_path(&etcd_ca));
        evidence.push(client_ca.evidence);
        same.then_some(())
    });
    let r = if shared.is_some() {
        item.judge(
            false,
            format!("etcd trusts {etcd_ca}, the same CA the API server trusts for all clients"),
            evidence,
        )
    } else {
        item.judge(true, format!("etcd trusts its own CA {etcd_ca}"), evidence)
    };
    audit.add(item, r);
}

fn kubelet_items(audit: &mut Audit, kubelet: &Kubelet) {
    for ki in KUBELET {
        let result = judge_all(
            &ki.item,
            ki.tests.iter().map(|(setting, test)| {
                let value = if setting.path.is_empty() {
                    match kubelet.flags.get(setting.flag) {
                        Some(f) => Value {
                            value: Some(f.value.clone()),
                            evidence: Evidence {
                                location: f.file.clone(),
                                line: f.line,
                                key: format!("--{}", setting.flag),
                                value: Some(f.value.clone()),
                            },
                        },
                        None => Value {
                            value: None,
                            evidence: Evidence {
                                location: kubelet.unit_files.last().cloned().unwrap_or_default(),
                                line: None,
                                key: format!("--{}", setting.flag),
                                value: None,
                            },
                        },
                    }
                } else {
                    kubelet.value(setting)
                };
                (value.evidence.key.clone(), value, *test)
            }),
        );
        audit.add(&ki.item, result);
        if ki.item.meta.id == "4.2.10" {
            let item = &ROTATE_SERVER_CERT;
            let r = match kubelet.feature_gate("RotateKubeletServerCertificate") {
                Some(v) => {
                    let on = !v
                        .value
                        .as_deref()
                        .is_some_and(|v| v.eq_ignore_ascii_case("false"));
                    item.judge(
                        on,
                        format!(
                            "RotateKubeletServerCertificate is {}",
                            v.value.as_deref().unwrap_or("")
                        ),
                        vec![v.evidence],
                    )
                }
                None => item.judge(
                    true,
                    "RotateKubeletServerCertificate is not set (on by default since 1.12)".into(),
                    vec![],
                ),
            };
            audit.add(item, r);
        }
    }
}

pub(super) fn run(root: &Path) -> Report {
    let mut audit = Audit {
        fs: NodeFs::new(root),
        items: Vec::new(),
        results: Vec::new(),
        skipped: Vec::new(),
        problems: Vec::new(),
    };
    let kubelet = Kubelet::load(&audit.fs, &mut audit.problems);
    let manifest_dir = kubelet
        .as_ref()
        .and_then(Kubelet::static_pod_path)
        .unwrap_or_else(|| "/etc/kubernetes/manifests".to_string());
    let mut components: BTreeMap<&'static str, Component> = BTreeMap::new();
    for file in audit.fs.list(&manifest_dir) {
        if !file.ends_with(".yaml")
            && !file.ends_with(".yml")
            && !file.ends_with(".json")
            && !file.ends_with(".manifest")
        {
            continue;
        }
        let text = match audit.fs.read(&file) {
            Ok(text) => text,
            Err(e) => {
                audit.problems.push(format!("{file}: cannot read: {e}"));
                continue;
            }
        };
        match pods::parse(&text, &file) {
            Ok(Some(c)) => {
                if let Some(first) = components.get(c.name) {
                    audit.problems.push(format!(
                        "{file}: a second {} manifest (the first is {}); only the first is audited",
                        c.name, first.file
                    ));
                } else {
                    components.insert(c.name, c);
                }
            }
            Ok(None) => {}
            Err(e) => audit.problems.push(format!("{file}: {e}")),
        }
    }
    control_plane(&mut audit, &components, &manifest_dir);
    match &kubelet {
        Some(kubelet) => worker(&mut audit, kubelet),
        None => audit.skip(
            "4 Worker Nodes",
            "no kubelet unit (kubelet.service or kubelet.service.d drop-ins) under /etc, /run, /usr/lib or /lib systemd directories".into(),
        ),
    }
    Report::new(
        "node",
        Some(BENCHMARK),
        vec![root.display().to_string()],
        audit.items,
        audit.results,
        audit.skipped,
        audit.problems,
    )
}

fn control_plane(audit: &mut Audit, components: &BTreeMap<&'static str, Component>, dir: &str) {
    let api = components.get("kube-apiserver");
    let cm = components.get("kube-controller-manager");
    let sched = components.get("kube-scheduler");
    let etcd = components.get("etcd");
    if components.is_empty() {
        audit.skip(
            "1, 2, 3.2 (control plane, etcd, logging)",
            format!(
                "no static pod manifest for kube-apiserver, kube-controller-manager, kube-scheduler or etcd in {dir}: not a control-plane node"
            ),
        );
        return;
    }
    let one = |c: Option<&Component>| c.map(|c| vec![c.file.clone()]).unwrap_or_default();
    for (component, perm, own) in [
        (api, &F_1_1_1, &F_1_1_2),
        (cm, &F_1_1_3, &F_1_1_4),
        (sched, &F_1_1_5, &F_1_1_6),
        (etcd, &F_1_1_7, &F_1_1_8),
    ] {
        if component.is_some() {
            audit.permissions(perm, &one(component), 0o600, Absent::Warn);
            audit.ownership(own, &one(component), "root:root", Absent::Warn);
        }
    }
    let mut cni: Vec<String> = audit.fs.walk("/etc/cni/net.d");
    cni.extend(audit.fs.walk("/var/lib/cni/networks"));
    let cni: Vec<String> = cni
        .into_iter()
        .filter(|f| audit.fs.stat(f).is_ok_and(|s| !s.is_dir))
        .collect();
    audit.permissions(&F_1_1_9, &cni, 0o600, Absent::Pass);
    audit.ownership(&F_1_1_10, &cni, "root:root", Absent::Pass);
    if let Some(etcd) = etcd {
        let data_dir = component_value(etcd, "data-dir", Some("/var/lib/etcd"))
            .value
            .unwrap_or_default();
        let data_dir = vec![etcd.host_path(&data_dir)];
        audit.permissions(&F_1_1_11, &data_dir, 0o700, Absent::Warn);
        audit.ownership(&F_1_1_12, &data_dir, "etcd:etcd", Absent::Warn);
    }
    if api.is_some() {
        let admin: Vec<String> = [
            "/etc/kubernetes/admin.conf",
            "/etc/kubernetes/super-admin.conf",
        ]
        .map(String::from)
        .to_vec();
        audit.permissions(&F_1_1_13, &admin, 0o600, Absent::Warn);
        audit.ownership(&F_1_1_14, &admin, "root:root", Absent::Warn);
    }
    let kubeconfig = |c: &Component, default: &str| {
        vec![
            c.flags
                .get("kubeconfig")
                .map_or_else(|| default.to_string(), |f| c.host_path(&f.value)),
        ]
    };
    if let Some(sched) = sched {
        let files = kubeconfig(sched, "/etc/kubernetes/scheduler.conf");
        audit.permissions(&F_1_1_15, &files, 0o600, Absent::Warn);
        audit.ownership(&F_1_1_16, &files, "root:root", Absent::Warn);
    }
    if let Some(cm) = cm {
        let files = kubeconfig(cm, "/etc/kubernetes/controller-manager.conf");
        audit.permissions(&F_1_1_17, &files, 0o600, Absent::Warn);
        audit.ownership(&F_1_1_18, &files, "root:root", Absent::Warn);
    }
    let pki = audit.fs.walk("/etc/kubernetes/pki");
    if audit.fs.exists("/etc/kubernetes/pki") {
        audit.ownership(&F_1_1_19, &pki, "root:root", Absent::Warn);
        let crt: Vec<String> = pki
            .iter()
            .filter(|f| f.ends_with(".crt"))
            .cloned()
            .collect();
        let key: Vec<String> = pki
            .iter()
            .filter(|f| f.ends_with(".key"))
            .cloned()
            .collect();
        audit.permissions(&F_1_1_20, &crt, 0o600, Absent::Pass);
        audit.permissions(&F_1_1_21, &key, 0o600, Absent::Pass);
    } else {
        audit.skip("1.1.19-1.1.21", "no /etc/kubernetes/pki directory".into());
    }
    match api {
        Some(api) => {
            let (before, after) = API_SERVER.split_at(5);
            flag_items(audit, api, before);
            authorization(audit, api);
            let (before, after) = after.split_at(after.len() - 1);
            flag_items(audit, api, before);
            encryption_providers(audit, api);
            flag_items(audit, api, after);
        }
        None => audit.skip(S12, format!("no kube-apiserver manifest in {dir}")),
    }
    match cm {
        Some(cm) => flag_items(audit, cm, CONTROLLER_MANAGER),
        None => audit.skip(S13, format!("no kube-controller-manager manifest in {dir}")),
    }
    match sched {
        Some(sched) => flag_items(audit, sched, SCHEDULER),
        None => audit.skip(S14, format!("no kube-scheduler manifest in {dir}")),
    }
    match etcd {
        Some(etcd) => {
            flag_items(audit, etcd, ETCD);
            etcd_unique_ca(audit, etcd, api);
        }
        None => audit.skip(
            S2,
            format!("no etcd manifest in {dir} (an external etcd is audited on its own node)"),
        ),
    }
    if let Some(api) = api {
        flag_items(audit, api, std::slice::from_ref(&AUDIT_POLICY));
    }
}

fn worker(audit: &mut Audit, kubelet: &Kubelet) {
    let dropins: Vec<String> = kubelet
        .unit_files
        .iter()
        .filter(|f| f.contains(".service.d/"))
        .cloned()
        .collect();
    let service = if dropins.is_empty() {
        kubelet.unit_files.clone()
    } else {
        dropins
    };
    audit.permissions(&F_4_1_1, &service, 0o600, Absent::Warn);
    audit.ownership(&F_4_1_2, &service, "root:root", Absent::Warn);
    let proxy: Vec<String> = [
        "/etc/kubernetes/proxy.conf",
        "/var/lib/kube-proxy/kubeconfig.conf",
        "/var/lib/kube-proxy/kubeconfig",
    ]
    .map(String::from)
    .to_vec();
    audit.permissions(&F_4_1_3, &proxy, 0o600, Absent::Pass);
    audit.ownership(&F_4_1_4, &proxy, "root:root", Absent::Pass);
    let kubeconfig = vec![kubelet.flags.get("kubeconfig").map_or_else(
        || "/etc/kubernetes/kubelet.conf".to_string(),
        |f| f.value.clone(),
    )];
    audit.permissions(&F_4_1_5, &kubeconfig, 0o600, Absent::Warn);
    audit.ownership(&F_4_1_6, &kubeconfig, "root:root", Absent::Warn);
    let ca = kubelet.value(&setting(
        "client-ca-file",
        &["authentication", "x509", "clientCAFile"],
        None,
        None,
    ));
    let ca: Vec<String> = ca.value.into_iter().collect();
    audit.permissions(&F_4_1_7, &ca, 0o600, Absent::Warn);
    audit.ownership(&F_4_1_8, &ca, "root:root", Absent::Warn);
    match &kubelet.config_file {
        Some(file) => {
            let files = vec![file.clone()];
            audit.permissions(&F_4_1_9, &files, 0o600, Absent::Warn);
            audit.ownership(&F_4_1_10, &files, "root:root", Absent::Warn);
        }
        None => audit.skip("4.1.9-4.1.10", "the kubelet has no --config file".into()),
    }
    kubelet_items(audit, kubelet);
}
