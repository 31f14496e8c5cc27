//! The differential test's parts: a raw RESP client ([`resp`]), the two
//! servers ([`servers`]), the command generator ([`generate`]) and the
//! comparison with its normalizations ([`compare`]).

pub(crate) mod compare;
pub(crate) mod generate;
pub(crate) mod resp;
pub(crate) mod servers;

use proptest::collection::vec;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use std::cell::RefCell;
use std::time::Instant;

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Runs `cases` (or `$PROPTEST_CASES`) random sequences of up to
/// `$DIFF_COMMANDS` (default 40) commands on a fresh embercache server and
/// a fresh `redis-server`, comparing every reply. `source_file`: the test
/// file (its `.proptest-regressions` twin keeps failing seeds).
pub(crate) fn run(
    test: &str,
    source_file: &'static str,
    resp3: bool,
    families: Vec<proptest::strategy::BoxedStrategy<generate::Args>>,
    cases: u32,
) {
    let Some(redis) = servers::start_redis(test) else { return };
    let ember = servers::EmberServer::start();
    let pair = RefCell::new(compare::Pair::connect(ember.addr, redis.addr(), resp3));
    let cases = env_number("PROPTEST_CASES", cases);
    let len = env_number("DIFF_COMMANDS", 40) as usize;
    let config = Config {
        cases,
        source_file: Some(source_file),
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel("proptest-regressions"))),
        ..Config::default()
    };
    let started = Instant::now();
    let mut runner = TestRunner::new(config);
    let result = runner.run(&vec(generate::command(families), 1..=len), |cmds| pair.borrow_mut().run_case(&cmds));
    eprintln!(
        "{test}: {cases} cases of up to {len} commands against redis-server {} in {:.1?}",
        redis.version(),
        started.elapsed()
    );
    if let Some(survey) = &pair.borrow().survey {
        for (cmd, what) in survey {
            eprintln!("===== {cmd}\n{what}\n");
        }
    }
    if let Err(e) = result {
        panic!("{test}: {e}");
    }
}

/// Runs each of `cases` (commands as words) once on fresh servers,
/// failing on the first divergence the normalizations do not accept.
pub(crate) fn run_fixed(test: &str, resp3: bool, cases: &[&[&[&str]]]) {
    let Some(redis) = servers::start_redis(test) else { return };
    let ember = servers::EmberServer::start();
    let mut pair = compare::Pair::connect(ember.addr, redis.addr(), resp3);
    for case in cases {
        let cmds: Vec<generate::Cmd> =
            case.iter().map(|c| generate::Cmd(c.iter().map(|w| w.as_bytes().to_vec()).collect())).collect();
        if let Err(e) = pair.run_case(&cmds) {
            panic!("{test}: {e}");
        }
    }
}
