//! Authentication (SigV4) and authorization (IAM-style policies), shared by both APIs and,
//! through the library, by `keyfall-dax`.
//!
//! A request is first authenticated ([`Auth::authenticate`]) from its signature, which yields
//! a [`Caller`]; once decoded, the API layer asks [`Auth::authorize`] about the request's
//! [`Check`]s (one per action and resource it touches, see [`checks`]), before the engine
//! sees it. Nothing in here knows about HTTP or gRPC types beyond `http::HeaderMap`, and
//! nothing names the engine or a storage engine: the directory keeps its users through
//! [`UserStore`], which the server implements.

pub mod audit;
pub mod checks;
mod context;
mod directory;
mod iam_config;
pub mod policy;
mod root;
pub mod sigv4;

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use checks::Check;
pub use directory::{
    AccessKeyInfo, Directory, ExportedUser, NewAccessKey, UserInfo, UserStore, IAM_KEYSPACE,
};
pub use iam_config::{load_iam_config, IamConfig, IamUser};
pub use root::{root_credentials, RootCredentials, RootSource};

use context::EvalContext;
use policy::{Decision, Policy};

/// Auth failures, named as AWS names them.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    MissingAuthenticationToken(String),
    #[error("{0}")]
    IncompleteSignature(String),
    #[error("{0}")]
    UnrecognizedClient(String),
    #[error("{0}")]
    InvalidSignature(String),
    #[error("{0}")]
    AccessDenied(String),
    /// Who the caller is cannot be known right now (a proxy whose copy of the users is too
    /// old): refused rather than guessed.
    #[error("{0}")]
    Unavailable(String),
}

impl AuthError {
    pub fn type_name(&self) -> &'static str {
        match self {
            AuthError::MissingAuthenticationToken(_) => "MissingAuthenticationTokenException",
            AuthError::IncompleteSignature(_) => "IncompleteSignatureException",
            AuthError::UnrecognizedClient(_) => "UnrecognizedClientException",
            AuthError::InvalidSignature(_) => "InvalidSignatureException",
            AuthError::AccessDenied(_) => "AccessDeniedException",
            AuthError::Unavailable(_) => "ServiceUnavailable",
        }
    }

    /// The error a gRPC status named by its `x-amzn-errortype`, for front ends that relay
    /// an auth failure into another protocol.
    pub fn from_type_name(name: &str, message: String) -> Option<AuthError> {
        Some(match name {
            "MissingAuthenticationTokenException" => AuthError::MissingAuthenticationToken(message),
            "IncompleteSignatureException" => AuthError::IncompleteSignature(message),
            "UnrecognizedClientException" => AuthError::UnrecognizedClient(message),
            "InvalidSignatureException" => AuthError::InvalidSignature(message),
            "AccessDeniedException" => AuthError::AccessDenied(message),
            "ServiceUnavailable" => AuthError::Unavailable(message),
            _ => return None,
        })
    }

    /// Authentication failed (as opposed to an authenticated caller being refused).
    pub fn is_unauthenticated(&self) -> bool {
        !matches!(self, AuthError::AccessDenied(_) | AuthError::Unavailable(_))
    }
}

/// Errors that stop the server from starting or an admin call from completing.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    MalformedPolicy(String),
    /// The user store failed (a storage error, named by the store).
    #[error("storage: {0}")]
    Storage(String),
}

/// An authenticated identity and what its policies allow.
#[derive(Debug)]
pub struct Principal {
    pub name: String,
    pub user_id: String,
    pub arn: String,
    /// The account's root user: every action is allowed, as in AWS.
    pub root: bool,
    pub policies: Vec<Arc<Policy>>,
    pub tags: Vec<(String, String)>,
    /// `aws:*` context keys of this identity, lower-cased.
    keys: Vec<(String, Vec<String>)>,
}

/// Who sent a request, as far as policies care.
#[derive(Debug, Clone)]
pub struct Caller {
    /// None when authentication is off: everything is allowed.
    pub principal: Option<Arc<Principal>>,
    /// The access key the request was signed with.
    pub access_key_id: Option<String>,
    pub source_ip: Option<IpAddr>,
    pub secure_transport: bool,
}

impl Caller {
    /// The caller of a server running with `--auth off`.
    pub fn unauthenticated(source_ip: Option<IpAddr>, secure_transport: bool) -> Caller {
        Caller {
            principal: None,
            access_key_id: None,
            source_ip,
            secure_transport,
        }
    }
}

/// Application Auto Scaling's signing name: its API is served beside DynamoDB's.
pub const AUTOSCALING_SERVICE: &str = "application-autoscaling";

/// Settings of [`Auth`].
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub enforce: bool,
    pub region: String,
    pub account_id: String,
    pub max_skew: Duration,
}

/// The authenticator and authorizer of one server (or proxy).
pub struct Auth {
    settings: AuthSettings,
    scope: sigv4::Scope,
    signing_keys: sigv4::SigningKeyCache,
    directory: Directory,
}

impl Auth {
    pub fn new(settings: AuthSettings, directory: Directory) -> Auth {
        let scope = sigv4::Scope {
            region: settings.region.clone(),
            service: "dynamodb",
            also: &[AUTOSCALING_SERVICE],
            max_skew: settings.max_skew,
        };
        Auth {
            settings,
            scope,
            signing_keys: sigv4::SigningKeyCache::default(),
            directory,
        }
    }

    /// Opens the user directory in `store`, installs the root credentials and the users of
    /// an IAM config file.
    pub fn open(
        settings: AuthSettings,
        store: Arc<dyn UserStore>,
        root: &RootCredentials,
        iam: Option<&IamConfig>,
    ) -> Result<Auth, SetupError> {
        let directory = Directory::open(store, &settings.account_id, root)?;
        if let Some(iam) = iam {
            directory.apply_iam_config(iam)?;
        }
        Ok(Auth::new(settings, directory))
    }

    /// An authenticator over a read-only replica of a server's principals (`keyfall-dax`).
    pub fn replica(settings: AuthSettings) -> Auth {
        let directory = Directory::replica(&settings.account_id);
        Auth::new(settings, directory)
    }

    pub fn enforcing(&self) -> bool {
        self.settings.enforce
    }

    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    pub fn account_id(&self) -> &str {
        &self.settings.account_id
    }

    pub fn region(&self) -> &str {
        &self.settings.region
    }

    /// Verifies the request's signature. With auth off every request is accepted as is.
    pub fn authenticate(
        &self,
        req: &sigv4::SignedRequest<'_>,
        source_ip: Option<IpAddr>,
        secure_transport: bool,
    ) -> Result<Caller, AuthError> {
        if !self.settings.enforce {
            return Ok(Caller::unauthenticated(source_ip, secure_transport));
        }
        self.directory.check_fresh()?;
        let mut found = None;
        let access_key_id = sigv4::verify(
            req,
            &self.scope,
            &self.signing_keys,
            SystemTime::now(),
            |key| {
                let (secret, principal) = self.directory.lookup_key(key)?;
                found = Some(principal);
                Some(secret)
            },
        )?;
        Ok(Caller {
            principal: found,
            access_key_id: Some(access_key_id),
            source_ip,
            secure_transport,
        })
    }

    /// The part of [`Auth::authenticate`] that needs no body: a missing, malformed, stale or
    /// unknown credential is refused before the body is read (with auth off, nothing is).
    pub fn authenticate_headers(&self, headers: &http::HeaderMap) -> Result<(), AuthError> {
        if !self.settings.enforce {
            return Ok(());
        }
        self.directory.check_fresh()?;
        sigv4::verify_headers(headers, &self.scope, SystemTime::now(), |key| {
            self.directory.lookup_key(key).is_some()
        })
    }

    /// The caller as the directory sees it now: its access key's current principal (with
    /// its current policies), or AccessDenied once the key or its user is gone. For calls
    /// that outlive one request (the push change feed).
    pub fn refresh(&self, caller: &Caller) -> Result<Caller, AuthError> {
        let (Some(_), Some(key)) = (&caller.principal, &caller.access_key_id) else {
            return Ok(caller.clone());
        };
        let (_, principal) = self.directory.lookup_key(key).ok_or_else(|| {
            AuthError::AccessDenied(format!(
                "The access key {key} is no longer valid: it was deleted or deactivated"
            ))
        })?;
        Ok(Caller {
            principal: Some(principal),
            ..caller.clone()
        })
    }

    /// Allows the request when every check is allowed; the first refused check names the
    /// action and resource in AWS's message.
    pub fn authorize(&self, caller: &Caller, checks: &[Check]) -> Result<(), AuthError> {
        let Some(principal) = &caller.principal else {
            return Ok(());
        };
        if principal.root {
            return Ok(());
        }
        for check in checks {
            let ctx = EvalContext::new(check, caller, principal);
            let decision = policy::evaluate(principal.policies.iter().map(|p| &**p), &ctx);
            let reason = match decision {
                Decision::Allow => continue,
                Decision::ExplicitDeny => "with an explicit deny in an identity-based policy",
                Decision::ImplicitDeny => &format!(
                    "because no identity-based policy allows the {} action",
                    check.action
                ),
            };
            return Err(AuthError::AccessDenied(format!(
                "User: {} is not authorized to perform: {} on resource: {} {reason}",
                principal.arn, check.action, check.resource
            )));
        }
        Ok(())
    }

    /// ARN of a table (or `*` for account-wide actions), as policies name it.
    pub fn table_arn(&self, table: &str) -> String {
        format!(
            "arn:aws:dynamodb:{}:{}:table/{table}",
            self.settings.region, self.settings.account_id
        )
    }
}

/// Writes `contents` to `path` readable by the owner only.
pub fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}
