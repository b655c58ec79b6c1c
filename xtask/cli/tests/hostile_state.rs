//! State files another run wrote (stat cache, graph cache, history, output
//! state) are hostile input too: whatever they claim, a run goes on, and no
//! allocation is sized from a file's own count.

mod support;

use support::{CHAIN, Fixture, text};

#[test]
fn a_stat_cache_claiming_2_pow_64_entries_runs_under_1_gib() {
    if std::process::Command::new("prlimit")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: prlimit (util-linux) is not installed");
        return;
    }
    let fx = Fixture::new(CHAIN);
    fx.ok(&["run", "check"]);
    let state = fx.state_dir();
    // Magic, then a count of 2^64 - 1, then nothing.
    let mut bytes = b"XSC1".to_vec();
    bytes.extend_from_slice(&u64::MAX.to_le_bytes());
    std::fs::write(state.join("stat-cache.bin"), &bytes).unwrap();
    let claims: &[(&str, &[u8])] = &[
        (
            "workspace-graph.json",
            br#"{"format":2,"fingerprint":"x","graph":{"packages":[1e400]}}"#,
        ),
        ("outputs.json", b"{\"a\": [18446744073709551615"),
        ("v2/history/index.json", b"\xff\xfe not json"),
        // The head index: its magic, then 2^32 - 1 records in 4 bytes.
        ("entry-heads.bin", b"XHI1\xff\xff\xff\xffjunk"),
    ];
    for (name, content) in claims {
        std::fs::create_dir_all(state.join(name).parent().unwrap()).unwrap();
        std::fs::write(state.join(name), content).unwrap();
    }

    let command = fx.command(&["run", "check"]);
    let program = command.get_program().to_owned();
    let args: Vec<_> = command.get_args().map(|a| a.to_owned()).collect();
    // The same command, under a 1 GiB address-space limit.
    let mut limited = std::process::Command::new("prlimit");
    limited.arg("--as=1073741824").arg(program).args(args);
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => limited.env(key, value),
            None => limited.env_remove(key),
        };
    }
    limited.current_dir(fx.root());
    let output = limited.output().unwrap();
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("all 4 tasks cached"), "{out}");
}
