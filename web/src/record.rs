//! The accepted-code record: the coder's decisions on this device (accepted, rejected, added,
//! removed, the principal diagnosis, present on admission, an override of a rule error), each
//! with its time. The page keeps it in IndexedDB (`src/store.rs`) and exports it as CSV; it is
//! never sent anywhere.

use serde::{Deserialize, Serialize};

/// Present on admission (CMS POA indicator), for inpatient encounters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Poa {
    /// Present at the time of inpatient admission.
    Y,
    /// Not present at the time of inpatient admission.
    N,
    /// Documentation insufficient to determine.
    U,
    /// Clinically undetermined.
    W,
    /// Exempt from POA reporting.
    #[serde(rename = "1")]
    Exempt,
}

impl Poa {
    pub const ALL: [Poa; 5] = [Poa::Y, Poa::N, Poa::U, Poa::W, Poa::Exempt];

    /// The indicator as reported: `Y`, `N`, `U`, `W` or `1`.
    pub fn code(self) -> &'static str {
        match self {
            Poa::Y => "Y",
            Poa::N => "N",
            Poa::U => "U",
            Poa::W => "W",
            Poa::Exempt => "1",
        }
    }

    pub fn from_code(s: &str) -> Option<Poa> {
        Poa::ALL.into_iter().find(|p| p.code() == s)
    }

    pub fn meaning(self) -> &'static str {
        match self {
            Poa::Y => "present at admission",
            Poa::N => "not present at admission",
            Poa::U => "documentation insufficient",
            Poa::W => "clinically undetermined",
            Poa::Exempt => "exempt from POA reporting",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A model suggestion ticked.
    Accepted,
    /// A model suggestion unticked.
    Rejected,
    /// A code added from the code search.
    Added,
    /// A code taken off the accepted list.
    Removed,
    /// Made the principal (first-listed) diagnosis.
    Principal,
    /// Present-on-admission indicator set (`detail`: the indicator).
    Poa,
    /// Exported despite rule errors (`detail`: the errors).
    Override,
    /// The accepted codes were copied or downloaded (`detail`: how, and the codes in order).
    Exported,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Accepted => "accepted",
            Action::Rejected => "rejected",
            Action::Added => "added",
            Action::Removed => "removed",
            Action::Principal => "principal",
            Action::Poa => "poa",
            Action::Override => "override",
            Action::Exported => "exported",
        }
    }
}

/// One decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// ISO 8601, the device's clock.
    pub at: String,
    pub action: Action,
    pub code: String,
    #[serde(default)]
    pub detail: String,
}

/// The record as CSV: `at,action,code,detail`, oldest first.
pub fn csv(entries: &[Decision]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["at", "action", "code", "detail"]).expect("writes to memory");
    for e in entries {
        w.write_record([e.at.as_str(), e.action.name(), &e.code, &e.detail]).expect("writes to memory");
    }
    String::from_utf8(w.into_inner().expect("writes to memory")).expect("fields are UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poa_codes_round_trip_and_serialize_as_reported() {
        for p in Poa::ALL {
            assert_eq!(Poa::from_code(p.code()), Some(p));
        }
        assert_eq!(Poa::from_code("X"), None);
        assert_eq!(serde_json::to_string(&Poa::Exempt).unwrap(), "\"1\"");
    }

    #[test]
    fn record_csv_and_json() {
        let d = Decision { at: "2026-12-05T10:00:00.000Z".into(), action: Action::Override, code: "E11.9".into(), detail: "excludes1: E11.9, E10.9".into() };
        assert_eq!(csv(std::slice::from_ref(&d)), "at,action,code,detail\n2026-12-05T10:00:00.000Z,override,E11.9,\"excludes1: E11.9, E10.9\"\n");
        let j = serde_json::to_string(&d).unwrap();
        assert!(j.contains(r#""action":"override""#), "{j}");
        assert_eq!(serde_json::from_str::<Decision>(&j).unwrap(), d);
    }
}
