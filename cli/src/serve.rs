//! `icd serve`: reads the bundle and the token file, then runs the service (`icd-serve`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::predict::load_bundle;

#[derive(Args)]
pub struct ServeArgs {
    /// Bundle folder (manifest.json, model.gguf, tokenizer.json)
    #[arg(long, env = "ICD_BUNDLE")]
    bundle: PathBuf,
    /// Address to listen on. Loopback by default: put a reverse proxy with TLS in front for
    /// anything else, and set --token-file
    #[arg(long, default_value = "127.0.0.1:8088")]
    addr: SocketAddr,
    /// A file holding the bearer token every route but /healthz then requires
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Largest request body, bytes (413 above it)
    #[arg(long, default_value_t = 16 << 20)]
    max_body_bytes: usize,
    /// Longest note, bytes (413 for /v1/code, a line error in a batch)
    #[arg(long, default_value_t = icd_core::coder::MAX_NOTE_BYTES)]
    max_note_bytes: usize,
    /// Notes coded at once (default: the CPU cores)
    #[arg(long)]
    workers: Option<usize>,
    /// Requests that may wait for a worker; more get 503 with Retry-After
    #[arg(long, default_value_t = 64)]
    queue: usize,
    /// Seconds one note may take (504, or a line error in a batch)
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
}

pub fn serve(args: ServeArgs, table_path: &std::path::Path) -> Result<()> {
    icd_console::init_logging("info");
    let coder = load_bundle(&args.bundle, crate::predict::KernelArg::Auto)?;
    // As `icd predict`: with the code table, the model's codes are fused with the table's.
    let table = if table_path.exists() {
        Some(crate::load_table(table_path)?)
    } else {
        tracing::warn!(table = %table_path.display(), "no code table: answers carry the model's labels only, without HCCs, rule messages or specificity options");
        None
    };
    let token = match &args.token_file {
        None => None,
        Some(p) => {
            let t = std::fs::read_to_string(p).with_context(|| format!("reading the token file {}", p.display()))?.trim().to_string();
            if t.len() < 16 {
                bail!("{}: the token has {} characters; use at least 16", p.display(), t.len());
            }
            Some(t)
        }
    };
    if token.is_none() && !args.addr.ip().is_loopback() {
        tracing::warn!(addr = %args.addr, "listening beyond loopback without --token-file: anyone who reaches this port can code notes");
    }
    if !args.timeout.is_finite() || args.timeout <= 0.0 {
        bail!("--timeout {}: must be a positive number of seconds", args.timeout);
    }
    let defaults = icd_serve::Config::default();
    let config = icd_serve::Config {
        max_body_bytes: args.max_body_bytes,
        max_note_bytes: args.max_note_bytes,
        workers: args.workers.unwrap_or(defaults.workers).max(1),
        queue: args.queue,
        timeout: Duration::from_secs_f64(args.timeout),
        token,
        ..defaults
    };
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr).await.with_context(|| format!("listening on {}", args.addr))?;
        // The bound address on stdout (with --addr 127.0.0.1:0 the port is chosen here).
        println!("icd serve: listening on http://{}", listener.local_addr()?);
        icd_serve::serve(listener, icd_serve::AppState::with_table(coder, config, table)).await.context("serving")
    })
}
