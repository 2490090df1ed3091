//! Parse errors: where in which file, about which section or item, and what to fix.

use std::fmt;

use crate::MAX_FILE_SIZE;

/// A call center file that could not be read.
///
/// Carries the file name, a 1-based line and column (both `0` when the error concerns the
/// whole file, such as a file that is too large), the section and item being read when they
/// are known, and a [`ParseErrorKind`] whose message tells the admin what to fix.
///
/// Displays on one line, compiler style:
/// `OpenCTI.xml:4:70: item "reqDisplayName" in section "reqGeneralInfo": malformed XML: a bare & must be written as &amp; …`
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(Box<Details>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{}", Position::new(.file, *.line, *.column), Context::new(.section.as_deref(), .item.as_deref()), OneLine(.kind))]
struct Details {
    file: String,
    line: u32,
    column: u32,
    section: Option<String>,
    item: Option<String>,
    kind: ParseErrorKind,
}

impl ParseError {
    pub(crate) fn new(file: &str, line: u32, column: u32, kind: ParseErrorKind) -> Self {
        Self(Box::new(Details {
            file: file.to_owned(),
            line,
            column,
            section: None,
            item: None,
            kind,
        }))
    }

    /// The file name given to [`parse`](crate::parse).
    #[must_use]
    pub fn file(&self) -> &str {
        &self.0.file
    }

    /// 1-based line, or `0` if the error is about the whole file.
    #[must_use]
    pub fn line(&self) -> u32 {
        self.0.line
    }

    /// 1-based column in characters, or `0` if the error is about the whole file.
    #[must_use]
    pub fn column(&self) -> u32 {
        self.0.column
    }

    /// Name of the section being read, when known.
    #[must_use]
    pub fn section(&self) -> Option<&str> {
        self.0.section.as_deref()
    }

    /// Name of the item being read, when known.
    #[must_use]
    pub fn item(&self) -> Option<&str> {
        self.0.item.as_deref()
    }

    /// What is wrong.
    #[must_use]
    pub fn kind(&self) -> &ParseErrorKind {
        &self.0.kind
    }

    /// Sets the section name unless one is already known.
    #[must_use]
    pub(crate) fn in_section(mut self, name: &str) -> Self {
        self.0.section.get_or_insert_with(|| name.to_owned());
        self
    }

    /// Sets the item name unless one is already known.
    #[must_use]
    pub(crate) fn in_item(mut self, name: &str) -> Self {
        self.0.item.get_or_insert_with(|| name.to_owned());
        self
    }
}

/// What is wrong with a file that could not be parsed. Each message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The file is over [`MAX_FILE_SIZE`].
    #[error(
        "file is {size} bytes, over the {MAX_FILE_SIZE}-byte (1 MiB) limit for call center definitions; check that this is the right file"
    )]
    TooLarge {
        /// Size of the file in bytes.
        size: usize,
    },
    /// The file has no content, or only whitespace and comments.
    #[error(
        "file is empty; a call center definition starts with <callCenter> (import file) or <CallCenter> (Metadata API file)"
    )]
    Empty,
    /// The file is UTF-16 encoded.
    #[error("file is saved as UTF-16; save it as UTF-8 and try again")]
    Utf16,
    /// The file contains bytes that are not UTF-8.
    #[error(
        "file is not valid UTF-8 (unexpected byte 0x{byte:02X}); save it as UTF-8 and try again"
    )]
    NotUtf8 {
        /// The first offending byte.
        byte: u8,
    },
    /// The XML declaration names an encoding other than UTF-8 and the file is not plain ASCII.
    #[error(
        "file declares encoding {encoding:?} but only UTF-8 is supported; save it as UTF-8 and change the declaration to encoding=\"UTF-8\""
    )]
    UnsupportedEncoding {
        /// The declared encoding.
        encoding: String,
    },
    /// The XML declaration names a version other than 1.0.
    #[error(
        "XML version {version:?} is not supported; use <?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    )]
    UnsupportedXmlVersion {
        /// The declared version.
        version: String,
    },
    /// A character that XML does not allow (a control character, for example).
    #[error("character U+{code:04X} is not allowed in an XML file; remove it")]
    InvalidCharacter {
        /// The code point.
        code: u32,
    },
    /// A `<!DOCTYPE>` declaration: refused, as DTDs enable entity-expansion and external-entity attacks.
    #[error(
        "DOCTYPE declarations are not allowed in call center files (they can hide entity-expansion and external-entity attacks); delete the <!DOCTYPE …> declaration"
    )]
    DocType,
    /// An `&name;` reference to something other than the five predefined XML entities.
    #[error(
        "unknown entity \"&{name};\": only &lt; &gt; &amp; &quot; &apos; and numeric references such as &#233; are allowed; write a literal & as &amp;"
    )]
    UnknownEntity {
        /// The entity name.
        name: String,
    },
    /// The XML is not well formed.
    #[error("malformed XML: {detail}")]
    MalformedXml {
        /// What the XML reader found, in plain words.
        detail: String,
    },
    /// The XML declaration is not at the start of the file.
    #[error("the XML declaration <?xml …?> must come before the root element, and only once")]
    MisplacedDeclaration,
    /// The root element is neither `<callCenter>` nor `<CallCenter>`.
    #[error(
        "root element is <{found}>; expected <callCenter> (legacy import file) or <CallCenter xmlns=\"{}\"> (Metadata API file)",
        crate::METADATA_NAMESPACE
    )]
    UnknownRoot {
        /// The root element found.
        found: String,
    },
    /// The Metadata API root is in a namespace other than the Salesforce metadata namespace.
    #[error(
        "<CallCenter> has namespace {found:?}; expected xmlns=\"{}\"",
        crate::METADATA_NAMESPACE
    )]
    WrongNamespace {
        /// The namespace found.
        found: String,
    },
    /// An element where it does not belong.
    #[error("unexpected <{found}> inside <{parent}>; expected {expected}")]
    UnexpectedElement {
        /// The element found.
        found: String,
        /// The element it was found in.
        parent: String,
        /// What may appear there, in words.
        expected: &'static str,
    },
    /// Text where only elements belong.
    #[error("unexpected text {text} inside <{parent}>; {hint}")]
    UnexpectedText {
        /// The start of the text, quoted.
        text: String,
        /// The element it was found in.
        parent: String,
        /// Where text belongs instead.
        hint: &'static str,
    },
    /// An attribute this element does not have.
    #[error("<{element}> has an unknown attribute {attribute:?}; allowed: {allowed}")]
    UnexpectedAttribute {
        /// The element.
        element: String,
        /// The unknown attribute.
        attribute: String,
        /// The attributes allowed, in words.
        allowed: &'static str,
    },
    /// A required attribute is absent.
    #[error("<{element}> has no {attribute} attribute; add {attribute}=\"…\"")]
    MissingAttribute {
        /// The element.
        element: &'static str,
        /// The missing attribute.
        attribute: &'static str,
    },
    /// A required child element is absent.
    #[error("<{parent}> has no <{element}>; add <{element}>…</{element}>")]
    MissingElement {
        /// The missing element.
        element: &'static str,
        /// The element that needs it.
        parent: &'static str,
    },
    /// A child element that may appear only once appears again.
    #[error("<{element}> appears more than once in <{parent}>; keep only one")]
    DuplicateElement {
        /// The repeated element.
        element: String,
        /// The element it is repeated in.
        parent: String,
    },
    /// More than one root element, or text after the root element.
    #[error("content after the closing </{root}>; a file holds exactly one call center")]
    ContentAfterRoot {
        /// The root element.
        root: String,
    },
    /// The file ends while an element is still open.
    #[error(
        "file ends before <{element}> (opened on line {opened_line}) is closed; add </{element}>"
    )]
    Unclosed {
        /// The open element.
        element: String,
        /// Line where it was opened.
        opened_line: u32,
    },
}

/// `file:line:column: ` — omitting unknown parts.
pub(crate) struct Position<'a> {
    pub file: &'a str,
    pub line: u32,
    pub column: u32,
}

impl<'a> Position<'a> {
    pub(crate) fn new(file: &'a str, line: u32, column: u32) -> Self {
        Self { file, line, column }
    }
}

impl fmt::Display for Position<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = one_line(self.file);
        match (file.is_empty(), self.line) {
            (true, 0) => Ok(()),
            (false, 0) => write!(f, "{file}: "),
            (_, line) => write!(f, "{file}:{line}:{}: ", self.column),
        }
    }
}

/// `item "x" in section "y": ` — omitting unknown parts.
pub(crate) struct Context<'a> {
    pub section: Option<&'a str>,
    pub item: Option<&'a str>,
}

impl<'a> Context<'a> {
    pub(crate) fn new(section: Option<&'a str>, item: Option<&'a str>) -> Self {
        Self { section, item }
    }
}

impl fmt::Display for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.item, self.section) {
            (Some(item), Some(section)) => {
                write!(f, "item {} in section {}: ", quote(item), quote(section))
            }
            (Some(item), None) => write!(f, "item {}: ", quote(item)),
            (None, Some(section)) => write!(f, "section {}: ", quote(section)),
            (None, None) => Ok(()),
        }
    }
}

/// Longest quoted text shown in a message, in characters.
const QUOTE_LIMIT: usize = 40;

/// Quotes text for a one-line message: escapes control characters and shortens long text.
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(QUOTE_LIMIT) + 2);
    out.push('"');
    for (i, c) in text.chars().enumerate() {
        if i == QUOTE_LIMIT {
            out.push('…');
            break;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Displays a value with control characters escaped, so that messages quoting the input
/// stay on one line.
pub(crate) struct OneLine<'a, T>(pub &'a T);

impl<T: fmt::Display> fmt::Display for OneLine<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Escaping<'a, 'b>(&'a mut fmt::Formatter<'b>);
        impl fmt::Write for Escaping<'_, '_> {
            fn write_str(&mut self, text: &str) -> fmt::Result {
                for c in text.chars() {
                    if c.is_control() {
                        write!(self.0, "{}", c.escape_default())?;
                    } else {
                        fmt::Write::write_char(self.0, c)?;
                    }
                }
                Ok(())
            }
        }
        fmt::write(&mut Escaping(f), format_args!("{}", self.0))
    }
}

/// Text with control characters replaced, so that a message stays on one line.
fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(char::is_control) {
        text.chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}
