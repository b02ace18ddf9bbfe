//! A recursive-descent parser for DynamoDB's PartiQL statements:
//!
//! ```text
//! statement := select | insert | update | delete | EXISTS '(' select ')'   [';']
//! select    := SELECT ('*' | path {',' path}) FROM name ['.' name] [WHERE expr]
//!              [ORDER BY path [ASC|DESC] {',' path [ASC|DESC]}]
//! insert    := INSERT INTO name VALUE expr
//! update    := UPDATE name (SET path '=' expr {',' path '=' expr} | REMOVE path {',' path})+
//!              WHERE expr [returning]
//! delete    := DELETE FROM name WHERE expr [returning]
//! returning := RETURNING (ALL | MODIFIED) (OLD | NEW) '*'
//! expr      := or;  or := and {OR and};  and := not {AND not};  not := NOT not | predicate
//! predicate := sum [cmp sum | [NOT] IN list | [NOT] BETWEEN sum AND sum | IS [NOT] (NULL|MISSING)]
//! sum       := unary {('+'|'-') unary};  unary := '-' unary | primary
//! primary   := literal | '?' | path | name '(' [expr {',' expr}] ')' | '(' expr ')'
//!              | '{' [str ':' expr {',' ...}] '}' | '[' [expr {',' expr}] ']' | '<<' ... '>>'
//! path      := name {'.' name | '[' digits ']'}
//! ```
//!
//! Names are bare words (case kept, reserved words refused) or double-quoted.

use super::ast::*;
use super::error::SyntaxError;
use super::lexer::{tokenize, Tok, Token};
use super::reserved::is_reserved;
use crate::expr::{Comparator, DocumentPath, PathElement};
use crate::model::{AttributeValue, Number};

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 64;

/// Parses one statement; also says how many `?` parameters it has.
pub fn parse(src: &str) -> Result<(Statement, usize), SyntaxError> {
    let tokens = tokenize(src)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        params: 0,
        depth: 0,
    };
    let statement = p.statement()?;
    if p.peek().tok == Tok::Semicolon {
        p.pos += 1;
    }
    p.expect_end()?;
    Ok((statement, p.params))
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    params: usize,
    depth: usize,
}

type Parsed<T> = Result<T, SyntaxError>;

/// The end, for a token list that somehow lacks its own.
static EOF: Token = Token {
    tok: Tok::Eof,
    line: 1,
    column: 1,
    len: 0,
};

impl Parser {
    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    /// The token `n` ahead; past the end, the end (the last token is always Eof).
    fn peek_at(&self, n: usize) -> &Token {
        self.tokens
            .get(self.pos + n)
            .or(self.tokens.last())
            .unwrap_or(&EOF)
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::Eof {
            self.pos += 1;
        }
        t
    }

    /// A token where a term (a value, a path, a call) should start, as DynamoDB's parser
    /// words it.
    fn unexpected(&self, t: &Token) -> SyntaxError {
        let detail = match &t.tok {
            Tok::Eof => "Unexpected term",
            Tok::Word(w) if OPERATOR_WORDS.iter().any(|o| w.eq_ignore_ascii_case(o)) => {
                "Unexpected operator"
            }
            Tok::Word(w) if is_reserved(w) => "Unexpected keyword",
            Tok::Eq | Tok::Ne | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge | Tok::Plus | Tok::Star => {
                "Unexpected operator"
            }
            _ => "Unexpected term",
        };
        SyntaxError::at(t.line, t.column, detail)
    }

    /// A token where the statement should have ended, or gone on otherwise.
    fn leftover(&self, t: &Token) -> SyntaxError {
        if t.tok == Tok::Eof {
            return SyntaxError::at(t.line, t.column, "Unexpected term");
        }
        SyntaxError::at(t.line, t.column, "Unexpected token after expression")
    }

    fn expect(&mut self, tok: Tok) -> Parsed<Token> {
        let t = self.next();
        if t.tok == tok {
            Ok(t)
        } else {
            Err(self.leftover(&t))
        }
    }

    fn expect_word(&mut self, keyword: &str) -> Parsed<()> {
        let t = self.next();
        if t.is_word(keyword) {
            Ok(())
        } else {
            Err(self.leftover(&t))
        }
    }

    /// `FROM` where it must follow, with DynamoDB's message when it does not.
    fn expect_from(&mut self, after: &str) -> Parsed<()> {
        let t = self.next();
        if t.is_word("FROM") {
            return Ok(());
        }
        Err(SyntaxError::at(
            t.line,
            t.column,
            format!("Expected FROM after {after}"),
        ))
    }

    fn eat_word(&mut self, keyword: &str) -> bool {
        if self.peek().is_word(keyword) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat(&mut self, tok: Tok) -> bool {
        if self.peek().tok == tok {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_end(&mut self) -> Parsed<()> {
        let t = self.next();
        match t.tok {
            Tok::Eof => Ok(()),
            _ => Err(self.leftover(&t)),
        }
    }

    fn enter(&mut self) -> Parsed<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let t = self.peek();
            return Err(SyntaxError::at(
                t.line,
                t.column,
                "Statement nesting exceeds the maximum depth",
            ));
        }
        Ok(())
    }

    fn statement(&mut self) -> Parsed<Statement> {
        let t = self.peek().clone();
        if t.is_word("SELECT") {
            return Ok(Statement::Select(self.select()?));
        }
        if t.is_word("INSERT") {
            return self.insert();
        }
        if t.is_word("UPDATE") {
            return self.update();
        }
        if t.is_word("DELETE") {
            return self.delete();
        }
        if t.is_word("EXISTS") {
            self.pos += 1;
            self.expect(Tok::LParen)?;
            if !self.peek().is_word("SELECT") {
                let t = self.peek().clone();
                return Err(self.unexpected(&t));
            }
            let select = self.select()?;
            self.expect(Tok::RParen)?;
            return Ok(Statement::Exists(select));
        }
        Err(SyntaxError::at(
            t.line,
            t.column,
            "Expected data manipulation",
        ))
    }

    /// A table, index or attribute name.
    fn name(&mut self) -> Parsed<String> {
        let t = self.next();
        match t.tok {
            Tok::Quoted(s) => Ok(s),
            Tok::Word(ref w) if !is_reserved(w) => Ok(w.clone()),
            _ => Err(self.unexpected(&t)),
        }
    }

    /// `table` or `table.index`, refusing an alias after it. A DML statement's missing
    /// name is DynamoDB's "Expected identifier for simple path".
    fn table(&mut self, dml: bool) -> Parsed<(String, Option<String>)> {
        let t = self.peek().clone();
        let named =
            matches!(&t.tok, Tok::Quoted(_)) || matches!(&t.tok, Tok::Word(w) if !is_reserved(w));
        if dml && !named {
            return Err(SyntaxError::at(
                t.line,
                t.column,
                "Expected identifier for simple path",
            ));
        }
        let table = self.name()?;
        let mut index = None;
        while self.eat(Tok::Dot) {
            let name = self.name()?;
            if index.is_some() {
                return Err(plain(
                    &t,
                    "A path may contain at most 2 components in the FROM clause",
                ));
            }
            index = Some(name);
        }
        for name in std::iter::once(&table).chain(&index) {
            if name.is_empty() {
                return Err(plain(&t, "Path component cannot be an empty string"));
            }
        }
        let next = self.peek();
        let alias = next.is_word("AS")
            || matches!(&next.tok, Tok::Quoted(_))
            || matches!(&next.tok, Tok::Word(w) if !is_reserved(w));
        if alias {
            return Err(plain(next, "Aliasing is not supported"));
        }
        Ok((table, index))
    }

    fn path(&mut self) -> Parsed<DocumentPath> {
        let first = self.name()?;
        self.path_from(first)
    }

    /// A selected path: a function call there (`COUNT(*)`) is DynamoDB's "Unexpected path
    /// component", with where it is.
    fn selected(&mut self) -> Parsed<DocumentPath> {
        let t = self.peek().clone();
        if matches!(t.tok, Tok::Word(_)) && self.peek_at(1).tok == Tok::LParen {
            return Err(plain(
                &t,
                &format!(
                    "Unexpected path component at {}:{}:{}",
                    t.line, t.column, t.len
                ),
            ));
        }
        self.path()
    }

    fn path_from(&mut self, first: String) -> Parsed<DocumentPath> {
        let mut elements = vec![PathElement::Attr(first)];
        loop {
            if self.eat(Tok::Dot) {
                elements.push(PathElement::Attr(self.name()?));
            } else if self.peek().tok == Tok::LBracket {
                self.pos += 1;
                let t = self.next();
                let index = match &t.tok {
                    Tok::Num(n) if n.bytes().all(|b| b.is_ascii_digit()) => n.parse::<usize>().ok(),
                    _ => None,
                };
                let Some(index) = index else {
                    return Err(self.unexpected(&t));
                };
                self.expect(Tok::RBracket)?;
                elements.push(PathElement::Index(index));
            } else {
                return Ok(DocumentPath(elements));
            }
        }
    }

    fn select(&mut self) -> Parsed<Select> {
        self.expect_word("SELECT")?;
        let projection = if self.eat(Tok::Star) {
            None
        } else {
            let mut paths = vec![self.selected()?];
            while self.eat(Tok::Comma) {
                paths.push(self.selected()?);
            }
            Some(paths)
        };
        self.expect_from("SELECT list")?;
        let (table, index) = self.table(false)?;
        if self.peek().tok == Tok::Comma {
            let t = self.peek().clone();
            return Err(plain(
                &t,
                "Only select from a single table or index is supported.",
            ));
        }
        let filter = if self.eat_word("WHERE") {
            Some(self.expr()?)
        } else {
            None
        };
        for clause in ["LIMIT", "GROUP", "HAVING", "OFFSET"] {
            if self.peek().is_word(clause) {
                self.pos += 1;
                let at = self.peek().clone();
                return Err(plain(
                    &at,
                    &format!(
                        "Unsupported clause: {clause} at {}:{}:{}",
                        at.line, at.column, at.len
                    ),
                ));
            }
        }
        let mut order = Vec::new();
        if self.eat_word("ORDER") {
            self.expect_word("BY")?;
            loop {
                let path = self.path()?;
                let desc = if self.eat_word("DESC") {
                    true
                } else {
                    self.eat_word("ASC");
                    false
                };
                order.push((path, desc));
                if !self.eat(Tok::Comma) {
                    break;
                }
            }
        }
        Ok(Select {
            projection,
            table,
            index,
            filter,
            order,
        })
    }

    fn insert(&mut self) -> Parsed<Statement> {
        self.expect_word("INSERT")?;
        self.expect_word("INTO")?;
        let at = self.peek().clone();
        let (table, index) = self.table(true)?;
        if index.is_some() {
            return Err(plain(
                &at,
                "FROM clause may only contain a single table name in data manipulation statements",
            ));
        }
        self.expect_word("VALUE")?;
        let value = self.expr()?;
        Ok(Statement::Insert(Insert { table, value }))
    }

    fn update(&mut self) -> Parsed<Statement> {
        self.expect_word("UPDATE")?;
        let table = self.dml_table()?;
        let mut actions = Vec::new();
        loop {
            if self.eat_word("SET") {
                loop {
                    let path = self.path()?;
                    let t = self.next();
                    if t.tok != Tok::Eq {
                        return Err(SyntaxError::at(t.line, t.column, "Expected '='"));
                    }
                    actions.push(Action::Set(path, self.expr()?));
                    if !self.eat(Tok::Comma) {
                        break;
                    }
                }
            } else if self.eat_word("REMOVE") {
                loop {
                    actions.push(Action::Remove(self.path()?));
                    if !self.eat(Tok::Comma) {
                        break;
                    }
                }
            } else {
                break;
            }
        }
        if actions.is_empty() {
            let t = self.peek().clone();
            return Err(self.unexpected(&t));
        }
        self.expect_word("WHERE")?;
        let filter = self.expr()?;
        let returning = self.returning()?;
        Ok(Statement::Update(Update {
            table,
            actions,
            filter,
            returning,
        }))
    }

    fn delete(&mut self) -> Parsed<Statement> {
        self.expect_word("DELETE")?;
        self.expect_from("DELETE")?;
        let table = self.dml_table()?;
        self.expect_word("WHERE")?;
        let filter = self.expr()?;
        let returning = self.returning()?;
        Ok(Statement::Delete(Delete {
            table,
            filter,
            returning,
        }))
    }

    /// The table an UPDATE or DELETE writes: never an index.
    fn dml_table(&mut self) -> Parsed<String> {
        let at = self.peek().clone();
        let (table, index) = self.table(true)?;
        if index.is_some() {
            return Err(plain(&at, "This operation is not supported on an index"));
        }
        Ok(table)
    }

    fn returning(&mut self) -> Parsed<Option<Returning>> {
        if !self.eat_word("RETURNING") {
            return Ok(None);
        }
        let all = if self.eat_word("ALL") {
            true
        } else {
            self.expect_word("MODIFIED")?;
            false
        };
        let old = if self.eat_word("OLD") {
            true
        } else {
            self.expect_word("NEW")?;
            false
        };
        self.expect(Tok::Star)?;
        Ok(Some(match (all, old) {
            (true, true) => Returning::AllOld,
            (false, true) => Returning::ModifiedOld,
            (true, false) => Returning::AllNew,
            (false, false) => Returning::ModifiedNew,
        }))
    }

    fn expr(&mut self) -> Parsed<Expr> {
        self.enter()?;
        let e = self.or();
        self.depth -= 1;
        e
    }

    fn or(&mut self) -> Parsed<Expr> {
        let mut parts = vec![self.and()?];
        while self.eat_word("OR") {
            self.right_hand_side()?;
            parts.push(self.and()?);
        }
        self.joined(parts, Expr::Or)
    }

    fn and(&mut self) -> Parsed<Expr> {
        let mut parts = vec![self.not()?];
        while self.eat_word("AND") {
            self.right_hand_side()?;
            parts.push(self.not()?);
        }
        self.joined(parts, Expr::And)
    }

    fn joined(&self, parts: Vec<Expr>, join: fn(Box<Expr>, Box<Expr>) -> Expr) -> Parsed<Expr> {
        balanced(parts, join).ok_or_else(|| self.unexpected(self.peek()))
    }

    /// An infix operator with nothing after it.
    fn right_hand_side(&self) -> Parsed<()> {
        let t = self.peek();
        if t.tok == Tok::Eof {
            return Err(SyntaxError::at(
                t.line,
                t.column,
                "Missing right-hand side expression of infix operator",
            ));
        }
        Ok(())
    }

    fn not(&mut self) -> Parsed<Expr> {
        if self.eat_word("NOT") {
            self.enter()?;
            let inner = self.not();
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner?)));
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Parsed<Expr> {
        let left = self.sum()?;
        let t = self.peek().clone();
        let cmp = match t.tok {
            Tok::Eq => Some(Comparator::Eq),
            Tok::Ne => Some(Comparator::Ne),
            Tok::Lt => Some(Comparator::Lt),
            Tok::Le => Some(Comparator::Le),
            Tok::Gt => Some(Comparator::Gt),
            Tok::Ge => Some(Comparator::Ge),
            _ => None,
        };
        if let Some(cmp) = cmp {
            self.pos += 1;
            let right = self.sum()?;
            return Ok(Expr::Compare(cmp, Box::new(left), Box::new(right)));
        }
        let negated = t.is_word("NOT")
            && (self.peek_at(1).is_word("IN") || self.peek_at(1).is_word("BETWEEN"));
        if negated {
            self.pos += 1;
        }
        let wrap = |e: Expr| if negated { Expr::Not(Box::new(e)) } else { e };
        if self.eat_word("IN") {
            let list = self.in_list()?;
            return Ok(wrap(Expr::In(Box::new(left), list)));
        }
        if self.eat_word("BETWEEN") {
            let low = self.sum()?;
            self.expect_word("AND")?;
            let high = self.sum()?;
            return Ok(wrap(Expr::Between(
                Box::new(left),
                Box::new(low),
                Box::new(high),
            )));
        }
        if self.eat_word("IS") {
            let negated = self.eat_word("NOT");
            let t = self.next();
            let what = match &t.tok {
                Tok::Word(w) => match w.to_ascii_uppercase().as_str() {
                    "NULL" => Absence::Null,
                    "MISSING" => Absence::Missing,
                    "BOOLEAN" | "BOOL" => Absence::Type("BOOL"),
                    "NUMERIC" => Absence::Type("N"),
                    "STRING" => Absence::Type("S"),
                    "BLOB" => Absence::Type("B"),
                    "STRUCT" | "TUPLE" => Absence::Type("M"),
                    "LIST" => Absence::Type("L"),
                    _ => return Err(SyntaxError::at(t.line, t.column, "Expected type name")),
                },
                _ => return Err(SyntaxError::at(t.line, t.column, "Expected type name")),
            };
            return Ok(Expr::Is {
                expr: Box::new(left),
                what,
                negated,
            });
        }
        Ok(left)
    }

    /// `IN` takes a list in brackets or parentheses.
    fn in_list(&mut self) -> Parsed<Vec<Expr>> {
        let close = if self.eat(Tok::LParen) {
            Tok::RParen
        } else {
            self.expect(Tok::LBracket)?;
            Tok::RBracket
        };
        let items = self.items(close)?;
        Ok(items)
    }

    /// Comma-separated expressions up to `close` (consumed); may be empty.
    fn items(&mut self, close: Tok) -> Parsed<Vec<Expr>> {
        let mut items = Vec::new();
        if self.eat(close.clone()) {
            return Ok(items);
        }
        loop {
            items.push(self.expr()?);
            if self.eat(close.clone()) {
                return Ok(items);
            }
            self.expect(Tok::Comma)?;
        }
    }

    fn sum(&mut self) -> Parsed<Expr> {
        let mut left = self.unary()?;
        let mut terms = 1;
        loop {
            let op = match self.peek().tok {
                Tok::Plus => Arith::Plus,
                Tok::Minus => Arith::Minus,
                _ => return Ok(left),
            };
            terms += 1;
            if terms > MAX_DEPTH {
                let t = self.peek();
                return Err(SyntaxError::at(
                    t.line,
                    t.column,
                    "Statement nesting exceeds the maximum depth",
                ));
            }
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::Arith(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Parsed<Expr> {
        let t = self.peek().clone();
        if t.tok == Tok::Minus || t.tok == Tok::Plus {
            self.pos += 1;
            let n = self.next();
            let Tok::Num(text) = &n.tok else {
                return Err(self.unexpected(&n));
            };
            let text = if t.tok == Tok::Minus {
                format!("-{text}")
            } else {
                text.clone()
            };
            return number(&n, &text);
        }
        self.primary()
    }

    fn primary(&mut self) -> Parsed<Expr> {
        let t = self.next();
        match &t.tok {
            Tok::Str(s) => Ok(Expr::Value(AttributeValue::S(s.clone()))),
            Tok::Num(n) => number(&t, n),
            Tok::Param => {
                self.params += 1;
                Ok(Expr::Param(self.params - 1))
            }
            Tok::LParen => {
                let e = self.expr()?;
                self.expect(Tok::RParen)?;
                Ok(e)
            }
            Tok::LBrace => {
                self.enter()?;
                let mut members = Vec::new();
                if !self.eat(Tok::RBrace) {
                    loop {
                        let k = self.next();
                        let Tok::Str(key) = &k.tok else {
                            return Err(self.unexpected(&k));
                        };
                        self.expect(Tok::Colon)?;
                        members.push((key.clone(), self.expr()?));
                        if self.eat(Tok::RBrace) {
                            break;
                        }
                        self.expect(Tok::Comma)?;
                    }
                }
                self.depth -= 1;
                Ok(Expr::Map(members))
            }
            Tok::LBracket => {
                self.enter()?;
                let items = self.items(Tok::RBracket)?;
                self.depth -= 1;
                Ok(Expr::List(items))
            }
            Tok::LBag => {
                self.enter()?;
                let items = self.items(Tok::RBag)?;
                self.depth -= 1;
                Ok(Expr::Bag(items))
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("TRUE") => {
                Ok(Expr::Value(AttributeValue::Bool(true)))
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("FALSE") => {
                Ok(Expr::Value(AttributeValue::Bool(false)))
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("NULL") => Ok(Expr::Value(AttributeValue::Null)),
            Tok::Word(w) if w.eq_ignore_ascii_case("MISSING") => Ok(Expr::Missing),
            Tok::Word(w) if self.peek().tok == Tok::LParen => {
                let name = w.to_ascii_lowercase();
                self.pos += 1;
                self.enter()?;
                let args = self.items(Tok::RParen)?;
                self.depth -= 1;
                Ok(Expr::Call(name, args))
            }
            Tok::Word(w) if !is_reserved(w) => Ok(Expr::Path(self.path_from(w.clone())?)),
            Tok::Quoted(q) => {
                if q.is_empty() {
                    return Err(plain(&t, "Path component cannot be an empty string"));
                }
                Ok(Expr::Path(self.path_from(q.clone())?))
            }
            _ => Err(self.unexpected(&t)),
        }
    }
}

/// `a AND b AND c ...` as a balanced tree, in order: the same conjunction as a chain, but
/// a long one stays shallow, so nothing that walks it recursively can run out of stack.
/// `None` for no parts.
pub(crate) fn balanced<T>(mut parts: Vec<T>, join: fn(Box<T>, Box<T>) -> T) -> Option<T> {
    match parts.len() {
        0 | 1 => parts.pop(),
        n => {
            let right = parts.split_off(n / 2);
            Some(join(
                Box::new(balanced(parts, join)?),
                Box::new(balanced(right, join)?),
            ))
        }
    }
}

/// Words that are operators: where a term should start they are DynamoDB's "Unexpected
/// operator".
const OPERATOR_WORDS: &[&str] = &["AND", "OR", "IS", "IN", "BETWEEN", "LIKE"];

/// A construct DynamoDB refuses with its own message, outside the syntax envelope.
fn plain(t: &Token, detail: &str) -> SyntaxError {
    SyntaxError {
        plain: true,
        ..SyntaxError::at(t.line, t.column, detail)
    }
}

/// A numeric literal, as DynamoDB reads numbers.
fn number(t: &Token, text: &str) -> Parsed<Expr> {
    match Number::parse(text) {
        Ok(n) => Ok(Expr::Value(AttributeValue::N(n))),
        Err(e) => Err(SyntaxError::at(
            t.line,
            t.column,
            format!("Invalid number [{text}]: {e}"),
        )),
    }
}
