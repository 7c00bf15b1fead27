pub struct Options { pub test_ratio: f64, pub valid_ratio: f64, pub seed: u64, pub format: Option<Format> }
pub enum Format { Csv, Jsonl }
impl Format { pub fn parse(s: &str) -> anyhow::Result<Self> { Ok(if s == "csv" { Format::Csv } else { Format::Jsonl }) } }
pub fn run(_i: &[std::path::PathBuf], _t: &icd_core::CodeTable, _l: Option<&icd_core::LabelSpace>, _o: &std::path::Path, _opts: &Options) -> anyhow::Result<String> { todo!() }
