//! The `roost` binary's command line and environment handling, run as a real process: help,
//! version, bad arguments, invalid and unknown variables, and the exit codes for each.
//!
//! Every run starts from an empty environment (PATH kept) so the host's variables cannot leak in.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Every variable the help must list; kept by hand so that dropping one from the table fails here.
const VARS: &[&str] = &[
    "ROOST_LISTEN",
    "ROOST_WORKERS",
    "ROOST_MAX_PACKET_SIZE",
    "ROOST_CONNECT_TIMEOUT",
    "ROOST_MAX_KEEPALIVE",
    "ROOST_MAX_QUEUED",
    "ROOST_MAX_RETAINED",
    "ROOST_RETRY_INTERVAL",
    "ROOST_LOG",
];

fn roost(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roost"));
    cmd.env_clear()
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd
}

/// Runs to completion, killing the process if it is still running after a generous bound.
fn run(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let child = roost(args, env).spawn().expect("spawn roost");
    let output = wait_bounded(child, Duration::from_secs(20));
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn wait_bounded(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("roost still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("collect output")
}

#[test]
fn help_lists_every_variable() {
    for flag in ["--help", "-h"] {
        let (code, stdout, stderr) = run(&[flag], &[]);
        assert_eq!(code, Some(0), "{flag}: {stderr}");
        assert!(stdout.contains("Usage: roost"), "{stdout}");
        for var in VARS {
            assert!(
                stdout.contains(var),
                "{flag} does not list {var}:\n{stdout}"
            );
        }
        assert!(stderr.is_empty(), "{stderr}");
    }
}

#[test]
fn readme_documents_every_variable_help_lists() {
    let (_, stdout, _) = run(&["--help"], &[]);
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let mut listed: Vec<&str> = stdout
        .split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
        .filter(|w| w.starts_with("ROOST_") && w.len() > "ROOST_".len())
        .collect();
    listed.dedup();
    assert!(listed.len() >= VARS.len(), "{listed:?}");
    for var in listed {
        assert!(
            readme.contains(&format!("| `{var}` |")),
            "README's configuration table lacks {var}"
        );
    }
}

#[test]
fn help_ignores_invalid_environment() {
    let (code, stdout, _) = run(&["--help"], &[("ROOST_WORKERS", "abc"), ("ROOST_FOO", "1")]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("ROOST_WORKERS"));
}

#[test]
fn version() {
    for flag in ["--version", "-V"] {
        let (code, stdout, _) = run(&[flag], &[]);
        assert_eq!(code, Some(0), "{flag}");
        assert_eq!(stdout, format!("roost {}\n", env!("CARGO_PKG_VERSION")));
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    let cases: &[&[&str]] = &[&["--bogus"], &["-v"], &["serve"], &["--help", "extra"]];
    for args in cases {
        let (code, stdout, stderr) = run(args, &[]);
        assert_eq!(code, Some(2), "{args:?}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(
            stderr.starts_with("roost: unexpected argument"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains(args[args.len() - 1]), "{args:?}: {stderr}");
    }
}

#[test]
fn invalid_values_name_the_variable_and_value() {
    let cases: &[(&str, &str)] = &[
        ("ROOST_WORKERS", "abc"),
        ("ROOST_WORKERS", "0"),
        ("ROOST_MAX_PACKET_SIZE", "1XB"),
        ("ROOST_CONNECT_TIMEOUT", "99999999999999999999s"),
        ("ROOST_LISTEN", ""),
        ("ROOST_SCHED", "fifo"),
    ];
    for (var, value) in cases {
        let (code, _, stderr) = run(&[], &[(var, value)]);
        assert_eq!(code, Some(2), "{var}={value:?}: {stderr}");
        let expected = format!("roost: invalid value {value:?} for {var}: expected ");
        assert!(stderr.starts_with(&expected), "{var}={value:?}: {stderr}");
    }
}

#[test]
fn workers_message_is_exact() {
    let (_, _, stderr) = run(&[], &[("ROOST_WORKERS", "abc")]);
    assert_eq!(
        stderr,
        "roost: invalid value \"abc\" for ROOST_WORKERS: expected an integer from 1 to 1024\n"
    );
}

#[test]
fn unknown_variables_are_refused() {
    let (code, _, stderr) = run(&[], &[("ROOST_FOO", "1")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.starts_with("roost: unknown variable ROOST_FOO"),
        "{stderr}"
    );

    let (code, _, stderr) = run(
        &[],
        &[("ROOST_WORKER", "4"), ("ROOST_LISTEN", "127.0.0.1:0")],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("ROOST_WORKER "), "{stderr}");
}

/// A valid configuration reaches the broker; a runtime failure (the port is taken) exits 1 with a
/// message that says what failed. (Serving MQTT is covered by the `broker_*` tests.)
#[test]
fn runtime_failure_exits_1_with_context() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let env = [
        ("ROOST_LISTEN", addr.as_str()),
        ("ROOST_WORKERS", " 2 "),
        ("ROOST_LOG", "info"),
    ];
    let (code, _, stderr) = run(&[], &env);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("roost: binding the listener: "), "{stderr}");
}
