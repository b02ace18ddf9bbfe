//! The reliability harness's bounded CI runs (RELIABILITY.md has the full-length ones):
//! kill -9 cycles under eight concurrent writers, each restart checked against the ledger
//! of acknowledged writes, with the default durability and with `--durability fsync`.

use std::time::Duration;

use keyfall_tests::torture::crash::{self, CrashConfig};

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
