//! The kubelet as systemd starts it: the unit and its drop-ins, the environment they load, the
//! command line that results, and the config file that `--config` names. Settings resolve as the
//! kubelet resolves them: a flag beats the config file, the file beats the default, and the
//! defaults differ with and without a config file (KubeletConfiguration v1beta1 defaults are the
//! secure ones; the flags' own defaults are not).

use std::collections::HashMap;

use haechi_manifest::{Limits, Node, parse_documents};

use super::args::{Flags, Var, Word, expand_command, parse_env_file, parse_unit};
use super::fs::NodeFs;
use crate::report::Evidence;

/// Unit directories, lowest precedence first (a drop-in of the same name in a later directory
/// replaces an earlier one).
const UNIT_DIRS: [&str; 5] = [
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/usr/local/lib/systemd/system",
    "/run/systemd/system",
    "/etc/systemd/system",
];

/// The kubelet's configuration on this node.
pub(crate) struct Kubelet {
    /// Unit files and drop-ins that were read (node paths), the unit first.
    pub unit_files: Vec<String>,
    pub flags: Flags,
    /// The config file `--config` names, when the kubelet uses one.
    pub config_file: Option<String>,
    config: Option<Node>,
}

/// A kubelet setting: its flag and its KubeletConfiguration field.
pub(crate) struct Setting {
    pub flag: &'static str,
    pub path: &'static [&'static str],
    /// The default with a config file (v1beta1 defaulting).
    pub config_default: Option<&'static str>,
    /// The default of the flag, without a config file.
    pub flag_default: Option<&'static str>,
}

/// Where an effective value came from.
pub(crate) struct Value {
    pub value: Option<String>,
    pub evidence: Evidence,
}

impl Kubelet {
    /// Finds the kubelet's unit. `Ok(None)` when there is none; problems go to `problems`.
    pub(crate) fn load(fs: &NodeFs, problems: &mut Vec<String>) -> Option<Kubelet> {
        let mut unit_files = Vec::new();
        let mut unit = None;
        for dir in UNIT_DIRS {
            let path = format!("{dir}/kubelet.service");
            if fs.exists(&path) {
                unit = Some(path);
            }
        }
        unit_files.extend(unit);
        let mut dropins: Vec<(String, String)> = Vec::new();
        for dir in UNIT_DIRS {
            for path in fs.list(&format!("{dir}/kubelet.service.d")) {
                if let Some(name) = path.rsplit('/').next().filter(|n| n.ends_with(".conf")) {
                    let name = name.to_string();
                    dropins.retain(|(n, _)| *n != name);
                    dropins.push((name, path));
                }
            }
        }
        dropins.sort();
        unit_files.extend(dropins.into_iter().map(|(_, p)| p));
        if unit_files.is_empty() {
            return None;
        }
        let mut environment: HashMap<String, Var> = HashMap::new();
        let mut file_vars: Vec<(String, Var)> = Vec::new();
        let mut exec: Option<Word> = None;
        for file in &unit_files {
            let text = match fs.read(file) {
                Ok(text) => text,
                Err(e) => {
                    problems.push(format!("{file}: cannot read: {e}"));
                    continue;
                }
            };
            let unit = parse_unit(&text, file);
            environment.extend(unit.environment);
            for (env_file, optional) in unit.environment_files {
                match fs.read(&env_file) {
                    Ok(text) => file_vars.extend(parse_env_file(&text, &env_file)),
                    Err(e) if !optional => {
                        problems.push(format!("{env_file}: cannot read: {e} (named by {file})"))
                    }
                    Err(_) => {}
                }
            }
            for line in unit.exec_start {
                exec = line;
            }
        }
        // systemd: variables from EnvironmentFile= override those of Environment=.
        environment.extend(file_vars);
        let words = exec
            .map(|e| expand_command(&e, &environment))
            .unwrap_or_default();
        let flags = Flags::parse(words.get(1..).unwrap_or_default());
        let config_file = flags.get("config").map(|f| f.value.clone());
        let config = config_file.as_deref().and_then(|file| match fs.read(file) {
            Ok(text) => match parse_documents(&text, &Limits::default())
                .into_iter()
                .next()
            {
                Some(Ok(doc)) if doc.is_map() => Some(doc),
                Some(Err(e)) => {
                    problems.push(format!("{file}:{e}: the kubelet config is not valid YAML"));
                    None
                }
                _ => {
                    problems.push(format!(
                        "{file}: the kubelet config is not a KubeletConfiguration mapping"
                    ));
                    None
                }
            },
            Err(e) => {
                problems.push(format!("{file}: cannot read the kubelet config: {e}"));
                None
            }
        });
        Some(Kubelet {
            unit_files,
            flags,
            config_file,
            config,
        })
    }

    /// The effective value of a setting and the evidence for it.
    pub(crate) fn value(&self, setting: &Setting) -> Value {
        let key = setting.path.join(".");
        if let Some(flag) = self.flags.get(setting.flag) {
            return Value {
                value: Some(flag.value.clone()),
                evidence: Evidence {
                    location: flag.file.clone(),
                    line: flag.line,
                    key: format!("--{}", setting.flag),
                    value: Some(flag.value.clone()),
                },
            };
        }
        if let (Some(config), Some(file)) = (&self.config, &self.config_file) {
            if let Some(node) = config.path(setting.path) {
                let value = if node.is_seq() {
                    let items: Vec<&str> = node.items().iter().filter_map(Node::as_str).collect();
                    items.join(",")
                } else {
                    node.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| node.to_json().to_string())
                };
                return Value {
                    value: Some(value.clone()),
                    evidence: Evidence {
                        location: file.clone(),
                        line: Some(node.pos.line),
                        key,
                        value: Some(value),
                    },
                };
            }
            return Value {
                value: setting.config_default.map(str::to_string),
                evidence: Evidence {
                    location: file.clone(),
                    line: None,
                    key,
                    value: setting.config_default.map(|d| format!("{d} (default)")),
                },
            };
        }
        Value {
            value: setting.flag_default.map(str::to_string),
            evidence: Evidence {
                location: self.unit_files.last().cloned().unwrap_or_default(),
                line: None,
                key: format!("--{}", setting.flag),
                value: setting.flag_default.map(|d| format!("{d} (default)")),
            },
        }
    }

    /// The config file's setting that a flag overrides, when both are set.
    pub(crate) fn overridden(&self, setting: &Setting) -> Option<Evidence> {
        self.flags.get(setting.flag)?;
        let node = self.config.as_ref()?.path(setting.path)?;
        Some(Evidence {
            location: self.config_file.clone()?,
            line: Some(node.pos.line),
            key: setting.path.join("."),
            value: Some(
                node.as_str()
                    .map_or_else(|| node.to_json().to_string(), str::to_string),
            ),
        })
    }

    /// A feature gate's value: `--feature-gates` first, then `featureGates` in the config.
    pub(crate) fn feature_gate(&self, gate: &str) -> Option<Value> {
        if let Some(flag) = self.flags.get("feature-gates") {
            for pair in flag.value.split(',') {
                if let Some((name, value)) = pair.split_once('=')
                    && name.trim() == gate
                {
                    return Some(Value {
                        value: Some(value.trim().to_string()),
                        evidence: Evidence {
                            location: flag.file.clone(),
                            line: flag.line,
                            key: "--feature-gates".into(),
                            value: Some(flag.value.clone()),
                        },
                    });
                }
            }
        }
        let node = self.config.as_ref()?.path(&["featureGates", gate])?;
        let value = node.as_str()?.to_string();
        Some(Value {
            value: Some(value.clone()),
            evidence: Evidence {
                location: self.config_file.clone().unwrap_or_default(),
                line: Some(node.pos.line),
                key: format!("featureGates.{gate}"),
                value: Some(value),
            },
        })
    }

    /// The static pod directory: `staticPodPath` or `--pod-manifest-path`.
    pub(crate) fn static_pod_path(&self) -> Option<String> {
        self.value(&Setting {
            flag: "pod-manifest-path",
            path: &["staticPodPath"],
            config_default: None,
            flag_default: None,
        })
        .value
    }
}
