"""Keyfall from boto3: point endpoint_url at the server; nothing else changes.

Credentials come from the usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY variables: paste
the `export` line keyfall-server prints on its first start.
"""
import os
import uuid

import boto3

ENDPOINT = os.environ.get("KEYFALL_ENDPOINT", "http://127.0.0.1:8000")
kw = dict(endpoint_url=ENDPOINT, region_name="us-east-1")
db = boto3.client("dynamodb", **kw)
streams = boto3.client("dynamodbstreams", **kw)

table = f"orders-{uuid.uuid4().hex[:8]}"
db.create_table(
    TableName=table,
    KeySchema=[{"AttributeName": "customer", "KeyType": "HASH"},
               {"AttributeName": "order", "KeyType": "RANGE"}],
    AttributeDefinitions=[{"AttributeName": "customer", "AttributeType": "S"},
                          {"AttributeName": "order", "AttributeType": "N"}],
    BillingMode="PAY_PER_REQUEST",
    StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
)

for n in range(1, 6):
    db.put_item(TableName=table,
                Item={"customer": {"S": "ada"}, "order": {"N": str(n)}, "amount": {"N": str(n * 10)}},
                ConditionExpression="attribute_not_exists(customer)")

db.update_item(TableName=table, Key={"customer": {"S": "ada"}, "order": {"N": "1"}},
               UpdateExpression="SET amount = amount + :extra",
               ExpressionAttributeValues={":extra": {"N": "5"}})

page = db.query(TableName=table, KeyConditionExpression="customer = :c AND #o >= :from",
                ExpressionAttributeNames={"#o": "order"},
                ExpressionAttributeValues={":c": {"S": "ada"}, ":from": {"N": "3"}})
print("orders 3..5:", [i["order"]["N"] for i in page["Items"]])

db.transact_write_items(TransactItems=[
    {"Update": {"TableName": table, "Key": {"customer": {"S": "ada"}, "order": {"N": "2"}},
                "UpdateExpression": "SET amount = amount - :a", "ConditionExpression": "amount >= :a",
                "ExpressionAttributeValues": {":a": {"N": "20"}}}},
    {"Delete": {"TableName": table, "Key": {"customer": {"S": "ada"}, "order": {"N": "5"}}}},
])

arn = db.describe_table(TableName=table)["Table"]["LatestStreamArn"]
shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
records = streams.get_records(ShardIterator=it)["Records"]
print("stream:", [r["eventName"] for r in records])
db.delete_table(TableName=table)
