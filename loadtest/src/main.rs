//! `loadtest`: runs a profile against the shop and writes its reports; exits non-zero when the
//! run fails (a reconciliation violation, or errors where they are not expected).

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "loadtest",
    about = "Open-loop load test of the shop, with reports and a consistency check"
)]
struct Cli {
    #[command(flatten)]
    run: loadtest::RunArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match loadtest::run(&cli.run).await {
        Ok(summary) => {
            print!("{}", loadtest::report::terminal::render(&summary));
            if let Err(error) = loadtest::report::write(&summary, &cli.run.out) {
                eprintln!("error: cannot write the report: {error:#}");
                return ExitCode::FAILURE;
            }
            println!("  report: {}", cli.run.out.join("report.html").display());
            if summary.verdict.passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
