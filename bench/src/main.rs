//! `icd-bench`: prints timings; numbers go to BENCHMARKS.md with the command and machine.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use icd_core::bundle::Manifest;
use icd_core::{CodeTable, Coder, Int8Kernel, SearchIndex};

mod fusion;

#[derive(Parser)]
#[command(name = "icd-bench", about = "Benchmarks (print numbers; no assertions)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Code-table load, search-index build and query latency
    Codes {
        #[arg(long, default_value = "artifacts/icd10cm.table")]
        table: std::path::PathBuf,
        #[arg(long, default_value_t = 20)]
        repeats: usize,
    },
    /// `icd serve` under load over loopback: notes/s and p50/p99 latency per client count and
    /// note length, beside coding the same notes in-process on all cores (what `icd predict`
    /// does); then a burst against a small queue (503s, every request answered)
    Serve {
        #[arg(long)]
        bundle: PathBuf,
        #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
        clients: Vec<usize>,
        #[arg(long, value_delimiter = ',', default_value = "128,512")]
        tokens: Vec<usize>,
        /// Requests per (clients, tokens) cell
        #[arg(long, default_value_t = 48)]
        requests: usize,
        /// The `icd` binary, to time `icd predict --input` on the same notes as a second anchor
        #[arg(long)]
        icd: Option<PathBuf>,
    },
    /// The model's codes against the code table's (`candidates::Weights`): a grid of weights
    /// scored on hand-written charts with acceptable first-listed codes; per-chart ranks on
    /// stderr
    Fusion {
        #[arg(long, default_value = "bundles/default-recipe")]
        bundle: PathBuf,
        #[arg(long, default_value = "artifacts/icd10cm.table")]
        table: PathBuf,
        /// JSONL charts: id, text, code, and optionally accept and codes (`data/eval/`)
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Grid settings printed, best first
        #[arg(long, default_value_t = 12)]
        show: usize,
    },
    /// ms per note at 128/256/512 tokens: f32 checkpoint vs int8 bundle, 1 and 2 threads
    Predict {
        /// Bundle folder
        #[arg(long)]
        bundle: PathBuf,
        /// f32 checkpoint to compare with (default: the manifest's source checkpoint, if present)
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        #[arg(long, value_delimiter = ',', default_value = "1,2")]
        threads: Vec<usize>,
        #[arg(long, value_delimiter = ',', default_value = "128,256,512")]
        tokens: Vec<usize>,
        #[arg(long, default_value_t = 10)]
        repeats: usize,
        /// Internal: run the measurements in this process (the thread count is fixed per process)
        #[arg(long, hide = true)]
        worker: bool,
    },
}

fn median_ms(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Predict { bundle, checkpoint, threads, tokens, repeats, worker } => {
            if worker {
                return predict_worker(&bundle, checkpoint.as_deref(), &tokens, repeats);
            }
            // candle's CPU kernels size their pool once per process: one child per thread count.
            let exe = std::env::current_exe()?;
            println!("ms/note (median of {repeats}), one note = one chunk, scores only (no evidence)");
            for t in threads {
                println!("-- {t} thread(s)");
                let mut cmd = std::process::Command::new(&exe);
                cmd.args(["predict", "--worker", "--repeats", &repeats.to_string(), "--bundle"]).arg(&bundle);
                cmd.arg("--tokens").arg(tokens.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(","));
                if let Some(c) = &checkpoint {
                    cmd.arg("--checkpoint").arg(c);
                }
                let status = cmd.env("RAYON_NUM_THREADS", t.to_string()).status()?;
                if !status.success() {
                    bail!("benchmark worker with {t} thread(s) failed");
                }
            }
            Ok(())
        }
        Command::Fusion { bundle, table, inputs, show } => fusion::run(&bundle, &table, &inputs, show),
        Command::Serve { bundle, clients, tokens, requests, icd } => serve_load(&bundle, &clients, &tokens, requests, icd.as_deref()),
        Command::Codes { table, repeats } => {
            let bytes = std::fs::read(&table).with_context(|| format!("reading {} (run scripts/setup.sh)", table.display()))?;
            let mut load = Vec::new();
            let mut build = Vec::new();
            let mut t = None;
            let mut idx = None;
            for _ in 0..repeats.max(1) {
                let s = Instant::now();
                let tb = CodeTable::from_bytes(&bytes)?;
                load.push(s.elapsed().as_secs_f64() * 1e3);
                let s = Instant::now();
                let ix = SearchIndex::build(&tb);
                build.push(s.elapsed().as_secs_f64() * 1e3);
                t = Some(tb);
                idx = Some(ix);
            }
            let (t, idx) = (t.unwrap(), idx.unwrap());
            println!("table: {} bytes, {} codes", bytes.len(), t.len());
            println!("load (median of {repeats}): {:.1} ms", median_ms(load));
            println!("index build (median): {:.1} ms", median_ms(build));
            for q in ["asthma", "type 2 diabetes with hyperglycemia", "fracture femur", "J45.9"] {
                let mut times = Vec::new();
                for _ in 0..repeats.max(1) {
                    let s = Instant::now();
                    std::hint::black_box(idx.search(&t, q, 25));
                    times.push(s.elapsed().as_secs_f64() * 1e3);
                }
                println!("search {q:?} (median): {:.2} ms", median_ms(times));
            }
            // The note's statements matched against every billable title (what the page's code
            // table worker does per note): the browser bench's note (no headers: every sentence
            // is a statement) and a sectioned one.
            let plain = "Patient presents with chronic cough and shortness of breath, worse at night, with wheezing on exam. ".repeat(6);
            let sectioned = "CHIEF COMPLAINT: Trouble emptying the bladder.\nHISTORY: Hypertension, type 2 diabetes, hyperlipidemia.\n\
                ASSESSMENT: 1. BPH with LUTS. 2. Type 2 diabetes with hyperglycemia. 3. Essential hypertension.\nPLAN: Tamsulosin.";
            for (name, note) in [("6 sentences, no headers", plain.as_str()), ("sectioned, 3 diagnoses", sectioned)] {
                let mut times = Vec::new();
                for _ in 0..repeats.max(1) {
                    let s = Instant::now();
                    std::hint::black_box(icd_core::candidates::propose(&t, &idx, note));
                    times.push(s.elapsed().as_secs_f64() * 1e3);
                }
                println!("match a note, {name} (median): {:.2} ms", median_ms(times));
            }
            Ok(())
        }
    }
}

fn read(p: &Path) -> Result<Vec<u8>> {
    std::fs::read(p).with_context(|| format!("reading {}", p.display()))
}

/// A clinical text cut to exactly `n` tokens (so the chunk is `n + 2` ids with [CLS]/[SEP]).
fn note_of(coder: &Coder, n: usize) -> Result<String> {
    let para = "The patient is a 67-year-old man with chronic obstructive pulmonary disease, \
        essential hypertension and type 2 diabetes mellitus who presents with three days of \
        worsening dyspnea, productive cough and wheezing. He denies fever or chest pain. ";
    let long = para.repeat(1 + n / 20);
    let enc = coder.tokenizer().encode(&long)?;
    if enc.len() < n {
        bail!("note too short");
    }
    Ok(long[..enc.offsets[n - 1].1].to_string())
}

fn predict_worker(bundle: &Path, checkpoint: Option<&Path>, tokens: &[usize], repeats: usize) -> Result<()> {
    let manifest_json = read(&bundle.join("manifest.json"))?;
    let manifest = Manifest::from_json(&manifest_json)?;
    let files: HashMap<String, Vec<u8>> = manifest.files.keys().map(|n| Ok((n.clone(), read(&bundle.join(n))?))).collect::<Result<_>>()?;
    let mut coders: Vec<(&str, Coder)> = vec![
        ("int8 (dequantized at load)", Coder::from_bundle_with(&manifest_json, &files, Int8Kernel::Dequantized)?),
        ("int8 (candle QMatMul)", Coder::from_bundle_with(&manifest_json, &files, Int8Kernel::CandleQMatMul)?),
        ("int8 (our i8 gemm)", Coder::from_bundle_with(&manifest_json, &files, Int8Kernel::I8Gemm)?),
    ];
    let ck = checkpoint.map(Path::to_path_buf).or_else(|| manifest.source.as_ref().map(|s| PathBuf::from(&s.checkpoint)));
    match ck {
        Some(ck) if ck.join("model.safetensors").exists() => {
            let f32 = Coder::from_checkpoint(&read(&ck.join("config.json"))?, &read(&ck.join("model.safetensors"))?, &read(&ck.join("tokenizer.json"))?)?;
            coders.insert(0, ("f32 checkpoint", f32));
        }
        _ => println!("(no f32 checkpoint found: pass --checkpoint to compare)"),
    }
    let max = coders[0].1.model().config().icd.max_length;
    for &n in tokens {
        let n = n.min(max) - 2;
        let text = note_of(&coders[0].1, n)?;
        let mut line = format!("{:>4} tokens:", n + 2);
        for (name, c) in &coders {
            c.scores(&text)?; // warm-up
            let mut times = Vec::with_capacity(repeats);
            for _ in 0..repeats.max(1) {
                let s = Instant::now();
                std::hint::black_box(c.scores(&text)?);
                times.push(s.elapsed().as_secs_f64() * 1e3);
            }
            line += &format!("  {name} {:.1}", median_ms(times));
        }
        println!("{line}");
    }
    Ok(())
}

fn load_coder(bundle: &Path) -> Result<Coder> {
    let manifest_json = read(&bundle.join("manifest.json"))?;
    let manifest = Manifest::from_json(&manifest_json)?;
    let files: HashMap<String, Vec<u8>> = manifest.files.keys().map(|n| Ok((n.clone(), read(&bundle.join(n))?))).collect::<Result<_>>()?;
    Ok(Coder::from_bundle(&manifest_json, &files)?)
}

/// Peak resident memory of this process so far (Linux), MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// `n` requests from `clients` threads; (wall seconds, sorted latencies in ms, status counts).
fn hammer(url: &str, body: &str, clients: usize, n: usize) -> (f64, Vec<f64>, HashMap<u16, usize>) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let t0 = Instant::now();
    let results: Vec<(f64, u16)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                s.spawn(|| {
                    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
                    let mut out = Vec::new();
                    while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                        let t = Instant::now();
                        let status = match agent.post(url).send(body) {
                            Ok(mut r) => {
                                let _ = r.body_mut().read_to_string();
                                r.status().as_u16()
                            }
                            Err(_) => 0, // no answer at all
                        };
                        out.push((t.elapsed().as_secs_f64() * 1e3, status));
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("client thread")).collect()
    });
    let wall = t0.elapsed().as_secs_f64();
    let mut lat: Vec<f64> = results.iter().map(|r| r.0).collect();
    lat.sort_by(f64::total_cmp);
    let mut statuses = HashMap::new();
    for (_, s) in &results {
        *statuses.entry(*s).or_default() += 1;
    }
    (wall, lat, statuses)
}

fn start_server(coder: Coder, config: icd_serve::Config) -> Result<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            icd_serve::serve(listener, icd_serve::AppState::new(coder, config)).await.expect("serve");
        });
    });
    Ok(format!("http://{}", rx.recv()?))
}

fn serve_load(bundle: &Path, clients: &[usize], tokens: &[usize], requests: usize, icd: Option<&Path>) -> Result<()> {
    use rayon::prelude::*;
    let probe = load_coder(bundle)?;
    let config = icd_serve::Config::default();
    println!("icd serve on loopback, {} workers, queue {}; {requests} requests per cell, no evidence, top 10", config.workers, config.queue);
    let base = start_server(load_coder(bundle)?, config)?;
    let url = format!("{base}/v1/code");
    println!("{:>7} {:>8} {:>9} {:>9} {:>9} {:>10}", "tokens", "clients", "notes/s", "p50 ms", "p99 ms", "statuses");
    for &n in tokens {
        let text = note_of(&probe, n)?;
        let body = serde_json::json!({"text": text, "evidence": false, "top_k": 10}).to_string();
        hammer(&url, &body, 1, 2); // warm-up
        for &c in clients {
            let (wall, lat, statuses) = hammer(&url, &body, c, requests);
            let pct = |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1];
            println!("{:>7} {c:>8} {:>9.1} {:>9.1} {:>9.1} {:>10}", n + 2, requests as f64 / wall, pct(0.5), pct(0.99), format!("{statuses:?}"));
        }
        // The anchor: the same notes coded in this process on all cores, as `icd predict` does.
        let t0 = Instant::now();
        (0..requests).into_par_iter().try_for_each(|_| probe.code_with(&text, 10, false).map(|_| ()))?;
        println!("{:>7} {:>8} {:>9.1}   (in-process, rayon on all cores: the icd predict anchor)", n + 2, "-", requests as f64 / t0.elapsed().as_secs_f64());
        if let Some(icd) = icd {
            // The binary itself, loading the bundle included, on the same notes.
            let dir = std::env::temp_dir().join(format!("icd-bench-serve-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            let input = dir.join("notes.jsonl");
            let lines: String = (0..requests).map(|i| format!("{}\n", serde_json::json!({"id": i, "text": text}))).collect();
            std::fs::write(&input, lines)?;
            let t0 = Instant::now();
            let o = std::process::Command::new(icd)
                .args(["predict", "--format", "jsonl", "--no-evidence", "--top-k", "10", "--bundle"])
                .arg(bundle)
                .arg("--input")
                .arg(&input)
                .output()?;
            if !o.status.success() {
                bail!("icd predict failed: {}", String::from_utf8_lossy(&o.stderr));
            }
            println!(
                "{:>7} {:>8} {:>9.1}   (`icd predict --input`, {requests} notes, bundle load included)",
                n + 2,
                "-",
                requests as f64 / t0.elapsed().as_secs_f64()
            );
            std::fs::remove_dir_all(&dir)?;
        }
    }
    println!("peak memory of this process (server + clients + anchor): {:.0} MB", peak_rss_mb());

    // A burst beyond the queue: 1 worker, queue 4, 32 clients. Every request must be answered.
    let small = icd_serve::Config { workers: 1, queue: 4, ..icd_serve::Config::default() };
    let base = start_server(load_coder(bundle)?, small)?;
    let text = note_of(&probe, 128)?;
    let body = serde_json::json!({"text": text, "evidence": false}).to_string();
    let (wall, _, statuses) = hammer(&format!("{base}/v1/code"), &body, 32, 320);
    println!("burst: 32 clients, 320 requests, 1 worker + queue 4: {statuses:?} in {wall:.1} s (0 = no answer)");
    Ok(())
}
