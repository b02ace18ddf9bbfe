//! A bounded run of the fuzz targets on stable Rust: the same bodies cargo-fuzz runs
//! (crate `keyfall-fuzz`, called by `server/fuzz/fuzz_targets/*`), fed the checked-in
//! seeds (`server/fuzz/seeds/<target>/`) and then inputs made from them by a seeded random
//! mutator. Deterministic: a failure names the seed and iteration, and prints the input.
//!
//! `KEYFALL_FUZZ_ITERS` sets the mutated inputs per target (defaults below, sized for a few
//! seconds each in a debug build on two cores); each target
//! also stops after `KEYFALL_FUZZ_SECS` seconds (default 8), so the run stays bounded on a
//! slow machine.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use keyfall_fuzz as fuzzing;

const DEFAULT_SECS: u64 = 8;
const MAX_LEN: usize = 4096;

/// Tokens the mutator splices in: JSON structure, DynamoDB member names and type tags,
/// expression and PartiQL syntax. They get mutated inputs past the first syntax error.
const DICTIONARY: &[&str] = &[
    " SELECT ",
    " FROM ",
    " WHERE ",
    " AND ",
    " OR NOT ",
    " IS MISSING",
    " IN [",
    "<<",
    ">>",
    "'",
    "?",
    " RETURNING ALL OLD *",
    "EXISTS(",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"",
    "\\u0000",
    "\\\"",
    "null",
    "true",
    "false",
    "-0",
    "1e400",
    "0.000000000000000000000000000000000000001",
    "99999999999999999999999999999999999999",
    "\"S\":",
    "\"N\":",
    "\"B\":",
    "\"SS\":",
    "\"NS\":",
    "\"BS\":",
    "\"M\":",
    "\"L\":",
    "\"NULL\":",
    "\"BOOL\":",
    "\"TableName\":",
    "\"IndexName\":",
    "\"Key\":",
    "\"Item\":",
    "\"Keys\":",
    "\"RequestItems\":",
    "\"TransactItems\":",
    "\"KeyConditionExpression\":",
    "\"FilterExpression\":",
    "\"ConditionExpression\":",
    "\"UpdateExpression\":",
    "\"ProjectionExpression\":",
    "\"ExpressionAttributeNames\":",
    "\"ExpressionAttributeValues\":",
    "\"Select\":",
    "\"ReturnValues\":",
    "\"AttributesToGet\":",
    "\"KeyConditions\":",
    "\"QueryFilter\":",
    "\"ScanFilter\":",
    "\"Expected\":",
    "\"AttributeUpdates\":",
    "\"ComparisonOperator\":",
    "\"AttributeValueList\":",
    "\"ExclusiveStartKey\":",
    "\"ShardIterator\":",
    "\"StreamArn\":",
    "\"ResourceArn\":",
    "\"T\"",
    "\"H\"",
    "\"pk\"",
    "\"sk\"",
    "\"owner\"",
    "\"byOwner\"",
    "\"alice\"",
    "#a",
    ":v",
    " AND ",
    " OR ",
    "NOT ",
    " = ",
    " <> ",
    " BETWEEN ",
    " IN (",
    "begins_with(",
    "size(",
    "attribute_exists(",
    "list_append(",
    "if_not_exists(",
    "SET ",
    "REMOVE ",
    "ADD ",
    "DELETE ",
    "[0]",
    "[99999999999]",
    ".",
    "\"Effect\":\"Deny\"",
    "\"Condition\":",
    "ForAllValues:",
    "ForAnyValue:",
    "IfExists",
    "\"dynamodb:LeadingKeys\"",
    "\"dynamodb:Attributes\"",
    "\"dynamodb:Select\"",
    "${aws:username}",
    "${*}",
    "*",
    "?",
    "Credential=",
    "SignedHeaders=",
    "Signature=",
    "/aws4_request",
    "\n",
    "\0",
];

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// One to eight stacked byte-level mutations, with splices from the dictionary and from
/// other seeds, as libFuzzer's default mutators do.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    for _ in 0..1 + rng.below(8) {
        let len = input.len();
        let at = rng.below(len + 1);
        match rng.below(10) {
            0 if len > 0 => input[at.min(len - 1)] ^= 1 << rng.below(8),
            1 if len > 0 => {
                const INTERESTING: &[u8] = b"\0\xff\x7f\x80\"{}[]:,\\0-.e#9 \n";
                input[at.min(len - 1)] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => input.insert(at, rng.byte()),
            3 if len > 0 => {
                let end = (at + 1 + rng.below(16)).min(len);
                input.drain(at.min(len - 1)..end);
            }
            4 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(32)).min(len);
                let chunk = input[start..end].to_vec();
                input.splice(at..at, chunk);
            }
            5 | 6 => {
                let token = DICTIONARY[rng.below(DICTIONARY.len())].as_bytes();
                input.splice(at..at, token.iter().copied());
            }
            7 if !seeds.is_empty() => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                input.truncate(at);
                input.extend_from_slice(&other[from..]);
            }
            8 if len > 0 => input[0] = rng.byte(), // another action, another flag set
            _ => {
                // Replace a run of digits or letters by another of the same class.
                if let Some(p) = input.iter().skip(at).position(u8::is_ascii_digit) {
                    input[at + p] = b'0' + rng.below(10) as u8;
                }
            }
        }
    }
    input.truncate(MAX_LEN);
}

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../server/fuzz/seeds")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `f` on `input`; on a panic, prints where the input came from and the input itself
/// (hex, to paste into a file for `cargo fuzz run <target> <file>`), then re-panics.
fn run_one(target: &str, origin: &str, f: fn(&[u8]), input: &[u8]) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| f(input))) {
        let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
        eprintln!(
            "fuzz target {target} panicked on {origin}; input ({} bytes, hex):\n{hex}",
            input.len()
        );
        eprintln!("text: {:?}", String::from_utf8_lossy(input));
        resume_unwind(panic);
    }
}

fn smoke(target: &str, seed: u64, default_iters: usize) {
    let f = fuzzing::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no fuzz body {target}"));
    let seeds = seeds(target);
    for (name, input) in &seeds {
        run_one(target, &format!("seed {name}"), f, input);
    }
    let corpus: Vec<Vec<u8>> = seeds.iter().map(|(_, s)| s.clone()).collect();
    let iters = env_or("KEYFALL_FUZZ_ITERS", default_iters);
    let budget = Duration::from_secs(env_or("KEYFALL_FUZZ_SECS", DEFAULT_SECS));
    let started = Instant::now();
    let mut rng = Rng(seed);
    let mut done = 0;
    let mut input = Vec::new();
    while done < iters && started.elapsed() < budget {
        let i = rng.below(corpus.len());
        input.clear();
        input.extend_from_slice(&corpus[i]);
        mutate(&mut rng, &mut input, &corpus);
        run_one(
            target,
            &format!(
                "iteration {done} (rng seed {seed:#x}, from seed {})",
                seeds[i].0
            ),
            f,
            &input,
        );
        done += 1;
    }
    eprintln!(
        "{target}: {} seeds, {done} mutated inputs in {:.1?}",
        seeds.len(),
        started.elapsed()
    );
}

#[test]
fn http_wire() {
    smoke("http_wire", 0x6874_7470_7769_7265, 20_000);
}

#[test]
fn json_action() {
    smoke("json_action", 0x6a73_6f6e_6163_7431, 200_000);
}

#[test]
fn sigv4_policy() {
    smoke("sigv4_policy", 0x7369_6776_3470_6f6c, 30_000);
}

#[test]
fn json_request() {
    smoke("json_request", 0x6a73_6f6e_7265_7131, 100_000);
}

#[test]
fn expr_parse() {
    smoke("expr_parse", 0x6578_7072_7061_7273, 50_000);
}

#[test]
fn import_lines() {
    smoke("import_lines", 0x696d_706f_7274_6c6e, 30_000);
}

#[test]
fn auth_parse() {
    smoke("auth_parse", 0x6175_7468_7061_7273, 100_000);
}

/// The seeds are worth their name: every `json_action` seed but the action without members
/// decodes into its action's input (a seed that does not decode only tests the decoder's
/// first error), and the selector bytes still name the actions the files are named after.
#[test]
fn json_action_seeds_decode() {
    for (name, input) in seeds("json_action") {
        let action = name.split('-').next().unwrap();
        assert_eq!(
            fuzzing::selector_of(action),
            input.first().copied(),
            "{name}: the selector byte no longer names {action} (the action list changed: regenerate the seeds' first byte)"
        );
        if action == "DescribeLimits" {
            continue;
        }
        let checks = fuzzing::checks_of(action, &input[1..]);
        assert!(checks.is_some(), "{name} does not decode as {action}");
    }
}

#[test]
fn partiql() {
    smoke("partiql", 0x7061_7274_6971_6c31, 100_000);
}
