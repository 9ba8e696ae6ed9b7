//! The command line: clap definitions, logging set-up and exit codes
//! (0 success, 1 policy violated, 2 error — never a panic on bad input).

mod audit;
mod buildinfo;
mod db;
mod gate;
mod lock_hashes;
mod publish;
mod report;
mod sbom;
mod scan;
mod symbols;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::foundation::named::Named;
use crate::inventory::SbomSource;
use crate::release::local::SbomChoice;
use crate::report::SbomFormat;
use crate::report::audit::AuditFormat;
use crate::report::audit::diff::DiffFormat;
use crate::report::findings::ScanFormat;
use crate::report::gate::GateFormat;

/// clap's value enums for the domain's named values (clap stays in `cli/`).
macro_rules! value_enums {
    ($($t:ty),*) => {$(
        impl clap::ValueEnum for $t {
            fn value_variants<'a>() -> &'a [Self] {
                <$t as Named>::ALL
            }

            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                let v = clap::builder::PossibleValue::new(self.name());
                Some(if self.help().is_empty() { v } else { v.help(self.help()) })
            }
        }
    )*};
}

value_enums!(
    SbomFormat,
    ScanFormat,
    GateFormat,
    AuditFormat,
    DiffFormat,
    SbomChoice,
    SbomSource
);

/// Supply-chain scanner for OpenTofu/Terraform providers.
#[derive(Debug, Parser)]
#[command(name = "provguard", version, about, long_about = None)]
pub struct Cli {
    /// Only print errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More diagnostics on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate an SBOM for provider ZIPs, executables or directories (dist/ or filesystem mirrors).
    Sbom(SbomArgs),
    /// Match provider artifacts against the offline vulnerability database and report.
    Scan(ScanArgs),
    /// Pre-merge gate: lock-file hashes, vulnerabilities and policy rules; exit 0 pass, 1 fail, 2 error.
    Gate(GateArgs),
    /// Audit every provider of OCI namespaces, mirrors and lock-file trees into one report
    /// (json, markdown, self-contained html); cached, concurrent, shardable.
    Audit(audit::AuditArgs),
    /// Join sharded audit reports, or compare two audits.
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Push a provider release (dist/ with SHA256SUMS) into an OCI registry, SBOMs attached.
    Publish(PublishArgs),
    /// Copy a provider version into an OCI registry with every digest and attached SBOM.
    Mirror(MirrorArgs),
    /// Manage the offline vulnerability database.
    #[command(subcommand)]
    Db(DbCommand),
    /// Print the `h1:`/`zh:` hashes tofu records in .terraform.lock.hcl for provider packages.
    LockHashes(LockHashesArgs),
    /// Print an executable's Go buildinfo exactly as `go version -m` does.
    Buildinfo(BuildinfoArgs),
    /// List the Go functions an executable contains (its pclntab; stripped builds too).
    Symbols(symbols::SymbolsArgs),
}

#[derive(Debug, Args)]
pub struct SbomArgs {
    /// Provider ZIPs, executables, or directories to walk.
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "cyclonedx")]
    pub format: SbomFormat,
    /// Write the document to FILE (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE", conflicts_with = "output_dir")]
    pub output: Option<PathBuf>,
    /// Write one document per artifact into DIR, named after the artifact.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Cache directory (default: $XDG_CACHE_HOME/provguard or ~/.cache/provguard).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Byte-identical output for identical input (also implied by SOURCE_DATE_EPOCH).
    #[arg(long)]
    pub deterministic: bool,
    /// Leave the executable's SHA-256 out. A bare executable is then read the way
    /// `go version -m` reads it (headers and data segment only); ZIP entries are hashed anyway.
    #[arg(long)]
    pub no_executable_hash: bool,
    /// Refuse ZIP entries that inflate beyond this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 30)]
    pub max_entry_size: u64,
    /// Instead of an SBOM, report where each artifact's inventory came from and how an attached
    /// SBOM disagrees with the binary (drift).
    #[arg(long)]
    pub compare: bool,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Provider ZIPs, executables, or directories to walk.
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<PathBuf>,
    /// Report format for stdout (default: table on a terminal, json otherwise).
    #[arg(short, long, value_enum)]
    pub format: Option<ScanFormat>,
    /// Write a report to a file: FORMAT=PATH (repeatable; PATH `-` is stdout), or PATH for --format.
    #[arg(short, long, value_name = "[FORMAT=]PATH")]
    pub output: Vec<String>,
    /// Vulnerability database: a directory or ZIP in the Go vulndb or OSV-export layout
    /// (default: the one `provguard db update` keeps in the cache directory).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Cache directory: the database `provguard db update` fetched, and OCI blobs.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Warn when the database is older than this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub db_max_age: i64,
    /// Exit with this code when an affected vulnerability is found (as Trivy's --exit-code).
    #[arg(long, value_name = "N")]
    pub exit_code: Option<u8>,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    /// Leave the executable's SHA-256 out of the report (`executableSha256: null`): a bare
    /// executable is then not hashed, which is most of the time its scan takes. ZIP entries are
    /// hashed anyway (beside the inflating).
    #[arg(long)]
    pub no_executable_hash: bool,
}

#[derive(Debug, Args)]
pub struct GateArgs {
    /// Provider ZIPs, executables, directories (dist/ or filesystem mirrors), oci:// references
    /// or provider addresses. Without targets, ./.terraform.lock.hcl is checked.
    #[arg(value_name = "TARGET")]
    pub targets: Vec<PathBuf>,
    /// The lock file whose providers are located (among the targets, else in the OCI mirror)
    /// and whose zh:/h1: hashes every package must match.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// Policy file (default: the built-in rules/default.toml).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Waiver file (default: ./.provguard-ignore.toml when it exists).
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,
    /// An earlier `audit` (or `gate`) JSON report: fail only on violations it does not hold.
    #[arg(long, value_name = "OLD.json")]
    pub baseline: Option<PathBuf>,
    /// Report format for stdout (default: table on a terminal, json otherwise).
    #[arg(short, long, value_enum)]
    pub format: Option<GateFormat>,
    /// Write a report to a file: FORMAT=PATH (repeatable; PATH `-` is stdout), or PATH for --format.
    #[arg(short, long, value_name = "[FORMAT=]PATH")]
    pub output: Vec<String>,
    /// Vulnerability database (default: the one `provguard db update` keeps in the cache).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Cache directory: the vulnerability database and OCI blobs.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

/// How artifacts are analysed: shared by `scan`, `gate` and `audit`.
#[derive(Debug, Args)]
pub struct AnalysisArgs {
    /// Byte-identical output for identical input (also implied by SOURCE_DATE_EPOCH).
    #[arg(long)]
    pub deterministic: bool,
    /// Refuse ZIP entries that inflate beyond this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 30)]
    pub max_entry_size: u64,
    /// Module level only: do not read the binaries' function tables (every finding's
    /// reachability is then unknown).
    #[arg(long)]
    pub no_symbols: bool,
}

impl AnalysisArgs {
    pub fn limits(&self) -> crate::artifact::zip::Limits {
        crate::artifact::zip::Limits {
            max_entry: self.max_entry_size,
            ..Default::default()
        }
    }

    pub fn render(&self) -> crate::report::RenderOptions {
        crate::report::RenderOptions::from_env(self.deterministic)
    }

    /// `--db`, else the database in the cache directory.
    pub fn db(db: &Option<PathBuf>, cache_dir: &Option<PathBuf>) -> crate::engine::scan::DbChoice {
        crate::engine::scan::DbChoice {
            path: db.clone(),
            cache_dir: cache_dir.clone(),
        }
    }
}

/// How a destination registry is written to.
#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Cache directory for blobs read from a source registry.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// A GoReleaser dist/ directory, or the release ZIPs (with their SHA256SUMS beside them).
    #[arg(required = true, value_name = "DIST_DIR|ZIP")]
    pub dist: Vec<PathBuf>,
    /// Destination repository, oci://HOST/REPO; the tag is the version (`+` written as `_`).
    #[arg(long, value_name = "oci://HOST/REPO")]
    pub to: String,
    /// The version to publish when the directory holds several (must match the ZIP names).
    #[arg(long, value_name = "V")]
    pub version: Option<String>,
    /// SBOMs generated from each binary.
    #[arg(long, value_enum, default_value = "cyclonedx")]
    pub sbom_format: SbomChoice,
    /// Attach FILE (CycloneDX or SPDX JSON, e.g. Syft's) to PLATFORM instead of a generated SBOM;
    /// it is checked against the binary first (repeatable).
    #[arg(long, value_name = "OS_ARCH=FILE")]
    pub sbom: Vec<String>,
    /// Attach a --sbom file even when it disagrees with the binary.
    #[arg(long)]
    pub allow_drift: bool,
    /// Mount blobs from these repositories of the same registry when they hold them.
    #[arg(long, value_name = "REPO")]
    pub mount_from: Vec<String>,
    /// Show what would be pushed (every digest, the lock-file hashes) and push nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub push: PushArgs,
}

#[derive(Debug, Args)]
pub struct MirrorArgs {
    /// oci://HOST/REPO:VERSION, a local dist/ or filesystem mirror directory, or a provider
    /// address [HOST/]NAMESPACE/TYPE (with --version) fetched and verified as tofu installs it.
    #[arg(value_name = "SOURCE")]
    pub source: String,
    /// Destination repository, oci://HOST/REPO.
    #[arg(value_name = "oci://DEST_HOST/REPO")]
    pub dest: String,
    /// For a provider address: the version, exact or a tofu constraint ('~> 5.0'). For a local
    /// source holding several versions: which one.
    #[arg(long, value_name = "V")]
    pub version: Option<String>,
    /// Attach SBOMs generated from the binary where the source has none (always, for a
    /// provider address).
    #[arg(long)]
    pub generate_sboms: bool,
    /// Format of generated SBOMs.
    #[arg(long, value_enum, default_value = "cyclonedx")]
    pub sbom_format: SbomChoice,
    /// Show what would be copied and copy nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub push: PushArgs,
}

/// How OCI targets are reached (shared by every command that takes targets).
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// For provider-address targets ([HOST/]NAMESPACE/TYPE): the version, exact or a tofu
    /// constraint such as '~> 5.0', resolved against the repository's tags.
    #[arg(long, value_name = "CONSTRAINT")]
    pub version: Option<String>,
    /// Repository template for provider addresses, e.g. 'ghcr.io/acme/${namespace}/${type}'
    /// (default: the oci_mirror block of ~/.tofurc or TF_CLI_CONFIG_FILE).
    #[arg(long, value_name = "TEMPLATE")]
    pub oci_mirror: Option<String>,
    /// Inventory source for OCI targets.
    #[arg(long, value_enum, default_value = "auto")]
    pub sbom_source: SbomSource,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// How a registry is talked to: shared by every command that reads or writes one.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Registry request timeout in seconds (connect and read).
    #[arg(long = "registry-timeout", value_name = "SECS", default_value_t = 60)]
    pub registry_timeout: u64,
    /// Retries on 429, 5xx, timeouts and dropped connections (exponential backoff).
    #[arg(long = "registry-retries", value_name = "N", default_value_t = 3)]
    pub registry_retries: u32,
    /// Platforms, OS_ARCH (repeatable; default: all).
    #[arg(long = "platform", value_name = "OS_ARCH")]
    pub platforms: Vec<String>,
    /// Talk plain HTTP to registries (loopback and test registries only).
    #[arg(long)]
    pub plain_http: bool,
    /// Do not use the blob cache: downloads go to a temporary directory.
    #[arg(long)]
    pub no_cache: bool,
    /// Registry user name (with --password-stdin); otherwise docker/podman auth files are used.
    /// Copies send it to the destination only.
    #[arg(long, value_name = "USER", requires = "password_stdin")]
    pub username: Option<String>,
    /// Read the registry password from standard input.
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Download the vulnerability database into the cache directory (atomic replace).
    Update(DbUpdateArgs),
    /// Show which database `scan` would use and how fresh it is.
    Info(DbInfoArgs),
}

#[derive(Debug, Args)]
pub struct DbUpdateArgs {
    /// Where to fetch from: a Go vulndb base URL (index/db.json, index/modules.json, ID/…)
    /// or the URL of an OSV export ZIP (…/Go/all.zip).
    #[arg(long, value_name = "URL", default_value = crate::source::vulndb::DEFAULT_URL)]
    pub db_url: String,
    /// Cache directory (default: $XDG_CACHE_HOME/provguard or ~/.cache/provguard).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Per-request timeout in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
    /// Parallel downloads.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub jobs: usize,
    /// Retries per request on 429, 5xx and connection errors (with backoff).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,
}

#[derive(Debug, Args)]
pub struct DbInfoArgs {
    /// A database directory or ZIP (default: the one in the cache directory).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Cache directory (default: $XDG_CACHE_HOME/provguard or ~/.cache/provguard).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LockHashesArgs {
    /// Provider ZIPs (h1: and zh:) or unpacked package folders (h1:); or one provider address
    /// ([HOST/]NAMESPACE/TYPE) with --version, fetched through the tofu CLI configuration's
    /// installation methods and verified as tofu verifies.
    #[arg(required = true, value_name = "ZIP|DIR|ADDRESS")]
    pub packages: Vec<PathBuf>,
    /// For an address: the version (exact or a constraint).
    #[arg(long, value_name = "CONSTRAINT")]
    pub version: Option<String>,
    /// For an address: fetch every published platform (their h1:), not only --platform or the
    /// host's.
    #[arg(long)]
    pub all_platforms: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Cache directory for fetched packages.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BuildinfoArgs {
    /// Executables or provider ZIPs.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

fn init_logging(cli: &Cli) {
    let level = if cli.quiet {
        tracing::Level::ERROR
    } else {
        match cli.verbose {
            0 => tracing::Level::WARN,
            1 => tracing::Level::INFO,
            2 => tracing::Level::DEBUG,
            _ => tracing::Level::TRACE,
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .try_init();
}

/// Parse arguments, run, and turn the outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    init_logging(&cli);
    let result = match &cli.command {
        Command::Sbom(a) => sbom::run(a),
        Command::Scan(a) => scan::run(a),
        Command::Gate(a) => gate::run(a),
        Command::Audit(a) => audit::run(a, !cli.quiet),
        Command::Report(c) => report::run(c),
        Command::Publish(a) => publish::run_publish(a),
        Command::Mirror(a) => publish::run_mirror(a),
        Command::Db(c) => db::run(c, cli.quiet),
        Command::LockHashes(a) => lock_hashes::run(a),
        Command::Buildinfo(a) => buildinfo::run(a),
        Command::Symbols(a) => symbols::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// A reader that closed stdout early (`provguard … | head`) is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Where a report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    Stdout,
    File(PathBuf),
}

impl Dest {
    /// Write a rendered report (files atomically: all of it or nothing).
    pub fn write(&self, body: &[u8], format: &str) -> anyhow::Result<()> {
        use anyhow::Context as _;
        match self {
            Dest::Stdout => std::io::Write::write_all(&mut std::io::stdout().lock(), body)?,
            Dest::File(p) => {
                crate::report::output::write_atomic(p, body)
                    .with_context(|| format!("cannot write {}", p.display()))?;
                tracing::info!("wrote {format} report to {}", p.display());
            }
        }
        Ok(())
    }
}

/// `--format` plus every `--output [FORMAT=]PATH` (PATH `-` is stdout); without a format, a
/// terminal gets `table` and a pipe `json`.
pub fn outputs<F: Copy + PartialEq>(
    format: Option<F>,
    output: &[String],
    parse: fn(&str) -> Option<F>,
    table: F,
    json: F,
) -> anyhow::Result<Vec<(F, Dest)>> {
    let default = format.unwrap_or(if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        table
    } else {
        json
    });
    let mut outs = Vec::new();
    for o in output {
        match o
            .split_once('=')
            .and_then(|(f, p)| parse(f).map(|f| (f, p)))
        {
            Some((f, p)) => outs.push((
                f,
                if p == "-" {
                    Dest::Stdout
                } else {
                    Dest::File(p.into())
                },
            )),
            None => outs.push((default, Dest::File(o.into()))),
        }
    }
    if outs.is_empty() || (format.is_some() && !outs.iter().any(|(f, _)| Some(*f) == format)) {
        outs.push((default, Dest::Stdout));
    }
    if outs.iter().filter(|(_, d)| *d == Dest::Stdout).count() > 1 {
        anyhow::bail!(
            "only one report can go to stdout; give the others a file with --output FORMAT=PATH"
        );
    }
    Ok(outs)
}

/// Source options from the shared flags.
fn source_options(
    r: &RegistryArgs,
    cache_dir: &Option<PathBuf>,
) -> anyhow::Result<crate::source::SourceOptions> {
    Ok(crate::source::SourceOptions {
        registry: client_options(&r.connect, cache_dir)?,
        platforms: r.connect.platforms.clone(),
        attached: r.sbom_source != SbomSource::Binary,
        version: r.version.clone(),
        oci_mirror: r.oci_mirror.clone(),
    })
}

/// Registry options from the connection flags alone (`--password-stdin` reads stdin here).
fn client_options(
    c: &ConnectArgs,
    cache_dir: &Option<PathBuf>,
) -> anyhow::Result<crate::registry::ClientOptions> {
    use crate::registry::{BlobCache, ClientOptions, auth::ExplicitCredentials};
    let password = if c.password_stdin {
        let mut p = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut p)?;
        Some(p.trim_end_matches(['\n', '\r']).to_string())
    } else {
        None
    };
    let cache = if c.no_cache {
        BlobCache::temporary()?
    } else {
        BlobCache::at(
            cache_dir
                .clone()
                .unwrap_or_else(crate::foundation::dirs::default_cache_dir),
        )
    };
    Ok(ClientOptions {
        plain_http: c.plain_http,
        cache,
        credentials: ExplicitCredentials {
            username: c.username.clone(),
            password,
        },
        timeout: std::time::Duration::from_secs(c.registry_timeout),
        retries: c.registry_retries,
    })
}
