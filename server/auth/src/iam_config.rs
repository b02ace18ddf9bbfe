//! The `--iam-config` file: users, their access keys and their policies, loaded at start.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::policy::Policy;
use super::SetupError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamConfig {
    pub users: Vec<IamUser>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamUser {
    pub name: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    #[serde(default)]
    pub policies: Vec<serde_json::Value>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// Reads and checks an IAM config file; every error names the user, the policy and, from
/// the policy parser, the statement and field.
pub fn load_iam_config(path: &Path) -> Result<IamConfig, SetupError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SetupError::Io(format!("cannot read IAM config {}: {e}", path.display())))?;
    parse_iam_config(&text)
        .map_err(|e| SetupError::Invalid(format!("invalid IAM config {}: {e}", path.display())))
}

pub fn parse_iam_config(text: &str) -> Result<IamConfig, String> {
    let config: IamConfig = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut seen = std::collections::HashSet::new();
    for user in &config.users {
        super::directory::check_user_name(&user.name).map_err(|e| e.to_string())?;
        if !seen.insert(user.name.as_str()) {
            return Err(format!("user {:?} is defined twice", user.name));
        }
        match (&user.access_key_id, &user.secret_access_key) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {}
            (None, None) => {}
            _ => {
                return Err(format!(
                    "user {:?}: access_key_id and secret_access_key must be given together and be non-empty",
                    user.name
                ))
            }
        }
        for (i, doc) in user.policies.iter().enumerate() {
            Policy::parse(doc).map_err(|e| format!("user {:?}: policies[{i}]: {e}", user.name))?;
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_user_statement_and_field() {
        let cases = [
            (
                r#"{"users": [{"name": "alice", "policies": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}, {"Sid": "Bad", "Effect": "Permit", "Action": "*", "Resource": "*"}]}]}]}"#,
                &["alice", "policies[0]", "Statement[1]", "Effect"][..],
            ),
            (
                r#"{"users": [{"name": "bob", "access_key_id": "AKID"}]}"#,
                &["bob", "secret_access_key"],
            ),
            (r#"{"users": [{"name": "a"}, {"name": "a"}]}"#, &["twice"]),
            (
                r#"{"users": [{"name": "c", "colour": "red"}]}"#,
                &["colour"],
            ),
            (r#"{"users": "#, &["EOF"]),
        ];
        for (text, wants) in cases {
            let err = parse_iam_config(text).unwrap_err();
            for want in wants {
                assert!(err.contains(want), "{text}: {err} lacks {want}");
            }
        }
        let ok = parse_iam_config(r#"{"users": [{"name": "alice", "access_key_id": "AKID", "secret_access_key": "s", "policies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}}]}]}"#).unwrap();
        assert_eq!(ok.users.len(), 1);
    }
}
