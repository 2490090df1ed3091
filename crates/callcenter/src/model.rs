//! The call center definition, independent of the file format it came from.

use crate::names;

/// The two file formats a call center definition comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// The import file of Setup › Call Centers › Import: `<callCenter><section><item>`.
    Legacy,
    /// The Metadata API `CallCenter` type: `<CallCenter xmlns="http://soap.sforce.com/2006/04/metadata">`.
    Metadata,
}

/// A call center definition.
///
/// `sections` hold every section and item exactly as the file has them, in file order. The
/// other fields are the values Salesforce treats specially, derived when the file is parsed:
///
/// | field | legacy import file | Metadata API file |
/// |---|---|---|
/// | `internal_name` | `reqInternalName` item | `reqInternalName` item, else the file name |
/// | `display_name` | `reqDisplayName` item | `<displayName>`, else `reqDisplayName` item |
/// | `adapter_url` | `reqAdapterUrl` item | `<adapterUrl>`, else `reqAdapterUrl` item |
/// | `*_label` | label of those items | `<displayNameLabel>` / `<internalNameLabel>`, else item label |
/// | `version`, `custom_settings` | — | `<version>`, `<customSettings>` |
///
/// Equality ignores [`Origin`] and [`Location`]: a definition equals itself read back from
/// any file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallCenterDef {
    /// The format the definition was read from (or is meant for).
    pub format: Format,
    /// The internal (API) name, e.g. `OpenCTI`.
    pub internal_name: String,
    /// The name shown to users, e.g. `Demo Call Center Adapter`.
    pub display_name: String,
    /// URL of the CTI adapter; partner telephony centers have none.
    pub adapter_url: Option<String>,
    /// The Metadata API `<version>`.
    pub version: Option<String>,
    /// The Metadata API `<customSettings>`: raw JSON text, already XML-unescaped.
    pub custom_settings: Option<String>,
    /// Label of the display name field on the Call Center setup page.
    pub display_name_label: Option<String>,
    /// Label of the internal name field on the Call Center setup page.
    pub internal_name_label: Option<String>,
    /// All sections, in file order.
    pub sections: Vec<Section>,
    /// Where the definition was read from.
    pub origin: Origin,
}

/// A section: a named group of items, e.g. `reqGeneralInfo` or a vendor's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The section name, e.g. `reqDialingOptions`.
    pub name: String,
    /// The label shown in Setup.
    pub label: Option<String>,
    /// The legacy `sortOrder` attribute, verbatim (real files have gaps and negative values).
    pub sort_order: Option<String>,
    /// The items, in file order.
    pub items: Vec<Item>,
    /// Where the section starts in its file.
    pub location: Location,
}

/// A setting: name, label and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The item name, e.g. `reqSoftphoneHeight`.
    pub name: String,
    /// The label shown in Setup.
    pub label: Option<String>,
    /// The legacy `sortOrder` attribute, verbatim.
    pub sort_order: Option<String>,
    /// The value, verbatim (XML-unescaped; whitespace and line breaks kept).
    pub value: String,
    /// Where the item starts in its file.
    pub location: Location,
}

/// A 1-based line and column in a file; `0:0` when unknown (built in code, not parsed).
///
/// A location is provenance, not part of a definition's value: **any two locations compare
/// equal**, so that a definition equals its own exported-and-reparsed copy.
#[derive(Debug, Clone, Copy, Default)]
pub struct Location {
    /// 1-based line, `0` if unknown.
    pub line: u32,
    /// 1-based column in characters, `0` if unknown.
    pub column: u32,
}

impl PartialEq for Location {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Location {}

/// The file a definition was read from, and where its root element starts.
///
/// Like [`Location`], provenance only: **any two origins compare equal**.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The file name given to [`parse`](crate::parse); empty when built in code.
    pub file_name: String,
    /// Where the root element starts.
    pub location: Location,
}

impl PartialEq for Origin {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Origin {}

/// The Metadata API elements that carry values outside the sections.
#[derive(Debug, Clone, Default)]
pub(crate) struct Elements {
    pub adapter_url: Option<String>,
    pub custom_settings: Option<String>,
    pub display_name: Option<String>,
    pub display_name_label: Option<String>,
    pub internal_name_label: Option<String>,
    pub version: Option<String>,
}

impl CallCenterDef {
    /// Builds a definition from what a file holds, deriving the special values (see the table
    /// on [`CallCenterDef`]). `default_internal_name` applies when no `reqInternalName` item
    /// exists: the file's own name for Metadata files, empty for import files.
    pub(crate) fn derive(
        format: Format,
        elements: Elements,
        sections: Vec<Section>,
        default_internal_name: String,
        origin: Origin,
    ) -> Self {
        let item = |name| find_item(&sections, name);
        let internal = item(names::INTERNAL_NAME);
        let display = item(names::DISPLAY_NAME);
        let adapter = item(names::ADAPTER_URL);
        Self {
            format,
            internal_name: internal.map_or(default_internal_name, |i| i.value.clone()),
            display_name: elements
                .display_name
                .or_else(|| display.map(|i| i.value.clone()))
                .unwrap_or_default(),
            adapter_url: elements
                .adapter_url
                .or_else(|| adapter.map(|i| i.value.clone())),
            version: elements.version,
            custom_settings: elements.custom_settings,
            display_name_label: elements
                .display_name_label
                .or_else(|| display.and_then(|i| i.label.clone())),
            internal_name_label: elements
                .internal_name_label
                .or_else(|| internal.and_then(|i| i.label.clone())),
            sections,
            origin,
        }
    }

    /// The value of the first item called `name`, in any section.
    ///
    /// `reqInternalName`, `reqDisplayName` and `reqAdapterUrl` fall back to
    /// [`internal_name`](Self::internal_name), [`display_name`](Self::display_name) and
    /// [`adapter_url`](Self::adapter_url), since Metadata API files usually carry those
    /// outside the sections.
    #[must_use]
    pub fn item(&self, name: &str) -> Option<&str> {
        if let Some(item) = find_item(&self.sections, name) {
            return Some(&item.value);
        }
        match name {
            names::INTERNAL_NAME if !self.internal_name.is_empty() => Some(&self.internal_name),
            names::DISPLAY_NAME if !self.display_name.is_empty() => Some(&self.display_name),
            names::ADAPTER_URL => self.adapter_url.as_deref(),
            _ => None,
        }
    }

    /// The section called `name`, if any.
    #[must_use]
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Whether this is a Salesforce Voice (Service Cloud Voice) partner telephony contact
    /// center: it has a `reqHvcc` section or a `reqVendorInfoApiName` item. These have no CTI
    /// adapter and follow their own validation rules.
    #[must_use]
    pub fn is_partner_telephony(&self) -> bool {
        self.section(names::HVCC_SECTION).is_some()
            || find_item(&self.sections, names::VENDOR_INFO_API_NAME).is_some()
    }

    /// This definition as it reads back after [`export`](crate::export) to `format`:
    /// `parse(export(def, f), name) == def.to_format(f)`, where `name` is the file name the
    /// definition was parsed from (for Metadata files without a `reqInternalName` item, any
    /// name whose stem is the internal name).
    ///
    /// * To [`Format::Legacy`]: the internal name, display name and adapter URL become
    ///   `reqInternalName`, `reqDisplayName` and `reqAdapterUrl` items of `reqGeneralInfo`
    ///   (added at its top, or updated, and the section created if need be); items and
    ///   sections from a Metadata file get `sortOrder`s numbered from 0; `version` and
    ///   `custom_settings`, which the import format cannot hold, are dropped.
    /// * To [`Format::Metadata`]: sort orders are dropped (the format has none); items,
    ///   including `reqInternalName`, are kept.
    ///
    /// For a definition parsed from a file of the same format this is the identity.
    #[must_use]
    pub fn to_format(&self, format: Format) -> Self {
        match format {
            Format::Legacy => self.to_legacy(),
            Format::Metadata => self.to_metadata(),
        }
    }

    fn to_legacy(&self) -> Self {
        let mut sections = self.sections.clone();
        self.write_special_items(&mut sections);
        if self.format == Format::Metadata {
            number_sort_orders(&mut sections);
        }
        Self::derive(
            Format::Legacy,
            Elements::default(),
            sections,
            String::new(),
            self.origin.clone(),
        )
    }

    fn to_metadata(&self) -> Self {
        let mut sections = self.sections.clone();
        for section in &mut sections {
            section.sort_order = None;
            for item in &mut section.items {
                item.sort_order = None;
            }
        }
        Self::derive(
            Format::Metadata,
            self.metadata_elements(),
            sections,
            self.internal_name.clone(),
            self.origin.clone(),
        )
    }

    /// The top-level elements a Metadata API file of this definition holds.
    pub(crate) fn metadata_elements(&self) -> Elements {
        Elements {
            adapter_url: self.adapter_url.clone(),
            custom_settings: self.custom_settings.clone(),
            display_name: Some(self.display_name.clone()),
            display_name_label: self.display_name_label.clone(),
            internal_name_label: self.internal_name_label.clone(),
            version: self.version.clone(),
        }
    }

    /// Puts the internal name, display name and adapter URL into their items, creating the
    /// items (at the top of `reqGeneralInfo`) where missing.
    fn write_special_items(&self, sections: &mut Vec<Section>) {
        let specials = [
            (
                names::INTERNAL_NAME,
                (!self.internal_name.is_empty() || self.internal_name_label.is_some())
                    .then_some(&self.internal_name),
                &self.internal_name_label,
            ),
            (
                names::DISPLAY_NAME,
                (!self.display_name.is_empty() || self.display_name_label.is_some())
                    .then_some(&self.display_name),
                &self.display_name_label,
            ),
            (names::ADAPTER_URL, self.adapter_url.as_ref(), &None),
        ];
        let mut missing = Vec::new();
        for (name, value, label) in specials {
            let Some(value) = value else { continue };
            match find_item_mut(sections, name) {
                Some(item) => {
                    item.value.clone_from(value);
                    if label.is_some() {
                        item.label.clone_from(label);
                    }
                }
                None => missing.push(Item {
                    label: label.clone(),
                    ..Item::new(name, value.clone())
                }),
            }
        }
        if missing.is_empty() {
            return;
        }
        let general = sections.iter().position(|s| s.name == names::GENERAL_INFO);
        let general = general.unwrap_or_else(|| {
            let section = Section::new(names::GENERAL_INFO).with_label("General Information");
            sections.insert(0, section);
            0
        });
        if let Some(section) = sections.get_mut(general) {
            section.items.splice(0..0, missing);
        }
    }
}

impl Section {
    /// A section with no label, sort order or items, built in code.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            label: None,
            sort_order: None,
            items: Vec::new(),
            location: Location::default(),
        }
    }

    /// The same section with a label.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The same section with an item appended.
    #[must_use]
    pub fn with_item(mut self, item: Item) -> Self {
        self.items.push(item);
        self
    }

    /// The first item called `name`.
    #[must_use]
    pub fn item(&self, name: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.name == name)
    }
}

impl Item {
    /// An item with no label or sort order, built in code.
    #[must_use]
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            label: None,
            sort_order: None,
            value: value.into(),
            location: Location::default(),
        }
    }

    /// The same item with a label.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }
}

/// The first item called `name` in any section.
pub(crate) fn find_item<'a>(sections: &'a [Section], name: &str) -> Option<&'a Item> {
    sections.iter().find_map(|s| s.item(name))
}

fn find_item_mut<'a>(sections: &'a mut [Section], name: &str) -> Option<&'a mut Item> {
    sections
        .iter_mut()
        .find_map(|s| s.items.iter_mut().find(|i| i.name == name))
}

/// Gives every section and item without a sort order its position (from 0) as one.
fn number_sort_orders(sections: &mut [Section]) {
    for (index, section) in sections.iter_mut().enumerate() {
        section.sort_order.get_or_insert_with(|| index.to_string());
        for (index, item) in section.items.iter_mut().enumerate() {
            item.sort_order.get_or_insert_with(|| index.to_string());
        }
    }
}

/// The internal name a Metadata API file gets from its own name: the file name without its
/// directory and everything from the first dot, so `callCenters/OpenCTI.callCenter-meta.xml`
/// and `OpenCTI.callCenter` both give `OpenCTI`.
#[must_use]
pub fn internal_name_from_file_name(file_name: &str) -> &str {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    base.split('.').next().unwrap_or(base)
}
