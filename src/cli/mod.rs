//! The command line: clap types, the shared session set-up, and one file per command.

mod apply;
mod audit;
mod bootstrap;
mod check;
mod drift;
mod import;
mod interrupt;
mod plan;
mod session;
mod show;
mod state;
mod unlock;
mod validate;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// What a command tells the shell: 0 success, 1 error, 2 something to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    Error = 1,
    Changes = 2,
    Interrupted = 130,
}

/// How `check` and `audit` print their findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// SARIF 2.1.0, for code-scanning upload
    Sarif,
}

#[derive(Debug, Parser)]
#[command(
    name = "rampart",
    version,
    about = "Provision and guard a hardened AWS data platform from TOML blueprints",
    after_help = "Exit codes: 0 success, 1 error, 2 changes present (plan --detailed-exitcode) or drift found (drift)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: Global,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// State file to use instead of `[state] path` or `state/<blueprint name>.json`
    #[arg(long, global = true, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// How many AWS calls are in flight (overall, and per service and region until it
    /// throttles), and how many resources are changed at once
    #[arg(long, global = true, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// Print wall time per phase and AWS calls per operation on stderr (`--stats=json`: as
    /// one JSON line)
    #[arg(long, global = true, value_name = "FORMAT", num_args = 0..=1, require_equals = true, default_missing_value = "text")]
    pub stats: Option<StatsFormat>,
    /// What `--stats` reports, collected as the command runs.
    #[arg(skip)]
    pub collected: std::sync::Arc<crate::stats::Stats>,
    /// No progress bars or progress lines
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// No colours (NO_COLOR is honoured too)
    #[arg(long, global = true)]
    pub no_color: bool,
    /// AWS profile from the shared config files
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Home region instead of the blueprint's `region`
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Assume this role with the loaded credentials first (e.g. a new account's
    /// OrganizationAccountAccessRole)
    #[arg(long, global = true, value_name = "ARN")]
    pub role_arn: Option<String>,
}

impl Global {
    /// How to reach AWS with these options, from `region`.
    pub fn aws(&self, region: &str) -> crate::aws::Options {
        crate::aws::Options {
            region: region.to_string(),
            profile: self.profile.clone(),
            role_arn: self.role_arn.clone(),
            traffic: self.collected.traffic(usize::from(self.parallelism)),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a blueprint without touching AWS
    Validate { blueprint: PathBuf },
    /// Refresh from AWS and show what apply would change
    Plan {
        blueprint: PathBuf,
        /// Save the plan for `apply --plan`
        #[arg(long, value_name = "PLANFILE")]
        out: Option<PathBuf>,
        /// Print the plan as versioned JSON instead of text
        #[arg(long)]
        json: bool,
        /// Exit 2 when there are changes, 0 when there are none
        #[arg(long)]
        detailed_exitcode: bool,
        /// `--refresh=false`: plan against the recorded state without reading AWS (fast, but
        /// blind to drift; such a plan cannot be saved)
        #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set, require_equals = true, conflicts_with = "out")]
        refresh: bool,
    },
    /// Make AWS match the blueprint
    Apply {
        #[arg(required_unless_present = "plan", conflicts_with = "plan")]
        blueprint: Option<PathBuf>,
        /// Apply without asking for confirmation
        #[arg(long)]
        auto_approve: bool,
        /// Apply exactly this saved plan (no confirmation is asked)
        #[arg(long, value_name = "PLANFILE")]
        plan: Option<PathBuf>,
    },
    /// Delete everything the blueprint's state records
    Destroy {
        blueprint: PathBuf,
        #[arg(long)]
        auto_approve: bool,
    },
    /// Show the recorded state
    Show {
        blueprint: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Remove a lock left behind by a run that is gone
    ForceUnlock { blueprint: PathBuf },
    /// Move, pull or push the state
    State {
        #[command(subcommand)]
        command: state::StateCommand,
    },
    /// Report what differs from the blueprint, without changing anything or taking the lock
    #[command(
        after_help = "Exit codes: 0 in sync, 2 drift found (any finding not ignored), 1 could not tell (the report says what could not be read)."
    )]
    Drift {
        blueprint: PathBuf,
        /// Print the versioned JSON report instead of text
        #[arg(long)]
        json: bool,
        /// Also write the JSON report to FILE
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Also list resources of the blueprint's kinds that no blueprint manages
        #[arg(long)]
        unmanaged: bool,
        /// Read only these regions (default: every region the blueprint and its state use)
        #[arg(long, value_name = "R1,R2", value_delimiter = ',', value_parser = drift::parse_region)]
        regions: Vec<String>,
        /// Print the read-only IAM policy drift needs for this blueprint, and exit
        #[arg(long)]
        print_iam_policy: bool,
    },
    /// Give an account its secure baseline and an S3 state backend (idempotent; resumes)
    #[command(
        after_help = "The home region is `--region` (required); `--role-arn` assumes a role first."
    )]
    Bootstrap {
        /// The account's short name, prefixing every name (e.g. acme-prod)
        #[arg(long, value_name = "ALIAS")]
        name: String,
        /// Regions GuardDuty runs in (default: the home region)
        #[arg(long, value_name = "R1,R2", value_delimiter = ',', value_parser = drift::parse_region)]
        regions: Vec<String>,
        /// Refuse any other account
        #[arg(long, value_name = "ID")]
        account_id: Option<String>,
        /// Days CloudTrail logs are locked (compliance mode); 2190 is HIPAA's six years
        #[arg(long, value_name = "N", default_value_t = 2190, value_parser = clap::value_parser!(i64).range(1..=36500))]
        log_retention_days: i64,
        /// Where the baseline blueprint is written
        #[arg(long, value_name = "DIR", default_value = "blueprints")]
        dir: PathBuf,
    },
    /// Record an existing resource under a blueprint address (the next plan updates it)
    Import {
        blueprint: PathBuf,
        /// The blueprint address, e.g. s3_bucket.raw
        address: String,
        /// The physical id: bucket name, key id, trail name, detector id, role name, ...
        id: String,
    },
    /// Judge a blueprint by the hardening rules, without touching AWS
    #[command(
        after_help = "Exit codes: 0 no violations (waived findings allowed), 2 violations, 1 error."
    )]
    Check {
        blueprint: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// List the hardening rules, or explain one
    Rules {
        /// A rule id, e.g. RMP-S3-001
        id: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Judge a live account (every resource of the supported kinds) by the hardening rules
    #[command(
        after_help = "Exit codes: 0 no findings, 2 findings, 1 error (something could not be read)."
    )]
    Audit {
        /// Regions to read (default: `--region`); the first is where global resources are read
        #[arg(long, value_name = "R1,R2", value_delimiter = ',', value_parser = drift::parse_region)]
        regions: Vec<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

/// `--stats` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    Text,
    Json,
}

/// Runs one command, then prints what it cost if `--stats` asks.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    let global = cli.global;
    let result = run_command(&global, cli.command);
    match global.stats {
        Some(StatsFormat::Text) => eprint!(
            "{}",
            crate::render::stats::render(
                &global.collected.report(),
                crate::render::Style::stderr(global.no_color)
            )
        ),
        Some(StatsFormat::Json) => match serde_json::to_string(&global.collected.report()) {
            Ok(line) => eprintln!("{line}"),
            Err(e) => eprintln!("error: cannot serialise the stats: {e}"),
        },
        None => {}
    }
    result
}

fn run_command(global: &Global, command: Command) -> anyhow::Result<Exit> {
    let global = global.clone();
    match command {
        Command::Validate { blueprint } => validate::run(&global, &blueprint),
        Command::Show { blueprint, json } => {
            runtime()?.block_on(show::run(&global, &blueprint, json))
        }
        Command::ForceUnlock { blueprint } => runtime()?.block_on(unlock::run(&global, &blueprint)),
        Command::State { command } => runtime()?.block_on(state::run(&global, &command)),
        Command::Check { blueprint, format } => check::run(&global, &blueprint, format),
        Command::Bootstrap {
            name,
            regions,
            account_id,
            log_retention_days,
            dir,
        } => {
            let Some(region) = global.region.clone() else {
                anyhow::bail!(
                    "bootstrap needs the account's home region\n  = hint: add `--region eu-west-1` (or yours)"
                );
            };
            drift::parse_region(&region).map_err(anyhow::Error::msg)?;
            let options = bootstrap::Options {
                name,
                region,
                regions,
                account_id,
                role_arn: global.role_arn.clone(),
                log_retention_days,
                dir,
            };
            runtime()?.block_on(async {
                // Bootstrap hands Ctrl-C to its apply, which stops between calls.
                let interrupts = interrupt::Interrupts::listen();
                bootstrap::run(&global, &interrupts, &options).await
            })
        }
        Command::Import {
            blueprint,
            address,
            id,
        } => runtime()?.block_on(async {
            let interrupts = interrupt::Interrupts::listen();
            Ok(interrupts
                .until_interrupted(import::run(&global, &blueprint, &address, &id))
                .await?
                .unwrap_or(Exit::Interrupted))
        }),
        Command::Rules { id, json } => check::rules(id.as_deref(), json),
        Command::Audit { regions, format } => runtime()?.block_on(async {
            let interrupts = interrupt::Interrupts::listen();
            let options = audit::Options { regions, format };
            Ok(interrupts
                .until_interrupted(audit::run(&global, &options))
                .await?
                .unwrap_or(Exit::Interrupted))
        }),
        Command::Plan {
            blueprint,
            out,
            json,
            detailed_exitcode,
            refresh,
        } => runtime()?.block_on(async {
            let interrupts = interrupt::Interrupts::listen();
            let options = plan::Options {
                out,
                json,
                detailed_exitcode,
                refresh,
            };
            let work = plan::run(&global, &blueprint, &options);
            Ok(interrupts
                .until_interrupted(work)
                .await?
                .unwrap_or(Exit::Interrupted))
        }),
        Command::Apply {
            blueprint,
            auto_approve,
            plan,
        } => runtime()?.block_on(async {
            let interrupts = interrupt::Interrupts::listen();
            apply::run(
                &global,
                &interrupts,
                blueprint.as_deref(),
                plan.as_deref(),
                auto_approve,
            )
            .await
        }),
        Command::Drift {
            blueprint,
            json,
            output,
            unmanaged,
            regions,
            print_iam_policy,
        } => {
            let options = drift::Options {
                blueprint,
                json,
                output,
                unmanaged,
                regions,
                print_iam_policy,
            };
            runtime()?.block_on(async {
                let interrupts = interrupt::Interrupts::listen();
                Ok(interrupts
                    .until_interrupted(drift::run(&global, &options))
                    .await?
                    .unwrap_or(Exit::Interrupted))
            })
        }
        Command::Destroy {
            blueprint,
            auto_approve,
        } => runtime()?.block_on(async {
            let interrupts = interrupt::Interrupts::listen();
            apply::destroy(&global, &interrupts, &blueprint, auto_approve).await
        }),
    }
}

/// The async runtime, built only by commands that talk to AWS.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
