//! `search-ctr`: session click-through rates from search logs.
//!
//! parse the command line → run the command → exit status (0 success,
//! 1 failed run, 2 usage error). Nothing is printed with `println!` or
//! `eprintln!`, which panic on a full or closed stream: see [`console`].

#![deny(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod commands;
mod console;
mod duration;
mod logs;
mod pipeline;
mod plan;
mod progress;
mod report;
mod safety;
mod serve;
mod signals;
mod tutorial;
mod usage;

use std::process::ExitCode;

/// mimalloc: faster than the system allocator on this allocation pattern
/// (many small per-user states), and it returns freed memory.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

use args::{Cli, Command};
use console::Failure;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return console::clap_exit(&e),
    };
    if let Err(e) = logs::init(cli.log_format) {
        return console::exit_status(Err(Failure::from(e)));
    }
    let result = match cli.command {
        None => {
            // The tutorial takes milliseconds: a signal lets it finish,
            // then it ends like an interrupted run (130/143, one line).
            let _ = signals::listen();
            tutorial::run_tutorial()
                .map_err(|e| Failure::from(console::stdout_error(e)))
                .and_then(|()| match signals::received() {
                    Some(_) => Err(Failure::from(eddy::EddyError::Interrupted)),
                    None => Ok(()),
                })
        }
        Some(Command::Run(args)) => commands::run_logs(*args),
        Some(Command::Generate(args)) => commands::generate_logs(args),
        Some(Command::Recovery(args)) => commands::recovery(args).map_err(Failure::from),
        Some(Command::Report(args)) => report::report_command(args),
    };
    console::exit_status(result)
}
