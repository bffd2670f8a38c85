//! Who may do what: the permissions of the product and the built-in roles that bundle them
//! (the fourth seed's role matrix: viewers look, users also manage compliance, provisioners
//! also manage hosts and see the provisioning gate, admins do everything including settings
//! and releasing a blocked machine's handover).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Permission {
    #[serde(rename = "compliance.view")]
    ComplianceView,
    #[serde(rename = "compliance.manage")]
    ComplianceManage,
    #[serde(rename = "hosts.view")]
    HostsView,
    #[serde(rename = "hosts.manage")]
    HostsManage,
    #[serde(rename = "settings.manage")]
    SettingsManage,
    /// The provisioning gate's results and reports.
    #[serde(rename = "provisioning.view")]
    ProvisioningView,
    /// The provisioning gate's settings, and releasing a blocked machine's handover.
    #[serde(rename = "provisioning.manage")]
    ProvisioningManage,
}

impl Permission {
    pub const ALL: [Permission; 7] = [
        Permission::ComplianceView,
        Permission::ComplianceManage,
        Permission::HostsView,
        Permission::HostsManage,
        Permission::SettingsManage,
        Permission::ProvisioningView,
        Permission::ProvisioningManage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ComplianceView => "compliance.view",
            Permission::ComplianceManage => "compliance.manage",
            Permission::HostsView => "hosts.view",
            Permission::HostsManage => "hosts.manage",
            Permission::SettingsManage => "settings.manage",
            Permission::ProvisioningView => "provisioning.view",
            Permission::ProvisioningManage => "provisioning.manage",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    User,
    Provisioner,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::User, Role::Provisioner, Role::Admin];

    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Viewer => &[ComplianceView, HostsView],
            Role::User => &[ComplianceView, ComplianceManage, HostsView],
            Role::Provisioner => &[
                ComplianceView,
                ComplianceManage,
                HostsView,
                HostsManage,
                ProvisioningView,
            ],
            Role::Admin => &Permission::ALL,
        }
    }

    pub fn can(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::User => "user",
            Role::Provisioner => "provisioner",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grow_monotonically() {
        for pair in Role::ALL.windows(2) {
            for p in pair[0].permissions() {
                assert!(
                    pair[1].can(*p),
                    "{:?} lacks {p} that {:?} has",
                    pair[1],
                    pair[0]
                );
            }
        }
        assert!(!Role::Viewer.can(Permission::ComplianceManage));
        assert!(Role::Admin.can(Permission::SettingsManage));
        assert_eq!(Role::parse("provisioner"), Some(Role::Provisioner));
    }
}
