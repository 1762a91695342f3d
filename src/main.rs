//! The `roost` binary: a thin shell over [`roost::cli::main`], which owns arguments, the
//! environment, logging and exit codes.

fn main() -> std::process::ExitCode {
    roost::cli::main()
}
