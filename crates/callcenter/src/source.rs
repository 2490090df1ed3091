//! The raw file: size and encoding checks, and byte offsets turned into lines and columns.

use crate::MAX_FILE_SIZE;
use crate::error::{ParseError, ParseErrorKind};

/// A call center file that passed the byte-level checks: at most [`MAX_FILE_SIZE`],
/// UTF-8 (byte-order mark removed), and free of characters XML forbids.
#[derive(Debug)]
pub(crate) struct SourceText<'a> {
    pub file_name: &'a str,
    pub text: &'a str,
}

impl<'a> SourceText<'a> {
    /// Runs the byte-level checks.
    pub fn load(bytes: &'a [u8], file_name: &'a str) -> Result<Self, ParseError> {
        let whole_file = |kind| file_error(file_name, 0, 0, kind);
        if bytes.len() > MAX_FILE_SIZE {
            return Err(whole_file(ParseErrorKind::TooLarge { size: bytes.len() }));
        }
        if looks_like_utf16(bytes) {
            return Err(whole_file(ParseErrorKind::Utf16));
        }
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let valid = &bytes[..e.valid_up_to()];
            // The prefix up to `valid_up_to` is valid UTF-8 by definition.
            let prefix = std::str::from_utf8(valid).unwrap_or_default();
            let (line, column) = Locator::new(prefix).locate(prefix.len());
            let byte = bytes.get(e.valid_up_to()).copied().unwrap_or_default();
            file_error(file_name, line, column, ParseErrorKind::NotUtf8 { byte })
        })?;
        if let Some((offset, c)) = text.char_indices().find(|&(_, c)| !is_xml_char(c)) {
            let (line, column) = Locator::new(text).locate(offset);
            let kind = ParseErrorKind::InvalidCharacter { code: u32::from(c) };
            return Err(file_error(file_name, line, column, kind));
        }
        Ok(Self { file_name, text })
    }
}

/// UTF-16 files start with a byte-order mark, or have a zero byte next to the first `<`.
fn looks_like_utf16(bytes: &[u8]) -> bool {
    matches!(
        bytes,
        [0xFF, 0xFE, ..] | [0xFE, 0xFF, ..] | [0, b'<', ..] | [b'<', 0, ..]
    )
}

/// Whether XML 1.0 allows `c` in a document (the `Char` production).
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

pub(crate) fn file_error(file: &str, line: u32, column: u32, kind: ParseErrorKind) -> ParseError {
    ParseError::new(file, line, column, kind)
}

/// Turns byte offsets into 1-based lines and columns (in characters).
///
/// Remembers the last position so that a forward scan through the file costs O(n) in total;
/// looking backwards restarts from the top.
#[derive(Debug)]
pub(crate) struct Locator<'a> {
    text: &'a str,
    offset: usize,
    line: u32,
    column: u32,
}

impl<'a> Locator<'a> {
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            offset: 0,
            line: 1,
            column: 1,
        }
    }

    /// Line and column of the character at byte `offset` (clamped to the end of the text).
    pub fn locate(&mut self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        if offset < self.offset {
            *self = Self::new(self.text);
        }
        let skipped = self
            .text
            .as_bytes()
            .get(self.offset..offset)
            .unwrap_or_default();
        for &byte in skipped {
            if byte == b'\n' {
                self.line = self.line.saturating_add(1);
                self.column = 1;
            } else if !is_utf8_continuation(byte) {
                self.column = self.column.saturating_add(1);
            }
        }
        self.offset = offset;
        (self.line, self.column)
    }
}

fn is_utf8_continuation(byte: u8) -> bool {
    byte & 0xC0 == 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_lines_and_character_columns() {
        let text = "ab\né<x>\n\nz";
        let mut locator = Locator::new(text);
        assert_eq!(locator.locate(0), (1, 1));
        assert_eq!(locator.locate(1), (1, 2));
        assert_eq!(locator.locate(3), (2, 1));
        assert_eq!(locator.locate(5), (2, 2)); // after the two-byte é
        assert_eq!(locator.locate(text.len() - 1), (4, 1));
        assert_eq!(locator.locate(1), (1, 2)); // backwards
        assert_eq!(locator.locate(usize::MAX), (4, 2));
    }

    #[test]
    fn xml_chars() {
        assert!(is_xml_char('\t') && is_xml_char('é') && is_xml_char('\u{1F600}'));
        assert!(!is_xml_char('\0') && !is_xml_char('\u{1}') && !is_xml_char('\u{FFFE}'));
    }
}
