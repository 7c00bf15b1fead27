//! `icd`: the native command: code notes with a model bundle (`predict`), serve them over
//! HTTP (`serve`), score a bundle on a test set (`eval`), check a list of codes against the coding
//! rules (`check`), and search the ICD-10-CM table (`codes`).
#![forbid(unsafe_code)]

mod check;
mod predict;
mod serve;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use icd_core::{CodeTable, SearchIndex};

#[derive(Parser)]
#[command(name = "icd", version, about = "Private ICD-10-CM coding of clinical notes")]
struct Cli {
    /// The code table built by scripts/setup.sh
    #[arg(long, global = true, env = "ICD_TABLE", default_value = "artifacts/icd10cm.table")]
    table: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Look up ICD-10-CM codes
    Codes {
        #[command(subcommand)]
        command: CodesCommand,
    },
    /// Suggest ICD-10-CM codes for notes, with the words that support them
    ///
    /// Exit status: 0 when every note was coded; 2 when bad input lines or failed notes were
    /// skipped (each reported on stderr with its line number; the other notes are written);
    /// 1 on any other error.
    Predict(predict::PredictArgs),
    /// Check a list of codes against the ICD-10-CM conventions: Excludes1/2, code first, use
    /// additional code, code also, validity, 7th character, age and sex, sequencing; with HCCs
    ///
    /// Exit status: 0 when no message is an error, 1 when one is.
    Check(check::CheckArgs),
    /// Score a bundle on a labelled JSONL test set
    Eval(predict::EvalArgs),
    /// Serve the coding API over HTTP (loopback by default): POST /v1/code, POST /v1/batch,
    /// GET /v1/model, GET /healthz, GET /metrics
    Serve(serve::ServeArgs),
    /// Show a note's sections, and which hold the diagnostic statements (chief complaint,
    /// assessment, impression, diagnoses, indication, problem list) a `diagnostic-first`
    /// model reads in a window of their own
    Sections {
        /// A text file with one note, or with --jsonl a JSONL file of {"id", "text"}; - reads standard input
        input: PathBuf,
        /// The input is JSONL: print one JSON line per note
        #[arg(long)]
        jsonl: bool,
    },
}

#[derive(Subcommand)]
enum CodesCommand {
    /// Search by words ("asthma exacerbation") or a code prefix ("J45.9")
    Search {
        query: String,
        /// How many results
        #[arg(short = 'n', long, default_value_t = 20)]
        limit: usize,
        /// Only billable codes
        #[arg(long)]
        billable: bool,
        /// Print JSON lines instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Show one code with its hierarchy and notes
    Show { code: String },
    /// The codes a note's diagnostic statements match in the whole table (what `icd predict`
    /// adds to the model's labels), each with its statement and specificity options
    Match {
        /// A text file with one note; - reads standard input
        input: PathBuf,
        /// How many codes
        #[arg(short = 'n', long, default_value_t = 10)]
        limit: usize,
    },
}

fn load_table(path: &Path) -> Result<CodeTable> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading the code table {} (build it with scripts/setup.sh, or point --table / ICD_TABLE at it)", path.display()))?;
    CodeTable::from_bytes(&bytes).with_context(|| format!("loading {}", path.display()))
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Predict(args) => {
            // Like grep: the good notes are all written, but a pipeline must see the skips.
            if predict::predict(args, &cli.table)? > 0 {
                std::process::exit(2);
            }
            Ok(())
        }
        Command::Eval(args) => predict::eval(args),
        Command::Check(args) => {
            if check::check(&load_table(&cli.table)?, &args)? {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Serve(args) => serve::serve(args, &cli.table),
        Command::Sections { input, jsonl } => sections(&input, jsonl),
        Command::Codes { command } => {
            let table = load_table(&cli.table)?;
            match command {
                CodesCommand::Search { query, limit, billable, json } => search(&table, &query, limit, billable, json),
                CodesCommand::Show { code } => show(&table, &code),
                CodesCommand::Match { input, limit } => match_note(&table, &read_input(&input)?, limit),
            }
        }
    }
}

/// A file's text, or standard input's for `-`.
fn read_input(input: &Path) -> Result<String> {
    if input == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("reading standard input")
    } else {
        std::fs::read_to_string(input).with_context(|| format!("reading {}", input.display()))
    }
}

fn match_note(table: &CodeTable, text: &str, limit: usize) -> Result<()> {
    let index = SearchIndex::build(table);
    let found = icd_core::candidates::propose(table, &index, text);
    if found.is_empty() {
        eprintln!("no diagnostic statement matches a code (at {:.2} or more)", icd_core::candidates::MIN_MATCH);
    }
    for c in found.iter().take(limit) {
        let code = &table.codes()[c.index];
        println!("{:<9} {:.3}  {}", code.code, c.score, code.description);
        println!("      statement: \"{}\"", &text[c.span.0..c.span.1]);
        if let Some(s) = icd_core::specificity::refine(table, &code.code) {
            let opts: Vec<&str> = s.options.iter().take(8).map(|o| o.code.as_str()).collect();
            println!("      more specific ({}): {}{}", s.facts.join(", "), opts.join(" "), if s.options.len() > 8 { " ..." } else { "" });
        }
    }
    Ok(())
}

fn sections(input: &Path, jsonl: bool) -> Result<()> {
    let text = read_input(input)?;
    if !jsonl {
        for s in icd_core::sections::detect(&text) {
            let body = text[s.body.0..s.body.1].replace('\n', " ");
            let preview: String = body.chars().take(70).collect();
            let mark = if s.kind.is_diagnostic() { '*' } else { ' ' };
            println!("{mark} {:<22} {:<32} {preview}", format!("{:?}", s.kind), &text[s.header.0..s.header.1]);
        }
        eprintln!("(* = diagnostic section)");
        return Ok(());
    }
    let name = input.display().to_string();
    for (i, l) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let line = i + 1;
        let v: serde_json::Value = serde_json::from_str(l).with_context(|| format!("{name}: line {line}: not JSON"))?;
        let note = v["text"].as_str().with_context(|| format!("{name}: line {line}: field \"text\" is missing or not a string"))?;
        let secs: Vec<serde_json::Value> = icd_core::sections::detect(note)
            .iter()
            .map(|s| {
                serde_json::json!({"kind": s.kind, "diagnostic": s.kind.is_diagnostic(), "header": &note[s.header.0..s.header.1],
                    "start": s.header.0, "end": s.span().1})
            })
            .collect();
        println!("{}", serde_json::json!({"id": v["id"], "line": line, "sections": secs}));
    }
    Ok(())
}

fn search(table: &CodeTable, query: &str, limit: usize, billable: bool, json: bool) -> Result<()> {
    let index = SearchIndex::build(table);
    // Over-fetch so the billable filter still fills the page.
    let hits = index.search(table, query, if billable { limit * 20 } else { limit });
    let mut shown = 0;
    for h in hits {
        let c = &table.codes()[h.index];
        if billable && !c.billable {
            continue;
        }
        if json {
            println!("{}", serde_json::json!({"code": c.code, "description": c.description, "billable": c.billable, "score": h.score}));
        } else {
            println!("{:<9} {} {}", c.code, if c.billable { ' ' } else { '*' }, c.description);
        }
        shown += 1;
        if shown == limit {
            break;
        }
    }
    if shown == 0 {
        eprintln!("no code matches {query:?}");
    } else if !json && !billable {
        eprintln!("(* = not billable: a more specific code is required)");
    }
    Ok(())
}

fn show(table: &CodeTable, code: &str) -> Result<()> {
    let Some(c) = table.get(code) else {
        anyhow::bail!("{code:?} is not an ICD-10-CM code in {} (try `icd codes search {code}`)", table.release);
    };
    println!("{}  {}", c.code, c.description);
    println!("  billable: {}", if c.billable { "yes" } else { "no (use a more specific code)" });
    if let Some(ch) = table.chapter(c) {
        println!("  chapter {}: {}", ch.number, ch.title);
    }
    let b = table.block(c);
    println!("  block {}: {}", b.id, b.title);
    for a in table.ancestors(c) {
        println!("  in {}  {}", a.code, a.description);
    }
    for (title, notes) in [
        ("inclusion terms", &c.inclusion),
        ("excludes1", &c.notes.excludes1),
        ("excludes2", &c.notes.excludes2),
        ("code first", &c.notes.code_first),
        ("use additional code", &c.notes.use_additional),
        ("code also", &c.notes.code_also),
    ] {
        if !notes.is_empty() {
            println!("  {title}:");
            for n in notes {
                println!("    - {n}");
            }
        }
    }
    let idx = table.index_of(&c.code).expect("code from table");
    let kids: Vec<_> = table.children(idx).collect();
    if !kids.is_empty() {
        println!("  subcodes:");
        for k in kids {
            let k = &table.codes()[k];
            println!("    {:<9} {}", k.code, k.description);
        }
    }
    Ok(())
}
