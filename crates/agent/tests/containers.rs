//! The agent against real containers: one started by Docker from an image made with
//! `docker import`, one started by runc from an OCI bundle, one started through containerd
//! as CRI starts a pod's container, all from a busybox-static rootfs. Needs root, Docker (and
//! its containerd), ctr, runc and busybox-static; without them the tests fail (set
//! HAECHI_ALLOW_SKIP=1 to skip them on a developer machine — CI never sets it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use haechi_agent::containers::Engines;
use haechi_agent::sources::{Crossing, Kernel};
use haechi_agent::{Agent, Format, Options};
use serde_json::Value;

fn available(tools: &[&str]) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| {
            Command::new("which")
                .arg(t)
                .output()
                .map_or(true, |o| !o.status.success())
        })
        .collect();
    if root && missing.is_empty() && Path::new("/bin/busybox").exists() {
        return true;
    }
    let why = format!("needs root, busybox-static and {tools:?} (missing: {missing:?})");
    if std::env::var_os("HAECHI_ALLOW_SKIP").is_some() {
        eprintln!("skipped: {why}");
        return false;
    }
    panic!("{why}; HAECHI_ALLOW_SKIP=1 skips");
}

/// A busybox-static root filesystem with a few applets and a shadow file.
fn rootfs(dir: &Path) -> PathBuf {
    let root = dir.join("rootfs");
    for sub in ["bin", "etc", "tmp", "proc", "sys", "dev"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    for applet in ["sh", "cat", "cp", "ln", "sleep", "nc", "true"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::write(root.join("etc/shadow"), "root:*:1::::::\n").unwrap();
    root
}

/// Reads the shadow file, makes a link, and runs a copy of busybox it drops in /tmp, at once:
/// the agent holds a container's events until its engine has described it, so even the first
/// carry its name and image.
const WORKLOAD: &str = "cat /etc/shadow >/dev/null; ln -s /etc/passwd /tmp/pw; \
                        cp /bin/busybox /tmp/busybox; /tmp/busybox true; sleep 1";

/// `rootfs` mounted as the writable layer over the image, as containerd's overlayfs
/// snapshotter lays out a container's root; unmounted on drop.
struct OverlayRoot(PathBuf);

impl OverlayRoot {
    fn mount(image: &Path, dir: &Path) -> OverlayRoot {
        let (upper, work, merged) = (dir.join("upper"), dir.join("work"), dir.join("rootfs"));
        for d in [&upper, &work, &merged] {
            std::fs::create_dir_all(d).unwrap();
        }
        let options = format!(
            "lowerdir={},upperdir={},workdir={}",
            image.display(),
            upper.display(),
            work.display()
        );
        let status = Command::new("mount")
            .args(["-t", "overlay", "overlay", "-o", &options])
            .arg(&merged)
            .status()
            .unwrap();
        assert!(status.success(), "mount -t overlay");
        OverlayRoot(merged)
    }
}

impl Drop for OverlayRoot {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Runs the agent while `start` runs a container; returns every event as JSON.
fn watch(engines: Engines, start: impl FnOnce() + Send + 'static) -> Vec<Value> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut out = Vec::new();
    runtime.block_on(async {
        // Every event crosses the kernel.
        let everything = Crossing {
            everything: true,
            ..Crossing::default()
        };
        let kernel = Kernel::start(everything, None).expect("the sensor starts");
        let mut agent = Agent::start(Options {
            sources: vec![Box::new(kernel)],
            engines,
            format: Format::Json,
            events: true,
            rules: Some(default_rules()),
            enforce: None,
            sinks: Default::default(),
            dedup: None,
            metrics: Default::default(),
        })
        .expect("agent starts");
        let worker = tokio::task::spawn_blocking(start);
        let stop = async {
            worker.await.unwrap();
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        let (_no_reloads, mut reloads) = tokio::sync::mpsc::unbounded_channel();
        let summary = agent.run(&mut out, stop, &mut reloads).await.unwrap();
        assert_eq!(summary.kernel.expect("the kernel was a source").lost, 0);
    });
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn find(events: &[Value], pred: impl Fn(&Value) -> bool) -> &Value {
    events
        .iter()
        .find(|e| pred(e))
        .unwrap_or_else(|| panic!("no such event among {}", events.len()))
}

fn assert_container_actions(events: &[Value], id: &str, name: &str) {
    let short = &id[..12];
    // Every event of the container carries its name, the first exec's too.
    let ours: Vec<&Value> = events
        .iter()
        .filter(|e| e.get("evt.type").is_some() && e["container.id"] == short)
        .collect();
    assert!(!ours.is_empty());
    for event in &ours {
        assert_eq!(event["container.name"], name, "{event}");
    }
    let open = find(events, |e| {
        e["evt.type"] == "openat" && e["fd.name"] == "/etc/shadow" && e["container.id"] == short
    });
    assert_eq!(open["container.name"], name);
    assert_eq!(open["proc.name"], "cat");
    // Root as the image's passwd describes it (the host's root has /bin/bash).
    assert_eq!(open["user.name"], "root");
    assert_eq!(open["user.shell"], "/bin/sh");
    assert_eq!(open["evt.res"], "SUCCESS");
    // Ancestry: cat was started by the container's shell.
    assert_eq!(open["proc.pname"], "sh");
    assert!(
        open["proc.pcmdline"]
            .as_str()
            .unwrap()
            .contains("cat /etc/shadow")
    );
    // The workload's link (runc's own `/dev/ptmx -> pts/ptmx` may be attributed to the
    // container too, depending on when runc init joined its cgroup).
    let symlink = find(events, |e| {
        e["evt.type"].as_str().unwrap_or("").starts_with("symlink")
            && e["container.id"] == short
            && e["evt.arg.linkpath"] == "/tmp/pw"
    });
    assert_eq!(symlink["evt.arg.target"], "/etc/passwd");
    let exec = find(events, |e| {
        e["evt.type"] == "execve" && e["container.id"] == short && e["proc.args"] == "/etc/shadow"
    });
    assert_eq!(exec["proc.exe"], "cat");
    // The default rules saw the same actions: alerts in Falco's shape, among the events.
    let alert = find(events, |e| {
        e["rule"] == "Read sensitive file by untrusted program"
            && e["output_fields"]["container.id"] == short
    });
    assert_eq!(alert["priority"], "Warning");
    assert_eq!(alert["source"], "syscall");
    assert_eq!(alert["output_fields"]["fd.name"], "/etc/shadow");
    assert_eq!(alert["output_fields"]["proc.name"], "cat");
    assert!(
        alert["output"]
            .as_str()
            .unwrap()
            .contains("file=/etc/shadow process=cat")
    );
    assert!(
        alert["tags"]
            .as_array()
            .unwrap()
            .contains(&"T1003.008".into())
    );
    let shell = find(events, |e| {
        e["rule"] == "Terminal shell in container" && e["output_fields"]["container.id"] == short
    });
    assert_eq!(shell["output_fields"]["proc.name"], "sh");
}

fn default_rules() -> haechi_rules::Ruleset {
    haechi_rules::Ruleset::from_text(
        haechi_rules::DEFAULT_RULES_NAME,
        haechi_rules::DEFAULT_RULES,
        haechi_rules::Options::default(),
    )
    .unwrap()
}

#[test]
fn docker_container_actions_carry_its_id_name_and_image() {
    if !available(&["docker"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = rootfs(dir.path());
    let tag = format!("haechi-test-busybox:{}", std::process::id());
    let import = Command::new("sh")
        .args([
            "-c",
            &format!("tar -C {} -c . | docker import - {tag}", root.display()),
        ])
        .output()
        .unwrap();
    assert!(import.status.success(), "docker import: {import:?}");
    let name = format!("haechi-test-{}", std::process::id());
    let (image, container) = (tag.clone(), name.clone());
    let events = watch(Engines::default(), move || {
        let status = Command::new("docker")
            .args([
                "run", "--rm", "--name", &container, &image, "sh", "-c", WORKLOAD,
            ])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    });
    let _ = Command::new("docker").args(["rmi", &tag]).output();
    let open = find(&events, |e| e["container.name"] == name.as_str());
    let id = open["container.full_id"].as_str().unwrap().to_owned();
    assert_container_actions(&events, &id, &name);
    assert_eq!(open["container.image.repository"], "haechi-test-busybox");
    assert_eq!(open["container.image.tag"], std::process::id().to_string());
    assert_eq!(open["container.privileged"], false);
    // The container's first process is pid 1 in its namespace (what "Launch privileged
    // container" looks for; this machine cannot start a privileged one).
    let init = find(&events, |e| {
        e["evt.type"] == "execve"
            && e["container.id"] == open["container.id"]
            && e["proc.name"] == "sh"
    });
    assert_eq!(init["proc.vpid"], 1);
}

#[test]
fn runc_container_actions_carry_its_id_and_oci_annotations() {
    if !available(&["runc"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let image = rootfs(&dir.path().join("image"));
    let bundle = dir.path();
    let _root = OverlayRoot::mount(&image, bundle);
    let state_root = dir.path().join("state");
    let spec = Command::new("runc")
        .args(["spec", "--bundle"])
        .arg(bundle)
        .status()
        .unwrap();
    assert!(spec.success());
    let config_path = bundle.join("config.json");
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    config["process"]["terminal"] = Value::Bool(false);
    config["process"]["args"] = serde_json::json!(["sh", "-c", WORKLOAD]);
    config["root"]["readonly"] = Value::Bool(false);
    config["annotations"] = serde_json::json!({
        "io.kubernetes.cri.container-name": "web",
        "io.kubernetes.cri.image-name": "registry.local/shop/web:2.1",
        "io.kubernetes.cri.sandbox-name": "web-7d4b9",
        "io.kubernetes.cri.sandbox-namespace": "shop",
        "io.kubernetes.cri.sandbox-uid": "0f8e2b1c-1111-2222-3333-444455556666"
    });
    std::fs::write(&config_path, config.to_string()).unwrap();
    // runc names containers by id: use a 64-hex one, like container engines do.
    let id = format!("{:0>64x}", u128::from(std::process::id()) << 64 | 0xabc);
    let (root_arg, bundle_arg, run_id) = (state_root.clone(), bundle.to_owned(), id.clone());
    let events = watch(
        Engines {
            runtime_roots: vec![state_root.clone()],
            ..Engines::default()
        },
        move || {
            let status = Command::new("runc")
                .arg("--root")
                .arg(&root_arg)
                .args(["run", "--bundle"])
                .arg(&bundle_arg)
                .arg(&run_id)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success(), "runc run");
        },
    );
    let _ = Command::new("runc")
        .arg("--root")
        .arg(&state_root)
        .args(["delete", "--force", &id])
        .output();
    assert_container_actions(&events, &id, "web");
    let open = find(&events, |e| {
        e["fd.name"] == "/etc/shadow" && e["container.name"] == "web"
    });
    assert_eq!(open["k8s.pod.name"], "web-7d4b9");
    assert_eq!(open["k8s.ns.name"], "shop");
    assert_eq!(
        open["container.image.repository"],
        "registry.local/shop/web"
    );
    assert_eq!(open["container.image.tag"], "2.1");
    // The copy of busybox run from /tmp is not the image's: it is in the upper layer.
    let short = &id[..12];
    let dropped = find(&events, |e| {
        e["rule"] == "Drop and execute new binary in container"
            && e["output_fields"]["container.id"] == short
    });
    assert_eq!(dropped["output_fields"]["proc.exepath"], "/tmp/busybox");
    assert_eq!(dropped["priority"], "Critical");
    let shipped = find(&events, |e| {
        e["evt.type"] == "execve" && e["container.id"] == short && e["proc.args"] == "/etc/shadow"
    });
    assert_eq!(shipped["proc.exepath"], "/bin/busybox");
    assert_eq!(shipped["proc.is_exe_upper_layer"], false);
}

/// The containerd the Docker Engine runs (on a Kubernetes node, CRI's is
/// /run/containerd/containerd.sock).
const CONTAINERD: &str = "/var/run/docker/containerd/containerd.sock";

/// `ctr` against that containerd, in CRI's namespace.
fn ctr(args: &[&str]) -> std::process::Output {
    Command::new("ctr")
        .args(["-a", CONTAINERD, "-n", "k8s.io"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Removes what the containerd test made, even when it fails: the container (and its task
/// and snapshot), the image in containerd and in Docker, and the pod's cgroups.
struct ContainerdCleanup {
    id: String,
    image: String,
    docker_tag: String,
    pod_cgroup: String,
}

impl Drop for ContainerdCleanup {
    fn drop(&mut self) {
        let _ = ctr(&["task", "kill", "-s", "SIGKILL", &self.id]);
        let _ = ctr(&["task", "delete", "--force", &self.id]);
        let _ = ctr(&["container", "delete", &self.id]);
        let _ = ctr(&["snapshot", "delete", &self.id]);
        let _ = ctr(&["image", "delete", "--sync", &self.image]);
        // The namespace, if this test made it (containerd keeps one that holds anything).
        let _ = ctr(&["namespace", "remove", "k8s.io"]);
        let _ = Command::new("docker")
            .args(["rmi", &self.docker_tag])
            .output();
        // The pod's cgroup and its parents, in every hierarchy (rmdir leaves those in use).
        let controllers = std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .chain([PathBuf::from("/sys/fs/cgroup")]);
        for controller in controllers {
            let mut dir = controller.join(self.pod_cgroup.trim_start_matches('/'));
            while dir != controller && std::fs::remove_dir(&dir).is_ok() {
                dir.pop();
            }
        }
    }
}

#[test]
fn containerd_cri_container_actions_carry_its_pod_and_image() {
    if !available(&["docker", "ctr"]) {
        return;
    }
    if !Path::new(CONTAINERD).exists() {
        let why = format!("needs Docker's containerd at {CONTAINERD}");
        if std::env::var_os("HAECHI_ALLOW_SKIP").is_some() {
            eprintln!("skipped: {why}");
            return;
        }
        panic!("{why}; HAECHI_ALLOW_SKIP=1 skips");
    }
    let dir = tempfile::tempdir().unwrap();
    let root = rootfs(dir.path());
    let pid = std::process::id();
    let docker_tag = format!("haechi-test-cri:{pid}");
    // ctr names images as containerd does: fully qualified.
    let image = format!("docker.io/library/{docker_tag}");
    let id = format!("{:0>64x}", u128::from(pid) << 64 | 0xc71);
    let pod_uid = format!("4c0ffee0-{:04x}-4e11-9a7e-0123456789ab", pid & 0xffff);
    let pod_cgroup = format!("/kubepods/besteffort/pod{pod_uid}");
    let _cleanup = ContainerdCleanup {
        id: id.clone(),
        image: image.clone(),
        docker_tag: docker_tag.clone(),
        pod_cgroup: pod_cgroup.clone(),
    };
    let archive = dir.path().join("image.tar");
    let import = Command::new("sh")
        .args([
            "-c",
            &format!(
                "tar -C {} -c . | docker import - {docker_tag} && docker save -o {} {docker_tag}",
                root.display(),
                archive.display()
            ),
        ])
        .output()
        .unwrap();
    assert!(import.status.success(), "docker import, save: {import:?}");
    let import = ctr(&["image", "import", archive.to_str().unwrap()]);
    assert!(import.status.success(), "ctr image import: {import:?}");

    let (run_image, run_id) = (image.clone(), id.clone());
    let (cgroup, uid) = (format!("{pod_cgroup}/{id}"), pod_uid.clone());
    let started = std::time::Instant::now();
    let events = watch(
        // Only containerd: what the events say of the pod comes from it.
        Engines {
            docker_socket: dir.path().join("no-docker.sock"),
            containerd_sockets: vec![CONTAINERD.into()],
            runtime_roots: Vec::new(),
        },
        move || {
            let run = ctr(&[
                "run",
                "--rm",
                "--null-io",
                "--cgroup",
                &cgroup,
                "--label",
                "io.kubernetes.pod.name=web-7d4b9",
                "--label",
                "io.kubernetes.pod.namespace=shop",
                "--label",
                &format!("io.kubernetes.pod.uid={uid}"),
                "--label",
                "io.kubernetes.container.name=web",
                &run_image,
                &run_id,
                "sh",
                "-c",
                WORKLOAD,
            ]);
            assert!(run.status.success(), "ctr run: {run:?}");
        },
    );
    eprintln!("containerd container ran in {:?}", started.elapsed());
    assert_container_actions(&events, &id, "web");
    let open = find(&events, |e| {
        e["fd.name"] == "/etc/shadow" && e["container.id"] == id[..12]
    });
    assert_eq!(open["container.name"], "web");
    assert_eq!(open["k8s.pod.name"], "web-7d4b9");
    assert_eq!(open["k8s.ns.name"], "shop");
    assert_eq!(open["k8s.pod.uid"], pod_uid.as_str());
    assert_eq!(
        open["container.image.repository"],
        "docker.io/library/haechi-test-cri"
    );
    assert_eq!(open["container.image.tag"], pid.to_string());
    assert_eq!(open["container.privileged"], false);
}
