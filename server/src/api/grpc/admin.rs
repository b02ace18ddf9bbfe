//! The `Admin` gRPC service: users, access keys and inline policies at runtime. Each call
//! is authorized as `keyfall:<Rpc>` on the user's IAM ARN; secrets never reach the logs.

use keyfall_proto::v1 as pb;
use keyfall_proto::v1::admin_server::Admin;
use tonic::metadata::MetadataValue;
use tonic::{Code, Request, Response, Status};

use super::{auth_status, caller_of, ERROR_TYPE_KEY};
use crate::api::pipeline::{Call, DirectoryFailure, Pipeline};
use crate::auth::{Directory, SetupError, UserInfo};

pub struct AdminService {
    pub pipeline: Pipeline,
}

/// The gRPC code and IAM error name of a directory error.
fn kind(e: &SetupError) -> (Code, &'static str) {
    match e {
        SetupError::NotFound(_) => (Code::NotFound, "NoSuchEntity"),
        SetupError::Conflict(_) => (Code::AlreadyExists, "EntityAlreadyExists"),
        SetupError::LimitExceeded(_) => (Code::ResourceExhausted, "LimitExceeded"),
        SetupError::MalformedPolicy(_) => (Code::InvalidArgument, "MalformedPolicyDocument"),
        SetupError::Invalid(_) => (Code::InvalidArgument, "ValidationError"),
        SetupError::Io(_) | SetupError::Storage(_) => (Code::Internal, "ServiceFailure"),
    }
}

fn status(e: SetupError) -> Status {
    let (code, name) = kind(&e);
    let mut s = Status::new(code, e.to_string());
    s.metadata_mut()
        .insert(ERROR_TYPE_KEY, MetadataValue::from_static(name));
    s
}

fn user_to_proto(u: UserInfo) -> pb::User {
    pb::User {
        user_name: u.name,
        user_id: u.user_id,
        arn: u.arn,
        create_date: u.created,
        tags: u.tags.into_iter().collect(),
    }
}

/// The name an error answers with, for the audit log.
fn error_name(e: &SetupError) -> &'static str {
    kind(e).1
}

impl AdminService {
    /// Runs `action` on `user` (None: every user) through the pipeline.
    async fn run<T: Send + 'static, R>(
        &self,
        r: &Request<R>,
        action: &'static str,
        user: Option<&str>,
        f: impl FnOnce(&Directory) -> Result<T, SetupError> + Send + 'static,
    ) -> Result<T, Status> {
        let caller = caller_of(r)?;
        let call = Call::new(&caller, "grpc", "");
        let resource = self.pipeline.auth.directory().user_arn(user.unwrap_or("*"));
        self.pipeline
            .run_directory(&call, action, resource, f, error_name)
            .await
            .map_err(|f| match f {
                DirectoryFailure::Auth(e) => auth_status(&e),
                DirectoryFailure::Directory(e) => status(e),
                DirectoryFailure::Stopped(e) => Status::internal(e),
            })
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn create_user(
        &self,
        r: Request<pb::CreateUserRequest>,
    ) -> Result<Response<pb::CreateUserResponse>, Status> {
        let (name, tags) = (r.get_ref().user_name.clone(), r.get_ref().tags.clone());
        let n = name.clone();
        let user = self
            .run(&r, "keyfall:CreateUser", Some(&name), move |d| {
                d.create_user(&n, tags.into_iter().collect())
            })
            .await?;
        Ok(Response::new(pb::CreateUserResponse {
            user: Some(user_to_proto(user)),
        }))
    }

    async fn delete_user(
        &self,
        r: Request<pb::DeleteUserRequest>,
    ) -> Result<Response<pb::DeleteUserResponse>, Status> {
        let name = r.get_ref().user_name.clone();
        let n = name.clone();
        self.run(&r, "keyfall:DeleteUser", Some(&name), move |d| {
            d.delete_user(&n)
        })
        .await?;
        Ok(Response::new(pb::DeleteUserResponse {}))
    }

    async fn list_users(
        &self,
        r: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let users = self
            .run(&r, "keyfall:ListUsers", None, |d| d.list_users())
            .await?;
        Ok(Response::new(pb::ListUsersResponse {
            users: users.into_iter().map(user_to_proto).collect(),
        }))
    }

    async fn create_access_key(
        &self,
        r: Request<pb::CreateAccessKeyRequest>,
    ) -> Result<Response<pb::CreateAccessKeyResponse>, Status> {
        let name = r.get_ref().user_name.clone();
        let n = name.clone();
        let key = self
            .run(&r, "keyfall:CreateAccessKey", Some(&name), move |d| {
                d.create_access_key(&n)
            })
            .await?;
        Ok(Response::new(pb::CreateAccessKeyResponse {
            access_key: Some(pb::AccessKey {
                user_name: name,
                access_key_id: key.access_key_id,
                secret_access_key: key.secret_access_key,
                create_date: time::OffsetDateTime::now_utc().unix_timestamp(),
            }),
        }))
    }

    async fn delete_access_key(
        &self,
        r: Request<pb::DeleteAccessKeyRequest>,
    ) -> Result<Response<pb::DeleteAccessKeyResponse>, Status> {
        let (name, id) = (
            r.get_ref().user_name.clone(),
            r.get_ref().access_key_id.clone(),
        );
        let n = name.clone();
        self.run(&r, "keyfall:DeleteAccessKey", Some(&name), move |d| {
            d.delete_access_key(&n, &id)
        })
        .await?;
        Ok(Response::new(pb::DeleteAccessKeyResponse {}))
    }

    async fn list_access_keys(
        &self,
        r: Request<pb::ListAccessKeysRequest>,
    ) -> Result<Response<pb::ListAccessKeysResponse>, Status> {
        let name = r.get_ref().user_name.clone();
        let n = name.clone();
        let keys = self
            .run(&r, "keyfall:ListAccessKeys", Some(&name), move |d| {
                d.list_access_keys(&n)
            })
            .await?;
        Ok(Response::new(pb::ListAccessKeysResponse {
            access_keys: keys
                .into_iter()
                .map(|k| pb::AccessKey {
                    user_name: name.clone(),
                    access_key_id: k.access_key_id,
                    secret_access_key: String::new(),
                    create_date: k.created,
                })
                .collect(),
        }))
    }

    async fn put_user_policy(
        &self,
        r: Request<pb::PutUserPolicyRequest>,
    ) -> Result<Response<pb::PutUserPolicyResponse>, Status> {
        let p = r.get_ref().clone();
        let name = p.user_name.clone();
        self.run(&r, "keyfall:PutUserPolicy", Some(&name), move |d| {
            d.put_user_policy(&p.user_name, &p.policy_name, &p.policy_document)
        })
        .await?;
        Ok(Response::new(pb::PutUserPolicyResponse {}))
    }

    async fn get_user_policy(
        &self,
        r: Request<pb::GetUserPolicyRequest>,
    ) -> Result<Response<pb::GetUserPolicyResponse>, Status> {
        let p = r.get_ref().clone();
        let (user, policy) = (p.user_name.clone(), p.policy_name.clone());
        let document = self
            .run(&r, "keyfall:GetUserPolicy", Some(&user), move |d| {
                d.get_user_policy(&p.user_name, &p.policy_name)
            })
            .await?;
        Ok(Response::new(pb::GetUserPolicyResponse {
            user_name: user,
            policy_name: policy,
            policy_document: document,
        }))
    }

    async fn delete_user_policy(
        &self,
        r: Request<pb::DeleteUserPolicyRequest>,
    ) -> Result<Response<pb::DeleteUserPolicyResponse>, Status> {
        let p = r.get_ref().clone();
        let user = p.user_name.clone();
        self.run(&r, "keyfall:DeleteUserPolicy", Some(&user), move |d| {
            d.delete_user_policy(&p.user_name, &p.policy_name)
        })
        .await?;
        Ok(Response::new(pb::DeleteUserPolicyResponse {}))
    }

    async fn export_principals(
        &self,
        r: Request<pb::ExportPrincipalsRequest>,
    ) -> Result<Response<pb::ExportPrincipalsResponse>, Status> {
        let users = self
            .run(&r, "keyfall:ExportPrincipals", None, |d| d.export())
            .await?;
        Ok(Response::new(pb::ExportPrincipalsResponse {
            account_id: self.pipeline.auth.account_id().to_string(),
            region: self.pipeline.auth.region().to_string(),
            principals: users
                .into_iter()
                .map(|u| pb::ExportedPrincipal {
                    user_name: u.name,
                    user_id: u.user_id,
                    root: u.root,
                    tags: u.tags.into_iter().collect(),
                    access_keys: u
                        .keys
                        .into_iter()
                        .map(|(access_key_id, secret_access_key)| pb::ExportedAccessKey {
                            access_key_id,
                            secret_access_key,
                        })
                        .collect(),
                    policies: u
                        .policies
                        .into_iter()
                        .map(|(policy_name, policy_document)| pb::ExportedPolicy {
                            policy_name,
                            policy_document,
                        })
                        .collect(),
                })
                .collect(),
        }))
    }

    async fn list_user_policies(
        &self,
        r: Request<pb::ListUserPoliciesRequest>,
    ) -> Result<Response<pb::ListUserPoliciesResponse>, Status> {
        let name = r.get_ref().user_name.clone();
        let n = name.clone();
        let names = self
            .run(&r, "keyfall:ListUserPolicies", Some(&name), move |d| {
                d.list_user_policies(&n)
            })
            .await?;
        Ok(Response::new(pb::ListUserPoliciesResponse {
            policy_names: names,
        }))
    }
}
