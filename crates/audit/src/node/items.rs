//! The catalogue: every CIS Kubernetes Benchmark v1.9 item `haechi audit node` judges, with its
//! severity, why it matters and the remediation. Items that are one test on one setting are data
//! here ([`FlagItem`] for component flags, [`KubeletItem`] for kubelet settings); a new item of
//! that kind is one entry in a table below, and needs no code.

use haechi_policy::check::Reference;
use haechi_policy::{CheckMeta, Severity};

use super::kubelet::{Setting, Value};
use crate::report::Item;

const CIS: &[Reference] = &[Reference {
    name: "CIS Kubernetes Benchmark v1.9",
    url: "https://www.cisecurity.org/benchmark/kubernetes",
}];

pub(super) const S11: &str = "1.1 Control Plane Node Configuration Files";
pub(super) const S12: &str = "1.2 API Server";
pub(super) const S13: &str = "1.3 Controller Manager";
pub(super) const S14: &str = "1.4 Scheduler";
pub(super) const S2: &str = "2 etcd";
pub(super) const S32: &str = "3.2 Logging";
pub(super) const S41: &str = "4.1 Worker Node Configuration Files";
pub(super) const S42: &str = "4.2 Kubelet";

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
pub(super) enum Test {
    Set,
    Unset,
    Eq(&'static str),
    Has(&'static str),
    NotHave(&'static str),
    NotZero,
    AtLeast(i64),
    Within(&'static [&'static str]),
}

/// A value as the components compare it: Go's `strconv.ParseBool` spellings (`1`, `t`, `TRUE`)
/// become `true`/`false`, quotes are dropped, case does not matter.
fn normalize(value: &str) -> String {
    let value = value.trim().trim_matches('"');
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => "true".to_string(),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => "false".to_string(),
        other => other.to_ascii_lowercase(),
    }
}

impl Test {
    pub(super) fn holds(self, value: Option<&str>) -> bool {
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
            Test::Eq(want) => value.is_some_and(|v| normalize(v) == normalize(want)),
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

pub(super) fn describe(key: &str, value: &Value, test: Test) -> String {
    let now = match (&value.value, &value.evidence.value) {
        (_, Some(shown)) => format!("{key} is {shown}"),
        (Some(v), None) => format!("{key} is {v}"),
        (None, None) => format!("{key} is not set"),
    };
    format!("{now}; {}", test.expectation())
}

/// An item that is one or more tests on component flags (all must hold).
pub(super) struct FlagItem {
    pub(super) item: Item,
    pub(super) tests: &'static [(&'static str, Test, Option<&'static str>)],
}

/// An item that is one or more tests on kubelet settings (all must hold).
pub(super) struct KubeletItem {
    pub(super) item: Item,
    pub(super) tests: &'static [(Setting, Test)],
}

/// Flags whose occurrences add up (pflag string slices and maps).
pub(super) const LIST_FLAGS: &[&str] = &[
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

pub(super) static API_SERVER: &[FlagItem] = &[
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

pub(super) static CONTROLLER_MANAGER: &[FlagItem] = &[
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

pub(super) static SCHEDULER: &[FlagItem] = &[
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

pub(super) static ETCD: &[FlagItem] = &[
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

pub(super) static AUDIT_POLICY: FlagItem = FlagItem {
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

pub(super) static AUTHZ_NOT_ALWAYS_ALLOW: Item = cis!(
    S12,
    "1.2.6",
    true,
    Critical,
    "Ensure that the --authorization-mode argument is not set to AlwaysAllow",
    "AlwaysAllow lets every authenticated (and, with anonymous auth, every) request do anything. It is the default when no mode is given.",
    "Set --authorization-mode=Node,RBAC (or an --authorization-config without AlwaysAllow)."
);
pub(super) static AUTHZ_NODE: Item = cis!(
    S12,
    "1.2.7",
    true,
    High,
    "Ensure that the --authorization-mode argument includes Node",
    "The Node authorizer limits each kubelet to the objects of its own pods.",
    "Include Node in --authorization-mode (for example Node,RBAC)."
);
pub(super) static AUTHZ_RBAC: Item = cis!(
    S12,
    "1.2.8",
    true,
    High,
    "Ensure that the --authorization-mode argument includes RBAC",
    "RBAC is how least privilege is expressed for users and service accounts.",
    "Include RBAC in --authorization-mode (for example Node,RBAC)."
);
pub(super) static ENCRYPTION_PROVIDERS: Item = cis!(
    S12,
    "1.2.28",
    false,
    High,
    "Ensure that encryption providers are appropriately configured",
    "The first provider of a resource encrypts new writes: identity (or a weak provider) first leaves Secrets in clear text.",
    "In the EncryptionConfiguration, list aescbc, kms or secretbox first for secrets."
);
pub(super) static ETCD_UNIQUE_CA: Item = cis!(
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

pub(super) static F_1_1_1: Item = file_item!(
    "1.1.1",
    S11,
    true,
    Medium,
    "Ensure that the API server pod specification file permissions are set to 600 or more restrictive",
    "chmod 600 /etc/kubernetes/manifests/kube-apiserver.yaml"
);
pub(super) static F_1_1_2: Item = file_item!(
    "1.1.2",
    S11,
    true,
    Medium,
    "Ensure that the API server pod specification file ownership is set to root:root",
    "chown root:root /etc/kubernetes/manifests/kube-apiserver.yaml"
);
pub(super) static F_1_1_3: Item = file_item!(
    "1.1.3",
    S11,
    true,
    Medium,
    "Ensure that the controller manager pod specification file permissions are set to 600 or more restrictive",
    "chmod 600 /etc/kubernetes/manifests/kube-controller-manager.yaml"
);
pub(super) static F_1_1_4: Item = file_item!(
    "1.1.4",
    S11,
    true,
    Medium,
    "Ensure that the controller manager pod specification file ownership is set to root:root",
    "chown root:root /etc/kubernetes/manifests/kube-controller-manager.yaml"
);
pub(super) static F_1_1_5: Item = file_item!(
    "1.1.5",
    S11,
    true,
    Medium,
    "Ensure that the scheduler pod specification file permissions are set to 600 or more restrictive",
    "chmod 600 /etc/kubernetes/manifests/kube-scheduler.yaml"
);
pub(super) static F_1_1_6: Item = file_item!(
    "1.1.6",
    S11,
    true,
    Medium,
    "Ensure that the scheduler pod specification file ownership is set to root:root",
    "chown root:root /etc/kubernetes/manifests/kube-scheduler.yaml"
);
pub(super) static F_1_1_7: Item = file_item!(
    "1.1.7",
    S11,
    true,
    Medium,
    "Ensure that the etcd pod specification file permissions are set to 600 or more restrictive",
    "chmod 600 /etc/kubernetes/manifests/etcd.yaml"
);
pub(super) static F_1_1_8: Item = file_item!(
    "1.1.8",
    S11,
    true,
    Medium,
    "Ensure that the etcd pod specification file ownership is set to root:root",
    "chown root:root /etc/kubernetes/manifests/etcd.yaml"
);
pub(super) static F_1_1_9: Item = file_item!(
    "1.1.9",
    S11,
    false,
    Low,
    "Ensure that the Container Network Interface file permissions are set to 600 or more restrictive",
    "chmod 600 /etc/cni/net.d/* /var/lib/cni/networks/*/*"
);
pub(super) static F_1_1_10: Item = file_item!(
    "1.1.10",
    S11,
    false,
    Low,
    "Ensure that the Container Network Interface file ownership is set to root:root",
    "chown root:root /etc/cni/net.d/* /var/lib/cni/networks/*/*"
);
pub(super) static F_1_1_11: Item = file_item!(
    "1.1.11",
    S11,
    true,
    Medium,
    "Ensure that the etcd data directory permissions are set to 700 or more restrictive",
    "chmod 700 on the etcd data directory (--data-dir, /var/lib/etcd with kubeadm)"
);
pub(super) static F_1_1_12: Item = file_item!(
    "1.1.12",
    S11,
    true,
    Low,
    "Ensure that the etcd data directory ownership is set to etcd:etcd",
    "Create an etcd user and group, run etcd as that user and chown etcd:etcd the data directory"
);
pub(super) static F_1_1_13: Item = file_item!(
    "1.1.13",
    S11,
    true,
    High,
    "Ensure that the default administrative credential file permissions are set to 600",
    "chmod 600 /etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf"
);
pub(super) static F_1_1_14: Item = file_item!(
    "1.1.14",
    S11,
    true,
    High,
    "Ensure that the default administrative credential file ownership is set to root:root",
    "chown root:root /etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf"
);
pub(super) static F_1_1_15: Item = file_item!(
    "1.1.15",
    S11,
    true,
    Medium,
    "Ensure that the scheduler.conf file permissions are set to 600 or more restrictive",
    "chmod 600 /etc/kubernetes/scheduler.conf"
);
pub(super) static F_1_1_16: Item = file_item!(
    "1.1.16",
    S11,
    true,
    Medium,
    "Ensure that the scheduler.conf file ownership is set to root:root",
    "chown root:root /etc/kubernetes/scheduler.conf"
);
pub(super) static F_1_1_17: Item = file_item!(
    "1.1.17",
    S11,
    true,
    Medium,
    "Ensure that the controller-manager.conf file permissions are set to 600 or more restrictive",
    "chmod 600 /etc/kubernetes/controller-manager.conf"
);
pub(super) static F_1_1_18: Item = file_item!(
    "1.1.18",
    S11,
    true,
    Medium,
    "Ensure that the controller-manager.conf file ownership is set to root:root",
    "chown root:root /etc/kubernetes/controller-manager.conf"
);
pub(super) static F_1_1_19: Item = file_item!(
    "1.1.19",
    S11,
    true,
    High,
    "Ensure that the Kubernetes PKI directory and file ownership is set to root:root",
    "chown -R root:root /etc/kubernetes/pki/"
);
pub(super) static F_1_1_20: Item = file_item!(
    "1.1.20",
    S11,
    false,
    Low,
    "Ensure that the Kubernetes PKI certificate file permissions are set to 600 or more restrictive",
    "chmod 600 /etc/kubernetes/pki/*.crt /etc/kubernetes/pki/etcd/*.crt"
);
pub(super) static F_1_1_21: Item = file_item!(
    "1.1.21",
    S11,
    false,
    High,
    "Ensure that the Kubernetes PKI key file permissions are set to 600",
    "chmod 600 /etc/kubernetes/pki/*.key /etc/kubernetes/pki/etcd/*.key"
);
pub(super) static F_4_1_1: Item = file_item!(
    "4.1.1",
    S41,
    true,
    Medium,
    "Ensure that the kubelet service file permissions are set to 600 or more restrictive",
    "chmod 600 on the kubelet unit's drop-ins (/etc/systemd/system/kubelet.service.d/10-kubeadm.conf)"
);
pub(super) static F_4_1_2: Item = file_item!(
    "4.1.2",
    S41,
    true,
    Medium,
    "Ensure that the kubelet service file ownership is set to root:root",
    "chown root:root on the kubelet unit's drop-ins"
);
pub(super) static F_4_1_3: Item = file_item!(
    "4.1.3",
    S41,
    false,
    Medium,
    "If proxy kubeconfig file exists ensure permissions are set to 600 or more restrictive",
    "chmod 600 on the kube-proxy kubeconfig"
);
pub(super) static F_4_1_4: Item = file_item!(
    "4.1.4",
    S41,
    false,
    Medium,
    "If proxy kubeconfig file exists ensure ownership is set to root:root",
    "chown root:root on the kube-proxy kubeconfig"
);
pub(super) static F_4_1_5: Item = file_item!(
    "4.1.5",
    S41,
    true,
    High,
    "Ensure that the --kubeconfig kubelet.conf file permissions are set to 600 or more restrictive",
    "chmod 600 /etc/kubernetes/kubelet.conf"
);
pub(super) static F_4_1_6: Item = file_item!(
    "4.1.6",
    S41,
    true,
    High,
    "Ensure that the --kubeconfig kubelet.conf file ownership is set to root:root",
    "chown root:root /etc/kubernetes/kubelet.conf"
);
pub(super) static F_4_1_7: Item = file_item!(
    "4.1.7",
    S41,
    false,
    Low,
    "Ensure that the certificate authorities file permissions are set to 600 or more restrictive",
    "chmod 600 on the kubelet's --client-ca-file"
);
pub(super) static F_4_1_8: Item = file_item!(
    "4.1.8",
    S41,
    false,
    Low,
    "Ensure that the client certificate authorities file ownership is set to root:root",
    "chown root:root on the kubelet's --client-ca-file"
);
pub(super) static F_4_1_9: Item = file_item!(
    "4.1.9",
    S41,
    true,
    Medium,
    "If the kubelet config.yaml configuration file is being used validate permissions set to 600 or more restrictive",
    "chmod 600 /var/lib/kubelet/config.yaml"
);
pub(super) static F_4_1_10: Item = file_item!(
    "4.1.10",
    S41,
    true,
    Medium,
    "If the kubelet config.yaml configuration file is being used validate file ownership is set to root:root",
    "chown root:root /var/lib/kubelet/config.yaml"
);

pub(super) const fn setting(
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

pub(super) static KUBELET: &[KubeletItem] = &[
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

pub(super) static ROTATE_SERVER_CERT: Item = cis!(
    S42,
    "4.2.11",
    false,
    Low,
    "Verify that the RotateKubeletServerCertificate argument is set to true",
    "Serving certificates must be rotated before they expire.",
    "Remove RotateKubeletServerCertificate=false from the kubelet's feature gates."
);

/// Every item, in report order.
pub(super) fn catalogue() -> Vec<&'static Item> {
    let mut items: Vec<&'static Item> = vec![
        &F_1_1_1, &F_1_1_2, &F_1_1_3, &F_1_1_4, &F_1_1_5, &F_1_1_6, &F_1_1_7, &F_1_1_8, &F_1_1_9,
        &F_1_1_10, &F_1_1_11, &F_1_1_12, &F_1_1_13, &F_1_1_14, &F_1_1_15, &F_1_1_16, &F_1_1_17,
        &F_1_1_18, &F_1_1_19, &F_1_1_20, &F_1_1_21,
    ];
    let (before, after) = API_SERVER.split_at(5);
    let (middle, last) = after.split_at(after.len() - 1);
    items.extend(before.iter().map(|f| &f.item));
    items.extend([&AUTHZ_NOT_ALWAYS_ALLOW, &AUTHZ_NODE, &AUTHZ_RBAC]);
    items.extend(middle.iter().map(|f| &f.item));
    items.push(&ENCRYPTION_PROVIDERS);
    items.extend(last.iter().map(|f| &f.item));
    for table in [CONTROLLER_MANAGER, SCHEDULER, ETCD] {
        items.extend(table.iter().map(|f| &f.item));
    }
    items.extend([&ETCD_UNIQUE_CA, &AUDIT_POLICY.item]);
    items.extend([
        &F_4_1_1, &F_4_1_2, &F_4_1_3, &F_4_1_4, &F_4_1_5, &F_4_1_6, &F_4_1_7, &F_4_1_8, &F_4_1_9,
        &F_4_1_10,
    ]);
    for k in KUBELET {
        items.push(&k.item);
        if k.item.meta.id == "4.2.10" {
            items.push(&ROTATE_SERVER_CERT);
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::Test;

    #[test]
    fn tests_read_values_as_the_components_do() {
        assert!(Test::Eq("false").holds(Some("0")));
        assert!(Test::Eq("true").holds(Some("T")));
        assert!(Test::Eq("true").holds(Some("\"true\"")));
        assert!(!Test::Eq("true").holds(None));
        assert!(Test::NotZero.holds(Some("4h0m0s")));
        assert!(!Test::NotZero.holds(Some("0s")));
        assert!(Test::NotZero.holds(None));
        assert!(Test::AtLeast(30).holds(Some("90")));
        assert!(!Test::AtLeast(30).holds(Some("7")));
        assert!(Test::Has("Node").holds(Some("Node, RBAC")));
        assert!(!Test::Has("Node").holds(Some("NodeRestriction")));
        assert!(Test::Within(&["A", "B"]).holds(Some("A,B")));
        assert!(!Test::Within(&["A", "B"]).holds(Some("A,C")));
        assert!(!Test::Within(&["A"]).holds(None));
    }
}
