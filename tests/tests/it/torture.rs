//! The reliability harness's bounded CI runs (RELIABILITY.md has the full-length ones):
//! kill -9 cycles under eight concurrent writers, each restart checked against the ledger
//! of acknowledged writes, with the default durability and with `--durability fsync`; and
//! histories of reads, writes and compare-and-set through both APIs checked for
//! linearizability.

use std::time::Duration;

use keyfall_tests::torture::crash::{self, CrashConfig};
use keyfall_tests::torture::linear::{self, LinearConfig};

fn config(fsync: bool, seed: u64) -> CrashConfig {
    CrashConfig {
        server_bin: keyfall_tests::keyfall_server_bin().to_path_buf(),
        cycles: if fsync { 2 } else { 3 },
        writers: 8,
        run_for: (Duration::from_millis(200), Duration::from_millis(1200)),
        fsync,
        seed,
        data_dir: None,
        sabotage: false,
    }
}

/// The checker sees a lost write and a broken total: otherwise the runs above prove
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checker_catches_a_lost_write() {
    let mut c = config(false, 0x7361_626f);
    c.cycles = 1;
    c.sabotage = true;
    match crash::run(&c).await {
        Err(keyfall_tests::torture::Failure::Violation(m)) => {
            assert!(m.contains("stored None, acknowledged Some"), "{m}");
            assert!(m.contains("bank total 9999, want 10000"), "{m}");
        }
        other => panic!("the sabotage went unseen: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_cycles_lose_nothing_acknowledged() {
    for (fsync, seed) in [(false, 0x746f_7274), (true, 0x6673_796e)] {
        let report = crash::run(&config(fsync, seed))
            .await
            .unwrap_or_else(|e| panic!("fsync {fsync}, seed {seed:#x}: {e}"));
        eprintln!("fsync {fsync}: {report:?}");
        assert_eq!(report.cycles, config(fsync, seed).cycles);
        // The checks ran on real work: writes acknowledged, items and streams compared.
        assert!(report.acknowledged > 50, "{report:?}");
        assert!(
            report.items_checked > 0 && report.stream_records_checked > 0,
            "{report:?}"
        );
        assert!(report.index_entries_checked > 0, "{report:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histories_through_both_apis_are_linearizable() {
    let config = LinearConfig {
        server_bin: keyfall_tests::keyfall_server_bin().to_path_buf(),
        keys: 2,
        clients: 6,
        ops_per_client: 150,
        seed: 0x6c69_6e65,
    };
    let report = linear::run(&config).await.unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{report:?}");
    assert_eq!(report.calls, 6 * 150);
    // Contended: compare-and-set both applied and refused, so the checker had work.
    assert!(
        report.cas_applied > 0 && report.cas_refused > 0,
        "{report:?}"
    );
}
