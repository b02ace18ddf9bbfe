//! Tokens of DynamoDB's expression grammar. The rules mirror what DynamoDB's own lexer does,
//! as seen through its syntax errors: identifiers start with a letter, `#name`/`:value`
//! placeholders take letters, digits and `_`, list indexes are `0` or digits without a leading
//! zero, and any other character is a one-character token the parser then rejects.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Keyword {
    And,
    Or,
    Not,
    Between,
    In,
    Set,
    Remove,
    Add,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Ident,
    Keyword(Keyword),
    /// `#name`
    Name,
    /// `:value`
    Value,
    /// Decimal digits (a list index).
    Number,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Plus,
    Minus,
    /// Any character the grammar has no use for.
    Other,
    Eof,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

fn keyword(word: &str) -> Option<Keyword> {
    const WORDS: [(&str, Keyword); 9] = [
        ("AND", Keyword::And),
        ("OR", Keyword::Or),
        ("NOT", Keyword::Not),
        ("BETWEEN", Keyword::Between),
        ("IN", Keyword::In),
        ("SET", Keyword::Set),
        ("REMOVE", Keyword::Remove),
        ("ADD", Keyword::Add),
        ("DELETE", Keyword::Delete),
    ];
    WORDS
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(word))
        .map(|&(_, k)| k)
}

fn is_word_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Splits `src` into tokens; the last token is always `Eof` at `src.len()`.
pub(crate) fn tokenize(src: &str) -> Vec<Token> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
            continue;
        }
        let start = i;
        let tok = match c {
            b'a'..=b'z' | b'A'..=b'Z' => {
                while bytes.get(i).is_some_and(|&b| is_word_char(b)) {
                    i += 1;
                }
                match keyword(&src[start..i]) {
                    Some(k) => Tok::Keyword(k),
                    None => Tok::Ident,
                }
            }
            b'#' | b':' => {
                i += 1;
                while bytes.get(i).is_some_and(|&b| is_word_char(b)) {
                    i += 1;
                }
                if i == start + 1 {
                    Tok::Other
                } else if c == b'#' {
                    Tok::Name
                } else {
                    Tok::Value
                }
            }
            b'0' => {
                i += 1;
                Tok::Number
            }
            b'1'..=b'9' => {
                while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                Tok::Number
            }
            _ => {
                let two = bytes.get(i + 1).copied();
                let (t, len) = match (c, two) {
                    (b'<', Some(b'>')) => (Tok::Ne, 2),
                    (b'<', Some(b'=')) => (Tok::Le, 2),
                    (b'>', Some(b'=')) => (Tok::Ge, 2),
                    (b'=', _) => (Tok::Eq, 1),
                    (b'<', _) => (Tok::Lt, 1),
                    (b'>', _) => (Tok::Gt, 1),
                    (b'(', _) => (Tok::LParen, 1),
                    (b')', _) => (Tok::RParen, 1),
                    (b'[', _) => (Tok::LBracket, 1),
                    (b']', _) => (Tok::RBracket, 1),
                    (b',', _) => (Tok::Comma, 1),
                    (b'.', _) => (Tok::Dot, 1),
                    (b'+', _) => (Tok::Plus, 1),
                    (b'-', _) => (Tok::Minus, 1),
                    _ => {
                        // One whole character, however many bytes it takes.
                        let len = src[i..].chars().next().map_or(1, char::len_utf8);
                        (Tok::Other, len)
                    }
                };
                i += len;
                t
            }
        };
        out.push(Token { tok, start, end: i });
    }
    out.push(Token {
        tok: Tok::Eof,
        start: src.len(),
        end: src.len(),
    });
    out
}
