//! The legacy import format: `<callCenter><section …><item …>value</item></section></callCenter>`.

use crate::error::{ParseError, ParseErrorKind};
use crate::model::{CallCenterDef, Elements, Format, Item, Origin, Section};
use crate::write::XmlWriter;
use crate::xml::{Cursor, StartTag, Token};

pub(crate) const ROOT: &str = "callCenter";
const SECTION: &str = "section";
const ITEM: &str = "item";
const ATTRIBUTES: &str = "sortOrder, name, label";

/// Reads the content of `<callCenter>`, whose start tag was just read.
pub(crate) fn parse(
    cursor: &mut Cursor<'_>,
    root: &StartTag,
    origin: Origin,
) -> Result<CallCenterDef, ParseError> {
    for (key, _) in &root.attributes {
        if !is_namespace_declaration(key) {
            return Err(unexpected_attribute(cursor, root, key, "none"));
        }
    }
    let mut sections = Vec::new();
    loop {
        match cursor.next_token()? {
            Token::Start(tag) if tag.name == SECTION => sections.push(parse_section(cursor, &tag)?),
            Token::Start(tag) => {
                let kind = ParseErrorKind::UnexpectedElement {
                    found: tag.name,
                    parent: ROOT.to_owned(),
                    expected: "<section>",
                };
                return Err(cursor.error(tag.offset, kind));
            }
            Token::Text { text, offset } => {
                cursor.expect_blank(&text, offset, ROOT, "settings belong in <item> elements")?;
            }
            Token::End => break,
            Token::Eof => return Err(cursor.unclosed(root)),
        }
    }
    Ok(CallCenterDef::derive(
        Format::Legacy,
        Elements::default(),
        sections,
        String::new(),
        origin,
    ))
}

fn parse_section(cursor: &mut Cursor<'_>, tag: &StartTag) -> Result<Section, ParseError> {
    let attributes = Attributes::read(cursor, tag)?;
    let name = attributes.name;
    let mut items = Vec::new();
    loop {
        match cursor.next_token() {
            Ok(Token::Start(child)) if child.name == ITEM => {
                let item = parse_item(cursor, &child).map_err(|e| e.in_section(&name))?;
                items.push(item);
            }
            Ok(Token::Start(child)) => {
                let kind = ParseErrorKind::UnexpectedElement {
                    found: child.name,
                    parent: SECTION.to_owned(),
                    expected: "<item>",
                };
                return Err(cursor.error(child.offset, kind).in_section(&name));
            }
            Ok(Token::Text { text, offset }) => {
                let hint = "values belong inside <item …>value</item>";
                cursor
                    .expect_blank(&text, offset, SECTION, hint)
                    .map_err(|e| e.in_section(&name))?;
            }
            Ok(Token::End) => break,
            Ok(Token::Eof) => return Err(cursor.unclosed(tag).in_section(&name)),
            Err(error) => return Err(error.in_section(&name)),
        }
    }
    Ok(Section {
        name,
        label: attributes.label,
        sort_order: attributes.sort_order,
        items,
        location: tag.location,
    })
}

fn parse_item(cursor: &mut Cursor<'_>, tag: &StartTag) -> Result<Item, ParseError> {
    let attributes = Attributes::read(cursor, tag)?;
    let value = cursor
        .element_text(tag)
        .map_err(|e| e.in_item(&attributes.name))?;
    Ok(Item {
        name: attributes.name,
        label: attributes.label,
        sort_order: attributes.sort_order,
        value,
        location: tag.location,
    })
}

/// The attributes of `<section>` and `<item>`.
struct Attributes {
    name: String,
    label: Option<String>,
    sort_order: Option<String>,
}

impl Attributes {
    fn read(cursor: &mut Cursor<'_>, tag: &StartTag) -> Result<Self, ParseError> {
        let (mut name, mut label, mut sort_order) = (None, None, None);
        for (key, value) in &tag.attributes {
            let slot = match key.as_str() {
                "name" => &mut name,
                "label" => &mut label,
                "sortOrder" => &mut sort_order,
                _ => return Err(unexpected_attribute(cursor, tag, key, ATTRIBUTES)),
            };
            *slot = Some(value.clone());
        }
        let Some(name) = name else {
            let element = if tag.name == SECTION { SECTION } else { ITEM };
            let kind = ParseErrorKind::MissingAttribute {
                element,
                attribute: "name",
            };
            return Err(cursor.error(tag.offset, kind));
        };
        Ok(Self {
            name,
            label,
            sort_order,
        })
    }
}

fn unexpected_attribute(
    cursor: &mut Cursor<'_>,
    tag: &StartTag,
    attribute: &str,
    allowed: &'static str,
) -> ParseError {
    let kind = ParseErrorKind::UnexpectedAttribute {
        element: tag.name.clone(),
        attribute: attribute.to_owned(),
        allowed,
    };
    cursor.error(tag.offset, kind)
}

/// `xmlns` and `xmlns:*` carry no data; some tools add them to the root.
pub(crate) fn is_namespace_declaration(attribute: &str) -> bool {
    attribute == "xmlns" || attribute.starts_with("xmlns:")
}

/// Writes a definition already in legacy shape (see [`CallCenterDef::to_format`]).
pub(crate) fn write(def: &CallCenterDef) -> String {
    let mut out = XmlWriter::new();
    out.open(0, ROOT, &[]);
    for section in &def.sections {
        out.open(
            1,
            SECTION,
            &[
                ("sortOrder", section.sort_order.as_deref()),
                ("name", Some(&section.name)),
                ("label", section.label.as_deref()),
            ],
        );
        for item in &section.items {
            let attributes = [
                ("sortOrder", item.sort_order.as_deref()),
                ("name", Some(item.name.as_str())),
                ("label", item.label.as_deref()),
            ];
            out.text_element(2, ITEM, &attributes, &item.value);
        }
        out.close(1, SECTION);
    }
    out.close(0, ROOT);
    out.finish()
}
