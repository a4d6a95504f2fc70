//! User and group names by id (Falco's `user.name`, `user.loginname`, `user.homedir`,
//! `user.shell`, `group.name`), from the host's account files, read once at start.

use std::collections::HashMap;
use std::path::Path;

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
}
