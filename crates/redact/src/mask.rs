//! What a redacted span is replaced with.

/// How redacted spans are written into the stored text.
///
/// Every kind has a label (`card`, `cvv`, `pin`, `ssn`, `ni number`, a custom
/// detector's or pattern's label). Only card numbers have a visible tail: the
/// last four digits, the most PCI DSS allows to be shown.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MaskStyle {
    /// `[card ••••1111]` for cards, `[label]` for everything else.
    #[default]
    LastFour,
    /// `[label]` for everything, cards included.
    LabelOnly,
    /// A template in which `{label}` becomes the label and `{last4}` the
    /// card's last four digits (empty for other kinds): `"<{label}:{last4}>"`
    /// writes `<card:1111>` and `<ssn:>`.
    Template(String),
}

impl MaskStyle {
    pub(crate) fn render(&self, label: &str, last4: Option<&str>, out: &mut String) {
        match (self, last4) {
            (MaskStyle::LastFour, Some(last4)) => {
                out.push('[');
                out.push_str(label);
                out.push_str(" ••••");
                out.push_str(last4);
                out.push(']');
            }
            (MaskStyle::LastFour | MaskStyle::LabelOnly, _) => {
                out.push('[');
                out.push_str(label);
                out.push(']');
            }
            (MaskStyle::Template(template), _) => {
                // One pass, so a label that happens to contain "{last4}" is
                // written as it is.
                let mut rest = template.as_str();
                while let Some(at) = rest.find('{') {
                    out.push_str(&rest[..at]);
                    let tail = &rest[at..];
                    if let Some(after) = tail.strip_prefix("{label}") {
                        out.push_str(label);
                        rest = after;
                    } else if let Some(after) = tail.strip_prefix("{last4}") {
                        out.push_str(last4.unwrap_or(""));
                        rest = after;
                    } else {
                        out.push('{');
                        rest = &tail[1..];
                    }
                }
                out.push_str(rest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MaskStyle;

    fn r(style: &MaskStyle, label: &str, last4: Option<&str>) -> String {
        let mut s = String::new();
        style.render(label, last4, &mut s);
        s
    }

    #[test]
    fn styles() {
        assert_eq!(r(&MaskStyle::LastFour, "card", Some("1111")), "[card ••••1111]");
        assert_eq!(r(&MaskStyle::LastFour, "ssn", None), "[ssn]");
        assert_eq!(r(&MaskStyle::LabelOnly, "card", Some("1111")), "[card]");
        let t = MaskStyle::Template("<{label}:{last4}> {x} {".into());
        assert_eq!(r(&t, "card", Some("1111")), "<card:1111> {x} {");
        assert_eq!(r(&t, "{last4}", None), "<{last4}:> {x} {");
    }
}
