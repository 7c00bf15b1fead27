//! `icd check`: the coder's checks on a list of codes (rules in `icd_codes::rules`).

use anyhow::Result;
use clap::{Args, ValueEnum};
use icd_core::rules::{self, Patient, Setting, Severity, Sex};
use icd_core::CodeTable;

#[derive(Args)]
pub struct CheckArgs {
    /// Codes in reporting order, first-listed (principal) first; `E11.9` or `e119`
    #[arg(required = true)]
    codes: Vec<String>,
    /// The patient's age in years (0 for a newborn): enables the age edits
    #[arg(long)]
    age: Option<u32>,
    /// The patient's sex: enables the sex edits
    #[arg(long, value_enum)]
    sex: Option<SexArg>,
    /// Encounter setting
    #[arg(long, value_enum, default_value_t = SettingArg::Outpatient)]
    setting: SettingArg,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Clone, Copy, ValueEnum)]
enum SexArg {
    Female,
    Male,
}

#[derive(Clone, Copy, ValueEnum)]
enum SettingArg {
    Inpatient,
    Outpatient,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Prints the verdict; `Ok(true)` when any message is an error (the exit status is 1 then).
pub fn check(table: &CodeTable, args: &CheckArgs) -> Result<bool> {
    let patient = Patient {
        age: args.age,
        sex: args.sex.map(|s| match s {
            SexArg::Female => Sex::Female,
            SexArg::Male => Sex::Male,
        }),
        setting: match args.setting {
            SettingArg::Inpatient => Setting::Inpatient,
            SettingArg::Outpatient => Setting::Outpatient,
        },
    };
    let codes: Vec<&str> = args.codes.iter().map(String::as_str).collect();
    let verdict = rules::check(table, &codes, &patient);
    match args.format {
        Format::Json => println!("{}", serde_json::to_string(&verdict)?),
        Format::Text => {
            for c in &verdict.codes {
                let hcc: Vec<String> = c.hcc.iter().filter_map(|(v, h)| h.as_ref().map(|h| format!("HCC {} {h}", v.to_uppercase()))).collect();
                let state = if !c.valid {
                    "not a code"
                } else if c.billable {
                    "billable"
                } else {
                    "not billable"
                };
                println!(
                    "{:<9} {:<12} {}{}",
                    c.code,
                    state,
                    c.description.as_deref().unwrap_or("-"),
                    if hcc.is_empty() { String::new() } else { format!("  [{}]", hcc.join(", ")) }
                );
            }
            for m in &verdict.messages {
                let tag = match m.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Info => "info",
                };
                println!("{tag}[{}]: {}", serde_json::to_value(m.kind)?.as_str().unwrap_or_default(), m.text);
            }
            if verdict.messages.is_empty() {
                println!("no rule messages");
            }
            eprintln!("checked against {}; not checked: the full CMS Medicare Code Editor (sex lists beyond the blocks in SEX_SPECIFIC, adult/pediatric ages), POA, NCCI", table.release);
        }
    }
    Ok(verdict.has_errors())
}
