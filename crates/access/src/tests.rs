use crate::*;
use dialtone_model::Schema;
use std::collections::BTreeMap;

fn set(name: &str, profile: bool, objects: &[(&str, ObjectPerms)]) -> PermissionSet {
    PermissionSet {
        name: name.into(),
        is_profile: profile,
        objects: objects.iter().map(|(o, p)| (o.to_string(), *p)).collect(),
        ..PermissionSet::default()
    }
}

fn user(id: &str, profile: &str, role: Option<&str>, sets: &[&str]) -> UserInfo {
    UserInfo {
        id: id.into(),
        profile: profile.into(),
        role: role.map(str::to_string),
        permission_sets: sets.iter().map(|s| s.to_string()).collect(),
        permission_set_groups: vec![],
        active: true,
    }
}

/// CEO > Sales VP > Sales Rep; CEO > Support Lead > Agent.
fn org() -> (Security, Vec<UserInfo>) {
    let mut agent = set("Agent", true, &[("Contact", ObjectPerms { read: true, create: true, edit: true, ..Default::default() }), ("Case", ObjectPerms::CRED), ("VoiceCall", ObjectPerms::READ), ("VoiceCallRecording", ObjectPerms::READ)]);
    agent.fields.insert("Contact.Birthdate".into(), FieldAccess::Hidden);
    agent.system.insert(SystemPerm::UseSoftphone);
    let mut birthdays = set("Birthdays", false, &[("Contact", ObjectPerms::READ)]);
    birthdays.fields.insert("Contact.Birthdate".into(), FieldAccess::Read);
    let admin = PermissionSet { name: "System Administrator".into(), is_profile: true, system: [SystemPerm::ModifyAllData, SystemPerm::ManageCallCenters].into(), ..Default::default() };
    let sec = Security {
        permission_sets: vec![agent, birthdays, admin, set("Read Only", true, &[("Contact", ObjectPerms::READ), ("Lead", ObjectPerms::READ)])],
        permission_set_groups: vec![PermissionSetGroup { name: "Tier2".into(), sets: vec!["Birthdays".into()] }],
        roles: vec![
            Role { name: "CEO".into(), parent: None },
            Role { name: "SalesVP".into(), parent: Some("CEO".into()) },
            Role { name: "SalesRep".into(), parent: Some("SalesVP".into()) },
            Role { name: "SupportLead".into(), parent: Some("CEO".into()) },
            Role { name: "AgentRole".into(), parent: Some("SupportLead".into()) },
        ],
        groups: vec![PublicGroup { name: "Escalations".into(), users: vec!["u-rep".into()], ..Default::default() }],
        defaults: BTreeMap::from([("Lead".into(), Sharing::PublicRead), ("Case".into(), Sharing::Private)]),
        rules: vec![
            SharingRule {
                name: "support sees escalated cases".into(),
                object: "Case".into(),
                kind: RuleKind::CriteriaBased { criteria: vec![Criterion { field: "Status".into(), value: "Escalated".into() }] },
                share_with: Principal::Group("Escalations".into()),
                level: AccessLevel::Read,
            },
            SharingRule {
                name: "agents share contacts".into(),
                object: "Contact".into(),
                kind: RuleKind::OwnerBased { owners: Principal::Role("AgentRole".into()) },
                share_with: Principal::RoleAndSubordinates("AgentRole".into()),
                level: AccessLevel::Edit,
            },
        ],
    };
    let users = vec![
        user("u-ceo", "Agent", Some("CEO"), &[]),
        user("u-vp", "Agent", Some("SalesVP"), &[]),
        user("u-rep", "Agent", Some("SalesRep"), &[]),
        user("u-lead", "Agent", Some("SupportLead"), &[]),
        user("u-a1", "Agent", Some("AgentRole"), &[]),
        user("u-a2", "Agent", Some("AgentRole"), &[]),
        user("u-admin", "System Administrator", None, &[]),
        user("u-ro", "Read Only", None, &[]),
    ];
    (sec, users)
}

fn grants(id: &str) -> Grants {
    let (sec, users) = org();
    let u = users.iter().find(|u| u.id == id).unwrap();
    sec.grants(Schema::standard(), u, &users)
}

fn scope(v: &Visibility) -> &Scope {
    match v {
        Visibility::Scoped(s) => s,
        other => panic!("expected a scope, got {other:?}"),
    }
}

#[test]
fn the_configuration_validates_and_bad_names_are_caught() {
    let (sec, _) = org();
    sec.validate(Schema::standard()).unwrap();
    let mut bad = sec.clone();
    bad.roles.push(Role { name: "Loop".into(), parent: Some("Loop2".into()) });
    bad.roles.push(Role { name: "Loop2".into(), parent: Some("Loop".into()) });
    assert!(matches!(bad.validate(Schema::standard()), Err(SecurityError::Cycle(_))));
    let mut bad = sec.clone();
    bad.permission_sets[0].fields.insert("Contact.Nope".into(), FieldAccess::Read);
    assert!(matches!(bad.validate(Schema::standard()), Err(SecurityError::Field { .. })));
    let mut bad = sec;
    bad.rules[0].share_with = Principal::Group("Ghosts".into());
    assert!(matches!(bad.validate(Schema::standard()), Err(SecurityError::Unknown { kind: "group", .. })));
}

#[test]
fn object_permissions_union_across_profile_sets_and_groups() {
    let a = grants("u-a1");
    assert!(a.can("Contact", Op::Create) && a.can("Contact", Op::Edit));
    assert!(!a.can("Contact", Op::Delete));
    assert!(!a.can("Lead", Op::Read), "Agent has no Lead access");
    assert!(a.has(SystemPerm::UseSoftphone));
    assert!(!a.has(SystemPerm::ManageCallCenters));
    let admin = grants("u-admin");
    assert!(admin.can("Lead", Op::Delete) && admin.object("Lead").modify_all);
    assert_eq!(admin.rows("Case", Mode::Edit), &Visibility::All);
}

#[test]
fn field_level_security_hides_and_a_permission_set_can_reveal() {
    let schema = Schema::standard();
    let (sec, users) = org();
    let mut a = users[4].clone();
    let g = sec.grants(schema, &a, &users);
    assert_eq!(g.field(schema, "Contact", "Birthdate"), FieldAccess::Hidden);
    assert_eq!(g.field(schema, "Contact", "Phone"), FieldAccess::Edit);
    assert_eq!(g.field(schema, "Contact", "Name"), FieldAccess::Read, "computed fields are read-only");
    assert_eq!(g.field(schema, "Contact", "Id"), FieldAccess::Read);
    assert_eq!(g.field(schema, "Lead", "Phone"), FieldAccess::Hidden);
    a.permission_set_groups.push("Tier2".into());
    let g = sec.grants(schema, &a, &users);
    assert_eq!(g.field(schema, "Contact", "Birthdate"), FieldAccess::Read, "the group's set reveals it, read-only");
}

#[test]
fn private_objects_are_seen_through_ownership_the_hierarchy_and_rules() {
    let a1 = grants("u-a1");
    let s = scope(a1.rows("Contact", Mode::Read));
    assert!(s.owners.contains("u-a1") && s.owners.contains("u-a2"), "owner-based rule shares AgentRole's contacts with AgentRole");
    assert!(!s.owners.contains("u-rep"));
    let lead = grants("u-lead");
    let s = scope(lead.rows("Contact", Mode::Read));
    assert!(s.owners.contains("u-a1"), "a manager sees subordinates' records");
    assert!(!s.owners.contains("u-rep"), "but not another branch's");
    let vp = grants("u-vp");
    let s = scope(vp.rows("Contact", Mode::Read));
    assert_eq!(s.owners.iter().cloned().collect::<Vec<_>>(), ["u-rep", "u-vp"]);
    let ceo = grants("u-ceo");
    assert_eq!(scope(ceo.rows("Contact", Mode::Read)).owners.len(), 6, "the top of the hierarchy sees every role-holder's records");
}

#[test]
fn criteria_rules_reach_group_members_and_their_managers_only() {
    let rep = grants("u-rep");
    assert_eq!(scope(rep.rows("Case", Mode::Read)).criteria.len(), 1);
    assert!(scope(rep.rows("Case", Mode::Edit)).criteria.is_empty(), "a read rule gives no edit");
    assert_eq!(scope(grants("u-vp").rows("Case", Mode::Read)).criteria.len(), 1, "managers above a member are reached too");
    assert!(scope(grants("u-a1").rows("Case", Mode::Read)).criteria.is_empty());
}

#[test]
fn org_wide_defaults_open_objects() {
    let ro = grants("u-ro");
    assert_eq!(ro.rows("Lead", Mode::Read), &Visibility::All, "Lead is public read-only");
    assert!(matches!(ro.rows("Lead", Mode::Edit), Visibility::None), "and Read Only cannot edit");
    assert_eq!(ro.rows("Case", Mode::Read), &Visibility::None, "no object permission, no rows");
}

#[test]
fn recordings_follow_their_call() {
    let a1 = grants("u-a1");
    let s = scope(a1.rows("VoiceCallRecording", Mode::Read));
    let (field, parent, v) = s.parent.as_ref().unwrap();
    assert_eq!((field.as_str(), parent.as_str()), ("VoiceCallId", "VoiceCall"));
    assert!(matches!(**v, Visibility::Scoped(_)));
    assert!(matches!(a1.rows("VoiceCallRecording", Mode::Edit), Visibility::None));
}

#[test]
fn manual_shares_reach_the_user_their_roles_groups_and_managers() {
    let rep = grants("u-rep");
    let p = rep.principals();
    for k in ["user:u-rep", "role:SalesRep", "rolesub:SalesRep", "rolesub:SalesVP", "rolesub:CEO", "group:Escalations"] {
        assert!(p.contains(k), "{k} in {p:?}");
    }
    assert!(!p.contains("role:SalesVP"));
    let vp = grants("u-vp");
    assert!(vp.principals().contains("user:u-rep"), "a share to a subordinate reaches the manager");
    let s = scope(rep.rows("Contact", Mode::Read));
    let none = |_: &str| None;
    let parent = |_: &str, _: &str, _: &Visibility| false;
    assert!(s.admits(None, &none, &[("user:u-rep".into(), AccessLevel::Read)], &parent));
    assert!(!s.admits(None, &none, &[("user:u-other".into(), AccessLevel::Edit)], &parent));
    let e = scope(rep.rows("Contact", Mode::Edit));
    assert!(!e.admits(None, &none, &[("user:u-rep".into(), AccessLevel::Read)], &parent), "a read share gives no edit");
}

#[test]
fn an_inactive_user_has_nothing() {
    let (sec, mut users) = org();
    users[6].active = false;
    let g = sec.grants(Schema::standard(), &users[6], &users);
    assert!(!g.can("Contact", Op::Read));
    assert_eq!(g.rows("Contact", Mode::Read), &Visibility::None);
    assert!(!g.has(SystemPerm::ModifyAllData));
}
