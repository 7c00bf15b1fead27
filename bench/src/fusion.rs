//! `icd-bench fusion`: how the model's codes and the code table's weigh against each other
//! (`icd_core::candidates::Weights`), scored on hand-written charts with their acceptable
//! first-listed codes (`data/eval/charts-*.jsonl`, `outside-*.jsonl`). The model codes each
//! note once; every weight setting then re-fuses the same codes and matches, so a grid costs
//! little more than one run.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use icd_core::candidates::{self, Candidate, Weights};
use icd_core::schema::prediction::CodedLabel;
use icd_core::{CodeTable, SearchIndex};
use rayon::prelude::*;

/// Codes the model suggests per note, and the fused list's length.
const TOP_K: usize = 10;

/// One hand-written chart: the codes a coder accepts first, and every code it reports.
struct Chart {
    id: String,
    text: String,
    accept: Vec<String>,
    codes: Vec<String>,
}

fn read_charts(path: &Path) -> Result<Vec<Chart>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = || format!("{}:{}", path.display(), i + 1);
        let v: serde_json::Value = serde_json::from_str(line).with_context(at)?;
        let field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string).with_context(|| format!("{}: field {k:?} missing or not a string", at()));
        let list = |k: &str| -> Vec<String> {
            v.get(k).and_then(|x| x.as_array()).map(|a| a.iter().filter_map(|c| c.as_str().map(str::to_string)).collect()).unwrap_or_default()
        };
        // The first-listed code: `code`, or the first of `codes` (the synthetic sets' form).
        let mut codes = list("codes");
        let code = match field("code") {
            Ok(c) => c,
            Err(e) => codes.first().cloned().ok_or(e)?,
        };
        let mut accept = list("accept");
        if !accept.contains(&code) {
            accept.insert(0, code.clone());
        }
        if codes.is_empty() {
            codes.push(code);
        }
        out.push(Chart { id: field("id")?, text: field("text")?, accept, codes });
    }
    if out.is_empty() {
        bail!("{}: no charts", path.display());
    }
    Ok(out)
}

/// What a ranked list scores on one chart.
#[derive(Default, Clone, Copy)]
struct Tally {
    first: usize,
    in3: usize,
    in5: usize,
    /// Reported codes found in the first five, and reported codes in all.
    found5: usize,
    reported: usize,
}

impl Tally {
    fn merge(&mut self, other: &Tally) {
        self.first += other.first;
        self.in3 += other.in3;
        self.in5 += other.in5;
        self.found5 += other.found5;
        self.reported += other.reported;
    }

    fn add(&mut self, chart: &Chart, ranked: &[CodedLabel]) {
        let rank = ranked.iter().position(|c| chart.accept.contains(&c.code));
        self.first += usize::from(rank == Some(0));
        self.in3 += usize::from(rank.is_some_and(|r| r < 3));
        self.in5 += usize::from(rank.is_some_and(|r| r < 5));
        self.found5 += chart.codes.iter().filter(|c| ranked.iter().take(5).any(|r| &r.code == *c)).count();
        self.reported += chart.codes.len();
    }

    fn line(&self, n: usize, name: &str) -> String {
        let pct = |x: usize| 100.0 * x as f64 / n as f64;
        format!(
            "{name:<60} {:>5.1} {:>5.1} {:>5.1}   {:>5.1}",
            pct(self.first),
            pct(self.in3),
            pct(self.in5),
            100.0 * self.found5 as f64 / self.reported.max(1) as f64
        )
    }
}

fn weights_name(w: &Weights) -> String {
    format!(
        "order {:.2} table {:.1} confirm {:.1} category {:.1} stand-in {:.1} alternative {:.1} |",
        w.order, w.table_rank, w.confirm, w.category, w.stand_in_below, w.alternative
    )
}

pub fn run(bundle: &Path, table: &Path, inputs: &[PathBuf], show: usize) -> Result<()> {
    let coder = super::load_coder(bundle)?;
    let bytes = std::fs::read(table).with_context(|| format!("reading {} (run scripts/setup.sh)", table.display()))?;
    let table = CodeTable::from_bytes(&bytes)?;
    let index = SearchIndex::build(&table);
    // The statements' order weight changes what the table proposes; the rest only how the two
    // lists merge.
    let mut grid = Vec::new();
    for order in [0.88, 0.75, 0.6, 0.5] {
        for table_rank in [0.5, 0.6, 0.7, 0.8, 0.9] {
            for confirm in [0.5, 0.7, 0.9] {
                for category in [0.2, 0.4] {
                    for stand_in_below in [0.3, 0.5] {
                        for alternative in [1.0, 0.5] {
                            grid.push(Weights { table_rank, confirm, category, stand_in_below, order, alternative });
                        }
                    }
                }
            }
        }
    }
    // Every setting's tally over all inputs (the grid's settings, then the shipped one), and
    // the number of charts: the weights are chosen on the dev sets together.
    let mut totals: Vec<Tally> = (0..=grid.len()).map(|_| Tally::default()).collect();
    let mut total_n = 0;
    for input in inputs {
        let charts = read_charts(input)?;
        // The model's codes (as `icd predict` gives them, no evidence) and the table's matches.
        let model: Vec<Vec<CodedLabel>> = charts.par_iter().map(|c| Ok(coder.code_with(&c.text, TOP_K, false)?)).collect::<Result<_>>()?;
        // The table's candidates per order weight.
        let mut proposed: Vec<(f32, Vec<Vec<Candidate>>)> = Vec::new();
        for w in grid.iter().chain([&Weights::SHIPPED]) {
            if !proposed.iter().any(|(k, _)| *k == w.order) {
                let c = charts.par_iter().map(|c| candidates::propose_with(&table, &index, &c.text, w)).collect();
                proposed.push((w.order, c));
            }
        }
        let cands_for = |w: &Weights| &proposed.iter().find(|(k, _)| *k == w.order).expect("proposed for every setting").1;
        let n = charts.len();
        let score = |w: Option<&Weights>| {
            let mut t = Tally::default();
            for (i, chart) in charts.iter().enumerate() {
                let ranked = match w {
                    Some(w) => candidates::fuse_with(&table, &chart.text, model[i].clone(), &cands_for(w)[i], TOP_K, w).codes,
                    None => model[i].clone(),
                };
                t.add(chart, &ranked);
            }
            t
        };
        println!(
            "== {} ({n} charts): % of charts with an acceptable first-listed code first / in 3 / in 5; % of reported codes in the first 5",
            input.display()
        );
        println!("{:<60} {:>5} {:>5} {:>5}   {:>5}", "", "@1", "@3", "@5", "rec@5");
        println!("{}", score(None).line(n, "model only"));
        let shipped_tally = score(Some(&Weights::SHIPPED));
        println!("{}", shipped_tally.line(n, &format!("shipped: {}", weights_name(&Weights::SHIPPED))));
        let mut all: Vec<(Weights, Tally)> = grid.iter().map(|w| (*w, score(Some(w)))).collect();
        for (total, t) in totals.iter_mut().zip(all.iter().map(|(_, t)| t).chain([&shipped_tally])) {
            total.merge(t);
        }
        total_n += n;
        all.sort_by_key(|x| std::cmp::Reverse((x.1.first, x.1.in3, x.1.in5)));
        for (w, t) in all.iter().take(show) {
            println!("{}", t.line(n, &weights_name(w)));
        }
        // Per chart, for reading: the first acceptable code's rank, model only and shipped.
        let shipped = cands_for(&Weights::SHIPPED);
        for (i, chart) in charts.iter().enumerate() {
            let model = &model[i];
            let fused = candidates::fuse_with(&table, &chart.text, model.clone(), &shipped[i], TOP_K, &Weights::SHIPPED).codes;
            let rank = |r: &[CodedLabel]| r.iter().position(|c| chart.accept.contains(&c.code)).map_or("-".to_string(), |p| (p + 1).to_string());
            let first3 = |r: &[CodedLabel]| r.iter().take(3).map(|c| c.code.as_str()).collect::<Vec<_>>().join(" ");
            chart_line(&chart.id, &chart.accept.join("|"), &rank(model), &first3(model), &rank(&fused), &first3(&fused));
        }
    }
    if inputs.len() > 1 {
        println!("== all {} inputs ({total_n} charts)", inputs.len());
        println!("{}", totals[grid.len()].line(total_n, &format!("shipped: {}", weights_name(&Weights::SHIPPED))));
        let mut all: Vec<(&Weights, &Tally)> = grid.iter().zip(&totals).collect();
        all.sort_by_key(|x| std::cmp::Reverse((x.1.first, x.1.in3, x.1.in5)));
        for (w, t) in all.iter().take(show) {
            println!("{}", t.line(total_n, &weights_name(w)));
        }
    }
    Ok(())
}

fn chart_line(id: &str, accept: &str, model_rank: &str, model3: &str, fused_rank: &str, fused3: &str) {
    eprintln!("{id:<8} gold {accept:<22} model #{model_rank:<2} {model3:<26} fused #{fused_rank:<2} {fused3}");
}
