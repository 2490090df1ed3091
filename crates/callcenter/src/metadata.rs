//! The Metadata API format: `<CallCenter xmlns="http://soap.sforce.com/2006/04/metadata">`.

use crate::METADATA_NAMESPACE;
use crate::error::{ParseError, ParseErrorKind};
use crate::legacy::is_namespace_declaration;
use crate::model::{
    CallCenterDef, Elements, Format, Item, Origin, Section, internal_name_from_file_name,
};
use crate::write::XmlWriter;
use crate::xml::{Cursor, StartTag, Token};

pub(crate) const ROOT: &str = "CallCenter";
const SECTIONS: &str = "sections";
const ITEMS: &str = "items";
const ROOT_CHILDREN: &str = "<adapterUrl>, <customSettings>, <displayName>, <displayNameLabel>, \
                             <internalNameLabel>, <sections> or <version>";

/// Reads the content of `<CallCenter>`, whose start tag was just read.
pub(crate) fn parse(
    cursor: &mut Cursor<'_>,
    root: &StartTag,
    origin: Origin,
) -> Result<CallCenterDef, ParseError> {
    check_root_attributes(cursor, root)?;
    let mut elements = Elements::default();
    let mut sections = Vec::new();
    loop {
        let tag = match cursor.next_token()? {
            Token::Start(tag) => tag,
            Token::Text { text, offset } => {
                let hint = "values belong inside elements such as <displayName>";
                cursor.expect_blank(&text, offset, ROOT, hint)?;
                continue;
            }
            Token::End => break,
            Token::Eof => return Err(cursor.unclosed(root)),
        };
        let slot = match tag.name.as_str() {
            SECTIONS => {
                sections.push(parse_section(cursor, &tag)?);
                continue;
            }
            "adapterUrl" => &mut elements.adapter_url,
            "customSettings" => &mut elements.custom_settings,
            "displayName" => &mut elements.display_name,
            "displayNameLabel" => &mut elements.display_name_label,
            "internalNameLabel" => &mut elements.internal_name_label,
            "version" => &mut elements.version,
            _ => return Err(unexpected_element(cursor, tag, ROOT, ROOT_CHILDREN)),
        };
        read_once(cursor, &tag, ROOT, slot)?;
    }
    let default_name = internal_name_from_file_name(&origin.file_name).to_owned();
    Ok(CallCenterDef::derive(
        Format::Metadata,
        elements,
        sections,
        default_name,
        origin,
    ))
}

/// Allows `xmlns` (the metadata namespace only) and other namespace declarations.
fn check_root_attributes(cursor: &mut Cursor<'_>, root: &StartTag) -> Result<(), ParseError> {
    for (key, value) in &root.attributes {
        if key == "xmlns" && value != METADATA_NAMESPACE {
            let kind = ParseErrorKind::WrongNamespace {
                found: value.clone(),
            };
            return Err(cursor.error(root.offset, kind));
        }
        if !is_namespace_declaration(key) {
            let kind = ParseErrorKind::UnexpectedAttribute {
                element: root.name.clone(),
                attribute: key.clone(),
                allowed: "xmlns",
            };
            return Err(cursor.error(root.offset, kind));
        }
    }
    Ok(())
}

fn parse_section(cursor: &mut Cursor<'_>, tag: &StartTag) -> Result<Section, ParseError> {
    let (mut name, mut label, mut items) = (None, None, Vec::new());
    let children = |cursor: &mut Cursor<'_>, child: StartTag, name: &mut Option<String>| {
        let slot = match child.name.as_str() {
            ITEMS => {
                items.push(parse_item(cursor, &child)?);
                return Ok(());
            }
            "label" => &mut label,
            "name" => name,
            _ => {
                return Err(unexpected_element(
                    cursor,
                    child,
                    SECTIONS,
                    "<items>, <label> or <name>",
                ));
            }
        };
        read_once(cursor, &child, SECTIONS, slot)
    };
    read_children(cursor, tag, &mut name, children)?;
    let Some(name) = name else {
        return Err(missing_element(cursor, tag, "name"));
    };
    Ok(Section {
        name,
        label,
        sort_order: None,
        items,
        location: tag.location,
    })
}

fn parse_item(cursor: &mut Cursor<'_>, tag: &StartTag) -> Result<Item, ParseError> {
    let (mut name, mut label, mut value) = (None, None, None);
    let children = |cursor: &mut Cursor<'_>, child: StartTag, name: &mut Option<String>| {
        let slot = match child.name.as_str() {
            "label" => &mut label,
            "name" => name,
            "value" => &mut value,
            _ => {
                return Err(unexpected_element(
                    cursor,
                    child,
                    ITEMS,
                    "<label>, <name> or <value>",
                ));
            }
        };
        read_once(cursor, &child, ITEMS, slot)
    };
    read_children(cursor, tag, &mut name, children)?;
    let Some(name) = name else {
        return Err(missing_element(cursor, tag, "name"));
    };
    Ok(Item {
        name,
        label,
        sort_order: None,
        value: value.unwrap_or_default(),
        location: tag.location,
    })
}

/// Reads the children of `tag` through its end tag, handing each start tag to `child`.
/// Errors get the `<name>` read so far as context.
fn read_children(
    cursor: &mut Cursor<'_>,
    tag: &StartTag,
    name: &mut Option<String>,
    mut child: impl FnMut(&mut Cursor<'_>, StartTag, &mut Option<String>) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    let in_context = |error: ParseError, name: &Option<String>| match (name, tag.name.as_str()) {
        (Some(name), SECTIONS) => error.in_section(name),
        (Some(name), _) => error.in_item(name),
        (None, _) => error,
    };
    loop {
        let result = match cursor.next_token() {
            Ok(Token::Start(start)) => child(cursor, start, name),
            Ok(Token::Text { text, offset }) => {
                let hint = "values belong inside <label>, <name> or <value>";
                cursor.expect_blank(&text, offset, &tag.name, hint)
            }
            Ok(Token::End) => return Ok(()),
            Ok(Token::Eof) => Err(cursor.unclosed(tag)),
            Err(error) => Err(error),
        };
        result.map_err(|e| in_context(e, name))?;
    }
}

/// Reads a text element into `slot`, refusing a second occurrence and any attributes.
fn read_once(
    cursor: &mut Cursor<'_>,
    tag: &StartTag,
    parent: &str,
    slot: &mut Option<String>,
) -> Result<(), ParseError> {
    if let Some((attribute, _)) = tag.attributes.first() {
        let kind = ParseErrorKind::UnexpectedAttribute {
            element: tag.name.clone(),
            attribute: attribute.clone(),
            allowed: "none",
        };
        return Err(cursor.error(tag.offset, kind));
    }
    if slot.is_some() {
        let kind = ParseErrorKind::DuplicateElement {
            element: tag.name.clone(),
            parent: parent.to_owned(),
        };
        return Err(cursor.error(tag.offset, kind));
    }
    *slot = Some(cursor.element_text(tag)?);
    Ok(())
}

fn unexpected_element(
    cursor: &mut Cursor<'_>,
    tag: StartTag,
    parent: &str,
    expected: &'static str,
) -> ParseError {
    let kind = ParseErrorKind::UnexpectedElement {
        found: tag.name,
        parent: parent.to_owned(),
        expected,
    };
    cursor.error(tag.offset, kind)
}

fn missing_element(cursor: &mut Cursor<'_>, tag: &StartTag, element: &'static str) -> ParseError {
    let parent = if tag.name == SECTIONS {
        SECTIONS
    } else {
        ITEMS
    };
    cursor.error(
        tag.offset,
        ParseErrorKind::MissingElement { element, parent },
    )
}

/// Writes a definition already in Metadata shape (see [`CallCenterDef::to_format`]), with
/// elements in the order Salesforce retrieves them.
pub(crate) fn write(def: &CallCenterDef) -> String {
    let elements = def.metadata_elements();
    let mut out = XmlWriter::new();
    out.open(0, ROOT, &[("xmlns", Some(METADATA_NAMESPACE))]);
    out.optional_text_element(1, "adapterUrl", elements.adapter_url.as_deref());
    out.optional_text_element(1, "customSettings", elements.custom_settings.as_deref());
    out.optional_text_element(1, "displayName", elements.display_name.as_deref());
    out.optional_text_element(
        1,
        "displayNameLabel",
        elements.display_name_label.as_deref(),
    );
    out.optional_text_element(
        1,
        "internalNameLabel",
        elements.internal_name_label.as_deref(),
    );
    for section in &def.sections {
        out.open(1, SECTIONS, &[]);
        for item in &section.items {
            out.open(2, ITEMS, &[]);
            out.optional_text_element(3, "label", item.label.as_deref());
            out.text_element(3, "name", &[], &item.name);
            out.text_element(3, "value", &[], &item.value);
            out.close(2, ITEMS);
        }
        out.optional_text_element(2, "label", section.label.as_deref());
        out.text_element(2, "name", &[], &section.name);
        out.close(1, SECTIONS);
    }
    out.optional_text_element(1, "version", elements.version.as_deref());
    out.close(0, ROOT);
    out.finish()
}
