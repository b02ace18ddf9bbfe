//! Key templates such as `"ORDER#{created}#{order_id}"`, parsed and checked at compile time.

use std::fmt;

/// One piece of a parsed template (mirrors `keyfall::entity::TemplatePart`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    Literal(String),
    /// A placeholder, naming a Rust field.
    Field(String),
}

/// Why a template does not parse. Offsets are byte offsets into the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TemplateError {
    Empty,
    EmptyPlaceholder { at: usize },
    Unclosed { at: usize },
    StrayClose { at: usize },
    Adjacent { first: String, second: String },
}

/// A template error together with the template it was found in, for messages.
pub(crate) struct Described<'a> {
    pub template: &'a str,
    pub error: &'a TemplateError,
}

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.template;
        match self.error {
            TemplateError::Empty => write!(f, "key template is empty"),
            TemplateError::EmptyPlaceholder { at } => write!(
                f,
                "key template `{t}` has an empty placeholder `{{}}` at byte {at}: \
                 name a field inside the braces, e.g. `{{id}}`"
            ),
            TemplateError::Unclosed { at } => write!(
                f,
                "key template `{t}` has an unclosed `{{` at byte {at}: \
                 placeholders are written `{{field}}`"
            ),
            TemplateError::StrayClose { at } => write!(
                f,
                "key template `{t}` has a stray `}}` at byte {at}: \
                 placeholders are written `{{field}}`"
            ),
            TemplateError::Adjacent { first, second } => write!(
                f,
                "key template `{t}` has placeholders `{{{first}}}` and `{{{second}}}` with no \
                 literal between them, so a key could not be parsed back into its fields; \
                 put a separator such as `#` between them"
            ),
        }
    }
}

/// Splits a template into literals and placeholders.
///
/// Rules: a placeholder is `{name}` with a non-empty name and no braces inside; a `}`
/// outside a placeholder is an error; two placeholders must be separated by a literal
/// (otherwise the key text could not be split back into the fields).
pub(crate) fn parse(template: &str) -> Result<Vec<Part>, TemplateError> {
    if template.is_empty() {
        return Err(TemplateError::Empty);
    }
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = template.char_indices().peekable();
    while let Some((at, ch)) = rest.next() {
        match ch {
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for (_, c) in rest.by_ref() {
                    match c {
                        '}' => {
                            closed = true;
                            break;
                        }
                        '{' => return Err(TemplateError::Unclosed { at }),
                        c => name.push(c),
                    }
                }
                if !closed {
                    return Err(TemplateError::Unclosed { at });
                }
                if name.is_empty() {
                    return Err(TemplateError::EmptyPlaceholder { at });
                }
                if literal.is_empty() {
                    if let Some(Part::Field(previous)) = parts.last() {
                        return Err(TemplateError::Adjacent {
                            first: previous.clone(),
                            second: name,
                        });
                    }
                } else {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                parts.push(Part::Field(name));
            }
            '}' => return Err(TemplateError::StrayClose { at }),
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    Ok(parts)
}

/// The field names a parsed template uses, in order (a repeated name appears again).
pub(crate) fn fields(parts: &[Part]) -> impl Iterator<Item = &str> {
    parts.iter().filter_map(|p| match p {
        Part::Field(name) => Some(name.as_str()),
        Part::Literal(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Part {
        Part::Literal(s.to_string())
    }

    fn field(s: &str) -> Part {
        Part::Field(s.to_string())
    }

    #[test]
    fn parses_valid_templates() {
        let cases: Vec<(&str, Vec<Part>)> = vec![
            ("CONFIG", vec![lit("CONFIG")]),
            ("{id}", vec![field("id")]),
            ("USER#{id}", vec![lit("USER#"), field("id")]),
            (
                "ORDER#{created}#{order_id}",
                vec![lit("ORDER#"), field("created"), lit("#"), field("order_id")],
            ),
            ("{a}#{b}#", vec![field("a"), lit("#"), field("b"), lit("#")]),
            ("{a}-x-{a}", vec![field("a"), lit("-x-"), field("a")]),
            ("ÉTÉ#{été}", vec![lit("ÉTÉ#"), field("été")]),
            ("{r#type}", vec![field("r#type")]),
        ];
        for (template, expected) in cases {
            assert_eq!(parse(template), Ok(expected), "{template}");
        }
    }

    #[test]
    fn rejects_malformed_templates() {
        let cases: Vec<(&str, TemplateError)> = vec![
            ("", TemplateError::Empty),
            ("USER#{}", TemplateError::EmptyPlaceholder { at: 5 }),
            ("{}", TemplateError::EmptyPlaceholder { at: 0 }),
            ("USER#{id", TemplateError::Unclosed { at: 5 }),
            ("USER#{", TemplateError::Unclosed { at: 5 }),
            ("USER#{a{b}}", TemplateError::Unclosed { at: 5 }),
            ("USER#}", TemplateError::StrayClose { at: 5 }),
            ("{id}}", TemplateError::StrayClose { at: 4 }),
            (
                "{a}{b}",
                TemplateError::Adjacent {
                    first: "a".into(),
                    second: "b".into(),
                },
            ),
            (
                "X#{a}#{b}{c}",
                TemplateError::Adjacent {
                    first: "b".into(),
                    second: "c".into(),
                },
            ),
        ];
        for (template, expected) in cases {
            assert_eq!(parse(template), Err(expected), "{template:?}");
        }
    }

    #[test]
    fn messages_quote_the_template() {
        let cases: Vec<(&str, &str)> = vec![
            ("", "key template is empty"),
            ("A#{}", "key template `A#{}` has an empty placeholder `{}` at byte 2"),
            ("A#{x", "key template `A#{x` has an unclosed `{` at byte 2"),
            ("A#}", "key template `A#}` has a stray `}` at byte 2"),
            (
                "{a}{b}",
                "key template `{a}{b}` has placeholders `{a}` and `{b}` with no literal between them",
            ),
        ];
        for (template, start) in cases {
            let error = parse(template).expect_err(template);
            let message = Described {
                template,
                error: &error,
            }
            .to_string();
            assert!(message.starts_with(start), "{template:?}: {message}");
        }
    }

    #[test]
    fn lists_fields_in_order() {
        let parts = parse("A#{x}#{y}#{x}").expect("valid");
        assert_eq!(fields(&parts).collect::<Vec<_>>(), ["x", "y", "x"]);
    }
}
