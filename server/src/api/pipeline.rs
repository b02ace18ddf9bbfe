//! The one path every request of keyfall-server takes, from either API (JSON over HTTP,
//! gRPC, and the JSON API carried over gRPC): decode into the command, authorize the
//! command, admit it, run it on the engine off the async workers, audit it. The Admin
//! service's IAM calls take the same path without a table (`run_directory`). The APIs only
//! receive, authenticate, decode their wire form and map the answer.
//!
//! Invariant: authorization reads the same command the engine runs (or, for a request that
//! did not decode, its table and key with its attributes unknown), so what IAM allowed is
//! what executes.

use std::sync::Arc;

use keyfall_types::command::Decode;

use crate::auth::checks::Authorize;
use crate::auth::{Auth, AuthError, Caller, Check, Directory};
use crate::engine::Engine;
use crate::error::Error;

/// Why a request did not run, or what it answered.
#[derive(Debug)]
pub enum Failure {
    /// Refused by authorization.
    Auth(AuthError),
    /// The engine's answer (a decoding error included).
    Engine(Error),
}

impl Failure {
    /// DynamoDB's name for the answer, for metrics and the audit log.
    pub fn type_name(&self) -> &'static str {
        match self {
            Failure::Auth(e) => e.type_name(),
            Failure::Engine(e) => e.type_name(),
        }
    }
}

/// Why a directory call ([`Pipeline::run_directory`]) did not answer.
#[derive(Debug)]
pub enum DirectoryFailure<E> {
    Auth(AuthError),
    /// The directory's own error.
    Directory(E),
    /// The blocking task did not finish.
    Stopped(String),
}

/// One audit line of a call that reached the pipeline.
fn record(
    audit: &crate::audit::Audit,
    call: &Call<'_>,
    action: &str,
    resources: &[String],
    outcome: Option<&str>,
) {
    let id = request_id_or_new(call.request_id);
    audit.record(&id, call.caller, call.via, action, resources, outcome);
}

/// Who asks, through which API, under which request id.
pub struct Call<'a> {
    pub caller: &'a Caller,
    /// `json` or `grpc`, for the audit log.
    pub via: &'static str,
    /// The id the answer carries; empty when the API makes none (gRPC): one is made for an
    /// audit line that needs it.
    pub request_id: &'a str,
    /// Set once the request reached [`Pipeline::run`], which audits it; the API audits the
    /// requests refused before.
    pub ran: std::sync::atomic::AtomicBool,
}

impl<'a> Call<'a> {
    pub fn new(caller: &'a Caller, via: &'static str, request_id: &'a str) -> Call<'a> {
        Call {
            caller,
            via,
            request_id,
            ran: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn ran(&self) -> bool {
        self.ran.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[derive(Clone)]
pub struct Pipeline {
    pub engine: Arc<Engine>,
    pub auth: Arc<Auth>,
    pub audit: Option<Arc<crate::audit::Audit>>,
}

impl Pipeline {
    /// Runs one request as `action`: decode, authorize, admit, run `f`, audit.
    pub async fn run<I, T, F>(
        &self,
        call: &Call<'_>,
        action: &'static str,
        input: I,
        f: F,
    ) -> Result<T, Failure>
    where
        I: Decode,
        I::Command: Authorize + Send + 'static,
        T: Send + 'static,
        F: FnOnce(&Engine, I::Command) -> crate::error::Result<T> + Send + 'static,
    {
        call.ran.store(true, std::sync::atomic::Ordering::Relaxed);
        let decoded = input.decode();
        let audit = self.audit.as_ref().filter(|a| a.wants(action));
        let restricted = call.caller.principal.as_ref().is_some_and(|p| !p.root);
        // The root user and `--auth off` skip computing condition keys unless the audit
        // log wants the resources.
        let checks = (restricted || audit.is_some())
            .then(|| decoded.checks(action, &super::EngineSchemas(&self.engine)));
        let allowed = match (&checks, restricted) {
            (Some(checks), true) => self.auth.authorize(call.caller, checks),
            _ => Ok(()),
        };
        let result = match (allowed, decoded) {
            (Err(e), Ok(_)) => Err(Failure::Auth(e)),
            // A malformed request the caller may not send to its table answers its own
            // error: it comes from the request's bytes alone, while "no such table" is told
            // only to callers allowed on the table.
            (Err(_), Err(invalid)) => Err(Failure::Engine(invalid.error)),
            (Ok(()), decoded) => self
                .engine
                .run(move |e| match decoded {
                    Ok(command) => {
                        admit::<I>(e, &command)?;
                        f(e, command)
                    }
                    Err(invalid) => Err(e.refused(invalid)),
                })
                .await
                .map_err(Failure::Engine),
        };
        if let (Some(audit), Some(checks)) = (audit, checks) {
            let mut resources: Vec<String> = checks.into_iter().map(|c| c.resource).collect();
            resources.dedup();
            let outcome = result.as_ref().err().map(Failure::type_name);
            record(audit, call, action, &resources, outcome);
        }
        result
    }

    /// Runs a call on the IAM directory (the Admin service's actions): the same steps as
    /// [`Pipeline::run`] without a table: authorize `action` on `resource` (a user's ARN),
    /// run `f` off the async workers, audit. The answer is `f`'s, or the refusal.
    pub async fn run_directory<T, E>(
        &self,
        call: &Call<'_>,
        action: &'static str,
        resource: String,
        f: impl FnOnce(&Directory) -> Result<T, E> + Send + 'static,
        name: fn(&E) -> &'static str,
    ) -> Result<T, DirectoryFailure<E>>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        call.ran.store(true, std::sync::atomic::Ordering::Relaxed);
        let check = Check {
            action,
            resource: resource.clone(),
            ..Check::default()
        };
        let result = match self.auth.authorize(call.caller, &[check]) {
            Err(e) => Err(DirectoryFailure::Auth(e)),
            Ok(()) => {
                let auth = self.auth.clone();
                match tokio::task::spawn_blocking(move || f(auth.directory())).await {
                    Ok(out) => out.map_err(DirectoryFailure::Directory),
                    Err(e) => Err(DirectoryFailure::Stopped(e.to_string())),
                }
            }
        };
        if let Some(audit) = &self.audit {
            let outcome = result.as_ref().err().map(|f| match f {
                DirectoryFailure::Auth(e) => e.type_name(),
                DirectoryFailure::Directory(e) => name(e),
                DirectoryFailure::Stopped(_) => "InternalServerError",
            });
            record(audit, call, action, &[resource], outcome);
        }
        result
    }

    /// The audit line of a request answered without [`Pipeline::run`] (not authenticated,
    /// unknown or malformed) for DynamoDB `operation`: no resources.
    pub fn audit_unrun(&self, call: &Call<'_>, operation: &str, outcome: Option<&str>) {
        let Some(audit) = &self.audit else { return };
        if call.ran() {
            return;
        }
        let action = format!("dynamodb:{operation}");
        if audit.wants(&action) {
            let id = request_id_or_new(call.request_id);
            audit.record(&id, call.caller, call.via, &action, &[], outcome);
        }
    }
}

/// Admission, between authorization and the engine: every table the command reads or
/// writes (or the GSI it reads) must have provisioned throughput left (`Engine::admit`).
fn admit<I: Decode>(e: &Engine, command: &I::Command) -> crate::error::Result<()> {
    let mut refused = None;
    I::demands(command, &mut |demand| {
        if refused.is_none() {
            refused = e.admit(demand).err();
        }
    });
    refused.map_or(Ok(()), Err)
}

/// A request id: the API's, else a new one.
pub fn request_id_or_new(id: &str) -> String {
    if id.is_empty() {
        new_request_id()
    } else {
        id.to_string()
    }
}

/// DynamoDB's request id form: 32 upper-case hex digits.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string().to_uppercase()
}
