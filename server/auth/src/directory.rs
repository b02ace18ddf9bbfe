//! Users, access keys and policies: persisted in the `_iam` system keyspace (one JSON record
//! per user), served from an immutable in-memory index that each change replaces whole, so
//! request authentication only takes a read lock long enough to clone an `Arc`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use super::iam_config::IamConfig;
use super::policy::Policy;
use super::root::{generate_key_pair, RootCredentials};
use super::{Principal, SetupError};

/// The keyspace a server keeps its user records in.
pub const IAM_KEYSPACE: &str = "_iam";

/// Where a store-backed directory keeps its user records: one opaque record per user
/// name. The server implements it over its storage; this crate names no storage engine,
/// so `keyfall-dax` links none. Errors are the store's own words.
pub trait UserStore: Send + Sync {
    /// Every record, in any order.
    fn records(&self) -> Result<Vec<Vec<u8>>, String>;
    fn record(&self, name: &str) -> Result<Option<Vec<u8>>, String>;
    /// Writes a record durably (as every acknowledged write is).
    fn put(&self, name: &str, record: Vec<u8>) -> Result<(), String>;
    fn delete(&self, name: &str) -> Result<(), String>;
}
/// IAM's limit on access keys per user.
const MAX_KEYS_PER_USER: usize = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct UserRecord {
    name: String,
    user_id: String,
    created: i64,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    keys: Vec<KeyRecord>,
    /// Policy name -> policy document (JSON text, as given).
    #[serde(default)]
    policies: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyRecord {
    id: String,
    secret: String,
    created: i64,
}

/// A user as the admin API lists it (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub user_id: String,
    pub arn: String,
    pub created: i64,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyInfo {
    pub access_key_id: String,
    pub created: i64,
}

/// A freshly created key: the only time its secret is shown.
#[derive(Debug, Clone)]
pub struct NewAccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
}

#[derive(Default)]
struct Index {
    keys: HashMap<String, (String, Arc<Principal>)>,
}

/// A principal with its secrets and policies, as a proxy's replica receives it.
#[derive(Clone)]
pub struct ExportedUser {
    pub name: String,
    pub user_id: String,
    pub root: bool,
    pub tags: BTreeMap<String, String>,
    /// (access key id, secret).
    pub keys: Vec<(String, String)>,
    /// (policy name, document).
    pub policies: Vec<(String, String)>,
}

pub struct Directory {
    /// None for a replica: a read-only copy replaced whole (`keyfall-dax`).
    store: Option<Arc<dyn UserStore>>,
    account_id: String,
    /// The root key pair of a store-backed directory.
    root: Option<(String, String)>,
    index: RwLock<Arc<Index>>,
    /// Serialises read-modify-write changes of user records.
    writer: Mutex<()>,
    /// A replica's copy expires: past this instant it is too old to trust (see
    /// [`Directory::replace_until`]) and requests are refused until the next refresh.
    /// Unix milliseconds; 0 = never (a store-backed directory). An atomic: it is read on
    /// every request.
    expires_ms: std::sync::atomic::AtomicU64,
    /// Bumped by every swap of `index`, so long-lived calls (the push change feed) can
    /// tell cheaply that users, keys or policies changed and re-check their caller.
    generation: std::sync::atomic::AtomicU64,
}

/// IAM's user-name rules: 1-64 of `[\w+=,.@-]`.
pub fn check_user_name(name: &str) -> Result<(), SetupError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(SetupError::Invalid(format!(
            "invalid user name {name:?}: 1 to 64 letters, digits or _+=,.@-"
        )))
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Directory {
    /// Opens the directory; `root` (when given) is the account's root key pair.
    pub fn open(
        store: Arc<dyn UserStore>,
        account_id: &str,
        root: &RootCredentials,
    ) -> Result<Directory, SetupError> {
        let dir = Directory {
            store: Some(store),
            account_id: account_id.to_string(),
            root: Some((root.access_key_id.clone(), root.secret_access_key.clone())),
            index: RwLock::new(Arc::new(Index::default())),
            writer: Mutex::new(()),
            expires_ms: Default::default(),
            generation: Default::default(),
        };
        dir.reindex()?;
        Ok(dir)
    }

    /// An empty read-only replica, filled by [`Directory::replace`].
    pub fn replica(account_id: &str) -> Directory {
        Directory {
            store: None,
            account_id: account_id.to_string(),
            root: None,
            index: RwLock::new(Arc::new(Index::default())),
            writer: Mutex::new(()),
            expires_ms: Default::default(),
            generation: Default::default(),
        }
    }

    /// Replaces a replica's principals, trusted until `expires`: a proxy that cannot
    /// refresh its copy in time refuses requests instead of honouring revoked keys.
    pub fn replace_until(
        &self,
        users: &[ExportedUser],
        expires: std::time::SystemTime,
    ) -> Result<(), SetupError> {
        self.replace(users)?;
        self.expires_ms.store(
            unix_ms(expires).max(1),
            std::sync::atomic::Ordering::Release,
        );
        Ok(())
    }

    /// Refuses to authenticate from an expired replica.
    pub fn check_fresh(&self) -> Result<(), super::AuthError> {
        let expires = self.expires_ms.load(std::sync::atomic::Ordering::Acquire);
        if expires != 0 && unix_ms(std::time::SystemTime::now()) > expires {
            return Err(super::AuthError::Unavailable(
                "The proxy's copy of the server's users is out of date and could not be refreshed; retry later.".into(),
            ));
        }
        Ok(())
    }

    /// Changes with every change of users, keys or policies.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    fn publish(&self, index: Index) {
        *self.index.write() = Arc::new(index);
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    fn store(&self) -> Result<&Arc<dyn UserStore>, SetupError> {
        self.store.as_ref().ok_or_else(|| {
            SetupError::Invalid("this directory is a read-only replica of the server's".into())
        })
    }

    fn root_principal(&self) -> Arc<Principal> {
        Arc::new(Principal::new(
            "root".into(),
            self.account_id.clone(),
            format!("arn:aws:iam::{}:root", self.account_id),
            true,
            Vec::new(),
            Vec::new(),
        ))
    }

    /// The secret and principal of an access key.
    pub fn lookup_key(&self, access_key_id: &str) -> Option<(String, Arc<Principal>)> {
        let index = self.index.read().clone();
        index.keys.get(access_key_id).cloned()
    }

    /// Every principal with secrets and policies, root first.
    pub fn export(&self) -> Result<Vec<ExportedUser>, SetupError> {
        let mut out = Vec::new();
        if let Some((id, secret)) = &self.root {
            out.push(ExportedUser {
                name: "root".into(),
                user_id: self.account_id.clone(),
                root: true,
                tags: BTreeMap::new(),
                keys: vec![(id.clone(), secret.clone())],
                policies: Vec::new(),
            });
        }
        for r in self.records()? {
            out.push(ExportedUser {
                name: r.name,
                user_id: r.user_id,
                root: false,
                tags: r.tags,
                keys: r.keys.into_iter().map(|k| (k.id, k.secret)).collect(),
                policies: r.policies.into_iter().collect(),
            });
        }
        Ok(out)
    }

    /// Replaces a replica's principals (compiling their policies) in one swap.
    pub fn replace(&self, users: &[ExportedUser]) -> Result<(), SetupError> {
        let mut index = Index::default();
        for u in users {
            let principal = if u.root {
                self.root_principal()
            } else {
                self.principal(
                    &u.name,
                    &u.user_id,
                    &u.tags,
                    u.policies.iter().map(|(n, d)| (n, d)),
                )?
            };
            for (id, secret) in &u.keys {
                index
                    .keys
                    .insert(id.clone(), (secret.clone(), principal.clone()));
            }
        }
        self.publish(index);
        Ok(())
    }

    fn principal<'a>(
        &self,
        name: &str,
        user_id: &str,
        tags: &BTreeMap<String, String>,
        policies: impl Iterator<Item = (&'a String, &'a String)>,
    ) -> Result<Arc<Principal>, SetupError> {
        let mut compiled = Vec::new();
        for (policy, doc) in policies {
            let p = Policy::from_json_str(doc)
                .map_err(|e| SetupError::Invalid(format!("user {name}: policy {policy}: {e}")))?;
            compiled.push(Arc::new(p));
        }
        Ok(Arc::new(Principal::new(
            name.to_string(),
            user_id.to_string(),
            self.user_arn(name),
            false,
            compiled,
            tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        )))
    }

    pub fn user_arn(&self, name: &str) -> String {
        format!("arn:aws:iam::{}:user/{name}", self.account_id)
    }

    fn records(&self) -> Result<Vec<UserRecord>, SetupError> {
        let mut out = Vec::new();
        for v in self.store()?.records().map_err(SetupError::Storage)? {
            let record: UserRecord = serde_json::from_slice(&v)
                .map_err(|e| SetupError::Invalid(format!("corrupt user record: {e}")))?;
            out.push(record);
        }
        Ok(out)
    }

    fn record(&self, name: &str) -> Result<Option<UserRecord>, SetupError> {
        match self.store()?.record(name).map_err(SetupError::Storage)? {
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| SetupError::Invalid(format!("corrupt user record: {e}"))),
            None => Ok(None),
        }
    }

    fn existing(&self, name: &str) -> Result<UserRecord, SetupError> {
        self.record(name)?.ok_or_else(|| {
            SetupError::NotFound(format!("The user with name {name} cannot be found."))
        })
    }

    fn save(&self, record: &UserRecord) -> Result<(), SetupError> {
        let value = serde_json::to_vec(record).map_err(|e| SetupError::Io(e.to_string()))?;
        self.store()?
            .put(&record.name, value)
            .map_err(SetupError::Storage)?;
        self.reindex()
    }

    /// Rebuilds the key index from the stored records.
    fn reindex(&self) -> Result<(), SetupError> {
        let mut index = Index::default();
        if let Some((id, secret)) = &self.root {
            index
                .keys
                .insert(id.clone(), (secret.clone(), self.root_principal()));
        }
        for r in self.records()? {
            let principal = self.principal(&r.name, &r.user_id, &r.tags, r.policies.iter())?;
            for k in &r.keys {
                index
                    .keys
                    .insert(k.id.clone(), (k.secret.clone(), principal.clone()));
            }
        }
        self.publish(index);
        Ok(())
    }

    fn key_in_use(&self, id: &str) -> bool {
        self.lookup_key(id).is_some()
    }

    /// Installs the users of an IAM config file, replacing same-named users' keys,
    /// policies and tags (the file is the source of truth for the users it names).
    pub fn apply_iam_config(&self, config: &IamConfig) -> Result<(), SetupError> {
        let _w = self.writer.lock();
        for user in &config.users {
            let mut record = match self.record(&user.name)? {
                Some(r) => r,
                None => new_record(&user.name),
            };
            record.tags = user.tags.clone();
            record.keys.clear();
            if let (Some(id), Some(secret)) = (&user.access_key_id, &user.secret_access_key) {
                record.keys.push(KeyRecord {
                    id: id.clone(),
                    secret: secret.clone(),
                    created: now(),
                });
            }
            record.policies = user
                .policies
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("iam-config-{i}"), p.to_string()))
                .collect();
            self.save(&record)?;
        }
        Ok(())
    }

    pub fn create_user(
        &self,
        name: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<UserInfo, SetupError> {
        check_user_name(name)?;
        let _w = self.writer.lock();
        if self.record(name)?.is_some() {
            return Err(SetupError::Conflict(format!(
                "User with name {name} already exists."
            )));
        }
        let mut record = new_record(name);
        record.tags = tags;
        self.save(&record)?;
        Ok(self.info(&record))
    }

    pub fn delete_user(&self, name: &str) -> Result<(), SetupError> {
        let _w = self.writer.lock();
        self.existing(name)?;
        self.store()?.delete(name).map_err(SetupError::Storage)?;
        self.reindex()
    }

    pub fn list_users(&self) -> Result<Vec<UserInfo>, SetupError> {
        Ok(self.records()?.iter().map(|r| self.info(r)).collect())
    }

    fn info(&self, r: &UserRecord) -> UserInfo {
        UserInfo {
            name: r.name.clone(),
            user_id: r.user_id.clone(),
            arn: self.user_arn(&r.name),
            created: r.created,
            tags: r.tags.clone(),
        }
    }

    pub fn create_access_key(&self, user: &str) -> Result<NewAccessKey, SetupError> {
        let _w = self.writer.lock();
        let mut record = self.existing(user)?;
        if record.keys.len() >= MAX_KEYS_PER_USER {
            return Err(SetupError::LimitExceeded(format!(
                "Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}"
            )));
        }
        let (id, secret) = loop {
            let pair = generate_key_pair("AKIA");
            if !self.key_in_use(&pair.0) {
                break pair;
            }
        };
        record.keys.push(KeyRecord {
            id: id.clone(),
            secret: secret.clone(),
            created: now(),
        });
        self.save(&record)?;
        Ok(NewAccessKey {
            access_key_id: id,
            secret_access_key: secret,
        })
    }

    pub fn delete_access_key(&self, user: &str, access_key_id: &str) -> Result<(), SetupError> {
        let _w = self.writer.lock();
        let mut record = self.existing(user)?;
        let before = record.keys.len();
        record.keys.retain(|k| k.id != access_key_id);
        if record.keys.len() == before {
            return Err(SetupError::NotFound(format!(
                "The Access Key with id {access_key_id} cannot be found."
            )));
        }
        self.save(&record)
    }

    pub fn list_access_keys(&self, user: &str) -> Result<Vec<AccessKeyInfo>, SetupError> {
        Ok(self
            .existing(user)?
            .keys
            .iter()
            .map(|k| AccessKeyInfo {
                access_key_id: k.id.clone(),
                created: k.created,
            })
            .collect())
    }

    /// Adds or replaces an inline policy after checking it compiles.
    pub fn put_user_policy(
        &self,
        user: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), SetupError> {
        if policy_name.is_empty() || policy_name.len() > 128 {
            return Err(SetupError::Invalid(
                "policy name must be 1 to 128 characters".into(),
            ));
        }
        Policy::from_json_str(document)
            .map_err(|e| SetupError::MalformedPolicy(format!("policy {policy_name}: {e}")))?;
        let _w = self.writer.lock();
        let mut record = self.existing(user)?;
        record
            .policies
            .insert(policy_name.to_string(), document.to_string());
        self.save(&record)
    }

    pub fn get_user_policy(&self, user: &str, policy_name: &str) -> Result<String, SetupError> {
        self.existing(user)?
            .policies
            .remove(policy_name)
            .ok_or_else(|| {
                SetupError::NotFound(format!(
                    "The user policy with name {policy_name} cannot be found."
                ))
            })
    }

    pub fn delete_user_policy(&self, user: &str, policy_name: &str) -> Result<(), SetupError> {
        let _w = self.writer.lock();
        let mut record = self.existing(user)?;
        if record.policies.remove(policy_name).is_none() {
            return Err(SetupError::NotFound(format!(
                "The user policy with name {policy_name} cannot be found."
            )));
        }
        self.save(&record)
    }

    pub fn list_user_policies(&self, user: &str) -> Result<Vec<String>, SetupError> {
        Ok(self.existing(user)?.policies.into_keys().collect())
    }
}

fn new_record(name: &str) -> UserRecord {
    // IAM user ids: `AIDA` followed by 17 upper-case characters.
    let (id, _) = generate_key_pair("AIDA");
    UserRecord {
        name: name.to_string(),
        user_id: id.chars().take(21).collect(),
        created: now(),
        tags: BTreeMap::new(),
        keys: Vec::new(),
        policies: BTreeMap::new(),
    }
}

fn unix_ms(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
