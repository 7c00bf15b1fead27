//! `icd predict` and `icd eval`: a verified bundle, notes in, codes out.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use icd_core::assertion::Assertion;
use icd_core::bundle::{Manifest, MANIFEST_FILE};
use icd_core::coder::{check_note, NoteError};
use icd_core::dataset::parse_jsonl;
use icd_core::evaluate::{eval_report, eval_truth};
use icd_core::rules::Severity;
use icd_core::schema::prediction::Source as PredSource;
use icd_core::{candidates, export, fhir, CodedLabel, Coder, Int8Kernel, NotePrediction, SearchIndex};
use indicatif::{ProgressBar, ProgressDrawTarget};
use rayon::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Readable list per note
    Text,
    /// One JSON array of all notes
    Json,
    /// One JSON object per note, input order
    Jsonl,
    /// id,rank,code,description,score,evidence,undocumented,score_from,source
    Csv,
    /// FHIR R4 Bundle (collection) of Condition resources
    Fhir,
}

#[derive(Args)]
pub struct PredictArgs {
    /// Bundle folder (manifest.json, model.gguf, tokenizer.json)
    #[arg(long, env = "ICD_BUNDLE")]
    bundle: PathBuf,
    /// The note text
    #[arg(long, conflicts_with_all = ["file", "input"])]
    text: Option<String>,
    /// A text file with one note (without --text/--input/FILE the note is read from stdin)
    #[arg(conflicts_with = "input")]
    file: Option<PathBuf>,
    /// JSONL notes, one `{"id": .., "text": ..}` per line (other fields ignored); `-` = stdin
    #[arg(long)]
    input: Option<PathBuf>,
    /// How many codes per note
    #[arg(long, default_value_t = 5)]
    top_k: usize,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Skip evidence (faster: the cls head's evidence re-scores the note once per sentence)
    #[arg(long)]
    no_evidence: bool,
    /// Only the model's labels: no codes from matching the note's diagnostic statements
    /// against the whole code table, no specificity options
    #[arg(long)]
    model_only: bool,
    /// Refuse notes longer than this many bytes (a bad line in JSONL input); time and memory
    /// grow with a note's length
    #[arg(long, default_value_t = icd_core::coder::MAX_NOTE_BYTES)]
    max_note_bytes: usize,
    /// Reject a JSONL line whose id repeats an earlier line's (default: warn and code it;
    /// with --shard, within the shard)
    #[arg(long)]
    strict: bool,
    /// Write the output to this file (complete or absent: it is written as FILE.partial and
    /// renamed at the end) instead of standard output
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Code only the K-th of N contiguous shares of --input's lines (K from 0): N processes
    /// or machines (a Kubernetes Indexed Job) code a file together; their outputs,
    /// concatenated in K order, are one run's
    #[arg(long, value_name = "K/N", value_parser = parse_shard, requires = "input")]
    shard: Option<Shard>,
    /// The int8 arithmetic: auto (the integer GEMM on x86-64 with AVX2, else f32 on the
    /// widened weights), i8gemm (the browser's default), relaxed (the browser's with wasm
    /// relaxed SIMD: 8-bit weights x 7-bit activations), dequantized (f32 on the int8 weights)
    #[arg(long, value_enum, default_value_t = KernelArg::Auto)]
    int8_kernel: KernelArg,
}

/// `--int8-kernel`: which `Int8Kernel` runs the bundle's int8 layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KernelArg {
    Auto,
    I8gemm,
    Relaxed,
    Dequantized,
}

impl KernelArg {
    fn kernel(self) -> Int8Kernel {
        match self {
            Self::Auto => Int8Kernel::default(),
            Self::I8gemm => Int8Kernel::I8Gemm,
            Self::Relaxed => Int8Kernel::Relaxed,
            Self::Dequantized => Int8Kernel::Dequantized,
        }
    }
}

#[derive(Args)]
pub struct EvalArgs {
    /// Bundle folder
    #[arg(long, env = "ICD_BUNDLE")]
    bundle: PathBuf,
    /// Labelled JSONL (`{"id", "text", "codes": [primary, ...]}`)
    #[arg(long)]
    data: PathBuf,
    /// Only the first N notes
    #[arg(long)]
    limit: Option<usize>,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
    /// The int8 arithmetic: auto (the integer GEMM on x86-64 with AVX2, else f32 on the
    /// widened weights), i8gemm (the browser's default), relaxed (the browser's with wasm
    /// relaxed SIMD: 8-bit weights x 7-bit activations), dequantized (f32 on the int8 weights)
    #[arg(long, value_enum, default_value_t = KernelArg::Auto)]
    int8_kernel: KernelArg,
}

/// Reads and verifies a bundle folder: every file the manifest lists, sha256 checked.
pub fn load_bundle(dir: &Path, kernel: KernelArg) -> Result<Coder> {
    let mpath = dir.join(MANIFEST_FILE);
    let manifest_json = std::fs::read(&mpath).with_context(|| format!("reading {}", mpath.display()))?;
    let manifest = Manifest::from_json(&manifest_json).with_context(|| format!("{}", mpath.display()))?;
    let mut files = HashMap::new();
    for name in manifest.files.keys() {
        // Names come from the manifest: refuse paths that leave the folder.
        if name.contains('/') || name.contains('\\') || name.starts_with('.') {
            bail!("{}: file name {name:?} is not a plain file name", mpath.display());
        }
        let p = dir.join(name);
        files.insert(name.clone(), std::fs::read(&p).with_context(|| format!("reading bundle file {}", p.display()))?);
    }
    Coder::from_bundle_with(&manifest_json, &files, kernel.kernel()).with_context(|| format!("refusing the bundle {}", dir.display()))
}

/// One note to code: its id (as given: string or number) and text.
struct Note {
    id: Value,
    text: String,
}

#[derive(Deserialize)]
struct InputLine {
    id: Value,
    text: String,
}

/// A progress bar on stderr when it is a terminal; `len` when the count is known.
fn progress(len: Option<usize>, what: &str) -> ProgressBar {
    let bar = match len {
        Some(n) => icd_console::bar(n as u64, what),
        None => icd_console::counter(what),
    };
    if len.is_some_and(|n| n < 2) {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

/// Notes coded per parallel batch: the output is written batch by batch, so memory holds one
/// batch of notes and codes, however long the input.
const BATCH: usize = 256;

/// Where the notes come from: one note (`--text`, FILE, stdin) or JSONL lines, read as a stream.
enum Source {
    One(Option<Note>),
    Jsonl {
        name: String,
        lines: std::io::Split<Box<dyn BufRead>>,
        line_no: usize,
        seen: HashMap<String, usize>,
        /// The lines (1-based, end excluded) this process codes (`--shard`); others are skipped.
        range: (usize, usize),
    },
}

/// Input problems met while reading: reported on stderr with their line, never fatal.
#[derive(Default)]
struct Rejections {
    bad_lines: usize,
}

impl Source {
    fn open(args: &PredictArgs) -> Result<Self> {
        let one = |id: Value, text: String, what: &str| -> Result<Self> {
            check_text(&text, args.max_note_bytes).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
            Ok(Source::One(Some(Note { id, text })))
        };
        if let Some(text) = &args.text {
            return one(json!("text"), text.clone(), "--text");
        }
        if let Some(path) = &args.file {
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let text = String::from_utf8(bytes).map_err(|e| anyhow::anyhow!("{}: not valid UTF-8 (byte {})", path.display(), e.utf8_error().valid_up_to()))?;
            return one(json!(path.display().to_string()), text, &path.display().to_string());
        }
        let Some(input) = &args.input else {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes).context("reading the note from stdin")?;
            let text = String::from_utf8(bytes).map_err(|e| anyhow::anyhow!("stdin: not valid UTF-8 (byte {})", e.utf8_error().valid_up_to()))?;
            return one(json!("stdin"), text, "stdin");
        };
        let (name, reader): (String, Box<dyn BufRead>) = if input.as_os_str() == "-" {
            ("stdin".into(), Box::new(BufReader::new(std::io::stdin())))
        } else {
            let f = std::fs::File::open(input).with_context(|| format!("reading {}", input.display()))?;
            (input.display().to_string(), Box::new(BufReader::new(f)))
        };
        let range = match args.shard {
            None => (1, usize::MAX),
            Some(Shard { index, count }) => {
                if input.as_os_str() == "-" {
                    bail!("--shard needs a file (--input FILE): the lines are counted before coding");
                }
                let lines = count_lines(input)?;
                (index * lines / count + 1, (index + 1) * lines / count + 1)
            }
        };
        Ok(Source::Jsonl { name, lines: reader.split(b'\n'), line_no: 0, seen: HashMap::new(), range })
    }

    /// Up to `n` notes; bad lines are reported and counted in `rej`, then skipped.
    fn next_batch(&mut self, n: usize, strict: bool, max_bytes: usize, rej: &mut Rejections) -> Result<Vec<Note>> {
        let mut out = Vec::new();
        match self {
            Source::One(note) => out.extend(note.take()),
            Source::Jsonl { name, lines, line_no, seen, range } => {
                while out.len() < n && *line_no + 1 < range.1 {
                    let Some(line) = lines.next() else { break };
                    let line = line.with_context(|| format!("reading {name}"))?;
                    *line_no += 1;
                    if *line_no < range.0 {
                        continue;
                    }
                    match parse_line(&line, max_bytes) {
                        Ok(None) => {}
                        Ok(Some(note)) => {
                            let key = note.id.to_string();
                            if let Some(first) = seen.get(&key) {
                                if strict {
                                    eprintln!("{name}: line {line_no}: skipped: id {key} repeats line {first} (--strict)");
                                    rej.bad_lines += 1;
                                    continue;
                                }
                                eprintln!("{name}: line {line_no}: warning: id {key} repeats line {first}; coded again (--strict rejects it)");
                            } else {
                                seen.insert(key, *line_no);
                            }
                            out.push(note);
                        }
                        Err(e) => {
                            eprintln!("{name}: line {line_no}: skipped: {e}");
                            rej.bad_lines += 1;
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

/// `--shard K/N`: this process codes the K-th of N contiguous shares of the input's lines
/// (K from 0), so the outputs of K = 0..N, concatenated in order, are one run's output.
#[derive(Debug, Clone, Copy)]
pub struct Shard {
    index: usize,
    count: usize,
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    let (k, n) = s.split_once('/').ok_or_else(|| format!("{s:?}: expected K/N, e.g. 0/4"))?;
    let (index, count): (usize, usize) = (k.trim().parse().map_err(|e| format!("{k:?}: {e}"))?, n.trim().parse().map_err(|e| format!("{n:?}: {e}"))?);
    if count == 0 || index >= count {
        return Err(format!("{s:?}: K must be 0 to N-1 and N at least 1"));
    }
    Ok(Shard { index, count })
}

/// Lines of a file, as `split(b'\n')` yields them (a last line without a newline counts).
fn count_lines(path: &Path) -> Result<usize> {
    let mut r = BufReader::new(std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?);
    let (mut lines, mut last) = (0, b'\n');
    loop {
        let buf = r.fill_buf().with_context(|| format!("reading {}", path.display()))?;
        if buf.is_empty() {
            break;
        }
        lines += buf.iter().filter(|&&b| b == b'\n').count();
        last = *buf.last().expect("non-empty");
        let n = buf.len();
        r.consume(n);
    }
    Ok(lines + usize::from(last != b'\n'))
}

/// A JSONL line: `Ok(None)` for a blank line, `Err` says what is wrong with it.
fn parse_line(line: &[u8], max_bytes: usize) -> Result<Option<Note>, String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = std::str::from_utf8(line).map_err(|e| format!("not valid UTF-8 (byte {} of the line)", e.valid_up_to() + 1))?;
    if line.trim().is_empty() {
        return Ok(None);
    }
    let l: InputLine = serde_json::from_str(line).map_err(|e| e.to_string())?;
    check_text(&l.text, max_bytes).map_err(|e| format!("field `text`: {e}"))?;
    Ok(Some(Note { id: l.id, text: l.text }))
}

/// [`check_note`], naming the flag that sets the limit.
fn check_text(text: &str, max_bytes: usize) -> Result<(), String> {
    check_note(text, max_bytes).map_err(|e| match e {
        NoteError::Empty => e.to_string(),
        NoteError::TooLong { .. } => format!("{e} (--max-note-bytes)"),
    })
}

/// Codes the notes and writes the output; returns how many input lines or notes were
/// skipped (reported on stderr), so `main` can exit with status 2 when that is not zero.
pub fn predict(args: PredictArgs, table_path: &Path) -> Result<usize> {
    let coder = load_bundle(&args.bundle, args.int8_kernel)?;
    // The code table adds each suggestion's HCC and rule messages; without one, say so.
    let table = if table_path.exists() {
        let t = crate::load_table(table_path)?;
        let idx = SearchIndex::build(&t);
        Some((t, idx))
    } else {
        eprintln!(
            "note: no code table at {}: suggestions come from the model's labels only and carry no HCC, rule messages or specificity options (scripts/setup.sh builds it; or --table)",
            table_path.display()
        );
        None
    };
    let mut source = Source::open(&args)?;
    let mut rej = Rejections::default();
    // --output: written to FILE.partial and renamed at the end, so a run that dies (a killed
    // pod) never leaves a file that looks complete.
    let partial = args.output.as_ref().map(|p| PathBuf::from(format!("{}.partial", p.display())));
    let mut out: std::io::BufWriter<Box<dyn Write>> = std::io::BufWriter::new(match &partial {
        Some(p) => Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?),
        None => Box::new(std::io::stdout().lock()),
    });
    let mut sink = Sink::new(args.format, args.input.is_some());
    let bar = progress(args.input.is_none().then_some(1), "coding");
    let (mut coded, mut failed) = (0, 0);
    loop {
        let notes = source.next_batch(BATCH, args.strict, args.max_note_bytes, &mut rej)?;
        if notes.is_empty() {
            break;
        }
        // One shared model; rayon keeps the input order in the collected results.
        let results: Vec<Result<(Vec<CodedLabel>, bool), String>> = notes
            .par_iter()
            .map(|n| {
                // Fusion ranks the model's first MODEL_POOL codes with the table's, then keeps top_k.
                let pool = if table.is_some() && !args.model_only { args.top_k.max(candidates::MODEL_POOL) } else { args.top_k };
                let r = coder.code_with(&n.text, pool, !args.no_evidence).map_err(|e| e.to_string()).map(|model| {
                    let fused = match &table {
                        Some((t, idx)) if !args.model_only => candidates::fuse_note(t, idx, &n.text, model, args.top_k),
                        _ => candidates::Fused::model_only(model),
                    };
                    (fused.codes, fused.low_confidence)
                });
                let r = r.map(|(mut coded, low)| {
                    if let Some((t, _)) = &table {
                        icd_core::coder::annotate(t, &mut coded);
                    }
                    (coded, low)
                });
                bar.inc(1);
                r
            })
            .collect();
        let mut ok: Vec<(&Note, NotePrediction)> = Vec::with_capacity(notes.len());
        for (n, r) in notes.iter().zip(results) {
            match r {
                Ok((p, low_confidence)) => ok.push((n, NotePrediction { id: n.id.clone(), predictions: p, low_confidence, error: None })),
                Err(e) => {
                    eprintln!("note {}: skipped: {e}", n.id);
                    failed += 1;
                }
            }
        }
        coded += ok.len();
        sink.write(&mut out, &ok, &coder)?;
        out.flush()?;
    }
    bar.finish_and_clear();
    sink.finish(&mut out, &coder)?;
    out.flush()?;
    drop(out);
    if let (Some(tmp), Some(dest)) = (&partial, &args.output) {
        std::fs::rename(tmp, dest).with_context(|| format!("renaming {} to {}", tmp.display(), dest.display()))?;
    }
    let bad_lines = rej.bad_lines;
    if args.input.is_some() || bad_lines + failed > 0 {
        eprintln!("coded {coded} note(s); skipped {bad_lines} bad input line(s) and {failed} note(s) that failed");
    }
    Ok(bad_lines + failed)
}

/// Writes each batch as it is coded (jsonl, csv, text); json and fhir are one document, so
/// they hold every note's codes (not its text) until the end.
struct Sink {
    format: Format,
    /// Text output names each note when the input is a JSONL file.
    many: bool,
    header_written: bool,
    held: Vec<NotePrediction>,
}

impl Sink {
    fn new(format: Format, many: bool) -> Self {
        Self { format, many, header_written: false, held: Vec::new() }
    }

    fn write(&mut self, out: &mut impl Write, ok: &[(&Note, NotePrediction)], _coder: &Coder) -> Result<()> {
        match self.format {
            Format::Jsonl => {
                for (_, p) in ok {
                    writeln!(out, "{}", export::jsonl_line(p))?;
                }
            }
            Format::Json | Format::Fhir => self.held.extend(ok.iter().map(|(_, p)| p.clone())),
            Format::Csv => {
                let notes: Vec<NotePrediction> = ok.iter().map(|(_, p)| p.clone()).collect();
                out.write_all(export::csv_document(&notes, !self.header_written).as_bytes())?;
                self.header_written = true;
            }
            Format::Text => {
                for (n, note) in ok {
                    if self.many {
                        writeln!(out, "== {} ==", export::id_text(&n.id))?;
                    }
                    if note.low_confidence {
                        writeln!(out, "low confidence: no code below is confidently documented (not among what the model and the code table know)")?;
                    }
                    for (rank, p) in note.predictions.iter().enumerate() {
                        let from = match p.source {
                            PredSource::Model => "",
                            PredSource::Table => "  [code table]",
                            PredSource::Both => "  [model + code table]",
                        };
                        writeln!(out, "{:>2}. {:<9} {:.3}  {}{from}", rank + 1, p.code, p.score, p.description)?;
                        if let Some(s) = &p.specificity {
                            let opts: Vec<&str> = s.options.iter().take(8).map(|o| o.code.as_str()).collect();
                            let more = if s.options.len() > 8 { format!(" (+{} more)", s.options.len() - 8) } else { String::new() };
                            writeln!(
                                out,
                                "      more specific: {} decide{}: {}{more}",
                                s.facts.join(", "),
                                if s.facts.len() == 1 { "s" } else { "" },
                                opts.join(" ")
                            )?;
                        }
                        if let (Some(from), Some(own)) = (&p.score_from, p.model_score) {
                            writeln!(out, "      score of {from}, whose fact the note does not document (own score {own:.3})")?;
                        }
                        if !p.undocumented.is_empty() {
                            writeln!(out, "      not documented: {} (ranked below the code without it)", p.undocumented.join(", "))?;
                        }
                        if let Some(a) = p.demoted {
                            writeln!(out, "      ranked down: every piece of evidence is {} in the note", a.name())?;
                        }
                        if !p.hcc.is_empty() {
                            let hcc: Vec<String> = p.hcc.iter().map(|f| format!("{} {} ({})", f.version, f.hcc, f.label)).collect();
                            writeln!(out, "      HCC: {}", hcc.join("; "))?;
                        }
                        if !p.evidence.is_empty() {
                            let ev: Vec<String> = p
                                .evidence
                                .iter()
                                .map(|e| match e.assertion {
                                    Assertion::Present => format!("\"{}\" ({:.2})", e.text, e.weight),
                                    a => format!("\"{}\" ({:.2}, {})", e.text, e.weight, a.name()),
                                })
                                .collect();
                            writeln!(out, "      evidence: {}", ev.join(", "))?;
                        }
                        for m in p.rules.iter().filter(|m| m.severity != Severity::Info) {
                            writeln!(out, "      {}: {}", if m.severity == Severity::Error { "error" } else { "warning" }, m.text)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut impl Write, coder: &Coder) -> Result<()> {
        match self.format {
            Format::Json => writeln!(out, "{}", export::json_document(&self.held))?,
            Format::Fhir => writeln!(out, "{}", serde_json::to_string_pretty(&fhir_bundle(&self.held, coder))?)?,
            Format::Csv if !self.header_written => out.write_all(export::csv_document(&[], true).as_bytes())?,
            _ => {}
        }
        Ok(())
    }
}

/// FHIR R4 Bundle (type collection) of provisional Conditions ([`icd_core::fhir`]).
fn fhir_bundle(ok: &[NotePrediction], coder: &Coder) -> Value {
    let model = coder.manifest().map(|m| m.name.clone()).unwrap_or_default();
    let notes: Vec<fhir::FhirNote> = ok
        .iter()
        .map(|n| {
            let key = export::id_text(&n.id);
            fhir::FhirNote { subject: fhir::note_subject(&key), key, document: None, predictions: &n.predictions }
        })
        .collect();
    fhir::conditions_bundle(&notes, &model)
}

pub fn eval(args: EvalArgs) -> Result<()> {
    let coder = load_bundle(&args.bundle, args.int8_kernel)?;
    let text = std::fs::read_to_string(&args.data).with_context(|| format!("reading {}", args.data.display()))?;
    let name = args.data.display().to_string();
    let mut records = parse_jsonl(&text, &name)?;
    if let Some(n) = args.limit {
        records.truncate(n);
    }
    let truth = eval_truth(coder.labels(), &records);
    if !truth.skipped.is_empty() {
        eprintln!(
            "{name}: {} of {} notes left out: their primary code is not one of the model's {} labels",
            truth.skipped.len(),
            records.len(),
            coder.labels().len()
        );
    }
    if truth.used.is_empty() {
        bail!("{name}: no note to score");
    }
    let bar = progress(Some(truth.used.len()), "scoring");
    let scores: Vec<Vec<f32>> = truth
        .used
        .par_iter()
        .map(|&i| {
            let s = coder.scores(&records[i].text).with_context(|| format!("{name}: note {:?}", records[i].id));
            bar.inc(1);
            s
        })
        .collect::<Result<_>>()?;
    bar.finish_and_clear();
    let icd = &coder.model().config().icd;
    let threshold = (icd.objective == icd_core::model::Objective::Sigmoid).then_some(icd.threshold);
    let report = eval_report(coder.labels().len(), &truth, &scores, threshold);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let m = &report.multiclass;
    println!("{name}: {} notes", m.n);
    println!("accuracy (primary code)  {:.2} %", m.accuracy * 100.0);
    println!("top-5 accuracy           {:.2} %", m.top5_accuracy * 100.0);
    println!("macro P / R / F1         {:.2} / {:.2} / {:.2} %", m.macro_precision * 100.0, m.macro_recall * 100.0, m.macro_f1 * 100.0);
    println!("weighted F1              {:.2} %", m.weighted_f1 * 100.0);
    if let Some(ml) = &report.multilabel {
        println!(
            "all codes @ {:.2}: micro P / R / F1 {:.2} / {:.2} / {:.2} %, macro F1 {:.2} %, P@5 {:.2} %",
            ml.threshold,
            ml.micro_precision * 100.0,
            ml.micro_recall * 100.0,
            ml.micro_f1 * 100.0,
            ml.macro_f1 * 100.0,
            ml.precision_at_5 * 100.0
        );
    }
    Ok(())
}
