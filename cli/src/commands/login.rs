//! `stack login` and `stack logout`: the docker CLI's verbs, on the docker
//! CLI's credentials file (or its credential helper), so either tool's
//! login serves both. The password comes from stdin or a prompt that does
//! not echo, never from an argument.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{bail, Context};
use app::login::LoginRequest;
use registry::Stored;

/// Arguments of `stack login`.
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The registry (`localhost:5000`, `ghcr.io`); Docker Hub when left out.
    registry: Option<String>,
    /// The user name.
    #[arg(short, long)]
    username: Option<String>,
    /// Read the password (or access token) from stdin, e.g.
    /// `cat token | stack login -u me --password-stdin ghcr.io`.
    #[arg(long)]
    password_stdin: bool,
}

/// Arguments of `stack logout`.
#[derive(Debug, clap::Args)]
pub struct LogoutArgs {
    /// The registry; Docker Hub when left out.
    registry: Option<String>,
}

/// Run `stack login`.
pub async fn login(args: &LoginArgs) -> anyhow::Result<ExitCode> {
    let registry = app::login::registry_of(args.registry.as_deref());
    let auth = match (&args.username, args.password_stdin) {
        (None, false) => match app::login::existing(Some(&registry)).await? {
            // As `docker login`: with no user given, check the login on file.
            Some(auth) => {
                eprintln!("Authenticating with existing credentials...");
                auth
            }
            None => ask(args, &registry)?,
        },
        _ => ask(args, &registry)?,
    };
    let engine = app::session::connect().await?;
    let logged_in = app::login::login(engine.as_ref(), auth).await?;
    match &logged_in.stored {
        Stored::File(path) => eprintln!("Login saved in {}", path.display()),
        Stored::Helper(helper) => eprintln!("Login saved with {helper}"),
    }
    println!("Login Succeeded");
    Ok(ExitCode::SUCCESS)
}

/// The user and password, from the flags, stdin or the terminal.
fn ask(args: &LoginArgs, registry: &str) -> anyhow::Result<registry::Auth> {
    let username = match &args.username {
        Some(u) => u.clone(),
        None if args.password_stdin => bail!("--password-stdin needs the user name: -u USER"),
        None => {
            if !std::io::stdin().is_terminal() {
                bail!("no terminal to ask for the user name: give -u USER and --password-stdin");
            }
            eprint!("Username: ");
            std::io::stderr().flush()?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim().to_string()
        }
    };
    let password = if args.password_stdin {
        let mut text = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut text)
            .context("reading the password from stdin")?;
        text.trim_end_matches(['\n', '\r']).to_string()
    } else {
        if !std::io::stdin().is_terminal() {
            bail!("no terminal to ask for the password: pipe it in with --password-stdin");
        }
        rpassword::prompt_password("Password: ").context("reading the password")?
    };
    if username.is_empty() || password.is_empty() {
        bail!("login to {registry} needs a user name and a password");
    }
    Ok(app::login::auth_of(&LoginRequest {
        registry: Some(registry.into()),
        username,
        password,
    }))
}

/// Run `stack logout`.
pub async fn logout(args: &LogoutArgs) -> anyhow::Result<ExitCode> {
    let registry = app::login::registry_of(args.registry.as_deref());
    if app::login::logout(Some(&registry)).await? {
        println!("Removing login credentials for {registry}");
    } else {
        eprintln!("Not logged in to {registry}");
    }
    Ok(ExitCode::SUCCESS)
}
