#!/usr/bin/env python3
"""The expression test table, and its oracle.

Every case below is replayed against DynamoDB Local (shared/tools/ddb-local) and the answer
it gives is written, with the case, to cases.jsonl, which the Rust tests (table.rs) replay
against this module. To add a case: add a line here, run
    python3 server/types/src/expr/tests/oracle.py [http://127.0.0.1:8001]
and commit the regenerated cases.jsonl. Values are DynamoDB JSON (B as base64).
Tables used: expr_t (pk S), expr_scan (pk S, one item at a time).
"""
import base64, json, os, sys

import boto3
from botocore.exceptions import ClientError

ENDPOINT = sys.argv[1] if len(sys.argv) > 1 else 'http://127.0.0.1:8001'
HERE = os.path.dirname(os.path.abspath(__file__))

# ---- value helpers (DynamoDB JSON) ----
def N(x): return {'N': str(x)}
def S(x): return {'S': x}
def B(x): return {'B': base64.b64encode(x if isinstance(x, bytes) else x.encode()).decode()}
def SS(*x): return {'SS': list(x)}
def NS(*x): return {'NS': [str(i) for i in x]}
def BS(*x): return {'BS': [base64.b64encode(i.encode()).decode() for i in x]}
def L(*x): return {'L': list(x)}
def M(**x): return {'M': x}
NUL = {'NULL': True}
T = {'BOOL': True}
F = {'BOOL': False}

ITEM = {'a': N(1), 's': S('abc'), 'b': B('abc'), 'ss': SS('x', 'y'), 'ns': NS(1, 2), 'bs': BS('x'),
        'l': L(N(1), S('x'), L(N(1))), 'm': M(k=N(1), j=M(q=N(1), r=N(2))), 'nul': NUL, 't': T}
V1 = {':v': N(1)}

CASES = []
def case(kind, **kw):
    kw['kind'] = kind
    CASES.append(kw)

def cond(expr, values=None, names=None, item=ITEM, note=None):
    case('condition', expr=expr, values=values, names=names, item=item, note=note)

def upd(expr, values=None, names=None, item=ITEM, condition=None, note=None):
    case('update', expr=expr, values=values, names=names, item=item, condition=condition, note=note)

def proj(expr, names=None, item=ITEM, note=None):
    case('projection', expr=expr, names=names, item=item, note=note)

# ==== conditions: syntax ====
for e in ['a = = :v', 'a =', 'a = ', 'a = :v AND', '(a = :v', 'a = :v)', 'a', 'a b', 'attribute_exists(a',
          'attribute_exists()', 'a = :v AND b', 'a.b.c = = :v', 'a = :v and and b = :v',
          'a = :v  and    and b = :v', 'a = :v OR OR', 'a !', 'a = :v $', 'a = 1', 'a = 1 ', 'a = "x"',
          'a = "xyz" AND b', "a = 'x'", 'a = 1.5', 'a[x] = :v', 'a[-1] = :v', '#', ':', 'a = :', ' ',
          'a ==:v', 'foo() = :v', 'a IN ()', 'a BETWEEN :v', 'a BETWEEN :v AND', 'NOT', 'a <> :v <> :v',
          'a = :v = :v', 'a < b < c', 'a-b = :v', 'a:b = :v', 'a#b = :v', '_a = :v', '1a = :v', 'é = :v',
          'a.1 = :v', 'a..b = :v', 'a[1 = :v', 'a[1]] = :v', 'a[] = :v', 'a[01] = :v', 'a = :v.b',
          'a = :v[1]', 'a + :v = :v', 'ADD = :v', 'REMOVE = :v', 'a.and = :v', 'a.in = :v', '(a) AND a = :v',
          '(a = :v) = :v', 'a = :v NOT', 'a NOT = :v', 'a = :v;', '\ta = = :v', 'a @ b']:
    cond(e, V1)
cond('', V1)

# ==== conditions: semantics of operators and functions ====
for e, v in [
    ('a = :v', N(1)), ('a = :v', N(2)), ('a = :v', S('1')), ('a <> :v', N(1)), ('a <> :v', S('1')),
    ('zz <> :v', N(1)), ('zz = :v', NUL), ('a = :v', NUL), ('nul = :v', NUL), ('t = :v', T), ('t = :v', F),
    ('a < :v', N(2)), ('a <= :v', N(1)), ('a > :v', N('0.5')), ('a >= :v', N('1.0')), ('a > :v', B('x')),
    ('s > :v', S('abb')), ('s < :v', S('abd')), ('b > :v', B('ab')), ('b < :v', B('abd')),
    ('ss = :v', SS('y', 'x')), ('ns = :v', NS(2, 1)), ('ns = :v', NS(1)), ('l = :v', L(N(1), S('x'), L(N(1)))),
    ('m.k = :v', N(1)), ('m.j.q = :v', N(1)), ('l[0] = :v', N(1)), ('l[2][0] = :v', N(1)), ('m[0] = :v', N(1)),
    ('l.k = :v', N(1)), ('a.b = :v', N(1)),
    ('a BETWEEN :v AND :v', N(1)), ('NOT zz BETWEEN :v AND :v', N(1)), ('NOT zz < :v', N(1)),
    ('a IN (:v)', N(1)), ('NOT zz IN (:v)', N(1)), ('a IN (:v)', SS('a')), ('a IN (:v)', T),
    ('contains(s, :v)', S('bc')), ('contains(s, :v)', S('')), ('contains(s, :v)', N(1)), ('contains(b, :v)', B('bc')),
    ('contains(b, :v)', S('bc')), ('contains(ss, :v)', S('x')), ('contains(ss, :v)', SS('x')),
    ('contains(ns, :v)', N('1.0')), ('contains(ns, :v)', S('1')), ('contains(bs, :v)', B('x')),
    ('contains(l, :v)', N(1)), ('contains(l, :v)', L(N(1))), ('contains(l, :v)', S('x')), ('contains(m, :v)', S('k')),
    ('contains(a, :v)', N(1)), ('contains(:v, s)', S('xabcx')), ('contains(s, :v)', NUL), ('contains(l, :v)', M()),
    ('NOT contains(zz, :v)', S('x')),
    ('begins_with(s, :v)', S('ab')), ('begins_with(s, :v)', S('')), ('begins_with(b, :v)', B('ab')),
    ('begins_with(b, :v)', S('ab')), ('begins_with(s, :v)', B('ab')), ('begins_with(l, :v)', S('ab')),
    ('begins_with(:v, s)', S('ab')), ('begins_with(s, :v)', N(1)), ('begins_with(s, :v)', L()),
    ('attribute_type(a, :v)', S('N')), ('attribute_type(a, :v)', S('S')), ('attribute_type(zz, :v)', S('S')),
    ('attribute_type(m, :v)', S('M')), ('attribute_type(nul, :v)', S('NULL')), ('attribute_type(t, :v)', S('BOOL')),
    ('attribute_type(ss, :v)', S('SS')), ('attribute_type(l, :v)', S('L')), ('attribute_type(bs, :v)', S('BS')),
    ('attribute_type(a, :v)', S('n')), ('attribute_type(a, :v)', S('X')), ('attribute_type(a, :v)', S('')),
    ('attribute_type(a, :v)', N(1)), ('attribute_type(:v, :v)', S('S')),
    ('size(s) = :v', N(3)), ('size(b) = :v', N(3)), ('size(ss) = :v', N(2)), ('size(l) = :v', N(3)),
    ('size(m) = :v', N(2)), ('size(a) = :v', N(1)), ('size(t) = :v', N(1)), ('size(nul) = :v', N(1)),
    ('size(zz) = :v', N(1)), ('NOT size(zz) = :v', N(1)), ('size(a) <> :v', N(1)), ('size(:v) = size(s)', S('xyz')),
    ('size(:v) = size(s)', T), ('size(:v) = size(s)', NUL), ('size(size(s)) = :v', N(1)), ('size(s) = :v', S('3')),
    ('size(s) < :v', S('3')), ('size(s) BETWEEN :v AND :v', S('3')), ('contains(size(s), :v)', N(3)),
    ('begins_with(size(s), :v)', N(3)), ('size(s) > :v', N(2)), ('size(m.j) = :v', N(2)),
    ('a < :v', T), ('a < :v', SS('a')), ('a < :v', L()), ('a < :v', M()), ('a < :v', NUL), (':v < a', NUL),
    ('a > :v', NS(1)), ('a BETWEEN :v AND :v', T), ('a BETWEEN :v AND :v', SS('a')), ('a BETWEEN :v AND b', N(5)),
]:
    cond(e, {':v': v})
for e in ['attribute_exists(a)', 'attribute_exists(zz)', 'attribute_exists(m.k)', 'attribute_exists(m.zz)',
          'attribute_exists(l[0])', 'attribute_exists(l[3])', 'attribute_not_exists(l[3])', 'attribute_not_exists(a)',
          'attribute_exists(a.b)', 'attribute_exists(a[0])', 'attribute_exists(m.j.r)',
          'attribute_exists(a) AND attribute_exists(s)', 'attribute_exists(zz) OR attribute_exists(s)',
          'NOT attribute_exists(zz) AND NOT attribute_exists(yy)', 'NOT attribute_exists(a) OR attribute_exists(s)',
          'attribute_exists(zz) AND attribute_exists(a) OR attribute_exists(s)',
          'attribute_exists(zz) AND (attribute_exists(a) OR attribute_exists(s))',
          'NOT attribute_exists(a) AND attribute_exists(a)', 'NOT NOT attribute_exists(a)',
          '(attribute_exists(a))', 'NOT (attribute_exists(a) AND attribute_exists(zz))',
          'attribute_exists(zz) OR attribute_exists(yy) OR attribute_exists(m)',
          'a = a', 'a.b = a.b', 'a < a', 'a BETWEEN a AND a', 'a IN (a)', 'contains(a, a)', 'begins_with(a, a)',
          'attribute_type(a, a)', 'attribute_type(a, s)', 'attribute_type(a, size(s))', 'size(a) = size(a)',
          'attribute_exists(a, b)', 'attribute_exists(:v)', 'contains(a)', 'size(a, b) = a', 'begins_with(a, b, c)',
          'size(a)', 'foo(a)', 'Size(a) = a', 'CONTAINS(a, s)', 'if_not_exists(a, s) = s', 'list_append(a, s) = s',
          'attribute_exists(size(s))', 'attribute_exists(a) = s', 'contains(a, attribute_exists(a))',
          'size(attribute_exists(a)) = s', 'name = s', 'NAME = s', 'a.name = s', 'size(name) = s', 'size = a',
          'attribute_exists = a', 'convert = a', 'aNd = a', '#a = s', ':v1x = a',
          '((a = s))', '((a) = s)', '(((a)) = s)', '(a = s)', '((a = s) AND (a = s))', '(((a = s)))',
          'a[99999999999999999999] = s', 'a[2147483648] = s', 'a[2147483647] = s',
          'a' + '.b' * 31 + ' = s', 'a' + '.b' * 32 + ' = s', 'a' + '[0]' * 32 + ' = s',
          'attribute_exists(m) AND ' * 150 + 'a = s', 'attribute_exists(m) AND ' * 149 + 'a = s',
          'NOT ' * 299 + 'a = s', 'NOT ' * 300 + 'a = s', '(' * 500 + 'a = s' + ')' * 500,
          'a = s' + ' ' * 4092, 'a = s' + ' ' * 4091,
          ]:
    cond(e)
vals = {':v%d' % i: N(i) for i in range(101)}
cond('a IN (' + ', '.join(':v%d' % i for i in range(100)) + ')', {k: v for k, v in vals.items() if k != ':v100'})
cond('a IN (' + ', '.join(':v%d' % i for i in range(101)) + ')', vals)
for e, v in [('a BETWEEN :lo AND :hi', {':lo': N(5), ':hi': N(1)}), ('a BETWEEN :lo AND :hi', {':lo': N(1), ':hi': S('x')}),
             ('a BETWEEN :lo AND :hi', {':lo': S('b'), ':hi': S('a')}), ('a BETWEEN :lo AND :hi', {':lo': N(1), ':hi': N(1)}),
             ('a BETWEEN :lo AND :hi', {':lo': N(0), ':hi': N(2)}), ('s BETWEEN :lo AND :hi', {':lo': S('a'), ':hi': S('b')}),
             ('b BETWEEN :lo AND :hi', {':lo': B('b'), ':hi': B('a')}), ('b BETWEEN :lo AND :hi', {':lo': B('a'), ':hi': S('a')})]:
    cond(e, v)
# phase order inside one expression
for e in ['((a = :v)) AND foo(a)', 'foo(a) AND ((a = :v))', 'name = :v AND foo(a)', 'size(a) AND name = :v',
          'name = :v AND size(a)', 'foo(a) AND size(a)', 'a = :w AND name = :v', 'a = :w AND foo(b)',
          'a = :w AND contains(a)', 'contains(a) AND a = :w', 'a = a AND contains(a)', 'contains(a) AND a = a',
          'a = :w AND #n = :v', '#n = :v AND a = :w', 'attribute_exists(:v) AND a = a', 'begins_with(a, :v) AND a = a']:
    cond(e, V1)
# substitution and the request-wide rules
cond('#n = :v', V1, {'#n': 'a'})
cond('#n.#k = :v', V1, {'#n': 'm', '#k': 'k'})
cond('#n = :v', V1, {'#n': 'a.b'})
cond('#n = :v', V1, {'#n': 'name'})
cond('#n = a', None, {'#n': 'a'})
cond('a = :v', {':v': N(1), ':w': N(2), ':x': N(1)})
cond('a = :v', V1, {'#n': 'x', '#m': 'y'})
cond('a = :v', {}, None)
cond('a = :v', V1, {})
cond('a = :v', {}, {})
cond('a = :v', {':v': SS()})
cond('a = :v', {':v': SS('a', 'a')})
cond('a = :v', {':v': NS(1, '1.0')})
cond('a = :v', {':v': BS('a', 'a')})
cond('a = :v', {':v': L(SS())})
cond('a = :v', {':v': N(1), 'v': N(1)})
cond('a = :v', V1, {'n': 'x'})
cond('a = :v', V1, {'#': 'x'})
cond('#a = :v', V1, {'#a': ''})
cond('a = :' + 'v' * 254, {':' + 'v' * 254: N(1)})
cond('a = :' + 'v' * 255, {':' + 'v' * 255: N(1)})
cond('#' + 'v' * 255 + ' = :v', V1, {'#' + 'v' * 255: 'a'})
cond('#' + 'v' * 254 + ' = :v', V1, {'#' + 'v' * 254: 'a'})
cond('a = :v AND a = :w', V1, {'#x': 'a'})
cond('a = :v', {':v': N(1), 'bad': N(1)}, {})
cond('a = :v', {':v': SS()}, {'bad': 'x'})
cond('a = :v', {}, {'#a': ''})
cond('a = :v', {':v': SS()}, {'#a': ''})
cond('#a = :v', {':v': SS(), ':w': N(1)}, {'#a': 'a', '#b': 'b'})
cond('a = :v', V1, item=None)
cond('attribute_not_exists(a)', item=None)
cond('NOT a = :v', V1, item=None)

# ==== update expressions ====
U = {'a': N(1), 's': S('abc'), 'l': L(N(1), N(2), N(3)), 'm': M(k=N(1), ss=SS('q')), 'ss': SS('x', 'y'), 'ns': NS(1, 2),
     'big': N('9.9e125')}
for e, v in [
    ('SET a = :v', N(5)), ('SET a = a + :v', N(5)), ('SET a = a - :v', N(5)), ('SET a = :v + :v', N(5)),
    ('SET a = s + :v', N(5)), ('SET a = zz + :v', N(5)), ('SET a = if_not_exists(zz, :v)', N(5)),
    ('SET a = if_not_exists(a, :v)', N(5)), ('SET a = if_not_exists(:v, a)', N(5)),
    ('SET a = if_not_exists(zz, :v) + :v', N(5)), ('SET a = list_append(l, :v)', L(N(9))),
    ('SET a = list_append(:v, l)', L(N(9))), ('SET a = list_append(l, :v)', N(9)), ('SET a = list_append(a, :v)', L(N(9))),
    ('SET a = list_append(zz, :v)', L(N(9))), ('SET a = if_not_exists(zz, if_not_exists(yy, :v))', N(5)),
    ('SET a = if_not_exists(zz, :v + :v)', N(5)), ('SET a = if_not_exists(zz, (:v))', N(5)),
    ('SET a = a + if_not_exists(zz, :v)', N(5)), ('SET l[1] = :v', N(9)),
    ('SET m.x = :v', N(9)), ('SET m.x.y = :v', N(9)), ('SET zz.x = :v', N(9)), ('SET zz[0] = :v', N(9)),
    ('SET a.x = :v', N(9)), ('SET a[0] = :v', N(9)), ('SET m[0] = :v', N(9)), ('SET l.x = :v', N(9)),
    ('SET l[1] = :v REMOVE l[0]', N(9)), ('SET l[5] = :v REMOVE l[0]', N(9)), ('SET a = :v, b = a', N(9)),
    ('SET b = a, a = :v', N(9)), ('SET a = :v REMOVE s', N(9)), ('REMOVE s SET a = :v', N(9)),
    ('SET a = :v SET s = :v', N(9)), ('SET a = :v, a = :v', N(9)), ('SET a = :v REMOVE a', N(9)),
    ('SET m.k = :v REMOVE m', N(9)), ('SET m = :v REMOVE m.k', N(9)), ('SET l[0] = :v REMOVE l', N(9)),
    ('SET l[0] = :v REMOVE l.x', N(9)), ('SET l.x = :v REMOVE l[0]', N(9)), ('SET l[0] = :v, l[0].x = :v', N(9)),
    ('SET l[0] = :v, l[1] = :v', N(9)), ('SET m.a = :v, m.b = :v', N(9)), ('SET m.a.b = :v, m.a = :v', N(9)),
    ('ADD a :v', N(5)), ('ADD zz :v', N(5)), ('ADD zz :v', SS('q')), ('ADD ss :v', SS('q', 'x')), ('ADD ns :v', NS(3)),
    ('ADD ss :v', NS(3)), ('ADD a :v', NS(3)), ('ADD s :v', N(3)), ('ADD ss :v', N(3)), ('ADD a :v', S('x')),
    ('ADD a :v', L()), ('ADD l :v', L(N(1))), ('ADD a :v', M()), ('ADD a :v', T), ('ADD a :v', NUL), ('ADD a :v', B('x')),
    ('ADD m.k :v', N(5)), ('ADD m.ss :v', SS('z')), ('ADD m.zz :v', N(5)), ('ADD l[0] :v', N(5)),
    ('ADD yy.zz :v', N(5)), ('DELETE ss :v', SS('x')), ('DELETE ss :v', SS('x', 'y')), ('DELETE ss :v', SS('q')),
    ('DELETE zz :v', SS('q')), ('DELETE ss :v', NS(1)), ('DELETE a :v', NS(1)), ('DELETE ns :v', N(1)),
    ('DELETE ns :v', S('1')), ('DELETE m.ss :v', SS('q')), ('DELETE ns :v', NS('1.0')),
    ('SET pk = :v', S('x')), ('SET pk.x = :v', S('x')), ('ADD pk :v', SS('x')),
    ('SET a = a + :v', N('1e125')), ('SET big = big + :v', N('9e125')), ('SET big = big - :v', N('-9e125')),
    ('SET a = a + :v', N('1e-130')), ('ADD big :v', N('9e125')), ('SET a = :v - a', N('0.5')),
    ('SET m.x.y = :v, a = :v + :v', N(1)), ('SET a = :v + :v REMOVE a', S('x')),
    ('SET a = :v ADD b :v DELETE c :v REMOVE d', N(1)), ('SET a = :v, b = :v, c = :v', N(1)),
]:
    upd(e, {':v': v}, item=U)
for e in ['SET a = a + a', 'SET a = a + a + a', 'SET a = (a + a)', 'SET a = ((a + a))', 'SET a = (a) + (a)',
          'SET a = if_not_exists(a)', 'SET a = list_append(l, l)', 'SET a = size(l)', 'SET a = foo(l)',
          'SET a = attribute_exists(l)', 'SET a = list_append(list_append(l, l), l)', 'SET a = list_append(l)',
          'REMOVE a, s', 'REMOVE l[0]', 'REMOVE l[0], l[2]', 'REMOVE l[5]', 'REMOVE zz', 'REMOVE m.zz', 'REMOVE zz.yy',
          'REMOVE a.b', 'REMOVE a[0]', 'REMOVE m.k', 'REMOVE a REMOVE s', 'REMOVE pk', 'SET', 'SET a', 'a = s', 'set a = s',
          'SET a = s,', 'REMOVE', 'REMOVE a,', 'ADD a', 'DELETE a', 'SET a = s REMOVE', 'SET a s', 'SET a = s AND b = s',
          'SET a += s', 'SET a = -s', 'SET a = s - - s', 'SET a=s,b=s', 'SET a = s remove b', 'SeT a = s',
          'SET name = s', 'SET a.name = s', 'SET a = name', 'REMOVE name', 'SET a = s; REMOVE b', 'SET a = (s)',
          'SET a = ((s))', 'SET (a) = s', 'UPDATE a = s', 'SET a = s SET', 'SET a = s, SET b = s', '', ' ', '  a = s',
          'SET a = b = s', 'SET set = s', 'SET remove = s', 'SET and = s', 'SET size = s', 'SET a = in',
          'SET a = list_append(if_not_exists(zz, l), l)', 'SET a = if_not_exists(zz, list_append(l, l))',
          'SET a' + '.b' * 32 + ' = s', 'SET a = a' + '.b' * 32, 'SET a[2147483648] = s', 'SET a[2147483647] = s',
          'SET ' + ','.join('x%d=a+a' % i for i in range(301)), 'SET ' + ','.join('x%d=a+a' % i for i in range(300)),
          'SET ' + ','.join('x%d=a' % i for i in range(400)), 'SET a = s' + ' ' * 4089, 'SET a = s' + ' ' * 4088]:
    upd(e, item=U)
APPEND = 'DynamoDB Local reports no UPDATED_NEW for an append past the end; Keyfall reports the new element'
upd('SET l[10] = :v', {':v': N(9)}, item=U, note=APPEND)
upd('ADD l[7] :v', {':v': N(5)}, item=U, note=APPEND)
upd('SET #a = :v, a = :v', {':v': N(9)}, {'#a': 'a'}, item=U)
upd('SET #a = :v, #b = :v', {':v': N(9)}, {'#a': 'a.b', '#b': 'a'}, item=U)
upd('SET #p = :v', {':v': S('x')}, {'#p': 'pk'}, item=U)
upd('SET #a = :v, #a = :v', V1, item=U)
upd('SET a = :v', V1, item=None)
upd('SET a = a + :v', V1, item=None)
upd('ADD a :v', V1, item=None)
upd('SET a = :v', {':v': N(2)}, item=U, condition='a = :w')
upd('SET a = :v', {':v': N(2), ':w': N(1)}, item=U, condition='a = :w')
upd('SET a = :v', {':v': N(2), ':w': N(5)}, item=U, condition='a = :w')
upd('SET a = = :v', V1, item=U, condition='a = = :v')
upd('SET a = :v', V1, item=U, condition='a = = :v')
upd('SET a = :w', V1, item=U, condition='name = :v')
upd('SET name = :v', V1, item=U, condition='a = = :v')
upd('SET a = :v', {}, item=U, condition='a = = :v')
upd('SET a = :v', {':v': SS()}, item=U, condition='a = = :v')
upd('SET a = :v', {':v': N(1), 'bad': N(1)}, item=U, condition='a = = :v')
upd('SET a = :v', {':v': N(1), ':u': N(1)}, item=U, condition='a = :v')
upd('SET a = :v', V1, {'#c': 'a'}, item=U, condition='#c = :v')
upd('SET b = #x, a = :w, a = :v', V1, item=U)
for e in ['SET b = list_append(:w), a = :v + :v', 'SET a = :v + :v, b = list_append(:w), c = :v',
          'SET c = :v + :v, b = :w, a = :v', 'SET a = :w, b = :v + :v, c = :v', 'SET a = :v, b = :v + :v, c = :w',
          'ADD a :w, b :v, c :v', 'SET x = :v + :v ADD a :w', 'ADD a :w SET x = :v + :v', 'SET a = :w + :v, b = :v',
          'SET a = :v + :w, b = :v']:
    upd(e, {':v': S('x')}, item=U)
upd('SET a = if_not_exists(:v, :v), a = :v', V1, item=U)

# ==== projections ====
P = {'a': N(1), 's': S('abc'), 'l': L(N(1), M(x=N(1), y=N(2)), N(3), L(N(1), N(2))), 'm': M(k=N(1), j=M(q=N(1), r=N(2)))}
for e in ['a', 'a, s', 'l[1]', 'l[3], l[1]', 'l[1].x, l[3][1]', 'l[9]', 'm.j.q, m.k', 'm.zz', 'a.b', 'a, a', 'm, m.k',
          'm.k, m', 'l[0], l[0]', 'l[0], l.x', 'a,', ',a', '', 'a b', 'size(a)', 'name', '(a)', 'a = :v',
          'l[1].x, l[1].y, l[3][0]', 'set', 'and', 'a.or', 'size', 'a,size', 'a' + '.b' * 32, 'a' + ' ' * 4096,
          'l[2], l[0], m.j.r']:
    proj(e, item=P)
proj('#n', {'#n': 'a'}, item=P)
proj('#n, #n.k', {'#n': 'm'}, item=P)
proj('a', {'#n': 'a'}, item=P)

# ==== Scan / Query: which expression's error comes first ====
def req(op, **kw):
    case('request', op=op, params=kw)
SV = {':v': S('x')}
req('scan', FilterExpression='a = = :v', ProjectionExpression='a a', ExpressionAttributeValues=SV)
req('scan', FilterExpression='a = :v', ProjectionExpression='a a', ExpressionAttributeValues=SV)
req('scan', FilterExpression='a = :w', ProjectionExpression='name', ExpressionAttributeValues=SV)
req('scan', FilterExpression='a = :w', ProjectionExpression='a a', ExpressionAttributeValues=SV)
req('scan', FilterExpression='a = :v' + ' ' * 5000, ExpressionAttributeValues=SV)
req('scan', FilterExpression='a = :v', ProjectionExpression='#p', ExpressionAttributeValues=SV, ExpressionAttributeNames={'#p': 'a', '#q': 'b'})
req('query', KeyConditionExpression='pk = = :v', FilterExpression='a = = :v', ProjectionExpression='a a', ExpressionAttributeValues=SV)
req('query', KeyConditionExpression='pk = :v', FilterExpression='a = :v', ProjectionExpression='a a', ExpressionAttributeValues=SV)
req('query', KeyConditionExpression='pk = :w', FilterExpression='a = :v', ProjectionExpression='name', ExpressionAttributeValues=SV)
req('query', KeyConditionExpression='pk = = :v', ProjectionExpression='name', ExpressionAttributeValues=SV)
req('query', KeyConditionExpression='pk = :v' + ' ' * 5000, ExpressionAttributeValues=SV)
req('query', KeyConditionExpression='name = :v', ExpressionAttributeValues=SV)
req('scan', ExpressionAttributeNames={'#a': 'a'})
req('scan', ProjectionExpression='a', ExpressionAttributeNames={'#a': 'a'})

# ==== legacy parameters ====
LI = {'a': N(1), 's': S('abc'), 'ss': SS('x', 'y'), 'l': L(N(1))}
def expected(e, op=None, item=LI):
    case('expected', expected=e, op=op, item=item)
def eq(**kw): return {'ComparisonOperator': 'EQ', **kw}
for e in [
    {'a': {'Value': N(1)}}, {'a': {'Value': N(2)}}, {'a': {'Exists': True}}, {'a': {'Exists': False}}, {'zz': {'Exists': False}},
    {'a': {'Exists': True, 'Value': N(1)}}, {'a': {'Exists': False, 'Value': N(1)}}, {'a': {}},
    {'a': {'Value': N(1), 'ComparisonOperator': 'EQ'}}, {'a': eq(AttributeValueList=[N(1)], Value=N(1))},
    {'a': eq(AttributeValueList=[N(1)], Exists=True)}, {'a': eq(AttributeValueList=[N(1)])}, {'a': eq()},
    {'a': eq(AttributeValueList=[N(1), N(2)])}, {'a': eq(AttributeValueList=[])},
    {'a': {'AttributeValueList': [N(1)]}}, {'a': {'AttributeValueList': [N(1)], 'Value': N(1)}},
    {'a': {'Exists': True, 'AttributeValueList': [N(1)]}},
    {'a': {'ComparisonOperator': 'NULL'}}, {'a': {'ComparisonOperator': 'NULL', 'AttributeValueList': [N(1)]}},
    {'a': {'ComparisonOperator': 'NOT_NULL'}}, {'a': {'ComparisonOperator': 'FOO'}},
    {'a': {'ComparisonOperator': 'LT', 'AttributeValueList': [T]}}, {'a': {'ComparisonOperator': 'LT', 'AttributeValueList': [SS('a')]}},
    {'a': eq(AttributeValueList=[SS('a')])}, {'a': eq(AttributeValueList=[L()])}, {'a': eq(AttributeValueList=[NUL])},
    {'a': {'ComparisonOperator': 'NE', 'AttributeValueList': [L()]}}, {'zz': {'ComparisonOperator': 'NE', 'AttributeValueList': [N(1)]}},
    {'a': {'ComparisonOperator': 'CONTAINS', 'AttributeValueList': [SS('x')]}},
    {'ss': {'ComparisonOperator': 'CONTAINS', 'AttributeValueList': [S('x')]}},
    {'l': {'ComparisonOperator': 'CONTAINS', 'AttributeValueList': [N(1)]}},
    {'l': {'ComparisonOperator': 'CONTAINS', 'AttributeValueList': [L()]}},
    {'l': {'ComparisonOperator': 'CONTAINS', 'AttributeValueList': [NUL]}},
    {'zz': {'ComparisonOperator': 'NOT_CONTAINS', 'AttributeValueList': [N(1)]}},
    {'a': {'ComparisonOperator': 'NOT_CONTAINS', 'AttributeValueList': [N(1)]}},
    {'s': {'ComparisonOperator': 'NOT_CONTAINS', 'AttributeValueList': [S('q')]}},
    {'s': {'ComparisonOperator': 'NOT_CONTAINS', 'AttributeValueList': [S('b')]}},
    {'a': {'ComparisonOperator': 'NOT_CONTAINS', 'AttributeValueList': [M()]}},
    {'s': {'ComparisonOperator': 'BEGINS_WITH', 'AttributeValueList': [N(1)]}},
    {'s': {'ComparisonOperator': 'BEGINS_WITH', 'AttributeValueList': [S('ab')]}},
    {'s': {'ComparisonOperator': 'BEGINS_WITH', 'AttributeValueList': [T]}},
    {'s': {'ComparisonOperator': 'IN', 'AttributeValueList': [S('ab'), S('abc')]}},
    {'s': {'ComparisonOperator': 'IN', 'AttributeValueList': [S('ab'), N(1)]}},
    {'s': {'ComparisonOperator': 'IN', 'AttributeValueList': []}},
    {'s': {'ComparisonOperator': 'IN', 'AttributeValueList': [SS('x')]}},
    {'s': {'ComparisonOperator': 'IN', 'AttributeValueList': [SS('x'), N(1)]}},
    {'a': {'ComparisonOperator': 'IN', 'AttributeValueList': [NUL]}},
    {'a': {'ComparisonOperator': 'BETWEEN', 'AttributeValueList': [N(0), N(2)]}},
    {'a': {'ComparisonOperator': 'BETWEEN', 'AttributeValueList': [N(3), N(2)]}},
    {'a': {'ComparisonOperator': 'BETWEEN', 'AttributeValueList': [N(0), S('x')]}},
    {'a': {'ComparisonOperator': 'BETWEEN', 'AttributeValueList': [N(0)]}},
    {'a': {'ComparisonOperator': 'BETWEEN', 'AttributeValueList': [T, T]}},
    {'a': {'ComparisonOperator': 'NULL', 'Value': N(1)}}, {'a': {'ComparisonOperator': 'IN', 'Value': N(1)}},
    {'a': {'ComparisonOperator': 'LT', 'Value': N(2)}}, {'a': {'ComparisonOperator': 'GT', 'AttributeValueList': [B('x')]}},
    {'a': {'ComparisonOperator': 'GE', 'AttributeValueList': [N('0.5')]}}, {'a': {'Value': SS()}},
    {'a': {'Exists': False, 'ComparisonOperator': 'NULL'}}, {'a': eq(AttributeValueList=[SS()])},
    {'a': eq(AttributeValueList=[N(1)]), 'b': eq()},
    {}]:
    expected(e)
expected({'a': {'Value': N(1)}, 'zz': {'Exists': False}}, 'OR')
expected({'a': {'Value': N(2)}, 'zz': {'Exists': False}}, 'OR')
expected({'a': {'Value': N(2)}, 'zz': {'Exists': False}}, 'AND')
expected({'a': {'Value': N(2)}}, 'OR')
expected({}, 'OR')
expected({'a': {'Value': N(1)}}, item=None)
expected({'a': {'Exists': False}}, item=None)

def scanfilter(f, op=None, item=LI):
    case('scanfilter', filter=f, op=op, item=item)
scanfilter({'a': eq()})
scanfilter({'a': eq(AttributeValueList=[N(1)])})
scanfilter({'a': eq(AttributeValueList=[SS()])})
scanfilter({'a': {'ComparisonOperator': 'BETWEEN', 'AttributeValueList': [N(3), N(1)]}})
scanfilter({'a': {'ComparisonOperator': 'CONTAINS', 'AttributeValueList': [NS(1)]}})
scanfilter({'a': {'ComparisonOperator': 'NULL', 'AttributeValueList': [NS(1)]}})
scanfilter({'a': {'ComparisonOperator': 'NULL'}}, 'OR')
scanfilter({}, 'OR')
scanfilter({'a': eq(AttributeValueList=[N(2)]), 'zz': {'ComparisonOperator': 'NULL'}}, 'OR')
scanfilter({'a': eq(AttributeValueList=[N(2)]), 'zz': {'ComparisonOperator': 'NULL'}}, 'AND')
scanfilter({'s': {'ComparisonOperator': 'NOT_NULL'}, 'ss': {'ComparisonOperator': 'CONTAINS', 'AttributeValueList': [S('y')]}})

AU = {'a': N(1), 's': S('abc'), 'ss': SS('x', 'y'), 'l': L(N(1)), 'ns': NS(1)}
def au(u, item=AU, note=None):
    case('attribute_updates', updates=u, item=item, note=note)
for u in [{'a': {'Value': N(5), 'Action': 'PUT'}}, {'a': {'Action': 'PUT'}}, {'a': {}}, {'a': {'Action': 'DELETE'}},
          {'zz': {'Action': 'DELETE'}}, {'a': {'Action': 'DELETE', 'Value': N(1)}}, {'ss': {'Action': 'DELETE', 'Value': SS('x')}},
          {'ss': {'Action': 'DELETE', 'Value': SS('x', 'y')}}, {'ss': {'Action': 'DELETE', 'Value': NS(1)}},
          {'zz': {'Action': 'DELETE', 'Value': SS('x')}}, {'a': {'Action': 'ADD', 'Value': N(2)}},
          {'zz': {'Action': 'ADD', 'Value': N(2)}}, {'zz': {'Action': 'ADD', 'Value': SS('q')}},
          {'zz': {'Action': 'ADD', 'Value': L(N(1))}}, {'l': {'Action': 'ADD', 'Value': L(N(2))}},
          {'l': {'Action': 'ADD', 'Value': N(2)}}, {'a': {'Action': 'ADD', 'Value': S('x')}}, {'s': {'Action': 'ADD', 'Value': N(1)}},
          {'a': {'Action': 'ADD'}}, {'ss': {'Action': 'ADD', 'Value': SS('q')}}, {'a': {'Action': 'ADD', 'Value': M()}},
          {'a': {'Action': 'ADD', 'Value': T}}, {'pk': {'Value': S('x'), 'Action': 'PUT'}}, {'a': {'Value': SS(), 'Action': 'PUT'}},
          {'l': {'Action': 'DELETE', 'Value': L(N(1))}}, {'ss': {'Action': 'DELETE', 'Value': S('x')}},
          {'a': {'Action': 'ADD', 'Value': N('1e125')}},
          {'a': {'Action': 'ADD', 'Value': N(1)}, 'b': {'Action': 'PUT', 'Value': S('new')}, 's': {'Action': 'DELETE'}}]:
    au(u)
au({'ns': {'Action': 'ADD', 'Value': NS('1.0', 2)}}, note='DynamoDB Local unions 1 and 1.0 as different numbers, then finds duplicates')
au({'a': {'Value': N(5)}}, note='DynamoDB Local ignores a Value without Action; the documented default is PUT')
au({'a': {'Action': 'ADD', 'Value': N(2)}}, item=None)

def atg(names, item=LI):
    case('attributes_to_get', names=names, item=item)
atg(['a', 's'])
# DynamoDB answers "One or more parameter values were invalid: Duplicate value in attribute
# name: a"; DynamoDB Local "Cannot have two attributes with the same name". cases.jsonl keeps
# DynamoDB's words (re-recording needs this case set by hand).
atg(['a', 'a'])
atg(['a.b', 'zz'])
atg(['name', 'l'])

def mixing(op, **kw):
    case('mixing', op=op, params=kw)
mixing('scan', AttributesToGet=['a'], ProjectionExpression='a')
mixing('scan', AttributesToGet=['a'], ScanFilter={'a': {'ComparisonOperator': 'NULL'}}, FilterExpression='a = :v', ProjectionExpression='a', ExpressionAttributeValues=SV)
mixing('query', KeyConditions={'pk': {'ComparisonOperator': 'EQ', 'AttributeValueList': [S('x')]}}, QueryFilter={'a': {'ComparisonOperator': 'NULL'}}, AttributesToGet=['a'], ConditionalOperator='OR', KeyConditionExpression='pk = :v', FilterExpression='a = :v', ProjectionExpression='a', ExpressionAttributeValues=SV)
mixing('update_item', AttributeUpdates={'a': {'Value': N(1)}}, UpdateExpression='SET a = :v', Expected={'a': {'Exists': False}}, ConditionExpression='a = :v', ExpressionAttributeValues=SV)

# ======================================================================================
# The runner.

def to_boto(v):
    """DynamoDB JSON with base64 binaries -> boto3's form (bytes)."""
    if isinstance(v, dict):
        if len(v) == 1 and 'B' in v and isinstance(v['B'], str):
            return {'B': base64.b64decode(v['B'])}
        if len(v) == 1 and 'BS' in v:
            return {'BS': [base64.b64decode(x) for x in v['BS']]}
        return {k: to_boto(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_boto(x) for x in v]
    return v

def from_boto(v):
    if isinstance(v, dict):
        if len(v) == 1 and 'B' in v and isinstance(v['B'], (bytes, bytearray)):
            return {'B': base64.b64encode(v['B']).decode()}
        if len(v) == 1 and 'BS' in v:
            return {'BS': [base64.b64encode(x).decode() for x in v['BS']]}
        return {k: from_boto(x) for k, x in v.items()}
    if isinstance(v, list):
        return [from_boto(x) for x in v]
    return v

def run():
    c = boto3.client('dynamodb', endpoint_url=ENDPOINT, region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='x')
    for t in ('expr_t', 'expr_scan'):
        try:
            c.describe_table(TableName=t)
        except ClientError:
            c.create_table(TableName=t, KeySchema=[{'AttributeName': 'pk', 'KeyType': 'HASH'}],
                           AttributeDefinitions=[{'AttributeName': 'pk', 'AttributeType': 'S'}], BillingMode='PAY_PER_REQUEST')

    def call(op, **kw):
        try:
            r = getattr(c, op)(**to_boto(kw))
            r.pop('ResponseMetadata', None)
            return 'ok', from_boto(r)
        except ClientError as e:
            return e.response['Error']['Code'], e.response['Error']['Message']

    def place(key, item, table='expr_t'):
        c.delete_item(TableName=table, Key={'pk': {'S': key}})
        if item is None:
            return None
        full = dict(item)
        full['pk'] = {'S': key}
        c.put_item(TableName=table, Item=to_boto(full))
        return full

    def opt(kw, name, v):
        if v is not None:
            kw[name] = v

    out = []
    for i, cs in enumerate(CASES):
        kind = cs['kind']
        key = 'c%d' % i
        r = dict(cs)
        r = {k: v for k, v in r.items() if v is not None}
        if kind == 'condition':
            r['item'] = place(key, cs['item'])
            kw = dict(TableName='expr_t', Key={'pk': {'S': key}}, ConditionExpression=cs['expr'])
            opt(kw, 'ExpressionAttributeNames', cs['names'])
            opt(kw, 'ExpressionAttributeValues', cs['values'])
            code, res = call('delete_item', **kw)
            r['expect'] = True if code == 'ok' else False if code == 'ConditionalCheckFailedException' else {'error': res}
        elif kind == 'update':
            r['item'] = place(key, cs['item'])
            kw = dict(TableName='expr_t', Key={'pk': {'S': key}}, UpdateExpression=cs['expr'], ReturnValues='ALL_NEW')
            opt(kw, 'ExpressionAttributeNames', cs['names'])
            opt(kw, 'ExpressionAttributeValues', cs['values'])
            opt(kw, 'ConditionExpression', cs['condition'])
            code, res = call('update_item', **kw)
            if code == 'ok':
                r['expect'] = {'item': res.get('Attributes', {})}
                # Top-level UPDATED_OLD / UPDATED_NEW (DynamoDB Local returns whole top-level attributes).
                for rv in ('UPDATED_OLD', 'UPDATED_NEW'):
                    place(key, cs['item'])
                    kw['ReturnValues'] = rv
                    _, res2 = call('update_item', **kw)
                    r['expect'][rv.lower()] = res2.get('Attributes', {})
            elif code == 'ConditionalCheckFailedException':
                r['expect'] = {'condition_failed': True}
            else:
                r['expect'] = {'error': res}
        elif kind == 'projection':
            r['item'] = place(key, cs['item'])
            kw = dict(TableName='expr_t', Key={'pk': {'S': key}}, ProjectionExpression=cs['expr'])
            opt(kw, 'ExpressionAttributeNames', cs['names'])
            code, res = call('get_item', **kw)
            r['expect'] = {'item': res.get('Item', {})} if code == 'ok' else {'error': res}
        elif kind == 'request':
            kw = dict(cs['params'], TableName='expr_t')
            code, res = call(cs['op'], **kw)
            r['expect'] = {'ok': True} if code == 'ok' else {'error': res}
        elif kind == 'expected':
            r['item'] = place(key, cs['item'])
            kw = dict(TableName='expr_t', Key={'pk': {'S': key}}, Expected=cs['expected'])
            opt(kw, 'ConditionalOperator', cs['op'])
            code, res = call('delete_item', **kw)
            r['expect'] = True if code == 'ok' else False if code == 'ConditionalCheckFailedException' else {'error': res}
        elif kind == 'scanfilter':
            for it in c.scan(TableName='expr_scan').get('Items', []):
                c.delete_item(TableName='expr_scan', Key={'pk': it['pk']})
            r['item'] = place(key, cs['item'], 'expr_scan')
            kw = dict(TableName='expr_scan', ScanFilter=cs['filter'], Select='COUNT')
            opt(kw, 'ConditionalOperator', cs['op'])
            code, res = call('scan', **kw)
            r['expect'] = (res['Count'] == 1) if code == 'ok' else {'error': res}
        elif kind == 'attribute_updates':
            r['item'] = place(key, cs['item'])
            kw = dict(TableName='expr_t', Key={'pk': {'S': key}}, AttributeUpdates=cs['updates'], ReturnValues='ALL_NEW')
            code, res = call('update_item', **kw)
            r['expect'] = {'item': res.get('Attributes', {})} if code == 'ok' else {'error': res}
        elif kind == 'attributes_to_get':
            r['item'] = place(key, cs['item'])
            code, res = call('get_item', TableName='expr_t', Key={'pk': {'S': key}}, AttributesToGet=cs['names'])
            r['expect'] = {'item': res.get('Item', {})} if code == 'ok' else {'error': res}
        elif kind == 'mixing':
            code, res = call(cs['op'], **dict(cs['params'], TableName='expr_t', **({'Key': {'pk': {'S': key}}} if cs['op'] == 'update_item' else {})))
            r['expect'] = {'ok': True} if code == 'ok' else {'error': res}
        out.append(r)
    with open(os.path.join(HERE, 'cases.jsonl'), 'w') as f:
        for r in out:
            f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + '\n')
    print('%d cases written' % len(out))

if __name__ == '__main__':
    run()
