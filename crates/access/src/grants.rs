//! A user's effective access, computed from the configuration.

use crate::model::{
    AccessLevel, Criterion, FieldAccess, ObjectPerms, PermissionSet, Principal, RuleKind, Security, Sharing, SystemPerm, UserInfo,
    parent_field,
};
use dialtone_model::{FieldType, Schema};
use std::collections::{BTreeMap, BTreeSet};

/// Object-level operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Read,
    Create,
    Edit,
    Delete,
}

/// Row access asked for: seeing a record, or changing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Read,
    Edit,
}

/// Which rows of an object a user reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    All,
    None,
    Scoped(Scope),
}

/// A record is reached when any of these holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Its owner is one of these users (the user, and users in roles below).
    pub owners: BTreeSet<String>,
    /// It matches every criterion of one of these sets (criteria-based sharing).
    pub criteria: Vec<Vec<Criterion>>,
    /// A manual share names one of these principal keys with at least `level`.
    pub principals: BTreeSet<String>,
    pub level: Option<AccessLevel>,
    /// Access follows the parent: (lookup field, parent object, parent's visibility).
    pub parent: Option<(String, String, Box<Visibility>)>,
}

/// What one user may do. Built by [`Security::grants`]; cheap to query.
#[derive(Debug, Clone)]
pub struct Grants {
    pub user: String,
    pub active: bool,
    sets: Vec<PermissionSet>,
    objects: BTreeMap<String, ObjectPerms>,
    pub system: BTreeSet<SystemPerm>,
    read: BTreeMap<String, Visibility>,
    edit: BTreeMap<String, Visibility>,
    principals: BTreeSet<String>,
}

impl Grants {
    pub fn object(&self, object: &str) -> ObjectPerms {
        if !self.active {
            return ObjectPerms::default();
        }
        self.objects.get(object).copied().unwrap_or_default()
    }

    pub fn can(&self, object: &str, op: Op) -> bool {
        let p = self.object(object);
        match op {
            Op::Read => p.read,
            Op::Create => p.create,
            Op::Edit => p.edit,
            Op::Delete => p.delete,
        }
    }

    pub fn has(&self, perm: SystemPerm) -> bool {
        self.active && self.system.contains(&perm)
    }

    /// Field-level security. Each permission set gives a field the access it
    /// names, or else what its object permissions imply; the user gets the
    /// most any set gives. System and computed fields are never editable.
    pub fn field(&self, schema: &Schema, object: &str, field: &str) -> FieldAccess {
        let Some(o) = schema.object(object) else { return FieldAccess::Hidden };
        let Some(f) = o.field(field) else { return FieldAccess::Hidden };
        if !self.active {
            return FieldAccess::Hidden;
        }
        let key = format!("{}.{}", o.name, f.name);
        let always_readable = f.name == "Id" || matches!(f.ty, FieldType::AutoNumber) || !f.updateable && !f.createable;
        let mut best = FieldAccess::Hidden;
        for s in &self.sets {
            let perms = s.objects.get(&o.name).copied().unwrap_or_default().normalised();
            let derived = if perms.edit || perms.create {
                FieldAccess::Edit
            } else if perms.read {
                FieldAccess::Read
            } else {
                FieldAccess::Hidden
            };
            let given = match s.fields.get(&key) {
                Some(explicit) if perms.read => *explicit,
                _ => derived,
            };
            best = best.max(given);
        }
        let p = self.object(&o.name);
        if p.modify_all {
            best = FieldAccess::Edit;
        } else if p.view_all {
            best = best.max(FieldAccess::Read);
        }
        if always_readable && self.object(&o.name).read {
            best = best.max(FieldAccess::Read);
        }
        if best == FieldAccess::Edit && !f.createable && !f.updateable {
            best = FieldAccess::Read;
        }
        best
    }

    pub fn can_read_field(&self, schema: &Schema, object: &str, field: &str) -> bool {
        self.field(schema, object, field) >= FieldAccess::Read
    }

    /// The rows of `object` this user reaches in `mode`.
    pub fn rows(&self, object: &str, mode: Mode) -> &Visibility {
        static NONE: Visibility = Visibility::None;
        if !self.active {
            return &NONE;
        }
        let map = match mode {
            Mode::Read => &self.read,
            Mode::Edit => &self.edit,
        };
        map.get(object).unwrap_or(&NONE)
    }

    /// The principal keys manual shares may name to reach this user.
    pub fn principals(&self) -> &BTreeSet<String> {
        &self.principals
    }
}

impl Security {
    fn effective_sets(&self, user: &UserInfo) -> Vec<PermissionSet> {
        let mut names: Vec<&str> = vec![user.profile.as_str()];
        names.extend(user.permission_sets.iter().map(String::as_str));
        for g in &user.permission_set_groups {
            if let Some(group) = self.permission_set_groups.iter().find(|x| x.name.eq_ignore_ascii_case(g)) {
                names.extend(group.sets.iter().map(String::as_str));
            }
        }
        let mut out: Vec<PermissionSet> = Vec::new();
        for n in names {
            if let Some(s) = self.set(n)
                && !out.iter().any(|x| x.name == s.name) {
                    out.push(s.clone());
                }
        }
        out
    }

    fn ancestors_and_self(&self, role: &str) -> Vec<String> {
        let mut out = vec![role.to_string()];
        let mut cur = self.roles.iter().find(|r| r.name == role).and_then(|r| r.parent.clone());
        while let Some(c) = cur {
            if out.contains(&c) {
                break;
            }
            cur = self.roles.iter().find(|r| r.name == c).and_then(|r| r.parent.clone());
            out.push(c);
        }
        out
    }

    /// Whether `principal` names `user` directly (not through the hierarchy).
    fn names(&self, principal: &Principal, user: &UserInfo) -> bool {
        let role = user.role.as_deref();
        match principal {
            Principal::User(id) => *id == user.id,
            Principal::Role(r) => role == Some(r.as_str()),
            Principal::RoleAndSubordinates(r) => role.is_some_and(|x| x == r || self.subordinates(r).contains(x)),
            Principal::Group(g) => self.groups.iter().filter(|x| &x.name == g).any(|grp| {
                grp.users.contains(&user.id)
                    || role.is_some_and(|x| {
                        grp.roles.iter().any(|r| r == x)
                            || grp.roles_and_subordinates.iter().any(|r| r == x || self.subordinates(r).contains(x))
                    })
            }),
        }
    }

    /// Users below `user` in the role hierarchy.
    fn subordinate_users<'a>(&self, user: &UserInfo, directory: &'a [UserInfo]) -> Vec<&'a UserInfo> {
        let Some(role) = &user.role else { return Vec::new() };
        let below = self.subordinates(role);
        directory.iter().filter(|u| u.role.as_ref().is_some_and(|r| below.contains(r))).collect()
    }

    /// What `user` may do, given every user in the org (`directory`, for the
    /// role hierarchy and owner-based rules).
    pub fn grants(&self, schema: &Schema, user: &UserInfo, directory: &[UserInfo]) -> Grants {
        let sets = self.effective_sets(user);
        let mut system = BTreeSet::new();
        for s in &sets {
            system.extend(s.system.iter().copied());
        }
        let mut objects = BTreeMap::new();
        for o in schema.objects() {
            let mut p = ObjectPerms::default();
            for s in &sets {
                if let Some(x) = s.objects.get(&o.name) {
                    p = p.union(*x);
                }
            }
            if system.contains(&SystemPerm::ModifyAllData) {
                p = p.union(ObjectPerms::ALL);
            } else if system.contains(&SystemPerm::ViewAllData) {
                p = p.union(ObjectPerms { view_all: true, ..ObjectPerms::default() });
            }
            objects.insert(o.name.clone(), p);
        }
        // Who the user is, for manual shares: themselves, their role, each role
        // above (a share to "X and subordinates" reaches them), their groups,
        // and — through the hierarchy — everyone below them.
        let mut principals = BTreeSet::new();
        principals.insert(Principal::User(user.id.clone()).key());
        if let Some(r) = &user.role {
            principals.insert(Principal::Role(r.clone()).key());
            for a in self.ancestors_and_self(r) {
                principals.insert(Principal::RoleAndSubordinates(a).key());
            }
        }
        for g in &self.groups {
            if self.names(&Principal::Group(g.name.clone()), user) {
                principals.insert(Principal::Group(g.name.clone()).key());
            }
        }
        let below = self.subordinate_users(user, directory);
        for s in &below {
            principals.insert(Principal::User(s.id.clone()).key());
        }
        let mut g = Grants {
            user: user.id.clone(),
            active: user.active,
            sets,
            objects,
            system,
            read: BTreeMap::new(),
            edit: BTreeMap::new(),
            principals,
        };
        for o in schema.objects() {
            for mode in [Mode::Read, Mode::Edit] {
                let v = self.visibility(&g, &o.name, mode, user, directory, &below, 0);
                match mode {
                    Mode::Read => g.read.insert(o.name.clone(), v),
                    Mode::Edit => g.edit.insert(o.name.clone(), v),
                };
            }
        }
        g
    }

    #[allow(clippy::too_many_arguments)]
    fn visibility(
        &self,
        g: &Grants,
        object: &str,
        mode: Mode,
        user: &UserInfo,
        directory: &[UserInfo],
        below: &[&UserInfo],
        depth: usize,
    ) -> Visibility {
        let p = g.objects.get(object).copied().unwrap_or_default();
        let allowed = match mode {
            Mode::Read => p.read,
            Mode::Edit => p.edit,
        };
        if !allowed || depth > 4 {
            return Visibility::None;
        }
        if p.modify_all || (mode == Mode::Read && p.view_all) {
            return Visibility::All;
        }
        match self.sharing(object) {
            Sharing::PublicReadWrite => return Visibility::All,
            Sharing::PublicRead if mode == Mode::Read => return Visibility::All,
            Sharing::ControlledByParent => {
                let Some((field, parent)) = parent_field(object) else { return Visibility::None };
                let pv = self.visibility(g, parent, mode, user, directory, below, depth + 1);
                if pv == Visibility::None {
                    return Visibility::None;
                }
                return Visibility::Scoped(Scope { parent: Some((field.into(), parent.into(), Box::new(pv))), ..Scope::default() });
            }
            _ => {}
        }
        let mut scope = Scope { level: Some(match mode { Mode::Read => AccessLevel::Read, Mode::Edit => AccessLevel::Edit }), ..Scope::default() };
        scope.owners.insert(user.id.clone());
        scope.owners.extend(below.iter().map(|u| u.id.clone()));
        scope.principals = g.principals.clone();
        let needed = match mode {
            Mode::Read => AccessLevel::Read,
            Mode::Edit => AccessLevel::Edit,
        };
        for rule in self.rules.iter().filter(|r| r.object == object && r.level >= needed) {
            // A rule reaches the user it names, and everyone above them.
            let reaches = self.names(&rule.share_with, user) || below.iter().any(|b| self.names(&rule.share_with, b));
            if !reaches {
                continue;
            }
            match &rule.kind {
                RuleKind::OwnerBased { owners } => {
                    scope.owners.extend(directory.iter().filter(|u| self.names(owners, u)).map(|u| u.id.clone()));
                }
                RuleKind::CriteriaBased { criteria } => scope.criteria.push(criteria.clone()),
            }
        }
        Visibility::Scoped(scope)
    }
}

impl Scope {
    /// Whether a record with this owner, these field values and these manual
    /// shares (principal key, level) is reached. `parent_visible` answers for
    /// `ControlledByParent` scopes. The store's SQL must agree with this.
    pub fn admits(
        &self,
        owner: Option<&str>,
        field: &dyn Fn(&str) -> Option<String>,
        shares: &[(String, AccessLevel)],
        parent_visible: &dyn Fn(&str, &str, &Visibility) -> bool,
    ) -> bool {
        if let Some((f, parent, v)) = &self.parent {
            return field(f).is_some_and(|pid| parent_visible(parent, &pid, v));
        }
        if owner.is_some_and(|o| self.owners.contains(o)) {
            return true;
        }
        if self.criteria.iter().any(|set| set.iter().all(|c| field(&c.field).is_some_and(|v| v.eq_ignore_ascii_case(&c.value)))) {
            return true;
        }
        let level = self.level.unwrap_or(AccessLevel::Read);
        shares.iter().any(|(p, l)| *l >= level && self.principals.contains(p))
    }
}
