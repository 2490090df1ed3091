//! The one access model, as Salesforce admins know it.
//!
//! An org's [`Security`] configuration (permission sets — profiles are
//! permission sets marked as such — permission-set groups, roles, public
//! groups, org-wide defaults, sharing rules) and the [`UserInfo`] of every
//! user go in; [`Security::grants`] hands back a user's [`Grants`]: what they
//! may do to each object, which fields they may read or edit, their system
//! permissions, and — per object — which rows they see ([`Visibility`]).
//!
//! Every read path (REST, SOQL, screen pop, offers, reports, exports,
//! recordings) asks the same `Grants`. This crate does no I/O: the store turns
//! a [`Scope`] into SQL, and manual shares live in the store's share table;
//! here they are named by the principals a user acts as
//! ([`Grants::principals`]).

mod model;
mod grants;

pub use grants::{Grants, Mode, Op, Scope, Visibility};
pub use model::{parent_field, 
    AccessLevel, Criterion, FieldAccess, ObjectPerms, PermissionSet, PermissionSetGroup, Principal, PublicGroup, Role,
    RuleKind, Security, SecurityError, Sharing, SharingRule, SystemPerm, UserInfo,
};

#[cfg(test)]
mod tests;
