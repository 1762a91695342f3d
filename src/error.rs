//! The top-level error: every way the broker as a whole can fail, each wrapping its module's own
//! error. The shell maps these to exit codes; nothing here decides policy or does IO.

use std::io;

use crate::config::ConfigError;

/// Why roost could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The environment holds an invalid configuration: a usage error, not a runtime failure.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An operating-system call failed.
    #[error("{context}: {source}")]
    Io {
        /// What roost was doing, e.g. "binding the listener", so the message says more than the
        /// bare OS error.
        context: &'static str,
        /// The OS error.
        source: io::Error,
    },
}

/// Why [`crate::Broker::start`] failed: a configuration value it refused (naming the variable
/// and the value) or an operating-system call that failed (binding the listener, say).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct StartError(#[from] Error);

impl StartError {
    /// Whether the configuration was at fault rather than the system.
    pub fn is_config(&self) -> bool {
        self.0.is_usage()
    }
}

impl Error {
    /// Whether this is the user's mistake (bad configuration) rather than a runtime failure; the
    /// shell exits with 2 for these and 1 otherwise.
    pub(crate) fn is_usage(&self) -> bool {
        matches!(self, Self::Config(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_classification() {
        let config = Error::from(ConfigError::Unknown {
            names: vec!["ROOST_FOO".to_owned()],
        });
        assert!(config.is_usage());
        assert!(config.to_string().starts_with("unknown variable ROOST_FOO"));

        let io = Error::Io {
            context: "binding the listener",
            source: io::Error::new(io::ErrorKind::AddrInUse, "address in use"),
        };
        assert!(!io.is_usage());
        assert_eq!(io.to_string(), "binding the listener: address in use");
        assert!(std::error::Error::source(&io).is_some());
    }
}
