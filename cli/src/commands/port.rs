//! `stack port SERVICE PRIVATE_PORT`: the host address it is published on.

use std::process::ExitCode;

use crate::project::ProjectArgs;

/// Arguments of `stack port`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which replica (1-based).
    #[arg(long, default_value_t = 1)]
    index: u32,
    /// `tcp`, `udp` or `sctp`.
    #[arg(long, default_value = "tcp")]
    protocol: String,
    /// The service.
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    service: String,
    /// The container port.
    private_port: u16,
}

/// Run `stack port`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let session = project.session_or_named(&[]).await?;
    let found = app::containers::port(
        &session,
        &args.service,
        args.private_port,
        &args.protocol,
        Some(args.index),
    )
    .await?;
    let Some(binding) = found else {
        anyhow::bail!(
            "no port {}/{} published for service `{}`",
            args.private_port,
            args.protocol,
            args.service
        );
    };
    let ip = binding.host_ip.unwrap_or_else(|| "0.0.0.0".into());
    let port = binding.host_port.unwrap_or(0);
    if ip.contains(':') {
        println!("[{ip}]:{port}");
    } else {
        println!("{ip}:{port}");
    }
    Ok(ExitCode::SUCCESS)
}
