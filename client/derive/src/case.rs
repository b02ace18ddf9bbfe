//! serde's `rename_all` rules, applied to field names the way serde applies them, so the
//! attribute names in a schema match the names serde writes.

/// A `#[serde(rename_all = "...")]` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RenameRule {
    Lower,
    Upper,
    Pascal,
    Camel,
    Snake,
    ScreamingSnake,
    Kebab,
    ScreamingKebab,
}

impl RenameRule {
    /// The rule serde names `name`, or `None` for a name serde does not know (serde itself
    /// reports that).
    pub(crate) fn from_name(name: &str) -> Option<RenameRule> {
        Some(match name {
            "lowercase" => RenameRule::Lower,
            "UPPERCASE" => RenameRule::Upper,
            "PascalCase" => RenameRule::Pascal,
            "camelCase" => RenameRule::Camel,
            "snake_case" => RenameRule::Snake,
            "SCREAMING_SNAKE_CASE" => RenameRule::ScreamingSnake,
            "kebab-case" => RenameRule::Kebab,
            "SCREAMING-KEBAB-CASE" => RenameRule::ScreamingKebab,
            _ => return None,
        })
    }

    /// The serialized name of a field whose Rust name (a snake_case identifier, without
    /// `r#`) is `field`. Same results as serde's `RenameRule::apply_to_field`.
    pub(crate) fn apply_to_field(self, field: &str) -> String {
        match self {
            RenameRule::Lower | RenameRule::Snake => field.to_string(),
            RenameRule::Upper | RenameRule::ScreamingSnake => field.to_ascii_uppercase(),
            RenameRule::Pascal => {
                let mut pascal = String::with_capacity(field.len());
                let mut capitalize = true;
                for ch in field.chars() {
                    if ch == '_' {
                        capitalize = true;
                    } else if capitalize {
                        pascal.push(ch.to_ascii_uppercase());
                        capitalize = false;
                    } else {
                        pascal.push(ch);
                    }
                }
                pascal
            }
            RenameRule::Camel => {
                let pascal = RenameRule::Pascal.apply_to_field(field);
                let mut chars = pascal.chars();
                match chars.next() {
                    Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
                    None => pascal,
                }
            }
            RenameRule::Kebab => field.replace('_', "-"),
            RenameRule::ScreamingKebab => field.to_ascii_uppercase().replace('_', "-"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_every_rule_like_serde() {
        // (field, lowercase, UPPERCASE, PascalCase, camelCase, snake_case,
        //  SCREAMING_SNAKE_CASE, kebab-case, SCREAMING-KEBAB-CASE)
        let cases: [[&str; 9]; 6] = [
            [
                "outcome", "outcome", "OUTCOME", "Outcome", "outcome", "outcome", "OUTCOME",
                "outcome", "OUTCOME",
            ],
            [
                "very_tasty",
                "very_tasty",
                "VERY_TASTY",
                "VeryTasty",
                "veryTasty",
                "very_tasty",
                "VERY_TASTY",
                "very-tasty",
                "VERY-TASTY",
            ],
            ["a", "a", "A", "A", "a", "a", "A", "a", "A"],
            [
                "z42", "z42", "Z42", "Z42", "z42", "z42", "Z42", "z42", "Z42",
            ],
            [
                "created_at_2",
                "created_at_2",
                "CREATED_AT_2",
                "CreatedAt2",
                "createdAt2",
                "created_at_2",
                "CREATED_AT_2",
                "created-at-2",
                "CREATED-AT-2",
            ],
            [
                "_private", "_private", "_PRIVATE", "Private", "private", "_private", "_PRIVATE",
                "-private", "-PRIVATE",
            ],
        ];
        let rules = [
            "lowercase",
            "UPPERCASE",
            "PascalCase",
            "camelCase",
            "snake_case",
            "SCREAMING_SNAKE_CASE",
            "kebab-case",
            "SCREAMING-KEBAB-CASE",
        ];
        for case in cases {
            for (rule, expected) in rules.iter().zip(&case[1..]) {
                let applied = RenameRule::from_name(rule)
                    .expect("known rule")
                    .apply_to_field(case[0]);
                assert_eq!(&applied, expected, "{rule} of {}", case[0]);
            }
        }
    }

    #[test]
    fn unknown_rules_and_empty_names() {
        for name in ["camelcase", "Camel", "", "SCREAMING_KEBAB_CASE"] {
            assert_eq!(RenameRule::from_name(name), None, "{name}");
        }
        assert_eq!(RenameRule::Camel.apply_to_field(""), "");
        assert_eq!(RenameRule::Camel.apply_to_field("_"), "");
    }
}
