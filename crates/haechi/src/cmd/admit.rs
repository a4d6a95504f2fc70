//! `haechi admit`: the admission webhook server and its certificates.

use std::io::{self, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
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
    /// Create a CA and a serving certificate for the webhook Service; print the caBundle.
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
struct CertsArgs {
    /// Name of the webhook's Service.
    #[arg(long, value_name = "NAME")]
    service: String,
    /// Namespace of the webhook's Service.
    #[arg(long, value_name = "NS")]
    namespace: String,
    /// Directory for ca.crt, tls.crt and tls.key (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
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
    let generated =
        certs::generate(&names).map_err(|e| format!("cannot create certificates: {e}"))?;
    generated
        .write(&args.out)
        .map_err(|e| format!("cannot write to {}: {e}", args.out.display()))?;
    eprintln!(
        "wrote {dir}/ca.crt, {dir}/tls.crt and {dir}/tls.key for {names}",
        dir = args.out.display(),
        names = names.join(", ")
    );
    eprintln!("caBundle for the webhook configuration:");
    println!("{}", generated.ca_bundle());
    Ok(())
}
