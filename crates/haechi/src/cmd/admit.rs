//! `haechi admit`: the admission webhook server and its certificates.

use std::io::{self, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{ArgGroup, Args, Subcommand};
use haechi_admission::certs::cluster::{self, Configuration, EnsuredSecret, SecretAction};
use haechi_admission::{Options, Server, certs, namespaces};

/// Exit status for usage errors, unusable files and servers that cannot start.
const EXIT_USAGE: u8 = 2;

#[derive(Args)]
pub struct AdmitArgs {
    #[command(subcommand)]
    command: AdmitCommand,
}

#[derive(Subcommand)]
enum AdmitCommand {
    /// Serve the validating (POST /validate) and mutating (POST /mutate) webhook over HTTPS.
    Serve(ServeArgs),
    /// Create a CA and a serving certificate for the webhook Service: into files (printing the
    /// caBundle), or into a Secret and the webhook configurations' caBundle.
    Certs(CertsArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// PEM certificate chain (re-read when it changes).
    #[arg(long, value_name = "FILE")]
    cert: PathBuf,
    /// PEM private key (re-read when it changes).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8443")]
    listen: SocketAddr,
    /// Webhook policy file (docs/admit.md; re-read when it changes). Default: enforce baseline,
    /// audit and warn restricted.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Read Pod Security labels from the cluster's Namespaces (a watch through the API server,
    /// with the pod's service account or KUBECONFIG); `/readyz` waits for the first list.
    #[arg(long)]
    watch_namespaces: bool,
}

#[derive(Args)]
#[command(group(ArgGroup::new("destination").required(true).args(["out", "secret"])))]
struct CertsArgs {
    /// Name of the webhook's Service.
    #[arg(long, value_name = "NAME")]
    service: String,
    /// Namespace of the webhook's Service (and of --secret).
    #[arg(long, value_name = "NS")]
    namespace: String,
    /// Directory for ca.crt, tls.crt and tls.key (created if missing).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// kubernetes.io/tls Secret for tls.crt, tls.key and ca.crt, in the cluster (the pod's
    /// service account or KUBECONFIG): kept while its certificate is good for 30 more days,
    /// created or replaced otherwise.
    #[arg(long, value_name = "NAME")]
    secret: Option<String>,
    /// ValidatingWebhookConfiguration whose webhooks calling the Service get the Secret's CA as
    /// caBundle (repeatable).
    #[arg(long, value_name = "NAME", conflicts_with = "out")]
    patch_validating: Vec<String>,
    /// MutatingWebhookConfiguration whose webhooks calling the Service get the Secret's CA as
    /// caBundle (repeatable).
    #[arg(long, value_name = "NAME", conflicts_with = "out")]
    patch_mutating: Vec<String>,
}

pub fn run(args: AdmitArgs) -> ExitCode {
    let result = match args.command {
        AdmitCommand::Serve(args) => serve(args),
        AdmitCommand::Certs(args) => make_certs(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(io::stderr(), "haechi admit: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
    // HAECHI_LOG=debug shows every review; the default is info (audit records, reloads).
    let level = std::env::var("HAECHI_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    // Audit records are written by a thread of their own, so that a slow stderr (a busy log
    // pipeline) never holds up a review; lines are kept, not dropped, when it falls behind.
    let (writer, _flush_on_exit) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(io::stderr());
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(writer)
        .with_ansi(io::stderr().is_terminal())
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async {
        let mut options = Options::new(args.listen, args.cert, args.key);
        options.config = args.config;
        let mut server = Server::bind(options).await.map_err(|e| e.to_string())?;
        if args.watch_namespaces {
            let client = namespaces::client_from_environment()
                .await
                .map_err(|e| e.to_string())?;
            server.watch_namespaces(client);
        }
        let addr = server.local_addr().map_err(|e| e.to_string())?;
        let stop = super::shutdown_signal()?;
        tracing::info!("serving on https://{addr}");
        server.run(stop).await;
        Ok(())
    })
}

fn make_certs(args: CertsArgs) -> Result<(), String> {
    let names = certs::dns_names(&args.service, &args.namespace);
    match (&args.out, &args.secret) {
        (Some(dir), None) => write_certs(dir, &names),
        (None, Some(secret)) => certs_in_cluster(&args, secret, &names),
        _ => unreachable!("clap requires exactly one of --out and --secret"),
    }
}

fn write_certs(dir: &Path, names: &[String]) -> Result<(), String> {
    let generated =
        certs::generate(names).map_err(|e| format!("cannot create certificates: {e}"))?;
    generated
        .write(dir)
        .map_err(|e| format!("cannot write to {}: {e}", dir.display()))?;
    eprintln!(
        "wrote {dir}/ca.crt, {dir}/tls.crt and {dir}/tls.key for {names}",
        dir = dir.display(),
        names = names.join(", ")
    );
    eprintln!("caBundle for the webhook configuration:");
    println!("{}", generated.ca_bundle());
    Ok(())
}

/// Keeps the certificate in the Secret, then puts its CA into the named configurations: one
/// line to standard error for each.
fn certs_in_cluster(args: &CertsArgs, secret: &str, names: &[String]) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async {
        let client = namespaces::client_from_environment()
            .await
            .map_err(|e| e.to_string())?;
        let ensured = cluster::ensure_secret(&client, &args.namespace, secret, names)
            .await
            .map_err(|e| e.to_string())?;
        eprintln!("{}", secret_line(&ensured, &args.namespace, secret, names));
        let configurations = (args.patch_validating.iter())
            .map(|name| (Configuration::Validating, name))
            .chain(
                args.patch_mutating
                    .iter()
                    .map(|name| (Configuration::Mutating, name)),
            );
        for (configuration, name) in configurations {
            let injected = cluster::inject_ca_bundle(
                &client,
                configuration,
                name,
                &args.service,
                &args.namespace,
                &ensured.ca_bundle,
            )
            .await
            .map_err(|e| e.to_string())?;
            eprintln!(
                "set caBundle of {} of {} webhooks in {} {name}: {}",
                injected.patched.len(),
                injected.webhooks,
                configuration.kind(),
                injected.patched.join(", ")
            );
        }
        Ok(())
    })
}

fn secret_line(ensured: &EnsuredSecret, namespace: &str, secret: &str, names: &[String]) -> String {
    let until = ensured.not_after.date();
    let fresh = format!(
        "a new CA and certificate for {}, valid until {until}",
        names.join(", ")
    );
    match &ensured.action {
        SecretAction::Kept => {
            format!("kept Secret {namespace}/{secret}: its certificate is good until {until}")
        }
        SecretAction::Created => format!("created Secret {namespace}/{secret}: {fresh}"),
        SecretAction::Replaced(reason) => {
            format!("replaced Secret {namespace}/{secret} ({reason}): {fresh}")
        }
    }
}
