use crate::*;

fn raw(pairs: &[(&str, &str)]) -> Vec<(String, RawValue)> {
    pairs.iter().map(|(k, v)| (k.to_string(), RawValue::Text(v.to_string()))).collect()
}

#[test]
fn every_standard_object_has_unique_prefix_and_audit_fields() {
    let s = Schema::standard();
    let mut prefixes: Vec<_> = s.objects().iter().map(|o| o.key_prefix.as_str()).collect();
    prefixes.sort();
    prefixes.dedup();
    assert_eq!(prefixes.len(), s.objects().len());
    for o in s.objects() {
        for f in ["Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"] {
            assert!(o.field(f).is_some(), "{} lacks {f}", o.name);
        }
    }
    let vc = s.object("voicecall").unwrap();
    for f in [
        "VendorCallKey", "CallType", "CallOrigin", "CallDisposition", "CallResolution", "DisconnectReason",
        "CallStartDateTime", "CallQueuedDateTime", "CallAcceptDateTime", "CallEndDateTime", "CallDurationInSeconds",
        "FromPhoneNumber", "ToPhoneNumber", "QueueName", "OwnerId", "RelatedRecordId", "PreviousCallId", "NextCallId",
        "CustomerHoldDuration", "NumberOfHolds", "IsRecorded", "CallCenterId", "Description",
    ] {
        assert!(vc.field(f).is_some(), "VoiceCall lacks {f}");
    }
}

#[test]
fn a_contact_needs_a_last_name_and_gets_a_full_name() {
    let c = Schema::standard().object("Contact").unwrap();
    let errs = c.check_create(raw(&[("FirstName", "Ada")])).unwrap_err();
    assert_eq!(errs[0].code, "REQUIRED_FIELD_MISSING");
    assert_eq!(errs[0].field, "LastName");
    let ok = c.check_create(raw(&[("firstname", "Ada"), ("LastName", "Lovelace")])).unwrap();
    assert!(ok.contains(&("Name".into(), Value::Text("Ada Lovelace".into()))));
    assert!(ok.contains(&("DoNotCall".into(), Value::Bool(false))));
}

#[test]
fn bad_values_are_all_reported_with_salesforce_codes() {
    let l = Schema::standard().object("Lead").unwrap();
    let errs = l
        .check_create(raw(&[
            ("LastName", "X"),
            ("Company", "Acme"),
            ("Status", "Nonsense"),
            ("Email", "not-an-email"),
            ("Bogus__c", "1"),
            ("NumberOfEmployees", "many"),
            ("IsConverted", "true"),
        ]))
        .unwrap_err();
    let codes: Vec<_> = errs.iter().map(|e| e.code).collect();
    assert_eq!(
        codes,
        [
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "INVALID_EMAIL_ADDRESS",
            "INVALID_FIELD",
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            "INVALID_FIELD_FOR_INSERT_UPDATE"
        ]
    );
}

#[test]
fn strings_longer_than_the_field_are_refused() {
    let c = Schema::standard().object("Contact").unwrap();
    let long = "x".repeat(81);
    let errs = c.check_create(raw(&[("LastName", &long)])).unwrap_err();
    assert_eq!(errs[0].code, "STRING_TOO_LONG");
}

#[test]
fn references_check_the_target_object() {
    let c = Schema::standard().object("Contact").unwrap();
    let acct = SalesforceId::new("001", 5);
    let lead = SalesforceId::new("00Q", 5);
    assert!(c.check_create(raw(&[("LastName", "A"), ("AccountId", acct.as_str())])).is_ok());
    let errs = c.check_create(raw(&[("LastName", "A"), ("AccountId", lead.as_str())])).unwrap_err();
    assert_eq!(errs[0].code, "FIELD_INTEGRITY_EXCEPTION");
    let errs = c.check_create(raw(&[("LastName", "A"), ("AccountId", "nope")])).unwrap_err();
    assert_eq!(errs[0].code, "MALFORMED_ID");
}

#[test]
fn dates_and_datetimes_are_normalised() {
    let vc = Schema::standard().object("VoiceCall").unwrap();
    let f = vc.field("CallStartDateTime").unwrap();
    for input in ["2026-11-22T09:30:00Z", "2026-11-22T10:30:00+01:00", "2026-11-22T09:30:00.000+0000"] {
        assert_eq!(
            f.coerce(RawValue::Text(input.into())).unwrap(),
            Value::Text("2026-11-22T09:30:00.000+0000".into()),
            "{input}"
        );
    }
    assert!(f.coerce(RawValue::Text("yesterday".into())).is_err());
}

#[test]
fn an_account_with_a_last_name_is_a_person_account() {
    let a = Schema::standard().object("Account").unwrap();
    let v = a.check_create(raw(&[("FirstName", "Grace"), ("LastName", "Hopper"), ("PersonMobilePhone", "+44 20 7946 0000")])).unwrap();
    assert!(v.contains(&("IsPersonAccount".into(), Value::Bool(true))));
    assert!(v.contains(&("Name".into(), Value::Text("Grace Hopper".into()))));
    let v = a.check_create(raw(&[("Name", "Acme")])).unwrap();
    assert!(v.contains(&("IsPersonAccount".into(), Value::Bool(false))));
    assert!(a.check_create(raw(&[("Industry", "Retail")])).is_err());
}

#[test]
fn updates_cannot_blank_a_required_field() {
    let c = Schema::standard().object("Contact").unwrap();
    let cur = vec![("FirstName".to_string(), Value::Text("Ada".into())), ("LastName".to_string(), Value::Text("L".into()))];
    let errs = c.check_update(raw(&[("LastName", "")]), &cur).unwrap_err();
    assert_eq!(errs[0].code, "REQUIRED_FIELD_MISSING");
    let ok = c.check_update(raw(&[("FirstName", "Augusta")]), &cur).unwrap();
    assert!(ok.contains(&("Name".into(), Value::Text("Augusta L".into()))));
}

#[test]
fn an_explicit_null_gets_the_default_and_is_not_stored_twice() {
    let l = Schema::standard().object("Lead").unwrap();
    let mut input = raw(&[("LastName", "X"), ("Company", "Y")]);
    input.push(("Status".into(), RawValue::Null));
    let v = l.check_create(input).unwrap();
    let statuses: Vec<_> = v.iter().filter(|(n, _)| n == "Status").collect();
    assert_eq!(statuses, [&("Status".to_string(), Value::Text("Open - Not Contacted".into()))]);
}
