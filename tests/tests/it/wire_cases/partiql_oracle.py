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

aws("INSERT INTO Tab VALUE {'pk': 'e', 'sk': 1, 's': <<>>}", FLOCI, status=400, type=VALIDATION,
    message='Empty bags are not supported')
aws("INSERT INTO Tab VALUE {'pk': 'e', 'sk': 1, 's': <<1, 'a'>>}", FLOCI, status=400, type=VALIDATION,
    message='Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags')
aws("INSERT INTO Tab VALUE {'pk': 'e', 'sk': 1, 's': <<'b', 'b'>>}", FLOCI, status=400, type=VALIDATION,
    message='One or more parameter values were invalid: Input collection [b, b] contains duplicates.')
aws("SELECT * FROM Tab WHERE pk = 'a' ORDER BY x", FLOCI, status=400, type=VALIDATION,
    message='Attribute x in ORDER BY clause must be part of the primary key')
aws("SELECT * FROM Tab WHERE pk > 'a' ORDER BY sk", FLOCI, status=400, type=VALIDATION,
    message='Must have at least one non-optional hash key condition in WHERE clause when using ORDER BY clause.')
aws("SELECT * FROM Tab WHERE pk IN ['a', 'b'] ORDER BY sk", FLOCI, status=400, type=VALIDATION,
    message='Must have hash key in ORDER BY clause when more than one hash key condition specified in WHERE clause.')
aws("SELECT * FROM Tab WHERE pk IN ['a', 'a']", FLOCI, status=400, type=VALIDATION,
    message='Overlapping conditions with range keys are not supported in where clause')

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
stmt("INSERT INTO Tab VALUE {'pk': 'e', 'sk': 1, 's': <<>>}")
stmt("INSERT INTO Tab VALUE {'pk': 'e', 'sk': 1, 's': <<1, 'a'>>}")
stmt("INSERT INTO Tab VALUE {'pk': 'e', 'sk': 1, 's': <<'b', 'b'>>}")
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
stmt("SELECT * FROM Tab WHERE pk = 'a' ORDER BY x")
stmt("SELECT * FROM Tab WHERE pk > 'a' ORDER BY sk")
stmt("SELECT * FROM Tab WHERE pk IN ['a', 'b'] ORDER BY sk")
stmt("SELECT * FROM Tab WHERE pk IN ['a', 'a']")
stmt("SELECT * FROM Tab WHERE pk IN ['b', 'a'] ORDER BY pk DESC")
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

# ---- BatchExecuteStatement and ExecuteTransaction ----
def multi(action, member, statements, name, answer_keys, **extra):
    body = dict({member: statements}, **extra)
    status, got = call(action, body)
    c = {'case': f'{action}: {name}', 'action': action, 'request': body, 'status': status,
         'source': LOCAL}
    over = AWS.get(c['case'])
    if over:
        c['source'] = over['source']
        c['status'] = over.get('status', status)
        for k in ('type', 'message', 'answer'):
            if k in over:
                c[k] = over[k]
    elif status == 200:
        c['answer'] = {k: got[k] for k in answer_keys if k in got}
    else:
        c['type'] = got['__type']
        c['message'] = got.get('message', got.get('Message'))
    CASES.append(c)

def batch(name, *statements, **extra):
    multi('BatchExecuteStatement', 'Statements', [dict(Statement=s) if isinstance(s, str) else s
                                                  for s in statements], name, ['Responses'], **extra)

def txn(name, *statements, **extra):
    multi('ExecuteTransaction', 'TransactStatements', [dict(Statement=s) if isinstance(s, str) else s
                                                       for s in statements], name, ['Responses'], **extra)

aws('BatchExecuteStatement: a failed condition and a duplicate key', CONFORMANCE, status=200, answer={'Responses': [
    {'TableName': 'Tab', 'Error': {'Code': 'ConditionalCheckFailed', 'Message': 'The conditional request failed'}},
    {'TableName': 'Tab', 'Error': {'Code': 'DuplicateItem', 'Message': 'Duplicate primary key exists in table'}},
    {'TableName': 'Tab'}]})
aws('BatchExecuteStatement: reads by key, one missing, one not well formed, one on no table', CONFORMANCE,
    status=200, answer={'Responses': [
        {'TableName': 'Tab', 'Item': {'pk': S('m'), 'sk': N(1), 'v': N(1)}},
        {'TableName': 'Tab'},
        {'Error': {'Code': 'ValidationError', 'Message': "Statement wasn't well formed, can't be processed: Expected data manipulation"}},
        {'Error': {'Code': 'ResourceNotFound', 'Message': 'Requested resource not found'}}]})
aws('BatchExecuteStatement: a read without the whole key', FLOCI, status=200, answer={'Responses': [
    {'Error': {'Code': 'ValidationError', 'Message': 'Select statements within BatchExecuteStatement must specify the primary key in the where clause.'}}]})
aws('BatchExecuteStatement: reads and writes', 'dynoxide (recorded against DynamoDB)', status=400, type=VALIDATION,
    message='Read and write requests together in the same batch is not supported.')
aws('BatchExecuteStatement: two statements on one item', 'dynoxide (recorded against DynamoDB)', status=400,
    type=VALIDATION, message='Provided list of item keys contains duplicates')
aws('ExecuteTransaction: a failed condition cancels', FLOCI, status=400,
    type='com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
    message='Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]')
aws('ExecuteTransaction: an INSERT of an existing key cancels', CONFORMANCE, status=400,
    type='com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
    message='Transaction cancelled, please refer cancellation reasons for specific reasons [DuplicateItem]')
aws('ExecuteTransaction: reads and writes', FLOCI, status=400, type=VALIDATION,
    message='ExecuteTransaction API does not support both read and write operations in the same request.')
aws('ExecuteTransaction: RETURNING', CONFORMANCE, status=400, type=VALIDATION,
    message='Validation failed in TransactStatements[0]: RETURNING clause is not supported in ExecuteTransaction.')
aws('ExecuteTransaction: not well formed', CONFORMANCE, status=400, type=VALIDATION,
    message="Validation failed in TransactStatements[1]: Statement wasn't well formed, can't be processed: Unexpected term")
aws('ExecuteTransaction: a read without the whole key', FLOCI, status=400, type=VALIDATION,
    message='Validation failed in TransactStatements[0]: Select statements within ExecuteTransaction must specify the primary key in the where clause.')
aws('ExecuteTransaction: two statements on one item', FLOCI, status=400, type=VALIDATION,
    message='Transaction request cannot include multiple operations on one item')
aws('ExecuteTransaction: EXISTS without a condition', FLOCI, status=400, type=VALIDATION,
    message='Validation failed in TransactStatements[0]: EXISTS() must contain a single item read with additional condition')

DOCS_EXISTS = 'DynamoDB Developer Guide, PartiQL EXISTS (DynamoDB Local cancels it)'
aws('ExecuteTransaction: writes', DOCS_EXISTS, status=200, answer={})
aws('ExecuteTransaction: reads', DOCS_EXISTS, status=200, answer={'Responses': [
    {'Item': {'pk': S('t'), 'sk': N(1), 'v': N(1)}}, {'Item': {'v': N(3)}}, {}]})

batch('writes', "INSERT INTO Tab VALUE {'pk': 'm', 'sk': 1, 'v': 1}", "INSERT INTO Tab VALUE {'pk': 'm', 'sk': 2, 'v': 2}",
      "UPDATE Tab SET v = 5 WHERE pk = 'b' AND sk = 1")
batch('a failed condition and a duplicate key', "UPDATE Tab SET v = 3 WHERE pk = 'm' AND sk = 1 AND v = 9",
      "INSERT INTO Tab VALUE {'pk': 'm', 'sk': 2}", "DELETE FROM Tab WHERE pk = 'zz' AND sk = 9")
batch('reads by key, one missing, one not well formed, one on no table', "SELECT * FROM Tab WHERE pk = 'm' AND sk = 1",
      "SELECT * FROM Tab WHERE pk = 'm' AND sk = 9", "SLECT * FROM Tab", "SELECT * FROM Nope WHERE pk = 'a'")
batch('a read without the whole key', "SELECT * FROM Tab WHERE pk = 'm'")
batch('reads and writes', "SELECT * FROM Tab WHERE pk = 'm' AND sk = 1", "DELETE FROM Tab WHERE pk = 'm' AND sk = 1")
batch('two statements on one item', "UPDATE Tab SET v = 1 WHERE pk = 'm' AND sk = 1", "DELETE FROM Tab WHERE pk = 'm' AND sk = 1")
batch('parameters', {'Statement': "SELECT v FROM Tab WHERE pk = ? AND sk = ?", 'Parameters': [S('m'), N(2)]})
txn('writes', "INSERT INTO Tab VALUE {'pk': 't', 'sk': 1, 'v': 1}", "UPDATE Tab SET v = v + 1 WHERE pk = 'm' AND sk = 2",
    "EXISTS(SELECT * FROM Tab WHERE pk = 'm' AND sk = 1 AND v = 1)", "DELETE FROM Tab WHERE pk = 'b' AND sk = 1")
txn('reads', "SELECT * FROM Tab WHERE pk = 't' AND sk = 1", "SELECT v FROM Tab WHERE pk = 'm' AND sk = 2",
    "SELECT * FROM Tab WHERE pk = 'zz' AND sk = 1")
txn('a failed condition cancels', "INSERT INTO Tab VALUE {'pk': 't', 'sk': 2}", "UPDATE Tab SET v = 1 WHERE pk = 'm' AND sk = 2 AND v = 100")
txn('an INSERT of an existing key cancels', "INSERT INTO Tab VALUE {'pk': 't', 'sk': 1}")
txn('nothing of a cancelled transaction is written', "SELECT * FROM Tab WHERE pk = 't' AND sk = 2")
txn('reads and writes', "SELECT * FROM Tab WHERE pk = 't' AND sk = 1", "DELETE FROM Tab WHERE pk = 't' AND sk = 1")
txn('RETURNING', "UPDATE Tab SET v = 1 WHERE pk = 't' AND sk = 1 RETURNING ALL NEW *")
txn('not well formed', "DELETE FROM Tab WHERE pk = 't' AND sk = 1", "DELETE FROM Tab WHERE")
txn('a read without the whole key', "SELECT * FROM Tab WHERE pk = 't'")
txn('two statements on one item', "UPDATE Tab SET v = 1 WHERE pk = 't' AND sk = 1", "DELETE FROM Tab WHERE pk = 't' AND sk = 1")
txn('EXISTS without a condition', "EXISTS(SELECT * FROM Tab WHERE pk = 't' AND sk = 1)")

# DynamoDB spells this error's member `Message` (the shared error table says which).
for c in CASES:
    if c.get('type', '').endswith('#TransactionCanceledException'):
        c['message_member'] = 'Message'

with open(os.path.join(HERE, 'partiql.jsonl'), 'w') as f:
    f.write('// Generated by partiql_oracle.py from DynamoDB Local, with DynamoDB\'s own answers where they differ.\n')
    for c in CASES:
        f.write(json.dumps(c) + '\n')
print(len(CASES), 'cases')
