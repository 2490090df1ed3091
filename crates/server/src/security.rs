//! The org's security configuration on the wire and at rest (a JSON file an
//! admin can keep in version control: `dialtone security export/import`),
//! the standard profiles a new org starts with, and the per-user grants cache.

use dialtone_access::{
    AccessLevel, Criterion, FieldAccess, Grants, ObjectPerms, PermissionSet, PermissionSetGroup, Principal, PublicGroup, Role, RuleKind,
    Security, Sharing, SharingRule, SystemPerm, UserInfo,
};
use dialtone_model::{SalesforceId, Schema, Value};
use dialtone_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The settings key the configuration is stored under.
pub const SETTING: &str = "security";

#[derive(Debug, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecurityFile {
    #[serde(default)]
    pub permission_sets: Vec<PermissionSetFile>,
    #[serde(default)]
    pub permission_set_groups: Vec<GroupOfSetsFile>,
    #[serde(default)]
    pub roles: Vec<RoleFile>,
    #[serde(default)]
    pub groups: Vec<PublicGroupFile>,
    /// Object → "Private" | "PublicRead" | "PublicReadWrite" | "ControlledByParent".
    #[serde(default)]
    pub org_wide_defaults: BTreeMap<String, String>,
    #[serde(default)]
    pub sharing_rules: Vec<SharingRuleFile>,
}

#[derive(Debug, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PermissionSetFile {
    pub name: String,
    #[serde(default)]
    pub is_profile: bool,
    /// Object → list of "read", "create", "edit", "delete", "viewAll", "modifyAll".
    #[serde(default)]
    pub objects: BTreeMap<String, Vec<String>>,
    /// "Object.Field" → "hidden" | "read" | "edit".
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    #[serde(default)]
    pub system: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GroupOfSetsFile {
    pub name: String,
    pub permission_sets: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RoleFile {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PublicGroupFile {
    pub name: String,
    /// Usernames.
    #[serde(default)]
    pub users: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub roles_and_subordinates: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SharingRuleFile {
    pub name: String,
    pub object: String,
    /// Owner-based: records owned by this principal ("role:X", "rolesub:X", "group:X", "user:USERNAME").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
    /// Criteria-based: field → value, all must match.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub criteria: BTreeMap<String, String>,
    pub share_with: String,
    /// "read" or "edit".
    pub access: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("not valid security JSON: {0}")]
    Json(String),
    #[error("{0}")]
    Invalid(String),
}

fn bad(m: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(m.into())
}

fn perms(list: &[String], at: &str) -> Result<ObjectPerms, ConfigError> {
    let mut p = ObjectPerms::default();
    for x in list {
        match x.as_str() {
            "read" => p.read = true,
            "create" => p.create = true,
            "edit" => p.edit = true,
            "delete" => p.delete = true,
            "viewAll" => p.view_all = true,
            "modifyAll" => p.modify_all = true,
            other => return Err(bad(format!("{at}: unknown object permission {other:?} (read, create, edit, delete, viewAll, modifyAll)"))),
        }
    }
    Ok(p.normalised())
}

fn perms_list(p: ObjectPerms) -> Vec<String> {
    let mut out = Vec::new();
    for (on, name) in [(p.read, "read"), (p.create, "create"), (p.edit, "edit"), (p.delete, "delete"), (p.view_all, "viewAll"), (p.modify_all, "modifyAll")] {
        if on {
            out.push(name.to_string());
        }
    }
    out
}

/// Principals in files name users by username; the model uses ids.
fn principal(s: &str, users: &HashMap<String, String>, at: &str) -> Result<Principal, ConfigError> {
    let (kind, name) = s.split_once(':').ok_or_else(|| bad(format!("{at}: {s:?} should look like role:NAME, rolesub:NAME, group:NAME or user:USERNAME")))?;
    Ok(match kind {
        "role" => Principal::Role(name.into()),
        "rolesub" => Principal::RoleAndSubordinates(name.into()),
        "group" => Principal::Group(name.into()),
        "user" => Principal::User(users.get(&name.to_ascii_lowercase()).cloned().ok_or_else(|| bad(format!("{at}: no user named {name}")))?),
        other => return Err(bad(format!("{at}: unknown principal kind {other:?}"))),
    })
}

fn principal_text(p: &Principal, names: &HashMap<String, String>) -> String {
    match p {
        Principal::User(id) => format!("user:{}", names.get(id).cloned().unwrap_or_else(|| id.clone())),
        Principal::Role(r) => format!("role:{r}"),
        Principal::RoleAndSubordinates(r) => format!("rolesub:{r}"),
        Principal::Group(g) => format!("group:{g}"),
    }
}

impl SecurityFile {
    pub fn parse(text: &str) -> Result<SecurityFile, ConfigError> {
        serde_json::from_str(text).map_err(|e| ConfigError::Json(format!("line {} column {}: {e}", e.line(), e.column())))
    }

    /// Into the model; `users` maps lower-case usernames to ids. Validated.
    pub fn to_model(&self, schema: &Schema, users: &HashMap<String, String>) -> Result<Security, ConfigError> {
        let mut sec = Security::default();
        for p in &self.permission_sets {
            let mut set = PermissionSet { name: p.name.clone(), is_profile: p.is_profile, ..Default::default() };
            for (o, list) in &p.objects {
                let obj = schema.object(o).ok_or_else(|| bad(format!("permission set {}: no object {o}", p.name)))?;
                set.objects.insert(obj.name.clone(), perms(list, &format!("permission set {} object {o}", p.name))?);
            }
            for (f, level) in &p.fields {
                let access = match level.as_str() {
                    "hidden" => FieldAccess::Hidden,
                    "read" => FieldAccess::Read,
                    "edit" => FieldAccess::Edit,
                    other => return Err(bad(format!("permission set {} field {f}: {other:?} is not hidden, read or edit", p.name))),
                };
                set.fields.insert(f.clone(), access);
            }
            for s in &p.system {
                set.system.insert(SystemPerm::parse(s).ok_or_else(|| {
                    let known: Vec<&str> = SystemPerm::ALL.iter().map(|p| p.name()).collect();
                    bad(format!("permission set {}: unknown system permission {s:?} (known: {})", p.name, known.join(", ")))
                })?);
            }
            sec.permission_sets.push(set);
        }
        sec.permission_set_groups =
            self.permission_set_groups.iter().map(|g| PermissionSetGroup { name: g.name.clone(), sets: g.permission_sets.clone() }).collect();
        sec.roles = self.roles.iter().map(|r| Role { name: r.name.clone(), parent: r.parent.clone() }).collect();
        for g in &self.groups {
            let mut ids = Vec::new();
            for u in &g.users {
                ids.push(users.get(&u.to_ascii_lowercase()).cloned().ok_or_else(|| bad(format!("group {}: no user named {u}", g.name)))?);
            }
            sec.groups.push(PublicGroup { name: g.name.clone(), users: ids, roles: g.roles.clone(), roles_and_subordinates: g.roles_and_subordinates.clone() });
        }
        for (o, s) in &self.org_wide_defaults {
            let obj = schema.object(o).ok_or_else(|| bad(format!("orgWideDefaults: no object {o}")))?;
            let sharing = match s.as_str() {
                "Private" => Sharing::Private,
                "PublicRead" => Sharing::PublicRead,
                "PublicReadWrite" => Sharing::PublicReadWrite,
                "ControlledByParent" if dialtone_access::parent_field(&obj.name).is_some() => Sharing::ControlledByParent,
                other => return Err(bad(format!("orgWideDefaults {o}: {other:?} is not Private, PublicRead or PublicReadWrite"))),
            };
            sec.defaults.insert(obj.name.clone(), sharing);
        }
        for r in &self.sharing_rules {
            let at = format!("sharing rule {:?}", r.name);
            let obj = schema.object(&r.object).ok_or_else(|| bad(format!("{at}: no object {}", r.object)))?;
            let kind = match (&r.owned_by, r.criteria.is_empty()) {
                (Some(o), true) => RuleKind::OwnerBased { owners: principal(o, users, &at)? },
                (None, false) => RuleKind::CriteriaBased {
                    criteria: r.criteria.iter().map(|(f, v)| Criterion { field: f.clone(), value: v.clone() }).collect(),
                },
                _ => return Err(bad(format!("{at}: give either ownedBy or criteria"))),
            };
            let level = match r.access.as_str() {
                "read" => AccessLevel::Read,
                "edit" => AccessLevel::Edit,
                other => return Err(bad(format!("{at}: access {other:?} is not read or edit"))),
            };
            sec.rules.push(SharingRule { name: r.name.clone(), object: obj.name.clone(), kind, share_with: principal(&r.share_with, users, &at)?, level });
        }
        sec.validate(schema).map_err(|e| bad(e.to_string()))?;
        Ok(sec)
    }

    /// From the model; `names` maps ids back to usernames.
    pub fn from_model(sec: &Security, names: &HashMap<String, String>) -> SecurityFile {
        let uname = |id: &String| names.get(id).cloned().unwrap_or_else(|| id.clone());
        SecurityFile {
            permission_sets: sec
                .permission_sets
                .iter()
                .map(|p| PermissionSetFile {
                    name: p.name.clone(),
                    is_profile: p.is_profile,
                    objects: p.objects.iter().map(|(o, x)| (o.clone(), perms_list(*x))).collect(),
                    fields: p
                        .fields
                        .iter()
                        .map(|(f, a)| (f.clone(), match a { FieldAccess::Hidden => "hidden", FieldAccess::Read => "read", FieldAccess::Edit => "edit" }.to_string()))
                        .collect(),
                    system: p.system.iter().map(|s| s.name().to_string()).collect(),
                })
                .collect(),
            permission_set_groups: sec.permission_set_groups.iter().map(|g| GroupOfSetsFile { name: g.name.clone(), permission_sets: g.sets.clone() }).collect(),
            roles: sec.roles.iter().map(|r| RoleFile { name: r.name.clone(), parent: r.parent.clone() }).collect(),
            groups: sec
                .groups
                .iter()
                .map(|g| PublicGroupFile { name: g.name.clone(), users: g.users.iter().map(uname).collect(), roles: g.roles.clone(), roles_and_subordinates: g.roles_and_subordinates.clone() })
                .collect(),
            org_wide_defaults: sec
                .defaults
                .iter()
                .map(|(o, s)| (o.clone(), match s { Sharing::Private => "Private", Sharing::PublicRead => "PublicRead", Sharing::PublicReadWrite => "PublicReadWrite", Sharing::ControlledByParent => "ControlledByParent" }.to_string()))
                .collect(),
            sharing_rules: sec
                .rules
                .iter()
                .map(|r| SharingRuleFile {
                    name: r.name.clone(),
                    object: r.object.clone(),
                    owned_by: match &r.kind { RuleKind::OwnerBased { owners } => Some(principal_text(owners, names)), _ => None },
                    criteria: match &r.kind { RuleKind::CriteriaBased { criteria } => criteria.iter().map(|c| (c.field.clone(), c.value.clone())).collect(), _ => BTreeMap::new() },
                    share_with: principal_text(&r.share_with, names),
                    access: match r.level { AccessLevel::Read => "read", AccessLevel::Edit => "edit" }.to_string(),
                })
                .collect(),
        }
    }
}

fn set(name: &str, profile: bool, objects: &[(&str, &[&str])], system: &[SystemPerm]) -> PermissionSetFile {
    PermissionSetFile {
        name: name.into(),
        is_profile: profile,
        objects: objects.iter().map(|(o, p)| (o.to_string(), p.iter().map(|s| s.to_string()).collect())).collect(),
        fields: BTreeMap::new(),
        system: system.iter().map(|s| s.name().to_string()).collect(),
    }
}

/// What a new org starts with: the standard profiles of a contact centre and
/// Salesforce-like org-wide defaults (customers are shared; calls and tasks are private).
pub fn standard() -> SecurityFile {
    use SystemPerm::*;
    const CRED: &[&str] = &["read", "create", "edit", "delete"];
    const CRE: &[&str] = &["read", "create", "edit"];
    const R: &[&str] = &["read"];
    let customer = ["Account", "Contact", "Lead", "Case", "Opportunity", "Task"];
    let mut standard_user: Vec<(&str, &[&str])> = customer.iter().map(|o| (*o, CRED)).collect();
    standard_user.extend([("VoiceCall", R), ("User", R), ("CallCenter", R)]);
    let mut agent: Vec<(&str, &[&str])> = customer.iter().filter(|o| **o != "Opportunity").map(|o| (*o, CRE)).collect();
    agent.extend([("UserServicePresence", R), ("AdapterErrorLog", CRE), ("VoiceCall", CRE), ("VoiceCallRecording", R), ("ConversationEntry", R), ("User", R), ("CallCenter", R), ("Opportunity", R)]);
    let mut supervisor = agent.clone();
    supervisor.retain(|(o, _)| !matches!(*o, "VoiceCall" | "Task" | "Case" | "UserServicePresence"));
    supervisor.extend([("UserServicePresence", &["read", "viewAll"][..]), ("AdapterErrorLog", &["read", "viewAll"][..]), ("VoiceCall", &["read", "create", "edit", "viewAll"][..]), ("Task", &["read", "create", "edit", "viewAll"][..]), ("Case", &["read", "create", "edit", "delete", "viewAll"][..])]);
    let read_only: Vec<(&str, &[&str])> = customer.iter().map(|o| (*o, R)).chain([("User", R), ("CallCenter", R)]).collect();
    SecurityFile {
        permission_sets: vec![
            set("System Administrator", true, &[], &SystemPerm::ALL),
            set("Standard User", true, &standard_user, &[ApiEnabled]),
            set("Agent", true, &agent, &[ApiEnabled, UseSoftphone]),
            set("Supervisor", true, &supervisor, &[ApiEnabled, UseSoftphone, ViewAllRecordings, ListenToRecordings, ExportData, MonitorQueues, RunReports]),
            set("Read Only", true, &read_only, &[ApiEnabled]),
        ],
        org_wide_defaults: [
            ("Account", "PublicReadWrite"),
            ("Contact", "PublicReadWrite"),
            ("Lead", "PublicReadWrite"),
            ("Case", "PublicReadWrite"),
            ("Opportunity", "PublicRead"),
            ("User", "PublicRead"),
            ("CallCenter", "PublicRead"),
            ("VoiceCall", "Private"),
            ("Task", "Private"),
            ("UserServicePresence", "Private"),
            ("AdapterErrorLog", "Private"),
            ("VoiceCallRecording", "ControlledByParent"),
            ("ConversationEntry", "ControlledByParent"),
        ]
        .iter()
        .map(|(o, s)| (o.to_string(), s.to_string()))
        .collect(),
        ..SecurityFile::default()
    }
}

/// How long computed grants are reused before the directory is read again
/// (changes made by another process take effect within this time).
pub const GRANTS_TTL: Duration = Duration::from_secs(5);

/// The org's security and each user's computed grants.
#[derive(Default)]
pub struct AccessCache {
    loaded: Option<(Instant, Arc<Security>, Arc<Vec<UserInfo>>)>,
    grants: HashMap<String, Arc<Grants>>,
}

fn split_names(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_str).map(|s| s.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()).unwrap_or_default()
}

/// Every user as the access model sees them, with their usernames.
pub async fn directory(store: &dyn Store) -> Result<(Vec<UserInfo>, HashMap<String, String>), dialtone_store::StoreError> {
    let plan = dialtone_soql::compile(
        "SELECT Id, Username, ProfileName, RoleName, PermissionSetNames, PermissionSetGroupNames, IsActive FROM User",
        store.schema(),
        store.dialect(),
        time::OffsetDateTime::now_utc(),
    )
    .map_err(|e| dialtone_store::StoreError::Query(e.to_string()))?;
    let rows = store.query(&plan, None).await?;
    let mut users = Vec::with_capacity(rows.len());
    let mut names = HashMap::new();
    for r in rows {
        let id = r[0].to_string();
        names.insert(id.clone(), r[1].to_string());
        users.push(UserInfo {
            id,
            profile: r[2].to_string(),
            role: r[3].as_str().filter(|s| !s.is_empty()).map(str::to_string),
            permission_sets: split_names(Some(&r[4])),
            permission_set_groups: split_names(Some(&r[5])),
            active: r[6] != Value::Bool(false),
        });
    }
    Ok((users, names))
}

/// The stored configuration, or the standard one.
pub async fn load(store: &dyn Store) -> Result<Security, String> {
    let (_, names) = directory(store).await.map_err(|e| e.to_string())?;
    let by_name: HashMap<String, String> = names.iter().map(|(id, n)| (n.to_ascii_lowercase(), id.clone())).collect();
    let file = match store.setting(SETTING).await.map_err(|e| e.to_string())? {
        Some(text) => SecurityFile::parse(&text).map_err(|e| e.to_string())?,
        None => standard(),
    };
    file.to_model(store.schema(), &by_name).map_err(|e| e.to_string())
}

impl AccessCache {
    /// The grants of `user`, computed from the configuration and directory
    /// (re-read after [`GRANTS_TTL`] or [`AccessCache::invalidate`]).
    pub async fn grants(cache: &Mutex<AccessCache>, store: &dyn Store, user: &SalesforceId) -> Result<Arc<Grants>, String> {
        let fresh = {
            let c = cache.lock().unwrap_or_else(|p| p.into_inner());
            match &c.loaded {
                Some((at, ..)) if at.elapsed() < GRANTS_TTL => {
                    if let Some(g) = c.grants.get(user.as_str()) {
                        return Ok(g.clone());
                    }
                    c.loaded.as_ref().map(|(_, s, d)| (s.clone(), d.clone()))
                }
                _ => None,
            }
        };
        let (security, users) = match fresh {
            Some(x) => x,
            None => {
                let security = Arc::new(load(store).await?);
                let users = Arc::new(directory(store).await.map_err(|e| e.to_string())?.0);
                let mut c = cache.lock().unwrap_or_else(|p| p.into_inner());
                c.loaded = Some((Instant::now(), security.clone(), users.clone()));
                c.grants.clear();
                (security, users)
            }
        };
        let me = users.iter().find(|u| u.id == user.as_str()).cloned().unwrap_or(UserInfo {
            id: user.to_string(),
            profile: String::new(),
            role: None,
            permission_sets: vec![],
            permission_set_groups: vec![],
            active: false,
        });
        let g = Arc::new(security.grants(store.schema(), &me, &users));
        cache.lock().unwrap_or_else(|p| p.into_inner()).grants.insert(user.to_string(), g.clone());
        Ok(g)
    }

    pub fn invalidate(&mut self) {
        self.loaded = None;
        self.grants.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_configuration_is_valid_and_round_trips() {
        let schema = Schema::standard();
        let sec = standard().to_model(schema, &HashMap::new()).unwrap();
        let back = SecurityFile::from_model(&sec, &HashMap::new());
        assert_eq!(back.to_model(schema, &HashMap::new()).unwrap(), sec);
        let json = serde_json::to_string_pretty(&back).unwrap();
        assert_eq!(SecurityFile::parse(&json).unwrap().to_model(schema, &HashMap::new()).unwrap(), sec);
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let schema = Schema::standard();
        for (text, want) in [
            ("{", "line 1"),
            (r#"{"permissionSets":[{"name":"X","objects":{"Contact":["fly"]}}]}"#, "unknown object permission \"fly\""),
            (r#"{"permissionSets":[{"name":"X","system":["Teleport"]}]}"#, "unknown system permission"),
            (r#"{"orgWideDefaults":{"Contact":"Sometimes"}}"#, "is not Private"),
            (r#"{"sharingRules":[{"name":"r","object":"Case","shareWith":"role:Nope","access":"read","criteria":{"Status":"New"}}]}"#, "unknown role"),
            (r#"{"sharingRules":[{"name":"r","object":"Case","shareWith":"user:ghost","access":"read","ownedBy":"role:X"}]}"#, "no user named"),
            (r#"{"surprise":1}"#, "unknown field"),
        ] {
            let err = SecurityFile::parse(text).and_then(|f| f.to_model(schema, &HashMap::new())).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
