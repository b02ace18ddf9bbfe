//! `keyfall admin ...`: user, access-key and policy administration over the signed gRPC
//! `Admin` service. These commands need `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.

use anyhow::Context;
use clap::Subcommand;
use keyfall::proto::v1 as pb;
use keyfall::proto::v1::admin_client::AdminClient;
use keyfall::{Credentials, SigV4Layer};

#[derive(Subcommand)]
pub enum AdminCommand {
    CreateUser {
        user: String,
        /// `key=value` tags.
        #[arg(long = "tag")]
        tags: Vec<String>,
    },
    DeleteUser {
        user: String,
    },
    ListUsers,
    /// Prints the new key's secret: the only time it is shown.
    CreateAccessKey {
        user: String,
    },
    DeleteAccessKey {
        user: String,
        access_key_id: String,
    },
    ListAccessKeys {
        user: String,
    },
    /// Adds or replaces an inline policy; `--document` is JSON text or `@file`.
    PutUserPolicy {
        user: String,
        policy_name: String,
        #[arg(long)]
        document: String,
    },
    GetUserPolicy {
        user: String,
        policy_name: String,
    },
    DeleteUserPolicy {
        user: String,
        policy_name: String,
    },
    ListUserPolicies {
        user: String,
    },
}

pub async fn run(endpoint: &str, region: String, command: AdminCommand) -> anyhow::Result<()> {
    let credentials = Credentials::from_env()
        .context("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (keyfall-server prints the root pair on first start)")?;
    let authority = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest)
        .trim_end_matches('/')
        .to_string();
    let channel = tonic::transport::Channel::from_shared(endpoint.to_string())?
        .connect()
        .await
        .with_context(|| format!("cannot connect to {endpoint}"))?;
    let channel = tower::Layer::layer(&SigV4Layer::new(credentials, region, authority), channel);
    let mut admin = AdminClient::new(channel);
    let fail = crate::call_error;
    match command {
        AdminCommand::CreateUser { user, tags } => {
            let tags = tags
                .iter()
                .map(|t| {
                    t.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .with_context(|| format!("tag {t:?} is not key=value"))
                })
                .collect::<anyhow::Result<_>>()?;
            let u = admin
                .create_user(pb::CreateUserRequest {
                    user_name: user,
                    tags,
                })
                .await
                .map_err(fail)?
                .into_inner()
                .user
                .unwrap_or_default();
            println!("{}\t{}\t{}", u.user_name, u.user_id, u.arn);
        }
        AdminCommand::DeleteUser { user } => {
            admin
                .delete_user(pb::DeleteUserRequest { user_name: user })
                .await
                .map_err(fail)?;
        }
        AdminCommand::ListUsers => {
            for u in admin
                .list_users(pb::ListUsersRequest {})
                .await
                .map_err(fail)?
                .into_inner()
                .users
            {
                println!("{}\t{}\t{}", u.user_name, u.user_id, u.arn);
            }
        }
        AdminCommand::CreateAccessKey { user } => {
            let k = admin
                .create_access_key(pb::CreateAccessKeyRequest { user_name: user })
                .await
                .map_err(fail)?
                .into_inner()
                .access_key
                .unwrap_or_default();
            println!(
                "export AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}",
                k.access_key_id, k.secret_access_key
            );
        }
        AdminCommand::DeleteAccessKey {
            user,
            access_key_id,
        } => {
            admin
                .delete_access_key(pb::DeleteAccessKeyRequest {
                    user_name: user,
                    access_key_id,
                })
                .await
                .map_err(fail)?;
        }
        AdminCommand::ListAccessKeys { user } => {
            for k in admin
                .list_access_keys(pb::ListAccessKeysRequest { user_name: user })
                .await
                .map_err(fail)?
                .into_inner()
                .access_keys
            {
                println!("{}\t{}", k.access_key_id, k.create_date);
            }
        }
        AdminCommand::PutUserPolicy {
            user,
            policy_name,
            document,
        } => {
            let policy_document = match document.strip_prefix('@') {
                Some(path) => {
                    std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?
                }
                None => document,
            };
            admin
                .put_user_policy(pb::PutUserPolicyRequest {
                    user_name: user,
                    policy_name,
                    policy_document,
                })
                .await
                .map_err(fail)?;
        }
        AdminCommand::GetUserPolicy { user, policy_name } => {
            let p = admin
                .get_user_policy(pb::GetUserPolicyRequest {
                    user_name: user,
                    policy_name,
                })
                .await
                .map_err(fail)?
                .into_inner();
            println!("{}", p.policy_document);
        }
        AdminCommand::DeleteUserPolicy { user, policy_name } => {
            admin
                .delete_user_policy(pb::DeleteUserPolicyRequest {
                    user_name: user,
                    policy_name,
                })
                .await
                .map_err(fail)?;
        }
        AdminCommand::ListUserPolicies { user } => {
            for name in admin
                .list_user_policies(pb::ListUserPoliciesRequest { user_name: user })
                .await
                .map_err(fail)?
                .into_inner()
                .policy_names
            {
                println!("{name}");
            }
        }
    }
    Ok(())
}
