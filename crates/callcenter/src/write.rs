//! Pretty-printing helpers shared by both formats: indentation and escaping.

use std::fmt::Write as _;

/// The declaration every exported file starts with.
pub(crate) const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

const INDENT: &str = "    ";

/// Builds an indented XML document line by line.
#[derive(Debug, Default)]
pub(crate) struct XmlWriter {
    out: String,
}

impl XmlWriter {
    pub fn new() -> Self {
        Self {
            out: DECLARATION.to_owned(),
        }
    }

    /// `<name attr="value"…>` on its own line.
    pub fn open(&mut self, depth: usize, name: &str, attributes: &[(&str, Option<&str>)]) {
        self.indent(depth);
        self.out.push('<');
        self.out.push_str(name);
        self.attributes(attributes);
        self.out.push_str(">\n");
    }

    /// `</name>` on its own line.
    pub fn close(&mut self, depth: usize, name: &str) {
        self.indent(depth);
        let _ = writeln!(self.out, "</{name}>");
    }

    /// `<name attr="value"…>text</name>` on one line (text line breaks kept).
    pub fn text_element(
        &mut self,
        depth: usize,
        name: &str,
        attributes: &[(&str, Option<&str>)],
        text: &str,
    ) {
        self.indent(depth);
        self.out.push('<');
        self.out.push_str(name);
        self.attributes(attributes);
        self.out.push('>');
        escape_text(&mut self.out, text);
        let _ = writeln!(self.out, "</{name}>");
    }

    /// A text element, if there is a value.
    pub fn optional_text_element(&mut self, depth: usize, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.text_element(depth, name, &[], text);
        }
    }

    pub fn finish(self) -> String {
        self.out
    }

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push_str(INDENT);
        }
    }

    fn attributes(&mut self, attributes: &[(&str, Option<&str>)]) {
        for (name, value) in attributes {
            if let Some(value) = value {
                let _ = write!(self.out, " {name}=\"");
                escape_attribute(&mut self.out, value);
                self.out.push('"');
            }
        }
    }
}

/// Escapes character data (`"` too, as Salesforce does in `customSettings`). Carriage returns become `&#13;` so that XML line-end
/// normalisation keeps them.
fn escape_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\r' => out.push_str("&#13;"),
            c => escape_markup(out, c),
        }
    }
}

/// Escapes an attribute value. Tabs and line breaks become character references so that
/// attribute-value normalisation keeps them.
fn escape_attribute(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => escape_markup(out, c),
        }
    }
}

fn escape_markup(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_keeps_line_ends() {
        let mut out = String::new();
        escape_text(&mut out, "a<b>&\"c'\r\n");
        assert_eq!(out, "a&lt;b&gt;&amp;&quot;c'&#13;\n");
        let mut out = String::new();
        escape_attribute(&mut out, "x\ty\nz");
        assert_eq!(out, "x&#9;y&#10;z");
    }
}
