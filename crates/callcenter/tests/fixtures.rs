//! Table-driven tests over the fixture files in `tests/fixtures/`.

mod common;

use common::{assert_parsed_round_trips, assert_round_trip, fixture};
use dialtone_callcenter::{
    Format, MAX_FILE_SIZE, ParseErrorKind, ProblemCode, export, names, parse, validate,
};

// ---------------------------------------------------------------------------------------------
// Good files

struct Good {
    file: &'static str,
    format: Format,
    internal_name: &'static str,
    display_name: &'static str,
    adapter_url: Option<&'static str>,
    partner_telephony: bool,
    sections: &'static [&'static str],
}

const GOOD: &[Good] = &[
    Good {
        file: "legacy_twilio.xml",
        format: Format::Legacy,
        internal_name: "AcmeClick2Dial",
        display_name: "Acme Click-to-Dial",
        adapter_url: Some("/apex/AcmeClick2Dial"),
        partner_telephony: false,
        sections: &["reqGeneralInfo", "reqDialingOptions"],
    },
    Good {
        file: "legacy_no_declaration.xml",
        format: Format::Legacy,
        internal_name: "EmbeddablePhone",
        display_name: "Embeddable Phone for Open CTI",
        adapter_url: Some("/apex/EmbeddablePhone"),
        partner_telephony: false,
        sections: &["reqGeneralInfo"],
    },
    Good {
        file: "legacy_messy.xml",
        format: Format::Legacy,
        internal_name: "Acme_Support2",
        display_name: "Acme & Sons — Support",
        adapter_url: Some("https://cti.acme.example/adapter?org=1&mode=lightning"),
        partner_telephony: false,
        sections: &["reqGeneralInfo", "acme.settings", "extraNoSortOrder"],
    },
    Good {
        file: "legacy_partner_byot.xml",
        format: Format::Legacy,
        internal_name: "DemoByot",
        display_name: "Demo BYOT",
        adapter_url: Some("https://localhost:8080"),
        partner_telephony: true,
        sections: &["reqGeneralInfo", "reqHvcc"],
    },
    Good {
        file: "legacy_partner_scv.xml",
        format: Format::Legacy,
        internal_name: "acmeVoiceCC",
        display_name: "Acme Voice Contact Center",
        adapter_url: None,
        partner_telephony: true,
        sections: &["reqGeneralInfo", "reqHvcc", "TelephonyProviderSettings"],
    },
    Good {
        file: "OpenCTI.callCenter",
        format: Format::Metadata,
        internal_name: "OpenCTI",
        display_name: "Demo Call Center Adapter",
        adapter_url: Some("/apex/demoAdapterPage"),
        partner_telephony: false,
        sections: &[
            "reqGeneralInfo",
            "reqDialingOptions",
            "reqPhoneDemoSettings",
        ],
    },
    Good {
        file: "AcmeCti.callCenter-meta.xml",
        format: Format::Metadata,
        internal_name: "AcmeCti",
        display_name: "Acme CTI",
        adapter_url: Some("https://cti.acme.example/adapter"),
        partner_telephony: false,
        sections: &["reqGeneralInfo", "AcmeVendorSettings"],
    },
    Good {
        file: "AcmeVoice.callCenter-meta.xml",
        format: Format::Metadata,
        internal_name: "AcmeVoice",
        display_name: "Acme Voice",
        adapter_url: None,
        partner_telephony: true,
        sections: &["reqGeneralInfo", "reqHvcc"],
    },
];

#[test]
fn good_files_parse_with_the_expected_values() {
    for good in GOOD {
        let def =
            parse(&fixture(good.file), good.file).unwrap_or_else(|e| panic!("{}: {e}", good.file));
        assert_eq!(def.format, good.format, "{}", good.file);
        assert_eq!(def.internal_name, good.internal_name, "{}", good.file);
        assert_eq!(def.display_name, good.display_name, "{}", good.file);
        assert_eq!(
            def.adapter_url.as_deref(),
            good.adapter_url,
            "{}",
            good.file
        );
        assert_eq!(
            def.is_partner_telephony(),
            good.partner_telephony,
            "{}",
            good.file
        );
        let sections: Vec<_> = def.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(sections, good.sections, "{}", good.file);
        assert_eq!(def.origin.file_name, good.file);
    }
}

#[test]
fn good_files_are_valid() {
    for good in GOOD {
        let def = parse(&fixture(good.file), good.file).expect(good.file);
        let problems: Vec<_> = validate(&def).iter().map(ToString::to_string).collect();
        assert!(problems.is_empty(), "{}: {problems:#?}", good.file);
    }
}

#[test]
fn good_files_round_trip_in_both_formats() {
    for good in GOOD {
        let def = parse(&fixture(good.file), good.file).expect(good.file);
        assert_parsed_round_trips(&def, good.file);
        for format in [Format::Legacy, Format::Metadata] {
            // Converting keeps a valid definition valid.
            let converted = def.to_format(format);
            let problems: Vec<_> = validate(&converted)
                .iter()
                .map(ToString::to_string)
                .collect();
            assert!(
                problems.is_empty(),
                "{} as {format:?}: {problems:#?}",
                good.file
            );
        }
    }
}

#[test]
fn conversions_there_and_back_are_stable() {
    for good in GOOD {
        let def = parse(&fixture(good.file), good.file).expect(good.file);
        let other = match def.format {
            Format::Legacy => Format::Metadata,
            Format::Metadata => Format::Legacy,
        };
        let there = parse(export(&def, other).as_bytes(), good.file).expect(good.file);
        let back = parse(export(&there, def.format).as_bytes(), good.file).expect(good.file);
        assert_eq!(back.internal_name, def.internal_name, "{}", good.file);
        assert_eq!(back.display_name, def.display_name, "{}", good.file);
        assert_eq!(back.adapter_url, def.adapter_url, "{}", good.file);
        assert_eq!(
            back.is_partner_telephony(),
            def.is_partner_telephony(),
            "{}",
            good.file
        );
        let names = |d: &dialtone_callcenter::CallCenterDef| {
            d.sections
                .iter()
                .map(|s| s.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&back), names(&def), "{}", good.file);
        // A second trip changes nothing more.
        let again = parse(export(&back, other).as_bytes(), good.file).expect(good.file);
        let again = parse(export(&again, def.format).as_bytes(), good.file).expect(good.file);
        assert_eq!(again, back, "{}", good.file);
    }
}

// ---------------------------------------------------------------------------------------------
// What the messy and Metadata files hold, in detail

#[test]
fn messy_legacy_file_keeps_every_value_verbatim() {
    let def = parse(&fixture("legacy_messy.xml"), "legacy_messy.xml").unwrap();
    let general = def.section(names::GENERAL_INFO).unwrap();
    assert_eq!(general.sort_order.as_deref(), Some("-1"));
    assert_eq!(general.location.line, 7);
    // Items stay in file order, not sort order.
    let order: Vec<_> = general.items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(order[..2], ["reqDisplayName", "reqInternalName"]);
    assert_eq!(def.item(names::USE_API), Some("\n      TRUE\n    "));
    assert_eq!(def.item(names::SOFTPHONE_HEIGHT), Some(" 480 "));
    let width = general.item(names::SOFTPHONE_WIDTH).unwrap();
    assert_eq!(width.label.as_deref(), Some("Softphone \"Width\""));

    let vendor = def.section("acme.settings").unwrap();
    assert_eq!(vendor.label.as_deref(), Some("Acme — vendor settings"));
    assert_eq!(
        vendor.item("queues").unwrap().value,
        "support,<sales>,billing & returns"
    );
    assert_eq!(
        vendor.item("greeting").unwrap().value,
        "Hello,\n    you've reached Acme.\n"
    );
    assert_eq!(vendor.item("emptyValue").unwrap().value, "");
    let no_label = vendor.item("noLabel").unwrap();
    assert_eq!(
        (no_label.label.as_deref(), no_label.value.as_str()),
        (None, "x")
    );
    let no_sort = vendor.item("noSortOrder").unwrap();
    assert_eq!(
        (no_sort.sort_order.as_deref(), no_sort.value.as_str()),
        (None, "café ☎ 電話")
    );
    let empty = def.section("extraNoSortOrder").unwrap();
    assert_eq!((empty.sort_order.as_deref(), empty.items.len()), (None, 0));
}

#[test]
fn crlf_line_ends_and_byte_order_mark_read_like_the_plain_file() {
    let plain = fixture("legacy_messy.xml");
    let expected = parse(&plain, "messy.xml").unwrap();
    let crlf = String::from_utf8(plain.clone())
        .unwrap()
        .replace('\n', "\r\n");
    assert_eq!(parse(crlf.as_bytes(), "messy.xml").unwrap(), expected);
    let bom = [b"\xEF\xBB\xBF".as_slice(), &plain].concat();
    assert_eq!(parse(&bom, "messy.xml").unwrap(), expected);
}

#[test]
fn metadata_file_values() {
    let def = parse(&fixture("OpenCTI.callCenter"), "OpenCTI.callCenter").unwrap();
    let settings = def.custom_settings.as_deref().unwrap();
    assert!(settings.starts_with(r#"{"reqTimeout":"10000","reqSoftphoneHeight":"550""#));
    assert_eq!(def.display_name_label.as_deref(), Some("Display Name"));
    assert_eq!(def.internal_name_label.as_deref(), Some("InternalName"));
    assert_eq!(def.version, None);
    assert_eq!(def.item(names::INTERNAL_NAME), Some("OpenCTI")); // from the file name
    assert_eq!(def.item(names::TIMEOUT), Some("10000"));
    assert!(
        def.sections
            .iter()
            .flat_map(|s| &s.items)
            .all(|i| i.sort_order.is_none())
    );
    let exported = export(&def, Format::Metadata);
    assert!(exported.contains("<customSettings>{&quot;reqTimeout&quot;:&quot;10000&quot;"));

    let def = parse(
        &fixture("AcmeCti.callCenter-meta.xml"),
        "callCenters/AcmeCti.callCenter-meta.xml",
    )
    .unwrap();
    assert_eq!(def.internal_name, "AcmeCti");
    assert_eq!(def.version.as_deref(), Some("4"));
    let general = def.section(names::GENERAL_INFO).unwrap();
    assert_eq!(general.label.as_deref(), Some("General Information"));
    assert_eq!(
        general.item("reqDescription").unwrap().value,
        "Acme CTI <production>"
    );
    assert_eq!(general.item("notes").unwrap().value, "");
    let vendor = def.section("AcmeVendorSettings").unwrap();
    assert_eq!(
        (vendor.label.as_deref(), vendor.items[0].label.as_deref()),
        (None, None)
    );
}

#[test]
fn metadata_converts_to_an_import_file_with_the_names_as_items() {
    let def = parse(&fixture("OpenCTI.callCenter"), "OpenCTI.callCenter").unwrap();
    let legacy = export(&def, Format::Legacy);
    assert!(legacy.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<callCenter>\n"));
    assert!(legacy.contains(
        "    <section sortOrder=\"0\" name=\"reqGeneralInfo\" label=\"General Information\">\n        \
         <item sortOrder=\"0\" name=\"reqInternalName\" label=\"InternalName\">OpenCTI</item>\n        \
         <item sortOrder=\"1\" name=\"reqDisplayName\" label=\"Display Name\">Demo Call Center Adapter</item>\n        \
         <item sortOrder=\"2\" name=\"reqAdapterUrl\" label=\"CTI Adapter URL\">/apex/demoAdapterPage</item>\n"
    ));
    assert!(!legacy.contains("customSettings"));
    // Read back under any name: the internal name now travels in its item.
    let back = parse(legacy.as_bytes(), "import.xml").unwrap();
    assert_eq!(back.internal_name, "OpenCTI");
}

#[test]
fn partner_telephony_detection() {
    for (file, partner) in [
        ("legacy_partner_scv.xml", true),
        ("legacy_partner_byot.xml", true),
        ("invalid_partner_no_hvcc.xml", true), // reqVendorInfoApiName alone is enough
        ("AcmeVoice.callCenter-meta.xml", true),
        ("legacy_twilio.xml", false),
        ("OpenCTI.callCenter", false),
    ] {
        let def = parse(&fixture(file), file).unwrap();
        assert_eq!(def.is_partner_telephony(), partner, "{file}");
    }
}

// ---------------------------------------------------------------------------------------------
// Files that do not parse

struct BadParse {
    file: &'static str,
    kind: KindCheck,
    line: u32,
    column: u32,
    section: Option<&'static str>,
    item: Option<&'static str>,
}

#[test]
fn bad_files_are_refused_with_position_and_context() {
    let cases = [
        BadParse {
            file: "bad_mismatched_tag.xml",
            kind: |k| matches!(k, ParseErrorKind::MalformedXml { detail } if detail.contains("</callCenter> does not close the open <section>")),
            line: 6,
            column: 1,
            section: Some("reqGeneralInfo"),
            item: None,
        },
        BadParse {
            file: "bad_unclosed_item.xml",
            kind: |k| matches!(k, ParseErrorKind::MalformedXml { detail } if detail.contains("add </item>")),
            line: 4,
            column: 3,
            section: Some("reqGeneralInfo"),
            item: Some("reqInternalName"),
        },
        BadParse {
            file: "bad_truncated.xml",
            kind: |k| matches!(k, ParseErrorKind::Unclosed { element, opened_line: 2 } if element == "section"),
            line: 4,
            column: 1,
            section: Some("reqGeneralInfo"),
            item: None,
        },
        BadParse {
            file: "bad_doctype_xxe.xml",
            kind: |k| matches!(k, ParseErrorKind::DocType),
            line: 2,
            column: 1,
            section: None,
            item: None,
        },
        BadParse {
            file: "bad_billion_laughs.xml",
            kind: |k| matches!(k, ParseErrorKind::DocType),
            line: 2,
            column: 1,
            section: None,
            item: None,
        },
        BadParse {
            file: "bad_wrong_root.xml",
            kind: |k| matches!(k, ParseErrorKind::UnknownRoot { found } if found == "Package"),
            line: 2,
            column: 1,
            section: None,
            item: None,
        },
        BadParse {
            file: "bad_empty.xml",
            kind: |k| matches!(k, ParseErrorKind::Empty),
            line: 1,
            column: 1,
            section: None,
            item: None,
        },
        BadParse {
            file: "bad_comment_only.xml",
            kind: |k| matches!(k, ParseErrorKind::Empty),
            line: 3,
            column: 1,
            section: None,
            item: None,
        },
        BadParse {
            file: "bad_latin1.xml",
            kind: |k| matches!(k, ParseErrorKind::NotUtf8 { byte: 0xE9 }),
            line: 3,
            column: 36,
            section: None,
            item: None,
        },
        BadParse {
            file: "bad_bare_ampersand.xml",
            kind: |k| matches!(k, ParseErrorKind::MalformedXml { detail } if detail.contains("&amp;")),
            line: 4,
            column: 70,
            section: Some("reqGeneralInfo"),
            item: Some("reqDisplayName"),
        },
        BadParse {
            file: "bad_unknown_entity.xml",
            kind: |k| matches!(k, ParseErrorKind::UnknownEntity { name } if name == "nbsp"),
            line: 3,
            column: 72,
            section: Some("reqGeneralInfo"),
            item: Some("reqDisplayName"),
        },
        BadParse {
            file: "bad_item_without_name.xml",
            kind: |k| {
                matches!(
                    k,
                    ParseErrorKind::MissingAttribute {
                        element: "item",
                        attribute: "name"
                    }
                )
            },
            line: 4,
            column: 5,
            section: Some("reqGeneralInfo"),
            item: None,
        },
        BadParse {
            file: "bad_text_in_section.xml",
            kind: |k| matches!(k, ParseErrorKind::UnexpectedText { text, .. } if text == "\"reqDisplayName = Acme\""),
            line: 4,
            column: 5,
            section: Some("reqGeneralInfo"),
            item: None,
        },
        BadParse {
            file: "bad_mixed_formats.xml",
            kind: |k| matches!(k, ParseErrorKind::UnexpectedElement { found, .. } if found == "sections"),
            line: 2,
            column: 3,
            section: None,
            item: None,
        },
        BadParse {
            file: "bad_two_roots.xml",
            kind: |k| matches!(k, ParseErrorKind::ContentAfterRoot { .. }),
            line: 4,
            column: 1,
            section: None,
            item: None,
        },
        BadParse {
            file: "bad_namespace.callCenter",
            kind: |k| matches!(k, ParseErrorKind::WrongNamespace { .. }),
            line: 2,
            column: 1,
            section: None,
            item: None,
        },
        BadParse {
            file: "bad_duplicate_element.callCenter",
            kind: |k| matches!(k, ParseErrorKind::DuplicateElement { element, .. } if element == "displayName"),
            line: 5,
            column: 5,
            section: None,
            item: None,
        },
        BadParse {
            file: "bad_item_without_name.callCenter",
            kind: |k| {
                matches!(
                    k,
                    ParseErrorKind::MissingElement {
                        element: "name",
                        parent: "items"
                    }
                )
            },
            line: 5,
            column: 9,
            section: None,
            item: None,
        },
    ];
    for case in cases {
        let error = parse(&fixture(case.file), case.file).expect_err(case.file);
        assert!(
            (case.kind)(error.kind()),
            "{}: unexpected {:?}",
            case.file,
            error.kind()
        );
        let position = (error.line(), error.column());
        assert_eq!(position, (case.line, case.column), "{}: {error}", case.file);
        assert_eq!(error.section(), case.section, "{}: {error}", case.file);
        assert_eq!(error.item(), case.item, "{}: {error}", case.file);
        assert_eq!(error.file(), case.file);
        assert_one_line(&error.to_string());
    }
}

#[test]
fn parse_error_display_reads_like_a_compiler_message() {
    let error = parse(&fixture("bad_unknown_entity.xml"), "OpenCTI.xml").unwrap_err();
    assert_eq!(
        error.to_string(),
        "OpenCTI.xml:3:72: item \"reqDisplayName\" in section \"reqGeneralInfo\": unknown entity \
         \"&nbsp;\": only &lt; &gt; &amp; &quot; &apos; and numeric references such as &#233; are \
         allowed; write a literal & as &amp;"
    );
}

type KindCheck = fn(&ParseErrorKind) -> bool;

/// Inputs built in the test rather than stored: sizes, encodings, odd declarations.
#[test]
fn generated_bad_inputs() {
    let good = fixture("legacy_twilio.xml");
    let too_big = [good.as_slice(), &vec![b' '; MAX_FILE_SIZE + 1 - good.len()]].concat();
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            String::from_utf8(good.clone())
                .unwrap()
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    let cases: [(&str, Vec<u8>, KindCheck, u32, u32); 9] = [
        (
            "too big",
            too_big,
            |k| matches!(k, ParseErrorKind::TooLarge { size } if *size == MAX_FILE_SIZE + 1),
            0,
            0,
        ),
        (
            "UTF-16",
            utf16,
            |k| matches!(k, ParseErrorKind::Utf16),
            0,
            0,
        ),
        (
            "whitespace only",
            b" \n\t\n".to_vec(),
            |k| matches!(k, ParseErrorKind::Empty),
            3,
            1,
        ),
        (
            "late declaration",
            b"<callCenter><?xml version=\"1.0\"?></callCenter>".to_vec(),
            |k| matches!(k, ParseErrorKind::MisplacedDeclaration),
            1,
            13,
        ),
        (
            "XML 1.1",
            b"<?xml version=\"1.1\"?><callCenter/>".to_vec(),
            |k| matches!(k, ParseErrorKind::UnsupportedXmlVersion { .. }),
            1,
            1,
        ),
        (
            "Latin-1 declared, UTF-8 content",
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<callCenter>é</callCenter>".into(),
            |k| matches!(k, ParseErrorKind::UnsupportedEncoding { encoding } if encoding == "ISO-8859-1"),
            1,
            1,
        ),
        (
            "control character",
            b"<callCenter>\n  <section name=\"a\x01\"/>\n</callCenter>".to_vec(),
            |k| matches!(k, ParseErrorKind::InvalidCharacter { code: 1 }),
            2,
            19,
        ),
        (
            "control character reference",
            b"<callCenter><section name=\"a\"><item name=\"b\">&#27;</item></section></callCenter>"
                .to_vec(),
            |k| matches!(k, ParseErrorKind::InvalidCharacter { code: 27 }),
            1,
            46,
        ),
        (
            "end tag only",
            b"</callCenter>".to_vec(),
            |k| matches!(k, ParseErrorKind::MalformedXml { .. }),
            1,
            1,
        ),
    ];
    for (what, bytes, kind, line, column) in cases {
        let error = parse(&bytes, "generated.xml").expect_err(what);
        assert!(kind(error.kind()), "{what}: unexpected {error:?}");
        assert_eq!(
            (error.line(), error.column()),
            (line, column),
            "{what}: {error}"
        );
        assert_one_line(&error.to_string());
    }
}

#[test]
fn generated_edge_inputs_that_parse() {
    // Exactly at the size limit.
    let good = fixture("legacy_twilio.xml");
    let at_limit = [good.as_slice(), &vec![b'\n'; MAX_FILE_SIZE - good.len()]].concat();
    assert!(parse(&at_limit, "big.xml").is_ok());
    // A non-UTF-8 declaration is harmless when the file is plain ASCII.
    let ascii = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><callCenter/>";
    assert!(parse(ascii, "ascii.xml").is_ok());
    // An empty root is a (useless, invalid) definition, not a parse error.
    let def = parse(b"<callCenter/>", "empty.xml").unwrap();
    assert!(def.sections.is_empty());
    assert!(!validate(&def).is_empty());
}

#[test]
fn a_file_near_the_size_limit_is_read_in_one_pass() {
    // Thousands of items on a single line: positions must not be recomputed from the start.
    let mut xml = String::from("<callCenter><section name=\"vendor\">");
    let mut count = 0;
    while xml.len() < MAX_FILE_SIZE - 100 {
        xml.push_str(&format!("<item name=\"i{count}\" label=\"L\">v</item>"));
        count += 1;
    }
    xml.push_str("</section></callCenter>");
    let started = std::time::Instant::now();
    let def = parse(xml.as_bytes(), "big.xml").unwrap();
    let problems = validate(&def);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(def.sections[0].items.len(), count);
    let last = def.sections[0].items.last().unwrap();
    assert_eq!(last.location.line, 1);
    assert!(last.location.column > 1_000_000);
    assert!(
        problems
            .iter()
            .all(|p| p.code == ProblemCode::MissingRequiredItem)
    );
}

// ---------------------------------------------------------------------------------------------
// Files that parse but break Salesforce's rules

type Expected = (ProblemCode, u32, u32, Option<&'static str>);

#[test]
fn invalid_files_report_the_expected_problems() {
    use ProblemCode::*;
    let cases: [(&str, &[Expected]); 8] = [
        (
            "invalid_missing_required.xml",
            &[
                (MissingRequiredItem, 2, 3, Some("reqAdapterUrl")),
                (EmptyRequiredItem, 5, 5, Some("reqUseApi")),
                (MissingRequiredItem, 2, 3, Some("reqSoftphoneWidth")),
            ],
        ),
        (
            "invalid_numbers.xml",
            &[
                (InvalidNumber, 7, 5, Some("reqSoftphoneHeight")),
                (OutOfRange, 8, 5, Some("reqSoftphoneWidth")),
                (InvalidNumber, 9, 5, Some("reqTimeout")),
            ],
        ),
        (
            "invalid_duplicates.xml",
            &[
                (DuplicateItem, 9, 5, Some("reqSoftphoneHeight")),
                (DuplicateSection, 14, 3, None),
            ],
        ),
        (
            "invalid_values.xml",
            &[
                (InvalidSortOrder, 2, 3, None),
                (InvalidApiName, 3, 5, Some("reqInternalName")),
                (InvalidUrl, 5, 5, Some("reqAdapterUrl")),
                (InvalidBoolean, 6, 5, Some("reqUseApi")),
                (InvalidDialString, 12, 5, Some("reqLongDistPrefix")),
            ],
        ),
        (
            "invalid_partner.xml",
            &[
                (MissingRequiredItem, 2, 5, Some("reqVendorInfoApiName")),
                (
                    MissingRequiredItem,
                    6,
                    5,
                    Some("reqTelephonyIntegrationCertificate"),
                ),
                (
                    InvalidBoolean,
                    9,
                    9,
                    Some("reqUniversalCallRecordingAccess"),
                ),
            ],
        ),
        (
            "invalid_partner_no_hvcc.xml",
            &[(MissingRequiredSection, 1, 1, None)],
        ),
        (
            "Inconsistent.callCenter",
            &[
                (MissingRequiredItem, 5, 5, Some("reqAdapterUrl")),
                (InconsistentValue, 6, 9, Some("reqDisplayName")),
                (InvalidCustomSettings, 2, 1, None),
            ],
        ),
        ("Acme-CTI.callCenter", &[(InvalidApiName, 2, 1, None)]),
    ];
    for (file, expected) in cases {
        let def = parse(&fixture(file), file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let problems = validate(&def);
        let found: Vec<_> = problems
            .iter()
            .map(|p| (p.code, p.line, p.column, p.item.as_deref()))
            .collect();
        assert_eq!(found, expected, "{file}: {problems:#?}");
        for problem in &problems {
            assert_eq!(problem.file, file);
            assert_one_line(&problem.to_string());
        }
    }
}

#[test]
fn problem_display_and_codes() {
    let def = parse(&fixture("invalid_numbers.xml"), "OpenCTI.xml").unwrap();
    let problems = validate(&def);
    assert_eq!(
        problems[0].to_string(),
        "OpenCTI.xml:7:5: item \"reqSoftphoneHeight\" in section \"reqGeneralInfo\": value \"abc\" \
         is not a whole number; enter the softphone height in pixels, such as 400 [INVALID_NUMBER]"
    );
    assert_eq!(problems[0].code.as_str(), "INVALID_NUMBER");
    assert_eq!(
        ProblemCode::MissingRequiredItem.to_string(),
        "MISSING_REQUIRED_ITEM"
    );
}

#[test]
fn duplicate_vendor_items_are_reported() {
    // Salesforce's own partner telephony sample repeats "settings1" in its vendor section.
    let xml = r#"<callCenter>
  <section sortOrder="0" name="vendor" label="Vendor">
    <item sortOrder="0" name="settings1" label="Settings 1">a</item>
    <item sortOrder="1" name="settings1" label="Settings 2">b</item>
  </section>
</callCenter>"#;
    let def = parse(xml.as_bytes(), "vendor.xml").unwrap();
    let problems = validate(&def);
    assert!(problems.iter().any(|p| p.code == ProblemCode::DuplicateItem
        && p.item.as_deref() == Some("settings1")
        && p.line == 4));
}

#[test]
fn definitions_built_in_code_validate_and_export() {
    use dialtone_callcenter::{CallCenterDef, Item, Origin, Section};
    let def = CallCenterDef {
        format: Format::Metadata,
        internal_name: "Built".into(),
        display_name: "Built in code".into(),
        adapter_url: Some("/apex/Built".into()),
        version: None,
        custom_settings: None,
        display_name_label: None,
        internal_name_label: None,
        sections: vec![
            Section::new(names::GENERAL_INFO)
                .with_item(Item::new(names::USE_API, "true"))
                .with_item(Item::new(names::SOFTPHONE_HEIGHT, "400"))
                .with_item(Item::new(names::SOFTPHONE_WIDTH, "300\u{7}")),
        ],
        origin: Origin::default(),
    };
    let problems = validate(&def);
    let codes: Vec<_> = problems.iter().map(|p| p.code).collect();
    assert_eq!(
        codes,
        [ProblemCode::InvalidCharacter, ProblemCode::InvalidNumber]
    );
    assert_eq!(problems[0].line, 0);
    assert!(
        problems[0]
            .to_string()
            .starts_with("item \"reqSoftphoneWidth\"")
    );

    let mut fixed = def.clone();
    fixed.sections[0].items[2].value = "300".into();
    assert!(validate(&fixed).is_empty());
    for format in [Format::Legacy, Format::Metadata] {
        assert_round_trip(&fixed, format);
        assert!(validate(&fixed.to_format(format)).is_empty());
    }
}

fn assert_one_line(message: &str) {
    assert!(!message.contains(['\n', '\r']), "not one line: {message:?}");
}

// ---------------------------------------------------------------------------------------------
// Real files, when the shared collection is present

/// The real-world files collected outside the project (`$DIALTONE_SHARED_CASES/callcenter`,
/// by default `/work/shared/cases/callcenter`). Skipped silently when absent.
#[test]
fn real_files_parse_and_round_trip() {
    let root = std::env::var_os("DIALTONE_SHARED_CASES")
        .map_or_else(|| "/work/shared/cases".into(), std::path::PathBuf::from);
    let Ok(entries) = std::fs::read_dir(root.join("callcenter")) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("directory entry").path();
        let bytes = std::fs::read(&path).expect("readable file");
        // Collected as "<owner>-<repo>__<original name>"; the original name matters for
        // Metadata files, whose internal name it is.
        let collected = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 name");
        let original = collected
            .split_once("__")
            .map_or(collected, |(_, name)| name);
        let def = parse(&bytes, original).unwrap_or_else(|e| panic!("{collected}: {e}"));
        assert_parsed_round_trips(&def, original);
        assert!(!def.internal_name.is_empty(), "{collected}");
    }
}
