//! Command lines as the components receive them: pflag-style flags (`--flag=value`,
//! `--flag value`, bare boolean `--flag`), systemd `ExecStart=` lines with their `Environment=`
//! and `EnvironmentFile=` variables, and env files.

use std::collections::HashMap;

/// One flag occurrence and where its text was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// The name without dashes.
    pub name: String,
    /// The value; `true` for a bare boolean flag.
    pub value: String,
    /// The node file the text came from.
    pub file: String,
    /// Its 1-based line, when known.
    pub line: Option<u32>,
}

/// A word of a command line and its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The text.
    pub text: String,
    /// The node file it was read from.
    pub file: String,
    /// 1-based line.
    pub line: Option<u32>,
}

/// Flags that pflag treats as booleans: a bare `--flag` never takes the next word as its value.
const BOOLEAN_FLAGS: &[&str] = &[
    "anonymous-auth",
    "allow-privileged",
    "auto-tls",
    "client-cert-auth",
    "enable-bootstrap-token-auth",
    "leader-elect",
    "make-iptables-util-chains",
    "peer-auto-tls",
    "peer-client-cert-auth",
    "profiling",
    "protect-kernel-defaults",
    "rotate-certificates",
    "rotate-server-certificates",
    "service-account-lookup",
    "use-service-account-credentials",
];

/// The flags of a command line (the program name excluded), in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    /// Every occurrence, in order; the last of a scalar flag wins.
    pub flags: Vec<Flag>,
}

impl Flags {
    /// Reads the flags of `words`; words that are not flags (positional arguments) are ignored.
    pub fn parse(words: &[Word]) -> Flags {
        let mut flags = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let word = &words[i];
            i += 1;
            let Some(body) = word
                .text
                .strip_prefix("--")
                .or_else(|| word.text.strip_prefix('-'))
            else {
                continue;
            };
            if body.is_empty() {
                break; // `--` ends the flags
            }
            let (name, value) = match body.split_once('=') {
                Some((name, value)) => (name.to_string(), value.to_string()),
                None if BOOLEAN_FLAGS.contains(&body) => (body.to_string(), "true".to_string()),
                None => match words.get(i) {
                    Some(next) if !next.text.starts_with('-') => {
                        i += 1;
                        (body.to_string(), next.text.clone())
                    }
                    _ => (body.to_string(), "true".to_string()),
                },
            };
            flags.push(Flag {
                name,
                value,
                file: word.file.clone(),
                line: word.line,
            });
        }
        Flags { flags }
    }

    /// The effective occurrence of a flag: the last.
    pub fn get(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().rev().find(|f| f.name == name)
    }

    /// The elements of a list flag over all its occurrences (`--a=x,y --a=z` is x, y, z).
    pub fn list(&self, name: &str) -> Vec<String> {
        self.flags
            .iter()
            .filter(|f| f.name == name)
            .flat_map(|f| f.value.split(','))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// Splits a line into words as a shell or systemd does: whitespace separates, single and double
/// quotes group, a backslash escapes the next character.
pub fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => word.push(c),
            (_, '\\') => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
                in_word = true;
            }
            (_, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// A variable with the file and line that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Var {
    /// The value.
    pub value: String,
    /// Where it was set.
    pub file: String,
    /// 1-based line.
    pub line: u32,
}

/// What a systemd unit file (or drop-in) says about the service's command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unit {
    /// `Environment=` assignments, in order.
    pub environment: Vec<(String, Var)>,
    /// `EnvironmentFile=` paths, with whether a leading `-` makes them optional.
    pub environment_files: Vec<(String, bool)>,
    /// `ExecStart=` lines: `None` for the empty assignment that resets the list.
    pub exec_start: Vec<Option<Word>>,
}

/// Reads the `[Service]` settings of a unit file the way systemd does (continuation lines,
/// comments, quoting inside `Environment=`). Lines are reported against `file`.
pub fn parse_unit(text: &str, file: &str) -> Unit {
    let mut unit = Unit::default();
    let mut logical: Vec<(u32, String)> = Vec::new();
    let mut pending: Option<(u32, String)> = None;
    for (n, raw) in text.lines().enumerate() {
        let n = u32::try_from(n + 1).unwrap_or(u32::MAX);
        let line = raw.trim();
        if pending.is_none() && (line.starts_with('#') || line.starts_with(';')) {
            continue;
        }
        let (start, mut acc) = pending.take().unwrap_or((n, String::new()));
        if let Some(head) = line.strip_suffix('\\') {
            acc.push_str(head);
            acc.push(' ');
            pending = Some((start, acc));
        } else {
            acc.push_str(line);
            logical.push((start, acc));
        }
    }
    logical.extend(pending);
    let mut in_service = false;
    for (line, text) in logical {
        if text.starts_with('[') {
            in_service = text == "[Service]";
            continue;
        }
        if !in_service {
            continue;
        }
        let Some((key, value)) = text.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "Environment" => {
                for assignment in split_words(value) {
                    if let Some((name, v)) = assignment.split_once('=') {
                        unit.environment.push((
                            name.to_string(),
                            Var {
                                value: v.to_string(),
                                file: file.to_string(),
                                line,
                            },
                        ));
                    }
                }
            }
            "EnvironmentFile" if !value.is_empty() => {
                let optional = value.starts_with('-');
                unit.environment_files
                    .push((value.trim_start_matches('-').to_string(), optional));
            }
            "ExecStart" => {
                if value.is_empty() {
                    unit.exec_start.push(None);
                } else {
                    unit.exec_start.push(Some(Word {
                        text: value
                            .trim_start_matches(['-', '@', ':', '+', '!'])
                            .to_string(),
                        file: file.to_string(),
                        line: Some(line),
                    }));
                }
            }
            _ => {}
        }
    }
    unit
}

/// Reads `KEY=value` lines of an environment file (comments, quotes, `export` not allowed by
/// systemd but tolerated).
pub fn parse_env_file(text: &str, file: &str) -> Vec<(String, Var)> {
    let mut vars = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let value = split_words(value).join(" ");
        vars.push((
            name.trim().to_string(),
            Var {
                value,
                file: file.to_string(),
                line: u32::try_from(n + 1).unwrap_or(u32::MAX),
            },
        ));
    }
    vars
}

/// Expands a command line: `$VAR` becomes the variable's words, `${VAR}` one word, as systemd
/// does; each word keeps the file and line it came from.
pub fn expand_command(command: &Word, env: &HashMap<String, Var>) -> Vec<Word> {
    let mut words = Vec::new();
    for token in split_words(&command.text) {
        let name = token
            .strip_prefix("${")
            .and_then(|t| t.strip_suffix('}'))
            .map(|n| (n, false))
            .or_else(|| token.strip_prefix('$').map(|n| (n, true)));
        match name {
            Some((name, split)) => {
                let Some(var) = env.get(name) else {
                    continue; // unset variables expand to nothing
                };
                let parts = if split {
                    split_words(&var.value)
                } else {
                    vec![var.value.clone()]
                };
                words.extend(parts.into_iter().map(|text| Word {
                    text,
                    file: var.file.clone(),
                    line: Some(var.line),
                }));
            }
            None => words.push(Word {
                text: token,
                file: command.file.clone(),
                line: command.line,
            }),
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<Word> {
        list.iter()
            .map(|t| Word {
                text: t.to_string(),
                file: "f".into(),
                line: Some(1),
            })
            .collect()
    }

    #[test]
    fn both_flag_forms_and_booleans() {
        let flags = Flags::parse(&words(&[
            "--authorization-mode",
            "Node,RBAC",
            "--profiling",
            "--anonymous-auth=false",
            "--enable-admission-plugins=NodeRestriction",
            "--enable-admission-plugins",
            "EventRateLimit",
        ]));
        assert_eq!(flags.get("authorization-mode").unwrap().value, "Node,RBAC");
        assert_eq!(flags.get("profiling").unwrap().value, "true");
        assert_eq!(flags.get("anonymous-auth").unwrap().value, "false");
        assert_eq!(flags.get("token-auth-file"), None);
        assert_eq!(
            flags.list("enable-admission-plugins"),
            ["NodeRestriction", "EventRateLimit"]
        );
    }

    #[test]
    fn systemd_environment_and_exec_start() {
        let unit = parse_unit(
            "[Service]\nEnvironment=\"A=--x=1 --y=2\" B=--z\nExecStart=\nExecStart=/usr/bin/kubelet $A \\\n  ${B} --w\n",
            "u",
        );
        let env: HashMap<String, Var> = unit.environment.into_iter().collect();
        let exec = unit.exec_start.last().unwrap().clone().unwrap();
        let expanded: Vec<String> = expand_command(&exec, &env)
            .into_iter()
            .map(|w| w.text)
            .collect();
        assert_eq!(
            expanded,
            ["/usr/bin/kubelet", "--x=1", "--y=2", "--z", "--w"]
        );
    }
}
