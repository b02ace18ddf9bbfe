//! Pages of a listing whose `NextToken` is the offset of the next page: the listings of
//! settings Keyfall keeps whole in memory (Contributor Insights, auto scaling).

use crate::error::{Error, Result};

/// Up to `limit` items of `all` from the offset `token` names, and the token of the page
/// after (none after the last); a token that is no offset of `all` is `invalid()`.
pub(crate) fn page<T: Clone>(
    all: &[T],
    limit: usize,
    token: Option<&str>,
    invalid: impl FnOnce() -> Error,
) -> Result<(Vec<T>, Option<String>)> {
    let start = match token {
        None => 0,
        Some(t) => match t.parse::<usize>() {
            Ok(s) if s <= all.len() => s,
            _ => return Err(invalid()),
        },
    };
    let end = start.saturating_add(limit).min(all.len());
    let next = (end < all.len()).then(|| end.to_string());
    Ok((all.get(start..end).unwrap_or_default().to_vec(), next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_their_tokens_to_the_end() {
        let all: Vec<u32> = (0..5).collect();
        let invalid = || Error::validation("bad");
        let (first, next) = page(&all, 2, None, invalid).unwrap();
        assert_eq!((first, next.as_deref()), (vec![0, 1], Some("2")));
        let (last, next) = page(&all, 3, Some("2"), invalid).unwrap();
        assert_eq!((last, next), (vec![2, 3, 4], None));
        assert!(page(&all, 2, Some("6"), invalid).is_err());
        assert!(page(&all, 2, Some("x"), invalid).is_err());
    }
}
