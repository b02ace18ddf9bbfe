//! ARN comparison for ArnEquals / ArnLike (and their negations): both sides are split into the six
//! colon-separated parts `arn:partition:service:region:account:resource` (the resource part keeps
//! any further colons) and each part is globbed separately, so a `*` can never span a colon.

use super::wildcard::{glob_match, Glob, Token};

/// A policy ARN compiled at parse time: one glob per part.
#[derive(Debug, Clone)]
pub(crate) struct ArnPattern {
    parts: Box<[Glob]>,
}

impl ArnPattern {
    /// `None` when the pattern does not have six parts.
    pub(crate) fn from_tokens(tokens: &[Token<Box<str>>]) -> Option<ArnPattern> {
        let segments = split_segments(tokens)?;
        let parts = segments
            .into_iter()
            .map(|segment| {
                Glob::from_tokens(
                    segment
                        .into_iter()
                        .map(|t| match t {
                            Token::Lit(s) => Token::Lit(Box::from(s)),
                            Token::Star => Token::Star,
                            Token::One => Token::One,
                        })
                        .collect(),
                )
            })
            .collect();
        Some(ArnPattern { parts })
    }

    pub(crate) fn matches(&self, arn: &str) -> bool {
        split_arn(arn).is_some_and(|parts| {
            self.parts
                .iter()
                .zip(parts)
                .all(|(glob, part)| glob.matches(part, false))
        })
    }
}

/// Matches a pattern assembled at request time (policy variables substituted).
pub(crate) fn tokens_match_arn(tokens: &[Token<&str>], arn: &str) -> bool {
    let (Some(segments), Some(parts)) = (split_segments(tokens), split_arn(arn)) else {
        return false;
    };
    segments
        .iter()
        .zip(parts)
        .all(|(segment, part)| glob_match(segment, part, false))
}

/// The six parts of an ARN, or `None` if it has fewer.
fn split_arn(arn: &str) -> Option<[&str; 6]> {
    let mut it = arn.splitn(6, ':');
    let mut parts = [""; 6];
    for part in &mut parts {
        *part = it.next()?;
    }
    Some(parts)
}

/// Splits a token list at the first five colons inside literal tokens; `None` unless six segments result.
fn split_segments<S: AsRef<str>>(tokens: &[Token<S>]) -> Option<Vec<Vec<Token<&str>>>> {
    let mut segments: Vec<Vec<Token<&str>>> = vec![Vec::new()];
    for token in tokens {
        let lit = match token {
            Token::Lit(s) => s.as_ref(),
            Token::Star | Token::One => {
                let wild = if matches!(token, Token::Star) {
                    Token::Star
                } else {
                    Token::One
                };
                segments.last_mut()?.push(wild);
                continue;
            }
        };
        let mut rest = lit;
        while segments.len() < 6 {
            let Some(colon) = rest.find(':') else { break };
            segments.last_mut()?.push(Token::Lit(&rest[..colon]));
            segments.push(Vec::new());
            rest = &rest[colon + 1..];
        }
        segments.last_mut()?.push(Token::Lit(rest));
    }
    (segments.len() == 6).then_some(segments)
}
