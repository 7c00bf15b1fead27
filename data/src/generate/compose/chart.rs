//! v2 note shapes: full-length dictated chart documents (operative, endoscopy and
//! radiology reports, discharge summaries, consult letters, multi-problem follow-ups,
//! psychiatric, obstetric and newborn notes, full H&Ps), and the coding rules they follow:
//! which code is listed first, which diagnoses were ruled out, and which sibling labels
//! each note contrasts with.

use super::super::leak::contains_phrase_lc;
use super::super::style::{cap, chance, pick, pick_n, pk, prose_list, sentence, R};
use super::super::vocab::{self, Sec};
use super::{in_pmh, is_current, social_code, term, Case, NoteType};
use crate::generate::Lex;
use crate::knowledge::{Kind, Setting};

/// Operations and bedside procedures by code prefix:
/// `(prefix, procedure, anesthesia, key steps, operative findings)`.
type Op = (&'static str, &'static str, &'static str, &'static [&'static str], &'static str);

const OPS: &[Op] = &[
    (
        "K35",
        "Laparoscopic appendectomy",
        "General endotracheal anesthesia",
        &[
            "Pneumoperitoneum was established through a periumbilical incision using the open Hasson technique.",
            "Two additional 5 mm ports were placed under direct vision in the suprapubic and left lower quadrant positions.",
            "The appendix was identified, grasped, and elevated, and the mesoappendix was divided with the harmonic scalpel.",
            "The base of the appendix was divided with an endoscopic stapler and the staple line was inspected and found to be hemostatic.",
            "The specimen was placed in a retrieval bag and removed through the umbilical port.",
            "The right lower quadrant was irrigated and suctioned until clear.",
        ],
        "an inflamed, edematous appendix without perforation and a small amount of cloudy fluid in the pelvis",
    ),
    (
        "K80",
        "Laparoscopic cholecystectomy",
        "General endotracheal anesthesia",
        &[
            "Pneumoperitoneum was established and three additional ports were placed under direct vision.",
            "The fundus of the gallbladder was retracted cephalad over the liver and the infundibulum laterally.",
            "The peritoneum over the triangle of Calot was opened and the critical view of safety was obtained.",
            "The cystic duct and cystic artery were doubly clipped proximally and divided.",
            "The gallbladder was dissected off the liver bed with electrocautery and removed in a retrieval bag through the umbilical port.",
            "The liver bed was inspected and hemostasis was confirmed.",
        ],
        "a distended, thick-walled gallbladder containing multiple stones, with no bile leak",
    ),
    (
        "K40",
        "Open inguinal hernia repair with mesh",
        "General anesthesia with laryngeal mask airway",
        &[
            "An oblique incision was made over the inguinal canal and carried down through Scarpa fascia.",
            "The external oblique aponeurosis was opened in the direction of its fibers, preserving the ilioinguinal nerve.",
            "The spermatic cord was isolated and the hernia sac was dissected free, opened, inspected, and reduced.",
            "A polypropylene mesh was fashioned and sewn to the shelving edge of the inguinal ligament inferiorly and the conjoined tendon superiorly.",
            "The external oblique was closed over the cord with running absorbable suture.",
        ],
        "an indirect hernia sac containing omentum, which was reducible",
    ),
    (
        "K44",
        "Laparoscopic hiatal hernia repair with Nissen fundoplication",
        "General endotracheal anesthesia",
        &[
            "Five laparoscopic ports were placed and the left lobe of the liver was retracted.",
            "The hernia sac was reduced from the mediastinum and excised.",
            "The crura were reapproximated posteriorly with interrupted permanent sutures.",
            "The short gastric vessels were divided and a 2 cm floppy fundoplication was created over a bougie.",
        ],
        "a large sliding hiatal hernia with a widened hiatus",
    ),
    (
        "K56",
        "Exploratory laparotomy with lysis of adhesions",
        "General endotracheal anesthesia with rapid sequence induction",
        &[
            "A midline laparotomy incision was made and the peritoneum was entered sharply.",
            "The small bowel was run from the ligament of Treitz to the ileocecal valve.",
            "A dense adhesive band causing a transition point was identified and divided sharply.",
            "The bowel was inspected after release, was pink and peristalsing, and did not require resection.",
            "The fascia was closed with running looped suture.",
        ],
        "a single adhesive band with dilated proximal small bowel and decompressed distal bowel; the bowel was viable",
    ),
    (
        "K57.32",
        "Laparoscopic sigmoid colectomy with primary anastomosis",
        "General endotracheal anesthesia",
        &[
            "Ports were placed and the sigmoid colon was mobilized along the white line of Toldt.",
            "The left ureter was identified and protected throughout.",
            "The mesentery was divided with an energy device and the bowel was transected proximally and distally with staplers.",
            "A stapled end-to-end anastomosis was created and a leak test was negative.",
        ],
        "a thickened, inflamed sigmoid colon with pericolic fibrosis and no free perforation",
    ),
    (
        "K64",
        "Excisional hemorrhoidectomy",
        "Monitored anesthesia care with local anesthetic",
        &[
            "The patient was placed in the prone jackknife position.",
            "An anoscope was inserted and the hemorrhoidal columns were identified.",
            "Each column was excised with an elliptical incision and the mucosa closed with running absorbable suture.",
        ],
        "prolapsing internal hemorrhoids in three columns",
    ),
    (
        "S72",
        "Open reduction and internal fixation with cephalomedullary nail",
        "Spinal anesthesia with sedation",
        &[
            "The patient was positioned on the fracture table and the fracture was reduced with traction and internal rotation under fluoroscopy.",
            "A guide wire was passed through the tip of the greater trochanter and the canal was reamed.",
            "The nail was inserted and a lag screw was placed into the femoral head with an appropriate tip-apex distance.",
            "A distal locking screw was placed and final fluoroscopic images confirmed alignment.",
        ],
        "a displaced fracture of the proximal femur, which was reduced to anatomic alignment",
    ),
    (
        "S52",
        "Open reduction and internal fixation of distal radius with volar locking plate",
        "General anesthesia with regional block",
        &[
            "A volar approach was made through the flexor carpi radialis sheath.",
            "The pronator quadratus was elevated and the fracture exposed.",
            "The fracture was reduced under fluoroscopy and a volar locking plate was applied with distal locking screws.",
            "Final fluoroscopic images confirmed restoration of radial height and volar tilt.",
        ],
        "a dorsally angulated, comminuted fracture of the distal radius",
    ),
    (
        "S61",
        "Complex laceration repair",
        "Local anesthesia with 1% lidocaine",
        &[
            "The wound was anesthetized and explored; no foreign body or tendon injury was found.",
            "The wound was irrigated copiously with normal saline.",
            "The laceration was closed with interrupted nylon sutures.",
        ],
        "a clean laceration without tendon, nerve, or vascular injury",
    ),
    (
        "S01.81",
        "Simple laceration repair",
        "Local anesthesia with 1% lidocaine with epinephrine",
        &[
            "The wound was explored and no foreign body was found.",
            "The wound was irrigated with normal saline.",
            "The skin edges were approximated with interrupted fine nylon sutures with good cosmetic result.",
        ],
        "a linear laceration without foreign body",
    ),
    (
        "M17",
        "Total knee arthroplasty",
        "Spinal anesthesia with adductor canal block",
        &[
            "A tourniquet was applied and a midline incision with a medial parapatellar arthrotomy was made.",
            "The distal femur and proximal tibia were cut with the appropriate guides and the ligaments were balanced.",
            "Trial components showed good stability and range of motion.",
            "The final cemented components were implanted and the patella was resurfaced.",
            "The arthrotomy was closed in layers.",
        ],
        "severe tricompartmental degenerative change with eburnated bone",
    ),
    (
        "M75.1",
        "Arthroscopic rotator cuff repair with subacromial decompression",
        "General anesthesia with interscalene block",
        &[
            "The patient was placed in the beach-chair position.",
            "Diagnostic arthroscopy was performed through a posterior portal.",
            "A subacromial decompression was performed with a shaver and burr.",
            "The tendon edge was debrided and repaired to the footprint with suture anchors.",
        ],
        "a full-thickness supraspinatus tear with mild retraction",
    ),
    (
        "G56.0",
        "Open carpal tunnel release",
        "Local anesthesia with monitored anesthesia care",
        &[
            "A longitudinal incision was made in line with the radial border of the ring finger.",
            "The transverse carpal ligament was divided completely under direct vision, protecting the median nerve.",
        ],
        "a flattened, hyperemic median nerve beneath a thickened transverse carpal ligament",
    ),
    (
        "H25",
        "Phacoemulsification with posterior chamber intraocular lens implantation",
        "Topical anesthesia with monitored anesthesia care",
        &[
            "A clear corneal incision was made and viscoelastic was instilled.",
            "A continuous curvilinear capsulorrhexis was completed.",
            "The nucleus was removed by phacoemulsification and cortex by irrigation and aspiration.",
            "A foldable intraocular lens was placed in the capsular bag.",
        ],
        "a dense nuclear cataract",
    ),
    (
        "N20",
        "Cystoscopy, ureteroscopy with laser lithotripsy, and ureteral stent placement",
        "General anesthesia",
        &[
            "The cystoscope was inserted and the bladder inspected.",
            "A guide wire was passed up the ureter under fluoroscopy.",
            "The ureteroscope was advanced to the stone, which was fragmented with the holmium laser and the fragments were basket-extracted.",
            "A double-J ureteral stent was placed with good curl seen in the kidney and the bladder.",
        ],
        "an obstructing stone, completely fragmented",
    ),
    (
        "N40",
        "Transurethral resection of the prostate",
        "Spinal anesthesia",
        &[
            "The resectoscope was inserted and the prostatic urethra was inspected.",
            "Obstructing lateral lobe tissue was resected down to the capsule.",
            "Hemostasis was obtained with electrocautery and the chips were evacuated.",
            "A three-way catheter was placed with continuous bladder irrigation.",
        ],
        "trilobar prostatic hypertrophy with a high bladder neck",
    ),
    (
        "C61",
        "Robotic-assisted laparoscopic radical prostatectomy with pelvic lymph node dissection",
        "General endotracheal anesthesia",
        &[
            "The robot was docked after port placement.",
            "The space of Retzius was developed and the endopelvic fascia opened.",
            "The prostate and seminal vesicles were dissected free with nerve sparing bilaterally.",
            "A bilateral pelvic lymph node dissection was performed.",
            "The vesicourethral anastomosis was completed with running barbed suture.",
        ],
        "a firm gland without gross extracapsular extension",
    ),
    (
        "C50",
        "Partial mastectomy with sentinel lymph node biopsy",
        "General anesthesia with laryngeal mask airway",
        &[
            "Radioisotope and blue dye were injected in the periareolar region.",
            "A curvilinear incision was made over the localized lesion and the mass was excised with a rim of normal tissue.",
            "The specimen radiograph confirmed the clip and lesion within the specimen.",
            "Two hot and blue sentinel nodes were removed through a separate axillary incision.",
        ],
        "a firm mass with grossly clear margins",
    ),
    (
        "C18",
        "Laparoscopic hemicolectomy",
        "General endotracheal anesthesia",
        &[
            "The colon was mobilized and the vascular pedicle ligated at its origin.",
            "The bowel was divided with staplers and the specimen extracted through a small incision.",
            "A stapled anastomosis was created and the mesenteric defect closed.",
        ],
        "a tumor of the colon without peritoneal or hepatic metastases",
    ),
    (
        "C44",
        "Excision of skin lesion with layered closure",
        "Local anesthesia with 1% lidocaine with epinephrine",
        &[
            "An elliptical excision was designed with adequate margins.",
            "The lesion was excised full thickness and sent for pathology.",
            "The wound was closed in layers with buried absorbable sutures and running nylon.",
        ],
        "a pearly lesion with rolled borders",
    ),
    (
        "D22",
        "Excision of nevus",
        "Local anesthesia with 1% lidocaine",
        &[
            "An elliptical excision with narrow margins was performed.",
            "The specimen was sent for pathology.",
            "The skin was closed with interrupted nylon sutures.",
        ],
        "a pigmented macule",
    ),
    (
        "L72",
        "Excision of epidermal cyst",
        "Local anesthesia with 1% lidocaine",
        &[
            "An elliptical incision was made over the cyst including the punctum.",
            "The cyst was dissected free intact.",
            "The wound was closed with interrupted sutures.",
        ],
        "an intact cyst with cheesy contents",
    ),
    (
        "L02",
        "Incision and drainage of abscess",
        "Local anesthesia with 1% lidocaine",
        &[
            "A linear incision was made over the area of maximal fluctuance.",
            "Purulent material was expressed and sent for culture.",
            "Loculations were broken up with a hemostat and the cavity irrigated.",
            "The cavity was packed with iodoform gauze.",
        ],
        "a fluctuant abscess with moderate purulent drainage",
    ),
    (
        "T81.4",
        "Incision, drainage, and debridement of surgical wound",
        "General anesthesia",
        &[
            "The incision was opened and purulent fluid was evacuated and cultured.",
            "Nonviable tissue was sharply debrided to bleeding tissue.",
            "The wound was irrigated and a negative pressure dressing applied.",
        ],
        "a superficial wound infection without fascial dehiscence",
    ),
    (
        "D25",
        "Total laparoscopic hysterectomy with bilateral salpingectomy",
        "General endotracheal anesthesia",
        &[
            "A uterine manipulator was placed.",
            "The round ligaments were divided and the bladder flap developed.",
            "The uterine vessels were skeletonized and sealed.",
            "The colpotomy was completed and the uterus removed vaginally.",
            "The vaginal cuff was closed laparoscopically.",
        ],
        "an enlarged uterus with multiple intramural and subserosal fibroids; normal ovaries",
    ),
    (
        "M48.06",
        "Lumbar laminectomy and decompression",
        "General endotracheal anesthesia",
        &[
            "The patient was positioned prone on a Jackson table.",
            "A midline incision was made and the paraspinal muscles were elevated subperiosteally.",
            "Laminectomy was performed and the hypertrophied ligamentum flavum was removed.",
            "The foramina were decompressed until the nerve roots were free.",
        ],
        "severe central canal stenosis from facet and ligamentous hypertrophy",
    ),
    (
        "M51",
        "Lumbar microdiscectomy",
        "General endotracheal anesthesia",
        &[
            "Level was confirmed with fluoroscopy.",
            "A hemilaminotomy was performed under the microscope.",
            "The nerve root was retracted medially and the herniated disc fragment removed.",
        ],
        "an extruded disc fragment compressing the traversing nerve root",
    ),
    (
        "I65.2",
        "Carotid endarterectomy with patch angioplasty",
        "General endotracheal anesthesia",
        &[
            "An incision was made along the anterior border of the sternocleidomastoid.",
            "The common, internal, and external carotid arteries were controlled after heparin was given.",
            "The plaque was removed via an arteriotomy and the endpoint tacked.",
            "The arteriotomy was closed with a patch.",
        ],
        "a heavily calcified, ulcerated plaque at the bifurcation",
    ),
    (
        "J32",
        "Bilateral functional endoscopic sinus surgery",
        "General endotracheal anesthesia",
        &[
            "The nasal cavity was decongested with oxymetazoline pledgets.",
            "Uncinectomy and maxillary antrostomy were performed bilaterally.",
            "Anterior and posterior ethmoidectomy was completed with the microdebrider.",
        ],
        "thickened mucosa and thick secretions in the maxillary and ethmoid sinuses",
    ),
    (
        "H66",
        "Bilateral myringotomy with tympanostomy tube placement",
        "General mask anesthesia",
        &[
            "The ear canals were cleaned of cerumen under the microscope.",
            "An anterior-inferior radial myringotomy was made.",
            "Middle ear fluid was suctioned and a tympanostomy tube placed.",
        ],
        "thick mucoid effusion bilaterally",
    ),
    (
        "J90",
        "Ultrasound-guided thoracentesis",
        "Local anesthesia with 1% lidocaine",
        &[
            "The patient was seated leaning forward.",
            "Ultrasound identified a large fluid pocket and the site was marked.",
            "The catheter was advanced over the rib into the pleural space and fluid was withdrawn.",
            "Samples were sent for cell count, protein, LDH, glucose, cytology, and culture.",
        ],
        "straw-colored pleural fluid",
    ),
    (
        "K74.6",
        "Ultrasound-guided large-volume paracentesis",
        "Local anesthesia with 1% lidocaine",
        &[
            "Ultrasound identified a large pocket of ascites in the left lower quadrant.",
            "The catheter was introduced using a Z-track technique.",
            "Fluid was drained and albumin was given.",
        ],
        "clear, straw-colored ascitic fluid",
    ),
    (
        "M10",
        "Arthrocentesis of the knee",
        "Local anesthesia with 1% lidocaine",
        &[
            "The knee was prepped with chlorhexidine.",
            "An 18-gauge needle was introduced from the superolateral approach.",
            "Cloudy yellow fluid was aspirated and sent for cell count, crystals, and culture.",
        ],
        "cloudy synovial fluid",
    ),
    (
        "C34",
        "Flexible bronchoscopy with endobronchial biopsy",
        "Moderate sedation",
        &[
            "The bronchoscope was passed through the mouth and the airways were inspected.",
            "Endobronchial biopsies and brushings were obtained from the lesion.",
            "Bronchoalveolar lavage was performed.",
        ],
        "an endobronchial lesion partially occluding a segmental bronchus",
    ),
    (
        "O03",
        "Suction dilation and curettage",
        "Monitored anesthesia care with paracervical block",
        &[
            "The cervix was grasped with a single-tooth tenaculum and dilated.",
            "A suction curette was introduced and products of conception were evacuated.",
            "Sharp curettage confirmed an empty cavity.",
        ],
        "products of conception",
    ),
    (
        "E04.1",
        "Ultrasound-guided fine-needle aspiration of thyroid nodule",
        "Local anesthesia with 1% lidocaine",
        &[
            "The nodule was localized with ultrasound.",
            "Four passes were made with a 25-gauge needle and slides were prepared.",
            "Pressure was held for hemostasis.",
        ],
        "a solid, hypoechoic nodule",
    ),
];

/// Endoscopies by code prefix: `(prefix, colonoscopy (else upper endoscopy), findings)`.
const SCOPES: &[(&str, bool, &[&str])] = &[
    ("Z12.11", true, &["The entire examined colon appeared normal."]),
    (
        "D12.6",
        true,
        &[
            "A 7 mm sessile polyp was found in the ascending colon and removed with a cold snare.",
            "Two 4 mm polyps in the transverse colon were removed with cold forceps.",
        ],
    ),
    ("K63.5", true, &["A 5 mm sessile polyp was found in the sigmoid colon and removed with a cold snare; retrieval was complete."]),
    ("K57.30", true, &["Multiple small and large-mouthed diverticula were found in the sigmoid and descending colon, without bleeding or inflammation."]),
    ("K64", true, &["Non-bleeding medium-sized internal hemorrhoids were found on retroflexion."]),
    ("C18", true, &["A fungating, friable, partially obstructing mass was found; biopsies were taken and the site was tattooed."]),
    ("K62.5", true, &["No source of bleeding was identified; the colon appeared normal to the cecum."]),
    ("K92.2", true, &["No active bleeding or stigmata of recent hemorrhage were found; old blood was seen in the colon."]),
    ("D50", true, &["The colon appeared normal; no source of blood loss was identified."]),
    ("R19.7", true, &["The colon appeared normal; random biopsies were taken to evaluate for microscopic colitis."]),
    (
        "K21",
        false,
        &["The Z-line was regular; the esophageal mucosa was normal without erosions.", "Small amount of liquid reflux was noted; no Barrett mucosa."],
    ),
    ("K29.7", false, &["Patchy erythema of the gastric antrum; biopsies were obtained for Helicobacter pylori."]),
    ("K44", false, &["A 3 cm sliding hiatal hernia was present."]),
    ("R13.1", false, &["The esophagus was normal without stricture, ring, or mass; biopsies were obtained from the proximal and distal esophagus."]),
    ("R10.13", false, &["The esophagus, stomach, and duodenum appeared normal; biopsies were obtained."]),
    ("K74.6", false, &["No esophageal or gastric varices were seen."]),
];

/// The dangerous diagnosis that a symptom admission often rules out.
const RULED_OUT: &[(&str, &str)] = &[
    ("R07.9", "I21.4"),
    ("R07.89", "I21.4"),
    ("R06.02", "I26.99"),
    ("R42", "I63.9"),
    ("R41.82", "I63.9"),
    ("R29.6", "S72.009A"),
    ("R10.31", "K35.80"),
    ("R10.84", "K56.609"),
    ("R50.9", "A41.9"),
    ("R55", "I21.4"),
    ("R05.9", "J18.9"),
    ("R51.9", "I63.9"),
    ("R00.2", "I48.91"),
    ("R56.9", "G40.909"),
];

/// Sentences that state a sibling label's deciding words as absent (or this label's as
/// present), so a classifier must read the specifier rather than the shared category word.
const CONTRAST: &[(&str, &[&str])] = &[
    ("J44.9", &["Breathing is at baseline; not in acute exacerbation at this time.", "No recent lower respiratory tract infection."]),
    (
        "J44.1",
        &[
            "Chest x-ray without infiltrate and afebrile, so no superimposed lower respiratory infection.",
            "This is a flare of obstructive lung disease without pneumonia.",
        ],
    ),
    ("J44.0", &["Purulent sputum and a new infiltrate: infection is driving this flare."]),
    ("J45.909", &["Symptoms well controlled; no current exacerbation.", "Not in status asthmaticus and not exacerbating."]),
    ("J45.20", &["Symptoms less than twice a week with no nighttime awakenings: intermittent rather than persistent disease."]),
    ("J45.40", &["Daily symptoms with nighttime awakenings more than once a week: persistent, not intermittent, disease of moderate severity."]),
    ("J45.901", &["Currently in acute exacerbation despite controller therapy."]),
    (
        "E11.9",
        &[
            "No known diabetic complications: no retinopathy, nephropathy, or neuropathy.",
            "Monofilament sensation intact, urine microalbumin normal, and last dilated eye exam without retinopathy.",
        ],
    ),
    ("E11.65", &["Sugars are running high with A1c well above goal; no neuropathy or kidney involvement documented."]),
    ("E11.42", &["Kidney function normal without albuminuria; the complication is neuropathy."]),
    ("E11.22", &["Monofilament sensation intact without peripheral neuropathy; the complication is kidney disease."]),
    ("E11.649", &["The issue is low blood sugars, not hyperglycemia."]),
    ("E10.9", &["Anion gap normal and ketones negative; no ketoacidosis."]),
    ("E10.10", &["Anion gap elevated with serum ketones present, consistent with ketoacidosis rather than simple hyperglycemia."]),
    ("I50.22", &["Euvolemic on exam with stable weight; no signs of acute decompensation.", "Ejection fraction reduced at 30%."]),
    ("I50.32", &["Ejection fraction preserved at 60%.", "No signs of acute decompensation; weight stable."]),
    ("I50.23", &["Ejection fraction reduced at 25%, now acutely decompensated with volume overload."]),
    ("I50.33", &["Ejection fraction preserved at 55%, now acutely decompensated with volume overload."]),
    ("I48.0", &["Episodes are self-terminating within 48 hours; not persistent or permanent."]),
    ("M17.11", &["The left knee is asymptomatic with full range of motion.", "Left knee without effusion or crepitus."]),
    ("M17.12", &["The right knee is asymptomatic with full range of motion.", "Right knee without effusion or crepitus."]),
    ("M17.0", &["Both knees are affected, the right somewhat worse than the left."]),
    ("M25.511", &["The left shoulder is normal."]),
    ("M25.512", &["The right shoulder is normal."]),
    ("M25.561", &["The left knee is normal."]),
    ("M25.562", &["The right knee is normal."]),
    ("M54.41", &["No symptoms in the left leg."]),
    ("M54.42", &["No symptoms in the right leg."]),
    ("M54.50", &["No radicular symptoms; straight leg raise negative bilaterally."]),
    ("M54.2", &["No radiating arm pain, numbness, or weakness."]),
    ("C50.911", &["The left breast is unremarkable."]),
    ("C50.912", &["The right breast is unremarkable."]),
    ("S93.401A", &["The left ankle is nontender with full range of motion."]),
    ("S93.402A", &["The right ankle is nontender with full range of motion."]),
    ("L03.115", &["The left leg is without erythema or warmth."]),
    ("L03.116", &["The right leg is without erythema or warmth."]),
    ("F41.1", &["Constant worry rather than discrete panic attacks."]),
    ("F41.0", &["Discrete, unprovoked attacks rather than constant worry."]),
    ("F33.1", &["This is a recurrent episode of moderate severity without psychotic features."]),
    ("G47.33", &["Falls asleep easily; the problem is not sleep onset or maintenance."]),
    ("G47.00", &["No snoring or witnessed apneas."]),
    ("Z00.00", &["No abnormal findings on today's examination."]),
    ("Z00.129", &["No abnormal findings on today's examination."]),
    ("Z38.00", &["Born by spontaneous vaginal delivery, not by cesarean section."]),
    ("Z38.01", &["Delivered by cesarean section."]),
    ("R10.13", &["Pain localized to the epigastrium; right lower quadrant nontender."]),
    ("R10.31", &["Pain localized to the right lower quadrant; epigastrium nontender."]),
    ("R10.84", &["Pain is generalized rather than localized to one quadrant."]),
    ("R07.89", &["The pain is reproducible with palpation of the chest wall."]),
    ("E78.00", &["Triglycerides normal with isolated elevation of LDL."]),
    ("E78.2", &["Both LDL and triglycerides are elevated."]),
    ("K57.30", &["No evidence of diverticulitis and no bleeding."]),
    ("K57.32", &["No abscess or perforation."]),
    ("J02.9", &["Rapid strep test negative."]),
    ("J02.0", &["Rapid strep test positive."]),
    ("S06.0X0A", &["No loss of consciousness."]),
    ("N18.31", &["eGFR 52, stage 3a."]),
    ("N18.32", &["eGFR 38, stage 3b."]),
    ("N18.4", &["eGFR 22, stage 4, not yet on dialysis."]),
    ("N18.6", &["On maintenance hemodialysis three times weekly."]),
];

/// Imaging keywords (whole words) that make a knowledge test an imaging study.
const IMAGING: &[&str] = &[
    "ct",
    "cta",
    "mri",
    "cxr",
    "x-ray",
    "x-rays",
    "xray",
    "radiograph",
    "radiographs",
    "ultrasound",
    "duplex",
    "doppler",
    "mammogram",
    "mammography",
    "dexa",
    "chest film",
];

fn op_for(code: &str) -> Option<&'static Op> {
    OPS.iter().find(|o| code.starts_with(o.0))
}

/// The operation done for a code, if any ("Laparoscopic appendectomy").
pub(super) fn procedure_for(code: &str) -> Option<&'static str> {
    op_for(code).map(|o| o.1)
}

fn scope_for(code: &str) -> Option<&'static (&'static str, bool, &'static [&'static str])> {
    SCOPES.iter().find(|s| code.starts_with(s.0))
}

pub(super) fn ruled_out_for(code: &str) -> Option<&'static str> {
    RULED_OUT.iter().find(|(c, _)| *c == code).map(|(_, o)| *o)
}

pub(super) fn contrast_for(code: &str) -> &'static [&'static str] {
    CONTRAST.iter().find(|(c, _)| *c == code).map_or(&[], |(_, v)| v)
}

/// The first imaging study among the code's tests, as (exam name, finding).
fn imaging_test(l: &Lex) -> Option<(String, String)> {
    let t = l.entry.tests.iter().find(|t| {
        let lt = t.to_ascii_lowercase();
        IMAGING.iter().any(|k| contains_phrase_lc(&lt, k))
    })?;
    match t.split_once(':') {
        Some((exam, finding)) if exam.len() < 70 && !finding.trim().is_empty() => Some((exam.trim().to_string(), finding.trim().to_string())),
        _ => {
            let lt = t.to_ascii_lowercase();
            let exam = IMAGING.iter().find(|k| contains_phrase_lc(&lt, k)).copied().unwrap_or("imaging");
            let name = match exam {
                "cxr" | "x-ray" | "x-rays" | "xray" | "radiograph" | "radiographs" | "chest film" => "Radiographs",
                "ct" | "cta" => "CT",
                "mri" => "MRI",
                "mammogram" | "mammography" => "Mammogram",
                "dexa" => "DEXA bone density scan",
                _ => "Ultrasound",
            };
            Some((name.to_string(), t.clone()))
        }
    }
}

fn is_psych(code: &str) -> bool {
    (code.starts_with('F') && !["F17", "F03", "F05"].iter().any(|p| code.starts_with(p))) || code.starts_with("R45.851")
}

/// Which v2 document a label's note is, weighted by where the condition is documented.
pub(super) fn pick_chart_type(rng: &R, l: &Lex) -> NoteType {
    let c = l.code.as_str();
    let e = l.entry;
    let mut opts: Vec<(NoteType, u32)> = Vec::new();
    if c.starts_with("Z38") || c.starts_with('P') {
        opts.push((NoteType::Newborn, 12));
    }
    if c.starts_with('O') || c.starts_with("Z34") {
        opts.push((NoteType::Obstetric, 8));
    }
    if is_psych(c) {
        opts.push((NoteType::Psych, 6));
    }
    if op_for(c).is_some() && e.kind != Kind::Encounter {
        opts.push((NoteType::Operative, 6));
    }
    if scope_for(c).is_some() {
        opts.push((NoteType::Endoscopy, if c.starts_with("Z12") { 14 } else { 5 }));
    }
    if (e.kind != Kind::Encounter || c.starts_with("Z12.31")) && imaging_test(l).is_some() {
        opts.push((NoteType::Radiology, if c.starts_with("Z12.31") { 14 } else { 2 }));
    }
    if e.settings.contains(&Setting::Inpatient) {
        opts.push((NoteType::HospitalDischarge, 4));
    }
    if e.kind != Kind::Encounter {
        opts.push((NoteType::ConsultLetter, if e.settings.contains(&Setting::Consult) { 3 } else { 1 }));
    }
    if matches!(e.kind, Kind::Chronic | Kind::Status) && e.age[1] >= 18 {
        opts.push((NoteType::ChronicFollowUp, 6));
    }
    opts.push((NoteType::FullHp, 5));
    let total: u32 = opts.iter().map(|o| o.1).sum();
    let mut x = rng.gen_range(0..total);
    for (t, w) in &opts {
        if x < *w {
            return *t;
        }
        x -= w;
    }
    NoteType::FullHp
}

/// The ICD-10-CM first-listed-code guideline this note follows (recorded in meta).
pub(super) fn coding_rule(nt: NoteType, p: &Lex, screen_finding: bool) -> &'static str {
    if screen_finding || p.code.starts_with("Z12") {
        return "screening_first";
    }
    match nt {
        NoteType::Operative => "postoperative_diagnosis",
        NoteType::HospitalDischarge | NoteType::Discharge => "principal_diagnosis",
        _ if p.entry.kind == Kind::Symptom => "symptom_no_definitive_diagnosis",
        _ => "reason_for_encounter",
    }
}

/// Other history that codes nothing here: not in the label space, or remote and resolved.
const PMH_EXTRA: &[&str] = &[
    "benign essential tremor",
    "Barrett esophagus without dysplasia",
    "mitral valve prolapse",
    "restless legs syndrome",
    "Raynaud phenomenon",
    "rosacea",
    "Dupuytren contracture of the right hand",
    "trigger finger, treated with injection",
    "lateral epicondylitis, resolved",
    "remote Bell palsy with full recovery",
    "hepatitis A in childhood",
    "mononucleosis as a teenager",
    "pilonidal cyst drained in college",
    "fractured left wrist as a child",
    "ganglion cyst, resolved",
    "seasonal conjunctivitis",
    "hammertoe deformity",
    "pes planus",
];

const PSH_EXTRA: &[&str] = &[
    "appendectomy",
    "laparoscopic cholecystectomy",
    "tonsillectomy and adenoidectomy as a child",
    "right knee arthroscopy",
    "left inguinal hernia repair",
    "tubal ligation",
    "cesarean section",
    "cataract extraction with lens implant, right eye",
    "wisdom teeth extraction",
    "open reduction internal fixation of the left ankle",
    "carpal tunnel release",
    "septoplasty",
    "vasectomy",
    "hysterectomy",
    "lumbar microdiscectomy",
    "excision of a benign breast lump",
];

/// Medications that treat no labelled condition, to make medication lists chart-length.
const MEDS_EXTRA: &[&str] = &[
    "Aspirin 81 mg p.o. daily",
    "Multivitamin 1 tablet p.o. daily",
    "Calcium carbonate 600 mg p.o. b.i.d.",
    "Fish oil 1000 mg p.o. daily",
    "Docusate sodium 100 mg p.o. b.i.d. p.r.n. constipation",
    "Acetaminophen 650 mg p.o. q.6h. p.r.n. pain",
    "Melatonin 3 mg p.o. at bedtime",
    "Loratadine 10 mg p.o. daily p.r.n.",
    "Artificial tears 1 drop each eye q.i.d. p.r.n.",
    "Senna 8.6 mg p.o. at bedtime p.r.n.",
    "Magnesium oxide 400 mg p.o. daily",
    "Glucosamine 1500 mg p.o. daily",
];

const FAMILY_EXTRA: &[&str] = &[
    "Mother is alive and well at 78.",
    "Father died at 81 of natural causes.",
    "Two siblings in good health.",
    "No family history of sudden cardiac death.",
    "Children are healthy.",
    "Parents are deceased; details unknown.",
];

/// Generic labs: `(text, words that mean a code of the record speaks to this analyte)`.
const LAB_PANEL: &[(&str, &[&str])] = &[
    ("WBC 7.4", &["wbc", "white", "leukocyt", "neutro", "sepsis"]),
    ("hemoglobin 13.6", &["hemoglobin", "hgb", "anemia", "ferritin", "bleed"]),
    ("hematocrit 40.8", &["hematocrit", "hemoglobin", "hgb", "anemia"]),
    ("platelets 246", &["platelet", "plt", "thrombocyt"]),
    ("sodium 139", &["sodium", "na "]),
    ("potassium 4.2", &["potassium", "k "]),
    ("chloride 103", &["chloride"]),
    ("bicarbonate 25", &["bicarbonate", "co2", "anion gap", "ketoacidosis"]),
    ("BUN 15", &["bun", "creatinine", "egfr", "kidney", "renal"]),
    ("creatinine 0.9", &["creatinine", "egfr", "kidney", "renal"]),
    ("glucose 96", &["glucose", "a1c", "diabet", "sugar"]),
    ("calcium 9.4", &["calcium"]),
    ("AST 24", &["ast", "alt", "liver", "hepat", "cirrhosis"]),
    ("ALT 21", &["ast", "alt", "liver", "hepat", "cirrhosis"]),
    ("albumin 4.1", &["albumin", "cirrhosis", "ascites"]),
];

impl<'g, 'a> Case<'g, 'a> {
    /// "67-year-old gentleman", "3-day-old male infant".
    fn dictated_who(&self, rng: &R) -> String {
        let a = self.age;
        let f = self.female;
        if a == 0 {
            return format!("{}-day-old {} infant", rng.gen_range(1..=3), if f { "female" } else { "male" });
        }
        if a < 13 {
            return format!("{a}-year-old {}", if f { "girl" } else { "boy" });
        }
        let opts: &[&str] = match (f, a >= 60) {
            (true, true) => &["woman", "female", "lady"],
            (true, false) => &["woman", "female"],
            (false, true) => &["man", "male", "gentleman"],
            (false, false) => &["man", "male"],
        };
        format!("{a}-year-old {}", pk(rng, opts))
    }

    fn his(&self) -> &'static str {
        if self.female {
            "her"
        } else {
            "his"
        }
    }

    fn title(&self) -> String {
        format!("{} {}", if self.female { "Ms." } else { "Mr." }, self.surname)
    }

    /// The primary's name, never empty in v2 documents.
    fn pt(&self, rng: &R) -> String {
        self.pname(rng).unwrap_or_else(|| term(rng, self.p))
    }

    fn sec_terms(&self) -> Vec<String> {
        self.secs.iter().map(|s| self.sname(s)).collect()
    }

    /// A secondary's name, fixed for the note: dictated documents repeat one wording.
    fn sname(&self, s: &Lex) -> String {
        self.secs.iter().position(|x| x.code == s.code).map_or_else(|| s.entry.terms[0].clone(), |i| self.sec_names[i].clone())
    }

    /// Dictated HPI: "The patient is a 67-year-old gentleman with a past medical history
    /// significant for ... who presents with ...", then the story in full sentences.
    fn narrative_hpi(&self, rng: &R) -> String {
        let e = self.p.entry;
        let he = cap(self.he());
        let who = self.dictated_who(rng);
        let mut pmh: Vec<String> = self.secs.iter().filter(|s| in_pmh(s) || social_code(&s.code)).map(|s| self.sname(s)).collect();
        if let Some(b) = &self.base {
            pmh.insert(0, b.clone());
        }
        let hx = if pmh.is_empty() {
            String::new()
        } else {
            format!(
                " with a {} {}",
                pk(rng, &["past medical history significant for", "history of", "past medical history of", "known history of"]),
                prose_list(rng, &pmh)
            )
        };
        let c1 = self.complaint(rng);
        let dur = super::duration(rng, e.kind);
        let mut out: Vec<String> = Vec::new();
        let pt = self.pt(rng);
        let intro = match e.kind {
            _ if self.nt == NoteType::Newborn || self.age == 0 => format!("This is a {who}{hx}, seen in the newborn nursery; problem: {pt}."),
            _ if self.nt == NoteType::Obstetric => format!("She{hx} is seen today for {pt}. {}", sentence(&c1)),
            Kind::Encounter => format!("The patient is a {who}{hx} who presents today for {pt}."),
            Kind::Chronic | Kind::Status if chance(rng, 0.6) => pick(
                rng,
                &[
                    format!("The patient is a {who}{hx} who presents for follow-up of {pt}."),
                    format!("{} is a {who}{hx} who returns to clinic for ongoing management of {pt}.", self.title()),
                    format!("This is a {who}{hx} who is seen today regarding {pt}, which has been followed for several years."),
                ],
            )
            .clone(),
            _ => pick(
                rng,
                &[
                    format!("The patient is a {who}{hx} who presents with {c1} {dur}."),
                    format!("{} is a {who}{hx} who was in {} usual state of health until {dur} when {} developed {c1}.", self.title(), self.his(), self.he()),
                    format!("This is a pleasant {who}{hx} who comes in complaining of {c1} {dur}."),
                ],
            )
            .clone(),
        };
        out.push(intro);
        let mut more: Vec<String> = self.complaints.iter().filter(|c| **c != c1).cloned().collect();
        more.extend(self.statements.iter().cloned());
        // With a detailed secondary, the primary's own story is shorter.
        let n_more = if self.focus.is_some() { rng.gen_range(1..=2) } else { 4 };
        for m in pick_n(rng, &more, n_more) {
            out.push(if super::is_complaint(&m) {
                pick(rng, &[format!("{he} also reports {m}."), format!("{he} endorses {m}."), format!("There has been associated {m}.")]).clone()
            } else {
                sentence(&m)
            });
        }
        if !self.risk.is_empty() && chance(rng, 0.7) {
            out.push(format!("Pertinent history includes {}.", pk(rng, &self.risk)));
        }
        if !e.tests.is_empty() && chance(rng, 0.6) {
            out.push(format!(
                "{} {}.",
                pk(rng, &["Prior work-up showed", "Outside records were reviewed and showed", "Recent testing revealed"]),
                pk(rng, &e.tests)
            ));
        }
        if !matches!(e.kind, Kind::Encounter) && chance(rng, 0.6) {
            out.push(
                pick(rng, &[format!("{he} has been taking {}.", pk(rng, &self.p.meds)), format!("{he} was previously tried on {}.", pk(rng, &self.p.meds))])
                    .clone(),
            );
        }
        for s in self.secs.iter().filter(|s| is_current(s)) {
            out.push(format!(
                "{} {}.",
                pk(rng, &["{he} was also found to have", "Evaluation also revealed", "Course has been complicated by"]).replace("{he}", &he),
                self.sname(s)
            ));
        }
        if !self.ros_neg.is_empty() && self.age >= 3 {
            let negs: Vec<String> = pick_n(rng, &self.ros_neg, rng.gen_range(3..=5)).iter().map(|&i| vocab::ROS_NEG[i].0.to_string()).collect();
            out.push(format!("{he} denies {}.", prose_list(rng, &negs)));
        }
        let pn = self.distractors_of(&["pertinent_negative"]);
        if !pn.is_empty() {
            let l = prose_list(rng, &pn);
            out.push(
                pick(
                    rng,
                    &[format!("{he} denies {l}."), format!("No {l}."), format!("There has been no {l}."), format!("Specifically, {} denies {l}.", self.he())],
                )
                .clone(),
            );
        }
        for c in &self.contrast {
            out.push(c.clone());
        }
        for d in self.distractors_of(&["resolved"]) {
            if chance(rng, 0.3) {
                out.push(format!("Of note, {d}."));
            }
        }
        if let Some(f) = self.focus {
            out.push(self.focus_story(rng, f));
        }
        // Long stories break into paragraphs, as dictation does.
        if out.len() > 6 && chance(rng, 0.5) {
            let mid = out.len() / 2;
            format!("{}\n\n{}", out[..mid].join(" "), out[mid..].join(" "))
        } else {
            out.join(" ")
        }
    }

    /// A secondary problem told in detail: its symptoms, a result and its treatment.
    fn focus_story(&self, rng: &R, f: &Lex) -> String {
        let he = cap(self.he());
        let name = self.sname(f);
        let mut v = vec![pick(
            rng,
            &[
                format!("Regarding {} {name}, {} has had a harder time recently.", self.his(), self.he()),
                format!("{he} also has {name}, which has needed more attention lately."),
                format!("Much of today's discussion also concerned {} {name}.", self.his()),
                format!("As for {} {name}:", self.his()),
            ],
        )
        .clone()];
        for s in pick_n(rng, &self.focus_sym, rng.gen_range(2..=3)) {
            v.push(if super::is_complaint(&s) { format!("{he} {} {s}.", pk(rng, &["reports", "notes", "describes"])) } else { sentence(&s) });
        }
        if let Some(t) = pick_n(rng, &f.entry.tests, 1).first() {
            v.push(format!("{} {}.", pk(rng, &["Most recent results:", "Recent testing showed", "Labs showed"]), t));
        }
        v.push(format!("{he} {} {}.", pk(rng, &["takes", "is maintained on", "remains on"]), pk(rng, &f.meds)));
        let risk: Vec<&String> = f
            .risk
            .iter()
            .filter(|r| !["family", "mother", "father", "sibling", "male", "women", " men", "sex"].iter().any(|w| r.to_ascii_lowercase().contains(w)))
            .collect();
        if !risk.is_empty() {
            v.push(format!("Relevant history includes {}.", pick(rng, &risk)));
        }
        v.join(" ")
    }

    fn pmh_chart(&self, rng: &R) -> String {
        let mut items: Vec<String> = self.secs.iter().filter(|s| in_pmh(s)).map(|s| self.sname(s)).collect();
        if matches!(self.p.entry.kind, Kind::Chronic | Kind::Status) && chance(rng, 0.5) {
            items.insert(0, self.pt(rng));
        }
        if let Some(b) = &self.base {
            items.insert(0, b.clone());
        }
        items.extend(pick_n(rng, PMH_EXTRA, rng.gen_range(0..=3)).iter().map(|s| s.to_string()));
        items.extend(self.distractors_of(&["resolved"]));
        if items.is_empty() {
            // Nothing above it, so not "otherwise".
            return pk(rng, &["Unremarkable.", "Noncontributory.", "None."]).to_string();
        }
        self.numbered_or_prose(&items)
    }

    fn numbered_or_prose(&self, items: &[String]) -> String {
        if self.style.numbered && items.len() > 1 {
            items.iter().enumerate().map(|(i, t)| format!("{}. {}", i + 1, cap(t))).collect::<Vec<_>>().join("\n")
        } else {
            sentence(&items.iter().map(|s| cap(s)).collect::<Vec<_>>().join(". "))
        }
    }

    fn psh_chart(&self, rng: &R) -> String {
        let n = rng.gen_range(0..=3);
        if n == 0 && self.distractors_of(&["surgical_history"]).is_empty() {
            return pk(rng, &["None.", "No prior surgeries.", "Noncontributory."]).to_string();
        }
        // Sex-specific operations only for the matching sex.
        let female_only = ["tubal ligation", "cesarean section", "hysterectomy", "excision of a benign breast lump"];
        let pool: Vec<&str> = PSH_EXTRA.iter().copied().filter(|s| if self.female { *s != "vasectomy" } else { !female_only.contains(s) }).collect();
        let mut items: Vec<String> = pick_n(rng, &pool, n).iter().map(|s| format!("{} in {}", cap(s), rng.gen_range(1975..2022))).collect();
        items.extend(self.distractors_of(&["surgical_history"]));
        self.numbered_or_prose(&items)
    }

    fn meds_chart(&self, rng: &R, with_primary: bool) -> String {
        let mut m: Vec<String> = Vec::new();
        if with_primary {
            m.extend(pick_n(rng, &self.p.meds, rng.gen_range(1..=2)).iter().map(|x| cap(x)));
        }
        for s in &self.secs {
            if s.entry.kind != Kind::Status || s.code.starts_with("Z79") {
                m.push(cap(pk(rng, &s.meds)));
            }
        }
        m.extend(self.extra_meds.iter().map(|x| cap(x)));
        m.extend(pick_n(rng, MEDS_EXTRA, rng.gen_range(1..=4)).iter().map(|s| s.to_string()));
        m.retain(|x| !crate::generate::is_instruction(&x.to_ascii_lowercase()));
        if self.style.numbered || m.len() > 4 {
            m.iter().enumerate().map(|(i, t)| format!("{}. {t}", i + 1)).collect::<Vec<_>>().join("\n")
        } else {
            m.join(", ")
        }
    }

    fn family_chart(&self, rng: &R) -> String {
        let mut v: Vec<String> = self.distractors_of(&["family_history"]).iter().map(|f| sentence(f)).collect();
        v.extend(pick_n(rng, FAMILY_EXTRA, rng.gen_range(1..=2)).iter().map(|s| s.to_string()));
        v.join(" ")
    }

    fn social_chart(&self, rng: &R) -> String {
        let mut s = self.social(rng);
        if self.age >= 18 && chance(rng, 0.6) {
            s.push_str(&format!(
                " {}",
                pk(
                    rng,
                    &[
                        "Independent in activities of daily living.",
                        "Exercises by walking several times a week.",
                        "Drives and manages own medications.",
                        "Has a supportive family nearby."
                    ]
                )
            ));
        }
        s
    }

    /// Full review of systems, one line per system with its negatives.
    fn ros_chart(&self, rng: &R) -> String {
        let upper = self.style.hcase != 1;
        let mut lines = Vec::new();
        for (sys, idx) in vocab::ROS_SYSTEMS {
            let negs: Vec<&str> = idx.iter().filter(|i| self.ros_neg.contains(i)).map(|&i| vocab::ROS_NEG[i].0).collect();
            let body = if negs.is_empty() {
                "Positive as noted in the HPI.".to_string()
            } else {
                format!("{} {}.", pk(rng, &["Negative for", "Denies", "No"]), negs.join(", "))
            };
            let label = if upper { sys.to_uppercase() } else { sys.to_string() };
            lines.push(format!("{label}: {body}"));
        }
        if chance(rng, 0.3) {
            lines.push("All other systems reviewed and are negative.".into());
        }
        lines.join(if chance(rng, 0.7) { "\n" } else { " " })
    }

    fn exam_chart(&self, rng: &R) -> String {
        let v = self.vitals(rng);
        let vs = if self.style.hcase == 1 { "Vital signs" } else { "VITAL SIGNS" };
        format!("{vs}: {v}.\n{}", self.exam(rng, true))
    }

    /// Generic chemistry and blood counts (omitting analytes a record code speaks to), then the primary's tests.
    fn labs_chart(&self, rng: &R, n_own: usize) -> String {
        let blob: String = self.codes().map(|l| l.blob.as_str()).collect::<Vec<_>>().join(" ");
        let mut v: Vec<String> = Vec::new();
        // Adult chemistry panels do not belong in newborn notes.
        if self.age > 0 && chance(rng, 0.75) {
            let panel: Vec<&str> = LAB_PANEL.iter().filter(|(_, keys)| !keys.iter().any(|k| blob.contains(k))).map(|(t, _)| *t).collect();
            if !panel.is_empty() {
                v.push(format!("{} {}.", pk(rng, &["Admission labs:", "Labs today:", "Recent labs:", "CBC and BMP:"]), panel.join(", ")));
            }
        }
        let own: Vec<String> = pick_n(rng, &self.p.entry.tests, n_own).into_iter().filter(|x| !self.vitals_from_primary.contains(x)).collect();
        v.extend(own.iter().map(|t| sentence(t)));
        for s in &self.secs {
            if self.focus.is_some_and(|f| f.code == s.code) {
                v.extend(pick_n(rng, &s.entry.tests, 2).iter().map(|t| sentence(t)));
            } else if chance(rng, 0.3) {
                v.push(sentence(pk(rng, &s.entry.tests)));
            }
        }
        for d in self.distractors_of(&["negated"]) {
            v.push(sentence(&d));
        }
        let mut seen = std::collections::BTreeSet::new();
        v.retain(|x| seen.insert(x.to_ascii_lowercase()));
        v.join(if self.style.bullets { "\n" } else { " " })
    }

    /// The standard history block of a dictated H&P or consult.
    fn history_block(&self, rng: &R, parts: &mut Vec<String>, chronic: bool) {
        let st = &self.style;
        parts.push(st.section(rng, Sec::Pmh, &self.pmh_chart(rng)));
        parts.push(st.section(rng, Sec::Psh, &self.psh_chart(rng)));
        parts.push(st.section(rng, Sec::Meds, &self.meds_chart(rng, chronic)));
        parts.push(st.section(rng, Sec::Allergies, pk(rng, vocab::ALLERGIES)));
        parts.push(st.section(rng, Sec::Social, &self.social_chart(rng)));
        parts.push(st.section(rng, Sec::Family, &self.family_chart(rng)));
        parts.push(st.section(rng, Sec::Ros, &self.ros_chart(rng)));
    }

    fn numbered_problems(&self, rng: &R) -> String {
        let pt = self.pt(rng);
        let plan = self.primary_plan(rng);
        // Negated findings already sit with the data; the assessment says what was ruled out.
        let rule: String = self.distractors_of(&["ruled_out"]).iter().map(|r| format!(" {}", sentence(r))).collect();
        let mut lines = vec![format!("1. {}. {}{rule}", cap(&pt), plan.iter().map(|x| sentence(x)).collect::<Vec<_>>().join(" "))];
        for (i, s) in self.secs.iter().enumerate() {
            // Secondary problems get their own evidence too, so the first-listed problem is
            // decided by position and wording rather than by which condition has details.
            let detail = if self.focus.is_some_and(|f| f.code == s.code) {
                format!("{} {} ", sentence(pk(rng, &s.entry.tests)), sentence(pk(rng, &s.entry.symptoms)))
            } else if chance(rng, 0.6) {
                format!("{} ", sentence(pk(rng, if chance(rng, 0.5) { &s.entry.tests } else { &s.entry.symptoms })))
            } else {
                String::new()
            };
            lines.push(format!("{}. {}. {detail}{}", i + 2, cap(&self.sname(s)), sentence(&self.sec_plan(rng, s))));
        }
        lines.join("\n")
    }

    /// Extra material that makes about one long document in eight chart-length (1,000+
    /// words): an interval history, a problem-by-problem review, all data, and counseling.
    fn extended(&self, rng: &R, parts: &mut Vec<String>) {
        let st = &self.style;
        let e = self.p.entry;
        let he = cap(self.he());
        let mut interval = vec![format!(
            "{} was last seen {} ago. Since then, {}.",
            self.title(),
            pk(rng, &["three months", "six weeks", "two months", "about a year"]),
            pk(
                rng,
                &["symptoms have fluctuated", "there have been no emergency visits", "there was one urgent care visit", "home monitoring has been reviewed"]
            )
        )];
        interval.extend(e.symptoms.iter().map(|x| sentence(x)));
        interval.push(format!("{he} reports adherence to {}.", pk(rng, &self.p.meds)));
        parts.push(st.custom(rng, "INTERVAL HISTORY", "Interval history", &interval.join(" ")));
        let mut review = Vec::new();
        for s in &self.secs {
            let sym: Vec<String> = pick_n(rng, &s.entry.symptoms, 2).iter().map(|x| sentence(x)).collect();
            let tests: Vec<String> = pick_n(rng, &s.entry.tests, 2).iter().map(|x| sentence(x)).collect();
            review.push(format!(
                "{}: {} {} {} {}",
                cap(&self.sname(s)),
                sym.join(" "),
                tests.join(" "),
                sentence(&format!("Current regimen: {}", pk(rng, &s.meds))),
                sentence(&self.sec_plan(rng, s))
            ));
        }
        if !review.is_empty() {
            parts.push(st.custom(rng, "CHRONIC PROBLEMS REVIEWED", "Chronic problems reviewed", &review.join("\n")));
        }
        parts.push(st.custom(rng, "DATA REVIEWED", "Data reviewed", &e.tests.iter().map(|t| sentence(t)).collect::<Vec<_>>().join(" ")));
        parts.push(st.custom(
            rng,
            "OUTSIDE RECORDS REVIEWED",
            "Outside records reviewed",
            &format!(
                "{} {}",
                pk(rng, &["Records from the prior visit were reviewed in detail and summarized as follows.", "The referral packet was reviewed."]),
                self.narrative_hpi(rng).replace("\n\n", " ")
            ),
        ));
        parts.push(st.custom(rng, "PHYSICAL EXAMINATION DETAIL", "Physical examination detail", &format!("Focused re-examination: {}.", e.exam.join("; "))));
        parts.push(st.custom(
            rng,
            "MEDICATION HISTORY",
            "Medication history",
            &format!(
                "Regimens used to date for this problem: {}. {}",
                self.p.meds.join("; "),
                pk(rng, &["Tolerated without side effects.", "Some gastrointestinal upset early on, since resolved.", "Cost has been a barrier at times."])
            ),
        ));
        parts.push(st.custom(
            rng,
            "COUNSELING",
            "Counseling",
            &format!(
                "I spent {} minutes with the patient, more than half in counseling and coordination of care. We discussed the diagnosis, the expected course, and the treatment options, including {}. Warning signs that should prompt an emergency visit were reviewed. Medication side effects and interactions were reviewed, and the patient was given written instructions. The patient verbalized understanding and agreement with the plan, and all questions were answered. {}",
                rng.gen_range(30..=60),
                prose_list(rng, &e.plan.iter().take(3).map(|x| lower_first_word(x)).collect::<Vec<_>>()),
                e.plan.iter().map(|x| sentence(x)).collect::<Vec<_>>().join(" ")
            ),
        ));
    }

    pub(super) fn chart(&self, rng: &R) -> String {
        let chronic = matches!(self.p.entry.kind, Kind::Chronic | Kind::Status);
        let parts = match self.nt {
            NoteType::Operative => self.operative(rng),
            NoteType::Endoscopy => self.endoscopy(rng),
            NoteType::Radiology => self.radiology(rng),
            NoteType::HospitalDischarge => self.hospital_discharge(rng),
            NoteType::ConsultLetter => self.consult_letter(rng, chronic),
            NoteType::ChronicFollowUp => self.chronic_followup(rng),
            NoteType::Psych => self.psych(rng),
            NoteType::Obstetric => self.obstetric(rng),
            NoteType::Newborn => self.newborn(rng),
            _ => self.full_hp(rng, chronic),
        };
        let mut parts = parts;
        if matches!(self.nt, NoteType::FullHp | NoteType::ConsultLetter | NoteType::ChronicFollowUp | NoteType::HospitalDischarge) && chance(rng, 0.15) {
            // Before the assessment, where dictation puts reviewed data.
            let at = parts.len().saturating_sub(2).max(1);
            let mut extra = Vec::new();
            self.extended(rng, &mut extra);
            parts.splice(at..at, extra);
        }
        self.style.join_sections(&parts)
    }

    fn full_hp(&self, rng: &R, chronic: bool) -> Vec<String> {
        let st = &self.style;
        let mut parts = Vec::new();
        let ed = self.p.entry.settings.contains(&Setting::Ed) && chance(rng, 0.4);
        parts.push(st.section(rng, Sec::Cc, &self.cc(rng)));
        parts.push(st.section(rng, Sec::Hpi, &self.narrative_hpi(rng)));
        self.history_block(rng, &mut parts, chronic);
        parts.push(st.section(rng, Sec::Exam, &self.exam_chart(rng)));
        parts.push(st.section(rng, Sec::Data, &self.labs_chart(rng, rng.gen_range(2..=4))));
        if ed {
            let given: Vec<String> = pick_n(rng, &self.p.meds, 2);
            parts.push(st.section(
                rng,
                Sec::EdCourse,
                &format!(
                    "In the emergency department, the patient received {}. {}",
                    prose_list(rng, &given),
                    pk(rng, &["Symptoms improved on reassessment.", "The patient remained hemodynamically stable.", "Pain was much better controlled."])
                ),
            ));
        }
        if chance(rng, 0.5) {
            parts.push(st.section(rng, Sec::AssessPlan, &self.numbered_problems(rng)));
        } else {
            self.assessment_plan(rng, &mut parts, true, true);
        }
        if ed {
            parts.push(st.section(
                rng,
                Sec::Disposition,
                pk(
                    rng,
                    &[
                        "The patient will be admitted to the medicine service.",
                        "Discharged home in stable condition with return precautions.",
                        "Placed in observation.",
                    ],
                ),
            ));
        }
        parts
    }

    fn operative(&self, rng: &R) -> Vec<String> {
        let st = &self.style;
        let (_, proc_, anesthesia, steps, findings) = op_for(&self.p.code).copied().expect("operative notes only for codes with a procedure");
        let pt = self.pt(rng);
        let side = side_of(&self.p.official);
        let procedure = match side {
            Some(s) if !proc_.starts_with("Bilateral") => format!("{}, {s}", proc_),
            _ => proc_.to_string(),
        };
        let bedside = anesthesia.starts_with("Local") || anesthesia.starts_with("Moderate");
        let mut parts = Vec::new();
        parts.push(if bedside { "PROCEDURE NOTE".to_string() } else { pk(rng, &["OPERATIVE REPORT", "OPERATIVE NOTE", "OPERATIVE REPORT"]).to_string() });
        let (m, d) = (rng.gen_range(1..=12), rng.gen_range(1..=28));
        parts.push(st.custom(rng, "DATE OF PROCEDURE", "Date of procedure", &format!("{m:02}/{d:02}/{}", rng.gen_range(2019..2026))));
        let preop = if chance(rng, 0.6) {
            pt.clone()
        } else {
            format!("{}, {}", cap(&self.complaint(rng)), pk(rng, &["suspected", "probable", "presumed"]).to_string() + " " + &pt)
        };
        let mut post = [cap(&pt)];
        if chance(rng, 0.3) {
            post[0].push_str(&format!(", {}", pk(rng, &["confirmed intraoperatively", "as above", "see findings"])));
        }
        let plural = |s: &str| if chance(rng, 0.5) { format!("{s}S") } else { s.to_string() };
        parts.push(st.custom(rng, &plural("PREOPERATIVE DIAGNOSIS"), "Preoperative diagnosis", &cap(&preop)));
        parts.push(st.custom(rng, &plural("POSTOPERATIVE DIAGNOSIS"), "Postoperative diagnosis", &post.join("\n")));
        parts.push(st.custom(rng, &plural("PROCEDURE"), "Procedure performed", &procedure));
        if !bedside {
            parts.push(st.custom(rng, "SURGEON", "Surgeon", &format!("{}, MD", pk(rng, vocab::SURNAMES))));
            if chance(rng, 0.6) {
                parts.push(st.custom(rng, "ASSISTANT", "Assistant", &format!("{}, PA-C", pk(rng, vocab::SURNAMES))));
            }
        }
        parts.push(st.custom(rng, "ANESTHESIA", "Anesthesia", &format!("{anesthesia}.")));
        parts.push(st.custom(
            rng,
            "ESTIMATED BLOOD LOSS",
            "Estimated blood loss",
            &if bedside { "Minimal.".to_string() } else { format!("{} mL.", pick(rng, &[5, 10, 25, 50, 75, 100, 150, 200])) },
        ));
        if !bedside && chance(rng, 0.6) {
            parts.push(st.custom(rng, "FLUIDS", "Fluids", &format!("{} mL crystalloid.", pick(rng, &[500, 800, 1000, 1200, 1500]))));
        }
        parts.push(st.custom(
            rng,
            "SPECIMENS",
            "Specimens",
            pk(rng, &["As described, sent to pathology.", "Sent to pathology.", "None.", "Fluid for culture and cytology."]),
        ));
        parts.push(st.custom(rng, "COMPLICATIONS", "Complications", "None."));
        let secs = self.sec_terms();
        let hx = if secs.is_empty() { String::new() } else { format!(" with a history of {}", prose_list(rng, &secs)) };
        let mut ind = format!("The patient is a {}{hx} who presented with {}. ", self.dictated_who(rng), self.complaint(rng));
        let tests = pick_n(rng, &self.p.entry.tests, 2);
        if !tests.is_empty() {
            ind.push_str(&format!("Work-up demonstrated {}. ", prose_list(rng, &tests)));
        }
        ind.push_str(&format!(
            "Given the diagnosis of {pt}, {} was recommended. The risks, benefits, and alternatives, including bleeding, infection, damage to surrounding structures, and the need for further procedures, were discussed in detail, and the patient wished to proceed.",
            lower_first_word(&procedure)
        ));
        for c in &self.contrast {
            ind.push_str(&format!(" {c}"));
        }
        parts.push(st.custom(rng, "INDICATIONS FOR PROCEDURE", "Indications", &ind));
        parts.push(st.custom(rng, "FINDINGS", "Findings", &sentence(&cap(findings))));
        let mut desc: Vec<String> = vec![
            "Informed consent was obtained and the site was marked.".into(),
            format!(
                "The patient was brought to the {} and placed in the {} position.",
                if bedside { "procedure room" } else { "operating room" },
                if bedside { "supine" } else { pk(rng, &["supine", "supine", "lithotomy", "lateral decubitus"]) }
            ),
        ];
        if !bedside {
            desc.push(format!("After induction of {}, preoperative antibiotics were given.", lower_first_word(anesthesia)));
        }
        desc.push("The area was prepped and draped in the usual sterile fashion.".into());
        desc.push("A time-out was performed confirming the correct patient, procedure, and site.".into());
        desc.extend(steps.iter().map(|s| s.to_string()));
        for d in self.distractors_of(&["negated"]) {
            desc.push(format!("There was {d}."));
        }
        if !bedside {
            desc.push(pk(rng, &["Hemostasis was confirmed.", "The field was inspected and hemostasis was excellent."]).to_string());
            desc.push(
                pk(
                    rng,
                    &[
                        "The skin was closed with 4-0 Monocryl in subcuticular fashion and a sterile dressing applied.",
                        "The skin was closed with staples and a sterile dressing applied.",
                        "The fascia was closed and the skin reapproximated with subcuticular absorbable suture.",
                    ],
                )
                .to_string(),
            );
            desc.push("Sponge, needle, and instrument counts were correct times two.".into());
        }
        desc.push(format!(
            "The patient tolerated the procedure well and was {}.",
            if bedside { "discharged home in good condition" } else { "transferred to the recovery room in stable condition" }
        ));
        let d = if chance(rng, 0.5) {
            desc.join(" ")
        } else {
            let mid = desc.len() / 2;
            format!("{}\n\n{}", desc[..mid].join(" "), desc[mid..].join(" "))
        };
        parts.push(st.custom(rng, "DESCRIPTION OF PROCEDURE", "Description of procedure", &d));
        let dispo: &[&str] = if bedside {
            &["Home in good condition.", "Return to clinic for wound check.", "Discharged with wound care instructions."]
        } else {
            &["To PACU in stable condition.", "Home when discharge criteria are met.", "Admit to the surgical floor.", "Recovery room, then home."]
        };
        parts.push(st.custom(rng, "DISPOSITION", "Disposition", pk(rng, dispo)));
        let plan = pick_n(rng, &self.p.entry.plan, 2);
        if !plan.is_empty() {
            parts.push(st.section(rng, Sec::Plan, &plan.iter().map(|p| sentence(p)).collect::<Vec<_>>().join(" ")));
        }
        parts
    }

    fn endoscopy(&self, rng: &R) -> Vec<String> {
        let st = &self.style;
        let (_, colon, findings) = scope_for(&self.p.code).copied().expect("endoscopy notes only for codes with a scope");
        let pt = self.pt(rng);
        let screening = self.p.code.starts_with("Z12");
        let name = if colon { "Colonoscopy" } else { "Esophagogastroduodenoscopy" };
        let mut parts = vec![format!("{} REPORT", if colon { "COLONOSCOPY" } else { "UPPER ENDOSCOPY" })];
        let ind = if screening {
            format!("{}, {}.", cap(&pt), pk(rng, &["average risk", "no prior colonoscopy", "last colonoscopy 10 years ago, normal"]))
        } else if matches!(self.p.entry.kind, Kind::Symptom) || chance(rng, 0.5) {
            let c: Vec<String> = pick_n(rng, &self.complaints, 2);
            if c.is_empty() {
                cap(&pt)
            } else {
                cap(&prose_list(rng, &c))
            }
        } else {
            cap(&pt)
        };
        parts.push(st.custom(rng, "INDICATIONS", "Indications", &ind));
        parts.push(st.custom(
            rng,
            "PROCEDURE",
            "Procedure",
            &if colon && chance(rng, 0.3) && !screening { "Colonoscopy with cold snare polypectomy".to_string() } else { name.to_string() },
        ));
        let secs = self.sec_terms();
        if !secs.is_empty() {
            parts.push(st.section(rng, Sec::Pmh, &self.numbered_or_prose(&secs)));
        }
        parts.push(st.custom(
            rng,
            "MEDICATIONS",
            "Medications",
            pk(
                rng,
                &[
                    "Monitored anesthesia care with propofol per anesthesia.",
                    "Fentanyl 100 mcg IV and midazolam 4 mg IV in divided doses.",
                    "Propofol sedation administered by anesthesia.",
                ],
            ),
        ));
        parts.push(st.custom(
            rng,
            "PROCEDURE DESCRIPTION",
            "Description",
            &if colon {
                format!(
                    "After informed consent was obtained and a time-out performed, the patient was placed in the left lateral decubitus position. A digital rectal exam was normal. The colonoscope was introduced through the anus and advanced to the cecum, identified by the appendiceal orifice and ileocecal valve. The quality of the bowel preparation was {}. The colonoscope was withdrawn with careful inspection of the mucosa, and retroflexion was performed in the rectum. Withdrawal time was {} minutes. The patient tolerated the procedure well without complications.",
                    pk(rng, &["good", "excellent", "adequate", "fair"]),
                    rng.gen_range(7..=14)
                )
            } else {
                "After informed consent was obtained and a time-out performed, the patient was placed in the left lateral decubitus position. The endoscope was passed through the mouth under direct vision into the esophagus, advanced through the stomach, and into the second part of the duodenum. Retroflexion was performed in the stomach. The patient tolerated the procedure well without complications.".to_string()
            },
        ));
        let mut f: Vec<String> = vec![pk(rng, findings).to_string()];
        if self.screen_finding {
            // The finding replaces the normal-colon line.
            let s = self.secs[0];
            f = vec![finding_sentence(&s.code).to_string()];
        }
        for t in self.p.entry.tests.iter().filter(|t| {
            let lt = t.to_ascii_lowercase();
            ["biops", "patholog", "withdrawal", "prep"].iter().any(|k| lt.contains(k))
        }) {
            if chance(rng, 0.5) {
                f.push(sentence(t));
            }
        }
        for d in self.distractors_of(&["negated"]) {
            f.push(sentence(&d));
        }
        parts.push(st.custom(rng, "FINDINGS", "Findings", &f.join(" ")));
        let mut imp = vec![cap(&pt)];
        if self.screen_finding {
            imp.push(cap(&self.sname(self.secs[0])));
        }
        for c in &self.contrast {
            imp.push(c.trim_end_matches('.').to_string());
        }
        parts.push(st.custom(
            rng,
            "IMPRESSION",
            "Impression",
            &imp.iter().enumerate().map(|(i, x)| format!("{}. {}.", i + 1, x.trim_end_matches('.'))).collect::<Vec<_>>().join("\n"),
        ));
        let mut recs: Vec<String> = pick_n(rng, &self.p.entry.plan, 2).iter().map(|p| sentence(p)).collect();
        recs.push(
            pk(rng, &["Resume previous diet.", "Await pathology results.", "Resume current medications.", "Follow up in clinic in 2 weeks."]).to_string(),
        );
        for s in self.secs.iter().skip(usize::from(self.screen_finding)) {
            recs.push(sentence(&format!("{}: {}", cap(&self.sname(s)), self.sec_plan(rng, s))));
        }
        parts.push(st.section(rng, Sec::Recs, &recs.join("\n")));
        parts
    }

    fn radiology(&self, rng: &R) -> Vec<String> {
        let st = &self.style;
        let (exam, finding) = imaging_test(self.p).unwrap_or_else(|| ("Imaging".into(), pk(rng, &self.p.entry.tests).to_string()));
        let lc = format!("{} {}", exam.to_ascii_lowercase(), finding.to_ascii_lowercase());
        let mut parts = Vec::new();
        let (m, d) = (rng.gen_range(1..=12), rng.gen_range(1..=28));
        parts.push(st.custom(rng, "EXAM", "Exam", &format!("{} {m:02}/{d:02}/{}", exam.to_uppercase(), rng.gen_range(2019..2026))));
        let hist: Vec<String> = pick_n(rng, &self.complaints, 2);
        let screening = self.p.code.starts_with("Z12");
        let history = if screening {
            pk(rng, &["Screening. Asymptomatic.", "Routine screening.", "Annual screening, no complaints."]).to_string()
        } else if hist.is_empty() {
            format!("Evaluate {}.", self.pt(rng))
        } else {
            sentence(&prose_list(rng, &hist))
        };
        parts.push(st.custom(rng, pk(rng, &["CLINICAL HISTORY", "INDICATION", "HISTORY"]), "Indication", &history));
        parts.push(st.custom(
            rng,
            "COMPARISON",
            "Comparison",
            &if chance(rng, 0.5) { "None.".to_string() } else { format!("Prior study from {}.", rng.gen_range(2015..2024)) },
        ));
        let technique = if lc.contains("ct") && !lc.contains("cta") {
            "Axial images were obtained with coronal and sagittal reformats.".to_string()
        } else if lc.contains("mri") {
            "Multiplanar, multisequence images were obtained.".to_string()
        } else if lc.contains("ultrasound") || lc.contains("duplex") || lc.contains("doppler") {
            "Grayscale and color Doppler images were obtained.".to_string()
        } else {
            format!("{} views were obtained.", pk(rng, &["Two", "Three", "Frontal and lateral", "AP and lateral"]))
        };
        parts.push(st.custom(rng, "TECHNIQUE", "Technique", &technique));
        let normals = normals_for(&lc);
        let mut f = vec![sentence(&cap(&finding))];
        for (organ, text, keys) in normals {
            if keys.iter().any(|k| finding.to_ascii_lowercase().contains(k)) {
                continue;
            }
            f.push(if st.hcase == 1 { format!("{}: {text}", cap(&organ.to_lowercase())) } else { format!("{organ}: {text}") });
        }
        for dd in self.distractors_of(&["negated"]) {
            f.push(sentence(&dd));
        }
        f.extend(self.contrast.iter().cloned());
        parts.push(st.custom(rng, "FINDINGS", "Findings", &f.join("\n")));
        let first = if self.p.entry.kind == Kind::Symptom || screening {
            sentence(&cap(&finding))
        } else {
            format!("{}, consistent with {}.", cap(finding.trim_end_matches('.')), self.pt(rng))
        };
        let mut imp = vec![first];
        if chance(rng, 0.5) {
            imp.push(
                pk(
                    rng,
                    &[
                        "No other acute abnormality.",
                        "Otherwise unremarkable examination.",
                        "Clinical correlation recommended.",
                        "Follow-up imaging as clinically indicated.",
                    ],
                )
                .to_string(),
            );
        }
        parts.push(st.custom(rng, "IMPRESSION", "Impression", &imp.iter().enumerate().map(|(i, x)| format!("{}. {x}", i + 1)).collect::<Vec<_>>().join("\n")));
        parts.push(format!("Electronically signed by {}, MD", pk(rng, vocab::SURNAMES)));
        parts
    }

    fn hospital_discharge(&self, rng: &R) -> Vec<String> {
        let st = &self.style;
        let pt = self.pt(rng);
        let mut parts = Vec::new();
        let (m, d) = (rng.gen_range(1..=12), rng.gen_range(1..=24));
        parts.push(st.custom(rng, "DATE OF ADMISSION", "Date of admission", &format!("{m:02}/{d:02}/{}", rng.gen_range(2019..2026))));
        parts.push(st.custom(rng, "DATE OF DISCHARGE", "Date of discharge", &format!("{m:02}/{:02}", d + rng.gen_range(1..=4))));
        let adm = if chance(rng, 0.5) { cap(&self.complaint(rng)) } else { cap(&pt) };
        parts.push(st.custom(rng, "ADMISSION DIAGNOSIS", "Admission diagnosis", &adm));
        let mut dx = vec![format!("1. {}", cap(&pt))];
        for (i, s) in self.secs.iter().enumerate() {
            dx.push(format!("{}. {}", i + 2, cap(&self.sname(s))));
        }
        parts.push(st.section(rng, Sec::DischargeDx, &dx.join("\n")));
        let procs: Vec<String> = self
            .p
            .entry
            .tests
            .iter()
            .filter(|t| IMAGING.iter().any(|k| contains_phrase_lc(&t.to_ascii_lowercase(), k)))
            .map(|t| t.split(':').next().unwrap_or(t).trim().to_string())
            .take(2)
            .collect();
        parts.push(st.custom(rng, "PROCEDURES", "Procedures", &if procs.is_empty() { "None.".to_string() } else { sentence(&procs.join(", ")) }));
        if chance(rng, 0.5) {
            parts.push(st.custom(
                rng,
                "CONSULTATIONS",
                "Consultations",
                pk(rng, &["Cardiology.", "Gastroenterology.", "Nephrology.", "Physical therapy and case management.", "None."]),
            ));
        }
        parts.push(st.section(rng, Sec::Hpi, &self.narrative_hpi(rng)));
        let he = cap(self.he());
        let tests = pick_n(rng, &self.p.entry.tests, 3);
        let mut p1 = format!(
            "The patient was admitted to the medicine service. {}",
            if tests.is_empty() { String::new() } else { format!("Initial evaluation showed {}. ", prose_list(rng, &tests)) }
        );
        p1.push_str(&format!("{he} was treated with {}. {} ", pk(rng, &self.p.meds), sentence(pk(rng, &self.p.entry.plan))));
        for dd in self.distractors_of(&["ruled_out", "negated"]) {
            p1.push_str(&sentence(&dd));
            p1.push(' ');
        }
        let mut course = vec![p1.trim().to_string()];
        for s in &self.secs {
            course.push(format!("{} {}, {}.", pk(rng, &["With regard to", "Regarding", "As for"]), self.sname(s), lower_first_word(&self.sec_plan(rng, s))));
            if self.focus.is_some_and(|f| f.code == s.code) {
                let t = pick_n(rng, &s.entry.tests, 2);
                course.push(format!("This required attention during the stay: {} {} was given.", sentence(&prose_list(rng, &t)), cap(pk(rng, &s.meds))));
            }
        }
        course.extend(self.contrast.iter().cloned());
        course.push(format!(
            "By the day of discharge, {} was {}, and was felt to be stable for discharge {}.",
            self.he(),
            pk(rng, &["afebrile with stable vital signs", "tolerating a regular diet and ambulating independently", "symptomatically improved"]),
            pk(rng, &["home", "home with home health services", "to a skilled nursing facility"])
        ));
        let body = if course.len() > 2 { format!("{}\n\n{}", course[0], course[1..].join(" ")) } else { course.join(" ") };
        parts.push(st.section(rng, Sec::Course, &body));
        parts.push(st.custom(rng, "CONDITION ON DISCHARGE", "Condition on discharge", pk(rng, &["Stable.", "Improved.", "Good.", "Fair, improved."])));
        parts.push(st.section(rng, Sec::DischargeMeds, &self.meds_chart(rng, true)));
        parts.push(st.section(rng, Sec::Allergies, pk(rng, vocab::ALLERGIES)));
        parts.push(st.custom(rng, "DIET", "Diet", pk(rng, &["Regular.", "Heart healthy, low sodium.", "Carbohydrate controlled.", "As tolerated."])));
        parts.push(st.custom(rng, "ACTIVITY", "Activity", pk(rng, &["As tolerated.", "No heavy lifting for 2 weeks.", "Ambulate with walker."])));
        parts.push(st.section(
            rng,
            Sec::FollowUp,
            &format!(
                "{} {}",
                pk(rng, &["Primary care physician in 1 week.", "Follow up with primary care within 7 days.", "Clinic in 2 weeks with labs prior."]),
                sentence(pk(rng, &self.p.entry.plan))
            ),
        ));
        parts
    }

    fn consult_letter(&self, rng: &R, chronic: bool) -> Vec<String> {
        let st = &self.style;
        let pt = self.pt(rng);
        let reason = if chance(rng, 0.6) { pt.clone() } else { self.complaint(rng) };
        let mut parts = vec![format!("Dear Dr. {},", pk(rng, vocab::SURNAMES))];
        parts.push(format!(
            "Thank you for referring {}, a {}, for evaluation of {reason}. {}",
            self.title(),
            self.dictated_who(rng),
            pk(rng, &["I saw the patient in clinic today.", "The patient was seen in consultation today.", "Please find my evaluation below."])
        ));
        parts.push(st.section(rng, Sec::Reason, &cap(&reason)));
        parts.push(st.section(rng, Sec::Hpi, &self.narrative_hpi(rng)));
        self.history_block(rng, &mut parts, chronic);
        parts.push(st.section(rng, Sec::Exam, &self.exam_chart(rng)));
        parts.push(st.section(rng, Sec::Data, &self.labs_chart(rng, 3)));
        let mut imp = vec![format!("1. {}.", cap(&pt))];
        for (i, s) in self.secs.iter().enumerate() {
            imp.push(format!("{}. {}.", i + 2, cap(&self.sname(s))));
        }
        for dd in self.distractors_of(&["ruled_out"]) {
            imp.push(sentence(&dd));
        }
        parts.push(st.custom(rng, "IMPRESSION", "Impression", &imp.join("\n")));
        let recs: Vec<String> = self.primary_plan(rng).iter().enumerate().map(|(i, r)| format!("{}. {}", i + 1, sentence(r))).collect();
        parts.push(st.section(rng, Sec::Recs, &recs.join("\n")));
        parts.push(format!(
            "Thank you for allowing me to participate in the care of this {}. I will see {} back in {}. Please do not hesitate to call with any questions.\n\nSincerely,\n{}, MD",
            pk(rng, &["pleasant patient", "patient", "interesting patient"]),
            if self.female { "her" } else { "him" },
            pk(rng, &["4 weeks", "3 months", "6 weeks", "2 weeks"]),
            pk(rng, vocab::SURNAMES)
        ));
        parts
    }

    fn chronic_followup(&self, rng: &R) -> Vec<String> {
        let st = &self.style;
        let pt = self.pt(rng);
        let mut parts = Vec::new();
        let others: Vec<String> = self.secs.iter().take(2).map(|s| self.sname(s)).collect();
        let cc = if others.is_empty() || chance(rng, 0.4) {
            format!("Follow-up of {pt}.")
        } else {
            format!("{}-month follow-up of {pt}, {}.", pick(rng, &[3, 3, 4, 6]), prose_list(rng, &others))
        };
        parts.push(st.section(rng, Sec::Cc, &cc));
        parts.push(st.section(rng, Sec::Subjective, &self.narrative_hpi(rng)));
        parts.push(st.section(rng, Sec::Pmh, &self.pmh_chart(rng)));
        parts.push(st.section(rng, Sec::Meds, &self.meds_chart(rng, true)));
        parts.push(st.section(rng, Sec::Allergies, pk(rng, vocab::ALLERGIES)));
        parts.push(st.section(rng, Sec::Social, &self.social_chart(rng)));
        parts.push(st.section(rng, Sec::Ros, &self.ros_chart(rng)));
        parts.push(st.section(rng, Sec::Objective, &self.exam_chart(rng)));
        parts.push(st.section(rng, Sec::Data, &self.labs_chart(rng, 3)));
        parts.push(st.section(rng, Sec::AssessPlan, &self.numbered_problems(rng)));
        parts.push(format!("Return to clinic in {}.", pk(rng, &["3 months", "6 months", "4 weeks", "3 months with fasting labs prior"])));
        parts
    }

    fn psych(&self, rng: &R) -> Vec<String> {
        let st = &self.style;
        let mut parts = vec![pk(rng, &["PSYCHIATRIC EVALUATION", "INITIAL PSYCHIATRIC EVALUATION", "PSYCHIATRIC CONSULTATION"]).to_string()];
        parts.push(st.custom(
            rng,
            "IDENTIFYING DATA",
            "Identifying data",
            &format!(
                "The patient is a {} {}.",
                self.dictated_who(rng),
                pk(rng, &["referred by primary care", "self-referred", "referred by the emergency department", "brought by family"])
            ),
        ));
        parts.push(st.section(rng, Sec::Cc, &format!("\"{}\"", cap(&self.complaint(rng)))));
        parts.push(st.section(rng, Sec::Hpi, &self.narrative_hpi(rng)));
        parts.push(st.custom(
            rng,
            "PAST PSYCHIATRIC HISTORY",
            "Past psychiatric history",
            &format!(
                "{} {} {}",
                pk(
                    rng,
                    &["No prior psychiatric hospitalizations.", "One prior psychiatric hospitalization several years ago.", "Outpatient therapy in the past."]
                ),
                pk(rng, &["Denies prior suicide attempts.", "No history of self-harm.", "No prior suicide attempts."]),
                pk(rng, &["Previously tried sertraline with partial benefit.", "No prior medication trials.", "Has seen a counselor intermittently."])
            ),
        ));
        parts.push(st.custom(rng, "SUBSTANCE USE HISTORY", "Substance use", &self.social(rng)));
        parts.push(st.section(rng, Sec::Pmh, &self.pmh_chart(rng)));
        parts.push(st.section(rng, Sec::Meds, &self.meds_chart(rng, true)));
        parts.push(st.section(rng, Sec::Allergies, pk(rng, vocab::ALLERGIES)));
        parts.push(st.section(rng, Sec::Family, &self.family_chart(rng)));
        parts.push(st.custom(
            rng,
            "SOCIAL HISTORY",
            "Social history",
            pk(
                rng,
                &[
                    "Lives with family. Completed high school. Currently employed.",
                    "Lives alone. Works part time. Has a few close friends.",
                    "Married with two children. Works full time.",
                ],
            ),
        ));
        let si_is_dx = self.codes().any(|l| l.code.starts_with("R45.851"));
        let findings: Vec<String> = self.exam.to_vec();
        let mse = format!(
            "Appearance: {}. Behavior: {}. Speech: {}. Mood: \"{}\". Affect: {}. Thought process: {}. Thought content: {}. Perception: no auditory or visual hallucinations. Cognition: alert and oriented to person, place, and time. Insight: {}. Judgment: {}.{}",
            pk(rng, &["Casually dressed, adequately groomed", "Appears stated age, fair hygiene", "Well groomed"]),
            pk(rng, &["Cooperative, good eye contact", "Calm, cooperative", "Guarded but cooperative"]),
            pk(rng, &["Normal rate, rhythm, and volume", "Soft, slowed rate", "Normal rate and tone"]),
            pk(rng, &["not good", "okay", "stressed", "tired"]),
            pk(rng, &["constricted", "mood-congruent", "anxious", "euthymic"]),
            pk(rng, &["Linear and goal-directed", "Logical, somewhat circumstantial"]),
            if si_is_dx { "passive thoughts of death as described above, no homicidal ideation" } else { "No suicidal or homicidal ideation, no delusions" },
            pk(rng, &["Fair", "Good", "Limited"]),
            pk(rng, &["Fair", "Good", "Intact"]),
            if findings.is_empty() { String::new() } else { format!(" Additional findings: {}.", findings.join("; ")) }
        );
        parts.push(st.custom(rng, "MENTAL STATUS EXAMINATION", "Mental status examination", &mse));
        parts.push(st.section(rng, Sec::Assessment, &self.numbered_problems(rng)));
        parts.push(st.section(
            rng,
            Sec::Plan,
            &format!(
                "{} Safety plan reviewed; the patient agrees to call 988 or present to the emergency department if thoughts of self-harm arise. Return in {}.",
                pk(rng, &["Psychotherapy referral placed.", "Begin weekly cognitive behavioral therapy.", "Continue supportive therapy."]),
                pk(rng, &["2 weeks", "4 weeks", "1 month"])
            ),
        ));
        parts
    }

    fn obstetric(&self, rng: &R) -> Vec<String> {
        let st = &self.style;
        let ga = rng.gen_range(8..=40);
        let g = rng.gen_range(1..=5);
        let p = rng.gen_range(0..g);
        let mut parts = vec![pk(rng, &["OBSTETRIC NOTE", "PRENATAL VISIT", "LABOR AND DELIVERY NOTE", "OB TRIAGE NOTE"]).to_string()];
        parts.push(st.section(rng, Sec::Cc, &self.cc(rng)));
        parts.push(st.section(
            rng,
            Sec::Hpi,
            &format!(
                "The patient is a {}-year-old G{g} P{p} at {ga} weeks {} days by {} ultrasound. {}",
                self.age,
                rng.gen_range(0..7),
                pk(rng, &["first-trimester", "dating", "early"]),
                self.narrative_hpi(rng)
            ),
        ));
        parts.push(st.custom(
            rng,
            "OBSTETRIC HISTORY",
            "Obstetric history",
            &if p == 0 { "Nulliparous.".to_string() } else { format!("{p} prior {}, uncomplicated.", if p == 1 { "delivery" } else { "deliveries" }) },
        ));
        parts.push(st.custom(
            rng,
            "PRENATAL LABS",
            "Prenatal labs",
            pk(
                rng,
                &[
                    "Blood type O positive, antibody screen negative, rubella immune, HIV nonreactive, hepatitis B surface antigen negative, RPR nonreactive.",
                    "A positive, antibody negative, rubella immune, HIV negative, GBS negative.",
                    "B positive, rubella immune, hepatitis B negative, GBS pending.",
                ],
            ),
        ));
        parts.push(st.section(rng, Sec::Pmh, &self.pmh_chart(rng)));
        parts.push(st.section(rng, Sec::Meds, &format!("Prenatal vitamin daily.\n{}", self.meds_chart(rng, true))));
        parts.push(st.section(rng, Sec::Allergies, pk(rng, vocab::ALLERGIES)));
        parts.push(st.section(rng, Sec::Social, &self.social(rng)));
        parts.push(st.section(
            rng,
            Sec::Exam,
            &format!("{}\nFundal height appropriate for dates. Fetal heart tones in the {}s.", self.exam_chart(rng), pick(rng, &[130, 140, 150])),
        ));
        parts.push(st.section(rng, Sec::Data, &self.labs_chart(rng, 3)));
        parts.push(st.section(rng, Sec::AssessPlan, &self.numbered_problems(rng)));
        parts
    }

    fn newborn(&self, rng: &R) -> Vec<String> {
        let st = &self.style;
        let mut parts = vec![pk(rng, &["NEWBORN HISTORY AND PHYSICAL", "NEWBORN NURSERY NOTE", "NEWBORN ADMISSION NOTE"]).to_string()];
        parts.push(st.custom(
            rng,
            "BIRTH HISTORY",
            "Birth history",
            &format!(
                "Term {} born at {} weeks gestation to a {}-year-old G{} mother. Apgar scores {} and 9 at 1 and 5 minutes. Birth weight {} grams. Maternal labs: blood type {}, rubella immune, HIV nonreactive, hepatitis B negative, GBS {}.",
                if self.female { "female" } else { "male" },
                rng.gen_range(37..=41),
                rng.gen_range(19..=40),
                rng.gen_range(1..=4),
                pick(rng, &[7, 8, 8, 9]),
                rng.gen_range(2700..=4100),
                pk(rng, &["O positive", "A positive", "B positive", "O negative"]),
                pk(rng, &["negative", "positive, adequately treated", "unknown"])
            ),
        ));
        parts.push(st.section(rng, Sec::Hpi, &self.narrative_hpi(rng)));
        parts.push(st.custom(
            rng,
            "FEEDING",
            "Feeding",
            pk(
                rng,
                &[
                    "Breastfeeding every 2 to 3 hours with good latch.",
                    "Formula feeding 1 to 2 ounces every 3 hours.",
                    "Breastfeeding with formula supplementation.",
                ],
            ),
        ));
        parts.push(st.custom(rng, "OUTPUT", "Output", "Voiding and stooling appropriately."));
        let vit =
            format!("Temperature {:.1} F, heart rate {}, respiratory rate {}.", rng.gen_range(97.8..99.2), rng.gen_range(120..=160), rng.gen_range(36..=56));
        let exam_lines = [
            "GENERAL: Vigorous, well-appearing term infant.",
            "HEENT: Anterior fontanelle soft and flat. Red reflex present bilaterally. Palate intact.",
            "LUNGS: Clear bilaterally, no retractions.",
            "HEART: Regular rate and rhythm; femoral pulses 2+ bilaterally.",
            "ABDOMEN: Soft, no hepatosplenomegaly; umbilical stump clean.",
            "HIPS: Negative Barlow and Ortolani.",
            "NEUROLOGIC: Good tone, normal Moro, suck, and grasp reflexes.",
        ];
        let mut ex = vec![format!("VITAL SIGNS: {vit}")];
        ex.extend(exam_lines.iter().map(|s| s.to_string()));
        if !self.exam.is_empty() {
            ex.push(format!("PERTINENT FINDINGS: {}.", self.exam.join("; ")));
        }
        parts.push(st.section(rng, Sec::Exam, &ex.join("\n")));
        parts.push(st.section(rng, Sec::Data, &self.labs_chart(rng, 2)));
        parts.push(st.section(rng, Sec::AssessPlan, &self.numbered_problems(rng)));
        parts
    }
}

/// "right" or "left" when the code's title has a side.
fn side_of(official: &str) -> Option<&'static str> {
    let o = official.to_ascii_lowercase();
    if contains_phrase_lc(&o, "right") {
        Some("right")
    } else if contains_phrase_lc(&o, "left") {
        Some("left")
    } else {
        None
    }
}

fn lower_first_word(s: &str) -> String {
    let mut c = s.chars();
    match (c.next(), s.chars().nth(1)) {
        (Some(f), Some(n)) if f.is_uppercase() && n.is_lowercase() => f.to_lowercase().chain(c).collect(),
        _ => s.to_string(),
    }
}

/// What a screening colonoscopy saw when its finding is coded.
fn finding_sentence(code: &str) -> &'static str {
    match code {
        "K57.30" => "Scattered small-mouthed diverticula were found in the sigmoid colon, without bleeding or inflammation.",
        "K64.9" => "Small non-bleeding internal hemorrhoids were found on retroflexion; the colon was otherwise normal.",
        _ => "A 6 mm sessile polyp was found in the ascending colon and removed with a cold snare; the colon was otherwise normal.",
    }
}

/// Organ-by-organ normal statements for an imaging region: `(ORGAN, text, finding words that replace it)`.
fn normals_for(lc: &str) -> Vec<(&'static str, &'static str, &'static [&'static str])> {
    let has = |ks: &[&str]| ks.iter().any(|k| contains_phrase_lc(lc, k) || lc.contains(k));
    if has(&["chest", "cxr", "lung", "pulmonary", "thorax", "pleural"]) {
        vec![
            ("LUNGS", "Clear without focal consolidation.", &["lung", "consolidat", "opacit", "infiltrat", "nodule", "mass", "emphysem"]),
            ("PLEURA", "No pleural effusion or pneumothorax.", &["pleura", "effusion", "pneumothorax"]),
            ("HEART AND MEDIASTINUM", "Cardiomediastinal silhouette within normal limits.", &["cardiomegaly", "heart", "mediastin", "cardiac"]),
            ("BONES", "No acute osseous abnormality.", &["rib", "fracture", "bone", "lytic"]),
        ]
    } else if has(&["abdomen", "pelvis", "renal", "kidney", "gallbladder", "ruq", "liver", "appendix", "abdominal"]) {
        vec![
            ("LIVER", "Normal in size and attenuation without focal lesion.", &["liver", "hepat", "steatosis", "cirrho"]),
            ("GALLBLADDER AND BILIARY", "No gallstones or biliary dilation.", &["gallbladder", "gallstone", "biliary", "cholelith", "cholecyst"]),
            ("PANCREAS", "Unremarkable.", &["pancrea"]),
            ("SPLEEN", "Normal in size.", &["spleen", "splen"]),
            ("KIDNEYS", "No hydronephrosis or renal calculi.", &["kidney", "renal", "hydroneph", "calcul", "stone", "ureter"]),
            ("BOWEL", "No bowel obstruction or wall thickening. The appendix is normal.", &["bowel", "colon", "append", "diverticul", "obstruct", "sigmoid"]),
            ("BLADDER", "Unremarkable.", &["bladder", "prostat"]),
            ("LYMPH NODES", "No pathologically enlarged lymph nodes.", &["lymph", "adenopathy"]),
        ]
    } else if has(&["head", "brain", "cranial"]) {
        vec![
            ("BRAIN PARENCHYMA", "No acute hemorrhage, mass effect, or territorial infarct.", &["infarct", "hemorrhage", "ischemi", "stroke", "mass"]),
            ("VENTRICLES", "Normal in size and configuration.", &["ventric", "hydroceph"]),
            ("EXTRA-AXIAL SPACES", "No extra-axial fluid collection.", &["subdural", "epidural", "extra-axial"]),
            ("CALVARIUM", "Intact.", &["fracture", "calvari", "skull"]),
        ]
    } else if has(&["spine", "lumbar", "cervical", "thoracic", "disc", "vertebra"]) {
        vec![
            ("ALIGNMENT", "Normal alignment.", &["alignment", "listhesis", "scolio"]),
            ("VERTEBRAL BODIES", "Vertebral body heights are maintained.", &["compression", "fracture", "vertebral bod", "height"]),
            ("PARASPINAL SOFT TISSUES", "Unremarkable.", &["paraspinal"]),
        ]
    } else if has(&["carotid", "duplex", "doppler", "vein", "venous", "arter"]) {
        vec![
            ("FLOW", "Normal phasic flow and compressibility in the remaining segments.", &["flow", "compress"]),
            ("SOFT TISSUES", "No fluid collection.", &["collection", "cyst"]),
        ]
    } else if has(&["breast", "mammogra"]) {
        vec![
            ("BREAST COMPOSITION", "Scattered areas of fibroglandular density.", &["density", "dense"]),
            ("AXILLAE", "No suspicious axillary lymph nodes.", &["axill", "lymph"]),
        ]
    } else if has(&["thyroid", "neck"]) {
        vec![("THYROID", "Remainder of the gland is homogeneous.", &["homogene"]), ("LYMPH NODES", "No suspicious cervical lymph nodes.", &["lymph"])]
    } else {
        vec![
            ("BONES", "No other fracture or dislocation.", &["dislocat"]),
            ("JOINT SPACES", "Joint spaces are preserved.", &["joint space", "narrowing", "osteophyt", "arthritis"]),
            ("SOFT TISSUES", "Unremarkable.", &["soft tissue", "swelling", "effusion"]),
        ]
    }
}
