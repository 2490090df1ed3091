//! Thousands of mutated and random inputs: `parse` must never panic, and whatever it accepts
//! must survive export and re-parse unchanged.

mod common;

use common::{all_fixtures, assert_parsed_round_trips, assert_round_trip, parseable_fixtures};
use dialtone_callcenter::{Format, parse, validate};
use proptest::prelude::*;
use proptest::test_runner::Config;

/// Fragments that tend to reach the parser's corners.
const TOKENS: &[&str] = &[
    "<",
    ">",
    "/>",
    "&",
    "&amp;",
    "&lt;",
    "&#0;",
    "&#x1F600;",
    "&#xD800;",
    "&#13;",
    "&bogus;",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<!DOCTYPE a [<!ENTITY e \"x\">]>",
    "<?xml version=\"1.0\"?>",
    "<?pi?>",
    "\"",
    "'",
    "=",
    "\u{0}",
    "\u{1}",
    "\u{FEFF}",
    "\u{FFFE}",
    "\r\n",
    "\r",
    "é",
    "☎",
    "<item name=\"x\">",
    "</item>",
    "<section name=\"s\">",
    "</section>",
    "<callCenter>",
    "</callCenter>",
    "<CallCenter xmlns=\"http://soap.sforce.com/2006/04/metadata\">",
    "</CallCenter>",
    "<sections>",
    "</sections>",
    "<items>",
    "</items>",
    "<name>n</name>",
    "<label>l</label>",
    "<value>v</value>",
    "<value/>",
    " sortOrder=\"-7\"",
    " label=\"a&#10;b\"",
    " name=\"\"",
    "<displayName>d</displayName>",
    "<customSettings>{}</customSettings>",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, byte: u8 },
    Insert { at: usize, token: usize },
    Delete { at: usize, len: usize },
    Duplicate { at: usize, len: usize },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        // Mostly printable ASCII, so that many mutants stay parseable and reach export.
        3 => (any::<usize>(), b' '..=b'~').prop_map(|(at, byte)| Mutation::Flip { at, byte }),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Flip { at, byte }),
        4 => (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, token)| Mutation::Insert { at, token }),
        2 => (any::<usize>(), 1..40usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        2 => (any::<usize>(), 1..200usize).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let at = |at: usize, bytes: &Vec<u8>| {
        if bytes.is_empty() {
            0
        } else {
            at % (bytes.len() + 1)
        }
    };
    match *mutation {
        Mutation::Flip { at: i, byte } => {
            if !bytes.is_empty() {
                let i = i % bytes.len();
                bytes[i] = byte;
            }
        }
        Mutation::Insert { at: i, token } => {
            let i = at(i, bytes);
            bytes.splice(i..i, TOKENS[token].bytes());
        }
        Mutation::Delete { at: i, len } => {
            let i = at(i, bytes);
            let end = (i + len).min(bytes.len());
            bytes.drain(i..end);
        }
        Mutation::Duplicate { at: i, len } => {
            let i = at(i, bytes);
            let end = (i + len).min(bytes.len());
            let copy = bytes[i..end].to_vec();
            bytes.splice(i..i, copy);
        }
        Mutation::Truncate { at: i } => {
            let i = at(i, bytes);
            bytes.truncate(i);
        }
    }
}

/// Whatever parses must validate without panicking and round-trip through both formats.
fn check(bytes: &[u8], file_name: &str) {
    match parse(bytes, file_name) {
        Ok(def) => {
            for problem in validate(&def) {
                assert!(!problem.to_string().contains('\n'));
            }
            assert_parsed_round_trips(&def, file_name);
        }
        Err(error) => {
            let message = error.to_string();
            assert!(!message.contains('\n'), "{message:?}");
            assert!(message.starts_with(file_name), "{message:?}");
        }
    }
}

proptest! {
    #![proptest_config(Config { cases: 4000, failure_persistence: None, ..Config::default() })]

    #[test]
    fn mutated_fixtures_never_panic(
        fixture in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let (name, original) = fixture.get(all_fixtures());
        let mut bytes = original.clone();
        for mutation in &mutations {
            apply(&mut bytes, mutation);
        }
        check(&bytes, name);
    }
}

/// Text that is legal inside values and attribute values (escaped where needed).
const VALUE_TOKENS: &[&str] = &[
    "&amp;",
    "&lt;",
    "&gt;",
    "&quot;",
    "&apos;",
    "&#13;",
    "&#10;",
    "&#9;",
    "&#x1F600;",
    "&#233;",
    "]]>",
    "'",
    "\r\n",
    "\r",
    "\t",
    "  ",
    "é",
    "☎",
    "電話",
    "-1",
    "0",
    "\u{FEFF}",
    "{\"a\":1}",
];

/// Byte offsets where a value starts: just after `>` (element text) or `="` (attribute).
fn value_starts(bytes: &[u8]) -> Vec<usize> {
    (1..bytes.len())
        .filter(|&i| bytes[i - 1] == b'>' || (i >= 2 && &bytes[i - 2..i] == b"=\""))
        .collect()
}

proptest! {
    #![proptest_config(Config { cases: 3000, failure_persistence: None, ..Config::default() })]

    /// Edits inside values keep most files parseable, so these reach export and re-parse.
    #[test]
    fn edited_values_round_trip(
        fixture in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..VALUE_TOKENS.len()), 1..4),
    ) {
        let (name, original) = fixture.get(parseable_fixtures());
        let mut bytes = original.clone();
        for (at, token) in &edits {
            let starts = value_starts(&bytes);
            if let Some(&at) = starts.get(at.index(starts.len().max(1))) {
                bytes.splice(at..at, VALUE_TOKENS[*token].bytes());
            }
        }
        check(&bytes, name);
    }
}

proptest! {
    #![proptest_config(Config { cases: 2000, failure_persistence: None, ..Config::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check(&bytes, "random.xml");
    }

    #[test]
    fn random_text_in_values_round_trips(
        value in "\\PC*",
        label in "\\PC*",
        sort in "\\PC{0,5}",
    ) {
        // Any XML-legal text survives as a value, a label or a sort order, in both formats.
        use dialtone_callcenter::{CallCenterDef, Item, Origin, Section};
        let mut item = Item::new("vendorSetting", value).with_label(label.clone());
        item.sort_order = Some(sort);
        let def = CallCenterDef {
            format: Format::Legacy,
            internal_name: "vendor".into(),
            display_name: String::new(),
            adapter_url: None,
            version: None,
            custom_settings: None,
            display_name_label: None,
            internal_name_label: None,
            sections: vec![Section::new("vendor").with_label(label).with_item(item)],
            origin: Origin::default(),
        };
        let has_invalid = validate(&def).iter().any(|p| p.code == dialtone_callcenter::ProblemCode::InvalidCharacter);
        prop_assume!(!has_invalid);
        for format in [Format::Legacy, Format::Metadata] {
            assert_round_trip(&def, format);
        }
    }
}
