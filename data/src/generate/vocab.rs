//! Generic clinical phrasing that is not specific to one code: section headers,
//! normal exam lines, review-of-systems negatives, social history, names.
//!
//! Code-specific facts live in `data/knowledge/*.toml`; these lists are only the
//! connective tissue that every note has.

/// Section keys; each has header spellings (abbreviation, title case, upper case, alternates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sec {
    Cc,
    Hpi,
    Pmh,
    Psh,
    Meds,
    Allergies,
    Social,
    Family,
    Ros,
    Vitals,
    Exam,
    Data,
    Assessment,
    Plan,
    AssessPlan,
    EdCourse,
    Mdm,
    Disposition,
    Course,
    DischargeDx,
    DischargeMeds,
    FollowUp,
    Reason,
    Recs,
    Subjective,
    Objective,
}

/// `(short, title, upper, alternates...)`
pub fn headers(s: Sec) -> &'static [&'static str] {
    match s {
        Sec::Cc => &["CC", "Chief Complaint", "CHIEF COMPLAINT", "Reason for visit", "REASON FOR VISIT", "Presenting complaint"],
        Sec::Hpi => &["HPI", "History of Present Illness", "HISTORY OF PRESENT ILLNESS", "History", "Interval history"],
        Sec::Pmh => &["PMH", "Past Medical History", "PAST MEDICAL HISTORY", "PMHx", "Medical history", "Problem list"],
        Sec::Psh => &["PSH", "Past Surgical History", "PAST SURGICAL HISTORY", "Surgical history"],
        Sec::Meds => &["Meds", "Medications", "MEDICATIONS", "Current medications", "Home meds", "CURRENT MEDICATIONS", "Outpatient medications"],
        Sec::Allergies => &["All", "Allergies", "ALLERGIES", "Drug allergies"],
        Sec::Social => &["SH", "Social History", "SOCIAL HISTORY", "Social", "SocHx"],
        Sec::Family => &["FH", "Family History", "FAMILY HISTORY", "FHx"],
        Sec::Ros => &["ROS", "Review of Systems", "REVIEW OF SYSTEMS", "Systems review"],
        Sec::Vitals => &["VS", "Vital Signs", "VITAL SIGNS", "Vitals"],
        Sec::Exam => &["PE", "Physical Exam", "PHYSICAL EXAMINATION", "Exam", "Examination", "PHYSICAL EXAM"],
        Sec::Data => &["Labs", "Laboratory Data", "LABORATORY DATA", "Data", "Results", "Diagnostics", "DIAGNOSTIC STUDIES", "Labs/imaging"],
        Sec::Assessment => &["A", "Assessment", "ASSESSMENT", "Impression", "IMPRESSION", "Diagnosis", "Diagnoses"],
        Sec::Plan => &["P", "Plan", "PLAN", "Recommendations", "Treatment plan"],
        Sec::AssessPlan => &["A/P", "Assessment and Plan", "ASSESSMENT AND PLAN", "Assessment/Plan", "IMPRESSION AND PLAN", "Impression/Plan"],
        Sec::EdCourse => &["ED course", "ED Course", "EMERGENCY DEPARTMENT COURSE", "Course in the ED"],
        Sec::Mdm => &["MDM", "Medical Decision Making", "MEDICAL DECISION MAKING", "Clinical reasoning"],
        Sec::Disposition => &["Dispo", "Disposition", "DISPOSITION"],
        Sec::Course => &["Course", "Hospital Course", "HOSPITAL COURSE", "Brief hospital course"],
        Sec::DischargeDx => &["Dx", "Discharge Diagnoses", "DISCHARGE DIAGNOSES", "Final diagnoses", "Diagnoses at discharge"],
        Sec::DischargeMeds => &["D/C meds", "Discharge Medications", "DISCHARGE MEDICATIONS", "Medications at discharge"],
        Sec::FollowUp => &["F/u", "Follow-up", "FOLLOW-UP", "Follow up instructions"],
        Sec::Reason => &["Reason", "Reason for Consultation", "REASON FOR CONSULTATION", "Consult question"],
        Sec::Recs => &["Recs", "Recommendations", "RECOMMENDATIONS", "Suggestions"],
        Sec::Subjective => &["S", "Subjective", "SUBJECTIVE"],
        Sec::Objective => &["O", "Objective", "OBJECTIVE"],
    }
}

/// Body systems for a full exam: `(label spellings, normal findings, keywords that route a finding here)`.
pub struct System {
    pub labels: [&'static str; 3],
    pub normal: &'static [&'static str],
    pub keys: &'static [&'static str],
}

pub const SYSTEMS: &[System] = &[
    System {
        labels: ["Gen", "General", "GENERAL"],
        normal: &["alert, well-appearing, in no acute distress", "NAD, A&Ox3", "pleasant, cooperative, no distress", "well developed, well nourished, comfortable"],
        keys: &["distress", "appearing", "toxic", "diaphoretic", "cachectic", "lethargic", "habitus", "bmi"],
    },
    System {
        labels: ["HEENT", "HEENT", "HEENT"],
        normal: &["normocephalic, atraumatic; PERRL, EOMI; oropharynx clear", "NC/AT, moist mucous membranes, TMs clear bilaterally", "pupils equal and reactive, sclerae anicteric, oropharynx without erythema"],
        keys: &["tympanic", " tm ", "ear", "canal", "pharyn", "tonsil", "eye", "conjunctiv", "pupil", "scler", "nasal", "sinus", "turbinate", "mucous membranes", "oral", "tongue", "cerumen", "lens", "fundus", "retina", "lacrimal", "scalp", "forehead", "face", "facial", "lid", "cornea", "visual acuity", "head"],
    },
    System {
        labels: ["Neck", "Neck", "NECK"],
        normal: &["supple, no lymphadenopathy, no JVD", "supple without thyromegaly or bruits", "no cervical adenopathy, trachea midline"],
        keys: &["neck", "thyroid", "jvd", "jugular", "carotid", "cervical", "lymphaden", "nodule"],
    },
    System {
        labels: ["Breast", "Breasts", "BREASTS"],
        normal: &["no masses, skin changes, or nipple discharge"],
        keys: &["breast", "nipple", "axilla", "areola"],
    },
    System {
        labels: ["Lungs", "Lungs", "LUNGS"],
        normal: &["clear to auscultation bilaterally, no wheezes, rales, or rhonchi", "CTAB, good air movement", "clear bilaterally, unlabored respirations", "breath sounds equal, no crackles"],
        keys: &["lung", "wheez", "crackle", "rale", "rhonch", "breath sounds", "respirat", "air movement", "air entry", "expiratory", "dullness", "percussion", "accessory muscle", "work of breathing", "stridor", "chest wall", "egophony", "fremitus"],
    },
    System {
        labels: ["CV", "Cardiovascular", "HEART"],
        normal: &["regular rate and rhythm, no murmurs, rubs, or gallops", "RRR, normal S1/S2, no m/r/g", "regular rhythm, no murmur", "heart sounds normal, no gallop"],
        keys: &["rhythm", "murmur", "gallop", "s1", "s2", "s3", "s4", "heart", "irregular", "tachycard", "bradycard", "pmi", "rub", "cardiac"],
    },
    System {
        labels: ["Abd", "Abdomen", "ABDOMEN"],
        normal: &["soft, nontender, nondistended, normal bowel sounds", "soft, NT/ND, +BS, no organomegaly", "benign, no rebound or guarding", "nontender without masses or hepatosplenomegaly"],
        keys: &["abdom", "bowel sounds", "epigastr", "quadrant", "rlq", "ruq", "llq", "luq", "murphy", "mcburney", "liver", "hepat", "spleen", "ascites", "rebound", "guarding", "hernia", "inguinal", "umbilic", "suprapubic", "costovertebral", "cva", "flank", "rectal", "hemorrhoid", "anal", "uterus", "fundal", "fetal", "cervix", "vulva", "vagina", "pelvic", "adnexa", "perine", "prostate", "testic", "scrot", "stool"],
    },
    System {
        labels: ["Ext", "Extremities", "EXTREMITIES"],
        normal: &["no clubbing, cyanosis, or edema", "warm and well perfused, no edema", "no edema, distal pulses 2+ and symmetric", "full range of motion, no calf tenderness"],
        keys: &["edema", "pulse", "calf", "leg", "foot", "feet", "ankle", "knee", "hip", "shoulder", "wrist", "hand", "finger", "toe", "elbow", "joint", "range of motion", "extremit", "limb", "thigh", "tender", "swelling", "effusion", "crepitus", "capillary", "spine", "spinous", "lumbar", "paraspinal", "straight leg", "back", "arm", "nail", "clubbing", "heel", "plantar", "muscle", "deformity", "gait", "strength", "rotator", "impingement", "varicos"],
    },
    System {
        labels: ["Skin", "Skin", "SKIN"],
        normal: &["warm, dry, no rashes", "no rash or lesions", "intact, no jaundice", "normal color and turgor"],
        keys: &["skin", "rash", "lesion", "erythema", "vesic", "plaque", "papule", "pustule", "macule", "wound", "ulcer", "laceration", "abrasion", "ecchymosis", "bruise", "jaundice", "pallor", "mole", "nevus", "scale", "wheal", "hive", "cyst", "fluctuan", "induration", "comedone", "keratos", "incision", "angioma", "petechia", "purpura", "turgor", "diaphoresis", "warmth"],
    },
    System {
        labels: ["Neuro", "Neurologic", "NEUROLOGIC"],
        normal: &["alert and oriented x3, CN II-XII grossly intact, strength 5/5 throughout", "nonfocal exam, normal gait", "A&Ox3, sensation intact, reflexes 2+ and symmetric", "no focal deficits"],
        keys: &["oriented", "cranial", "reflex", "sensation", "monofilament", "tremor", "rigidity", "bradykinesia", "romberg", "dix-hallpike", "nystagmus", "speech", "aphasia", "drift", "facial droop", "confus", "attention", "recall", "moca", "mmse", "neuro", "seizure", "tinel", "phalen", "asterixis", "numb", "weakness", "dysarthria", "coordination", "gcs", "mental status", "arousable", "pinprick", "vibration", "proprioception", "filament"],
    },
    System {
        labels: ["Psych", "Psychiatric", "PSYCH"],
        normal: &["normal mood and affect", "appropriate mood, linear thought process", "calm, cooperative, good insight", "euthymic, judgment intact"],
        keys: &["mood", "affect", "thought", "insight", "judgment", "psychomotor", "eye contact", "hallucinat", "suicid", "anxious", "tearful", "pressured", "fidget", "hyperactiv", "impulsiv"],
    },
];

/// Review-of-systems negatives: `(phrase, short form, label categories it must not contradict)`.
pub const ROS_NEG: &[(&str, &str, &[&str])] = &[
    ("fever", "fever", &["R50", "A41", "J10", "U07", "N10", "J18"]),
    ("chills", "chills", &["R50", "A41"]),
    ("night sweats", "night sweats", &["R50"]),
    ("weight loss", "wt loss", &["R63"]),
    ("fatigue", "fatigue", &["R53"]),
    ("headache", "HA", &["R51", "G43"]),
    ("vision changes", "vision changes", &["H25", "H35", "H40", "H52"]),
    ("sore throat", "sore throat", &["J02", "J06"]),
    ("cough", "cough", &["R05", "J20", "J18", "J44", "J45", "J06"]),
    ("shortness of breath", "SOB", &["R06", "J44", "J45", "J96", "I50", "J18", "I26"]),
    ("wheezing", "wheezing", &["J45", "J44", "J21"]),
    ("chest pain", "CP", &["R07", "I20", "I21"]),
    ("palpitations", "palpitations", &["R00", "I48"]),
    ("leg swelling", "LE edema", &["R60", "I50", "I87", "I82"]),
    ("abdominal pain", "abd pain", &["R10", "K35", "K57", "K85", "K80", "K29", "K56", "A09"]),
    ("nausea", "nausea", &["R11", "O21", "K85"]),
    ("vomiting", "vomiting", &["R11", "O21", "A08"]),
    ("diarrhea", "diarrhea", &["R19", "A04", "A08", "A09", "K52", "K58"]),
    ("constipation", "constipation", &["K59", "K58", "K56"]),
    ("blood in stool", "BRBPR", &["K62", "K92", "K64"]),
    ("dysuria", "dysuria", &["R30", "N30", "N39", "N10"]),
    ("hematuria", "hematuria", &["R31", "N20"]),
    ("urinary frequency", "frequency", &["N32", "N40", "N39"]),
    ("rash", "rash", &["R21", "L30", "L20", "L50", "B02"]),
    ("joint pain", "arthralgias", &["M25", "M17", "M19", "M06", "M10"]),
    ("back pain", "back pain", &["M54", "M47", "M48", "M51", "S39"]),
    ("dizziness", "dizziness", &["R42", "H81", "R55"]),
    ("syncope", "syncope", &["R55"]),
    ("numbness or tingling", "paresthesias", &["G62", "E11", "G56", "M54"]),
    ("focal weakness", "weakness", &["R53", "M62", "I63", "G45"]),
    ("depressed mood", "depression", &["F32", "F33", "F31", "F43"]),
    ("anxiety", "anxiety", &["F41", "F43"]),
    ("suicidal ideation", "SI", &["R45"]),
    ("confusion", "confusion", &["R41", "F05", "G93", "F03", "G30"]),
];

/// Full-ROS system labels, in order, with the negatives (indices into [`ROS_NEG`]) listed under each.
pub const ROS_SYSTEMS: &[(&str, &[usize])] = &[
    ("Constitutional", &[0, 1, 2, 3, 4]),
    ("Eyes", &[6]),
    ("ENT", &[7]),
    ("Cardiovascular", &[11, 12, 13]),
    ("Respiratory", &[8, 9, 10]),
    ("GI", &[14, 15, 16, 17, 18, 19]),
    ("GU", &[20, 21, 22]),
    ("MSK", &[24, 25]),
    ("Skin", &[23]),
    ("Neuro", &[5, 26, 27, 28, 29]),
    ("Psych", &[30, 31, 32]),
];

pub const ALLERGIES: &[&str] = &[
    "NKDA", "NKDA", "NKDA", "No known drug allergies", "No known allergies", "NKA", "penicillin (rash)", "sulfa - hives", "codeine (nausea)",
    "PCN", "lisinopril - cough", "shellfish", "latex", "amoxicillin - rash",
];

pub const SURGERIES: &[&str] = &[
    "appendectomy", "laparoscopic cholecystectomy", "tonsillectomy as a child", "right knee arthroscopy", "inguinal hernia repair",
    "tubal ligation", "cataract extraction", "wisdom teeth extraction", "ORIF of left ankle", "rotator cuff repair",
];

pub const OCCUPATIONS: &[&str] = &[
    "teacher", "truck driver", "nurse", "accountant", "construction worker", "retired machinist", "office manager", "cashier",
    "software engineer", "retired postal worker", "electrician", "home health aide", "student", "restaurant cook", "mechanic",
];

pub const LIVES_WITH: &[&str] = &["wife", "husband", "spouse", "partner", "daughter", "son and daughter-in-law", "alone", "roommate", "family"];

pub const RELATIVES: &[&str] = &["mother", "father", "brother", "sister", "maternal grandmother", "paternal grandfather", "maternal aunt", "paternal uncle"];

pub const SURNAMES: &[&str] = &[
    "Patel", "Nguyen", "Smith", "Garcia", "Johnson", "Kim", "Okafor", "Cohen", "Rossi", "Martinez", "Chen", "Walker", "Singh", "O'Brien", "Haddad", "Novak",
];

pub const GENERIC_MEDS: &[&str] = &["multivitamin 1 tab PO daily", "acetaminophen 500 mg PO q6h PRN pain", "ibuprofen 400 mg PO PRN", "vitamin C 500 mg daily"];

/// Abbreviations applied at a per-note rate: `(long form, short form)`, matched as whole words.
pub const ABBREVIATIONS: &[(&str, &str)] = &[
    ("shortness of breath", "SOB"),
    ("chest pain", "CP"),
    ("history of", "hx of"),
    ("patient", "pt"),
    ("Patient", "Pt"),
    ("complains of", "c/o"),
    ("complaining of", "c/o"),
    ("with", "w/"),
    ("without", "w/o"),
    ("nausea and vomiting", "N/V"),
    ("bilateral", "b/l"),
    ("bilaterally", "b/l"),
    ("rule out", "r/o"),
    ("status post", "s/p"),
    ("hypertension", "HTN"),
    ("no known drug allergies", "NKDA"),
    ("follow up", "f/u"),
    ("follow-up", "f/u"),
    ("twice daily", "BID"),
    ("three times daily", "TID"),
    ("as needed", "PRN"),
    ("emergency department", "ED"),
    ("blood pressure", "BP"),
    ("heart rate", "HR"),
    ("years", "yrs"),
    ("weeks", "wks"),
    ("secondary to", "2/2"),
    ("diagnosis", "dx"),
    ("treatment", "tx"),
    ("prescription", "rx"),
    ("symptoms", "sx"),
    ("and", "&"),
];
