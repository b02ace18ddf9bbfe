//! Projection expressions.

use super::path::Path;

/// Which attributes a read returns: a `ProjectionExpression`.
///
/// Paths are written in the order given. A path listed twice, or one inside another listed
/// path (`a.b` when `a` is listed), is left out, since the larger path already returns it
/// and DynamoDB would reject the overlap.
///
/// ```
/// use keyfall::expr::{attr, Expressions, Path, Projection};
///
/// let projection = Projection::new()
///     .with(&attr::<String>("status"))
///     .with(Path::parse("address.lines[0]")?);
/// let mut ex = Expressions::new();
/// assert_eq!(ex.projection(&projection), "#n0, #n1.#n2[0]");
/// # Ok::<(), keyfall::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    paths: Vec<Path>,
}

impl Projection {
    /// No attributes yet. An empty projection must not be sent: DynamoDB rejects an empty
    /// expression (omit it to read whole items).
    pub fn new() -> Self {
        Projection::default()
    }

    /// The given paths or attributes, all of one type; for attributes of mixed types chain
    /// [`Projection::with`].
    pub fn of<P: Into<Path>>(paths: impl IntoIterator<Item = P>) -> Self {
        paths.into_iter().collect()
    }

    /// This projection plus `path` (a [`Path`], or an `Attr` by value or reference).
    pub fn with(mut self, path: impl Into<Path>) -> Self {
        self.paths.push(path.into());
        self
    }

    /// Whether nothing is projected yet.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// The paths as given.
    pub fn paths(&self) -> &[Path] {
        &self.paths
    }

    /// The paths to write: without repeats, and without paths inside other listed paths.
    pub(crate) fn effective_paths(&self) -> impl Iterator<Item = &Path> {
        self.paths.iter().enumerate().filter_map(|(i, p)| {
            let covered = self
                .paths
                .iter()
                .enumerate()
                .any(|(j, q)| j != i && q.is_prefix_of(p) && (q != p || j < i));
            (!covered).then_some(p)
        })
    }
}

impl<P: Into<Path>> FromIterator<P> for Projection {
    fn from_iter<I: IntoIterator<Item = P>>(iter: I) -> Self {
        Projection {
            paths: iter.into_iter().map(Into::into).collect(),
        }
    }
}

impl<P: Into<Path>> Extend<P> for Projection {
    fn extend<I: IntoIterator<Item = P>>(&mut self, iter: I) {
        self.paths.extend(iter.into_iter().map(Into::into));
    }
}
