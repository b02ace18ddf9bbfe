//! Tokens of DynamoDB's PartiQL: identifiers (bare, or double-quoted with `""` for a quote),
//! strings in single quotes (`''` for a quote), numbers kept as their text (DynamoDB's
//! numbers have 38 digits, more than any machine type), `?` parameters, and punctuation.
//! Every token knows its line and column (1-based). What the lexer refuses (an unknown
//! character such as `#`, an unterminated string or comment) is a syntax error with no
//! detail, as DynamoDB's lexer answers it.

use super::error::SyntaxError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// A bare identifier or keyword, as written.
    Word(String),
    /// A double-quoted identifier, unescaped.
    Quoted(String),
    /// A single-quoted string, unescaped.
    Str(String),
    /// A numeric literal's text (no sign).
    Num(String),
    Param,
    Star,
    Comma,
    Dot,
    Colon,
    Semicolon,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    LBag,
    RBag,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Eof,
}

/// A token and where it starts.
#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub line: usize,
    pub column: usize,
    /// Its length in characters.
    pub len: usize,
}

impl Token {
    /// A bare word equal to `keyword`, ignoring case.
    pub fn is_word(&self, keyword: &str) -> bool {
        matches!(&self.tok, Tok::Word(w) if w.eq_ignore_ascii_case(keyword))
    }
}

/// Walks the statement's characters, counting lines and columns.
struct Cursor {
    chars: Vec<char>,
    i: usize,
    line: usize,
    column: usize,
}

impl Cursor {
    fn at(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).copied()
    }

    fn bump(&mut self) {
        if self.at(0) == Some('\n') {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        self.i += 1;
    }

    fn bump_n(&mut self, n: usize) {
        (0..n).for_each(|_| self.bump());
    }

    /// Takes characters while `keep` holds.
    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let mut out = String::new();
        while let Some(c) = self.at(0).filter(|c| keep(*c)) {
            out.push(c);
            self.bump();
        }
        out
    }
}

/// Splits `src` into tokens, ending with [`Tok::Eof`].
pub fn tokenize(src: &str) -> Result<Vec<Token>, SyntaxError> {
    let mut cur = Cursor {
        chars: src.chars().collect(),
        i: 0,
        line: 1,
        column: 1,
    };
    let mut out = Vec::new();
    while let Some(c) = cur.at(0) {
        let (line, column, start) = (cur.line, cur.column, cur.i);
        let fail = || SyntaxError::at(line, column, "");
        if c.is_whitespace() {
            cur.bump();
            continue;
        }
        // Comments: `-- to end of line` and `/* ... */`.
        if c == '-' && cur.at(1) == Some('-') {
            cur.take_while(|c| c != '\n');
            continue;
        }
        if c == '/' && cur.at(1) == Some('*') {
            cur.bump_n(2);
            loop {
                match (cur.at(0), cur.at(1)) {
                    (None, _) => return Err(fail()),
                    (Some('*'), Some('/')) => {
                        cur.bump_n(2);
                        break;
                    }
                    _ => cur.bump(),
                }
            }
            continue;
        }
        let word_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
        let tok = if c.is_ascii_alphabetic() || c == '_' || c == '$' {
            Tok::Word(cur.take_while(word_char))
        } else if c == '"' || c == '\'' {
            let mut text = String::new();
            cur.bump();
            loop {
                match (cur.at(0), cur.at(1)) {
                    (None, _) => return Err(fail()),
                    (Some(q), Some(again)) if q == c && again == c => {
                        text.push(c);
                        cur.bump_n(2);
                    }
                    (Some(q), _) if q == c => {
                        cur.bump();
                        break;
                    }
                    (Some(other), _) => {
                        text.push(other);
                        cur.bump();
                    }
                }
            }
            if c == '"' {
                Tok::Quoted(text)
            } else {
                Tok::Str(text)
            }
        } else if c.is_ascii_digit() || (c == '.' && cur.at(1).is_some_and(|d| d.is_ascii_digit()))
        {
            let mut text = cur.take_while(|c| c.is_ascii_digit());
            if cur.at(0) == Some('.') {
                cur.bump();
                text.push('.');
                text.push_str(&cur.take_while(|c| c.is_ascii_digit()));
            }
            if let Some(e @ ('e' | 'E')) = cur.at(0) {
                let signed = matches!(cur.at(1), Some('+' | '-'));
                let digit_at = if signed { 2 } else { 1 };
                if cur.at(digit_at).is_some_and(|d| d.is_ascii_digit()) {
                    text.push(e);
                    if let (true, Some(sign)) = (signed, cur.at(1)) {
                        text.push(sign);
                    }
                    cur.bump_n(digit_at);
                    text.push_str(&cur.take_while(|c| c.is_ascii_digit()));
                }
            }
            Tok::Num(text)
        } else {
            let (tok, n) = match (c, cur.at(1)) {
                ('<', Some('<')) => (Tok::LBag, 2),
                ('>', Some('>')) => (Tok::RBag, 2),
                ('<', Some('>')) => (Tok::Ne, 2),
                ('!', Some('=')) => (Tok::Ne, 2),
                ('<', Some('=')) => (Tok::Le, 2),
                ('>', Some('=')) => (Tok::Ge, 2),
                ('<', _) => (Tok::Lt, 1),
                ('>', _) => (Tok::Gt, 1),
                ('=', _) => (Tok::Eq, 1),
                ('?', _) => (Tok::Param, 1),
                ('*', _) => (Tok::Star, 1),
                (',', _) => (Tok::Comma, 1),
                ('.', _) => (Tok::Dot, 1),
                (':', _) => (Tok::Colon, 1),
                (';', _) => (Tok::Semicolon, 1),
                ('(', _) => (Tok::LParen, 1),
                (')', _) => (Tok::RParen, 1),
                ('[', _) => (Tok::LBracket, 1),
                (']', _) => (Tok::RBracket, 1),
                ('{', _) => (Tok::LBrace, 1),
                ('}', _) => (Tok::RBrace, 1),
                ('+', _) => (Tok::Plus, 1),
                ('-', _) => (Tok::Minus, 1),
                _ => return Err(fail()),
            };
            cur.bump_n(n);
            tok
        };
        out.push(Token {
            tok,
            line,
            column,
            len: cur.i - start,
        });
    }
    out.push(Token {
        tok: Tok::Eof,
        line: cur.line,
        column: cur.column,
        len: 0,
    });
    Ok(out)
}
