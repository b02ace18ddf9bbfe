//! Recursive-descent parser producing a raw tree: placeholders still unresolved and attribute
//! names still raw text, so that the validator can apply DynamoDB's checks in DynamoDB's order.
//! Syntax errors carry the offending token; their message follows DynamoDB's form
//! `Syntax error; token: "<tok>", near: "<prev tok … next tok>"`.

use super::lexer::{tokenize, Keyword, Tok, Token};

/// Deepest nesting of parentheses/function calls the parser follows. No valid expression
/// gets close (each level needs an operator, and at most 300 are allowed); the bound keeps
/// hostile input from exhausting the stack.
const MAX_DEPTH: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawElem {
    /// A bare attribute name, as written.
    Ident(String),
    /// `#name` placeholder.
    Name(String),
    /// `[digits]`, as written (range-checked later).
    Index(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawPath(pub Vec<RawElem>);

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawOperand {
    Path(RawPath),
    /// `:value` placeholder.
    Value(String),
    Func(String, Vec<RawOperand>),
    Paren(Box<RawOperand>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparator {
    pub fn symbol(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "<>",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawCond {
    Compare(Comparator, RawOperand, RawOperand),
    Between(RawOperand, RawOperand, RawOperand),
    In(RawOperand, Vec<RawOperand>),
    Call(String, Vec<RawOperand>),
    And(Box<RawCond>, Box<RawCond>),
    Or(Box<RawCond>, Box<RawCond>),
    Not(Box<RawCond>),
    Paren(Box<RawCond>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawSetValue {
    Operand(RawOperand),
    Plus(RawOperand, RawOperand),
    Minus(RawOperand, RawOperand),
    Paren(Box<RawSetValue>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawAction {
    Set(RawPath, RawSetValue),
    Remove(RawPath),
    Add(RawPath, String),
    Delete(RawPath, String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawClause {
    pub keyword: Keyword,
    pub actions: Vec<RawAction>,
}

/// Why the parser stopped; rendered by [`Parser::message`].
#[derive(Debug)]
pub(crate) enum ParseFail {
    Syntax(usize),
    TooDeep,
}

/// What a parenthesised group or a predicate start turned out to be.
enum Atom {
    Cond(RawCond),
    Op(RawOperand),
}

pub(crate) struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    /// Operators seen (DynamoDB's 300-operator limit).
    pub operators: usize,
}

type PResult<T> = Result<T, ParseFail>;

impl<'a> Parser<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Parser {
            src,
            toks: tokenize(src),
            pos: 0,
            depth: 0,
            operators: 0,
        }
    }

    /// DynamoDB's message for a failure of this parser.
    pub(crate) fn message(&self, fail: &ParseFail) -> String {
        match fail {
            ParseFail::Syntax(i) => self.syntax_message(*i),
            ParseFail::TooDeep => {
                if self.rough_operator_count() > 300 {
                    "The expression contains too many operators; operator count: 301".to_string()
                } else {
                    "The expression has redundant parentheses;".to_string()
                }
            }
        }
    }

    fn syntax_message(&self, i: usize) -> String {
        let Some(tok) = self.toks.get(i) else {
            return "Syntax error; token: \"<EOF>\", near: \"\"".to_string();
        };
        let text = if tok.tok == Tok::Eof {
            "<EOF>"
        } else {
            self.src.get(tok.start..tok.end).unwrap_or("")
        };
        let start = if i == 0 {
            0
        } else {
            self.toks.get(i - 1).map_or(0, |t| t.start)
        };
        let end = self.toks.get(i + 1).map_or(tok.end, |t| t.end.max(tok.end));
        let near = self.src.get(start..end).unwrap_or("");
        format!("Syntax error; token: \"{text}\", near: \"{near}\"")
    }

    fn rough_operator_count(&self) -> usize {
        let mut n = 0;
        for (i, t) in self.toks.iter().enumerate() {
            let is_op = match t.tok {
                Tok::Keyword(k) => matches!(
                    k,
                    Keyword::And | Keyword::Or | Keyword::Not | Keyword::Between | Keyword::In
                ),
                Tok::Eq
                | Tok::Ne
                | Tok::Lt
                | Tok::Le
                | Tok::Gt
                | Tok::Ge
                | Tok::Plus
                | Tok::Minus => true,
                Tok::Ident => self.toks.get(i + 1).is_some_and(|n| n.tok == Tok::LParen),
                _ => false,
            };
            n += usize::from(is_op);
        }
        n
    }

    fn peek(&self) -> &Tok {
        self.toks.get(self.pos).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn peek_at(&self, off: usize) -> &Tok {
        self.toks.get(self.pos + off).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn text(&self, i: usize) -> String {
        self.toks
            .get(i)
            .and_then(|t| self.src.get(t.start..t.end))
            .unwrap_or("")
            .to_string()
    }

    fn fail<T>(&self) -> PResult<T> {
        Err(ParseFail::Syntax(self.pos))
    }

    fn expect(&mut self, t: Tok) -> PResult<()> {
        if *self.peek() == t {
            self.pos += 1;
            Ok(())
        } else {
            self.fail()
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseFail::TooDeep);
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    // ---- document paths and operands -------------------------------------------------

    fn parse_path(&mut self) -> PResult<RawPath> {
        let mut elems = vec![self.parse_path_name()?];
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.pos += 1;
                    elems.push(self.parse_path_name()?);
                }
                Tok::LBracket => {
                    self.pos += 1;
                    if *self.peek() != Tok::Number {
                        return self.fail();
                    }
                    elems.push(RawElem::Index(self.text(self.pos)));
                    self.pos += 1;
                    self.expect(Tok::RBracket)?;
                }
                _ => return Ok(RawPath(elems)),
            }
        }
    }

    fn parse_path_name(&mut self) -> PResult<RawElem> {
        let e = match self.peek() {
            Tok::Ident => RawElem::Ident(self.text(self.pos)),
            Tok::Name => RawElem::Name(self.text(self.pos)),
            _ => return self.fail(),
        };
        self.pos += 1;
        Ok(e)
    }

    /// path | :value | name(operand, …) | ( operand )
    fn parse_operand(&mut self) -> PResult<RawOperand> {
        self.enter()?;
        let r = self.parse_operand_inner();
        self.leave();
        r
    }

    fn parse_operand_inner(&mut self) -> PResult<RawOperand> {
        match self.peek() {
            Tok::Value => {
                let v = self.text(self.pos);
                self.pos += 1;
                Ok(RawOperand::Value(v))
            }
            Tok::LParen => {
                self.pos += 1;
                let inner = self.parse_operand()?;
                self.expect(Tok::RParen)?;
                Ok(RawOperand::Paren(Box::new(inner)))
            }
            Tok::Ident if *self.peek_at(1) == Tok::LParen => self.parse_call(),
            _ => Ok(RawOperand::Path(self.parse_path()?)),
        }
    }

    fn parse_call(&mut self) -> PResult<RawOperand> {
        let name = self.text(self.pos);
        self.pos += 2; // name and '('
        self.operators += 1;
        let mut args = vec![self.parse_operand()?];
        while *self.peek() == Tok::Comma {
            self.pos += 1;
            args.push(self.parse_operand()?);
        }
        self.expect(Tok::RParen)?;
        Ok(RawOperand::Func(name, args))
    }

    // ---- conditions ------------------------------------------------------------------

    pub(crate) fn parse_condition(&mut self) -> PResult<RawCond> {
        let atom = self.parse_or(false)?;
        let cond = self.to_cond(atom)?;
        if *self.peek() != Tok::Eof {
            return self.fail();
        }
        Ok(cond)
    }

    /// A parenthesised function call used as a condition (`(attribute_exists(a))`) is a
    /// condition; any other lone operand is a syntax error at the current token.
    fn to_cond(&self, atom: Atom) -> PResult<RawCond> {
        fn convert(op: RawOperand) -> Option<RawCond> {
            match op {
                RawOperand::Func(name, args) => Some(RawCond::Call(name, args)),
                RawOperand::Paren(inner) => convert(*inner).map(|c| RawCond::Paren(Box::new(c))),
                _ => None,
            }
        }
        match atom {
            Atom::Cond(c) => Ok(c),
            Atom::Op(op) => match convert(op) {
                Some(c) => Ok(c),
                None => self.fail(),
            },
        }
    }

    fn parse_or(&mut self, allow_operand: bool) -> PResult<Atom> {
        let mut left = self.parse_and(allow_operand)?;
        while *self.peek() == Tok::Keyword(Keyword::Or) {
            let l = self.to_cond(left)?;
            self.pos += 1;
            self.operators += 1;
            let r = self.parse_and(false)?;
            let r = self.to_cond(r)?;
            left = Atom::Cond(RawCond::Or(Box::new(l), Box::new(r)));
        }
        Ok(left)
    }

    fn parse_and(&mut self, allow_operand: bool) -> PResult<Atom> {
        let mut left = self.parse_not(allow_operand)?;
        while *self.peek() == Tok::Keyword(Keyword::And) {
            let l = self.to_cond(left)?;
            self.pos += 1;
            self.operators += 1;
            let r = self.parse_not(false)?;
            let r = self.to_cond(r)?;
            left = Atom::Cond(RawCond::And(Box::new(l), Box::new(r)));
        }
        Ok(left)
    }

    fn parse_not(&mut self, allow_operand: bool) -> PResult<Atom> {
        let mut nots = 0usize;
        while *self.peek() == Tok::Keyword(Keyword::Not) {
            self.pos += 1;
            self.operators += 1;
            nots += 1;
        }
        if nots == 0 {
            return self.parse_predicate(allow_operand);
        }
        let inner = self.parse_predicate(false)?;
        let mut c = self.to_cond(inner)?;
        for _ in 0..nots {
            c = RawCond::Not(Box::new(c));
        }
        Ok(Atom::Cond(c))
    }

    fn parse_predicate(&mut self, allow_operand: bool) -> PResult<Atom> {
        let first = self.parse_primary()?;
        let op = match first {
            Atom::Cond(c) => return Ok(Atom::Cond(c)),
            Atom::Op(op) => op,
        };
        let cmp = match self.peek() {
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
            self.operators += 1;
            let right = self.parse_operand()?;
            return Ok(Atom::Cond(RawCond::Compare(cmp, op, right)));
        }
        match self.peek() {
            Tok::Keyword(Keyword::Between) => {
                self.pos += 1;
                self.operators += 1;
                let lo = self.parse_operand()?;
                self.expect(Tok::Keyword(Keyword::And))?;
                let hi = self.parse_operand()?;
                Ok(Atom::Cond(RawCond::Between(op, lo, hi)))
            }
            Tok::Keyword(Keyword::In) => {
                self.pos += 1;
                self.operators += 1;
                self.expect(Tok::LParen)?;
                let mut list = vec![self.parse_operand()?];
                while *self.peek() == Tok::Comma {
                    self.pos += 1;
                    list.push(self.parse_operand()?);
                }
                self.expect(Tok::RParen)?;
                Ok(Atom::Cond(RawCond::In(op, list)))
            }
            _ if allow_operand => Ok(Atom::Op(op)),
            _ => self.to_cond(Atom::Op(op)).map(Atom::Cond),
        }
    }

    /// `( condition-or-operand )`, or an operand.
    fn parse_primary(&mut self) -> PResult<Atom> {
        if *self.peek() != Tok::LParen {
            return Ok(Atom::Op(self.parse_operand()?));
        }
        self.enter()?;
        self.pos += 1;
        let inner = self.parse_or(true);
        self.leave();
        let inner = inner?;
        self.expect(Tok::RParen)?;
        Ok(match inner {
            Atom::Cond(c) => Atom::Cond(RawCond::Paren(Box::new(c))),
            Atom::Op(o) => Atom::Op(RawOperand::Paren(Box::new(o))),
        })
    }

    // ---- update expressions ------------------------------------------------------------

    pub(crate) fn parse_update(&mut self) -> PResult<Vec<RawClause>> {
        let mut clauses = Vec::new();
        loop {
            let keyword = match self.peek() {
                Tok::Keyword(
                    k @ (Keyword::Set | Keyword::Remove | Keyword::Add | Keyword::Delete),
                ) => *k,
                Tok::Eof if !clauses.is_empty() => return Ok(clauses),
                _ => return self.fail(),
            };
            self.pos += 1;
            let mut actions = vec![self.parse_action(keyword)?];
            while *self.peek() == Tok::Comma {
                self.pos += 1;
                actions.push(self.parse_action(keyword)?);
            }
            clauses.push(RawClause { keyword, actions });
        }
    }

    fn parse_action(&mut self, keyword: Keyword) -> PResult<RawAction> {
        let path = self.parse_path()?;
        match keyword {
            Keyword::Set => {
                self.expect(Tok::Eq)?;
                let v = self.parse_set_value()?;
                Ok(RawAction::Set(path, v))
            }
            Keyword::Remove => Ok(RawAction::Remove(path)),
            _ => {
                if *self.peek() != Tok::Value {
                    return self.fail();
                }
                let v = self.text(self.pos);
                self.pos += 1;
                Ok(if keyword == Keyword::Add {
                    RawAction::Add(path, v)
                } else {
                    RawAction::Delete(path, v)
                })
            }
        }
    }

    /// term [(+|-) term], where a term is an operand or a parenthesised set value.
    fn parse_set_value(&mut self) -> PResult<RawSetValue> {
        self.enter()?;
        let r = self.parse_set_value_inner();
        self.leave();
        r
    }

    fn parse_set_value_inner(&mut self) -> PResult<RawSetValue> {
        let left = self.parse_set_term()?;
        let plus = match self.peek() {
            Tok::Plus => true,
            Tok::Minus => false,
            _ => return Ok(left),
        };
        let RawSetValue::Operand(l) = left else {
            return self.fail();
        };
        self.pos += 1;
        self.operators += 1;
        let right = match self.parse_set_term()? {
            RawSetValue::Operand(r) => r,
            _ => return self.fail(),
        };
        Ok(if plus {
            RawSetValue::Plus(l, right)
        } else {
            RawSetValue::Minus(l, right)
        })
    }

    fn parse_set_term(&mut self) -> PResult<RawSetValue> {
        if *self.peek() != Tok::LParen {
            return Ok(RawSetValue::Operand(self.parse_operand()?));
        }
        self.pos += 1;
        let inner = self.parse_set_value()?;
        self.expect(Tok::RParen)?;
        Ok(match inner {
            RawSetValue::Operand(o) => RawSetValue::Operand(RawOperand::Paren(Box::new(o))),
            other => RawSetValue::Paren(Box::new(other)),
        })
    }

    // ---- projections -------------------------------------------------------------------

    pub(crate) fn parse_projection(&mut self) -> PResult<Vec<RawPath>> {
        let mut paths = vec![self.parse_path()?];
        while *self.peek() == Tok::Comma {
            self.pos += 1;
            paths.push(self.parse_path()?);
        }
        if *self.peek() != Tok::Eof {
            return self.fail();
        }
        Ok(paths)
    }
}
