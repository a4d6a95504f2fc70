//! User and group names by id (Falco's `user.name`, `user.loginname`, `user.homedir`,
//! `user.shell`, `group.name`): the host's, read once at start, and each container's, read
//! from its own root filesystem (its image's `/etc/passwd`) the first time it is seen there.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;

/// One user, as passwd describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Home directory.
    pub home: String,
    /// Login shell.
    pub shell: String,
}

/// Users and groups by id.
#[derive(Clone, Debug, Default)]
pub struct Accounts {
    users: HashMap<u32, User>,
    groups: HashMap<u32, String>,
}

impl Accounts {
    /// The accounts of the system whose root is `root` (`etc/passwd`, `etc/group`); a file that
    /// cannot be read adds none.
    pub fn read(root: &Path) -> Self {
        let read = |file: &str| std::fs::read_to_string(root.join(file)).unwrap_or_default();
        Accounts::parse(&read("etc/passwd"), &read("etc/group"))
    }

    /// Accounts from the text of a passwd and a group file; lines that do not parse are
    /// skipped.
    pub fn parse(passwd: &str, group: &str) -> Self {
        let users = passwd
            .lines()
            .filter_map(|line| {
                // name:password:uid:gid:gecos:home:shell
                let fields: Vec<&str> = line.split(':').collect();
                let [name, _, uid, _, _, home, shell] = fields[..] else {
                    return None;
                };
                let user = User {
                    name: name.to_owned(),
                    home: home.to_owned(),
                    shell: shell.to_owned(),
                };
                Some((uid.parse().ok()?, user))
            })
            .collect();
        let groups = group
            .lines()
            .filter_map(|line| {
                // name:password:gid:members
                let mut fields = line.split(':');
                let name = fields.next()?;
                let gid = fields.nth(1)?.parse().ok()?;
                Some((gid, name.to_owned()))
            })
            .collect();
        Accounts { users, groups }
    }

    /// What is known without reading any file: root, uid and gid 0.
    pub fn root_only() -> Self {
        Accounts::parse("root:x:0:0:root:/root:/bin/sh", "root:x:0:")
    }

    /// The user with id `uid`.
    pub fn user(&self, uid: u32) -> Option<&User> {
        self.users.get(&uid)
    }

    /// The name of the group with id `gid`.
    pub fn group(&self, gid: u32) -> Option<&str> {
        self.groups.get(&gid).map(String::as_str)
    }
}

/// How many containers' accounts are kept; past it the cache starts over (containers come and
/// go, and a reread costs two small files).
const CONTAINERS_KEPT: usize = 4096;

/// The host's accounts and each container's.
#[derive(Debug)]
pub struct PerContainer {
    host: Arc<Accounts>,
    /// (device, inode) of the host's root directory.
    host_root: Option<(u64, u64)>,
    /// The processes are this host's, live: a container's accounts are read through their
    /// root directories. A recording's processes are not this host's.
    live: bool,
    by_container: HashMap<String, Arc<Accounts>>,
}

impl PerContainer {
    /// The host's accounts (from `/`), and none of any container yet.
    pub fn new() -> Self {
        PerContainer {
            host: Arc::new(Accounts::read(Path::new("/"))),
            host_root: root_id(Path::new("/")),
            live: true,
            by_container: HashMap::new(),
        }
    }

    /// For a recording: this host's accounts stand in for the recorded host's, and every
    /// container knows root only (as a sandbox's do).
    pub fn recorded() -> Self {
        PerContainer {
            host: Arc::new(Accounts::read(Path::new("/"))),
            host_root: None,
            live: false,
            by_container: HashMap::new(),
        }
    }

    /// The accounts of container `container` (the host's for `""`), read the first time
    /// through the root directory of the first of `pids` (a process of the container, then its
    /// ancestors) that has a root of its own. Until one has (runc's init shares the host's
    /// before pivot_root; a process may be gone), the host's accounts answer and nothing is
    /// kept.
    pub fn of(&mut self, container: &str, pids: impl IntoIterator<Item = u32>) -> Arc<Accounts> {
        if container.is_empty() {
            return Arc::clone(&self.host);
        }
        if let Some(accounts) = self.by_container.get(container) {
            return Arc::clone(accounts);
        }
        let accounts = if self.live {
            let own_root = pids.into_iter().find_map(|pid| {
                let root = std::path::PathBuf::from(format!("/proc/{pid}/root"));
                let id = root_id(&root)?;
                (Some(id) != self.host_root).then_some(root)
            });
            let Some(root) = own_root else {
                return Arc::clone(&self.host);
            };
            let accounts = Accounts::read(&root);
            if accounts.users.is_empty() {
                // An image without a passwd file still runs as root.
                Accounts::root_only()
            } else {
                accounts
            }
        } else {
            Accounts::root_only()
        };
        if self.by_container.len() >= CONTAINERS_KEPT {
            self.by_container.clear();
        }
        let accounts = Arc::new(accounts);
        self.by_container
            .insert(container.to_owned(), Arc::clone(&accounts));
        accounts
    }
}

impl Default for PerContainer {
    fn default() -> Self {
        PerContainer::new()
    }
}

fn root_id(path: &Path) -> Option<(u64, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.dev(), meta.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_groups_by_id() {
        let accounts = Accounts::parse(
            "root:x:0:0:root:/root:/bin/bash\n# comment\nbroken:x:nan:0::/:/bin/sh\n\
             app:x:1000:1000:App,,,:/home/app:/usr/sbin/nologin\n",
            "root:x:0:\nadm:x:4:syslog,app\nbad\n",
        );
        let app = accounts.user(1000).unwrap();
        assert_eq!(
            (app.name.as_str(), app.home.as_str(), app.shell.as_str()),
            ("app", "/home/app", "/usr/sbin/nologin")
        );
        assert_eq!(accounts.user(0).unwrap().name, "root");
        assert_eq!(accounts.user(42), None);
        assert_eq!(accounts.group(4), Some("adm"));
        assert_eq!(accounts.group(1000), None);
        assert_eq!(Accounts::root_only().group(0), Some("root"));
    }

    #[test]
    fn a_process_sharing_the_hosts_root_gets_the_hosts_accounts() {
        let mut accounts = PerContainer::new();
        let host = accounts.of("", [std::process::id()]);
        // This test's process has the host's root, and a gone process none: the host's
        // accounts answer, and are not kept as the container's.
        let shared = accounts.of("some-container", [u32::MAX, std::process::id()]);
        assert!(Arc::ptr_eq(&host, &shared));
        assert!(accounts.by_container.is_empty());
    }
}
