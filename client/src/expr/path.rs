//! Document paths: which attribute (or which part of a nested attribute) an expression means.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// One step of a [`Path`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// A top-level attribute or a map key, taken literally (it becomes one `#n` placeholder,
    /// so dots, spaces and reserved words in it are harmless).
    Name(String),
    /// A list element, written literally as `[i]` in the expression.
    Index(usize),
}

/// A document path such as `address.lines[0]`.
///
/// Names are kept as separate segments rather than as one dotted string, so that an
/// attribute literally named `a.b` and the map key `b` inside `a` stay distinct: each name
/// segment becomes its own `#n` placeholder and list indexes stay literal.
///
/// ```
/// use keyfall::expr::Path;
///
/// let built = Path::new("address").field("lines").index(0);
/// let parsed = Path::parse("address.lines[0]")?;
/// assert_eq!(built, parsed);
/// assert_eq!(built.to_string(), "address.lines[0]");
/// // `Path::new` never splits: this is one attribute whose name contains a dot.
/// assert_eq!(Path::new("a.b").segments().len(), 1);
/// # Ok::<(), keyfall::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Path {
    /// Never empty, and the first segment is always a name.
    segments: Vec<PathSegment>,
}

impl Path {
    /// A top-level attribute. The name is taken literally (never split at dots), because
    /// attribute names may contain any character; use [`Path::parse`] for dotted text.
    pub fn new(name: impl Into<String>) -> Self {
        Path {
            segments: vec![PathSegment::Name(name.into())],
        }
    }

    /// The map key `name` inside this path (`path.name`), taken literally.
    pub fn field(mut self, name: impl Into<String>) -> Self {
        self.segments.push(PathSegment::Name(name.into()));
        self
    }

    /// The list element `index` of this path (`path[index]`).
    pub fn index(mut self, index: usize) -> Self {
        self.segments.push(PathSegment::Index(index));
        self
    }

    /// Reads DynamoDB's path notation, `a.b[2].c`: names separated by dots, list indexes in
    /// brackets. Names cannot contain `.`, `[` or `]` here; build such paths with
    /// [`Path::new`] and [`Path::field`]. Fails with [`Error::Validation`] on malformed text.
    pub fn parse(text: &str) -> Result<Path, Error> {
        let fail = |why: &str| Error::Validation {
            message: format!("Invalid document path {text:?}: {why}"),
        };
        let mut segments = Vec::new();
        for part in text.split('.') {
            let (name, mut rest) = match part.find(['[', ']']) {
                Some(at) => part.split_at(at),
                None => (part, ""),
            };
            if name.is_empty() {
                return Err(fail("every dot-separated part must start with a name"));
            }
            segments.push(PathSegment::Name(name.to_string()));
            while !rest.is_empty() {
                let Some(inner) = rest.strip_prefix('[') else {
                    return Err(fail("unexpected ']'"));
                };
                let Some((digits, after)) = inner.split_once(']') else {
                    return Err(fail("unclosed '['"));
                };
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(fail("a list index must be a non-negative integer"));
                }
                let index = digits
                    .parse::<usize>()
                    .map_err(|_| fail("list index too large"))?;
                segments.push(PathSegment::Index(index));
                rest = after;
            }
        }
        Ok(Path { segments })
    }

    /// The steps of this path, first the top-level attribute name.
    pub fn segments(&self) -> &[PathSegment] {
        &self.segments
    }

    /// Whether `self` is `other` or leads into it (`a` is a prefix of `a.b` and `a[0]`).
    pub(crate) fn is_prefix_of(&self, other: &Path) -> bool {
        other.segments.starts_with(&self.segments)
    }

    /// DynamoDB's rendering of a path inside its error messages: `[a, b, [3], c]`.
    pub(crate) fn message_form(&self) -> String {
        let parts: Vec<String> = self
            .segments
            .iter()
            .map(|s| match s {
                PathSegment::Name(n) => n.clone(),
                PathSegment::Index(i) => format!("[{i}]"),
            })
            .collect();
        format!("[{}]", parts.join(", "))
    }
}

impl fmt::Display for Path {
    /// The plain path, `a.b[2].c`, as a person would write it (without placeholders).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.segments.iter().enumerate() {
            match s {
                PathSegment::Name(n) if i == 0 => f.write_str(n)?,
                PathSegment::Name(n) => write!(f, ".{n}")?,
                PathSegment::Index(x) => write!(f, "[{x}]")?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Path({self})")
    }
}

impl FromStr for Path {
    type Err = Error;

    /// Same as [`Path::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Path::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> PathSegment {
        PathSegment::Name(s.into())
    }

    #[test]
    fn parse_accepts_dynamodb_path_notation() {
        let cases: &[(&str, Vec<PathSegment>)] = &[
            ("a", vec![name("a")]),
            ("a.b", vec![name("a"), name("b")]),
            ("a[0]", vec![name("a"), PathSegment::Index(0)]),
            (
                "a.b[2].c",
                vec![name("a"), name("b"), PathSegment::Index(2), name("c")],
            ),
            (
                "l[1][20]",
                vec![name("l"), PathSegment::Index(1), PathSegment::Index(20)],
            ),
            ("with space.#x", vec![name("with space"), name("#x")]),
        ];
        for (text, want) in cases {
            let p = Path::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(p.segments(), &want[..], "{text}");
            assert_eq!(p.to_string(), *text, "display round-trips {text}");
            assert_eq!(text.parse::<Path>().ok(), Some(p));
        }
    }

    #[test]
    fn parse_rejects_malformed_paths() {
        for text in [
            "",
            ".",
            "a.",
            ".a",
            "a..b",
            "[0]",
            "a.[0]",
            "a[",
            "a[]",
            "a[x]",
            "a[-1]",
            "a]",
            "a[0]b",
            "a[0]]",
            "a[99999999999999999999999]",
        ] {
            match Path::parse(text) {
                Err(Error::Validation { message }) => {
                    assert!(
                        message.contains("Invalid document path"),
                        "{text}: {message}"
                    )
                }
                other => panic!("{text:?} should fail, got {other:?}"),
            }
        }
    }

    #[test]
    fn builders_keep_names_literal() {
        let p = Path::new("a.b").field("c[0]").index(3);
        assert_eq!(
            p.segments(),
            &[name("a.b"), name("c[0]"), PathSegment::Index(3)]
        );
        assert_eq!(format!("{p:?}"), "Path(a.b.c[0][3])");
        assert_eq!(p.message_form(), "[a.b, c[0], [3]]");
    }

    #[test]
    fn prefixes() {
        let a = Path::new("a");
        let ab = Path::new("a").field("b");
        assert!(a.is_prefix_of(&ab));
        assert!(a.is_prefix_of(&a));
        assert!(!ab.is_prefix_of(&a));
        assert!(!Path::new("ab").is_prefix_of(&ab));
    }
}
