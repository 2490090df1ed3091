//! A recursive-descent parser from tokens to [`Query`].

use crate::ast::*;
use crate::error::SoqlError;
use crate::lexer::{Tok, Token, lex};

/// Salesforce's limit on the length of a SOQL statement, in characters.
pub const MAX_QUERY_LENGTH: usize = 100_000;

/// How deeply conditions may nest (parentheses and NOT together).
pub const MAX_NESTING: usize = 64;

/// Words that cannot be field names or aliases.
const RESERVED: &[&str] = &[
    "SELECT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "ORDER", "LIMIT", "OFFSET", "AND", "OR",
    "NOT", "IN", "LIKE", "NULL", "TRUE", "FALSE", "ASC", "DESC", "NULLS", "WITH", "FOR", "USING",
    "UPDATE", "TYPEOF", "INCLUDES", "EXCLUDES",
];

/// Clauses Salesforce has that this front end does not implement; named in the error.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("WITH", "WITH clauses are not supported"),
    (
        "FOR",
        "FOR VIEW / FOR REFERENCE / FOR UPDATE are not supported",
    ),
    ("USING", "USING SCOPE is not supported"),
    (
        "UPDATE",
        "UPDATE TRACKING / UPDATE VIEWSTAT are not supported",
    ),
    ("TYPEOF", "TYPEOF is not supported"),
    (
        "INCLUDES",
        "INCLUDES is not supported (no multi-select picklists)",
    ),
    (
        "EXCLUDES",
        "EXCLUDES is not supported (no multi-select picklists)",
    ),
];

/// Parses SOQL text into a [`Query`]. Checks syntax only: names are not
/// looked up (see [`crate::plan`]). Errors are `MALFORMED_QUERY`.
pub fn parse(soql: &str) -> Result<Query, SoqlError> {
    if soql.chars().count() > MAX_QUERY_LENGTH {
        return Err(SoqlError::malformed(format!(
            "SOQL statements cannot be longer than {MAX_QUERY_LENGTH} characters."
        )));
    }
    let tokens = lex(soql)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let q = p.query()?;
    p.expect_eof()?;
    Ok(q)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

impl Parser {
    fn peek(&self) -> &Token {
        // The lexer always ends with Eof, and the parser never moves past it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        &self.tokens[(self.pos + ahead).min(self.tokens.len() - 1)].tok
    }

    fn advance(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::Eof {
            self.pos += 1;
        }
        t
    }

    fn unexpected(&self) -> SoqlError {
        let t = self.peek();
        let hint = match &t.tok {
            Tok::Word(w) => UNSUPPORTED
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(w))
                .map(|(_, h)| format!(" ({h})"))
                .unwrap_or_default(),
            _ => String::new(),
        };
        SoqlError::syntax(
            t.line,
            t.column,
            format!("unexpected token: '{}'{hint}", t.text),
        )
    }

    fn at_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let at = self.at_kw(kw);
        if at {
            self.advance();
        }
        at
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), SoqlError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        let at = &self.peek().tok == tok;
        if at {
            self.advance();
        }
        at
    }

    fn expect(&mut self, tok: &Tok) -> Result<(), SoqlError> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect_eof(&self) -> Result<(), SoqlError> {
        if self.peek().tok == Tok::Eof {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    /// A name that is not a reserved word.
    fn name(&mut self) -> Result<String, SoqlError> {
        match &self.peek().tok {
            Tok::Word(w) if !is_reserved(w) => {
                let w = w.clone();
                self.advance();
                Ok(w)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn query(&mut self) -> Result<Query, SoqlError> {
        self.expect_kw("SELECT")?;
        let mut select = vec![self.select_item()?];
        while self.eat(&Tok::Comma) {
            select.push(self.select_item()?);
        }
        self.expect_kw("FROM")?;
        let from = self.name()?;
        let filter = if self.eat_kw("WHERE") {
            Some(self.condition()?)
        } else {
            None
        };
        let mut group_by = Vec::new();
        if self.eat_kw("GROUP") {
            self.expect_kw("BY")?;
            group_by.push(self.group_key()?);
            while self.eat(&Tok::Comma) {
                group_by.push(self.group_key()?);
            }
        }
        let having = if self.eat_kw("HAVING") {
            Some(self.condition()?)
        } else {
            None
        };
        let mut order_by = Vec::new();
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            order_by.push(self.order_item()?);
            while self.eat(&Tok::Comma) {
                order_by.push(self.order_item()?);
            }
        }
        let limit = if self.eat_kw("LIMIT") {
            Some(self.unsigned()?)
        } else {
            None
        };
        let offset = if self.eat_kw("OFFSET") {
            Some(self.unsigned()?)
        } else {
            None
        };
        Ok(Query {
            select,
            from,
            filter,
            group_by,
            having,
            order_by,
            limit,
            offset,
        })
    }

    fn select_item(&mut self) -> Result<SelectItem, SoqlError> {
        if self.peek().tok == Tok::LParen {
            let t = self.peek();
            return Err(SoqlError::syntax(
                t.line,
                t.column,
                "unexpected token: '(' (relationship subqueries are not supported)",
            ));
        }
        if matches!(self.peek_at(1), Tok::LParen) {
            if self.at_kw("COUNT") && matches!(self.peek_at(2), Tok::RParen) {
                self.advance();
                self.advance();
                self.advance();
                return Ok(SelectItem::CountAll);
            }
            if let Some(call) = self.date_function()? {
                let alias = self.alias()?;
                return Ok(SelectItem::Date { call, alias });
            }
            let call = self.aggregate()?;
            let alias = self.alias()?;
            return Ok(SelectItem::Aggregate { call, alias });
        }
        let field = self.field_path()?;
        let alias = self.alias()?;
        Ok(SelectItem::Field { field, alias })
    }

    /// An alias after a select item: a name followed by `,` or FROM (so that
    /// a misspelt FROM is reported as itself, not as an alias).
    fn alias(&mut self) -> Result<Option<String>, SoqlError> {
        let follows = match self.peek_at(1) {
            Tok::Comma => true,
            Tok::Word(w) => w.eq_ignore_ascii_case("FROM"),
            _ => false,
        };
        match &self.peek().tok {
            Tok::Word(w) if follows && !is_reserved(w) => Ok(Some(self.name()?)),
            _ => Ok(None),
        }
    }

    /// `FUNC(field)`; the current token is the function name.
    fn aggregate(&mut self) -> Result<Aggregate, SoqlError> {
        let t = self.peek().clone();
        let func = match &t.tok {
            Tok::Word(w) => AggregateFn::from_name(w).ok_or_else(|| {
                SoqlError::syntax(
                    t.line,
                    t.column,
                    format!("unexpected token: '{w}' (unsupported function)"),
                )
            })?,
            _ => return Err(self.unexpected()),
        };
        self.advance();
        self.expect(&Tok::LParen)?;
        let field = self.field_path()?;
        self.expect(&Tok::RParen)?;
        Ok(Aggregate { func, field })
    }

    fn field_path(&mut self) -> Result<FieldPath, SoqlError> {
        let mut parts = vec![self.name()?];
        while self.eat(&Tok::Dot) {
            parts.push(self.name()?);
        }
        Ok(FieldPath(parts))
    }

    /// `DAY_ONLY(field)` and the other date functions, when the current
    /// token names one; `None` (nothing consumed) otherwise.
    fn date_function(&mut self) -> Result<Option<DateFunction>, SoqlError> {
        let func = match &self.peek().tok {
            Tok::Word(w) if matches!(self.peek_at(1), Tok::LParen) => DateFn::from_name(w),
            _ => None,
        };
        let Some(func) = func else { return Ok(None) };
        self.advance();
        self.expect(&Tok::LParen)?;
        let local = matches!(&self.peek().tok, Tok::Word(w) if w.eq_ignore_ascii_case("convertTimezone")) && matches!(self.peek_at(1), Tok::LParen);
        if local {
            self.advance();
            self.expect(&Tok::LParen)?;
        }
        let field = self.field_path()?;
        if local {
            self.expect(&Tok::RParen)?;
        }
        self.expect(&Tok::RParen)?;
        Ok(Some(DateFunction { func, field, local }))
    }

    /// A GROUP BY key: a field or a date function.
    fn group_key(&mut self) -> Result<Operand, SoqlError> {
        match self.date_function()? {
            Some(d) => Ok(Operand::Date(d)),
            None => Ok(Operand::Field(self.field_path()?)),
        }
    }

    fn operand(&mut self) -> Result<Operand, SoqlError> {
        if let Some(d) = self.date_function()? {
            Ok(Operand::Date(d))
        } else if matches!(self.peek().tok, Tok::Word(_)) && matches!(self.peek_at(1), Tok::LParen) {
            Ok(Operand::Aggregate(self.aggregate()?))
        } else {
            Ok(Operand::Field(self.field_path()?))
        }
    }

    fn order_item(&mut self) -> Result<OrderItem, SoqlError> {
        let key = self.operand()?;
        let descending = if self.eat_kw("DESC") {
            true
        } else {
            self.eat_kw("ASC");
            false
        };
        let nulls_first = if self.eat_kw("NULLS") {
            if self.eat_kw("FIRST") {
                Some(true)
            } else {
                self.expect_kw("LAST")?;
                Some(false)
            }
        } else {
            None
        };
        Ok(OrderItem {
            key,
            descending,
            nulls_first,
        })
    }

    fn unsigned(&mut self) -> Result<u64, SoqlError> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::Number(n) if n.bytes().all(|b| b.is_ascii_digit()) => {
                self.advance();
                n.parse().map_err(|_| SoqlError::OutOfRange {
                    message: format!("number too large: {n}"),
                })
            }
            _ => Err(self.unexpected()),
        }
    }

    /// `a AND b AND …` or `a OR b OR …`; mixing the two at one level needs
    /// parentheses, as in Salesforce.
    fn condition(&mut self) -> Result<Expr, SoqlError> {
        let first = self.unary()?;
        let joiner = if self.at_kw("AND") {
            "AND"
        } else if self.at_kw("OR") {
            "OR"
        } else {
            return Ok(first);
        };
        let mut items = vec![first];
        while self.eat_kw(joiner) {
            items.push(self.unary()?);
        }
        if self.at_kw("AND") || self.at_kw("OR") {
            return Err(self.unexpected());
        }
        Ok(if joiner == "AND" {
            Expr::And(items)
        } else {
            Expr::Or(items)
        })
    }

    fn unary(&mut self) -> Result<Expr, SoqlError> {
        if self.at_kw("NOT") || self.peek().tok == Tok::LParen {
            if self.depth >= MAX_NESTING {
                let t = self.peek();
                return Err(SoqlError::syntax(
                    t.line,
                    t.column,
                    format!("conditions nest too deeply (at most {MAX_NESTING} levels)"),
                ));
            }
            self.depth += 1;
            let e = if self.eat_kw("NOT") {
                self.unary().map(|e| Expr::Not(Box::new(e)))
            } else {
                self.advance();
                self.condition()
                    .and_then(|e| self.expect(&Tok::RParen).map(|()| e))
            };
            self.depth -= 1;
            return e;
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, SoqlError> {
        let left = self.operand()?;
        let op = match self.peek().tok {
            Tok::Eq => Some(CompareOp::Eq),
            Tok::Ne => Some(CompareOp::Ne),
            Tok::Lt => Some(CompareOp::Lt),
            Tok::Le => Some(CompareOp::Le),
            Tok::Gt => Some(CompareOp::Gt),
            Tok::Ge => Some(CompareOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.advance();
            let value = self.literal()?;
            return Ok(Expr::Compare { left, op, value });
        }
        if self.eat_kw("LIKE") {
            return match self.peek().tok.clone() {
                Tok::Str { pattern, .. } => {
                    self.advance();
                    Ok(Expr::Like { left, pattern })
                }
                _ => Err(self.unexpected()),
            };
        }
        let negated = self.eat_kw("NOT");
        if !self.eat_kw("IN") {
            return Err(self.unexpected());
        }
        self.expect(&Tok::LParen)?;
        if self.at_kw("SELECT") {
            let t = self.peek();
            return Err(SoqlError::syntax(
                t.line,
                t.column,
                "unexpected token: 'SELECT' (semi-join and anti-join subqueries are not supported)",
            ));
        }
        let mut values = vec![self.literal()?];
        while self.eat(&Tok::Comma) {
            values.push(self.literal()?);
        }
        self.expect(&Tok::RParen)?;
        Ok(Expr::In {
            left,
            values,
            negated,
        })
    }

    fn literal(&mut self) -> Result<Literal, SoqlError> {
        let t = self.peek().clone();
        let lit = match &t.tok {
            Tok::Str { value, .. } => Literal::String(value.clone()),
            Tok::Number(n) => match n.parse::<i64>() {
                Ok(i) => Literal::Int(i),
                Err(_) => match n.parse::<f64>() {
                    Ok(x) if x.is_finite() => Literal::Float(x),
                    _ => {
                        return Err(SoqlError::OutOfRange {
                            message: format!("number out of range: {n}"),
                        });
                    }
                },
            },
            Tok::Date(d) => Literal::Date(*d),
            Tok::DateTime(d) => Literal::DateTime(*d),
            Tok::Word(w) if w.eq_ignore_ascii_case("NULL") => Literal::Null,
            Tok::Word(w) if w.eq_ignore_ascii_case("TRUE") => Literal::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("FALSE") => Literal::Bool(false),
            Tok::Word(w) => {
                if let Some(r) = RelativeDate::fixed(w) {
                    Literal::Relative(r)
                } else if let Some(build) = RelativeDate::with_n(w) {
                    self.advance();
                    self.expect(&Tok::Colon)?;
                    let n = self.unsigned()?;
                    let n = u32::try_from(n).map_err(|_| SoqlError::OutOfRange {
                        message: format!("{w}:{n} is out of range"),
                    })?;
                    return Ok(Literal::Relative(build(n)));
                } else {
                    return Err(self.unexpected());
                }
            }
            _ => return Err(self.unexpected()),
        };
        self.advance();
        Ok(lit)
    }
}
