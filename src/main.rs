//! `dialerd --config FILE` runs the daemon; `dialerd check-config FILE`
//! validates a configuration and prints every problem with its key.

use anyhow::Context;
use clap::{Parser, Subcommand};
use dialerd::config::{Config, LogFormat};
use std::path::PathBuf;
use std::process::ExitCode;

/// `0.1.0 (rev 1a2b3c4d5e6f)`: the package version and the git revision
/// it was built from (build.rs).
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (rev ", env!("DIALERD_REVISION"), ")");

#[derive(Parser)]
#[command(name = "dialerd", version = VERSION, about = "A telephony dialer daemon")]
struct Cli {
    /// The configuration file.
    #[arg(long, short, default_value = "dialerd.toml", global = true)]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a configuration file (with DIALERD__ overrides) and exit.
    CheckConfig { file: PathBuf },
    /// Manage API users (stored in the data dir's database).
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from standard input (one line).
    Add {
        #[arg(long)]
        client: String,
        #[arg(long)]
        username: String,
        /// sysadmin, superuser, manager, agent or readonly.
        #[arg(long)]
        role: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::CheckConfig { file }) => check(&file),
        Some(Command::User(UserCommand::Add { client, username, role })) => {
            match add_user(&cli.config, &client, &username, &role) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("dialerd user add: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        None => match serve(&cli.config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("dialerd: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn check(file: &std::path::Path) -> ExitCode {
    match Config::load(file) {
        Ok(cfg) => {
            let names: Vec<&str> = cfg.trunks.iter().map(|t| t.name.as_str()).collect();
            let flows = match dialerd::dialplan::store::load_dir(&cfg.dialplans.dir, &cfg.media.prompts_dir) {
                Ok(flows) => flows,
                Err(problems) => {
                    eprintln!("{}: {} problem(s) in the dialplans", cfg.dialplans.dir.display(), problems.len());
                    for p in problems {
                        eprintln!("  {p}");
                    }
                    return ExitCode::from(2);
                }
            };
            if let Some(p) = &cfg.campaigns.cell_phone_list {
                let parsed = std::fs::read_to_string(p)
                    .map_err(|e| e.to_string())
                    .and_then(|t| dialerd::campaign::build::CellList::parse(&t));
                if let Err(e) = parsed {
                    eprintln!("{}: 1 problem(s)\n  campaigns.cell_phone_list: {}: {e}", file.display(), p.display());
                    return ExitCode::from(2);
                }
            }
            let flows: Vec<&str> = flows.keys().map(String::as_str).collect();
            println!(
                "{}: ok (sip {}, api {}, trunks: {}; dialplans: {})",
                file.display(),
                cfg.sip.listen,
                cfg.api.listen,
                names.join(", "),
                if flows.is_empty() { "none".to_string() } else { flows.join(", ") }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            let problems = e.problems();
            eprintln!("{}: {} problem(s)", file.display(), problems.len());
            for p in problems {
                eprintln!("  {p}");
            }
            ExitCode::from(2)
        }
    }
}

fn add_user(config: &std::path::Path, client: &str, username: &str, role: &str) -> anyhow::Result<()> {
    use dialerd::auth::{Role, password};
    use dialerd::store::{SqliteStore, Store, UserRow};
    let cfg = Config::load(config).map_err(|e| anyhow::anyhow!("{}: {e}", config.display()))?;
    let role = Role::parse(role).ok_or_else(|| anyhow::anyhow!("--role {role:?} is not one of {}", Role::names()))?;
    anyhow::ensure!(dialerd::ids::valid_name(client), "--client: 1 to 64 letters, digits, '-', '_' or '.'");
    anyhow::ensure!(
        !username.is_empty() && username.len() <= 64 && !username.chars().any(char::is_control),
        "--username: 1 to 64 characters"
    );
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("reading the password from standard input")?;
    let pass = line.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(pass.chars().count() >= 8, "the password needs at least 8 characters");
    let hash = password::hash(pass)?;
    std::fs::create_dir_all(&cfg.storage.data_dir).context("creating the data directory")?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let store = SqliteStore::open(&cfg.storage.data_dir.join("dialerd.db")).await?;
        let user = UserRow {
            client: dialerd::ids::ClientId(client.into()),
            username: username.into(),
            password_hash: hash,
            role: role.as_str().into(),
        };
        store.add_user(&user, jiff::Timestamp::now().as_millisecond()).await?;
        store.close().await;
        anyhow::Ok(())
    })?;
    println!("user {username:?} of client {client:?} added with role {}", role.as_str());
    Ok(())
}

fn serve(path: &std::path::Path) -> anyhow::Result<()> {
    let cfg = Config::load(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    init_logging(&cfg)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    rt.block_on(async move {
        dialerd::daemon::run(cfg, Some(path.to_path_buf()), stop_signal(), |_| {}).await.map_err(anyhow::Error::from)
    })
}

fn init_logging(cfg: &Config) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => EnvFilter::try_new(v),
        _ => EnvFilter::try_new(format!("{},{}=warn", cfg.log.level, dialerd::sip::STACK_LOG_TARGET)),
    }
    .context("[log] level is not a valid filter")?;
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match cfg.log.format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
    Ok(())
}

async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    // SIGHUP (reload) is the daemon's: see daemon::reload_on_sighup.
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    // The drain runs now; a second signal means "stop at once" (an operator
    // who will not wait, or systemd's final SIGTERM after TimeoutStopSec).
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        eprintln!("dialerd: second stop signal: exiting without finishing the drain");
        std::process::exit(1);
    });
}
