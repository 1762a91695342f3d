//! The command-line shell behind the `roost` binary: arguments, the environment, logging, exit
//! codes. This is the only place that reads `std::env` or prints; it decides nothing that the
//! pure modules can decide, and `serve` is the single point where the broker starts.
//!
//! Exit codes: 0 success, 1 runtime error, 2 usage or configuration error.

use std::ffi::OsString;
use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::process::ExitCode;

use crate::config::{self, Config, ConfigError};
use crate::error::Error;

/// Exit code for a runtime failure.
const EXIT_RUNTIME: u8 = 1;
/// Exit code for a bad argument or configuration.
const EXIT_USAGE: u8 = 2;

/// Runs roost as the `roost` binary does and returns its exit code.
pub fn main() -> ExitCode {
    let action = match parse_args(std::env::args_os().skip(1)) {
        Ok(action) => action,
        Err(err) => {
            eprintln!("roost: {err}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let result = match action {
        Action::Help => print_stdout(&format!("{}\n{}", usage_text(), config::help_text())),
        Action::Version => print_stdout(&format!("roost {}\n", env!("CARGO_PKG_VERSION"))),
        Action::Serve => load_config().and_then(|config| {
            init_logging(&config);
            serve(config)
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("roost: {err}");
            ExitCode::from(if err.is_usage() {
                EXIT_USAGE
            } else {
                EXIT_RUNTIME
            })
        }
    }
}

/// Starts the broker with `config` and returns when it stops.
fn serve(config: Config) -> Result<(), Error> {
    for (name, value) in config.entries() {
        log::debug!("config {name}={value}");
    }
    crate::broker::run(&config)
}

/// What the command line asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// `-h`/`--help`: print usage and the variables.
    Help,
    /// `-V`/`--version`: print the version.
    Version,
    /// No arguments: configure from the environment and run the broker.
    Serve,
}

/// A command line roost does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unexpected argument {arg:?}; roost is configured through ROOST_* variables, see roost --help"
)]
struct ArgError {
    /// The first argument that was not understood, lossily decoded for display.
    arg: String,
}

/// Parses the arguments after the program name: none, or exactly one of the help and version
/// flags.
fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Action, ArgError> {
    let mut args = args.into_iter();
    let action = match args.next() {
        None => return Ok(Action::Serve),
        Some(arg) if arg == "-h" || arg == "--help" => Action::Help,
        Some(arg) if arg == "-V" || arg == "--version" => Action::Version,
        Some(arg) => return Err(ArgError::new(arg)),
    };
    match args.next() {
        None => Ok(action),
        Some(extra) => Err(ArgError::new(extra)),
    }
}

impl ArgError {
    /// Wraps an argument as given by the OS.
    fn new(arg: OsString) -> Self {
        Self {
            arg: arg.to_string_lossy().into_owned(),
        }
    }
}

/// The usage part of `--help`; the variables follow it.
fn usage_text() -> String {
    format!(
        "roost {}: a small, durable MQTT 3.1.1 / 5.0 broker\n\
         \n\
         Usage: roost [-h | --help | -V | --version]\n\
         \n\
         Options:\n\
         \x20 -h, --help     Print this help and exit.\n\
         \x20 -V, --version  Print the version and exit.\n\
         \n\
         Exit status: 0 success, 1 runtime error, 2 usage or configuration error.\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// Reads the configuration from the process environment, refusing unknown `ROOST_*` variables.
fn load_config() -> Result<Config, Error> {
    let names: Vec<String> = std::env::vars_os()
        .map(|(name, _)| name.to_string_lossy().into_owned())
        .collect();
    let unknown = config::unknown_vars(names.iter().map(String::as_str));
    if !unknown.is_empty() {
        return Err(ConfigError::Unknown { names: unknown }.into());
    }
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let lookup = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    Ok(Config::from_lookup(lookup, cores)?)
}

/// Installs env_logger with the configured filter, writing to stderr.
fn init_logging(config: &Config) {
    // try_init fails only if a logger is already installed; that one then stays in charge.
    let _ = env_logger::Builder::new()
        .parse_filters(config.log_filter())
        .try_init();
}

/// Writes `text` to stdout; unlike `print!`, a closed pipe is an error rather than a panic.
fn print_stdout(text: &str) -> Result<(), Error> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|source| Error::Io {
            context: "writing to standard output",
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Action, ArgError> {
        parse_args(args.iter().map(OsString::from))
    }

    #[test]
    fn arguments() {
        let err = |arg: &str| {
            Err(ArgError {
                arg: arg.to_owned(),
            })
        };
        let cases: &[(&[&str], Result<Action, ArgError>)] = &[
            (&[], Ok(Action::Serve)),
            (&["-h"], Ok(Action::Help)),
            (&["--help"], Ok(Action::Help)),
            (&["-V"], Ok(Action::Version)),
            (&["--version"], Ok(Action::Version)),
            (&["--bogus"], err("--bogus")),
            (&["-v"], err("-v")),
            (&["help"], err("help")),
            (&[""], err("")),
            (&["--help", "--bogus"], err("--bogus")),
            (&["--version", "--help"], err("--help")),
            (&["--bogus", "--help"], err("--bogus")),
        ];
        for (args, expected) in cases {
            assert_eq!(&parse(args), expected, "{args:?}");
        }
    }

    #[test]
    fn usage_mentions_every_flag() {
        let usage = usage_text();
        for flag in ["-h", "--help", "-V", "--version"] {
            assert!(usage.contains(flag), "{flag}");
        }
    }
}
