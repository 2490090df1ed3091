//! Salesforce's rules for call center definitions.

use std::collections::HashMap;
use std::fmt;

use crate::error::{Context, OneLine, Position, quote};
use crate::model::{CallCenterDef, Format, Item, Location, Section};
use crate::names;
use crate::source::is_xml_char;

/// Smallest softphone height or width accepted, in pixels. Partner telephony centers use 1
/// to hide the softphone.
pub const MIN_SOFTPHONE_SIZE: i64 = 1;
/// Largest softphone height or width accepted, in pixels.
pub const MAX_SOFTPHONE_SIZE: i64 = 4096;
/// Salesforce's limit on a call center's internal name.
const MAX_API_NAME_LENGTH: usize = 80;

/// What kind of rule a [`Problem`] breaks. [`as_str`](Self::as_str) gives a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemCode {
    /// A required item is absent (`MISSING_REQUIRED_ITEM`).
    MissingRequiredItem,
    /// A required item is present but blank (`EMPTY_REQUIRED_ITEM`).
    EmptyRequiredItem,
    /// A required section is absent (`MISSING_REQUIRED_SECTION`).
    MissingRequiredSection,
    /// A section or item has a blank name (`EMPTY_NAME`).
    EmptyName,
    /// Two sections share a name (`DUPLICATE_SECTION`).
    DuplicateSection,
    /// Two items of one section share a name (`DUPLICATE_ITEM`).
    DuplicateItem,
    /// The internal name is not a valid API name (`INVALID_API_NAME`).
    InvalidApiName,
    /// A true/false setting has another value (`INVALID_BOOLEAN`).
    InvalidBoolean,
    /// A numeric setting is not a whole number (`INVALID_NUMBER`).
    InvalidNumber,
    /// A numeric setting is outside its range (`OUT_OF_RANGE`).
    OutOfRange,
    /// A dialing prefix has characters other than digits, `*` and `#` (`INVALID_DIAL_STRING`).
    InvalidDialString,
    /// The adapter URL is neither an http(s) URL nor a path (`INVALID_URL`).
    InvalidUrl,
    /// A `sortOrder` is not a whole number (`INVALID_SORT_ORDER`).
    InvalidSortOrder,
    /// The telephony integration certificate is not PEM text (`INVALID_CERTIFICATE`).
    InvalidCertificate,
    /// `customSettings` is not a JSON object (`INVALID_CUSTOM_SETTINGS`).
    InvalidCustomSettings,
    /// Two places that hold the same setting disagree (`INCONSISTENT_VALUE`).
    InconsistentValue,
    /// Text holds a character XML cannot carry (`INVALID_CHARACTER`).
    InvalidCharacter,
}

impl ProblemCode {
    /// The stable code, such as `"MISSING_REQUIRED_ITEM"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MissingRequiredItem => "MISSING_REQUIRED_ITEM",
            Self::EmptyRequiredItem => "EMPTY_REQUIRED_ITEM",
            Self::MissingRequiredSection => "MISSING_REQUIRED_SECTION",
            Self::EmptyName => "EMPTY_NAME",
            Self::DuplicateSection => "DUPLICATE_SECTION",
            Self::DuplicateItem => "DUPLICATE_ITEM",
            Self::InvalidApiName => "INVALID_API_NAME",
            Self::InvalidBoolean => "INVALID_BOOLEAN",
            Self::InvalidNumber => "INVALID_NUMBER",
            Self::OutOfRange => "OUT_OF_RANGE",
            Self::InvalidDialString => "INVALID_DIAL_STRING",
            Self::InvalidUrl => "INVALID_URL",
            Self::InvalidSortOrder => "INVALID_SORT_ORDER",
            Self::InvalidCertificate => "INVALID_CERTIFICATE",
            Self::InvalidCustomSettings => "INVALID_CUSTOM_SETTINGS",
            Self::InconsistentValue => "INCONSISTENT_VALUE",
            Self::InvalidCharacter => "INVALID_CHARACTER",
        }
    }
}

impl fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A broken rule, with where it is and what to do about it.
///
/// Displays on one line:
/// `OpenCTI.xml:12:9: item "reqSoftphoneHeight" in section "reqGeneralInfo": value "abc" is not a whole number; … [INVALID_NUMBER]`
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{} [{code}]", Position::new(.file, *.line, *.column), Context::new(.section.as_deref(), .item.as_deref()), OneLine(.message))]
pub struct Problem {
    /// Which rule.
    pub code: ProblemCode,
    /// The file the definition was read from (empty if built in code).
    pub file: String,
    /// 1-based line, `0` if unknown.
    pub line: u32,
    /// 1-based column, `0` if unknown.
    pub column: u32,
    /// The section concerned, if any.
    pub section: Option<String>,
    /// The item concerned, if any.
    pub item: Option<String>,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Checks `def` against Salesforce's rules; an empty list means it is valid.
///
/// Every definition: section names unique, item names unique within a section, no blank
/// names, whole-number `sortOrder`s, a valid API name as internal name, and, where present,
/// `reqUseApi` and `reqUniversalCallRecordingAccess` true or false, softphone height and width
/// whole numbers from [`MIN_SOFTPHONE_SIZE`] to [`MAX_SOFTPHONE_SIZE`], `reqTimeout` a whole
/// number of milliseconds, the `reqDialingOptions` prefixes dial strings (digits, `*`, `#`),
/// the adapter URL an http(s) URL or a path, the integration certificate PEM text,
/// `customSettings` a JSON object, and `<displayName>` /
/// `<adapterUrl>` agreeing with their items.
///
/// CTI centers must have `reqInternalName`, `reqDisplayName`, `reqAdapterUrl`, `reqUseApi`,
/// `reqSoftphoneHeight` and `reqSoftphoneWidth` (in Metadata files the display name and
/// adapter URL may be the `<displayName>` and `<adapterUrl>` elements). Partner telephony
/// centers ([`CallCenterDef::is_partner_telephony`]) have no adapter and must instead have
/// `reqInternalName`, `reqDisplayName`, `reqVendorInfoApiName` (or the older
/// `reqTelephonyProvider`), and a `reqHvcc` section with `reqRelayState`, `reqIdentityUrl`
/// and `reqTelephonyIntegrationCertificate`.
#[must_use]
pub fn validate(def: &CallCenterDef) -> Vec<Problem> {
    let mut checker = Checker {
        def,
        problems: Vec::new(),
    };
    checker.structure();
    checker.characters();
    checker.internal_name();
    if def.is_partner_telephony() {
        checker.partner_telephony_requirements();
    } else {
        checker.cti_requirements();
    }
    checker.values();
    checker.consistency();
    checker.custom_settings();
    checker.problems
}

/// What a problem is about.
#[derive(Clone, Copy)]
enum Subject<'a> {
    /// The definition as a whole (its root element).
    Root,
    Section(&'a Section),
    Item(&'a Section, &'a Item),
    /// A section or item that should exist: reported at its section, or the root.
    Missing(Option<&'a Section>, &'a str, Option<&'a str>),
}

struct Checker<'a> {
    def: &'a CallCenterDef,
    problems: Vec<Problem>,
}

/// A required item: name, label and an example value, for the fix-it hint.
struct Required {
    name: &'static str,
    label: &'static str,
    example: &'static str,
}

const CTI_REQUIRED: [Required; 6] = [
    Required {
        name: names::INTERNAL_NAME,
        label: "Internal Name",
        example: "MyCallCenter",
    },
    Required {
        name: names::DISPLAY_NAME,
        label: "Display Name",
        example: "My Call Center",
    },
    Required {
        name: names::ADAPTER_URL,
        label: "CTI Adapter URL",
        example: "/apex/MySoftphone",
    },
    Required {
        name: names::USE_API,
        label: "Use CTI API",
        example: "true",
    },
    Required {
        name: names::SOFTPHONE_HEIGHT,
        label: "Softphone Height",
        example: "400",
    },
    Required {
        name: names::SOFTPHONE_WIDTH,
        label: "Softphone Width",
        example: "300",
    },
];

const PARTNER_REQUIRED: [Required; 2] = [
    Required {
        name: names::INTERNAL_NAME,
        label: "Internal Name",
        example: "MyContactCenter",
    },
    Required {
        name: names::DISPLAY_NAME,
        label: "Display Name",
        example: "My Contact Center",
    },
];

const HVCC_REQUIRED: [Required; 3] = [
    Required {
        name: names::RELAY_STATE,
        label: "Relay State",
        example: "https://…",
    },
    Required {
        name: names::IDENTITY_URL,
        label: "Identity URL",
        example: "https://…",
    },
    Required {
        name: names::TELEPHONY_INTEGRATION_CERTIFICATE,
        label: "Telephony Integration Certificate",
        example: "-----BEGIN CERTIFICATE-----…",
    },
];

const VENDOR: Required = Required {
    name: names::VENDOR_INFO_API_NAME,
    label: "Conversation Vendor Info Developer Name",
    example: "c__MyVendor",
};

const DIAL_PREFIXES: [&str; 3] = [
    names::OUTSIDE_PREFIX,
    names::LONG_DIST_PREFIX,
    names::INTERNATIONAL_PREFIX,
];

impl<'a> Checker<'a> {
    fn report(&mut self, code: ProblemCode, subject: Subject<'a>, message: String) {
        let (location, section, item) = match subject {
            Subject::Root => (self.def.origin.location, None, None),
            Subject::Section(section) => (section.location, Some(section.name.as_str()), None),
            Subject::Item(section, item) => (
                item.location,
                Some(section.name.as_str()),
                Some(item.name.as_str()),
            ),
            Subject::Missing(at, section, item) => (
                at.map_or(self.def.origin.location, |s| s.location),
                Some(section),
                item,
            ),
        };
        self.problems.push(Problem {
            code,
            file: self.def.origin.file_name.clone(),
            line: location.line,
            column: location.column,
            section: section.map(str::to_owned),
            item: item.map(str::to_owned),
            message,
        });
    }

    /// Names present, unique, and sort orders numeric.
    fn structure(&mut self) {
        let mut sections_seen: HashMap<&str, Location> = HashMap::new();
        for section in &self.def.sections {
            let subject = Subject::Section(section);
            if section.name.trim().is_empty() {
                let message = "a section has no name; give it one, such as reqGeneralInfo";
                self.report(ProblemCode::EmptyName, subject, message.to_owned());
            } else if let Some(first) = sections_seen.get(section.name.as_str()) {
                let message = format!(
                    "section appears more than once (first on line {}); merge them into one",
                    first.line
                );
                self.report(ProblemCode::DuplicateSection, subject, message);
            } else {
                sections_seen.insert(&section.name, section.location);
            }
            self.sort_order(section.sort_order.as_deref(), subject);
            self.items_structure(section);
        }
    }

    fn items_structure(&mut self, section: &'a Section) {
        let mut seen: HashMap<&str, Location> = HashMap::new();
        for item in &section.items {
            let subject = Subject::Item(section, item);
            if item.name.trim().is_empty() {
                let message = "an item has no name; give it the setting's name";
                self.report(ProblemCode::EmptyName, subject, message.to_owned());
            } else if let Some(first) = seen.get(item.name.as_str()) {
                let message = format!(
                    "item appears more than once in this section (first on line {}); keep only one",
                    first.line
                );
                self.report(ProblemCode::DuplicateItem, subject, message);
            } else {
                seen.insert(&item.name, item.location);
            }
            self.sort_order(item.sort_order.as_deref(), subject);
        }
    }

    fn sort_order(&mut self, sort_order: Option<&str>, subject: Subject<'a>) {
        if let Some(sort_order) = sort_order
            && sort_order.trim().parse::<i64>().is_err()
        {
            let message = format!(
                "sortOrder {} is not a whole number; number sections and items 0, 1, 2…",
                quote(sort_order)
            );
            self.report(ProblemCode::InvalidSortOrder, subject, message);
        }
    }

    /// Text XML cannot carry: only possible in definitions built in code.
    fn characters(&mut self) {
        let def = self.def;
        let top = [
            Some(def.internal_name.as_str()),
            Some(def.display_name.as_str()),
            def.adapter_url.as_deref(),
            def.version.as_deref(),
            def.custom_settings.as_deref(),
            def.display_name_label.as_deref(),
            def.internal_name_label.as_deref(),
        ];
        if top.into_iter().flatten().any(has_invalid_char) {
            self.invalid_character(Subject::Root);
        }
        for section in &def.sections {
            let texts = [
                Some(&section.name),
                section.label.as_ref(),
                section.sort_order.as_ref(),
            ];
            if texts.into_iter().flatten().any(|t| has_invalid_char(t)) {
                self.invalid_character(Subject::Section(section));
            }
            for item in &section.items {
                let texts = [
                    Some(&item.name),
                    item.label.as_ref(),
                    item.sort_order.as_ref(),
                    Some(&item.value),
                ];
                if texts.into_iter().flatten().any(|t| has_invalid_char(t)) {
                    self.invalid_character(Subject::Item(section, item));
                }
            }
        }
    }

    fn invalid_character(&mut self, subject: Subject<'a>) {
        let message = "text contains a control character that XML cannot carry; remove it";
        self.report(ProblemCode::InvalidCharacter, subject, message.to_owned());
    }

    fn internal_name(&mut self) {
        let name = &self.def.internal_name;
        if name.is_empty() {
            return; // reported as a missing required item
        }
        if let Some(reason) = api_name_problem(name) {
            let message = format!(
                "internal name {} is not a valid API name: {reason}",
                quote(name)
            );
            let subject = self
                .item_subject(names::INTERNAL_NAME)
                .unwrap_or(Subject::Root);
            self.report(ProblemCode::InvalidApiName, subject, message);
        }
    }

    fn cti_requirements(&mut self) {
        for required in &CTI_REQUIRED {
            self.require(required);
        }
    }

    fn partner_telephony_requirements(&mut self) {
        for required in &PARTNER_REQUIRED {
            self.require(required);
        }
        if self.def.item(names::TELEPHONY_PROVIDER).is_none() {
            self.require(&VENDOR);
        }
        let Some(hvcc) = self.def.section(names::HVCC_SECTION) else {
            let message = "partner telephony centers need a reqHvcc section with the \
                           reqRelayState, reqIdentityUrl and reqTelephonyIntegrationCertificate items";
            let subject = Subject::Missing(None, names::HVCC_SECTION, None);
            self.report(
                ProblemCode::MissingRequiredSection,
                subject,
                message.to_owned(),
            );
            return;
        };
        for required in &HVCC_REQUIRED {
            match hvcc.item(required.name) {
                Some(item) => self.require_not_blank(hvcc, item),
                None => self.missing(required, Some(hvcc), names::HVCC_SECTION),
            }
        }
    }

    /// A required item must exist somewhere and not be blank.
    fn require(&mut self, required: &Required) {
        if let Some(Subject::Item(section, item)) = self.item_subject(required.name) {
            self.require_not_blank(section, item);
            return;
        }
        let present = self
            .def
            .item(required.name)
            .is_some_and(|v| !v.trim().is_empty());
        if !present {
            let general = self.def.section(names::GENERAL_INFO);
            self.missing(required, general, names::GENERAL_INFO);
        }
    }

    fn require_not_blank(&mut self, section: &'a Section, item: &'a Item) {
        if item.value.trim().is_empty() {
            let message = "required item is empty; enter a value".to_owned();
            self.report(
                ProblemCode::EmptyRequiredItem,
                Subject::Item(section, item),
                message,
            );
        }
    }

    fn missing(&mut self, required: &Required, at: Option<&'a Section>, section: &'static str) {
        let Required {
            name,
            label,
            example,
        } = required;
        let fix = match (self.def.format, *name) {
            (Format::Metadata, names::DISPLAY_NAME) => {
                format!("add <displayName>{example}</displayName>")
            }
            (Format::Metadata, names::ADAPTER_URL) => {
                format!("add <adapterUrl>{example}</adapterUrl>")
            }
            (Format::Metadata, _) => format!(
                "add <items><label>{label}</label><name>{name}</name><value>{example}</value></items> \
                 to the {section} <sections>"
            ),
            (Format::Legacy, _) => format!(
                "add <item name=\"{name}\" label=\"{label}\">{example}</item> to section \"{section}\""
            ),
        };
        let message = format!("this required item ({label}) is missing; {fix}");
        let subject = Subject::Missing(at, section, Some(name));
        self.report(ProblemCode::MissingRequiredItem, subject, message);
    }

    /// Format checks on the values of the items Salesforce interprets.
    fn values(&mut self) {
        for section in &self.def.sections {
            for item in &section.items {
                self.value(section, item);
            }
        }
        let adapter_item = self.item_subject(names::ADAPTER_URL);
        if let (Some(url), None) = (&self.def.adapter_url, adapter_item)
            && let Some(message) = url_problem(url)
        {
            self.report(ProblemCode::InvalidUrl, Subject::Root, message);
        }
    }

    fn value(&mut self, section: &'a Section, item: &'a Item) {
        let value = item.value.trim();
        if value.is_empty() {
            return; // blank required items are reported by the requirement checks
        }
        let problem = match item.name.as_str() {
            names::USE_API | names::UNIVERSAL_CALL_RECORDING_ACCESS => boolean_problem(value),
            names::SOFTPHONE_HEIGHT => pixels_problem(value, "softphone height", "400"),
            names::SOFTPHONE_WIDTH => pixels_problem(value, "softphone width", "300"),
            names::TIMEOUT => timeout_problem(value),
            names::ADAPTER_URL => url_problem(value).map(|m| (ProblemCode::InvalidUrl, m)),
            names::TELEPHONY_INTEGRATION_CERTIFICATE => certificate_problem(value),
            name if section.name == names::DIALING_OPTIONS && DIAL_PREFIXES.contains(&name) => {
                dial_string_problem(value)
            }
            _ => None,
        };
        if let Some((code, message)) = problem {
            self.report(code, Subject::Item(section, item), message);
        }
    }

    /// The Metadata elements must agree with the items that repeat them.
    fn consistency(&mut self) {
        let def = self.def;
        let pairs = [
            (
                names::DISPLAY_NAME,
                Some(def.display_name.as_str()),
                "<displayName>",
            ),
            (
                names::ADAPTER_URL,
                def.adapter_url.as_deref(),
                "<adapterUrl>",
            ),
        ];
        for (name, element, element_name) in pairs {
            let (Some(element), Some(Subject::Item(section, item))) =
                (element, self.item_subject(name))
            else {
                continue;
            };
            if item.value != element {
                let message = format!(
                    "value {} differs from {element_name} {}; make them the same",
                    quote(&item.value),
                    quote(element)
                );
                self.report(
                    ProblemCode::InconsistentValue,
                    Subject::Item(section, item),
                    message,
                );
            }
        }
    }

    /// `customSettings` must be a JSON object.
    ///
    /// Its values are not compared with the items: Salesforce's own Open CTI demo file has
    /// a `reqStandbyUrl` that differs between the two.
    fn custom_settings(&mut self) {
        let Some(text) = self.def.custom_settings.as_deref() else {
            return;
        };
        if text.trim().is_empty() {
            return;
        }
        let problem = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(_)) => return,
            Ok(_) => "customSettings must be a JSON object, such as {\"reqTimeout\":\"10000\"}"
                .to_owned(),
            Err(error) => format!(
                "customSettings is not valid JSON ({error}); it must be a JSON object, such as {{\"reqTimeout\":\"10000\"}}"
            ),
        };
        self.report(ProblemCode::InvalidCustomSettings, Subject::Root, problem);
    }

    /// The first item called `name`, as a subject.
    fn item_subject(&self, name: &str) -> Option<Subject<'a>> {
        let def: &'a CallCenterDef = self.def;
        def.sections
            .iter()
            .find_map(|s| s.item(name).map(|i| Subject::Item(s, i)))
    }
}

fn has_invalid_char(text: &str) -> bool {
    !text.chars().all(is_xml_char)
}

/// Why `name` is not a Salesforce API name, if it is not.
fn api_name_problem(name: &str) -> Option<&'static str> {
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        Some("it must start with a letter")
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Some("use only letters, digits and underscores (no spaces)")
    } else if name.ends_with('_') {
        Some("it must not end with an underscore")
    } else if name.contains("__") {
        Some("it must not contain two underscores in a row")
    } else if name.len() > MAX_API_NAME_LENGTH {
        Some("it must be at most 80 characters long")
    } else {
        None
    }
}

type Found = Option<(ProblemCode, String)>;

fn boolean_problem(value: &str) -> Found {
    let valid = value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false");
    (!valid).then(|| {
        let message = format!(
            "value {} is not true or false; enter true or false",
            quote(value)
        );
        (ProblemCode::InvalidBoolean, message)
    })
}

fn whole_number(value: &str) -> Option<i64> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Too many digits for i64 is still a whole number, just far out of range.
    Some(value.parse().unwrap_or(if value.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    }))
}

fn pixels_problem(value: &str, what: &str, example: &str) -> Found {
    let Some(pixels) = whole_number(value) else {
        let message = format!(
            "value {} is not a whole number; enter the {what} in pixels, such as {example}",
            quote(value)
        );
        return Some((ProblemCode::InvalidNumber, message));
    };
    let range = MIN_SOFTPHONE_SIZE..=MAX_SOFTPHONE_SIZE;
    (!range.contains(&pixels)).then(|| {
        let message = format!(
            "{what} {pixels} is out of range; enter {MIN_SOFTPHONE_SIZE} to {MAX_SOFTPHONE_SIZE} pixels"
        );
        (ProblemCode::OutOfRange, message)
    })
}

fn timeout_problem(value: &str) -> Found {
    let Some(millis) = whole_number(value) else {
        let message = format!(
            "value {} is not a whole number; enter the timeout in milliseconds, such as 10000",
            quote(value)
        );
        return Some((ProblemCode::InvalidNumber, message));
    };
    (u32::try_from(millis).is_err()).then(|| {
        let message = format!(
            "timeout {millis} is out of range; enter 0 to {} milliseconds",
            u32::MAX
        );
        (ProblemCode::OutOfRange, message)
    })
}

fn dial_string_problem(value: &str) -> Found {
    let valid = value
        .chars()
        .all(|c| c.is_ascii_digit() || c == '*' || c == '#');
    (!valid).then(|| {
        let message = format!(
            "value {} is not a dial string; use only digits, * and #, such as 9",
            quote(value)
        );
        (ProblemCode::InvalidDialString, message)
    })
}

/// An adapter URL is an absolute http(s) URL or a path on the Salesforce domain.
fn url_problem(value: &str) -> Option<String> {
    let value = value.trim();
    let after_scheme = ["https://", "http://"].iter().find_map(|scheme| {
        value
            .get(..scheme.len())
            .filter(|start| start.eq_ignore_ascii_case(scheme))
            .map(|_| &value[scheme.len()..])
    });
    let valid = match after_scheme {
        Some(rest) => !rest.is_empty() && !rest.starts_with('/'),
        None => value.starts_with('/'),
    } && !value.chars().any(char::is_whitespace);
    (!valid).then(|| {
        format!(
            "value {} is not a URL; enter an https:// URL or a Salesforce page path such as /apex/MySoftphone",
            quote(value)
        )
    })
}

fn certificate_problem(value: &str) -> Found {
    let pem = value.contains("-----BEGIN ") && value.contains("-----END ");
    (!pem).then(|| {
        let message = "value is not a PEM certificate or public key; paste it whole, \
                       including the -----BEGIN … and -----END … lines";
        (ProblemCode::InvalidCertificate, message.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_names() {
        for good in ["OpenCTI", "scvPartnerCC", "A", "a_b_c1"] {
            assert_eq!(api_name_problem(good), None, "{good}");
        }
        for bad in [
            "1abc",
            "_a",
            "a b",
            "a-b",
            "a_",
            "a__b",
            "é",
            &"a".repeat(81),
        ] {
            assert!(api_name_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn whole_numbers() {
        assert_eq!(whole_number("400"), Some(400));
        assert_eq!(whole_number("-3"), Some(-3));
        assert_eq!(whole_number("99999999999999999999"), Some(i64::MAX));
        for bad in ["", "-", "4.5", "+4", "abc", "1e3", "0x10"] {
            assert_eq!(whole_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn urls() {
        for good in [
            "/apex/Page",
            "https://localhost:8080",
            "http://localhost:11000",
            "HTTPS://x.y/z?a=b",
        ] {
            assert_eq!(url_problem(good), None, "{good}");
        }
        for bad in [
            "apex/Page",
            "https://",
            "ftp://x",
            "https:///x",
            "/apex/a b",
            "localhost:11000",
        ] {
            assert!(url_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn dial_strings() {
        assert!(dial_string_problem("9").is_none());
        assert!(dial_string_problem("*72#011").is_none());
        assert!(dial_string_problem("+1").is_some());
        assert!(dial_string_problem("9,").is_some());
    }
}
