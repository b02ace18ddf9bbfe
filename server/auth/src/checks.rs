//! What a DynamoDB request asks to do, as IAM sees it: one [`Check`] per action and
//! resource, carrying the DynamoDB condition keys computed from the request.
//!
//! Batches are checked per table under their own action (`dynamodb:BatchWriteItem`), with
//! every item's keys and attributes in the context; transaction parts are checked as the
//! single-item actions they stand for (`dynamodb:PutItem`, `dynamodb:ConditionCheckItem`...)
//! with `dynamodb:EnclosingOperation` set. Any refused check refuses the whole request.

use std::collections::HashMap;

use keyfall_types::command::{self, Page, Select, WriteReturns};
use keyfall_types::expr;
use keyfall_types::expr::key_condition::bound_partition;
use keyfall_types::model::{AttributeValue, Item};
use keyfall_types::partiql::{
    self, BatchExecuteStatement, ExecuteStatement, ExecuteTransaction, Plan, Statement,
};
use keyfall_types::streams::{
    DescribeStreamInput, GetRecordsInput, GetShardIteratorInput, ListStreamsInput,
};
use keyfall_types::types::*;

/// One authorization question: may the caller perform `action` on `resource`, given these
/// condition keys? `None` keys are absent from the request context.
#[derive(Debug, Clone, Default)]
pub struct Check {
    pub action: &'static str,
    pub resource: String,
    pub leading_keys: Option<Vec<String>>,
    pub attributes: Option<Vec<String>>,
    pub select: Option<String>,
    pub return_values: Option<String>,
    pub return_consumed_capacity: Option<String>,
    pub enclosing_operation: Option<&'static str>,
    /// `dynamodb:FullTableScan` (`true`/`false`): a PartiQL SELECT that reads every
    /// partition. Absent for other requests.
    pub full_table_scan: Option<String>,
    /// `dynamodb:LeadingKeys` could not be computed: the request binds no single partition
    /// (a Scan, a Query whose key condition does not parse or names no one partition key
    /// value, a table whose schema is unknown). Conditions on the key then deny.
    pub leading_keys_unknown: bool,
    /// `dynamodb:Attributes` could not be computed (an expression that does not parse).
    pub attributes_unknown: bool,
}

/// The table facts checks need: key attribute names and ARNs.
pub trait Schemas {
    /// Partition and sort key names of a table, or of one of its indexes.
    fn key_names(&self, table: &str, index: Option<&str>) -> Option<(String, Option<String>)>;
    fn table_arn(&self, table: &str) -> String;
    fn stream_arn_of_iterator(&self, iterator: &str) -> Option<String>;
    /// The ARN of a table's current stream.
    fn stream_arn(&self, table: &str) -> Option<String>;
}

/// A request that can say what it needs to be allowed to do.
pub trait Authorize {
    fn checks(&self, action: &'static str, schemas: &dyn Schemas) -> Vec<Check>;
}

fn name(t: &Option<String>) -> &str {
    t.as_deref().unwrap_or("")
}

fn table_check(action: &'static str, schemas: &dyn Schemas, table: &Option<String>) -> Vec<Check> {
    vec![Check {
        action,
        resource: schemas.table_arn(name(table)),
        ..Check::default()
    }]
}

fn account_check(action: &'static str) -> Vec<Check> {
    vec![Check {
        action,
        resource: "*".into(),
        ..Check::default()
    }]
}

/// A partition key value as IAM compares it: its scalar's text.
fn key_text(v: &AttributeValue) -> Option<String> {
    match v {
        AttributeValue::S(s) => Some(s.clone()),
        AttributeValue::N(n) => Some(n.to_string()),
        AttributeValue::B(b) => {
            use base64::Engine as _;
            Some(base64::engine::general_purpose::STANDARD.encode(b))
        }
        _ => None,
    }
}

/// Accumulates the condition keys of the item-level parts aimed at one resource.
#[derive(Default)]
struct Keys {
    leading: Vec<String>,
    attributes: Vec<String>,
    leading_unknown: bool,
    attributes_unknown: bool,
}

impl Keys {
    fn attr(&mut self, n: &str) {
        if !self.attributes.iter().any(|a| a == n) {
            self.attributes.push(n.to_string());
        }
    }

    /// What a write's condition and update touch.
    fn write_trees(
        &mut self,
        (condition, update): (&Option<expr::Condition>, &Option<expr::Update>),
    ) {
        if let Some(c) = condition {
            c.top_level_names(&mut self.attributes);
        }
        if let Some(u) = update {
            u.top_level_names(&mut self.attributes);
        }
    }

    fn list<'a>(&mut self, names: impl IntoIterator<Item = &'a String>) {
        for n in names {
            self.attr(n);
        }
    }

    /// Records a key or item: its partition key value and (for a key) its attribute names.
    /// Without a known schema, or without a usable partition key value, the partition is
    /// unknown; so it is without the key or item itself, absent and empty alike (the
    /// protobuf form of a request cannot tell them apart, and both APIs must ask the same).
    fn item(&mut self, item: Option<&Item>, pk: Option<&str>) {
        let Some(item) = item.filter(|i| !i.is_empty()) else {
            self.leading_unknown = true;
            return;
        };
        match pk.and_then(|pk| item.get(pk)).and_then(key_text) {
            Some(v) => {
                if !self.leading.contains(&v) {
                    self.leading.push(v);
                }
            }
            None => self.leading_unknown = true,
        }
        self.list(item.keys());
    }

    fn key_attrs(&mut self, keys: &Option<(String, Option<String>)>) {
        if let Some((pk, sk)) = keys {
            self.attr(pk);
            if let Some(sk) = sk {
                self.attr(sk);
            }
        }
    }

    fn into_check(self, action: &'static str, resource: String) -> Check {
        Check {
            action,
            resource,
            leading_keys: Some(self.leading),
            attributes: Some(self.attributes),
            leading_keys_unknown: self.leading_unknown,
            attributes_unknown: self.attributes_unknown,
            ..Check::default()
        }
    }
}

fn rcc(v: &Option<String>) -> Option<String> {
    Some(v.clone().unwrap_or_else(|| "NONE".into()))
}

fn pk_of(keys: &Option<(String, Option<String>)>) -> Option<&str> {
    keys.as_ref().map(|(pk, _)| pk.as_str())
}

/// Keys of a single-table item command: the key attributes, the subject's partition and
/// attribute names, and what the parsed trees touch.
fn item_keys(s: &dyn Schemas, table: &str, index: Option<&str>, subject: Option<&Item>) -> Keys {
    let schema = s.key_names(table, index);
    let mut k = Keys::default();
    k.key_attrs(&schema);
    if subject.is_some() {
        k.item(subject, pk_of(&schema));
    }
    k
}

impl Authorize for command::GetItem {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        let mut k = Keys::default();
        k.item(Some(&self.key), pk_of(&s.key_names(&self.table, None)));
        if let Some(p) = &self.projection {
            p.top_level_names(&mut k.attributes);
        }
        let select = if self.projection.is_some() {
            Select::Specific
        } else {
            Select::AllAttributes
        };
        let mut c = k.into_check("dynamodb:GetItem", s.table_arn(&self.table));
        c.select = Some(select.as_str().into());
        c.return_consumed_capacity = Some(self.capacity.as_str().into());
        vec![c]
    }
}

/// The check of a Put, Update or Delete.
fn write_check(
    action: &'static str,
    s: &dyn Schemas,
    table: &str,
    subject: &Item,
    trees: (&Option<expr::Condition>, &Option<expr::Update>),
    returns: &WriteReturns,
) -> Vec<Check> {
    let mut k = item_keys(s, table, None, Some(subject));
    k.write_trees(trees);
    let mut c = k.into_check(action, s.table_arn(table));
    c.return_values = Some(returns.values.as_str().into());
    c.return_consumed_capacity = Some(returns.capacity.as_str().into());
    vec![c]
}

impl Authorize for command::PutItem {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        let trees = (&self.condition, &None);
        write_check(
            "dynamodb:PutItem",
            s,
            &self.table,
            &self.item,
            trees,
            &self.returns,
        )
    }
}

impl Authorize for command::UpdateItem {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        let trees = (&self.condition, &self.update);
        write_check(
            "dynamodb:UpdateItem",
            s,
            &self.table,
            &self.key,
            trees,
            &self.returns,
        )
    }
}

impl Authorize for command::DeleteItem {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        let trees = (&self.condition, &None);
        write_check(
            "dynamodb:DeleteItem",
            s,
            &self.table,
            &self.key,
            trees,
            &self.returns,
        )
    }
}

fn read_resource(s: &dyn Schemas, table: &str, index: &Option<String>) -> String {
    match index {
        Some(i) => format!("{}/index/{i}", s.table_arn(table)),
        None => s.table_arn(table),
    }
}

/// The check of a Query or Scan page, with what its filter and projection touch.
fn page_check(action: &'static str, s: &dyn Schemas, page: &Page, k: &mut Keys) -> Check {
    if let Some(f) = &page.filter {
        f.top_level_names(&mut k.attributes);
    }
    if let Some(p) = &page.projection {
        p.top_level_names(&mut k.attributes);
    }
    let mut c = std::mem::take(k).into_check(action, read_resource(s, &page.table, &page.index));
    c.select = Some(page.select.as_str().into());
    c.return_consumed_capacity = Some(page.capacity.as_str().into());
    c
}

impl Authorize for command::Query {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        let page = &self.page;
        let schema = s.key_names(&page.table, page.index.as_deref());
        let mut k = item_keys(s, &page.table, page.index.as_deref(), None);
        self.key_condition.top_level_names(&mut k.attributes);
        // The partition comes from the key condition the engine will evaluate; anything
        // it cannot bind to one partition is unknown, and denied by LeadingKeys policies.
        match pk_of(&schema)
            .and_then(|pk| bound_partition(&self.key_condition, pk))
            .and_then(key_text)
        {
            Some(v) => k.leading.push(v),
            None => k.leading_unknown = true,
        }
        vec![page_check("dynamodb:Query", s, page, &mut k)]
    }
}

impl Authorize for command::Scan {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        let page = &self.page;
        let mut k = item_keys(s, &page.table, page.index.as_deref(), None);
        let mut c = page_check("dynamodb:Scan", s, page, &mut k);
        // A Scan reads every partition: a policy that limits the partitions a caller may
        // read cannot allow it (IAM would see an absent key, which ForAllValues lets
        // through).
        c.leading_keys = None;
        c.leading_keys_unknown = true;
        vec![c]
    }
}

/// The PartiQL actions, whose statements are authorized one by one.
const PARTIQL_REQUESTS: &[&str] = &[
    "dynamodb:ExecuteStatement",
    "dynamodb:BatchExecuteStatement",
    "dynamodb:ExecuteTransaction",
];

/// The IAM action of a PartiQL statement.
fn partiql_action(statement: &Statement) -> &'static str {
    match statement {
        Statement::Select(_) | Statement::Exists(_) => "dynamodb:PartiQLSelect",
        Statement::Insert(_) => "dynamodb:PartiQLInsert",
        Statement::Update(_) => "dynamodb:PartiQLUpdate",
        Statement::Delete(_) => "dynamodb:PartiQLDelete",
    }
}

/// A PartiQL statement's check: the checks of the command its plan runs (the plan made by
/// the same function, from the same statement and schema, as the engine makes it), under
/// the statement's PartiQL action, with `dynamodb:FullTableScan` and the selected paths
/// among its attributes. A statement that does not plan (its table missing, its WHERE not
/// naming a key a write needs) is checked on its table with its partition and attributes
/// unknown: the caller learns nothing of the table before being allowed to.
pub fn partiql_checks(
    cmd: &ExecuteStatement,
    s: &dyn Schemas,
    enclosing: Option<&'static str>,
) -> Vec<Check> {
    let statement = &cmd.statement;
    let action = partiql_action(statement);
    let (table, index) = statement.source();
    let keys = s.key_names(table, index);
    let planned = keys
        .is_some()
        .then(|| partiql::plan(cmd, keys))
        .and_then(Result::ok);
    let mut checks = match &planned {
        Some(Plan::Get(c)) => c.checks(action, s),
        Some(Plan::Query { queries, .. }) => {
            let mut merged: Option<Check> = None;
            for q in queries {
                for c in q.checks(action, s) {
                    match &mut merged {
                        None => merged = Some(c),
                        Some(m) => {
                            for v in c.leading_keys.into_iter().flatten() {
                                if let Some(l) = &mut m.leading_keys {
                                    if !l.contains(&v) {
                                        l.push(v);
                                    }
                                }
                            }
                            m.leading_keys_unknown |= c.leading_keys_unknown;
                        }
                    }
                }
            }
            merged.into_iter().collect()
        }
        Some(Plan::Scan(c)) => c.checks(action, s),
        Some(Plan::Put(c)) => c.checks(action, s),
        Some(Plan::Update(c)) => c.checks(action, s),
        Some(Plan::Delete(c)) => c.checks(action, s),
        Some(Plan::Check {
            table,
            key,
            condition,
        }) => {
            let mut k = item_keys(s, table, None, Some(key));
            k.write_trees((&Some(condition.clone()), &None));
            vec![k.into_check(action, s.table_arn(table))]
        }
        None => {
            let mut k = item_keys(s, table, index, None);
            k.leading_unknown = true;
            k.attributes_unknown = true;
            vec![k.into_check(action, read_resource(s, table, &index.map(str::to_string)))]
        }
    };
    for c in &mut checks {
        c.action = action;
        c.enclosing_operation = enclosing;
        if let Statement::Select(sel) = statement {
            c.full_table_scan = Some(planned.as_ref().is_none_or(Plan::is_full_scan).to_string());
            if let (Some(paths), Some(attrs)) = (&sel.projection, &mut c.attributes) {
                for p in paths {
                    if let Some(top) = p.top() {
                        if !attrs.iter().any(|a| a == top) {
                            attrs.push(top.to_string());
                        }
                    }
                }
                c.select = Some(Select::Specific.as_str().into());
            }
        }
    }
    checks
}

impl Authorize for ExecuteStatement {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        partiql_checks(self, s, None)
    }
}

/// Each statement that parsed, as ExecuteStatement would be checked: the batch runs only if
/// all are allowed.
impl Authorize for BatchExecuteStatement {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        self.statements
            .iter()
            .flatten()
            .flat_map(|st| partiql_checks(st, s, None))
            .collect()
    }
}

/// Each statement, with `dynamodb:EnclosingOperation` `ExecuteTransaction`.
impl Authorize for ExecuteTransaction {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        self.statements
            .iter()
            .flat_map(|st| partiql_checks(st, s, Some("ExecuteTransaction")))
            .collect()
    }
}

/// A request as decoded: the command's checks, or those of the request that did not decode.
impl<C: Authorize> Authorize for Result<C, command::Invalid> {
    fn checks(&self, action: &'static str, s: &dyn Schemas) -> Vec<Check> {
        match self {
            Ok(command) => command.checks(action, s),
            Err(invalid) => invalid.checks(action, s),
        }
    }
}

/// A request that did not decode is still authorized before its error is answered: on its
/// table, with the partition of the key or item it gave, and its attributes unknown (so a
/// policy that limits them denies it).
impl Authorize for command::Invalid {
    fn checks(&self, action: &'static str, s: &dyn Schemas) -> Vec<Check> {
        // A PartiQL request that does not decode (a statement that does not parse, a bad
        // Limit) has no IAM action of its own (PartiQL's are per statement kind), and its
        // error depends on the request alone: nothing to authorize, nothing learnt.
        if PARTIQL_REQUESTS.contains(&action) {
            return Vec::new();
        }
        let table = self.table.as_deref().unwrap_or("");
        let mut k = item_keys(s, table, None, self.subject.as_ref());
        k.leading_unknown |= self.subject.is_none();
        k.attributes_unknown = true;
        vec![k.into_check(action, s.table_arn(table))]
    }
}

/// Request maps iterate in hash order; checks come out sorted by table for stable messages.
fn sorted_tables<V>(m: &Option<HashMap<String, V>>) -> Vec<(&String, &V)> {
    let mut v: Vec<_> = m.iter().flatten().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

/// What a read's projection touches (unknown when it did not decode); whether it projects.
fn projected(
    k: &mut Keys,
    projection: &keyfall_types::error::Result<Option<expr::Projection>>,
) -> bool {
    match projection {
        Ok(Some(p)) => {
            p.top_level_names(&mut k.attributes);
            true
        }
        Ok(None) => false,
        Err(_) => {
            k.attributes_unknown = true;
            true
        }
    }
}

impl Authorize for command::BatchGetItem {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        let mut tables: Vec<&command::BatchGetTable> = self.tables.iter().collect();
        tables.sort_by(|a, b| a.table.cmp(&b.table));
        tables
            .into_iter()
            .map(|t| {
                let pk = pk_of(&s.key_names(&t.table, None)).map(str::to_string);
                let mut k = Keys::default();
                for key in &t.request.keys {
                    k.item(Some(key), pk.as_deref());
                }
                let select = if projected(&mut k, &t.projection) {
                    Select::Specific
                } else {
                    Select::AllAttributes
                };
                let mut c = k.into_check("dynamodb:BatchGetItem", s.table_arn(&t.table));
                c.select = Some(select.as_str().into());
                c.return_consumed_capacity = Some(self.capacity.as_str().into());
                c
            })
            .collect()
    }
}

impl Authorize for BatchWriteItemInput {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        sorted_tables(&self.request_items)
            .into_iter()
            .map(|(table, writes)| {
                let schema = s.key_names(table, None);
                let mut k = Keys::default();
                k.key_attrs(&schema);
                for w in writes {
                    if let Some(p) = &w.put_request {
                        k.item(Some(&p.item), pk_of(&schema));
                    }
                    if let Some(d) = &w.delete_request {
                        k.item(Some(&d.key), pk_of(&schema));
                    }
                }
                let mut c = k.into_check("dynamodb:BatchWriteItem", s.table_arn(table));
                c.return_consumed_capacity = rcc(&self.return_consumed_capacity);
                c
            })
            .collect()
    }
}

impl Authorize for command::TransactWriteItems {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        // A part refused before its table is looked up names nothing to authorize: the
        // engine answers its error before reading any table.
        let named = self.parts.iter().filter_map(|p| match p {
            command::TransactPart::Named {
                action,
                table,
                write,
            } => Some((action, table, write)),
            command::TransactPart::Malformed(_) => None,
        });
        named
            .map(|(action, table, write)| {
                let mut k = match write {
                    Ok(w) => {
                        let mut k = item_keys(s, table, None, Some(&w.subject));
                        k.write_trees((&w.condition, &w.update));
                        k
                    }
                    Err(command::PartError::Item { subject, .. }) => {
                        let mut k = item_keys(s, table, None, subject.as_ref());
                        k.leading_unknown |= subject.is_none();
                        k
                    }
                    Err(command::PartError::Request(_)) => {
                        let mut k = item_keys(s, table, None, None);
                        k.leading_unknown = true;
                        k
                    }
                };
                k.attributes_unknown |= write.is_err();
                let mut c = k.into_check(action.iam_action(), s.table_arn(table));
                c.enclosing_operation = Some("TransactWriteItems");
                c.return_consumed_capacity = Some(self.capacity.as_str().into());
                c
            })
            .collect()
    }
}

impl Authorize for command::TransactGetItems {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        // A Get refused before its table is looked up names nothing to authorize.
        let named = self
            .parts
            .iter()
            .filter_map(|p| Some((p.table.as_ref().ok()?, p)));
        named
            .map(|(table, p)| {
                let pk = pk_of(&s.key_names(table, None)).map(str::to_string);
                let mut k = Keys::default();
                match &p.key {
                    Ok(key) => k.item(Some(key), pk.as_deref()),
                    Err(_) => k.leading_unknown = true,
                }
                let select = if projected(&mut k, &p.projection) {
                    Select::Specific
                } else {
                    Select::AllAttributes
                };
                let mut c = k.into_check("dynamodb:GetItem", s.table_arn(table));
                c.select = Some(select.as_str().into());
                c.enclosing_operation = Some("TransactGetItems");
                c.return_consumed_capacity = Some(self.capacity.as_str().into());
                c
            })
            .collect()
    }
}

macro_rules! table_actions {
    ($($ty:ty => $action:literal),* $(,)?) => {$(
        impl Authorize for $ty {
            fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
                table_check($action, s, &self.table_name)
            }
        }
    )*};
}

table_actions! {
    CreateTableInput => "dynamodb:CreateTable",
    UpdateTableInput => "dynamodb:UpdateTable",
    UpdateTimeToLiveInput => "dynamodb:UpdateTimeToLive",
    UpdateContributorInsightsInput => "dynamodb:UpdateContributorInsights",
    DescribeContributorInsightsInput => "dynamodb:DescribeContributorInsights",
    keyfall_types::backup::CreateBackupInput => "dynamodb:CreateBackup",
    keyfall_types::backup::UpdateContinuousBackupsInput => "dynamodb:UpdateContinuousBackups",
}

/// Actions on the account: Application Auto Scaling's (as IAM grants them: its resources
/// are scalable targets, which policies name by `*`), and the listings of backups, exports
/// and imports, which take no resource in IAM.
macro_rules! account_actions {
    ($($ty:ty),* $(,)?) => {$(
        impl Authorize for $ty {
            fn checks(&self, action: &'static str, _: &dyn Schemas) -> Vec<Check> {
                account_check(action)
            }
        }
    )*};
}

account_actions! {
    keyfall_types::autoscaling::RegisterScalableTargetInput,
    keyfall_types::autoscaling::DescribeInput,
    keyfall_types::autoscaling::TargetInput,
    keyfall_types::autoscaling::PutScalingPolicyInput,
    keyfall_types::backup::ListBackupsInput,
    keyfall_types::backup::ListExportsInput,
    keyfall_types::backup::ListImportsInput,
}

/// On the table when it names one, else on the account.
impl Authorize for ListContributorInsightsInput {
    fn checks(&self, action: &'static str, s: &dyn Schemas) -> Vec<Check> {
        match &self.table_name {
            Some(_) => table_check(action, s, &self.table_name),
            None => account_check(action),
        }
    }
}

/// A restore writes a new table: as DynamoDB documents, it needs the restore action and
/// the item actions on the target table besides the restore action on its source.
const RESTORE_TARGET_ACTIONS: [&str; 7] = [
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:BatchWriteItem",
];

fn restore_checks(
    action: &'static str,
    source: String,
    target: &Option<String>,
    s: &dyn Schemas,
) -> Vec<Check> {
    let target = s.table_arn(name(target));
    let mut checks = vec![Check {
        action,
        resource: source,
        ..Check::default()
    }];
    checks.extend(
        std::iter::once(action)
            .chain(RESTORE_TARGET_ACTIONS)
            .map(|action| Check {
                action,
                resource: target.clone(),
                ..Check::default()
            }),
    );
    checks
}

/// DescribeBackup and DeleteBackup: on the backup's ARN, which names its table (the engine
/// finds a backup only by the whole ARN, so a policy on `table/T/backup/*` holds).
impl Authorize for keyfall_types::backup::BackupArnInput {
    fn checks(&self, action: &'static str, _: &dyn Schemas) -> Vec<Check> {
        arn_check(action, &self.backup_arn)
    }
}

impl Authorize for keyfall_types::backup::RestoreTableFromBackupInput {
    fn checks(&self, action: &'static str, s: &dyn Schemas) -> Vec<Check> {
        let source = self.backup_arn.clone().unwrap_or_default();
        restore_checks(action, source, &self.target_table_name, s)
    }
}

/// On the source table, named by ARN (as given: the engine restores only the table whose
/// ARN is exactly that) or by name.
impl Authorize for keyfall_types::backup::RestoreTableToPointInTimeInput {
    fn checks(&self, action: &'static str, s: &dyn Schemas) -> Vec<Check> {
        let source = match &self.source_table_arn {
            Some(arn) => arn.clone(),
            None => s.table_arn(name(&self.source_table_name)),
        };
        restore_checks(action, source, &self.target_table_name, s)
    }
}

/// An S3 location as IAM names it, `arn:aws:s3:::<bucket>/<prefix>*`: exports and imports
/// read and write the export root's bucket folders, authorized as S3 would authorize them.
fn s3_objects(bucket: &Option<String>, prefix: &Option<String>) -> String {
    format!(
        "arn:aws:s3:::{}/{}*",
        name(bucket),
        prefix.as_deref().unwrap_or("")
    )
}

/// On the table, named by the ARN as given (the engine exports only the table whose ARN is
/// exactly that), and `s3:PutObject` on the objects it writes.
impl Authorize for keyfall_types::backup::ExportTableToPointInTimeInput {
    fn checks(&self, action: &'static str, _: &dyn Schemas) -> Vec<Check> {
        let mut checks = arn_check(action, &self.table_arn);
        checks.push(Check {
            action: "s3:PutObject",
            resource: s3_objects(&self.s3_bucket, &self.s3_prefix),
            ..Check::default()
        });
        checks
    }
}

impl Authorize for keyfall_types::backup::ExportArnInput {
    fn checks(&self, action: &'static str, _: &dyn Schemas) -> Vec<Check> {
        arn_check(action, &self.export_arn)
    }
}

/// On the table it creates, and `s3:GetObject` on the objects it reads.
impl Authorize for keyfall_types::backup::ImportTableInput {
    fn checks(&self, action: &'static str, s: &dyn Schemas) -> Vec<Check> {
        let table = self
            .table_creation_parameters
            .as_ref()
            .and_then(|t| t.table_name.clone());
        let mut checks = table_check(action, s, &table);
        let source = self.s3_bucket_source.clone().unwrap_or_default();
        checks.push(Check {
            action: "s3:GetObject",
            resource: s3_objects(&source.s3_bucket, &source.s3_key_prefix),
            ..Check::default()
        });
        checks
    }
}

impl Authorize for keyfall_types::backup::ImportArnInput {
    fn checks(&self, action: &'static str, _: &dyn Schemas) -> Vec<Check> {
        arn_check(action, &self.import_arn)
    }
}

/// Actions whose input is just a table name (DescribeTable, DeleteTable...).
impl Authorize for TableNameInput {
    fn checks(&self, action: &'static str, s: &dyn Schemas) -> Vec<Check> {
        table_check(action, s, &self.table_name)
    }
}

impl Authorize for ListTablesInput {
    fn checks(&self, _: &'static str, _: &dyn Schemas) -> Vec<Check> {
        account_check("dynamodb:ListTables")
    }
}

/// Tagging actions name their resource by ARN.
fn arn_check(action: &'static str, arn: &Option<String>) -> Vec<Check> {
    vec![Check {
        action,
        resource: arn.clone().unwrap_or_default(),
        ..Check::default()
    }]
}

impl Authorize for TagResourceInput {
    fn checks(&self, _: &'static str, _: &dyn Schemas) -> Vec<Check> {
        arn_check("dynamodb:TagResource", &self.resource_arn)
    }
}

impl Authorize for UntagResourceInput {
    fn checks(&self, _: &'static str, _: &dyn Schemas) -> Vec<Check> {
        arn_check("dynamodb:UntagResource", &self.resource_arn)
    }
}

impl Authorize for ListTagsOfResourceInput {
    fn checks(&self, _: &'static str, _: &dyn Schemas) -> Vec<Check> {
        arn_check("dynamodb:ListTagsOfResource", &self.resource_arn)
    }
}

impl Authorize for ListStreamsInput {
    fn checks(&self, _: &'static str, _: &dyn Schemas) -> Vec<Check> {
        account_check("dynamodb:ListStreams")
    }
}

impl Authorize for DescribeStreamInput {
    fn checks(&self, _: &'static str, _: &dyn Schemas) -> Vec<Check> {
        arn_check("dynamodb:DescribeStream", &self.stream_arn)
    }
}

impl Authorize for GetShardIteratorInput {
    fn checks(&self, _: &'static str, _: &dyn Schemas) -> Vec<Check> {
        arn_check("dynamodb:GetShardIterator", &self.stream_arn)
    }
}

impl Authorize for GetRecordsInput {
    fn checks(&self, _: &'static str, s: &dyn Schemas) -> Vec<Check> {
        // Authorized on the stream the iterator names. An iterator that names none (not
        // issued by the server: forged, altered, foreign) reads nothing: the engine
        // refuses it with DynamoDB's `Invalid ShardIterator` before touching any stream.
        match self
            .shard_iterator
            .as_deref()
            .and_then(|i| s.stream_arn_of_iterator(i))
        {
            Some(arn) => arn_check("dynamodb:GetRecords", &Some(arn)),
            None => Vec::new(),
        }
    }
}

/// Keyfall's push change feed reads a table's stream: it needs `dynamodb:GetRecords` on
/// the stream's ARN.
pub struct SubscribeChanges {
    pub table_name: String,
}

impl Authorize for SubscribeChanges {
    fn checks(&self, action: &'static str, s: &dyn Schemas) -> Vec<Check> {
        let resource = s
            .stream_arn(&self.table_name)
            .unwrap_or_else(|| format!("{}/stream/*", s.table_arn(&self.table_name)));
        vec![Check {
            action,
            resource,
            ..Check::default()
        }]
    }
}

/// Keyfall's internal change feed of a table (what keyfall-dax follows): every change
/// with its whole new item, so it needs its own action, `keyfall:FollowChanges`, on the
/// table's ARN.
pub struct FollowChanges {
    pub table_name: String,
}

impl Authorize for FollowChanges {
    fn checks(&self, action: &'static str, s: &dyn Schemas) -> Vec<Check> {
        vec![Check {
            action,
            resource: s.table_arn(&self.table_name),
            ..Check::default()
        }]
    }
}

/// The change feeds run as requested: nothing to decode.
macro_rules! runs_as_received {
    ($($ty:ty),*) => {$(
        impl command::Decode for $ty {
            type Command = $ty;
            fn decode(self) -> Result<$ty, command::Invalid> {
                Ok(self)
            }
        }
    )*};
}
runs_as_received!(SubscribeChanges, FollowChanges);

/// Account-wide actions with no input worth reading (DescribeLimits, DescribeEndpoints).
impl Authorize for () {
    fn checks(&self, action: &'static str, _: &dyn Schemas) -> Vec<Check> {
        account_check(action)
    }
}

#[cfg(test)]
mod tests;
