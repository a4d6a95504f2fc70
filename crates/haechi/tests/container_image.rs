//! The image (Dockerfile at the root, built by deploy/image/build.sh on a base made here) run as
//! the Helm chart deploys it, without a cluster: the chart is rendered with a real Helm, and each
//! pod spec (the agent's DaemonSet, the webhook's Deployment) is turned into the OCI runtime spec
//! a kubelet's runtime would give runc (args, env, user, capabilities, no_new_privs, read-only
//! root, host PID namespace, seccomp, volumes as bind mounts with their propagation), and runc
//! runs the image's root filesystem under it, with a 64-hex container id in a kubepods cgroup.
//!
//! Why runc and not `docker run`: this machine's Docker Engine (20.10) refuses the capability
//! names CAP_BPF and CAP_PERFMON, which the agent's least set is made of. Sibling workloads are
//! real Docker containers. One liberty is taken: the containers share the host's network
//! namespace (a pod has its own) so the test reaches their ports on loopback.
//!
//! Needs root, Docker, runc, helm and busybox-static (`scripts/test-deps.sh` installs them; set
//! HAECHI_ALLOW_SKIP=1 to skip without; CI never sets it).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var_os("HAECHI_ALLOW_SKIP").is_some(),
        "needs root; HAECHI_ALLOW_SKIP=1 skips"
    );
    false
}

fn run(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The image built once for every test here: the tag, and its root filesystem unpacked.
struct Image {
    tag: String,
    entrypoint: Vec<String>,
    env: Vec<String>,
    rootfs: tempfile::TempDir,
}

fn image() -> &'static Image {
    static IMAGE: OnceLock<Image> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let tag = "haechi:test".to_owned();
        let build = || {
            run(Command::new("bash")
                .arg(repo().join("deploy/image/build.sh"))
                .args(["--local-base", "--tag", &tag, "--binary"])
                .arg(env!("CARGO_BIN_EXE_haechi")))
        };
        let layers = |out: &str| {
            out.lines()
                .find(|l| l.starts_with("layers: "))
                .map(str::to_owned)
        };
        let (first, second) = (build(), build());
        eprintln!("{second}");
        assert!(layers(&first).is_some(), "{first}");
        assert_eq!(
            layers(&first),
            layers(&second),
            "two builds give the same layers"
        );
        let inspect: Value =
            serde_json::from_str(&run(Command::new("docker").args(["image", "inspect", &tag])))
                .unwrap();
        let config = &inspect[0]["Config"];
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(config["User"], "65532:65532", "non-root by default");
        let labels = &config["Labels"];
        for label in ["source", "revision", "version"] {
            assert!(
                labels[format!("org.opencontainers.image.{label}")].is_string(),
                "OCI label {label}"
            );
        }
        // The root filesystem, as a runtime's snapshotter would lay it out.
        let rootfs = tempfile::tempdir().unwrap();
        let container = run(Command::new("docker").args(["create", &tag]))
            .trim()
            .to_owned();
        let mut export = Command::new("docker")
            .args(["export", &container])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        run(Command::new("tar")
            .arg("-x")
            .arg("-C")
            .arg(rootfs.path())
            .stdin(export.stdout.take().unwrap()));
        assert!(export.wait().unwrap().success());
        run(Command::new("docker").args(["rm", &container]));
        assert!(
            !rootfs.path().join("bin/sh").exists(),
            "the image needs no shell and has none"
        );
        // The root is traversable by the image's non-root user, as a snapshot's is.
        let mut mode = std::fs::metadata(rootfs.path()).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut mode, 0o755);
        std::fs::set_permissions(rootfs.path(), mode).unwrap();
        Image {
            entrypoint: strings(&config["Entrypoint"]),
            env: strings(&config["Env"]),
            tag,
            rootfs,
        }
    })
}

/// The chart rendered with `values` (as `--set`); its documents.
fn render(values: &[String]) -> Vec<Value> {
    let mut helm = Command::new("helm");
    helm.args(["template", "haechi"])
        .arg(repo().join("deploy/helm/haechi"))
        .args(["--namespace", "haechi-system"]);
    for value in values {
        helm.args(["--set", value]);
    }
    serde_saphyr::from_multiple::<Value>(&run(&mut helm))
        .unwrap()
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} rendered"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A 64-hex container id, as runtimes name containers.
fn container_id() -> String {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut bytes)
        .unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the pod's non-hostPath volumes come from: a directory of files per volume name.
type VolumeFiles = BTreeMap<String, PathBuf>;

/// The OCI runtime spec a CRI runtime makes of `pod`'s first container (rendered by the chart):
/// every security setting it names is carried over, and one it does not know fails the test.
fn oci_spec(pod: &Value, image: &Image, volumes: &VolumeFiles, node: &str) -> Value {
    let container = &pod["containers"][0];
    let security = &container["securityContext"];
    let pod_security = &pod["securityContext"];
    let setting = |key: &str| {
        Some(&security[key])
            .filter(|v| !v.is_null())
            .or(Some(&pod_security[key]).filter(|v| !v.is_null()))
    };
    // Environment: the image's, then the container's, with the downward API's node name.
    let mut env = image.env.clone();
    let mut values = BTreeMap::new();
    for var in container["env"].as_array().into_iter().flatten() {
        let name = var["name"].as_str().unwrap();
        let value = match (&var["value"], &var["valueFrom"]["fieldRef"]["fieldPath"]) {
            (Value::String(v), _) => v.clone(),
            (_, Value::String(path)) if path == "spec.nodeName" => node.to_owned(),
            other => panic!("env {name}: {other:?} is not something this test resolves"),
        };
        env.push(format!("{name}={value}"));
        values.insert(format!("$({name})"), value);
    }
    let mut args = image.entrypoint.clone();
    for arg in container["args"].as_array().unwrap() {
        let mut arg = arg.as_str().unwrap().to_owned();
        for (reference, value) in &values {
            arg = arg.replace(reference, value);
        }
        args.push(arg);
    }
    // Capabilities: the runtime's default set minus `drop`, plus `add`; all when privileged.
    // The chart's least-privilege settings are what runs here; the privileged fallback is
    // checked by the rendering tests only.
    assert_ne!(security["privileged"], true);
    assert_eq!(security["capabilities"]["drop"], json!(["ALL"]));
    let caps: Vec<String> = security["capabilities"]["add"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| format!("CAP_{}", c.as_str().unwrap()))
        .collect();
    let uid = setting("runAsUser")
        .and_then(Value::as_u64)
        .unwrap_or(65532);
    let gid = setting("runAsGroup").and_then(Value::as_u64).unwrap_or(uid);
    if setting("runAsNonRoot") == Some(&Value::Bool(true)) {
        assert_ne!(uid, 0, "runAsNonRoot with uid 0 would not start");
    }
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc"}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
               "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs",
               "options": ["nosuid", "noexec", "nodev", "ro"]}),
    ];
    let pod_volumes: BTreeMap<&str, &Value> = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v))
        .collect();
    for mount in container["volumeMounts"].as_array().into_iter().flatten() {
        let name = mount["name"].as_str().unwrap();
        let volume = pod_volumes[name];
        let source = if let Some(path) = volume["hostPath"]["path"].as_str() {
            match volume["hostPath"]["type"].as_str() {
                Some("DirectoryOrCreate") => std::fs::create_dir_all(path).unwrap(),
                Some("Directory") => assert!(Path::new(path).is_dir(), "{path}"),
                _ => {}
            }
            PathBuf::from(path)
        } else {
            volumes
                .get(name)
                .unwrap_or_else(|| panic!("volume {name}: {volume} has no files in this test"))
                .clone()
        };
        let propagation = match mount["mountPropagation"].as_str() {
            None | Some("None") => "rprivate",
            Some("HostToContainer") => "rslave",
            Some("Bidirectional") => "rshared",
            Some(other) => panic!("mountPropagation {other}"),
        };
        let mut options = vec!["rbind", propagation];
        if mount["readOnly"] == true {
            options.push("ro");
        }
        mounts.push(json!({"destination": mount["mountPath"], "type": "bind",
                           "source": source, "options": options}));
    }
    let mut namespaces = vec![
        json!({"type": "mount"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
    ];
    if pod["hostPID"] != true {
        namespaces.push(json!({"type": "pid"}));
    }
    let mut linux = json!({
        "namespaces": namespaces,
        "cgroupsPath": format!("/kubepods/besteffort/pod{}/{}", &container_id()[..32], "CID"),
        "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
        "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    });
    match setting("seccompProfile").and_then(|p| p["type"].as_str()) {
        Some("Unconfined") => {}
        Some("RuntimeDefault") => linux["seccomp"] = runtime_default_seccomp(&caps),
        other => panic!("seccompProfile {other:?}"),
    }
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "user": {"uid": uid, "gid": gid},
            "args": args,
            "env": env,
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "noNewPrivileges": setting("allowPrivilegeEscalation") == Some(&Value::Bool(false)),
        },
        "root": {"path": image.rootfs.path(), "readonly": security["readOnlyRootFilesystem"] == true},
        "hostname": "haechi-pod",
        "mounts": mounts,
        "linux": linux,
    })
}

/// The RuntimeDefault profile as containerd's CRI makes it for a container holding `caps`:
/// Docker's default profile (vendored in the seccomp crate), its rules kept where their
/// capability and architecture conditions hold on x86_64, in the OCI runtime spec's shape.
fn runtime_default_seccomp(caps: &[String]) -> Value {
    let path = repo().join("crates/seccomp/data/docker-default.json");
    let docker: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let holds = |condition: &Value, all: bool| -> bool {
        let caps_hold = condition["caps"].as_array().map(|needed| {
            let held = |c: &Value| caps.iter().any(|have| Some(have.as_str()) == c.as_str());
            if all {
                needed.iter().all(held)
            } else {
                needed.iter().any(held)
            }
        });
        let arch_holds = condition["arches"]
            .as_array()
            .map(|arches| arches.iter().any(|a| a == "amd64"));
        match (caps_hold, arch_holds) {
            (None, None) => all,
            (c, a) => c.unwrap_or(all) && a.unwrap_or(all),
        }
    };
    let syscalls: Vec<Value> = docker["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|rule| holds(&rule["includes"], true) && !holds(&rule["excludes"], false))
        .map(|rule| {
            let mut rule = rule.clone();
            for key in ["includes", "excludes", "comment"] {
                rule.as_object_mut().unwrap().remove(key);
            }
            rule
        })
        .collect();
    let native = docker["archMap"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["architecture"] == "SCMP_ARCH_X86_64")
        .unwrap();
    let mut architectures = vec![native["architecture"].clone()];
    architectures.extend(
        native["subArchitectures"]
            .as_array()
            .unwrap()
            .iter()
            .cloned(),
    );
    json!({
        "defaultAction": docker["defaultAction"],
        "defaultErrnoRet": docker["defaultErrnoRet"],
        "architectures": architectures,
        "syscalls": syscalls,
    })
}

/// A container runc runs under `spec`, and its output line by line.
struct Pod {
    id: String,
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    seen_err: Vec<String>,
    _bundle: tempfile::TempDir,
}

fn lines(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

impl Pod {
    fn start(mut spec: Value) -> Pod {
        let id = container_id();
        let path = spec["linux"]["cgroupsPath"]
            .as_str()
            .unwrap()
            .replace("CID", &id);
        spec["linux"]["cgroupsPath"] = Value::String(path);
        let bundle = tempfile::tempdir().unwrap();
        std::fs::write(bundle.path().join("config.json"), spec.to_string()).unwrap();
        let mut child = Command::new("runc")
            .args(["run", "--bundle"])
            .arg(bundle.path())
            .arg(&id)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        Pod {
            id,
            child,
            stdout,
            stderr,
            seen_err: Vec::new(),
            _bundle: bundle,
        }
    }

    fn wait_for_stderr(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(100)) {
                let found = line.contains(text);
                self.seen_err.push(line);
                if found {
                    return;
                }
            }
        }
        panic!(
            "no `{text}` on standard error:\n{}",
            self.seen_err.join("\n")
        );
    }

    /// SIGTERM, as the kubelet stops a pod; the exit status and the rest of standard error.
    fn terminate(mut self) -> (i32, String) {
        run(Command::new("runc").args(["kill", &self.id, "TERM"]));
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "still running 30 s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let _ = Command::new("runc")
            .args(["delete", "-f", &self.id])
            .status();
        let rest: Vec<String> = self.stderr.try_iter().collect();
        self.seen_err.extend(rest);
        (status.code().unwrap_or(-1), self.seen_err.join("\n"))
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        let _ = Command::new("runc")
            .args(["delete", "-f", &self.id])
            .stderr(Stdio::null())
            .status();
    }
}

/// One HTTP/1.1 GET over plain TCP: status and body.
fn get(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("");
    (status, body.to_owned())
}

/// A node has bpffs and tracefs mounted (systemd mounts both); the test host may not.
fn node_mounts() {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    for (fs, dir) in [("bpf", "/sys/fs/bpf"), ("tracefs", "/sys/kernel/tracing")] {
        if !mounts.lines().any(|l| l.split(' ').nth(1) == Some(dir)) {
            run(Command::new("mount").args(["-t", fs, fs, dir]));
        }
    }
}

/// An image for sibling workloads: busybox, and the accounts files an attacker goes for.
fn sibling_image() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        let tag = "haechi-sibling:test".to_owned();
        let rootfs = tempfile::tempdir().unwrap();
        let dir = rootfs.path();
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        std::fs::copy("/bin/busybox", dir.join("bin/busybox"))
            .expect("busybox-static (apt-get install busybox-static)");
        for applet in ["sh", "cat", "sleep", "true"] {
            std::os::unix::fs::symlink("busybox", dir.join("bin").join(applet)).unwrap();
        }
        std::fs::write(dir.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
        std::fs::write(dir.join("etc/shadow"), "root:*:19000:0:99999:7:::\n").unwrap();
        let mut tar = Command::new("tar")
            .arg("-C")
            .arg(dir)
            .args(["-c", "."])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        run(Command::new("docker")
            .args(["import", "-", &tag])
            .stdin(tar.stdout.take().unwrap()));
        assert!(tar.wait().unwrap().success());
        tag
    })
}

#[test]
fn the_image_runs_as_the_charts_agent_daemonset_and_sees_its_sibling_containers() {
    if !root() {
        return;
    }
    node_mounts();
    let image = image();
    let (repository, tag) = image.tag.split_once(':').unwrap();
    let port = free_port();
    let docs = render(&[
        format!("image.repository={repository}"),
        format!("image.tag={tag}"),
        format!("agent.metrics.port={port}"),
        // A Docker node: the Engine's socket for names, its containerd for the rest.
        "agent.containerRuntime[0]=/var/run/docker.sock".into(),
        "agent.containerRuntime[1]=/var/run/docker/containerd".into(),
        format!(
            "agent.pinDir=/sys/fs/bpf/haechi-test-{}",
            std::process::id()
        ),
    ]);
    let daemonset = find(&docs, "DaemonSet");
    let pod = &daemonset["spec"]["template"]["spec"];
    let spec = oci_spec(pod, image, &VolumeFiles::new(), "node-7");
    assert_eq!(spec["process"]["user"]["uid"], 0);
    let mut agent = Pod::start(spec);
    agent.wait_for_stderr("watching;");
    for path in ["/healthz", "/readyz"] {
        assert_eq!(get(port, path), (200, "ok\n".to_owned()), "{path}");
    }

    let name = format!("haechi-sibling-{}", std::process::id());
    let sibling = run(Command::new("docker").args([
        "run",
        "-d",
        "--name",
        &name,
        sibling_image(),
        "/bin/sh",
        "-c",
        "/bin/cat /etc/shadow > /dev/null; /bin/sh -c /bin/true; /bin/sleep 1",
    ]))
    .trim()
    .to_owned();
    let short = &sibling[..12];
    let mut found = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while found.len() < 2 && Instant::now() < deadline {
        let Ok(line) = agent.stdout.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        let alert: Value = serde_json::from_str(&line).unwrap();
        if alert["output_fields"]["container.id"] != short {
            continue;
        }
        let rule = alert["rule"].as_str().unwrap().to_owned();
        if rule == "Read sensitive file by untrusted program"
            || rule == "Terminal shell in container"
        {
            found.insert(rule, alert);
        }
    }
    let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    assert_eq!(found.len(), 2, "alerts on {short}: {found:#?}");
    for alert in found.values() {
        eprintln!("{alert}");
        assert_eq!(
            alert["output_fields"]["container.name"],
            name.as_str(),
            "{alert}"
        );
        assert_eq!(
            alert["hostname"], "node-7",
            "the node's name, from the downward API"
        );
    }
    let (status, body) = get(port, "/metrics");
    assert_eq!(status, 200);
    assert!(body.contains("haechi_rules_alerts_total"), "{body}");

    let (code, stderr) = agent.terminate();
    assert_eq!(code, 0, "SIGTERM ends the agent cleanly:\n{stderr}");
    let _ = std::fs::remove_dir_all(format!("/sys/fs/bpf/haechi-test-{}", std::process::id()));
}

#[test]
fn the_image_runs_as_the_charts_webhook_deployment_and_judges_reviews_over_tls() {
    if !root() {
        return;
    }
    let image = image();
    let (repository, tag) = image.tag.split_once(':').unwrap();
    let docs = render(&[
        "webhook.enabled=true".into(),
        "agent.enabled=false".into(),
        format!("image.repository={repository}"),
        format!("image.tag={tag}"),
    ]);
    let deployment = find(&docs, "Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    // The volumes' files: the TLS Secret the certificate Job writes, the rendered ConfigMap,
    // and the projected service account token of an API server stand-in.
    let files = tempfile::tempdir().unwrap();
    let tls = files.path().join("tls");
    let service = deployment["metadata"]["name"].as_str().unwrap();
    run(Command::new(env!("CARGO_BIN_EXE_haechi"))
        .args([
            "admit",
            "certs",
            "--service",
            service,
            "--namespace",
            "haechi-system",
            "--out",
        ])
        .arg(&tls));
    // A Secret volume's files are readable by the pod's user (defaultMode 0644).
    for file in ["ca.crt", "tls.crt", "tls.key"] {
        let path = tls.join(file);
        let mut mode = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut mode, 0o644);
        std::fs::set_permissions(&path, mode).unwrap();
    }
    let config = files.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let configmap = docs
        .iter()
        .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == service)
        .unwrap();
    std::fs::write(
        config.join("admit.yaml"),
        configmap["data"]["admit.yaml"].as_str().unwrap(),
    )
    .unwrap();
    let api = ApiStandIn::start(files.path());
    let volumes: VolumeFiles = [
        ("tls".to_owned(), tls.clone()),
        ("config".to_owned(), config),
        ("api-token".to_owned(), api.account.clone()),
    ]
    .into();
    let mut spec = oci_spec(pod, image, &volumes, "node-7");
    assert_eq!(spec["process"]["user"]["uid"], 65532);
    assert!(
        spec["linux"]["seccomp"].is_object(),
        "RuntimeDefault seccomp"
    );
    // In a pod, the kubelet sets these for the in-cluster client.
    let env = spec["process"]["env"].as_array_mut().unwrap();
    env.push(json!("KUBERNETES_SERVICE_HOST=127.0.0.1"));
    env.push(json!(format!("KUBERNETES_SERVICE_PORT={}", api.port)));
    let mut webhook = Pod::start(spec);
    webhook.wait_for_stderr("serving on https://");

    let ca = std::fs::read(tls.join("ca.crt")).unwrap();
    let client = https_client(&ca);
    let dns = format!("{service}.haechi-system.svc");
    let deadline = Instant::now() + Duration::from_secs(30);
    while https(&client, &dns, "GET", "/readyz", "").0 != 200 {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    let review = |privileged: bool| {
        json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": "0b1c2d3e-0000-4000-8000-000000000001",
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "namespace": "shop",
                "operation": "CREATE",
                "userInfo": {"username": "alice"},
                "object": {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": "web", "namespace": "shop"},
                    "spec": {"containers": [{
                        "name": "web",
                        "image": "nginx:1.27",
                        "securityContext": {"privileged": privileged}
                    }]}
                }
            }
        })
        .to_string()
    };
    let (status, body) = https(&client, &dns, "POST", "/validate", &review(true));
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["response"]["allowed"], false, "{answer}");
    let (_, body) = https(&client, &dns, "POST", "/validate", &review(false));
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["response"]["allowed"], true, "{answer}");
    assert!(
        api.requests()
            .iter()
            .any(|r| r.starts_with("GET /api/v1/namespaces")),
        "the webhook listed Namespaces through the stand-in: {:?}",
        api.requests()
    );

    let (code, stderr) = webhook.terminate();
    assert_eq!(code, 0, "SIGTERM ends the webhook cleanly:\n{stderr}");
}

fn https_client(ca: &[u8]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    use rustls_pki_types::pem::PemObject;
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(ca) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// One HTTPS request to the webhook on 127.0.0.1:8443, verifying its certificate for `dns`.
fn https(
    client: &Arc<rustls::ClientConfig>,
    dns: &str,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    let Ok(mut tcp) = TcpStream::connect("127.0.0.1:8443") else {
        return (0, String::new());
    };
    let name = rustls_pki_types::ServerName::try_from(dns.to_owned()).unwrap();
    let connection = rustls::ClientConnection::new(client.clone(), name).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, &mut tcp);
    write!(
        tls,
        "{method} {path} HTTP/1.1\r\nHost: {dns}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = Vec::new();
    let _ = tls.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("");
    // The webhook answers with a body of known length; no chunked decoding is needed.
    (status, body.to_owned())
}

/// A Kubernetes API server stand-in over real TLS: it checks the service account's bearer token
/// and answers the webhook's Namespace list (one Namespace) and watch (held open, empty), in the
/// API's wire format.
struct ApiStandIn {
    port: u16,
    /// The directory a pod's projected service-account volume holds: token, ca.crt, namespace.
    account: PathBuf,
    requests: Arc<std::sync::Mutex<Vec<String>>>,
}

impl ApiStandIn {
    fn start(dir: &Path) -> ApiStandIn {
        let account = dir.join("account");
        std::fs::create_dir_all(&account).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(account.join("ca.crt"), cert.pem()).unwrap();
        std::fs::write(account.join("token"), "stand-in-token").unwrap();
        std::fs::write(account.join("namespace"), "haechi-system").unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = Arc::new(
            rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(
                    vec![cert.der().clone()],
                    rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
                )
                .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (server, seen) = (server.clone(), seen.clone());
                std::thread::spawn(move || serve_api(stream, server, &seen));
            }
        });
        ApiStandIn {
            port,
            account,
            requests,
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve_api(
    mut tcp: TcpStream,
    server: Arc<rustls::ServerConfig>,
    seen: &std::sync::Mutex<Vec<String>>,
) {
    let connection = rustls::ServerConnection::new(server).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, &mut tcp);
    let mut reader = BufReader::new(&mut tls);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut authorized = false;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" {
                break;
            }
            if header
                .to_ascii_lowercase()
                .starts_with("authorization: bearer stand-in-token")
            {
                authorized = true;
            }
        }
        let target = request_line.split(' ').nth(1).unwrap_or("").to_owned();
        seen.lock().unwrap().push(format!("GET {target}"));
        let (status, body) = if !authorized {
            (
                "401 Unauthorized",
                json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Unauthorized", "code": 401}),
            )
        } else if target.contains("watch=true") {
            // Held open with nothing to say, as a quiet watch is.
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            let stream = reader.get_mut();
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.flush();
            std::thread::sleep(Duration::from_secs(600));
            return;
        } else if target.starts_with("/api/v1/namespaces") {
            (
                "200 OK",
                json!({
                    "kind": "NamespaceList", "apiVersion": "v1",
                    "metadata": {"resourceVersion": "100"},
                    "items": [{"metadata": {"name": "shop", "resourceVersion": "99",
                        "labels": {"kubernetes.io/metadata.name": "shop"}}}]
                }),
            )
        } else {
            (
                "404 Not Found",
                json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}),
            )
        };
        let body = body.to_string();
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let stream = reader.get_mut();
        if stream.write_all(response.as_bytes()).is_err() || stream.flush().is_err() {
            return;
        }
    }
}
