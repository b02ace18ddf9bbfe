//! Linearizability: concurrent clients read (strongly consistent GetItem), write (PutItem)
//! and compare-and-set (conditional UpdateItem) a few keys, through the JSON API and gRPC
//! at once, recording when each call was made and answered; then every key's history is
//! checked against a register with the Wing-Gong algorithm (with Lowe's memoization of
//! visited configurations). Linearizability is local, so keys are checked one by one.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue as Av;
use keyfall_proto::v1 as pb;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{harness, Failure, Server};

/// An operation on one register, with what it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A strongly consistent read and the value it saw.
    Read(i64),
    Write(i64),
    /// Compare-and-set from `.0` to `.1`, and whether it applied.
    Cas(i64, i64, bool),
}

/// One call: when it was made and when its answer came, in nanoseconds from the start.
#[derive(Debug, Clone)]
pub struct Call {
    pub invoked: u64,
    pub answered: u64,
    pub op: Op,
}

/// A register's state after `op`, or `None` if `op` cannot have happened in state `s`.
fn step(s: i64, op: &Op) -> Option<i64> {
    match *op {
        Op::Read(v) => (v == s).then_some(s),
        Op::Write(v) => Some(v),
        Op::Cas(from, to, true) => (from == s).then_some(to),
        Op::Cas(from, _, false) => (from != s).then_some(s),
    }
}

/// Whether `history` (every call answered) is linearizable for a register starting at
/// `initial`: some order of the calls, consistent with real time (a call answered before
/// another was made comes first), explains every answer. Wing and Gong's search, with the
/// configurations (calls done, state) already explored remembered, as Lowe's does.
pub fn linearizable(history: &[Call], initial: i64) -> bool {
    let n = history.len();
    let words = n.div_ceil(64);
    let mut done = vec![0u64; words];
    let mut seen: HashSet<(Vec<u64>, i64)> = HashSet::new();
    // Explicit stack of (state, the call taken at this depth); depth-first.
    let is_done =
        |done: &[u64], i: usize| done.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0);
    fn flip(done: &mut [u64], i: usize) {
        if let Some(w) = done.get_mut(i / 64) {
            *w ^= 1 << (i % 64);
        }
    }
    // Calls in the order they were made.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| history.get(i).map(|c| c.invoked).unwrap_or(0));
    let mut stack: Vec<(i64, usize)> = Vec::new();
    let mut state = initial;
    let mut count = 0;
    // Candidates at the current configuration, from position `from` of `order`.
    let mut from = 0;
    loop {
        if count == n {
            return true;
        }
        // The earliest answer among calls not done: a call may go next only if it was
        // made before that.
        let horizon = order
            .iter()
            .filter(|&&i| !is_done(&done, i))
            .filter_map(|&i| history.get(i).map(|c| c.answered))
            .min()
            .unwrap_or(u64::MAX);
        let mut advanced = false;
        for (k, &i) in order.iter().enumerate().skip(from) {
            let Some(call) = history.get(i) else { continue };
            if call.invoked > horizon {
                break;
            }
            if is_done(&done, i) {
                continue;
            }
            if let Some(next) = step(state, &call.op) {
                flip(&mut done, i);
                if seen.insert((done.clone(), next)) {
                    stack.push((state, k));
                    state = next;
                    count += 1;
                    from = 0;
                    advanced = true;
                    break;
                }
                flip(&mut done, i);
            }
        }
        if advanced {
            continue;
        }
        // Dead end: undo the last choice and try the next candidate after it.
        let Some((previous, k)) = stack.pop() else {
            return false;
        };
        if let Some(&i) = order.get(k) {
            flip(&mut done, i);
        }
        state = previous;
        count -= 1;
        from = k + 1;
    }
}

/// What a run does.
#[derive(Debug, Clone)]
pub struct LinearConfig {
    pub server_bin: std::path::PathBuf,
    pub keys: usize,
    /// Clients: even ones use the JSON API, odd ones gRPC.
    pub clients: usize,
    pub ops_per_client: usize,
    pub seed: u64,
}

/// What a run checked.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct LinearReport {
    pub histories: usize,
    pub calls: usize,
    pub reads: usize,
    pub writes: usize,
    pub cas_applied: usize,
    pub cas_refused: usize,
    pub elapsed_secs: f64,
}

enum Api {
    Json(aws_sdk_dynamodb::Client),
    Grpc(pb::dynamo_db_client::DynamoDbClient<tonic::transport::Channel>),
}

fn grpc_value(v: i64) -> pb::AttributeValue {
    pb::AttributeValue {
        value: Some(pb::attribute_value::Value::N(v.to_string())),
    }
}

fn grpc_key(k: usize) -> std::collections::HashMap<String, pb::AttributeValue> {
    [(
        "k".to_string(),
        pb::AttributeValue {
            value: Some(pb::attribute_value::Value::S(format!("r{k}"))),
        },
    )]
    .into()
}

impl Api {
    async fn call(&mut self, key: usize, op: &Op) -> Result<Op, Failure> {
        let k = format!("r{key}");
        match (self, op) {
            (Api::Json(db), Op::Read(_)) => {
                let got = db
                    .get_item()
                    .table_name("registers")
                    .key("k", Av::S(k))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(harness("GetItem"))?;
                let v = match got.item().and_then(|i| i.get("v")) {
                    Some(Av::N(v)) => v.parse().map_err(harness("a number"))?,
                    _ => return Err(Failure::Harness("a register without a value".into())),
                };
                Ok(Op::Read(v))
            }
            (Api::Json(db), Op::Write(v)) => {
                db.put_item()
                    .table_name("registers")
                    .item("k", Av::S(k))
                    .item("v", Av::N(v.to_string()))
                    .send()
                    .await
                    .map_err(harness("PutItem"))?;
                Ok(op.clone())
            }
            (Api::Json(db), Op::Cas(from, to, _)) => {
                let r = db
                    .update_item()
                    .table_name("registers")
                    .key("k", Av::S(k))
                    .update_expression("SET v = :to")
                    .condition_expression("v = :from")
                    .expression_attribute_values(":to", Av::N(to.to_string()))
                    .expression_attribute_values(":from", Av::N(from.to_string()))
                    .send()
                    .await;
                match r {
                    Ok(_) => Ok(Op::Cas(*from, *to, true)),
                    Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                        Ok(Op::Cas(*from, *to, false))
                    }
                    Err(e) => Err(Failure::Harness(format!("UpdateItem: {e:?}"))),
                }
            }
            (Api::Grpc(c), Op::Read(_)) => {
                let got = c
                    .get_item(pb::GetItemRequest {
                        table_name: "registers".into(),
                        key: grpc_key(key),
                        consistent_read: Some(true),
                        ..Default::default()
                    })
                    .await
                    .map_err(harness("gRPC GetItem"))?
                    .into_inner();
                match got.item.get("v").and_then(|v| v.value.as_ref()) {
                    Some(pb::attribute_value::Value::N(v)) => {
                        Ok(Op::Read(v.parse().map_err(harness("a number"))?))
                    }
                    _ => Err(Failure::Harness("a register without a value".into())),
                }
            }
            (Api::Grpc(c), Op::Write(v)) => {
                let mut item = grpc_key(key);
                item.insert("v".into(), grpc_value(*v));
                c.put_item(pb::PutItemRequest {
                    table_name: "registers".into(),
                    item,
                    ..Default::default()
                })
                .await
                .map_err(harness("gRPC PutItem"))?;
                Ok(op.clone())
            }
            (Api::Grpc(c), Op::Cas(from, to, _)) => {
                let r = c
                    .update_item(pb::UpdateItemRequest {
                        table_name: "registers".into(),
                        key: grpc_key(key),
                        update_expression: Some("SET v = :to".into()),
                        condition_expression: Some("v = :from".into()),
                        expression_attribute_values: [
                            (":to".to_string(), grpc_value(*to)),
                            (":from".to_string(), grpc_value(*from)),
                        ]
                        .into(),
                        ..Default::default()
                    })
                    .await;
                match r {
                    Ok(_) => Ok(Op::Cas(*from, *to, true)),
                    Err(s)
                        if s.metadata()
                            .get("x-amzn-errortype")
                            .and_then(|v| v.to_str().ok())
                            == Some("ConditionalCheckFailedException") =>
                    {
                        Ok(Op::Cas(*from, *to, false))
                    }
                    Err(s) => Err(Failure::Harness(format!("gRPC UpdateItem: {s:?}"))),
                }
            }
        }
    }
}

/// Runs the clients on a fresh server, then checks every key's history.
pub async fn run(config: &LinearConfig) -> Result<LinearReport, Failure> {
    let started = Instant::now();
    let dir = tempfile::tempdir().map_err(harness("a temporary data dir"))?;
    let server = Server::start(&config.server_bin, dir.path(), false).await?;
    let db = server.client();
    db.create_table()
        .table_name("registers")
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .key_schema(super::crash::key_element(
            "k",
            aws_sdk_dynamodb::types::KeyType::Hash,
        )?)
        .attribute_definitions(super::crash::attribute(
            "k",
            aws_sdk_dynamodb::types::ScalarAttributeType::S,
        )?)
        .send()
        .await
        .map_err(harness("create registers"))?;
    for k in 0..config.keys {
        Api::Json(db.clone()).call(k, &Op::Write(0)).await?;
    }
    let grpc = pb::dynamo_db_client::DynamoDbClient::connect(format!(
        "http://127.0.0.1:{}",
        server.grpc_port
    ))
    .await
    .map_err(harness("gRPC connect"))?;
    let clock = Instant::now();
    let histories: Arc<Mutex<Vec<Vec<Call>>>> = Arc::new(Mutex::new(vec![Vec::new(); config.keys]));
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut tasks = Vec::new();
    for c in 0..config.clients {
        let mut api = if c % 2 == 0 {
            Api::Json(db.clone())
        } else {
            Api::Grpc(grpc.clone())
        };
        let histories = histories.clone();
        let mut rng = StdRng::seed_from_u64(rng.random());
        let (keys, ops, client) = (config.keys, config.ops_per_client, c as i64);
        tasks.push(tokio::spawn(async move {
            for i in 0..ops as i64 {
                let key = rng.random_range(0..keys);
                // Values a client writes are its own: (client, i) as one number.
                let fresh = client * 1_000_000 + i + 1;
                let op = match rng.random_range(0..10) {
                    0..=3 => Op::Read(0),
                    4..=5 => Op::Write(fresh),
                    _ => Op::Cas(last_seen(&histories, key), fresh, false),
                };
                let invoked = clock.elapsed().as_nanos() as u64;
                let answered_op = api.call(key, &op).await?;
                let answered = clock.elapsed().as_nanos() as u64;
                if let Some(h) = histories
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_mut(key)
                {
                    h.push(Call {
                        invoked,
                        answered,
                        op: answered_op,
                    });
                }
            }
            Ok::<(), Failure>(())
        }));
    }
    for t in tasks {
        t.await.map_err(harness("a client"))??;
    }
    let histories = std::mem::take(&mut *histories.lock().unwrap_or_else(|e| e.into_inner()));
    let mut report = LinearReport::default();
    for (k, h) in histories.iter().enumerate() {
        report.histories += 1;
        report.calls += h.len();
        for c in h {
            match c.op {
                Op::Read(_) => report.reads += 1,
                Op::Write(_) => report.writes += 1,
                Op::Cas(_, _, true) => report.cas_applied += 1,
                Op::Cas(_, _, false) => report.cas_refused += 1,
            }
        }
        if !linearizable(h, 0) {
            return Err(Failure::Violation(format!(
                "register r{k}: its history of {} calls is not linearizable: {h:?}",
                h.len()
            )));
        }
    }
    report.elapsed_secs = started.elapsed().as_secs_f64();
    drop(server);
    Ok(report)
}

/// The value last recorded for `key` (a CAS from it has a fair chance to apply).
fn last_seen(histories: &Mutex<Vec<Vec<Call>>>, key: usize) -> i64 {
    let h = histories.lock().unwrap_or_else(|e| e.into_inner());
    h.get(key)
        .and_then(|calls| calls.last())
        .map(|c| match c.op {
            Op::Read(v) | Op::Write(v) => v,
            Op::Cas(_, to, true) => to,
            Op::Cas(from, _, false) => from,
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(invoked: u64, answered: u64, op: Op) -> Call {
        Call {
            invoked,
            answered,
            op,
        }
    }

    #[test]
    fn the_checker_accepts_and_refuses_what_it_should() {
        // Sequential and consistent.
        let h = [call(0, 1, Op::Write(1)), call(2, 3, Op::Read(1))];
        assert!(linearizable(&h, 0));
        // A read after a completed write sees it, or the history is wrong.
        let h = [call(0, 1, Op::Write(1)), call(2, 3, Op::Read(0))];
        assert!(!linearizable(&h, 0));
        // Overlapping: either order is fine.
        let h = [call(0, 5, Op::Write(1)), call(1, 4, Op::Read(0))];
        assert!(linearizable(&h, 0));
        let h = [call(0, 5, Op::Write(1)), call(1, 4, Op::Read(1))];
        assert!(linearizable(&h, 0));
        // Two successful CAS from the same value cannot both apply.
        let h = [
            call(0, 10, Op::Cas(0, 1, true)),
            call(0, 10, Op::Cas(0, 2, true)),
        ];
        assert!(!linearizable(&h, 0));
        // A refused CAS needs a state other than its expected value.
        let h = [call(0, 1, Op::Cas(0, 1, false))];
        assert!(!linearizable(&h, 0));
        // A lost write: written 5, then a CAS from 5 refused, then 5 read.
        let h = [
            call(0, 1, Op::Write(5)),
            call(2, 3, Op::Cas(5, 6, false)),
            call(4, 5, Op::Read(5)),
        ];
        assert!(!linearizable(&h, 0));
    }
}
