//! `haechi audit probe`: what a stranger on the network gets from a cluster's endpoints.
//!
//! Every request is a read: anonymous GETs, and etcd's range (`count_only`) and status calls.
//! Only the hosts the caller names are contacted, on the ports of each [`Service`] (overridable),
//! with a deadline per exchange and at most `concurrency` exchanges at once. TLS is spoken
//! without verifying the server and without a client certificate, and a port that does not
//! speak TLS is retried in plain HTTP, so an insecure port is found wherever it listens.

mod http;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use haechi_policy::check::Reference;
use haechi_policy::{CheckMeta, Severity};
use hyper::StatusCode;
use tokio::sync::Semaphore;
use tokio_rustls::TlsConnector;

use crate::report::{CheckResult, Evidence, Item, Report, Skipped, Status};
use http::{Failure, Response, Scheme};

/// An endpoint kind and the ports it listens on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    /// kube-apiserver: 6443 and 443 (TLS), 8080 (the removed insecure port).
    ApiServer,
    /// The kubelet API, 10250.
    Kubelet,
    /// The kubelet's read-only port, 10255.
    KubeletReadOnly,
    /// etcd's client port, 2379.
    Etcd,
    /// etcd's peer port, 2380.
    EtcdPeer,
    /// The Kubernetes Dashboard on a NodePort (30000, as kube-hunter looks for it).
    Dashboard,
    /// `/metrics` of etcd (2381), kube-proxy (10249), controller manager (10257), scheduler (10259).
    Metrics,
}

impl Service {
    /// Every service, in report order.
    pub const ALL: [Service; 7] = [
        Service::ApiServer,
        Service::Kubelet,
        Service::KubeletReadOnly,
        Service::Etcd,
        Service::EtcdPeer,
        Service::Dashboard,
        Service::Metrics,
    ];

    /// The name `--port` uses.
    pub fn name(self) -> &'static str {
        match self {
            Service::ApiServer => "apiserver",
            Service::Kubelet => "kubelet",
            Service::KubeletReadOnly => "kubelet-readonly",
            Service::Etcd => "etcd",
            Service::EtcdPeer => "etcd-peer",
            Service::Dashboard => "dashboard",
            Service::Metrics => "metrics",
        }
    }

    /// The ports probed unless overridden.
    pub fn default_ports(self) -> &'static [u16] {
        match self {
            Service::ApiServer => &[6443, 443, 8080],
            Service::Kubelet => &[10250],
            Service::KubeletReadOnly => &[10255],
            Service::Etcd => &[2379],
            Service::EtcdPeer => &[2380],
            Service::Dashboard => &[30000],
            Service::Metrics => &[2381, 10249, 10257, 10259],
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Service {
    type Err = String;
    fn from_str(s: &str) -> Result<Service, String> {
        Service::ALL
            .into_iter()
            .find(|x| x.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Service::ALL.iter().map(|s| s.name()).collect();
                format!(
                    "unknown service `{s}` (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

/// Parses a `--port` value: `SERVICE=PORT[,PORT...]`, or `SERVICE=` to skip a service.
pub fn parse_port_override(s: &str) -> Result<(Service, Vec<u16>), String> {
    let (name, ports) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected SERVICE=PORT[,PORT...], e.g. etcd=2379"))?;
    let service = name.trim().parse()?;
    let ports = ports
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("`{p}` in `{s}` is not a port number (1-65535)"))
        })
        .collect::<Result<Vec<u16>, String>>()?;
    Ok((service, ports))
}

/// How to probe.
#[derive(Debug, Clone)]
pub struct Options {
    /// Ports per service; a service missing here uses its defaults, an empty list skips it.
    pub ports: BTreeMap<Service, Vec<u16>>,
    /// Deadline for one exchange (connect, TLS, request, answer).
    pub timeout: Duration,
    /// Most exchanges in flight at once.
    pub concurrency: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            ports: BTreeMap::new(),
            timeout: Duration::from_secs(3),
            concurrency: 16,
        }
    }
}

/// Why probing could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A host that is not a host name or address.
    #[error(
        "`{0}`: give a host name or IP address (no scheme, path or port; ports are set with --port)"
    )]
    BadHost(String),
    /// No host given.
    #[error("no host to probe: name at least one")]
    NoHosts,
    /// The async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}

const KUBE_HUNTER: Reference = Reference {
    name: "kube-hunter vulnerabilities",
    url: "https://aquasecurity.github.io/kube-hunter/kbindex.html",
};

macro_rules! probe_item {
    ($id:literal, $section:literal, $severity:ident, $title:literal, $why:literal, $fix:literal, $cis:literal) => {
        Item {
            meta: CheckMeta {
                id: $id,
                title: $title,
                severity: Severity::$severity,
                pss: None,
                description: $why,
                remediation: $fix,
                references: &[
                    Reference {
                        name: $cis,
                        url: "https://www.cisecurity.org/benchmark/kubernetes",
                    },
                    KUBE_HUNTER,
                ],
            },
            section: $section,
            automated: true,
        }
    };
}

static API_VERSION: Item = probe_item!(
    "probe/apiserver-version",
    "API server",
    Low,
    "API server version disclosed to anonymous clients",
    "The exact version tells an attacker which CVEs apply. Kubernetes allows anonymous /version by default (system:public-info-viewer).",
    "Disable anonymous authentication (--anonymous-auth=false) or remove system:unauthenticated from the system:public-info-viewer binding.",
    "CIS 1.2.1"
);
static API_DISCOVERY: Item = probe_item!(
    "probe/apiserver-discovery",
    "API server",
    Medium,
    "API server discovery (/api, /apis) open to anonymous clients",
    "Anonymous discovery maps every resource and extension of the cluster; Kubernetes denies it to system:anonymous by default, so a binding was added.",
    "Remove RoleBindings/ClusterRoleBindings that grant system:anonymous or system:unauthenticated access, and set --anonymous-auth=false.",
    "CIS 1.2.1"
);
static API_READ: Item = probe_item!(
    "probe/apiserver-anonymous-read",
    "API server",
    Critical,
    "API server resources readable without credentials",
    "Anyone who reaches the API server reads cluster objects: anonymous access is bound to a role that can list resources, or the authorizer is AlwaysAllow or the insecure port is open.",
    "Set --anonymous-auth=false and --authorization-mode=Node,RBAC, remove bindings to system:anonymous / system:unauthenticated, and close any insecure (HTTP) port.",
    "CIS 1.2.1, 1.2.6"
);
static KUBELET_API: Item = probe_item!(
    "probe/kubelet-anonymous",
    "Kubelet",
    Critical,
    "Kubelet API (10250) answers anonymous requests",
    "An anonymous kubelet API lists the node's pods and, when authorization allows, runs commands in them (exec, run): remote code execution on every container of the node.",
    "Set authentication.anonymous.enabled: false and authorization.mode: Webhook in the kubelet config, then restart the kubelet.",
    "CIS 4.2.1, 4.2.2"
);
static KUBELET_RO: Item = probe_item!(
    "probe/kubelet-read-only",
    "Kubelet",
    High,
    "Kubelet read-only port (10255) is open",
    "The read-only port serves every pod spec of the node (environment variables included) and metrics without authentication.",
    "Set readOnlyPort: 0 in the kubelet config and restart the kubelet.",
    "CIS 4.2.4"
);
static ETCD_CLIENT: Item = probe_item!(
    "probe/etcd-client",
    "etcd",
    Critical,
    "etcd client port answers without a client certificate",
    "etcd stores every object of the cluster, Secrets included: a client that needs no certificate reads and writes them all.",
    "Serve etcd over TLS with --client-cert-auth=true and --trusted-ca-file, and firewall 2379 to the API servers.",
    "CIS 2.1, 2.2"
);
static ETCD_PEER: Item = probe_item!(
    "probe/etcd-peer",
    "etcd",
    High,
    "etcd peer port answers without a client certificate",
    "An open peer port discloses the members and lets a stranger talk to the cluster as a peer.",
    "Set --peer-cert-file, --peer-key-file, --peer-client-cert-auth=true and --peer-trusted-ca-file.",
    "CIS 2.4, 2.5"
);
static DASHBOARD: Item = probe_item!(
    "probe/dashboard",
    "Dashboard",
    High,
    "Kubernetes Dashboard exposed",
    "An exposed dashboard invites token theft and, with a privileged service account or skip-login, gives cluster control from a browser.",
    "Do not expose the dashboard on a NodePort or LoadBalancer; reach it through kubectl proxy or an authenticating proxy, with --enable-skip-login off.",
    "CIS 5.1"
);
static METRICS: Item = probe_item!(
    "probe/metrics",
    "Metrics",
    Low,
    "Component metrics readable without credentials",
    "Metrics reveal pod names, request paths, versions and load, which help plan an attack.",
    "Bind metrics to 127.0.0.1 (etcd --listen-metrics-urls, kube-proxy metricsBindAddress, --bind-address=127.0.0.1 on controller manager and scheduler) or require authentication.",
    "CIS 1.3.7, 1.4.2"
);

/// Every probe, in report order.
pub fn items() -> Vec<&'static Item> {
    ITEMS.to_vec()
}

/// Every probe item, in report order.
static ITEMS: [&Item; 9] = [
    &API_VERSION,
    &API_DISCOVERY,
    &API_READ,
    &KUBELET_API,
    &KUBELET_RO,
    &ETCD_CLIENT,
    &ETCD_PEER,
    &DASHBOARD,
    &METRICS,
];

/// One exchange's evidence: the URL, method and what came back (trimmed).
fn evidence(
    scheme: Scheme,
    target: (&str, u16),
    method: &str,
    path: &str,
    answer: &Result<Response, Failure>,
) -> Evidence {
    let value = match answer {
        Ok(r) => {
            let body: String = r.body.split_whitespace().collect::<Vec<_>>().join(" ");
            let mut excerpt: String = body.chars().take(160).collect();
            if body.chars().count() > 160 {
                excerpt.push('…');
            }
            format!("HTTP {}: {excerpt}", r.status.as_u16())
        }
        Err(f) => f.to_string(),
    };
    let host = if target.0.contains(':') {
        format!("[{}]", target.0)
    } else {
        target.0.to_string()
    };
    Evidence {
        location: format!("{}://{host}:{}{path}", scheme.as_str(), target.1),
        line: None,
        key: method.to_string(),
        value: Some(value),
    }
}

/// One host and port of one service.
struct Probe {
    tls: TlsConnector,
    host: String,
    port: u16,
    timeout: Duration,
    scheme: Scheme,
    evidence: Vec<Evidence>,
}

impl Probe {
    /// The probe's first GET of `path`: the answer, or what the probe found without one (an
    /// endpoint that refuses `who` without a certificate passes `item`; one that does not
    /// answer like `service` is skipped).
    async fn first_call(
        &mut self,
        path: &str,
        item: &'static Item,
        who: &str,
        service: Service,
    ) -> Result<Response, Found> {
        match self.call("GET", path, None).await {
            Ok(response) => Ok(response),
            Err(Failure::TlsRejected(alert)) => {
                let mut found = Found::default();
                let message = format!(
                    "{} refuses {who} without a certificate ({alert})",
                    self.endpoint()
                );
                found.add(item, Status::Pass, message, self.take());
                Err(found)
            }
            Err(f) => Err(Found::skip(self, service, f)),
        }
    }

    async fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<Response, Failure> {
        let target = (self.host.as_str(), self.port);
        let mut answer = http::request(
            &self.tls,
            self.scheme,
            target,
            method,
            path,
            body,
            self.timeout,
        )
        .await;
        // A plain HTTP server answers a ClientHello with garbage, a reset or an EOF; a TLS
        // server that wants a certificate answers with an alert. Only the former is retried.
        if self.scheme == Scheme::Https
            && matches!(answer, Err(Failure::NotTls | Failure::Other(_)))
        {
            let plain = http::request(
                &self.tls,
                Scheme::Http,
                target,
                method,
                path,
                body,
                self.timeout,
            )
            .await;
            // Go's TLS servers answer plain HTTP with this 400: the port is TLS after all.
            let https_only = plain.as_ref().is_ok_and(|r| {
                r.status == StatusCode::BAD_REQUEST && r.body.contains("HTTPS server")
            });
            if plain.is_ok() && !https_only {
                self.scheme = Scheme::Http;
                answer = plain;
            }
        }
        self.evidence
            .push(evidence(self.scheme, target, method, path, &answer));
        answer
    }

    fn endpoint(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    fn take(&mut self) -> Vec<Evidence> {
        std::mem::take(&mut self.evidence)
    }
}

/// What one probe found: results, or why the endpoint was not checked.
#[derive(Default)]
struct Found {
    results: Vec<(&'static Item, CheckResult)>,
    skipped: Option<Skipped>,
}

impl Found {
    fn add(
        &mut self,
        item: &'static Item,
        status: Status,
        message: String,
        evidence: Vec<Evidence>,
    ) {
        self.results
            .push((item, item.result(status, message, evidence)));
    }

    fn skip(probe: &Probe, service: Service, why: impl fmt::Display) -> Found {
        Found {
            results: Vec::new(),
            skipped: Some(Skipped {
                target: format!("{} ({service})", probe.endpoint()),
                reason: why.to_string(),
            }),
        }
    }
}

fn denied(status: StatusCode) -> bool {
    status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN
}

fn json(body: &str) -> Option<serde_json::Value> {
    serde_json::from_str(body).ok()
}

async fn api_server(mut p: Probe) -> Found {
    let version = match p
        .first_call("/version", &API_READ, "clients", Service::ApiServer)
        .await
    {
        Ok(r) => r,
        Err(found) => return found,
    };
    let git_version = json(&version.body).and_then(|v| {
        v.get("gitVersion")
            .and_then(|g| g.as_str())
            .map(str::to_string)
    });
    let kube_status = json(&version.body)
        .is_some_and(|v| v.get("kind").and_then(|k| k.as_str()) == Some("Status"));
    if git_version.is_none() && !(denied(version.status) && kube_status) {
        return Found::skip(
            &p,
            Service::ApiServer,
            format!(
                "does not answer like a Kubernetes API server (GET /version: HTTP {})",
                version.status.as_u16()
            ),
        );
    }
    let insecure = if p.scheme == Scheme::Http {
        " over plain HTTP (an insecure port)"
    } else {
        ""
    };
    let mut found = Found::default();
    let ev = p.take();
    match git_version {
        Some(v) => found.add(
            &API_VERSION,
            Status::Fail,
            format!(
                "{} tells anonymous clients it runs {v}{insecure}",
                p.endpoint()
            ),
            ev,
        ),
        None => found.add(
            &API_VERSION,
            Status::Pass,
            format!(
                "{} refuses anonymous /version (HTTP {})",
                p.endpoint(),
                version.status.as_u16()
            ),
            ev,
        ),
    }
    let mut open = Vec::new();
    for path in ["/api", "/apis"] {
        if let Ok(r) = p.call("GET", path, None).await
            && r.status == StatusCode::OK
        {
            open.push(path);
        }
    }
    let ev = p.take();
    if open.is_empty() {
        found.add(
            &API_DISCOVERY,
            Status::Pass,
            format!("{} refuses anonymous discovery", p.endpoint()),
            ev,
        );
    } else {
        found.add(
            &API_DISCOVERY,
            Status::Fail,
            format!(
                "{} serves {} to anonymous clients{insecure}",
                p.endpoint(),
                open.join(" and ")
            ),
            ev,
        );
    }
    let mut readable = Vec::new();
    for path in ["/api/v1/namespaces", "/api/v1/pods?limit=1"] {
        if let Ok(r) = p.call("GET", path, None).await
            && r.status == StatusCode::OK
        {
            let what = match json(&r.body)
                .and_then(|v| v.get("items").and_then(|i| i.as_array()).cloned())
            {
                Some(items) if path.starts_with("/api/v1/namespaces") => {
                    let names: Vec<String> = items
                        .iter()
                        .filter_map(|i| {
                            i.pointer("/metadata/name")
                                .and_then(|n| n.as_str())
                                .map(str::to_string)
                        })
                        .collect();
                    format!("namespaces ({})", names.join(", "))
                }
                _ => "pods".to_string(),
            };
            readable.push(what);
        }
    }
    let ev = p.take();
    if readable.is_empty() {
        found.add(
            &API_READ,
            Status::Pass,
            format!(
                "{} refuses anonymous reads of namespaces and pods",
                p.endpoint()
            ),
            ev,
        );
    } else {
        found.add(
            &API_READ,
            Status::Fail,
            format!(
                "anonymous clients list {} on {}{insecure}",
                readable.join(" and "),
                p.endpoint()
            ),
            ev,
        );
    }
    found
}

fn count_items(body: &str) -> Option<usize> {
    json(body)?.get("items")?.as_array().map(Vec::len)
}

async fn kubelet(mut p: Probe) -> Found {
    let pods = match p
        .first_call("/pods", &KUBELET_API, "clients", Service::Kubelet)
        .await
    {
        Ok(r) => r,
        Err(found) => return found,
    };
    let running = p.call("GET", "/runningpods/", None).await;
    let mut found = Found::default();
    let endpoint = p.endpoint();
    let ev = p.take();
    let status = pods.status;
    if status == StatusCode::OK || running.as_ref().is_ok_and(|r| r.status == StatusCode::OK) {
        let count = count_items(&pods.body).map_or(String::new(), |n| format!(" ({n} pods)"));
        found.add(
            &KUBELET_API,
            Status::Fail,
            format!("{endpoint} lists its pods to anonymous clients{count}"),
            ev,
        );
    } else if status == StatusCode::UNAUTHORIZED {
        found.add(
            &KUBELET_API,
            Status::Pass,
            format!(
                "{endpoint} refuses anonymous requests (HTTP 401: anonymous authentication is off)"
            ),
            ev,
        );
    } else if status == StatusCode::FORBIDDEN {
        found.add(&KUBELET_API, Status::Warn, format!("{endpoint} authenticates anonymous requests but its authorizer denies them (HTTP 403); CIS 4.2.1 wants anonymous authentication off"), ev);
    } else {
        return Found::skip(
            &p,
            Service::Kubelet,
            format!(
                "does not answer like a kubelet (GET /pods: HTTP {})",
                status.as_u16()
            ),
        );
    }
    found
}

async fn kubelet_read_only(mut p: Probe) -> Found {
    p.scheme = Scheme::Http;
    let pods = match p.call("GET", "/pods", None).await {
        Ok(r) => r,
        Err(f) => return Found::skip(&p, Service::KubeletReadOnly, f),
    };
    let mut found = Found::default();
    let endpoint = p.endpoint();
    if pods.status == StatusCode::OK {
        let count = count_items(&pods.body).map_or(String::new(), |n| format!(" ({n} pods)"));
        found.add(
            &KUBELET_RO,
            Status::Fail,
            format!("{endpoint} serves pod specs without authentication{count}"),
            p.take(),
        );
    } else {
        return Found::skip(
            &p,
            Service::KubeletReadOnly,
            format!(
                "answers /pods with HTTP {}: not a kubelet read-only port",
                pods.status.as_u16()
            ),
        );
    }
    found
}

/// A read of every key, counted only: `key` and `range_end` `\0` select the whole keyspace.
const RANGE_ALL_COUNT: &str = r#"{"key":"AA==","range_end":"AA==","count_only":true}"#;

async fn etcd(mut p: Probe) -> Found {
    let version = match p
        .first_call("/version", &ETCD_CLIENT, "clients", Service::Etcd)
        .await
    {
        Ok(r) => r,
        Err(found) => return found,
    };
    let server = json(&version.body).and_then(|v| {
        v.get("etcdserver")
            .and_then(|s| s.as_str())
            .map(str::to_string)
    });
    let Some(server) = server else {
        return Found::skip(
            &p,
            Service::Etcd,
            format!(
                "does not answer like etcd (GET /version: HTTP {})",
                version.status.as_u16()
            ),
        );
    };
    let range = p.call("POST", "/v3/kv/range", Some(RANGE_ALL_COUNT)).await;
    let _ = p.call("POST", "/v3/maintenance/status", Some("{}")).await;
    let endpoint = p.endpoint();
    let plain = if p.scheme == Scheme::Http {
        " over plain HTTP"
    } else {
        ""
    };
    let mut found = Found::default();
    match range {
        Ok(r) if r.status == StatusCode::OK => {
            let count = json(&r.body)
                .and_then(|v| v.get("count").map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_string)))
                .unwrap_or_else(|| "0".to_string());
            found.add(&ETCD_CLIENT, Status::Fail, format!("etcd {server} at {endpoint} lets a client without a certificate read the whole keyspace ({count} keys){plain}"), p.take());
        }
        _ => found.add(&ETCD_CLIENT, Status::Warn, format!("etcd {server} at {endpoint} answers without a client certificate{plain} but refuses the range read (authentication on?); client certificates are what CIS 2.2 requires"), p.take()),
    }
    found
}

async fn etcd_peer(mut p: Probe) -> Found {
    let members = match p
        .first_call("/members", &ETCD_PEER, "peers", Service::EtcdPeer)
        .await
    {
        Ok(r) => r,
        Err(found) => return found,
    };
    let names: Option<Vec<String>> = json(&members.body).and_then(|v| {
        v.as_array().map(|a| {
            a.iter()
                .filter_map(|m| m.get("name").and_then(|n| n.as_str()).map(str::to_string))
                .collect()
        })
    });
    let (StatusCode::OK, Some(names)) = (members.status, names) else {
        return Found::skip(
            &p,
            Service::EtcdPeer,
            format!(
                "does not answer like an etcd peer port (GET /members: HTTP {})",
                members.status.as_u16()
            ),
        );
    };
    let mut found = Found::default();
    let plain = if p.scheme == Scheme::Http {
        " over plain HTTP"
    } else {
        ""
    };
    found.add(
        &ETCD_PEER,
        Status::Fail,
        format!(
            "{} lists the etcd members ({}) to a client without a certificate{plain}",
            p.endpoint(),
            names.join(", ")
        ),
        p.take(),
    );
    found
}

async fn dashboard(mut p: Probe) -> Found {
    let page = match p.call("GET", "/", None).await {
        Ok(r) => r,
        Err(f) => return Found::skip(&p, Service::Dashboard, f),
    };
    if page.status != StatusCode::OK || !page.body.contains("Kubernetes Dashboard") {
        return Found::skip(
            &p,
            Service::Dashboard,
            format!(
                "not the Kubernetes Dashboard (GET /: HTTP {})",
                page.status.as_u16()
            ),
        );
    }
    let mut found = Found::default();
    found.add(
        &DASHBOARD,
        Status::Fail,
        format!("{} serves the Kubernetes Dashboard to anyone", p.endpoint()),
        p.take(),
    );
    found
}

async fn metrics(mut p: Probe) -> Found {
    let page = match p.call("GET", "/metrics", None).await {
        Ok(r) => r,
        Err(f) => return Found::skip(&p, Service::Metrics, f),
    };
    let mut found = Found::default();
    let endpoint = p.endpoint();
    if page.status == StatusCode::OK
        && (page.body.contains("# TYPE") || page.body.contains("# HELP"))
    {
        found.add(
            &METRICS,
            Status::Fail,
            format!("{endpoint} serves /metrics without credentials"),
            p.take(),
        );
    } else if denied(page.status) {
        found.add(
            &METRICS,
            Status::Pass,
            format!(
                "{endpoint} refuses anonymous /metrics (HTTP {})",
                page.status.as_u16()
            ),
            p.take(),
        );
    } else {
        return Found::skip(
            &p,
            Service::Metrics,
            format!(
                "no Prometheus metrics at /metrics (HTTP {})",
                page.status.as_u16()
            ),
        );
    }
    found
}

async fn run_one(service: Service, probe: Probe) -> Found {
    match service {
        Service::ApiServer => api_server(probe).await,
        Service::Kubelet => kubelet(probe).await,
        Service::KubeletReadOnly => kubelet_read_only(probe).await,
        Service::Etcd => etcd(probe).await,
        Service::EtcdPeer => etcd_peer(probe).await,
        Service::Dashboard => dashboard(probe).await,
        Service::Metrics => metrics(probe).await,
    }
}

fn valid_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    !host.is_empty()
        && (bare.parse::<std::net::IpAddr>().is_ok()
            || host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'))
}

/// Probes every service on every host and reports what an anonymous client got.
pub fn probe(hosts: &[String], options: &Options) -> Result<Report, Error> {
    if hosts.is_empty() {
        return Err(Error::NoHosts);
    }
    if let Some(bad) = hosts.iter().find(|h| !valid_host(h)) {
        return Err(Error::BadHost(bad.clone()));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let tls = http::connector();
    let limit = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let found: Vec<Found> = runtime.block_on(async {
        let mut tasks = Vec::new();
        for service in Service::ALL {
            let ports = options
                .ports
                .get(&service)
                .map_or(service.default_ports(), Vec::as_slice);
            for host in hosts {
                for &port in ports {
                    let probe = Probe {
                        tls: tls.clone(),
                        host: host
                            .trim_start_matches('[')
                            .trim_end_matches(']')
                            .to_string(),
                        port,
                        timeout: options.timeout,
                        scheme: Scheme::Https,
                        evidence: Vec::new(),
                    };
                    let limit = limit.clone();
                    tasks.push(tokio::spawn(async move {
                        let _permit = limit.acquire_owned().await;
                        run_one(service, probe).await
                    }));
                }
            }
        }
        let mut found = Vec::new();
        for task in tasks {
            found.push(task.await.unwrap_or_else(|e| Found {
                results: Vec::new(),
                skipped: Some(Skipped {
                    target: "a probe".to_string(),
                    reason: format!("stopped: {e}"),
                }),
            }));
        }
        found
    });
    let mut results = Vec::new();
    let mut skipped = Vec::new();
    for f in found {
        results.extend(f.results);
        skipped.extend(f.skipped);
    }
    results.sort_by_key(|(item, _)| ITEMS.iter().position(|i| std::ptr::eq(*i, *item)));
    let mut items: Vec<&'static Item> = Vec::new();
    for (item, _) in &results {
        if !items.iter().any(|i| std::ptr::eq(*i, *item)) {
            items.push(item);
        }
    }
    Ok(Report::new(
        "probe",
        None,
        hosts.to_vec(),
        items,
        results.into_iter().map(|(_, r)| r).collect(),
        skipped,
        Vec::new(),
    ))
}
