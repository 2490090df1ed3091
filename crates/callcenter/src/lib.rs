//! Salesforce Call Center definition files: parse, validate and export them.
//!
//! A call center definition tells Salesforce how to reach a contact centre: its internal and
//! display names, the URL of the CTI adapter, the softphone size, dialing prefixes, and any
//! settings the telephony vendor adds. Files come in two formats, and this crate reads both
//! into one [`CallCenterDef`]:
//!
//! * **The legacy import file** ([`Format::Legacy`]), imported in Setup › Call Centers.
//!   Settings are `<item>`s with `name`, `label` and `sortOrder` attributes, grouped in
//!   `<section>`s; the internal name, display name and adapter URL are items of the
//!   `reqGeneralInfo` section:
//!
//!   ```xml
//!   <callCenter>
//!     <section sortOrder="0" name="reqGeneralInfo" label="General Information">
//!       <item sortOrder="0" name="reqInternalName" label="Internal Name">OpenCTI</item>
//!       <item sortOrder="1" name="reqDisplayName" label="Display Name">Demo</item>
//!     </section>
//!   </callCenter>
//!   ```
//!
//! * **The Metadata API type** ([`Format::Metadata`]), `CallCenter` in a `callCenters/`
//!   folder. Names, labels and values are child elements, a section's own `<label>` and
//!   `<name>` come after its items, there are no sort orders, and the display name, adapter
//!   URL, field labels, `<version>` and `<customSettings>` (a JSON string) are top-level
//!   elements. The internal name is the file's own name (`OpenCTI.callCenter` → `OpenCTI`)
//!   unless a `reqInternalName` item gives one:
//!
//!   ```xml
//!   <CallCenter xmlns="http://soap.sforce.com/2006/04/metadata">
//!       <adapterUrl>/apex/demoAdapterPage</adapterUrl>
//!       <displayName>Demo</displayName>
//!       <sections>
//!           <items><label>Use CTI API</label><name>reqUseApi</name><value>true</value></items>
//!           <label>General Information</label>
//!           <name>reqGeneralInfo</name>
//!       </sections>
//!   </CallCenter>
//!   ```
//!
//! Salesforce Voice (Service Cloud Voice) partner telephony centers use the same formats with
//! a `reqHvcc` section and a `reqVendorInfoApiName` item instead of an adapter URL; see
//! [`CallCenterDef::is_partner_telephony`].
//!
//! [`parse`] detects the format, keeps every section and item (vendor ones included) in file
//! order, and refuses anything unsafe: DTDs (so no entity expansion or external entities),
//! files over [`MAX_FILE_SIZE`], and non-UTF-8 text. [`validate`] checks what Salesforce
//! requires and reports [`Problem`]s. [`export`] writes either format, so files convert both
//! ways; [`CallCenterDef::to_format`] says exactly what survives a conversion.
//!
//! ```
//! let xml = br#"<callCenter>
//!   <section sortOrder="0" name="reqGeneralInfo" label="General Information">
//!     <item sortOrder="0" name="reqInternalName" label="Internal Name">DemoCti</item>
//!     <item sortOrder="1" name="reqDisplayName" label="Display Name">Demo CTI</item>
//!     <item sortOrder="2" name="reqAdapterUrl" label="CTI Adapter URL">/apex/Softphone</item>
//!     <item sortOrder="3" name="reqUseApi" label="Use CTI API">true</item>
//!     <item sortOrder="4" name="reqSoftphoneHeight" label="Softphone Height">abc</item>
//!     <item sortOrder="5" name="reqSoftphoneWidth" label="Softphone Width">300</item>
//!   </section>
//! </callCenter>"#;
//! let def = dialtone_callcenter::parse(xml, "DemoCti.xml")?;
//! assert_eq!(def.internal_name, "DemoCti");
//! let problems = dialtone_callcenter::validate(&def);
//! assert_eq!(
//!     problems[0].to_string(),
//!     "DemoCti.xml:7:5: item \"reqSoftphoneHeight\" in section \"reqGeneralInfo\": \
//!      value \"abc\" is not a whole number; enter the softphone height in pixels, \
//!      such as 400 [INVALID_NUMBER]"
//! );
//! let metadata = dialtone_callcenter::export(&def, dialtone_callcenter::Format::Metadata);
//! assert!(metadata.contains("<displayName>Demo CTI</displayName>"));
//! # Ok::<(), dialtone_callcenter::ParseError>(())
//! ```

mod error;
mod legacy;
mod metadata;
mod model;
pub mod names;
mod source;
mod validate;
mod write;
mod xml;

pub use error::{ParseError, ParseErrorKind};
pub use model::{
    CallCenterDef, Format, Item, Location, Origin, Section, internal_name_from_file_name,
};
pub use validate::{MAX_SOFTPHONE_SIZE, MIN_SOFTPHONE_SIZE, Problem, ProblemCode, validate};

use source::SourceText;
use xml::{Cursor, Token};

/// The largest file [`parse`] accepts: 1 MiB. Real definitions are a few kilobytes.
pub const MAX_FILE_SIZE: usize = 1024 * 1024;

/// The XML namespace of Metadata API files.
pub const METADATA_NAMESPACE: &str = "http://soap.sforce.com/2006/04/metadata";

/// Reads a call center definition in either format, telling them apart by the root element.
///
/// `file_name` is used in error messages and, for Metadata API files, gives the internal name
/// (see [`internal_name_from_file_name`]). Parsing checks structure only; use [`validate`]
/// for Salesforce's rules.
///
/// # Errors
///
/// A [`ParseError`] naming the file, line and column and saying what to fix, when the file
/// is over [`MAX_FILE_SIZE`], not UTF-8, not well-formed XML, has a DTD, entities other than
/// the predefined five, an unknown root element, or elements and attributes that the format
/// does not have.
pub fn parse(bytes: &[u8], file_name: &str) -> Result<CallCenterDef, ParseError> {
    let source = SourceText::load(bytes, file_name)?;
    let mut cursor = Cursor::new(&source);
    let root = loop {
        match cursor.next_token()? {
            Token::Start(root) => break root,
            Token::Text { text, offset } => {
                let hint = "a call center file starts with <callCenter> or <CallCenter>";
                cursor.expect_blank(&text, offset, "file", hint)?;
            }
            // The reader reports an end tag without a start tag itself.
            Token::End | Token::Eof => {
                return Err(cursor.error(source.text.len(), ParseErrorKind::Empty));
            }
        }
    };
    let origin = Origin {
        file_name: file_name.to_owned(),
        location: root.location,
    };
    let def = match root.name.as_str() {
        legacy::ROOT => legacy::parse(&mut cursor, &root, origin)?,
        metadata::ROOT => metadata::parse(&mut cursor, &root, origin)?,
        _ => {
            let kind = ParseErrorKind::UnknownRoot { found: root.name };
            return Err(cursor.error(root.offset, kind));
        }
    };
    expect_end(&mut cursor, &root.name)?;
    Ok(def)
}

/// Only whitespace, comments and processing instructions may follow the root element.
fn expect_end(cursor: &mut Cursor<'_>, root: &str) -> Result<(), ParseError> {
    loop {
        let offset = match cursor.next_token()? {
            Token::Eof => return Ok(()),
            Token::Text { text, .. } if text.trim_ascii().is_empty() => continue,
            Token::Text { offset, .. } => offset,
            Token::Start(tag) => tag.offset,
            Token::End => 0,
        };
        let kind = ParseErrorKind::ContentAfterRoot {
            root: root.to_owned(),
        };
        return Err(cursor.error(offset, kind));
    }
}

/// Writes `def` as a pretty-printed file of the given format (4-space indent, UTF-8
/// declaration, Metadata elements in the order Salesforce retrieves them).
///
/// What is written is [`def.to_format(format)`](CallCenterDef::to_format), so
/// `parse(export(def, f))` reads back as `def.to_format(f)` — `def` itself when `f` is the
/// format it was parsed from — and exporting that again gives the same bytes.
#[must_use]
pub fn export(def: &CallCenterDef, format: Format) -> String {
    let def = def.to_format(format);
    match format {
        Format::Legacy => legacy::write(&def),
        Format::Metadata => metadata::write(&def),
    }
}
