//! A small pull parser over quick-xml, shaped for call center files.
//!
//! It yields start tags (attributes decoded), end tags, and runs of text (character data,
//! CDATA and character references merged, comments and processing instructions skipped).
//! It refuses DTDs outright and resolves only the five predefined entities, so no entity
//! expansion of any kind can happen.

use quick_xml::XmlVersion;
use quick_xml::errors::{Error as XmlError, IllFormedError, SyntaxError};
use quick_xml::escape::EscapeError;
use quick_xml::events::attributes::AttrError;
use quick_xml::events::{BytesDecl, BytesRef, BytesStart, Event};
use quick_xml::reader::Reader;

use crate::error::{ParseError, ParseErrorKind, quote};
use crate::model::Location;
use crate::source::{Locator, SourceText, file_error, is_xml_char};

/// A start tag: `<name attr="value">` (or the start of `<name/>`).
#[derive(Debug)]
pub(crate) struct StartTag {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    /// Byte offset of the `<`.
    pub offset: usize,
    /// Line and column of the `<`.
    pub location: Location,
}

/// One step through the document.
#[derive(Debug)]
pub(crate) enum Token {
    Start(StartTag),
    /// The end of the innermost open element (end names are checked by the reader).
    End,
    /// Text content, entities resolved; `offset` is where it starts.
    Text {
        text: String,
        offset: usize,
    },
    Eof,
}

/// The pull parser.
pub(crate) struct Cursor<'a> {
    reader: Reader<&'a [u8]>,
    source: &'a SourceText<'a>,
    locator: Locator<'a>,
    /// An event read ahead while merging text, with its offset.
    pending: Option<(Event<'a>, usize)>,
    /// Whether anything that rules out a later XML declaration has been seen.
    declaration_allowed: bool,
}

impl<'a> Cursor<'a> {
    pub fn new(source: &'a SourceText<'a>) -> Self {
        let mut reader = Reader::from_str(source.text);
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.check_comments = true;
        config.trim_text(false);
        Self {
            reader,
            source,
            locator: Locator::new(source.text),
            pending: None,
            declaration_allowed: true,
        }
    }

    /// The next token.
    pub fn next_token(&mut self) -> Result<Token, ParseError> {
        loop {
            let (event, offset) = self.next_event()?;
            match event {
                // `expand_empty_elements` turns `Empty` into `Start` + `End`.
                Event::Start(start) | Event::Empty(start) => {
                    self.declaration_allowed = false;
                    return Ok(Token::Start(self.start_tag(&start, offset)?));
                }
                Event::End(_) => return Ok(Token::End),
                Event::Eof => return Ok(Token::Eof),
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                    return self.text(event, offset);
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::Decl(decl) => self.declaration(&decl, offset)?,
                Event::DocType(_) => return Err(self.error(offset, ParseErrorKind::DocType)),
            }
        }
    }

    /// Reads the text content of an element whose start tag was just returned, through its
    /// end tag. Child elements are an error.
    pub fn element_text(&mut self, tag: &StartTag) -> Result<String, ParseError> {
        let mut text = String::new();
        loop {
            match self.next_token()? {
                Token::Text { text: run, .. } => text.push_str(&run),
                Token::End => return Ok(text),
                Token::Start(child) => {
                    let kind = ParseErrorKind::UnexpectedElement {
                        found: child.name,
                        parent: tag.name.clone(),
                        expected: "text only (write < as &lt; in values)",
                    };
                    return Err(self.error(child.offset, kind));
                }
                Token::Eof => return Err(self.unclosed(tag)),
            }
        }
    }

    /// An error at byte `offset`.
    pub fn error(&mut self, offset: usize, kind: ParseErrorKind) -> ParseError {
        let (line, column) = self.locator.locate(offset);
        file_error(self.source.file_name, line, column, kind)
    }

    /// The error for a file that ends inside `tag`.
    pub fn unclosed(&mut self, tag: &StartTag) -> ParseError {
        let (opened_line, _) = self.locator.locate(tag.offset);
        let kind = ParseErrorKind::Unclosed {
            element: tag.name.clone(),
            opened_line,
        };
        self.error(self.source.text.len(), kind)
    }

    /// Error unless `text` is whitespace, which is allowed between elements.
    pub fn expect_blank(
        &mut self,
        text: &str,
        offset: usize,
        parent: &str,
        hint: &'static str,
    ) -> Result<(), ParseError> {
        match text.find(|c: char| !c.is_ascii_whitespace()) {
            None => Ok(()),
            Some(start) => {
                let kind = ParseErrorKind::UnexpectedText {
                    text: quote(text[start..].trim_end()),
                    parent: parent.to_owned(),
                    hint,
                };
                Err(self.error(offset.saturating_add(start), kind))
            }
        }
    }

    fn next_event(&mut self) -> Result<(Event<'a>, usize), ParseError> {
        if let Some(pending) = self.pending.take() {
            return Ok(pending);
        }
        let offset = to_usize(self.reader.buffer_position());
        match self.reader.read_event() {
            Ok(event) => Ok((event, offset)),
            Err(error) => {
                let at = to_usize(self.reader.error_position());
                Err(self.xml_error(&error, at))
            }
        }
    }

    /// Merges a run of text events (and the comments between them) into one token.
    fn text(&mut self, first: Event<'a>, offset: usize) -> Result<Token, ParseError> {
        let mut text = String::new();
        let mut event = first;
        let mut at = offset;
        loop {
            match &event {
                Event::Text(run) => text.push_str(&run.xml10_content()),
                Event::CData(run) => text.push_str(&run.xml10_content()),
                Event::GeneralRef(reference) => text.push(self.reference(reference, at)?),
                Event::Comment(_) | Event::PI(_) => {}
                _ => {
                    self.pending = Some((event, at));
                    return Ok(Token::Text { text, offset });
                }
            }
            (event, at) = self.next_event()?;
        }
    }

    /// Resolves `&name;` or `&#n;` in text.
    fn reference(&mut self, reference: &BytesRef<'_>, offset: usize) -> Result<char, ParseError> {
        let name: &str = reference;
        if let Some(c) = predefined_entity_char(name) {
            return Ok(c);
        }
        if !reference.is_char_ref() {
            let kind = ParseErrorKind::UnknownEntity {
                name: name.to_owned(),
            };
            return Err(self.error(offset, kind));
        }
        match reference.resolve_char_ref() {
            Ok(Some(c)) if is_xml_char(c) => Ok(c),
            Ok(Some(c)) => {
                let kind = ParseErrorKind::InvalidCharacter { code: u32::from(c) };
                Err(self.error(offset, kind))
            }
            _ => {
                let detail = format!(
                    "\"&{name};\" is not a valid character reference; use &#NNN; or &#xHHHH;"
                );
                Err(self.error(offset, ParseErrorKind::MalformedXml { detail }))
            }
        }
    }

    fn start_tag(&mut self, start: &BytesStart<'_>, offset: usize) -> Result<StartTag, ParseError> {
        let name = start.name().as_ref().to_owned();
        let mut attributes = Vec::new();
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|e| {
                let detail = format!("in <{name}>: {}", attribute_problem(&e));
                self.error(offset, ParseErrorKind::MalformedXml { detail })
            })?;
            let key = attribute.key.as_ref().to_owned();
            let value = attribute
                .normalized_value_with(XmlVersion::Implicit1_0, 1, predefined_entity)
                .map_err(|e| self.attribute_value_error(&e, &name, &key, offset))?;
            if let Some(c) = value.chars().find(|&c| !is_xml_char(c)) {
                let kind = ParseErrorKind::InvalidCharacter { code: u32::from(c) };
                return Err(self.error(offset, kind));
            }
            attributes.push((key, value.into_owned()));
        }
        let (line, column) = self.locator.locate(offset);
        Ok(StartTag {
            name,
            attributes,
            offset,
            location: Location { line, column },
        })
    }

    fn attribute_value_error(
        &mut self,
        error: &XmlError,
        element: &str,
        attribute: &str,
        offset: usize,
    ) -> ParseError {
        let kind = match error {
            XmlError::Escape(EscapeError::UnrecognizedEntity(_, name)) => {
                ParseErrorKind::UnknownEntity { name: name.clone() }
            }
            XmlError::Escape(EscapeError::UnterminatedEntity(_)) => ParseErrorKind::MalformedXml {
                detail: format!(
                    "a bare & in the {attribute} attribute of <{element}>; write it as &amp;"
                ),
            },
            other => ParseErrorKind::MalformedXml {
                detail: format!("the {attribute} attribute of <{element}>: {other}"),
            },
        };
        self.error(offset, kind)
    }

    /// Checks an XML declaration: only at the start, version 1.0, UTF-8 (or plain ASCII).
    fn declaration(&mut self, decl: &BytesDecl<'_>, offset: usize) -> Result<(), ParseError> {
        if !std::mem::replace(&mut self.declaration_allowed, false) {
            return Err(self.error(offset, ParseErrorKind::MisplacedDeclaration));
        }
        let version = decl.version().map_err(|e| self.xml_error(&e, offset))?;
        if version != "1.0" {
            let kind = ParseErrorKind::UnsupportedXmlVersion {
                version: version.into_owned(),
            };
            return Err(self.error(offset, kind));
        }
        if let Some(Ok(encoding)) = decl.encoding() {
            let utf8 = ["utf-8", "utf8", "us-ascii", "ascii"]
                .iter()
                .any(|known| encoding.eq_ignore_ascii_case(known));
            if !utf8 && !self.source.text.is_ascii() {
                let kind = ParseErrorKind::UnsupportedEncoding {
                    encoding: encoding.into_owned(),
                };
                return Err(self.error(offset, kind));
            }
        }
        Ok(())
    }

    /// Translates a quick-xml error into words for an admin.
    fn xml_error(&mut self, error: &XmlError, offset: usize) -> ParseError {
        let rest = self.source.text.get(offset..).unwrap_or_default();
        if starts_with_ignore_case(rest, "<!DOCTYPE") {
            return self.error(offset, ParseErrorKind::DocType);
        }
        let detail = match error {
            XmlError::Syntax(syntax) => syntax_problem(*syntax).to_owned(),
            XmlError::IllFormed(ill) => ill_formed_problem(ill),
            XmlError::InvalidAttr(attr) => attribute_problem(attr).to_owned(),
            XmlError::Escape(EscapeError::UnrecognizedEntity(_, name)) => {
                let kind = ParseErrorKind::UnknownEntity { name: name.clone() };
                return self.error(offset, kind);
            }
            other => other.to_string(),
        };
        self.error(offset, ParseErrorKind::MalformedXml { detail })
    }
}

fn syntax_problem(error: SyntaxError) -> &'static str {
    match error {
        SyntaxError::InvalidBangMarkup => {
            "unknown markup starting with \"<!\"; comments are written <!-- … -->"
        }
        SyntaxError::UnclosedPI => "a processing instruction \"<?…\" is not closed with \"?>\"",
        SyntaxError::UnclosedXmlDecl => "the XML declaration \"<?xml …\" is not closed with \"?>\"",
        SyntaxError::UnclosedComment => "a comment \"<!--\" is not closed with \"-->\"",
        SyntaxError::UnclosedDoctype => "a DOCTYPE declaration is not closed",
        SyntaxError::UnclosedCData => "a \"<![CDATA[\" section is not closed with \"]]>\"",
        SyntaxError::UnclosedTag => "a tag is not closed with \">\"",
        SyntaxError::UnclosedSingleQuotedAttributeValue => {
            "an attribute value is missing its closing ' quote"
        }
        SyntaxError::UnclosedDoubleQuotedAttributeValue => {
            "an attribute value is missing its closing \" quote"
        }
    }
}

fn ill_formed_problem(error: &IllFormedError) -> String {
    match error {
        IllFormedError::MismatchedEndTag { expected, found } => {
            format!("</{found}> does not close the open <{expected}>; add </{expected}> first")
        }
        IllFormedError::UnmatchedEndTag(tag) => {
            format!("</{tag}> closes an element that was never opened")
        }
        IllFormedError::MissingEndTag(tag) => format!("<{tag}> is never closed"),
        IllFormedError::UnclosedReference => {
            "a bare & must be written as &amp; (for example AT&amp;T)".to_owned()
        }
        IllFormedError::DoubleHyphenInComment => {
            "a comment contains \"--\", which XML does not allow inside comments".to_owned()
        }
        IllFormedError::MissingDeclVersion(_) | IllFormedError::UnknownVersion => {
            "the XML declaration must read <?xml version=\"1.0\" encoding=\"UTF-8\"?>".to_owned()
        }
        IllFormedError::MissingDoctypeName => "a DOCTYPE declaration has no name".to_owned(),
    }
}

fn attribute_problem(error: &AttrError) -> &'static str {
    match error {
        AttrError::ExpectedEq(_) => "an attribute name is not followed by =",
        AttrError::ExpectedValue(_) => "an attribute has no value; write name=\"value\"",
        AttrError::UnquotedValue(_) | AttrError::ExpectedQuote(..) => {
            "an attribute value is not in quotes; write name=\"value\""
        }
        AttrError::Duplicated(..) => "the same attribute appears twice; keep only one",
    }
}

/// The five entities every XML parser knows; nothing else is ever expanded.
fn predefined_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "quot" => "\"",
        "apos" => "'",
        _ => return None,
    })
}

fn predefined_entity_char(name: &str) -> Option<char> {
    predefined_entity(name).and_then(|s| s.chars().next())
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

fn to_usize(position: u64) -> usize {
    usize::try_from(position).unwrap_or(usize::MAX)
}
