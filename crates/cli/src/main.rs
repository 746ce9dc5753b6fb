//! `search-ctr`: session click-through rates from search logs.
//!
//! parse the command line → run the command → exit status (0 success,
//! 1 failed run, 2 usage error).

mod args;
mod commands;
mod duration;
mod pipeline;
mod progress;
mod signals;
mod tutorial;

use std::process::ExitCode;

/// mimalloc: faster than the system allocator on this allocation pattern
/// (many small per-user states), and it returns freed memory.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

use args::{Cli, Command};
use commands::UsageError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => {
            // The tutorial takes milliseconds: a signal lets it finish,
            // then it ends like an interrupted run (130/143, one line).
            let _ = signals::listen();
            tutorial::run_tutorial()
                .map_err(anyhow::Error::from)
                .and_then(|()| match signals::received() {
                    Some(_) => Err(eddy::EddyError::Interrupted.into()),
                    None => Ok(()),
                })
        }
        Some(Command::Run(args)) => commands::run_logs(*args),
        Some(Command::Generate(args)) => commands::generate_logs(args),
        Some(Command::Recovery(args)) => commands::recovery(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if matches!(e.downcast_ref(), Some(eddy::EddyError::Interrupted)) => {
            let (line, code) = signals::describe(None);
            eprintln!("{line}");
            code
        }
        Err(e) => {
            eprintln!("search-ctr: error: {e:#}");
            if e.is::<UsageError>() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
