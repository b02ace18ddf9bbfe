//! IAM's `*` / `?` glob matching, shared by Action, Resource, StringLike and the ARN segments of ArnLike.
//!
//! Patterns are token lists rather than strings because literal-ness is decided when the policy is
//! compiled: `${*}` and substituted variable values are literal text even though they may contain `*`.
//! Matching is the iterative two-pointer algorithm that only ever backtracks to the most recent `*`,
//! so a hostile pattern such as `a*a*a*a*b` cannot make evaluation exponential.

/// One element of a compiled glob. `S` is `Box<str>` for patterns compiled once at parse time and
/// `&str` for patterns assembled per request from policy variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token<S> {
    /// Text matched literally (bytewise, or ASCII case-insensitively for actions).
    Lit(S),
    /// `*`: any run of characters, including none.
    Star,
    /// `?`: exactly one character.
    One,
}

/// A glob compiled at parse time, with fast paths for the shapes policies use most.
#[derive(Debug, Clone)]
pub(crate) enum Glob {
    /// `*` alone: matches everything.
    Any,
    /// No wildcards.
    Exact(Box<str>),
    /// `prefix*`, e.g. `dynamodb:Get*`.
    Prefix(Box<str>),
    /// Anything else.
    Tokens(Box<[Token<Box<str>>]>),
}

impl Glob {
    /// Compiles a pattern in which every `*` and `?` is a wildcard.
    pub(crate) fn compile(pattern: &str) -> Glob {
        let mut tokens = Vec::new();
        let mut lit_start = 0;
        for (i, c) in pattern.char_indices() {
            let wild = match c {
                '*' => Token::Star,
                '?' => Token::One,
                _ => continue,
            };
            if lit_start < i {
                tokens.push(Token::Lit(Box::from(&pattern[lit_start..i])));
            }
            tokens.push(wild);
            lit_start = i + 1;
        }
        if lit_start < pattern.len() {
            tokens.push(Token::Lit(Box::from(&pattern[lit_start..])));
        }
        Glob::from_tokens(tokens)
    }

    /// Normalises a token list (merges adjacent literals, collapses runs of `*`) and picks a fast path.
    pub(crate) fn from_tokens(tokens: Vec<Token<Box<str>>>) -> Glob {
        let mut out: Vec<Token<Box<str>>> = Vec::with_capacity(tokens.len());
        for token in tokens {
            match (out.last_mut(), token) {
                (_, Token::Lit(s)) if s.is_empty() => {}
                (Some(Token::Lit(prev)), Token::Lit(s)) => {
                    *prev = format!("{prev}{s}").into_boxed_str();
                }
                (Some(Token::Star), Token::Star) => {}
                (_, token) => out.push(token),
            }
        }
        match out.as_slice() {
            [] => Glob::Exact(Box::from("")),
            [Token::Star] => Glob::Any,
            [Token::Lit(s)] => Glob::Exact(s.clone()),
            [Token::Lit(s), Token::Star] => Glob::Prefix(s.clone()),
            _ => Glob::Tokens(out.into_boxed_slice()),
        }
    }

    /// Whether `text` matches; `ignore_ascii_case` is used for action names.
    pub(crate) fn matches(&self, text: &str, ignore_ascii_case: bool) -> bool {
        match self {
            Glob::Any => true,
            Glob::Exact(s) => bytes_eq(s.as_bytes(), text.as_bytes(), ignore_ascii_case),
            Glob::Prefix(p) => text
                .as_bytes()
                .get(..p.len())
                .is_some_and(|head| bytes_eq(p.as_bytes(), head, ignore_ascii_case)),
            Glob::Tokens(tokens) => glob_match(tokens, text, ignore_ascii_case),
        }
    }
}

fn bytes_eq(a: &[u8], b: &[u8], ignore_ascii_case: bool) -> bool {
    if ignore_ascii_case {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

/// Length of the UTF-8 sequence starting with `lead`, so `?` and `*` step over whole characters.
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Matches `text` against a token list. Worst case O(pattern × text), never exponential.
pub(crate) fn glob_match<S: AsRef<str>>(
    pattern: &[Token<S>],
    text: &str,
    ignore_ascii_case: bool,
) -> bool {
    let text = text.as_bytes();
    let eq = |a: u8, b: u8| {
        if ignore_ascii_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let step = |at: usize| {
        text.get(at)
            .map_or(text.len(), |&b| (at + utf8_len(b)).min(text.len()))
    };
    // Pattern cursor: token index + byte offset inside a literal token; `t` is the text cursor.
    let (mut pi, mut po, mut t) = (0usize, 0usize, 0usize);
    // After a `*`: the token index following it and the text position the `*` currently extends to.
    let mut resume: Option<(usize, usize)> = None;
    loop {
        match pattern.get(pi) {
            Some(Token::Lit(lit)) => {
                let lit = lit.as_ref().as_bytes();
                match (lit.get(po), text.get(t)) {
                    (None, _) => {
                        pi += 1;
                        po = 0;
                        continue;
                    }
                    (Some(&p), Some(&c)) if eq(p, c) => {
                        po += 1;
                        t += 1;
                        continue;
                    }
                    _ => {}
                }
            }
            Some(Token::Star) => {
                pi += 1;
                po = 0;
                resume = Some((pi, t));
                continue;
            }
            Some(Token::One) => {
                if t < text.len() {
                    t = step(t);
                    pi += 1;
                    continue;
                }
            }
            None => {
                if t == text.len() {
                    return true;
                }
            }
        }
        // Mismatch: let the last `*` swallow one more character and retry, or fail.
        match resume {
            Some((rp, rt)) if rt < text.len() => {
                let next = step(rt);
                resume = Some((rp, next));
                pi = rp;
                po = 0;
                t = next;
            }
            _ => return false,
        }
    }
}
