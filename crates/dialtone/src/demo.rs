//! `serve --demo`: a small, realistic org for a first look. Loaded once; the
//! passwords are generated at that moment and printed once, never stored in
//! clear or fixed in code.

use crate::{Failure, add_user};
use anyhow::Context;
use dialtone_model::{RawValue, Schema, Value};
use dialtone_store::Store;

const CALL_CENTER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<callCenter>
  <section sortOrder="0" name="reqGeneralInfo" label="General Information">
    <item sortOrder="0" name="reqInternalName" label="Internal Name">DialtoneDemo</item>
    <item sortOrder="1" name="reqDisplayName" label="Display Name">Dialtone Demo Call Center</item>
    <item sortOrder="2" name="reqAdapterUrl" label="CTI Adapter URL">/softphone</item>
    <item sortOrder="3" name="reqUseApi" label="Use CTI API">true</item>
    <item sortOrder="4" name="reqSoftphoneHeight" label="Softphone Height">500</item>
    <item sortOrder="5" name="reqSoftphoneWidth" label="Softphone Width">320</item>
    <item sortOrder="6" name="reqSalesforceCompatibilityMode" label="Salesforce Compatibility Mode">Lightning</item>
    <item sortOrder="7" name="reqTimeout" label="Adapter Timeout (ms)">5000</item>
  </section>
  <section sortOrder="1" name="reqDialingOptions" label="Dialing Options">
    <item sortOrder="0" name="reqOutsidePrefix" label="Outside Prefix">9</item>
    <item sortOrder="1" name="reqLongDistPrefix" label="Long Distance Prefix">1</item>
    <item sortOrder="2" name="reqInternationalPrefix" label="International Prefix">011</item>
  </section>
</callCenter>
"#;

/// (Name, Industry, Phone, BillingCity, BillingCountry)
const ACCOUNTS: &[(&str, &str, &str, &str, &str)] = &[
    ("Northwind Traders", "Retail", "(415) 555-0134", "San Francisco", "USA"),
    ("Contoso Pharmaceuticals", "Healthcare", "+1 212-555-0187", "New York", "USA"),
    ("Fabrikam Energy", "Energy", "020 7946 0321", "London", "United Kingdom"),
    ("Tailspin Logistik GmbH", "Transportation", "+49 30 901820", "Berlin", "Germany"),
    ("Lumière Assurances", "Insurance", "+33 1 42 68 53 00", "Paris", "France"),
    ("Wide World Telecom", "Telecommunications", "+61 2 9374 4000", "Sydney", "Australia"),
    ("Sakura Denki", "Manufacturing", "+81 3-3224-5000", "Tokyo", "Japan"),
    ("Ipanema Bank", "Banking", "+55 21 2544-1000", "Rio de Janeiro", "Brazil"),
];

/// (FirstName, LastName, Phone, MobilePhone, Email, account index)
const CONTACTS: &[(&str, &str, &str, &str, &str, usize)] = &[
    ("Maria", "Anders", "(415) 555-0101", "415.555.0199", "maria.anders@northwind.example", 0),
    ("Thomas", "Hardy", "+1 415 555 0102", "", "thomas.hardy@northwind.example", 0),
    ("Hanna", "Moos", "(212) 555-0143", "+1 917 555 0144", "hanna.moos@contoso.example", 1),
    ("Diego", "Roel", "212-555-0156", "", "diego.roel@contoso.example", 1),
    ("Victoria", "Ashworth", "020 7946 0958", "07700 900461", "v.ashworth@fabrikam.example", 2),
    ("Simon", "Crowther", "+44 20 7946 0112", "+44 7700 900077", "s.crowther@fabrikam.example", 2),
    ("Karin", "Josephs", "030 90182011", "+49 151 23456789", "karin.josephs@tailspin.example", 3),
    ("Peter", "Franken", "+49 89 2180 0", "", "p.franken@tailspin.example", 3),
    ("Janine", "Labrune", "01 42 68 53 01", "06 12 34 56 78", "janine.labrune@lumiere.example", 4),
    ("Laurence", "Lebihans", "+33 4 91 24 45 00", "", "l.lebihans@lumiere.example", 4),
    ("Jaime", "Yorres", "+61 2 9374 4011", "0412 345 678", "jaime.yorres@wideworld.example", 5),
    ("Yoshi", "Tannamuri", "+81 3-3224-5011", "090-1234-5678", "y.tannamuri@sakura.example", 6),
    ("Akiko", "Sato", "03-3224-5012", "", "a.sato@sakura.example", 6),
    ("Pedro", "Afonso", "+55 21 2544-1011", "+55 21 98765-4321", "pedro.afonso@ipanema.example", 7),
];

/// (FirstName, LastName, Company, Phone, LeadSource, Status)
const LEADS: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("Carlos", "Hernández", "Bodega Central", "+34 91 123 45 67", "Web", "Open - Not Contacted"),
    ("Liu", "Wong", "Golden Gate Imports", "(650) 555-0170", "Phone Inquiry", "Working - Contacted"),
    ("Elizabeth", "Brown", "Consolidated Holdings", "020 7946 0765", "Partner Referral", "Open - Not Contacted"),
    ("Helvetius", "Nagy", "Trail's Head Gourmet", "+1 (206) 555-0188", "Web", "Working - Contacted"),
    ("Palle", "Ibsen", "Vaffeljernet", "+45 86 21 32 43", "Purchased List", "Open - Not Contacted"),
    ("Rita", "Müller", "Die Wandernde Kuh", "0711 020361", "Web", "Closed - Not Converted"),
    ("Mario", "Pontes", "Hanari Carnes", "+55 21 2555-0091", "Phone Inquiry", "Open - Not Contacted"),
    ("Guillermo", "Fernández", "Pericles Comidas", "+52 55 5552 3745", "Other", "Working - Contacted"),
];

/// (FirstName, LastName, PersonMobilePhone, PersonEmail)
const PEOPLE: &[(&str, &str, &str, &str)] = &[
    ("Grace", "Hopper", "+1 (703) 555-0121", "grace@example.net"),
    ("Alan", "Turing", "07700 900123", "alan@example.net"),
    ("Ada", "Lovelace", "+44 20 7946 0018", "ada@example.net"),
];

fn t(s: &str) -> RawValue {
    RawValue::Text(s.to_string())
}

async fn create(store: &dyn Store, object: &str, rows: Vec<Vec<(&str, RawValue)>>) -> Result<Vec<dialtone_model::SalesforceId>, Failure> {
    let obj = Schema::standard().object(object).expect("standard object");
    let mut checked = Vec::new();
    for r in rows {
        let raw = r.into_iter().filter(|(_, v)| *v != RawValue::Text(String::new())).map(|(k, v)| (k.to_string(), v)).collect();
        checked.push(obj.check_create(raw).map_err(|e| anyhow::anyhow!("demo {object}: {e:?}"))?);
    }
    Ok(store.insert(obj, checked, None).await.with_context(|| format!("writing demo {object} records"))?)
}

/// Loads the demo org unless it is already there; prints how to sign in.
/// The demo's routing: queues Support, Spanish and Billing, skills, rules (also docs/examples/routing.yaml).
const ROUTING: &str = include_str!("../../../docs/examples/routing.yaml");
const FLOWS: &str = include_str!("../../../docs/examples/flows.yaml");

pub async fn load(store: &dyn Store, base_url: &str) -> Result<(), Failure> {
    if store.setting("demo_loaded").await.context("reading settings")?.is_some() {
        println!("Demo org already loaded (its passwords were printed when it was first created).");
        return Ok(());
    }
    let accounts = create(
        store,
        "Account",
        ACCOUNTS
            .iter()
            .map(|(n, i, p, c, k)| vec![("Name", t(n)), ("Industry", t(i)), ("Phone", t(p)), ("BillingCity", t(c)), ("BillingCountry", t(k)), ("Type", t("Customer - Direct"))])
            .collect(),
    )
    .await?;
    create(
        store,
        "Contact",
        CONTACTS
            .iter()
            .map(|(f, l, p, m, e, a)| {
                vec![("FirstName", t(f)), ("LastName", t(l)), ("Phone", t(p)), ("MobilePhone", t(m)), ("Email", t(e)), ("AccountId", t(accounts[*a].as_str()))]
            })
            .collect(),
    )
    .await?;
    create(
        store,
        "Lead",
        LEADS
            .iter()
            .map(|(f, l, c, p, s, st)| vec![("FirstName", t(f)), ("LastName", t(l)), ("Company", t(c)), ("Phone", t(p)), ("LeadSource", t(s)), ("Status", t(st))])
            .collect(),
    )
    .await?;
    create(
        store,
        "Account",
        PEOPLE.iter().map(|(f, l, m, e)| vec![("FirstName", t(f)), ("LastName", t(l)), ("PersonMobilePhone", t(m)), ("PersonEmail", t(e))]).collect(),
    )
    .await?;
    let def = dialtone_callcenter::parse(CALL_CENTER.as_bytes(), "DialtoneDemo.xml").map_err(|e| anyhow::anyhow!("demo call center: {e}"))?;
    let (cc, _) = crate::callcenter::import(store, &def).await?;

    let mut logins = Vec::new();
    let people = [
        ("admin@dialtone.demo", "System Administrator", "Avery", "Admin"),
        ("agent1@dialtone.demo", "Agent", "Sam", "Rivera"),
        ("agent2@dialtone.demo", "Agent", "Priya", "Natarajan"),
        ("agent3@dialtone.demo", "Agent", "Jonas", "Berg"),
    ];
    let user_obj = Schema::standard().object("User").expect("standard User");
    for (username, profile, first, last) in people {
        let password = dialtone_server::auth::random_secret(12);
        let access = crate::NewUserAccess { profile, role: None, permission_sets: &[] };
        let id = add_user(store, username, &access, Some(first.into()), Some(last.into()), None, &password).await?;
        if profile == "Agent" {
            store
                .update(user_obj, &id, vec![("CallCenterId".into(), Value::Text(cc.to_string()))], None)
                .await
                .context("assigning demo agents")?;
        }
        logins.push((username, profile, password));
    }
    let routing = dialtone_server::routing_admin::parse_file(ROUTING.as_bytes()).map_err(|e| anyhow::anyhow!("demo routing: {}", e.message))?;
    dialtone_server::routing_admin::import(store, &routing, false, None).await.map_err(|e| anyhow::anyhow!("demo routing: {}", e.message))?;
    let flows = dialtone_server::flows_admin::parse_file(FLOWS.as_bytes()).map_err(|e| anyhow::anyhow!("demo flows: {}", e.message))?;
    dialtone_server::flows_admin::import(store, &flows, false, None).await.map_err(|e| anyhow::anyhow!("demo flows: {}", e.message))?;
    let (client_id, secret) = dialtone_server::auth::register_app(store, "Dialtone Demo").await.context("registering the demo app")?;
    store.put_setting("demo_loaded", &dialtone_model::format_datetime(time::OffsetDateTime::now_utc())).await.context("saving settings")?;

    println!("Demo org loaded: {} accounts, {} contacts, {} leads, call center DialtoneDemo, routing queues Support, Spanish and Billing.", ACCOUNTS.len() + PEOPLE.len(), CONTACTS.len(), LEADS.len());
    println!("Sign-ins (shown once — write them down):");
    for (u, p, pw) in &logins {
        println!("  {u:<24} {p:<22} password: {pw}");
    }
    println!("Connected app for API clients:");
    println!("  client_id={client_id}");
    println!("  client_secret={secret}");
    println!("Try it:");
    println!("  open {base_url}/console and sign in as agent1@dialtone.demo: the softphone is on the right");
    println!("  curl -s {base_url}/services/oauth2/token -d grant_type=password -d client_id=… -d client_secret=… -d username=admin@dialtone.demo -d password=…");
    Ok(())
}
