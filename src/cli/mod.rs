//! Command line: `onething [serve]`, `migrate`, `check-forms`, `create-admin`,
//! `import-policies`, `reindex`, `demo-data`. Every setting is also an
//! environment variable; `onething --help` lists them.

mod backup;
mod demo;
mod policies;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::auth::{Keys, Vault};
use crate::catalogue::load_catalogue;
use crate::config::{Secret, Settings};
use crate::db::{run_migrations, DatabaseTarget};
use crate::startup::Application;

#[derive(Debug, Parser)]
#[command(
    name = "onething",
    version,
    about = "One-thing (一件事) bundled government services: portal, API and staff consoles",
    after_help = "Every option can also be set through the environment variable shown beside it.\n\
                  With nothing set, the server listens on 127.0.0.1:8080 and keeps a SQLite \
                  database under ./data."
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the portal and the API (the default).
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Check the catalogue definitions in the forms directory without starting the server.
    CheckForms,
    /// Create an administrator account (the first one, or another).
    CreateAdmin {
        /// Login name of the new administrator.
        username: String,
        /// Password; when unset, it is asked for on the terminal.
        #[arg(long, env = "ONETHING_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<Secret>,
    },
    /// Import policies from a CSV or XLSX file (all rows or none), with a progress bar.
    ImportPolicies {
        /// The file; its extension (.csv or .xlsx) gives the format unless --format says.
        file: std::path::PathBuf,
        /// csv or xlsx.
        #[arg(long)]
        format: Option<String>,
    },
    /// Rebuild the policy search index from the database, with a progress bar.
    Reindex,
    /// Load a local reference registry from a CSV or XLSX file (first column `key`, then the
    /// registry's attributes): every row is checked first and any bad row writes nothing;
    /// records with a key already held are replaced. Progress bars for both steps.
    LoadRegistry {
        /// household, birth, marriage, social_insurance, enterprise, real_estate,
        /// disability, assistance or housing_fund.
        registry: String,
        /// The file; its extension (.csv or .xlsx) gives the format.
        file: std::path::PathBuf,
    },
    /// Verify an e-certificate FILE (the JSON of `GET /api/v1/certificates/{no}`) offline:
    /// its signature against the platform's certificate key, or against --public-key.
    /// Exits 0 when the signature holds, 1 when it does not. Revocation is known only to
    /// the server (`POST /api/v1/certificates/verify`).
    VerifyCertificate {
        file: std::path::PathBuf,
        /// Base64 of the Ed25519 public key (as `/api/v1/certificates/public-key` gives it);
        /// unset means the key of this installation (ONETHING_CERTIFICATE_KEY or the data
        /// directory).
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Print the OpenAPI document of /api/v1 (the one the server serves), for API clients
    /// and testing tools.
    Openapi,
    /// Write a consistent copy of the database, the keys and the uploads into DIR (new or
    /// empty), while the server keeps running.
    Backup { dir: std::path::PathBuf },
    /// Restore a backup from DIR into an empty data directory and an empty database.
    Restore { dir: std::path::PathBuf },
    /// Export every table of the database to FILE (JSON lines), to move to another backend.
    Export { file: std::path::PathBuf },
    /// Import an export FILE into an empty database (either backend), counts checked.
    Import { file: std::path::PathBuf },
    /// Fill the database with synthetic demonstration data, with progress bars.
    DemoData {
        /// How many synthetic policies to have (made from the seed library).
        #[arg(long)]
        policies: Option<usize>,
        /// Cases to generate: a realistic year of submissions through the workflow.
        #[arg(long)]
        cases: Option<u64>,
        /// Seed of the random generator for cases (the same seed gives the same data).
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
}

/// `onething load-registry REGISTRY FILE`.
fn load_registry(settings: &Settings, registry: &str, file: &std::path::Path) -> anyhow::Result<()> {
    let registry = crate::rules::Registry::parse(registry).ok_or_else(|| {
        anyhow::anyhow!(
            "unknown registry {registry:?}; one of: {}",
            crate::rules::Registry::ALL.map(|r| r.code()).join(", ")
        )
    })?;
    let format = file
        .to_str()
        .and_then(crate::policy::table::Format::from_filename)
        .ok_or_else(|| anyhow::anyhow!("name the file .csv or .xlsx"))?;
    let bytes = std::fs::read(file)?;
    let clock = crate::clock::SystemClock;
    let checking = policies::bar(0, "checking rows");
    let records = crate::registry::load::parse(registry, format, &bytes);
    checking.finish_and_clear();
    let records = match records {
        Ok(r) => r,
        Err(problems) => {
            for p in &problems {
                eprintln!("{p}");
            }
            anyhow::bail!(
                "{} problem(s) in {}; nothing was loaded",
                problems.len(),
                file.display()
            );
        }
    };
    let db = crate::startup::prepare_database(settings, crate::clock::Clock::now_utc(&clock))?;
    let vault = Vault::new(&Keys::load(settings)?.data);
    let writing = policies::bar(records.len() as u64, "writing records");
    let written = crate::registry::load::write(
        &mut *db.get()?,
        &vault,
        registry,
        &records,
        crate::clock::Clock::now_utc(&clock),
        &|done| writing.set_position(done as u64),
    )?;
    writing.finish();
    println!("{written} record(s) loaded into {}", registry.label());
    Ok(())
}

pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.settings),
        Command::Migrate => migrate(&cli.settings),
        Command::CheckForms => check_forms(&cli.settings),
        Command::CreateAdmin { username, password } => create_admin(&cli.settings, &username, password),
        Command::ImportPolicies { file, format } => policies::import(&cli.settings, &file, format.as_deref()),
        Command::Reindex => policies::reindex(&cli.settings),
        Command::LoadRegistry { registry, file } => load_registry(&cli.settings, &registry, &file),
        Command::Backup { dir } => backup::backup(&cli.settings, &dir),
        Command::Restore { dir } => backup::restore(&cli.settings, &dir),
        Command::Export { file } => backup::export(&cli.settings, &file),
        Command::Import { file } => backup::import(&cli.settings, &file),
        Command::VerifyCertificate { file, public_key } => {
            verify_certificate(&cli.settings, &file, public_key.as_deref())
        }
        Command::Openapi => {
            println!("{}", crate::web::openapi::document());
            Ok(())
        }
        Command::DemoData {
            policies,
            cases,
            seed,
        } => demo_data(&cli.settings, policies, cases, seed),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: &Settings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let app = Application::build(settings)?;
        tracing::info!(
            address = %format!("http://{}:{}", settings.bind.ip(), app.port()),
            "serving the portal"
        );
        app.run_until_stopped().await?;
        Ok(())
    })
}

fn demo_data(
    settings: &Settings,
    policies: Option<usize>,
    cases: Option<u64>,
    seed: u64,
) -> anyhow::Result<()> {
    if policies.is_none() && cases.is_none() {
        anyhow::bail!("say what to generate: --policies N and/or --cases N");
    }
    if let Some(n) = policies {
        policies::demo(settings, n)?;
    }
    if let Some(n) = cases {
        demo::cases(settings, n, seed)?;
    }
    Ok(())
}

fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let target = DatabaseTarget::from_settings(settings)?;
    if let DatabaseTarget::Sqlite(path) = &target {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
    }
    let mut conn = target.connect()?;
    let applied = run_migrations(&mut conn)?;
    println!("{applied} migration(s) applied on {}", target.backend().name());
    Ok(())
}

fn check_forms(settings: &Settings) -> anyhow::Result<()> {
    let cat = load_catalogue(&settings.forms_dir).map_err(anyhow::Error::new)?;
    let personal = cat
        .bundles
        .iter()
        .filter(|b| b.audience == crate::catalogue::Audience::Personal)
        .count();
    println!(
        "forms OK: {} departments, {} fields, {} materials, {} items ({} high-frequency), {} bundles ({} personal, {} enterprise)",
        cat.departments.len(),
        cat.fields.len(),
        cat.materials.len(),
        cat.items.len(),
        cat.items.values().filter(|i| i.high_frequency).count(),
        cat.bundles.len(),
        personal,
        cat.bundles.len() - personal
    );
    Ok(())
}

fn create_admin(settings: &Settings, username: &str, password: Option<Secret>) -> anyhow::Result<()> {
    let password = match password {
        Some(p) => p.expose().to_owned(),
        None => {
            let first = rpassword::prompt_password(format!("Password for {username}: "))?;
            let again = rpassword::prompt_password("Repeat the password: ")?;
            anyhow::ensure!(first == again, "the two passwords differ");
            first
        }
    };
    if let Err(e) = crate::identity::check_password(&password) {
        anyhow::bail!(
            "password rejected: 8 to 64 characters with letters and digits ({})",
            e.code
        );
    }
    let ok = username.len() >= 3
        && username.len() <= 32
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && username.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    anyhow::ensure!(
        ok,
        "a username is 3 to 32 letters, digits, '_', '.' or '-', starting with a letter"
    );
    let db = crate::db::Db::open(&DatabaseTarget::from_settings(settings)?, 1)?;
    let mut conn = db.get()?;
    let now = crate::clock::Clock::now_utc(&crate::clock::SystemClock);
    let new = crate::web::accounts::service::staff_account(
        username,
        username,
        crate::auth::hash_password(&password),
        crate::auth::Role::Admin,
        None,
        now,
    );
    let id = match crate::store::accounts::create(&mut conn, new) {
        Ok(id) => id,
        Err(crate::store::accounts::CreateError::Taken(_)) => {
            anyhow::bail!("the username {username} is taken")
        }
        Err(crate::store::accounts::CreateError::Db(e)) => return Err(e.into()),
    };
    crate::store::audit::record(
        &mut conn,
        &crate::store::audit::AuditEvent {
            at: now,
            actor_id: None,
            actor: "cli",
            action: "account_create",
            target: &format!("admin#{id} {username}"),
            address: "local",
            outcome: "success",
            detail: "create-admin",
        },
    )?;
    println!("administrator {username} created (account #{id})");
    Ok(())
}

/// `verify-certificate`: the signature of a certificate file, checked without the server.
fn verify_certificate(
    settings: &Settings,
    file: &std::path::Path,
    public_key: Option<&str>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let signed: crate::certificate::Signed = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a certificate: expected the JSON object {{\"payload\": {{...}}, \"signature\": \"...\"}}",
            file.display()
        )
    })?;
    let key = match public_key {
        Some(b64) => crate::certificate::verifying_key(b64)
            .context("--public-key must be the Base64 of a 32-byte Ed25519 public key")?,
        None => installed_certificate_key(settings)?,
    };
    let no = signed
        .payload
        .get("certificate_no")
        .and_then(|v| v.as_str())
        .unwrap_or("?");
    match crate::certificate::verify(&key, &signed) {
        Ok(()) => {
            println!(
                "certificate {no}: signature valid (key {})",
                crate::certificate::key_id(&key)
            );
            Ok(())
        }
        Err(crate::certificate::Invalid::SignatureEncoding) => {
            anyhow::bail!("certificate {no}: NOT valid: the signature is not the Base64 of 64 bytes")
        }
        Err(crate::certificate::Invalid::Mismatch) => anyhow::bail!(
            "certificate {no}: NOT valid: the signature does not match the payload (altered, or signed by another key than {})",
            crate::certificate::key_id(&key)
        ),
    }
}

/// The verifying half of this installation's certificate key, read without creating one: a
/// machine that has none cannot vouch for any certificate.
fn installed_certificate_key(settings: &Settings) -> anyhow::Result<ed25519_dalek::VerifyingKey> {
    use anyhow::Context;
    use base64::Engine;
    let b64 = match &settings.certificate_key {
        Some(k) => k.expose().trim().to_owned(),
        None => {
            let path = settings.data_dir.join("keys").join("certificate.key");
            std::fs::read_to_string(&path)
                .with_context(|| {
                    format!(
                        "no certificate key at {}: pass --public-key (from /api/v1/certificates/public-key)",
                        path.display()
                    )
                })?
                .trim()
                .to_owned()
        }
    };
    let seed: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(&b64)
        .ok()
        .and_then(|v| v.try_into().ok())
        .context("the certificate key must be the base64 of 32 bytes")?;
    Ok(ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key())
}
