//! Splits SOQL text into tokens, each with its line and column.

use crate::error::SoqlError;
use time::{Date, OffsetDateTime};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A name or keyword; keywords are recognised by the parser.
    Word(String),
    /// A quoted string: its value, and the same text as a LIKE pattern
    /// (`\` escapes, `%` and `_` wildcards kept apart from `\%` and `\_`).
    Str {
        value: String,
        pattern: String,
    },
    /// A number as written (optional sign, digits, optional fraction).
    Number(String),
    Date(Date),
    DateTime(OffsetDateTime),
    LParen,
    RParen,
    Comma,
    Dot,
    Colon,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    /// The token as written, for messages.
    pub text: String,
    pub line: u32,
    pub column: u32,
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: u32,
    column: u32,
}

pub(crate) fn lex(src: &str) -> Result<Vec<Token>, SoqlError> {
    let mut lx = Lexer {
        chars: src.chars().collect(),
        pos: 0,
        line: 1,
        column: 0,
    };
    let mut out = Vec::new();
    loop {
        lx.skip_space();
        let (line, column, start) = (lx.line, lx.column, lx.pos);
        let tok = lx.token()?;
        let done = tok == Tok::Eof;
        let text = if done {
            "<EOF>".to_string()
        } else {
            lx.chars[start..lx.pos].iter().collect()
        };
        out.push(Token {
            tok,
            text,
            line,
            column,
        });
        if done {
            return Ok(out);
        }
    }
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 0;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn error(&self, message: impl Into<String>) -> SoqlError {
        SoqlError::syntax(self.line, self.column, message)
    }

    fn skip_space(&mut self) {
        while self.peek(0).is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn token(&mut self) -> Result<Tok, SoqlError> {
        let Some(c) = self.peek(0) else {
            return Ok(Tok::Eof);
        };
        let digit_at = |lx: &Lexer, i: usize| lx.peek(i).is_some_and(|c| c.is_ascii_digit());
        if c.is_ascii_alphabetic() || c == '_' {
            let mut w = String::new();
            while let Some(c) = self
                .peek(0)
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            {
                w.push(c);
                self.bump();
            }
            return Ok(Tok::Word(w));
        }
        if c.is_ascii_digit()
            || ((c == '-' || c == '+')
                && (digit_at(self, 1) || (self.peek(1) == Some('.') && digit_at(self, 2))))
        {
            return self.number_or_date();
        }
        if c == '.' && digit_at(self, 1) {
            return self.number_or_date();
        }
        if c == '\'' {
            return self.string();
        }
        let two = |lx: &mut Lexer, t: Tok| {
            lx.bump();
            lx.bump();
            Ok(t)
        };
        match (c, self.peek(1)) {
            ('!', Some('=')) => return two(self, Tok::Ne),
            ('<', Some('>')) => return two(self, Tok::Ne),
            ('<', Some('=')) => return two(self, Tok::Le),
            ('>', Some('=')) => return two(self, Tok::Ge),
            _ => {}
        }
        let t = match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            '.' => Tok::Dot,
            ':' => Tok::Colon,
            '=' => Tok::Eq,
            '<' => Tok::Lt,
            '>' => Tok::Gt,
            _ => return Err(self.error(format!("no viable alternative at character '{c}'"))),
        };
        self.bump();
        Ok(t)
    }

    /// A number, or an unquoted date (`2026-11-22`) or date-time
    /// (`2026-11-22T09:30:00Z`, `…+01:00`, `…-0800`, with optional fraction).
    fn number_or_date(&mut self) -> Result<Tok, SoqlError> {
        let is_date = (0..4).all(|i| self.peek(i).is_some_and(|c| c.is_ascii_digit()))
            && self.peek(4) == Some('-')
            && self.peek(5).is_some_and(|c| c.is_ascii_digit());
        if is_date {
            return self.date();
        }
        let mut s = String::new();
        if let Some(sign) = self.peek(0).filter(|c| *c == '-' || *c == '+') {
            s.push(sign);
            self.bump();
        }
        self.digits(&mut s);
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            s.push('.');
            self.bump();
            self.digits(&mut s);
        }
        if let Some(c) = self
            .peek(0)
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        {
            return Err(self.error(format!("no viable alternative at character '{c}'")));
        }
        Ok(Tok::Number(s))
    }

    fn digits(&mut self, s: &mut String) {
        while let Some(c) = self.peek(0).filter(char::is_ascii_digit) {
            s.push(c);
            self.bump();
        }
    }

    fn date(&mut self) -> Result<Tok, SoqlError> {
        let (line, column) = (self.line, self.column);
        let mut s = String::new();
        while let Some(c) = self.peek(0).filter(|c| c.is_ascii_digit() || *c == '-') {
            s.push(c);
            self.bump();
        }
        let bad = |s: &str| {
            SoqlError::syntax(
                line,
                column,
                format!("invalid date or date-time literal: {s}"),
            )
        };
        if self.peek(0) != Some('T') && self.peek(0) != Some('t') {
            if self
                .peek(0)
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == ':')
            {
                return Err(bad(&s));
            }
            let d = (s.len() == 10)
                .then(|| dialtone_model::parse_date(&s))
                .flatten()
                .ok_or_else(|| bad(&s))?;
            return Ok(Tok::Date(d));
        }
        s.push('T');
        self.bump();
        while let Some(c) = self
            .peek(0)
            .filter(|c| c.is_ascii_digit() || *c == ':' || *c == '.')
        {
            s.push(c);
            self.bump();
        }
        // The offset: Z, or a sign and hh:mm / hhmm. It is required.
        match self.peek(0) {
            Some(c @ ('Z' | 'z')) => {
                s.push(c.to_ascii_uppercase());
                self.bump();
            }
            Some(c @ ('+' | '-')) => {
                s.push(c);
                self.bump();
                while let Some(c) = self.peek(0).filter(|c| c.is_ascii_digit() || *c == ':') {
                    s.push(c);
                    self.bump();
                }
            }
            _ => return Err(bad(&s)),
        }
        if self
            .peek(0)
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            return Err(bad(&s));
        }
        dialtone_model::parse_datetime(&s)
            .map(Tok::DateTime)
            .ok_or_else(|| bad(&s))
    }

    /// A single-quoted string with Salesforce's escapes.
    fn string(&mut self) -> Result<Tok, SoqlError> {
        let (line, column) = (self.line, self.column);
        self.bump();
        let mut value = String::new();
        let mut pattern = String::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(SoqlError::syntax(
                    line,
                    column,
                    "unterminated string literal",
                ));
            };
            match c {
                '\'' => return Ok(Tok::Str { value, pattern }),
                '\\' => {
                    let Some(e) = self.bump() else { continue };
                    let plain = match e {
                        'n' | 'N' => '\n',
                        'r' | 'R' => '\r',
                        't' | 'T' => '\t',
                        'b' | 'B' => '\u{8}',
                        'f' | 'F' => '\u{c}',
                        '"' | '\'' | '\\' => e,
                        '%' | '_' => {
                            value.push(e);
                            pattern.push('\\');
                            pattern.push(e);
                            continue;
                        }
                        'u' => self.unicode_escape()?,
                        _ => {
                            return Err(self.error(format!(
                                "Invalid string literal: illegal escape sequence '\\{e}' (valid: \\n \\r \\t \\b \\f \\\" \\' \\\\ \\% \\_ \\uXXXX)"
                            )));
                        }
                    };
                    value.push(plain);
                    if plain == '\\' {
                        pattern.push('\\');
                    }
                    pattern.push(plain);
                }
                _ => {
                    value.push(c);
                    pattern.push(c);
                }
            }
        }
    }

    fn unicode_escape(&mut self) -> Result<char, SoqlError> {
        let mut n = 0u32;
        for _ in 0..4 {
            let d = self
                .peek(0)
                .and_then(|c| c.to_digit(16))
                .ok_or_else(|| self.error("Invalid string literal: \\u needs 4 hex digits"))?;
            self.bump();
            n = n * 16 + d;
        }
        char::from_u32(n)
            .ok_or_else(|| self.error("Invalid string literal: \\u escape is not a character"))
    }
}
