//! `stack up`, `stack scale`, `stack rollback`: arguments to an
//! [`app::up::UpRequest`], then converge; `-d` returns with the agent in
//! the background, attached follows the output until Ctrl-C, `--watch`
//! converges again on each edit.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use app::attached::{Abort, Attached};
use app::up::UpRequest;
use reconciler::engine::LogLine;

use crate::flags::{parallel_limit, AgentFlags, OutputFormat, UpFlags};
use crate::progress::{Mode, Reporter};
use crate::project::ProjectArgs;
use crate::signals::cancel_on_signal;

/// Arguments of `stack up`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    flags: UpFlags,
    /// Run in the background: return once the stack is up.
    #[arg(short, long)]
    detach: bool,
    /// With -d: wait until every container runs (and is healthy, when it has a healthcheck).
    #[arg(long)]
    wait: bool,
    /// Seconds to wait for a dependency condition or for --wait.
    #[arg(long, default_value_t = 300)]
    wait_timeout: u64,
    /// Engine operations in flight at once (default: STACK_PARALLEL_LIMIT,
    /// COMPOSE_PARALLEL_LIMIT, else 8).
    #[arg(long)]
    parallel: Option<usize>,
    /// Seconds to wait for a container to stop before killing it.
    #[arg(short, long, default_value_t = 10)]
    timeout: u64,
    /// After converging, watch the stack file, env files and `.env`; on a
    /// change show the plan and converge again (Ctrl-C to stop watching).
    #[arg(long)]
    watch: bool,
    /// Do not run the agent that heals the stack and serves its DNS (with
    /// -d it runs in the background; attached, in this process).
    #[arg(long)]
    no_agent: bool,
    #[command(flatten)]
    agent: AgentFlags,
    /// Do not check that NFS servers answer before creating anything
    /// (bind mount sources are still checked).
    #[arg(long)]
    skip_preflight: bool,
    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
    /// Progress as JSON lines.
    #[arg(long, value_enum, default_value = "text")]
    format: OutputFormat,
    /// Attached: stop everything when any container stops.
    #[arg(long, conflicts_with_all = ["detach", "abort_on_container_failure"])]
    abort_on_container_exit: bool,
    /// Attached: stop everything when a container stops with a non-zero status.
    #[arg(long, conflicts_with = "detach")]
    abort_on_container_failure: bool,
    /// Attached: exit with this service's container's status (implies
    /// --abort-on-container-exit).
    #[arg(long, value_name = "SERVICE", conflicts_with = "detach")]
    exit_code_from: Option<String>,
    /// Attached: show only these services' output; repeatable.
    #[arg(long, value_name = "SERVICE")]
    attach: Vec<String>,
    /// Attached: do not show these services' output; repeatable.
    #[arg(long, value_name = "SERVICE")]
    no_attach: Vec<String>,
    /// Attached: do not prefix lines with the container's name.
    #[arg(long)]
    no_log_prefix: bool,
    /// Answer yes to every question (recreating a volume whose definition
    /// changed, with --recreate-volumes).
    #[arg(short = 'y', long)]
    yes: bool,
    /// Create what is missing, start nothing (no agent either).
    #[arg(long, conflicts_with_all = ["wait", "watch"])]
    no_start: bool,
    /// Services to bring up (default: all), with what they depend on.
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    services: Vec<String>,
}

impl Args {
    fn request(&self) -> UpRequest {
        UpRequest {
            plan: self.flags.request(&self.services),
            parallel: parallel_limit(self.parallel),
            stop_timeout: Duration::from_secs(self.timeout),
            wait_timeout: Duration::from_secs(self.wait_timeout),
            skip_preflight: self.skip_preflight,
            drain: self.agent.options().drain(),
            no_start: self.no_start,
        }
    }
}

/// Run `stack up`.
pub async fn run(project: &ProjectArgs, args: &Args) -> anyhow::Result<ExitCode> {
    let session = project.session(&args.services).await?;
    let sink = Reporter::new(Mode::choose(args.quiet, args.format == OutputFormat::Json))
        .assume_yes(args.yes)
        .no_start(args.no_start)
        .sink();
    let cancel = cancel_on_signal(false)?;
    let request = args.request();
    let began = jiff::Timestamp::now().as_second();
    let project_run = app::up::converge(&session, &request, &sink, &cancel, false).await?;
    if args.no_start {
        return Ok(ExitCode::SUCCESS);
    }
    if args.watch {
        app::watch::run(&session.inputs, &request, &sink, &cancel).await?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.detach {
        if args.wait {
            app::up::wait_running(&session, &project_run, request.wait_timeout).await?;
        }
        if !args.no_agent {
            start_agent(&session, &args.agent.options(), sink.as_ref()).await?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let attached = Attached {
        services: args.services.clone(),
        shown: args.attach.clone(),
        hidden: args.no_attach.clone(),
        abort: if args.abort_on_container_exit {
            Abort::OnExit
        } else if args.abort_on_container_failure {
            Abort::OnFailure
        } else {
            Abort::Never
        },
        exit_code_from: args.exit_code_from.clone(),
        agent: (!args.no_agent).then(|| args.agent.options()),
        stop_timeout: request.stop_timeout,
        since: Some(began),
    };
    let mut printer = crate::output::Printer::new(!args.no_log_prefix);
    let mut output = |names: &[String], i: usize, line: &LogLine| printer.print(names, i, line);
    let code = app::attached::run(&session, &attached, &sink, &cancel, &mut output).await?;
    if cancel.is_cancelled() {
        // Ctrl-C: stopped gracefully, and says so as Compose does.
        return Ok(ExitCode::from(130));
    }
    Ok(ExitCode::from(
        u8::try_from(code.clamp(0, 255)).unwrap_or(1),
    ))
}

/// Arguments of `stack create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    #[command(flatten)]
    flags: UpFlags,
    /// Answer yes to every question.
    #[arg(short = 'y', long)]
    yes: bool,
    /// Services to create (default: all), with what they depend on.
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    services: Vec<String>,
}

/// Run `stack create`: `up --no-start`.
pub async fn create(project: &ProjectArgs, args: &CreateArgs) -> anyhow::Result<ExitCode> {
    let session = project.session(&args.services).await?;
    let sink = Reporter::new(Mode::choose(false, false))
        .assume_yes(args.yes)
        .no_start(true)
        .sink();
    let cancel = cancel_on_signal(false)?;
    let request = UpRequest {
        plan: args.flags.request(&args.services),
        parallel: parallel_limit(None),
        no_start: true,
        ..UpRequest::default()
    };
    app::up::converge(&session, &request, &sink, &cancel, false).await?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `stack rollback`.
#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The service to return to its previous definition.
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::completion::services))]
    service: String,
}

/// Run `stack rollback`: the service runs the definition it ran before
/// its last update; the file is not changed.
pub async fn rollback(project: &ProjectArgs, args: &RollbackArgs) -> anyhow::Result<ExitCode> {
    let session = project.session(&[]).await?;
    let name = &args.service;
    let sink: Arc<dyn app::Sink> = Reporter::new(Mode::choose(false, false)).sink();
    let cancel = cancel_on_signal(false)?;
    app::rollback::run(&session, name, &sink, &cancel).await?;
    sink.note(&format!(
        "`{name}` runs its previous definition; the stack file still has the newer one, which `stack up` would apply again."
    ));
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `stack scale`.
#[derive(Debug, clap::Args)]
pub struct ScaleArgs {
    /// Do not start the services these depend on.
    #[arg(long)]
    no_deps: bool,
    /// SERVICE=N pairs.
    #[arg(required = true, value_name = "SERVICE=N")]
    counts: Vec<String>,
}

/// Run `stack scale`: `up -d` of the named services with these counts.
/// New replicas are added and the highest-numbered ones removed; the
/// others are left as they are.
pub async fn scale(project: &ProjectArgs, args: &ScaleArgs) -> anyhow::Result<ExitCode> {
    let services = args
        .counts
        .iter()
        .map(|c| c.split_once('=').map(|(s, _)| s.to_string()))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| anyhow::anyhow!("stack scale takes SERVICE=N pairs"))?;
    let session = project.session(&services).await?;
    let sink = Reporter::new(Mode::choose(false, false)).sink();
    let cancel = cancel_on_signal(false)?;
    let flags = UpFlags {
        scale: args.counts.clone(),
        no_deps: args.no_deps,
        ..UpFlags::default()
    };
    let request = UpRequest {
        plan: flags.request(&services),
        parallel: parallel_limit(None),
        ..UpRequest::default()
    };
    app::up::converge(&session, &request, &sink, &cancel, false).await?;
    start_agent(&session, &agent::Options::default(), sink.as_ref()).await?;
    Ok(ExitCode::SUCCESS)
}

/// After `up -d` (or `scale`): the agent keeps the stack healed from now on.
async fn start_agent(
    session: &app::Session,
    options: &agent::Options,
    sink: &dyn app::Sink,
) -> anyhow::Result<()> {
    let pid = app::agent::start(session, options, false, sink).await?;
    sink.note(&format!(
        "The agent keeps the stack healed (pid {pid}; `stack agent status`)."
    ));
    Ok(())
}
