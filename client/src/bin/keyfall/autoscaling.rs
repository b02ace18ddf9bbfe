//! `keyfall autoscaling ...`: target tracking auto scaling of a table's (or a GSI's) reads
//! or writes, through the Application Auto Scaling API the server serves on its HTTP port
//! (what `aws application-autoscaling` calls), signed as that service.

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Subcommand;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

#[derive(clap::Args)]
pub struct AutoscalingArgs {
    /// The server's HTTP endpoint, where the Application Auto Scaling API is served.
    #[arg(
        long,
        env = "KEYFALL_HTTP_ENDPOINT",
        default_value = "http://127.0.0.1:8000"
    )]
    http_endpoint: String,
    #[command(subcommand)]
    command: AutoscalingCommand,
}

#[derive(Subcommand)]
enum AutoscalingCommand {
    /// Scales a table's (or GSI's) reads or writes to keep utilization at a target:
    /// registers the scalable target and its target tracking policy.
    Enable {
        table: String,
        #[command(flatten)]
        what: Scaled,
        /// Fewest units.
        #[arg(long)]
        min: i64,
        /// Most units.
        #[arg(long)]
        max: i64,
        /// Target utilization, percent (20 to 90).
        #[arg(long, default_value_t = 70.0)]
        target: f64,
    },
    /// Stops scaling it: deregisters the target and its policies.
    Disable {
        table: String,
        #[command(flatten)]
        what: Scaled,
    },
    /// Lists scalable targets, their policies and recent scaling activities.
    Show {
        /// Only this table's.
        table: Option<String>,
    },
}

#[derive(clap::Args)]
struct Scaled {
    /// A global secondary index of the table instead.
    #[arg(long)]
    index: Option<String>,
    /// Writes rather than reads.
    #[arg(long)]
    write: bool,
}

impl Scaled {
    fn resource(&self, table: &str) -> String {
        match &self.index {
            Some(i) => format!("table/{table}/index/{i}"),
            None => format!("table/{table}"),
        }
    }

    fn dimension(&self) -> String {
        let kind = if self.index.is_some() {
            "index"
        } else {
            "table"
        };
        let units = if self.write { "Write" } else { "Read" };
        format!("dynamodb:{kind}:{units}CapacityUnits")
    }

    fn metric(&self) -> &'static str {
        if self.write {
            "DynamoDBWriteCapacityUtilization"
        } else {
            "DynamoDBReadCapacityUtilization"
        }
    }
}

pub async fn run(region: &str, args: AutoscalingArgs) -> anyhow::Result<()> {
    let api = Api::new(&args.http_endpoint, region)?;
    match args.command {
        AutoscalingCommand::Enable {
            table,
            what,
            min,
            max,
            target,
        } => {
            let (resource, dimension) = (what.resource(&table), what.dimension());
            let registered = api
                .call(
                    "RegisterScalableTarget",
                    json!({"ServiceNamespace": "dynamodb", "ResourceId": resource,
                        "ScalableDimension": dimension, "MinCapacity": min, "MaxCapacity": max}),
                )
                .await?;
            let policy = api
                .call(
                    "PutScalingPolicy",
                    json!({
                        "PolicyName": format!("{}:{resource}", what.metric()),
                        "ServiceNamespace": "dynamodb", "ResourceId": resource,
                        "ScalableDimension": dimension, "PolicyType": "TargetTrackingScaling",
                        "TargetTrackingScalingPolicyConfiguration": {
                            "TargetValue": target,
                            "PredefinedMetricSpecification": {"PredefinedMetricType": what.metric()},
                        },
                    }),
                )
                .await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "ScalableTargetARN": member(&registered, "ScalableTargetARN"),
                    "PolicyARN": member(&policy, "PolicyARN"),
                }))?
            );
        }
        AutoscalingCommand::Disable { table, what } => {
            api.call(
                "DeregisterScalableTarget",
                json!({"ServiceNamespace": "dynamodb", "ResourceId": what.resource(&table),
                    "ScalableDimension": what.dimension()}),
            )
            .await?;
            println!(
                "{} {} is no longer scaled",
                what.resource(&table),
                what.dimension()
            );
        }
        AutoscalingCommand::Show { table } => {
            let mut targets = api
                .call(
                    "DescribeScalableTargets",
                    json!({"ServiceNamespace": "dynamodb"}),
                )
                .await?;
            let mut policies = api
                .call(
                    "DescribeScalingPolicies",
                    json!({"ServiceNamespace": "dynamodb"}),
                )
                .await?;
            let mut activities = api
                .call(
                    "DescribeScalingActivities",
                    json!({"ServiceNamespace": "dynamodb"}),
                )
                .await?;
            if let Some(t) = table {
                let mine = |v: &Value| {
                    member(v, "ResourceId").as_str().is_some_and(|r| {
                        r == format!("table/{t}") || r.starts_with(&format!("table/{t}/"))
                    })
                };
                for (list, member) in [
                    (&mut targets, "ScalableTargets"),
                    (&mut policies, "ScalingPolicies"),
                    (&mut activities, "ScalingActivities"),
                ] {
                    if let Some(items) = list.get_mut(member).and_then(Value::as_array_mut) {
                        items.retain(mine);
                    }
                }
            }
            let out = json!({
                "ScalableTargets": member(&targets, "ScalableTargets"),
                "ScalingPolicies": member(&policies, "ScalingPolicies"),
                "ScalingActivities": member(&activities, "ScalingActivities"),
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(())
}

/// A member of a JSON answer, `null` when absent.
fn member<'a>(v: &'a Value, name: &str) -> &'a Value {
    v.get(name).unwrap_or(&Value::Null)
}

/// The Application Auto Scaling API of one server.
struct Api {
    endpoint: http::Uri,
    region: String,
    credentials: Option<keyfall::Credentials>,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl Api {
    fn new(endpoint: &str, region: &str) -> anyhow::Result<Api> {
        if !endpoint.starts_with("http://") {
            bail!("the HTTP endpoint {endpoint:?} must start with http://");
        }
        Ok(Api {
            endpoint: endpoint
                .parse()
                .with_context(|| format!("the HTTP endpoint {endpoint:?}"))?,
            region: region.to_string(),
            credentials: keyfall::Credentials::from_env(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    /// Sends one action, signed with SigV4 for `application-autoscaling`; its answer, or
    /// the error it names.
    async fn call(&self, action: &str, body: Value) -> anyhow::Result<Value> {
        let body = serde_json::to_vec(&body)?;
        let target = format!("AnyScaleFrontendService.{action}");
        let mut request = http::Request::post(self.endpoint.clone())
            .header(http::header::CONTENT_TYPE, "application/x-amz-json-1.1")
            .header("x-amz-target", &target)
            .body(Full::new(Bytes::from(body.clone())))?;
        if let Some(c) = &self.credentials {
            self.sign(&mut request, c, &body, &target)?;
        }
        let response = self
            .client
            .request(request)
            .await
            .with_context(|| format!("cannot reach {}", self.endpoint))?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !status.is_success() {
            let name = member(&answer, "__type").as_str().unwrap_or("Error");
            let name = name.rsplit('#').next().unwrap_or(name);
            let message = member(&answer, "message")
                .as_str()
                .or(member(&answer, "Message").as_str())
                .unwrap_or("");
            bail!("{action}: {name}: {message}");
        }
        Ok(answer)
    }

    fn sign(
        &self,
        request: &mut http::Request<Full<Bytes>>,
        c: &keyfall::Credentials,
        body: &[u8],
        target: &str,
    ) -> anyhow::Result<()> {
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target),
        ];
        let uri = self.endpoint.to_string();
        let now = std::time::SystemTime::now();
        let service = "application-autoscaling";
        let instructions =
            keyfall::signing::sign_post(c, &self.region, service, &uri, &headers, body, now)?;
        instructions.apply_to_request_http1x(request);
        Ok(())
    }
}
