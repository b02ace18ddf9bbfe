#!/usr/bin/env python3
"""The PartiQL case table (partiql.jsonl), recorded from DynamoDB Local.

Every request below is sent, in order, to DynamoDB Local (shared/tools/ddb-local) and its
answer is written with the request to partiql.jsonl, which wire_cases.rs replays against
Keyfall. Where DynamoDB itself answers differently from DynamoDB Local (recorded against
DynamoDB by public conformance suites: nubo-db/dynamodb-conformance, floci's PartiQL edge
cases), the case says so in AWS below, and that answer is what Keyfall must give.

    shared/tools/ddb-local start 8600
    python3 tests/tests/it/wire_cases/partiql_oracle.py http://127.0.0.1:8600
"""
import json, os, sys, urllib.request, urllib.error

ENDPOINT = sys.argv[1] if len(sys.argv) > 1 else 'http://127.0.0.1:8600'
HERE = os.path.dirname(os.path.abspath(__file__))
LOCAL = 'DynamoDB Local'

def call(action, body):
    req = urllib.request.Request(ENDPOINT, data=json.dumps(body).encode(), method='POST', headers={
        'Content-Type': 'application/x-amz-json-1.0',
        'X-Amz-Target': 'DynamoDB_20120810.' + action,
        'Authorization': 'AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/dynamodb/aws4_request, '
                         'SignedHeaders=host, Signature=0'})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read() or b'null')
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b'null')

def S(x): return {'S': x}
def N(x): return {'N': str(x)}

CASES = []

def fixture(name, action, request):
    status, got = call(action, request)
    assert status == 200, (name, got)
    CASES.append({'case': 'fixture: ' + name, 'action': action, 'request': request,
                  'status': 200, 'source': 'DynamoDB API Reference'})

# Answers DynamoDB gives that DynamoDB Local does not, by statement.
AWS = {}
def aws(statement, source, **answer):
    AWS[statement] = dict(answer, source=source)

CONFORMANCE = 'nubo-db/dynamodb-conformance (recorded against DynamoDB)'
FLOCI = 'floci PartiQL edge cases (recorded against DynamoDB)'
VALIDATION = 'com.amazon.coral.validate#ValidationException'

def stmt(statement, params=None, unordered=False, **extra):
    body = dict(Statement=statement, **extra)
    if params is not None:
        body['Parameters'] = params
    status, got = call('ExecuteStatement', body)
    name = statement if params is None else f'{statement} with {json.dumps(params)}'
    if extra:
        name += ' with ' + json.dumps(extra)
    c = {'case': name, 'action': 'ExecuteStatement', 'request': body, 'status': status, 'source': LOCAL}
    over = AWS.get(name)
    if over:
        c['source'] = over['source']
        c['status'] = over.get('status', status)
        if 'type' in over:
            c['type'] = over['type']
            c['message'] = over['message']
        elif 'answer' in over:
            c['answer'] = over['answer']
    elif status == 200:
        c['answer'] = {'Items': got.get('Items', [])}
        if unordered:
            c['items_unordered'] = True
    else:
        # The text is DynamoDB Local's; the member's spelling is the error table's (tested
        # on its own: DynamoDB Local spells some `Message`).
        c['type'] = got['__type']
        c['message'] = got.get('message', got.get('Message'))
    CASES.append(c)

# ---- AWS answers that DynamoDB Local words differently ----
for s in ["SELECT FROM Tab", "SELECT * FROM Tab WHERE value = 1", "SELECT * FROM Tab WHERE select = 1",
          "SELECT * FROM Tab WHERE date = 1", "SELECT * FROM Tab WHERE user = 'x'"]:
    aws(s, CONFORMANCE, status=400, type=VALIDATION,
        message="Statement wasn't well formed, can't be processed: Unexpected keyword")
for s in ["SELECT * FROM", "SELECT * FROM Tab WHERE pk = ", "SELECT * FROM Tab WHERE"]:
    aws(s, CONFORMANCE, status=400, type=VALIDATION,
        message="Statement wasn't well formed, can't be processed: Unexpected term")
aws("SLECT * FROM Tab", CONFORMANCE, status=400, type=VALIDATION,
    message="Statement wasn't well formed, can't be processed: Expected data manipulation")
aws("SELECT * FROM Tab WHERE pk = 'a' AND", CONFORMANCE, status=400, type=VALIDATION,
    message="Statement wasn't well formed, can't be processed: Missing right-hand side expression of infix operator")
aws("SELECT * FROM Tab WHERE pk = 'a' foo", CONFORMANCE, status=400, type=VALIDATION,
    message="Statement wasn't well formed, can't be processed: Unexpected token after expression")
aws("SELECT * FROM Tab WHERE x IS FOO", CONFORMANCE, status=400, type=VALIDATION,
    message="Statement wasn't well formed, can't be processed: Expected type name")
aws("DELETE FROM WHERE pk = 'a'", CONFORMANCE, status=400, type=VALIDATION,
    message="Statement wasn't well formed, can't be processed: Expected identifier for simple path")
aws("SELECT * FROM Tab WHERE # = 1", CONFORMANCE, status=400, type=VALIDATION,
    message="Statement wasn't well formed, can't be processed: ")
for s in ["SELECT * FROM Nope", "SELECT * FROM tab", "INSERT INTO Nope VALUE {'pk': 'a'}"]:
    aws(s, CONFORMANCE, status=400, type='com.amazonaws.dynamodb.v20120810#ResourceNotFoundException',
        message='Requested resource not found')
aws("INSERT INTO Tab VALUE {'pk': 'a', 'sk': 1}", 'DynamoDB API Reference (ExecuteStatement errors)',
    status=400, type='com.amazonaws.dynamodb.v20120810#DuplicateItemException',
    message='Duplicate primary key exists in table')
aws("INSERT INTO Tab VALUE {'pk': 'zz'}", FLOCI, status=400, type=VALIDATION,
    message='One or more parameter values were invalid: Missing the key sk in the item')
aws("DELETE FROM Tab WHERE pk = 'a' AND sk = 1 RETURNING MODIFIED OLD *", CONFORMANCE, status=400,
    type=VALIDATION, message='Invalid returning clause: RETURNING MODIFIED OLD *. Only RETURNING ALL OLD * is allowed in DELETE statements.')
aws("SELECT * FROM Tab AS t", CONFORMANCE, status=400, type=VALIDATION, message='Aliasing is not supported')
aws("UPDATE Tab.GIx SET x = 1 WHERE pk = 'a' AND sk = 1", CONFORMANCE, status=400, type=VALIDATION,
    message='This operation is not supported on an index')
aws("SELECT * FROM Tab.Nope WHERE pk = 'a'", CONFORMANCE, status=400, type=VALIDATION,
    message='The table does not have the specified index')
aws("UPDATE Tab SET x = 'y' WHERE pk = 'a' AND sk = 1 AND pk = 'b'", FLOCI, status=400, type=VALIDATION,
    message='Multiple conditions on same key pk. Only single item Update/Insert/Delete are supported')
aws("SELECT * FROM Tab WHERE x IS NULL", FLOCI, answer={'Items': []})
aws('SELECT * FROM Tab WHERE pk = ? with [{"S": "a"}, {"S": "b"}]', 'DynamoDB Local accepts extra parameters; Keyfall counts them',
    status=400, type=VALIDATION, message="Number of parameters in request and statement don't match.")
aws("EXISTS(SELECT * FROM Tab WHERE pk = 'a' AND sk = 1 AND x = 'y')", FLOCI, status=400, type=VALIDATION,
    message='EXISTS can only be used in ExecuteTransaction write requests.')

# ---- fixtures ----
fixture('table Tab', 'CreateTable', {
    'TableName': 'Tab', 'BillingMode': 'PAY_PER_REQUEST',
    'KeySchema': [{'AttributeName': 'pk', 'KeyType': 'HASH'}, {'AttributeName': 'sk', 'KeyType': 'RANGE'}],
    'AttributeDefinitions': [{'AttributeName': 'pk', 'AttributeType': 'S'},
                             {'AttributeName': 'sk', 'AttributeType': 'N'},
                             {'AttributeName': 'g', 'AttributeType': 'S'}],
    'GlobalSecondaryIndexes': [{'IndexName': 'GIx', 'KeySchema': [{'AttributeName': 'g', 'KeyType': 'HASH'}],
                                'Projection': {'ProjectionType': 'ALL'}}]})
fixture('table Uni', 'CreateTable', {
    'TableName': 'Uni', 'BillingMode': 'PAY_PER_REQUEST',
    'KeySchema': [{'AttributeName': 'id', 'KeyType': 'HASH'}],
    'AttributeDefinitions': [{'AttributeName': 'id', 'AttributeType': 'S'}]})

# ---- INSERT ----
stmt("INSERT INTO Tab VALUE {'pk': 'a', 'sk': 1, 'x': 'hello', 'n': 5, 'l': [1, 2], 'm': {'q': 1}}")
stmt("INSERT INTO \"Tab\" VALUE {'pk': 'a', 'sk': 2, 'x': 'hi', 'g': 'G1'}")
stmt("INSERT INTO Tab VALUE {'pk': 'a', 'sk': 1}")
stmt("INSERT INTO Tab VALUE {'pk': 'zz'}")
stmt("INSERT INTO Tab VALUE {'pk': 'b', 'sk': 1, 'ss': <<'a', 'b'>>, 'ns': <<1, 2>>, 'it': 'it''s'}")
stmt("INSERT INTO Tab VALUE {'pk': ?, 'sk': ?, 'bin': ?}", [S('c'), N(3), {'B': 'AAEC'}])
stmt("INSERT INTO Tab VALUE {'pk': ?, 'sk': ?}", [S('c')])
stmt("INSERT INTO Tab VALUE {'pk': 'd', 'sk': -1.50e2, 't': true, 'f': FALSE, 'nul': null}")
stmt("INSERT INTO Nope VALUE {'pk': 'a'}")
stmt("INSERT INTO Uni VALUE {'id': 'u1', 'v': 1}")

# ---- SELECT ----
stmt("SELECT * FROM Tab", unordered=True)
stmt("SELECT * FROM Tab WHERE pk = 'a'")
stmt("SELECT * FROM Tab WHERE pk = 'd'")
stmt("SELECT x, n FROM Tab WHERE pk = 'a' AND sk = 1")
stmt("SELECT * FROM \"Tab\".\"GIx\" WHERE g = 'G1'")
stmt("SELECT * FROM Tab WHERE pk = 'a' ORDER BY sk DESC")
stmt("SELECT * FROM Tab WHERE pk = 'a' ORDER BY sk ASC")
stmt("SELECT * FROM Tab ORDER BY sk DESC")
stmt("SELECT * FROM Tab WHERE pk IN ['a', 'b']")
stmt("SELECT * FROM Tab WHERE pk IN ('b', 'c')")
stmt("SELECT * FROM Tab WHERE sk BETWEEN 1 AND 2", unordered=True)
stmt("SELECT * FROM Tab WHERE x IS MISSING", unordered=True)
stmt("SELECT * FROM Tab WHERE x IS NOT MISSING AND begins_with(x, 'h')", unordered=True)
stmt("SELECT * FROM Tab WHERE pk = 'a' AND contains(x, 'ell')")
stmt("SELECT * FROM Tab WHERE attribute_type(x, 'S')", unordered=True)
stmt("SELECT * FROM Tab WHERE size(x) > 2", unordered=True)
stmt("SELECT * FROM Tab WHERE pk = 'a' AND sk > 1")
stmt("SELECT * FROM Tab WHERE pk = 'a' AND sk >= 1 AND sk < 2")
stmt("SELECT * FROM Tab WHERE pk = 'a' OR pk = 'b'", unordered=True)
stmt("SELECT * FROM Tab WHERE NOT pk = 'a'", unordered=True)
stmt("SELECT * FROM Tab WHERE pk <> 'a'", unordered=True)
stmt("SELECT * FROM Tab WHERE pk != 'a'", unordered=True)
stmt("SELECT * FROM Tab WHERE x IS NULL")
stmt("SELECT * FROM Tab WHERE nul IS NULL", unordered=True)
stmt("SELECT * FROM Tab WHERE t = true", unordered=True)
stmt("SELECT * FROM Tab WHERE PK = 'a'", unordered=True)
stmt("SELECT \"x\" FROM Tab WHERE \"pk\" = 'a'")
stmt("SELECT * FROM Tab WHERE pk = \"x\"", unordered=True)
stmt("SELECT * FROM Tab WHERE pk = 'a' AND sk = 1.0")
stmt("SELECT * FROM Tab WHERE pk = ?", [S('a')])
stmt("SELECT * FROM Tab WHERE pk = ?", [S('a'), S('b')])
stmt("SELECT * FROM Tab WHERE pk = ? AND sk = ?", [S('c'), N(3)])
stmt("SELECT * FROM Tab WHERE \"select\" = 1", unordered=True)
stmt("SELECT * FROM Uni WHERE id = 'u1'")
stmt("SELECT * FROM tab")
stmt("SELECT * FROM Nope")
stmt("SELECT * FROM Tab.Nope WHERE pk = 'a'")
stmt("SELECT * FROM Tab, Uni")
stmt("SELECT * FROM Tab AS t")
stmt("SELECT count(*) FROM Tab")
stmt("SELECT * FROM Tab WHERE pk = 'a' LIMIT 1")
stmt("SELECT * FROM Tab WHERE EXISTS(x)")
stmt("SELECT * FROM Tab WHERE x = MISSING")
stmt("EXISTS(SELECT * FROM Tab WHERE pk = 'a' AND sk = 1 AND x = 'y')")
stmt("SELECT * FROM Tab WHERE pk = 'a'", Limit=1)

# ---- syntax ----
for s in ["SELECT FROM Tab", "SELECT * FROM", "SELECT * FROM Tab WHERE pk = ", "SELECT * FROM Tab WHERE",
          "SLECT * FROM Tab", "SELECT * FROM Tab WHERE pk = 'a' AND", "SELECT * FROM Tab WHERE pk = 'a' foo",
          "SELECT * FROM Tab WHERE x IS FOO", "DELETE FROM WHERE pk = 'a'", "SELECT * FROM Tab WHERE # = 1",
          "SELECT * FROM Tab WHERE value = 1", "SELECT * FROM Tab WHERE select = 1",
          "SELECT * FROM Tab WHERE date = 1", "SELECT * FROM Tab WHERE user = 'x'",
          "SELECT * FROM Tab WHERE name = 'x'", "SELECT * FROM Tab WHERE year = 1",
          "SELECT * FROM Tab -- comment\n WHERE /* c */ pk = 'a';"]:
    stmt(s, unordered=True)

# ---- UPDATE ----
stmt("UPDATE Tab SET x = 'new' WHERE pk = 'a' AND sk = 1")
stmt("UPDATE Tab SET x = 'newer' WHERE pk = 'a' AND sk = 1 RETURNING MODIFIED NEW *")
stmt("UPDATE Tab SET x = 'newest' WHERE pk = 'a' AND sk = 1 RETURNING MODIFIED OLD *")
stmt("UPDATE Tab SET n = n + 1 SET l = list_append(l, [3]) REMOVE m WHERE pk = 'a' AND sk = 1 RETURNING ALL NEW *")
stmt("UPDATE Tab SET n = n - 2, y = 'z' WHERE pk = 'a' AND sk = 1 RETURNING MODIFIED NEW *")
stmt("UPDATE Tab SET ss = set_add(ss, <<'c'>>) WHERE pk = 'b' AND sk = 1 RETURNING ALL NEW *")
stmt("UPDATE Tab SET ss = set_delete(ss, <<'a'>>) WHERE pk = 'b' AND sk = 1 RETURNING MODIFIED NEW *")
stmt("UPDATE Tab SET x = 'new' WHERE pk = 'zz' AND sk = 1")
stmt("UPDATE Tab SET x = 'new' WHERE pk = 'a'")
stmt("UPDATE Tab SET x = 'new' WHERE pk = 'a' AND sk = 1 AND n = 100")
stmt("UPDATE Tab SET x = 'y' WHERE pk = 'a' AND sk = 1 AND pk = 'b'")
stmt("UPDATE Tab.GIx SET x = 1 WHERE pk = 'a' AND sk = 1")
stmt("UPDATE Tab SET sk = 5 WHERE pk = 'a' AND sk = 1")
stmt("UPDATE Tab SET x = ? WHERE pk = ? AND sk = ?", [{'M': {'k': S('v')}}, S('a'), N(2)])
stmt("SELECT x FROM Tab WHERE pk = 'a' AND sk = 2")

# ---- DELETE ----
stmt("DELETE FROM Tab WHERE pk = 'zz' AND sk = 1")
stmt("DELETE FROM Tab WHERE pk = 'c' AND sk = 3 RETURNING ALL OLD *")
stmt("DELETE FROM Tab WHERE pk = 'a'")
stmt("DELETE FROM Tab WHERE pk = 'a' AND sk = 1 RETURNING MODIFIED OLD *")
stmt("DELETE FROM Tab WHERE pk = 'd' AND sk = -150 AND t = false")
stmt("DELETE FROM Tab WHERE pk = 'd' AND sk = -150 AND t = true")
stmt("SELECT * FROM Tab WHERE pk = 'd'")

with open(os.path.join(HERE, 'partiql.jsonl'), 'w') as f:
    f.write('// Generated by partiql_oracle.py from DynamoDB Local, with DynamoDB\'s own answers where they differ.\n')
    for c in CASES:
        f.write(json.dumps(c) + '\n')
print(len(CASES), 'cases')
