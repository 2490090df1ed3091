//! The configuration an admin writes: permissions, roles, groups, sharing.

use dialtone_model::Schema;
use std::collections::{BTreeMap, BTreeSet};

/// What a permission set allows on one object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObjectPerms {
    pub read: bool,
    pub create: bool,
    pub edit: bool,
    pub delete: bool,
    /// Read every record, whatever the sharing.
    pub view_all: bool,
    /// Read, edit and delete every record, whatever the sharing.
    pub modify_all: bool,
}

impl ObjectPerms {
    pub const ALL: ObjectPerms = ObjectPerms { read: true, create: true, edit: true, delete: true, view_all: true, modify_all: true };
    pub const CRED: ObjectPerms = ObjectPerms { read: true, create: true, edit: true, delete: true, view_all: false, modify_all: false };
    pub const READ: ObjectPerms = ObjectPerms { read: true, create: false, edit: false, delete: false, view_all: false, modify_all: false };

    /// The union of two grants, normalised so each permission implies the ones it needs
    /// (edit implies read; modify all implies view all and delete).
    pub fn union(self, o: ObjectPerms) -> ObjectPerms {
        ObjectPerms {
            read: self.read || o.read,
            create: self.create || o.create,
            edit: self.edit || o.edit,
            delete: self.delete || o.delete,
            view_all: self.view_all || o.view_all,
            modify_all: self.modify_all || o.modify_all,
        }
        .normalised()
    }

    pub fn normalised(mut self) -> ObjectPerms {
        if self.modify_all {
            self.view_all = true;
            self.delete = true;
            self.edit = true;
        }
        if self.view_all || self.edit || self.delete || self.create {
            self.read = true;
        }
        if self.delete {
            self.edit = true;
        }
        self
    }
}

/// Field-level security for one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FieldAccess {
    Hidden,
    Read,
    Edit,
}

/// Permissions that are not about one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SystemPerm {
    ApiEnabled,
    ViewSetup,
    ManageUsers,
    ManageCallCenters,
    ManageRouting,
    ManageSharing,
    ViewAllData,
    ModifyAllData,
    ViewAllRecordings,
    ListenToRecordings,
    ExportData,
    UseSoftphone,
    /// Supervisors: the live queue board (waiting calls, agents by status and load) and any call's routing decision.
    MonitorQueues,
    /// Run the contact-centre reports and see the dashboard (rows still limited by record access).
    RunReports,
    /// Record-triggered automation: write Flow records, import the flows file, retry parked runs.
    ManageFlows,
}

impl SystemPerm {
    pub const ALL: [SystemPerm; 15] = [
        SystemPerm::ApiEnabled,
        SystemPerm::ViewSetup,
        SystemPerm::ManageUsers,
        SystemPerm::ManageCallCenters,
        SystemPerm::ManageRouting,
        SystemPerm::ManageSharing,
        SystemPerm::ViewAllData,
        SystemPerm::ModifyAllData,
        SystemPerm::ViewAllRecordings,
        SystemPerm::ListenToRecordings,
        SystemPerm::ExportData,
        SystemPerm::UseSoftphone,
        SystemPerm::MonitorQueues,
        SystemPerm::RunReports,
        SystemPerm::ManageFlows,
    ];

    /// The API name, as in Salesforce's PermissionSet fields (`PermissionsViewAllData` → `ViewAllData`).
    pub fn name(self) -> &'static str {
        match self {
            SystemPerm::ApiEnabled => "ApiEnabled",
            SystemPerm::ViewSetup => "ViewSetup",
            SystemPerm::ManageUsers => "ManageUsers",
            SystemPerm::ManageCallCenters => "ManageCallCenters",
            SystemPerm::ManageRouting => "ManageRouting",
            SystemPerm::ManageSharing => "ManageSharing",
            SystemPerm::ViewAllData => "ViewAllData",
            SystemPerm::ModifyAllData => "ModifyAllData",
            SystemPerm::ViewAllRecordings => "ViewAllRecordings",
            SystemPerm::ListenToRecordings => "ListenToRecordings",
            SystemPerm::ExportData => "ExportData",
            SystemPerm::UseSoftphone => "UseSoftphone",
            SystemPerm::MonitorQueues => "MonitorQueues",
            SystemPerm::RunReports => "RunReports",
            SystemPerm::ManageFlows => "ManageFlows",
        }
    }

    pub fn parse(s: &str) -> Option<SystemPerm> {
        let s = s.strip_prefix("Permissions").unwrap_or(s);
        SystemPerm::ALL.into_iter().find(|p| p.name().eq_ignore_ascii_case(s))
    }
}

/// A permission set; a profile is a permission set with `is_profile`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionSet {
    pub name: String,
    pub is_profile: bool,
    /// Object API name → permissions.
    pub objects: BTreeMap<String, ObjectPerms>,
    /// `Object.Field` → access. A field not listed follows its object:
    /// readable with read, editable with edit.
    pub fields: BTreeMap<String, FieldAccess>,
    pub system: BTreeSet<SystemPerm>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionSetGroup {
    pub name: String,
    pub sets: Vec<String>,
}

/// A node of the role hierarchy: users in a role see what users in roles below it own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub parent: Option<String>,
}

/// A public group: users and roles (with their subordinates, if asked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublicGroup {
    pub name: String,
    pub users: Vec<String>,
    pub roles: Vec<String>,
    pub roles_and_subordinates: Vec<String>,
}

/// Who a sharing rule or a manual share names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Principal {
    User(String),
    Role(String),
    RoleAndSubordinates(String),
    Group(String),
}

impl Principal {
    /// The key stored in the share table (`user:005…`, `role:Agents`, `group:Tier2`).
    pub fn key(&self) -> String {
        match self {
            Principal::User(id) => format!("user:{id}"),
            Principal::Role(r) => format!("role:{r}"),
            Principal::RoleAndSubordinates(r) => format!("rolesub:{r}"),
            Principal::Group(g) => format!("group:{g}"),
        }
    }
}

/// Org-wide default for an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    Private,
    PublicRead,
    PublicReadWrite,
    /// Access follows the parent record through this lookup field (VoiceCallRecording → VoiceCall).
    ControlledByParent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AccessLevel {
    Read,
    Edit,
}

/// A field equals a value (criteria-based sharing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criterion {
    pub field: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKind {
    /// Records owned by members of `owners` are shared.
    OwnerBased { owners: Principal },
    /// Records matching every criterion are shared.
    CriteriaBased { criteria: Vec<Criterion> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharingRule {
    pub name: String,
    pub object: String,
    pub kind: RuleKind,
    pub share_with: Principal,
    pub level: AccessLevel,
}

/// One user as the access model sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub id: String,
    pub profile: String,
    pub role: Option<String>,
    pub permission_sets: Vec<String>,
    pub permission_set_groups: Vec<String>,
    pub active: bool,
}

/// The org's whole security configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Security {
    pub permission_sets: Vec<PermissionSet>,
    pub permission_set_groups: Vec<PermissionSetGroup>,
    pub roles: Vec<Role>,
    pub groups: Vec<PublicGroup>,
    /// Object → org-wide default; objects not listed are Private.
    pub defaults: BTreeMap<String, Sharing>,
    pub rules: Vec<SharingRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecurityError {
    #[error("unknown {kind} {name:?} (referenced by {by})")]
    Unknown { kind: &'static str, name: String, by: String },
    #[error("{0} is defined twice")]
    Duplicate(String),
    #[error("the role hierarchy has a cycle through {0}")]
    Cycle(String),
    #[error("{by}: {object}.{field} is not a field")]
    Field { by: String, object: String, field: String },
}

/// The lookup field through which a child object's access follows its parent.
pub fn parent_field(object: &str) -> Option<(&'static str, &'static str)> {
    match object {
        "VoiceCallRecording" => Some(("VoiceCallId", "VoiceCall")),
        "ConversationEntry" => Some(("ConversationId", "VoiceCall")),
        _ => None,
    }
}

impl Security {
    pub fn set(&self, name: &str) -> Option<&PermissionSet> {
        self.permission_sets.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    pub fn sharing(&self, object: &str) -> Sharing {
        if let Some(s) = self.defaults.get(object) {
            return *s;
        }
        if parent_field(object).is_some() { Sharing::ControlledByParent } else { Sharing::Private }
    }

    /// Checks that every name refers to something that exists and the role tree has no cycle.
    pub fn validate(&self, schema: &Schema) -> Result<(), SecurityError> {
        let mut seen = BTreeSet::new();
        for p in &self.permission_sets {
            if !seen.insert(p.name.to_ascii_lowercase()) {
                return Err(SecurityError::Duplicate(format!("permission set {}", p.name)));
            }
            for o in p.objects.keys() {
                if schema.object(o).is_none() {
                    return Err(SecurityError::Unknown { kind: "object", name: o.clone(), by: p.name.clone() });
                }
            }
            for f in p.fields.keys() {
                let (o, field) = f.split_once('.').unwrap_or((f, ""));
                if schema.object(o).and_then(|o| o.field(field)).is_none() {
                    return Err(SecurityError::Field { by: p.name.clone(), object: o.into(), field: field.into() });
                }
            }
        }
        for g in &self.permission_set_groups {
            for s in &g.sets {
                if self.set(s).is_none() {
                    return Err(SecurityError::Unknown { kind: "permission set", name: s.clone(), by: g.name.clone() });
                }
            }
        }
        let role = |r: &str, by: &str| {
            if self.roles.iter().any(|x| x.name == r) {
                Ok(())
            } else {
                Err(SecurityError::Unknown { kind: "role", name: r.to_string(), by: by.to_string() })
            }
        };
        for r in &self.roles {
            if let Some(p) = &r.parent {
                role(p, &r.name)?;
            }
            // Walk up: a cycle shows as a walk longer than the number of roles.
            let mut cur = r.parent.clone();
            let mut steps = 0;
            while let Some(c) = cur {
                steps += 1;
                if steps > self.roles.len() {
                    return Err(SecurityError::Cycle(r.name.clone()));
                }
                cur = self.roles.iter().find(|x| x.name == c).and_then(|x| x.parent.clone());
            }
        }
        for g in &self.groups {
            for r in g.roles.iter().chain(&g.roles_and_subordinates) {
                role(r, &g.name)?;
            }
        }
        for rule in &self.rules {
            let obj = schema
                .object(&rule.object)
                .ok_or_else(|| SecurityError::Unknown { kind: "object", name: rule.object.clone(), by: rule.name.clone() })?;
            let mut principals = vec![&rule.share_with];
            match &rule.kind {
                RuleKind::OwnerBased { owners } => principals.push(owners),
                RuleKind::CriteriaBased { criteria } => {
                    for c in criteria {
                        if obj.field(&c.field).is_none() {
                            return Err(SecurityError::Field { by: rule.name.clone(), object: obj.name.clone(), field: c.field.clone() });
                        }
                    }
                }
            }
            for p in principals {
                match p {
                    Principal::Role(r) | Principal::RoleAndSubordinates(r) => role(r, &rule.name)?,
                    Principal::Group(g) if !self.groups.iter().any(|x| &x.name == g) => {
                        return Err(SecurityError::Unknown { kind: "group", name: g.clone(), by: rule.name.clone() });
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// The roles below `role` (not including it).
    pub fn subordinates(&self, role: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut frontier = vec![role.to_string()];
        while let Some(r) = frontier.pop() {
            for child in self.roles.iter().filter(|x| x.parent.as_deref() == Some(r.as_str())) {
                if out.insert(child.name.clone()) {
                    frontier.push(child.name.clone());
                }
            }
        }
        out
    }
}
