use std::process::ExitCode;

use clap::Parser;
use onething::cli::{run, Cli};
use onething::telemetry;

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.settings.log, &cli.settings.log_level);
    telemetry::quiet_panics();
    run(cli)
}
