//! PartiQL: one statement (`Client::execute`), its pages, and transactions of statements
//! (`Client::statements`). Parameters are Rust values, bound to the statement's `?`s in
//! order; answers decode into entities or any deserializable type.

use std::future::IntoFuture;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::BoxFuture;
use crate::proto::v1 as pb;
use crate::retry::Idempotency;
use crate::value::{from_item, to_attribute_value, AttributeValue};
use crate::{Client, Entity, Error, Item};

impl Client {
    /// A PartiQL statement: `client.execute("SELECT * FROM \"Music\" WHERE artist = ?")
    /// .param("Acme").await?`. A SELECT answers a page (follow
    /// [`StatementPage::next_token`], or use [`Statement::all`]); a write answers its
    /// RETURNING items.
    pub fn execute(&self, statement: impl Into<String>) -> Statement<'_> {
        Statement {
            client: self,
            request: pb::ExecuteStatementRequest {
                statement: statement.into(),
                ..Default::default()
            },
            error: None,
        }
    }

    /// An all-or-nothing transaction of PartiQL statements (at most 100): all SELECTs
    /// (each of one item by its whole key) or all writes (INSERT, UPDATE, DELETE, EXISTS).
    pub fn statements(&self) -> StatementTransaction<'_> {
        StatementTransaction {
            client: self,
            statements: Vec::new(),
            token: None,
            error: None,
        }
    }
}

/// Values bound to `?`s, or the first that did not convert.
fn bind(params: &mut Vec<AttributeValue>, error: &mut Option<Error>, value: &impl Serialize) {
    match to_attribute_value(value) {
        Ok(v) => params.push(v),
        Err(e) => {
            error.get_or_insert(e.into());
        }
    }
}

/// See [`Client::execute`].
#[must_use = "does nothing until awaited"]
pub struct Statement<'c> {
    client: &'c Client,
    request: pb::ExecuteStatementRequest,
    error: Option<Error>,
}

impl<'c> Statement<'c> {
    /// Binds the next `?`.
    pub fn param(mut self, value: impl Serialize) -> Self {
        bind(&mut self.request.parameters, &mut self.error, &value);
        self
    }

    /// Binds the next `?`s, in order.
    pub fn params<T: Serialize>(mut self, values: impl IntoIterator<Item = T>) -> Self {
        for v in values {
            bind(&mut self.request.parameters, &mut self.error, &v);
        }
        self
    }

    /// Strongly consistent reads.
    pub fn consistent(mut self) -> Self {
        self.request.consistent_read = Some(true);
        self
    }

    /// At most this many items read for one page (before the WHERE filters them).
    pub fn limit(mut self, limit: u32) -> Self {
        self.request.limit = Some(i32::try_from(limit).unwrap_or(i32::MAX));
        self
    }

    /// Continues where a page stopped.
    pub fn next_token(mut self, token: impl Into<String>) -> Self {
        self.request.next_token = Some(token.into());
        self
    }

    /// A failed condition's error carries the stored item.
    pub fn return_old_on_condition_failure(mut self) -> Self {
        self.request.return_values_on_condition_check_failure = Some("ALL_OLD".into());
        self
    }

    /// Every page, following NextToken: every item the statement answers.
    pub async fn all(self) -> Result<Vec<Item>, Error> {
        let Statement {
            client,
            mut request,
            error,
        } = self;
        if let Some(e) = error {
            return Err(e);
        }
        let mut items = Vec::new();
        loop {
            let page = send(client, request.clone()).await?;
            items.extend(page.items);
            match page.next_token {
                Some(t) => request.next_token = Some(t),
                None => return Ok(items),
            }
        }
    }
}

async fn send(
    client: &Client,
    request: pb::ExecuteStatementRequest,
) -> Result<StatementPage, Error> {
    // A write statement may be conditional: not resent after an ambiguous failure.
    let idempotency = match request.statement.trim_start().get(..6) {
        Some(w) if w.eq_ignore_ascii_case("SELECT") => Idempotency::Safe,
        _ => Idempotency::Unsafe,
    };
    let response = client
        .call(
            "ExecuteStatement",
            None,
            idempotency,
            request,
            |mut c, r| async move { c.execute_statement(r).await },
        )
        .await?;
    Ok(StatementPage {
        items: response.items.into_iter().map(|m| m.values).collect(),
        next_token: response.next_token,
    })
}

impl<'c> IntoFuture for Statement<'c> {
    type Output = Result<StatementPage, Error>;
    type IntoFuture = BoxFuture<'c, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            if let Some(e) = self.error {
                return Err(e);
            }
            send(self.client, self.request).await
        })
    }
}

/// One page of a statement's answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatementPage {
    pub items: Vec<Item>,
    /// Set when a SELECT has more: pass it to [`Statement::next_token`].
    pub next_token: Option<String>,
}

impl StatementPage {
    /// The items as entities (each must be of `E`'s kind).
    pub fn entities<E: Entity>(self) -> Result<Vec<E>, Error> {
        self.items.into_iter().map(crate::entity::decode).collect()
    }

    /// The items as any deserializable type.
    pub fn values<T: DeserializeOwned>(self) -> Result<Vec<T>, Error> {
        self.items
            .into_iter()
            .map(|i| from_item(i).map_err(Error::from))
            .collect()
    }
}

/// See [`Client::statements`]. Awaiting it commits; a SELECT transaction answers one
/// item (or `None`) per statement.
#[must_use = "does nothing until awaited"]
pub struct StatementTransaction<'c> {
    client: &'c Client,
    statements: Vec<pb::ParameterizedStatement>,
    token: Option<String>,
    error: Option<Error>,
}

impl StatementTransaction<'_> {
    /// Adds a statement; [`param`](Self::param) binds its `?`s.
    pub fn statement(mut self, statement: impl Into<String>) -> Self {
        self.statements.push(pb::ParameterizedStatement {
            statement: statement.into(),
            ..Default::default()
        });
        self
    }

    /// Binds the next `?` of the statement added last.
    pub fn param(mut self, value: impl Serialize) -> Self {
        match self.statements.last_mut() {
            Some(s) => bind(&mut s.parameters, &mut self.error, &value),
            None => {
                self.error
                    .get_or_insert(Error::Config("param() before any statement()".into()));
            }
        }
        self
    }

    /// The ClientRequestToken (a random one when not set, so the client's own retries
    /// are safe).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }
}

impl<'c> IntoFuture for StatementTransaction<'c> {
    type Output = Result<Vec<Option<Item>>, Error>;
    type IntoFuture = BoxFuture<'c, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            if let Some(e) = self.error {
                return Err(e);
            }
            let request = pb::ExecuteTransactionRequest {
                transact_statements: self.statements,
                client_request_token: Some(
                    self.token
                        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
                ),
                ..Default::default()
            };
            let response = self
                .client
                .call(
                    "ExecuteTransaction",
                    None,
                    Idempotency::Safe,
                    request,
                    |mut c, r| async move { c.execute_transaction(r).await },
                )
                .await?;
            Ok(response
                .responses
                .into_iter()
                .map(|r| (!r.item.is_empty()).then_some(r.item))
                .collect())
        })
    }
}
