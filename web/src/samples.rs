//! Sample notes for the menu. The first is the one the end-to-end test codes.

pub const SAMPLES: &[(&str, &str)] = &[
    ("Asthma: chronic cough", "Patient presents with chronic cough and shortness of breath. History of asthma."),
    (
        "Type 2 diabetes",
        "58-year-old man with type 2 diabetes mellitus, here for follow-up. Fasting glucose 182, HbA1c 8.4%. \
         Reports polyuria. On metformin. Plan: add a second agent, diet counselling.",
    ),
    (
        "Hypertension",
        "Follow-up for essential hypertension. Blood pressure today 152/94 despite lisinopril. \
         No chest pain, no headache. Increase lisinopril dose and recheck in four weeks.",
    ),
    (
        "Urinary tract infection",
        "34-year-old woman with dysuria and urinary frequency for three days. No fever, no flank pain. \
         Urinalysis positive for nitrites and leukocytes. Acute cystitis; start nitrofurantoin.",
    ),
    (
        "Low back pain",
        "Patient reports low back pain for two weeks after lifting boxes. No radiation to the legs, \
         no numbness. Tender lumbar paraspinal muscles. Advised ibuprofen and activity as tolerated.",
    ),
    (
        "Major depression",
        "Patient with low mood, anhedonia, poor sleep and poor concentration for two months. \
         No suicidal ideation. PHQ-9 of 17. Major depressive disorder, single episode, moderate; start sertraline.",
    ),
];
