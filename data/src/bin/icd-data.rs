//! `icd-data`: build the code table, generate synthetic notes, import a user's notes.
#![forbid(unsafe_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use icd_core::dataset::to_jsonl;
use icd_core::{CodeTable, LabelSpace};

#[derive(Parser)]
#[command(name = "icd-data", version, about = "Build the ICD-10-CM code table and datasets")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse the CMS tabular XML into the compact code table used by `icd` and the web app.
    BuildTable {
        /// The CMS tabular XML, e.g. icd10cm-tabular-April-1-2026.xml
        #[arg(long)]
        xml: PathBuf,
        /// Where to write the table
        #[arg(long, default_value = "artifacts/icd10cm.table")]
        out: PathBuf,
        /// Also write every code, one per line (code, billable 0/1, description), to this file
        #[arg(long)]
        list: Option<PathBuf>,
        /// The CMS-HCC mappings (v28.tsv, v24.tsv and their labels; see data/hcc/README.md)
        #[arg(long, default_value = "data/hcc")]
        hcc: PathBuf,
    },
    /// Generate the synthetic train/valid/test notes (JSONL) from the knowledge table.
    Generate {
        /// Label space (code<TAB>description)
        #[arg(long, default_value = "labels/default-codes.tsv")]
        labels: PathBuf,
        /// The code table built by `build-table`
        #[arg(long, default_value = "artifacts/icd10cm.table")]
        table: PathBuf,
        /// Output folder for train.jsonl, valid.jsonl, test.jsonl
        #[arg(long, default_value = "artifacts/data")]
        out: PathBuf,
        #[arg(long, default_value_t = 10_000)]
        train: usize,
        /// Validation notes (for early stopping), separate from train and test
        #[arg(long, default_value_t = 1_000)]
        valid: usize,
        #[arg(long, default_value_t = 2_000)]
        test: usize,
        #[arg(long, default_value_t = icd_data::generate::Config::default().seed)]
        seed: u64,
        /// Least train notes per label (by primary code)
        #[arg(long, default_value_t = 25)]
        min_train: usize,
        /// Least test notes per label (by primary code)
        #[arg(long, default_value_t = 5)]
        min_test: usize,
        /// Chance of a typo per eligible word
        #[arg(long, default_value_t = 0.005)]
        typo_rate: f64,
        /// Also write the dataset card here (e.g. DATASET.md)
        #[arg(long)]
        card: Option<PathBuf>,
    },
    /// Import your own notes (CSV or JSONL), validate them and split them stratified.
    Import {
        /// CSV (columns text, codes, optional id) or JSONL ({"id"?, "text", "codes"}) files
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        #[arg(long, default_value = "artifacts/icd10cm.table")]
        table: PathBuf,
        /// Only accept codes in this label space (default: any billable code)
        #[arg(long)]
        labels: Option<PathBuf>,
        #[arg(long, default_value = "artifacts/import")]
        out: PathBuf,
        /// Share of the accepted notes that goes to test (stratified by primary code)
        #[arg(long, default_value_t = 0.2)]
        test_ratio: f64,
        /// Share that goes to valid.jsonl (0: no validation file)
        #[arg(long, default_value_t = 0.0)]
        valid_ratio: f64,
        #[arg(long, default_value_t = 20_260_401)]
        seed: u64,
        /// Force the input format instead of guessing it from the extension
        #[arg(long, value_parser = ["csv", "jsonl"])]
        format: Option<String>,
    },
    /// Write the dataset card (counts, lengths, leakage, baseline accuracy) for a data folder.
    Card {
        #[arg(long, default_value = "artifacts/data")]
        data: PathBuf,
        #[arg(long, default_value = "labels/default-codes.tsv")]
        labels: PathBuf,
        #[arg(long, default_value = "artifacts/icd10cm.table")]
        table: PathBuf,
        #[arg(long, default_value = "DATASET.md")]
        out: PathBuf,
    },
}

fn main() -> Result<()> {
    icd_console::init_logging("error");
    match Cli::parse().command {
        Command::BuildTable { xml, out, list, hcc } => build_table(&xml, &out, list.as_ref(), &hcc),
        Command::Generate { labels, table, out, train, valid, test, seed, min_train, min_test, typo_rate, card } => {
            let cfg = icd_data::generate::Config { train, valid, test, seed, min_train, min_test, typo_rate };
            generate(&labels, &table, &out, &cfg, card.as_ref())
        }
        Command::Import { inputs, table, labels, out, test_ratio, valid_ratio, seed, format } => {
            let table = load_table(&table)?;
            let labels = labels.map(|l| load_labels(&l, &table)).transpose()?;
            let opts = icd_data::import::Options { test_ratio, valid_ratio, seed, format: format.as_deref().map(icd_data::import::Format::parse).transpose()? };
            let summary = icd_data::import::run(&inputs, &table, labels.as_ref(), &out, &opts)?;
            println!("{summary}");
            Ok(())
        }
        Command::Card { data, labels, table, out } => {
            let table = load_table(&table)?;
            let labels = load_labels(&labels, &table)?;
            let card = icd_data::card::build(&data, &table, &labels)?;
            std::fs::write(&out, card.markdown).with_context(|| format!("writing {}", out.display()))?;
            println!("{} -> {}", card.summary, out.display());
            Ok(())
        }
    }
}

fn load_table(path: &PathBuf) -> Result<CodeTable> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {} (run scripts/setup.sh to build it)", path.display()))?;
    CodeTable::from_bytes(&bytes).with_context(|| format!("loading {}", path.display()))
}

fn load_labels(path: &PathBuf, table: &CodeTable) -> Result<LabelSpace> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(LabelSpace::parse_tsv(&text, table, &path.display().to_string())?)
}

fn generate(labels: &PathBuf, table: &PathBuf, out: &PathBuf, cfg: &icd_data::generate::Config, card: Option<&PathBuf>) -> Result<()> {
    use icd_data::generate::{Generator, Leakage};
    let t0 = Instant::now();
    let table = load_table(table)?;
    let labels = load_labels(labels, &table)?;
    let knowledge = icd_data::knowledge::Knowledge::embedded()?;
    let generator = Generator::new(&knowledge, &table, &labels)?;
    let t_load = t0.elapsed();
    let total = (cfg.train + cfg.valid + cfg.test) as u64;
    let bar = icd_console::bar(total, "generating notes");
    let t1 = Instant::now();
    let data = generator.generate(cfg, Some(&bar))?;
    bar.finish_and_clear();
    let t_gen = t1.elapsed();
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for (name, recs) in [("train", &data.train), ("valid", &data.valid), ("test", &data.test)] {
        let path = out.join(format!("{name}.jsonl"));
        std::fs::write(&path, to_jsonl(recs)).with_context(|| format!("writing {}", path.display()))?;
    }
    let elapsed = t0.elapsed();
    tracing::info!(?t_load, ?t_gen, "generated");
    println!(
        "generated {} train + {} valid + {} test notes ({} labels, seed {}) -> {} in {:.2} s (load {:.2} s, compose {:.2} s)",
        data.train.len(),
        data.valid.len(),
        data.test.len(),
        labels.len(),
        cfg.seed,
        out.display(),
        elapsed.as_secs_f64(),
        t_load.as_secs_f64(),
        t_gen.as_secs_f64()
    );
    for (name, recs) in [("train", &data.train), ("valid", &data.valid), ("test", &data.test)] {
        let l = Leakage::measure(recs.iter(), &table);
        println!(
            "  {name:5}: code strings in text {} ({:.2} %), official description of the primary {:.2} %, of any code {:.2} % (limit 10 %)",
            l.code_strings,
            100.0 * l.rate(l.code_strings),
            100.0 * l.rate(l.official_primary),
            100.0 * l.rate(l.official_any)
        );
    }
    let all = Leakage::measure(data.all(), &table);
    if all.code_strings > 0 || all.rate(all.official_any) > 0.10 {
        anyhow::bail!("leakage over the limits: {all:?}");
    }
    if let Some(card_path) = card {
        let card = icd_data::card::build(out, &table, &labels)?;
        std::fs::write(card_path, card.markdown).with_context(|| format!("writing {}", card_path.display()))?;
        println!("{} -> {}", card.summary, card_path.display());
    }
    Ok(())
}

/// The CMS-HCC models shipped in `data/hcc/`, newest first, with the CMS file each comes from.
const HCC_MODELS: &[(&str, &str, &str)] = &[
    ("V28", "v28", "CMS-HCC V28, CMS file F2823T2N_FY22FY23 (payment year 2024), via PyPI hccpy 0.1.9"),
    ("V24", "v24", "CMS-HCC V24, CMS file F2422P1M (payment year 2022), via PyPI hccpy 0.1.9"),
];

fn read_hcc(dir: &Path) -> Result<Vec<icd_core::hcc::HccModel>> {
    let read = |name: String| {
        let p = dir.join(&name);
        std::fs::read_to_string(&p)
            .with_context(|| format!("reading {} (the CMS-HCC tables are in the repository's data/hcc/)", p.display()))
            .map(|t| (t, p.display().to_string()))
    };
    HCC_MODELS
        .iter()
        .map(|(version, slug, source)| {
            let (map, map_path) = read(format!("{slug}.tsv"))?;
            let (labels, labels_path) = read(format!("labels-{slug}.tsv"))?;
            let m = icd_data::hcc::parse_model(version, &map, &map_path, &labels, &labels_path)?;
            Ok(icd_core::hcc::HccModel { version: m.version, source: source.to_string(), labels: m.labels, by_code: m.by_code })
        })
        .collect()
}

fn build_table(xml_path: &PathBuf, out: &PathBuf, list: Option<&PathBuf>, hcc_dir: &Path) -> Result<()> {
    let xml = std::fs::read_to_string(xml_path).with_context(|| format!("reading {} (run scripts/setup.sh to fetch the CMS tabular)", xml_path.display()))?;
    let name = xml_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let release = icd_data::tabular::release_from_file_name(&name);
    let mut src = icd_data::tabular::parse(&xml, &xml_path.display().to_string(), &release)?;
    src.hcc = read_hcc(hcc_dir)?;
    let bytes = src.to_bytes();
    let table = CodeTable::from_bytes(&bytes).context("the table just built does not load back")?;
    for m in &table.hcc {
        // The CMS files span two code-set years: codes deleted since are kept, and said.
        let stale = m.by_code.keys().filter(|c| table.get(c).is_none()).count();
        println!("{}: {} codes mapped, {stale} of them not in {release} (deleted since the CMS file)", m.version, m.by_code.len());
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    if let Some(list) = list {
        let text: String = table.codes().iter().map(|c| format!("{}\t{}\t{}\n", c.code, c.billable as u8, c.description)).collect();
        std::fs::write(list, text).with_context(|| format!("writing {}", list.display()))?;
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&bytes)?;
    let gz_len = gz.finish()?.len();
    println!(
        "{release}: {} chapters, {} blocks, {} codes ({} billable) -> {} ({:.2} MB, {:.2} MB gzipped)",
        table.chapters.len(),
        table.blocks.len(),
        table.len(),
        table.billable().count(),
        out.display(),
        bytes.len() as f64 / 1e6,
        gz_len as f64 / 1e6
    );
    Ok(())
}
