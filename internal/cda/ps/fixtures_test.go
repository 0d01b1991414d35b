package ps

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/cda"
	"github.com/luxncp/luxncp/internal/terminology"
	"github.com/luxncp/luxncp/internal/testutil"
)

// The demo national Patient Summaries are generated here, deterministically,
// from the clinical content below and the demographics of
// internal/national/demo/data/patients.json: go test ./internal/cda/ps -run TestFixtures -update

func sct(code, fr string) Coding   { return Coding{Code: code, System: OIDSNOMED, Display: fr} }
func icd(code, fr string) Coding   { return Coding{Code: code, System: OIDICD10, Display: fr} }
func atc(code, fr string) Coding   { return Coding{Code: code, System: OIDATC, Display: fr} }
func loinc(code, fr string) Coding { return Coding{Code: code, System: OIDLOINC, Display: fr} }

var (
	typAllergy     = sct("609328004", "Allergie")
	typIntolerance = sct("782197009", "Intolérance")
	typPropensity  = sct("420134006", "Réaction indésirable")
	sevMild        = sct("255604002", "Léger")
	sevModerate    = sct("6736007", "Modéré")
	sevSevere      = sct("24484000", "Sévère")
)

// luProducts reads the names of the Luxembourg products from translations/.
func luProducts(t testing.TB) map[string]string {
	f, err := os.Open(filepath.Join(testutil.RepoRoot(t), "translations", "lu-products.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows[1:] {
		out[r[0]] = r[1]
	}
	return out
}

// demoPatients reads the demo backend's patients.json (FHIR collection).
func demoPatients(t testing.TB) map[string]cda.Patient {
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "internal", "national", "demo", "data", "patients.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	r := &fhirReader{}
	out := map[string]cda.Patient{}
	for _, e := range bundle.Entry {
		var res fhirResource
		if err := json.Unmarshal(e.Resource, &res); err != nil {
			t.Fatal(err)
		}
		if res.ResourceType != "Patient" {
			continue
		}
		p := r.patient(&res)
		if len(p.IDs) == 0 {
			continue
		}
		out[res.ID] = p
	}
	return out
}

type fixture struct {
	pid    string // demo patient id (p01 …)
	format string // "xml" (LU CDA) or "json" (FHIR IPS)
	role   string
	fill   func(s *Summary, lu func(code string) Coding)
}

var authors = map[string]cda.Author{
	"hoffmann": {Professional: cda.Professional{IDs: []cda.II{{Root: "1.3.182.4.1", Extension: "2991234567"}}, Name: cda.Name{Prefix: []string{"Dr"}, Given: []string{"Luc"}, Family: "Hoffmann"},
		Addr: cda.Address{Lines: []string{"4 rue du Brill"}, City: "Esch-sur-Alzette", PostalCode: "4041", Country: "LU"}, Telecoms: []cda.Telecom{{Use: "WP", Value: "tel:+35254123456"}},
		Organization: cda.Organization{IDs: []cda.II{{Root: "1.3.182.4.2", Extension: "10000101"}}, Name: "Cabinet médical Hoffmann", Telecoms: []cda.Telecom{{Use: "WP", Value: "tel:+35254123456"}},
			Addr: cda.Address{Lines: []string{"4 rue du Brill"}, City: "Esch-sur-Alzette", PostalCode: "4041", Country: "LU"}}},
		Function: terminology.Coding{Code: "221", System: "2.16.840.1.113883.2.9.6.2.7", Display: "Médecin"}},
	"ney": {Professional: cda.Professional{IDs: []cda.II{{Root: "1.3.182.4.1", Extension: "2997654321"}}, Name: cda.Name{Prefix: []string{"Dr"}, Given: []string{"Claire"}, Family: "Ney"},
		Addr: cda.Address{Lines: []string{"21 avenue de la Gare"}, City: "Luxembourg", PostalCode: "1611", Country: "LU"}, Telecoms: []cda.Telecom{{Use: "WP", Value: "tel:+352442211"}},
		Organization: cda.Organization{IDs: []cda.II{{Root: "1.3.182.4.2", Extension: "10000102"}}, Name: "Cabinet de médecine générale Gare", Telecoms: []cda.Telecom{{Use: "WP", Value: "tel:+352442211"}},
			Addr: cda.Address{Lines: []string{"21 avenue de la Gare"}, City: "Luxembourg", PostalCode: "1611", Country: "LU"}}},
		Function: terminology.Coding{Code: "221", System: "2.16.840.1.113883.2.9.6.2.7", Display: "Médecin"}},
	"welter": {Professional: cda.Professional{IDs: []cda.II{{Root: "1.3.182.4.1", Extension: "2995550123"}}, Name: cda.Name{Prefix: []string{"Dr"}, Given: []string{"Paul"}, Family: "Welter"},
		Addr: cda.Address{Lines: []string{"120 avenue Salentiny"}, City: "Ettelbruck", PostalCode: "9080", Country: "LU"}, Telecoms: []cda.Telecom{{Use: "WP", Value: "tel:+3528166"}},
		Organization: cda.Organization{IDs: []cda.II{{Root: "1.3.182.4.2", Extension: "10000103"}}, Name: "Centre Hospitalier du Nord", Telecoms: []cda.Telecom{{Use: "WP", Value: "tel:+3528166"}},
			Addr: cda.Address{Lines: []string{"120 avenue Salentiny"}, City: "Ettelbruck", PostalCode: "9080", Country: "LU"}}},
		Function: terminology.Coding{Code: "221", System: "2.16.840.1.113883.2.9.6.2.7", Display: "Médecin"}},
}

var custodianLU = cda.Organization{IDs: []cda.II{{Root: "1.3.182.4.2", Extension: "10000734"}}, Name: "Agence eSanté Luxembourg",
	Telecoms: []cda.Telecom{{Use: "WP", Value: "tel:+35227125000"}}, Addr: cda.Address{Lines: []string{"125 route d'Esch"}, City: "Luxembourg", PostalCode: "1471", Country: "LU"}}

func med(p Coding, name string, dose float64, every float64, unit, start, end string) Medicine {
	return Medicine{Product: p, Name: name, DoseValue: dose, DoseUnit: "1", PeriodValue: every, PeriodUnit: unit, Start: start, End: end}
}

func vit(code Coding, v float64, unit, date string) Observation {
	return Observation{Code: code, Value: v, Unit: unit, Date: date, IsQuantity: true}
}

func lab(code Coding, v float64, unit, date, interp string) Observation {
	return Observation{Code: code, Value: v, Unit: unit, Date: date, IsQuantity: true, Interp: interp}
}

func txt(code Coding, s, date string) Observation {
	return Observation{Code: code, String: s, Date: date}
}

var fixtures = []fixture{
	{"p01", "xml", "LU national CDA sample patient", func(s *Summary, lu func(string) Coding) {
		s.Allergies = []Allergy{
			{Type: typAllergy, Agent: sct("111088007", "Latex"), Reaction: sct("126485001", "Urticaire"), Severity: sevModerate, Onset: "2004-06-01", Status: "active"},
			{Type: typAllergy, Agent: sct("260176001", "Kiwi"), Reaction: sct("43116000", "Eczéma"), Severity: sevMild, Onset: "2006-01-01", Status: "active"},
			{Type: typIntolerance, Agent: sct("47703008", "Lactose"), Reaction: sct("62315008", "Diarrhée"), Severity: sevMild, Status: "active"},
			{Type: typAllergy, Agent: atc("B01AC06", "Acide acétylsalicylique"), Reaction: sct("195967001", "Asthme"), Severity: sevSevere, Criticality: "high", Onset: "2009-03-01", Status: "active"},
		}
		s.Medications = []Medicine{
			med(lu("1996073711"), "Euthyrox 100 µg", 1, 1, "d", "1997-10-06", ""),
			med(lu("1998020765"), "Salbutamol 100 µg/dose, 2 bouffées si besoin", 2, 6, "h", "2015-01-02", ""),
			med(lu("2001096526"), "Augmentin 500 mg/125 mg", 1, 8, "h", "2025-09-07", "2025-09-17"),
		}
		s.Problems = []Problem{
			{Code: icd("J45.0", "Asthme à prédominance allergique"), Text: "Asthme allergique", Onset: "1994-10-03"},
			{Code: icd("E03.9", "Hypothyroïdie, sans précision"), Text: "Hypothyroïdie suite cancer", Onset: "1997-10-06"},
			{Code: icd("I49.8", "Autres arythmies cardiaques précisées"), Text: "Syndrome de Brugada", Onset: "2013-01-09"},
			{Code: icd("E11.9", "Diabète sucré de type 2, sans complication"), Text: "Diabète type 2 (suite grossesse)", Onset: "2012-04-30"},
		}
		s.PastIllnesses = []Problem{
			{Code: icd("O24.4", "Diabète sucré survenant au cours de la grossesse"), Text: "Diabète gestationnel", Onset: "2011-10-12", End: "2012-04-30"},
		}
		s.Procedures = []Procedure{
			{Code: sct("13619001", "Thyroïdectomie"), Date: "1997-06-05"},
			{Code: sct("11466000", "Césarienne"), Date: "2012-04-14"},
		}
		s.Devices = []Device{{Code: sct("72506001", "Défibrillateur automatique implantable"), Start: "2014-10-20", ID: "DAI-2014-1020"}}
		s.Immunizations = []Immunization{
			{Vaccine: atc("J07BC01", "Hépatite B"), Date: "2006-06-01"},
			{Vaccine: atc("J07BM01", "Papillomavirus"), Date: "2004-09-15"},
			{Vaccine: atc("J07AJ52", "Diphtérie-tétanos-coqueluche"), Date: "2021-06-10"},
		}
	}},
	{"p02", "json", "rich history", func(s *Summary, lu func(string) Coding) {
		s.Allergies = []Allergy{
			{Type: typAllergy, Agent: sct("111088007", "Latex"), Reaction: sct("126485001", "Urticaire"), Severity: sevModerate, Criticality: "low", Certainty: "confirmed", Onset: "1996-05-01", Status: "active"},
			{Type: typAllergy, Agent: sct("256262001", "Pollen de bouleau"), Reaction: sct("70076002", "Rhinite"), Severity: sevMild, Criticality: "low", Onset: "1980", Status: "active"},
			{Type: typIntolerance, Agent: sct("47703008", "Lactose"), Reaction: sct("62315008", "Diarrhée"), Severity: sevMild, Certainty: "confirmed", Status: "active"},
		}
		s.Medications = []Medicine{
			fmed(lu("1999081203"), atc("A10BA02", "metformine"), 850, "mg", 1, 12, "h", "2012-05-01", "", icd("E11.9", "Diabète de type 2")),
			fmed(lu("2004110207"), atc("C09AA05", "ramipril"), 5, "mg", 1, 1, "d", "2010-02-15", "", icd("I10", "Hypertension essentielle")),
			fmed(lu("2008120866"), atc("C10AA05", "atorvastatine"), 20, "mg", 1, 1, "d", "2013-09-01", "", icd("E78.5", "Hyperlipidémie")),
			fmed(lu("1996073711"), atc("H03AA01", "lévothyroxine sodique"), 0.1, "mg", 1, 1, "d", "1998-07-01", "", icd("E03.9", "Hypothyroïdie")),
			fmed(lu("2010110650"), atc("A11CC05", "colécalciférol"), 2400, "[iU]/mL", 10, 7, "d", "2020-11-01", "", Coding{}),
			fmed(lu("1996040436"), atc("A02BC01", "oméprazole"), 20, "mg", 1, 1, "d", "2016-03-10", "", icd("K21.0", "Reflux gastro-œsophagien")),
			fmed(lu("2002120874"), atc("N06AB06", "sertraline"), 50, "mg", 1, 1, "d", "2021-01-20", "", icd("F32.9", "Épisode dépressif")),
			fmed(lu("2008051105"), atc("R03DC03", "montélukast"), 10, "mg", 1, 1, "d", "2014-04-01", "", icd("J45.0", "Asthme")),
		}
		s.Problems = []Problem{
			{Code: icd("E11.9", "Diabète sucré de type 2, sans complication"), Onset: "2012-04-20", Status: "active"},
			{Code: icd("I10", "Hypertension essentielle (primitive)"), Onset: "2010-02-01", Status: "active"},
			{Code: icd("E78.5", "Hyperlipidémie, sans précision"), Onset: "2013-08-15", Status: "active"},
			{Code: icd("E03.9", "Hypothyroïdie, sans précision"), Onset: "1998-07-01", Status: "active"},
			{Code: icd("K21.0", "Reflux gastro-œsophagien avec œsophagite"), Onset: "2016-03-01", Status: "active"},
			{Code: icd("F32.9", "Épisode dépressif, sans précision"), Onset: "2021-01-10", Status: "active"},
			{Code: icd("J45.0", "Asthme à prédominance allergique"), Onset: "1985", Status: "active"},
		}
		s.PastIllnesses = []Problem{
			{Code: icd("C50.9", "Tumeur maligne du sein, sans précision"), Onset: "2008-02-12", End: "2009-06-30", Status: "resolved"},
			{Code: icd("O24.4", "Diabète sucré survenant au cours de la grossesse"), Onset: "1988-11-01", End: "1989-05-20", Status: "resolved"},
			{Code: icd("J18.9", "Pneumopathie, sans précision"), Onset: "2015-01-05", End: "2015-01-25", Status: "resolved"},
			{Code: icd("K80.2", "Calcul de la vésicule biliaire sans cholécystite"), Onset: "2004-09-01", End: "2005-03-15", Status: "resolved"},
		}
		s.Procedures = []Procedure{
			{Code: sct("11466000", "Césarienne"), Date: "1989-05-20"},
			{Code: sct("13619001", "Thyroïdectomie"), Date: "1998-06-15"},
			{Code: sct("45595009", "Cholécystectomie par cœlioscopie"), Date: "2005-03-15"},
			{Code: sct("609588000", "Prothèse totale du genou"), Date: "2019-10-08"},
			{Code: sct("73761001", "Coloscopie"), Date: "2021-05-04"},
		}
		s.DevicesAbsent = NoKnownDevices
		s.Immunizations = []Immunization{
			{Vaccine: atc("J07BB02", "Grippe saisonnière"), Date: "2025-10-14", Name: "Vaccin grippal tétravalent"},
			{Vaccine: atc("J07BN01", "COVID-19 (ARNm)"), Date: "2024-10-20", Dose: 5},
			{Vaccine: atc("J07AL02", "Pneumocoque conjugué"), Date: "2022-11-03"},
			{Vaccine: atc("J07AM51", "Tétanos-diphtérie"), Date: "2018-04-12", Dose: 4},
			{Vaccine: atc("J07BC02", "Hépatite A"), Date: "2010-06-01"},
			{Vaccine: atc("J07BC01", "Hépatite B"), Date: "1995-03-15", Dose: 3},
		}
		s.VitalSigns = []Observation{
			vit(loinc("8480-6", "Pression artérielle systolique"), 138, "mm[Hg]", "2025-10-14"),
			vit(loinc("8462-4", "Pression artérielle diastolique"), 84, "mm[Hg]", "2025-10-14"),
			vit(loinc("29463-7", "Poids"), 72, "kg", "2025-10-14"),
			vit(loinc("8302-2", "Taille"), 163, "cm", "2025-10-14"),
			vit(loinc("39156-5", "Indice de masse corporelle"), 27.1, "kg/m2", "2025-10-14"),
			vit(loinc("8867-4", "Fréquence cardiaque"), 72, "/min", "2025-10-14"),
		}
		s.Results = []Observation{
			lab(loinc("4548-4", "Hémoglobine glyquée (HbA1c)"), 7.1, "%", "2025-09-30", "H"),
			lab(loinc("2160-0", "Créatinine sérique"), 0.9, "mg/dL", "2025-09-30", "N"),
			lab(loinc("33914-3", "Débit de filtration glomérulaire estimé"), 78, "mL/min/{1.73_m2}", "2025-09-30", "N"),
			lab(loinc("13457-7", "Cholestérol LDL (calculé)"), 2.6, "mmol/L", "2025-09-30", "N"),
			lab(loinc("3016-3", "TSH"), 2.1, "m[IU]/L", "2025-09-30", "N"),
			lab(loinc("718-7", "Hémoglobine"), 13.4, "g/dL", "2025-09-30", "N"),
		}
		s.Social = []Observation{
			txt(sct("229819007", "Tabagisme"), "Ancienne fumeuse (arrêt en 2005)", "1975-01-01"),
			{Code: sct("897148007", "Consommation d'alcool"), Value: 2, Unit: "{glass}/wk", IsQuantity: true, Date: "2020-01-01"},
		}
		s.Functional = []Observation{
			txt(loinc("75246-9", "Mobilité"), "Marche avec une canne depuis la prothèse du genou", "2025-10-14"),
			txt(loinc("75246-9", "Activités de la vie quotidienne"), "Autonome", "2025-10-14"),
		}
		s.CarePlan = []TextItem{{Text: "Contrôle HbA1c et fonction rénale tous les 3 mois", Date: "2025-12-30"}, {Text: "Mammographie de contrôle annuelle", Date: "2026-02-12"}}
		s.Directives = []TextItem{{Text: "Directive anticipée déposée auprès du médecin traitant (refus de l'acharnement thérapeutique)", Date: "2022-03-01"}}
		s.Contact = &Contact{Relationship: Coding{Code: "HUSB", System: "2.16.840.1.113883.5.111", Display: "Époux"}, Name: cda.Name{Given: []string{"Jean-Paul"}, Family: "Schmit"},
			Telecoms: []cda.Telecom{{Value: "tel:+352621200202"}}, Addr: cda.Address{Lines: []string{"12 rue de l'Alzette"}, City: "Esch-sur-Alzette", PostalCode: "4011", Country: "LU"}}
	}},
	{"p03", "xml", "many medications", func(s *Summary, lu func(string) Coding) {
		s.AllergiesAbsent = NoKnownAllergies
		for _, m := range []struct {
			code, name string
			dose       float64
			every      float64
			unit       string
			start      string
		}{
			{"1992030767", "Furosémide 40 mg", 1, 1, "d", "2018-02-10"},
			{"1993012567", "Acénocoumarol 4 mg (selon INR)", 1, 1, "d", "2016-05-02"},
			{"1994052236", "Lévodopa/Bensérazide 100/25 mg", 1, 8, "h", "2019-09-15"},
			{"1995031881", "Paracétamol 1 g", 1, 8, "h", "2020-01-20"},
			{"1996040436", "Oméprazole 20 mg", 1, 1, "d", "2016-05-02"},
			{"2002061083", "Simvastatine 40 mg", 1, 1, "d", "2012-03-01"},
			{"2002120874", "Sertraline 50 mg", 1, 1, "d", "2021-06-01"},
			{"2003051119", "Amlodipine 10 mg", 1, 1, "d", "2014-11-20"},
			{"2005020318", "Bisoprolol 5 mg", 1, 1, "d", "2016-05-02"},
			{"2006081096", "Tiotropium 18 µg", 1, 1, "d", "2017-02-14"},
			{"2007030641", "Valsartan 80 mg", 1, 1, "d", "2018-02-10"},
			{"2010110650", "Colécalciférol 2400 UI/mL, 10 gouttes", 10, 7, "d", "2020-11-05"},
			{"2001070981", "Latanoprost collyre, 1 goutte le soir", 1, 1, "d", "2019-01-08"},
		} {
			s.Medications = append(s.Medications, med(lu(m.code), m.name, m.dose, m.every, m.unit, m.start, ""))
		}
		s.Problems = []Problem{
			{Code: icd("I50.9", "Insuffisance cardiaque, sans précision"), Text: "Insuffisance cardiaque", Onset: "2018-02-01"},
			{Code: icd("I48.9", "Fibrillation et flutter auriculaires, sans précision"), Text: "Fibrillation auriculaire", Onset: "2016-04-20"},
			{Code: icd("G20", "Maladie de Parkinson"), Text: "Maladie de Parkinson", Onset: "2019-09-01"},
			{Code: icd("J44.9", "Maladie pulmonaire obstructive chronique, sans précision"), Text: "BPCO", Onset: "2017-01-15"},
			{Code: icd("I10", "Hypertension essentielle (primitive)"), Text: "Hypertension artérielle", Onset: "2005-06-01"},
			{Code: icd("H40.1", "Glaucome primitif à angle ouvert"), Text: "Glaucome", Onset: "2019-01-08"},
			{Code: icd("F32.9", "Épisode dépressif, sans précision"), Text: "Dépression", Onset: "2021-06-01"},
		}
		s.Procedures = []Procedure{{Code: sct("80146002", "Appendicectomie"), Date: "1962-08-14"}}
		s.Immunizations = []Immunization{{Vaccine: atc("J07BB02", "Grippe saisonnière"), Date: "2025-10-20"}, {Vaccine: atc("J07AL02", "Pneumocoque"), Date: "2020-10-12"}}
		s.VitalSigns = []Observation{
			vit(loinc("8480-6", "Pression artérielle systolique"), 128, "mm[Hg]", "2025-10-20"),
			vit(loinc("8462-4", "Pression artérielle diastolique"), 76, "mm[Hg]", "2025-10-20"),
			vit(loinc("29463-7", "Poids"), 81, "kg", "2025-10-20"),
		}
		s.Results = []Observation{lab(loinc("6301-6", "INR"), 2.6, "{INR}", "2025-11-02", "N")}
	}},
	{"p04", "json", "pregnant", func(s *Summary, lu func(string) Coding) {
		s.AllergiesAbsent = NoKnownAllergies
		s.Medications = []Medicine{fmed(lu("2010110650"), atc("A11CC05", "colécalciférol"), 2400, "[iU]/mL", 4, 1, "d", "2025-08-01", "", Coding{})}
		s.Problems = []Problem{{Code: icd("Z33", "Grossesse constatée fortuitement"), Text: "Grossesse en cours", Onset: "2025-07-10", Status: "active"}}
		s.Pregnancy = &Pregnancy{Status: sct("77386006", "Enceinte"), Observed: "2025-10-20", ExpectedBirth: "2026-04-02",
			Outcomes: []PregnancyOutcome{{Outcome: sct("281050002", "Naissance vivante"), Count: 1}}}
		s.Procedures = []Procedure{{Code: sct("11466000", "Césarienne"), Date: "2021-03-18"}}
		s.Immunizations = []Immunization{{Vaccine: atc("J07AJ52", "Coqueluche (dTca)"), Date: "2025-11-04"}, {Vaccine: atc("J07BB02", "Grippe saisonnière"), Date: "2025-10-20"}}
		s.VitalSigns = []Observation{
			vit(loinc("8480-6", "Pression artérielle systolique"), 116, "mm[Hg]", "2025-10-20"),
			vit(loinc("8462-4", "Pression artérielle diastolique"), 72, "mm[Hg]", "2025-10-20"),
			vit(loinc("29463-7", "Poids"), 68.5, "kg", "2025-10-20"),
		}
	}},
	{"p05", "xml", "drug allergy (penicillin)", func(s *Summary, lu func(string) Coding) {
		s.Allergies = []Allergy{
			{Type: typAllergy, Agent: atc("J01CA04", "Amoxicilline (pénicilline)"), Reaction: sct("39579001", "Choc anaphylactique"), Severity: sevSevere, Criticality: "high", Certainty: "confirmed", Onset: "2003-04-11", Status: "active"},
			{Type: typAllergy, Agent: sct("256277009", "Pollen de graminées"), Reaction: sct("70076002", "Rhinite"), Severity: sevMild, Onset: "1990", Status: "active"},
		}
		s.Medications = []Medicine{
			med(lu("1998041214"), "Cétirizine 10 mg (avril à juillet)", 1, 1, "d", "2025-04-01", ""),
			med(lu("2003081321"), "Mométasone spray nasal, 2 pulvérisations", 2, 1, "d", "2025-04-01", ""),
		}
		s.Problems = []Problem{{Code: icd("J30.1", "Rhinite allergique due au pollen"), Text: "Rhume des foins", Onset: "1990-05-01"}, {Code: icd("M54.5", "Lombalgie basse"), Text: "Lombalgies chroniques", Onset: "2019-02-01"}}
		s.Procedures = []Procedure{{Code: sct("80146002", "Appendicectomie"), Date: "2003-04-10"}}
		s.Immunizations = []Immunization{{Vaccine: atc("J07BN01", "COVID-19 (ARNm)"), Date: "2021-06-15", Dose: 2}}
	}},
	{"p06", "json", "implanted device (pacemaker)", func(s *Summary, lu func(string) Coding) {
		s.AllergiesAbsent = NoKnownAllergies
		s.Medications = []Medicine{
			fmed(lu("2013062343"), atc("B01AF02", "apixaban"), 5, "mg", 1, 12, "h", "2019-03-20", "", icd("I48.9", "Fibrillation auriculaire")),
			fmed(lu("2004110207"), atc("C09AA05", "ramipril"), 5, "mg", 1, 1, "d", "2015-06-01", "", icd("I10", "Hypertension")),
			fmed(lu("2009040974"), atc("C10AA07", "rosuvastatine"), 10, "mg", 1, 1, "d", "2015-06-01", "", Coding{}),
		}
		s.Problems = []Problem{
			{Code: icd("I49.8", "Autres arythmies cardiaques précisées"), Text: "Maladie du sinus", Onset: "2019-02-25", Status: "active"},
			{Code: icd("I48.9", "Fibrillation et flutter auriculaires, sans précision"), Onset: "2019-02-25", Status: "active"},
			{Code: icd("I10", "Hypertension essentielle (primitive)"), Onset: "2015-05-12", Status: "active"},
		}
		s.Procedures = []Procedure{{Code: sct("307280005", "Implantation d'un stimulateur cardiaque"), Date: "2019-03-12"}}
		s.Devices = []Device{{Code: sct("14106009", "Stimulateur cardiaque"), Start: "2019-03-12", ID: "(01)05414734501234(21)PM190312"}}
		s.VitalSigns = []Observation{vit(loinc("8867-4", "Fréquence cardiaque"), 70, "/min", "2025-09-08")}
	}},
	{"p07", "json", "ePrescription holder", func(s *Summary, lu func(string) Coding) {
		s.Allergies = []Allergy{{Type: typAllergy, Agent: sct("128488006", "Poussière de maison"), Reaction: sct("76067001", "Éternuements"), Severity: sevMild, Status: "active"}}
		s.Medications = []Medicine{fmed(lu("2005110872"), atc("R03AK07", "budésonide et formotérol"), 0, "", 2, 12, "h", "2022-09-01", "", icd("J45.0", "Asthme"))}
		s.Problems = []Problem{{Code: icd("J45.0", "Asthme à prédominance allergique"), Onset: "2001", Status: "active"}}
	}},
	{"p09", "json", "diabetes", func(s *Summary, lu func(string) Coding) {
		s.AllergiesAbsent = NoAllergyInfo
		s.Medications = []Medicine{
			fmed(lu("1999081210"), atc("A10BA02", "metformine"), 1000, "mg", 1, 12, "h", "2014-02-01", "", icd("E11.9", "Diabète de type 2")),
			fmed(lu("2012101327"), atc("A10AE04", "insuline glargine"), 100, "[iU]/mL", 22, 1, "d", "2020-06-15", "", icd("E11.9", "Diabète de type 2")),
			fmed(lu("2019060658"), atc("A10BJ06", "sémaglutide"), 1, "mg", 1, 7, "d", "2023-01-10", "", icd("E66.9", "Obésité")),
		}
		s.Problems = []Problem{
			{Code: icd("E11.9", "Diabète sucré de type 2, sans complication"), Onset: "2014-01-20", Status: "active"},
			{Code: icd("E66.9", "Obésité, sans précision"), Onset: "2010", Status: "active"},
			{Code: icd("I10", "Hypertension essentielle (primitive)"), Onset: "2016-09-01", Status: "active"},
		}
		s.Results = []Observation{lab(loinc("4548-4", "Hémoglobine glyquée (HbA1c)"), 7.8, "%", "2025-10-01", "H")}
		s.VitalSigns = []Observation{vit(loinc("29463-7", "Poids"), 94, "kg", "2025-10-01"), vit(loinc("39156-5", "Indice de masse corporelle"), 33.2, "kg/m2", "2025-10-01")}
	}},
	{"p11", "json", "child", func(s *Summary, lu func(string) Coding) {
		s.Allergies = []Allergy{{Type: typAllergy, Agent: sct("762952008", "Arachide"), Reaction: sct("41291007", "Angio-œdème"), Severity: sevSevere, Criticality: "high", Certainty: "confirmed", Onset: "2018-05-14", Status: "active"}}
		s.MedicationsAbs = NoKnownMedications
		s.ProblemsAbsent = NoKnownProblems
		s.Immunizations = []Immunization{
			{Vaccine: atc("J07CA09", "Hexavalent (DTCa-Polio-Hib-HepB)"), Date: "2015-05-04", Dose: 1},
			{Vaccine: atc("J07CA09", "Hexavalent (DTCa-Polio-Hib-HepB)"), Date: "2015-07-06", Dose: 2},
			{Vaccine: atc("J07CA09", "Hexavalent (DTCa-Polio-Hib-HepB)"), Date: "2016-03-07", Dose: 3},
			{Vaccine: atc("J07BD52", "Rougeole-oreillons-rubéole"), Date: "2016-03-07", Dose: 1},
			{Vaccine: atc("J07BD52", "Rougeole-oreillons-rubéole"), Date: "2016-09-12", Dose: 2},
			{Vaccine: atc("J07AL02", "Pneumocoque conjugué"), Date: "2016-03-07", Dose: 3},
		}
		s.VitalSigns = []Observation{vit(loinc("29463-7", "Poids"), 34, "kg", "2025-09-02"), vit(loinc("8302-2", "Taille"), 139, "cm", "2025-09-02")}
	}},
	{"p12", "json", "original clinical documents", func(s *Summary, lu func(string) Coding) {
		s.AllergiesAbsent = NoKnownAllergies
		s.Medications = []Medicine{
			fmed(lu("2000052781"), atc("B01AC04", "clopidogrel"), 75, "mg", 1, 1, "d", "2021-04-02", "", icd("I25.1", "Cardiopathie ischémique")),
			fmed(lu("2009040974"), atc("C10AA07", "rosuvastatine"), 10, "mg", 1, 1, "d", "2021-04-02", "", Coding{}),
			fmed(lu("2005020318"), atc("C07AB07", "bisoprolol"), 5, "mg", 1, 1, "d", "2021-04-02", "", Coding{}),
		}
		s.Problems = []Problem{{Code: icd("I25.1", "Cardiopathie artérioscléreuse"), Onset: "2021-03-28", Status: "active"}}
		s.PastIllnesses = []Problem{{Code: icd("I21.9", "Infarctus aigu du myocarde, sans précision"), Onset: "2021-03-28", End: "2021-04-02", Status: "resolved"}}
		s.Procedures = []Procedure{{Code: sct("11101003", "Angioplastie coronaire transluminale percutanée"), Date: "2021-03-28"}}
	}},
	{"p13", "json", "minimal / no information", func(s *Summary, lu func(string) Coding) {
		s.AllergiesAbsent, s.MedicationsAbs, s.ProblemsAbsent = NoAllergyInfo, NoMedicationInfo, NoProblemInfo
	}},
	{"p16", "json", "consent withdrawn", func(s *Summary, lu func(string) Coding) {
		s.AllergiesAbsent = NoKnownAllergies
		s.Medications = []Medicine{fmed(lu("2006031090"), atc("G03CA03", "estradiol"), 0, "", 1, 3, "d", "2024-02-01", "", Coding{})}
		s.Problems = []Problem{{Code: icd("G43.9", "Migraine, sans précision"), Onset: "1999", Status: "active"}}
	}},
	{"p22", "xml", "legacy id only", func(s *Summary, lu func(string) Coding) {
		s.AllergiesAbsent = NoKnownAllergies
		s.Medications = []Medicine{
			med(lu("1995031898"), "Paracétamol 500 mg effervescent", 1, 8, "h", "2015-11-02", ""),
			med(lu("2010110650"), "Colécalciférol, 4 gouttes", 4, 1, "d", "2015-11-02", ""),
		}
		s.Problems = []Problem{{Code: icd("M81.0", "Ostéoporose post-ménopausique"), Text: "Ostéoporose", Onset: "2012-05-01"}, {Code: icd("I10", "Hypertension essentielle (primitive)"), Text: "HTA", Onset: "1995"}}
		s.PastIllnesses = []Problem{{Code: icd("S72.0", "Fracture du col du fémur"), Text: "Fracture du col du fémur droit", Onset: "2015-10-20", End: "2015-12-20"}}
		s.Procedures = []Procedure{{Code: sct("52734007", "Prothèse totale de hanche"), Date: "2015-10-22"}}
		s.Devices = []Device{{Code: sct("304120007", "Prothèse totale de hanche"), Start: "2015-10-22"}}
	}},
	{"p27", "json", "hypertension", func(s *Summary, lu func(string) Coding) {
		s.AllergiesAbsent = NoKnownAllergies
		s.Medications = []Medicine{
			{Product: lu("2006090533"), Name: "Losartan/Hydrochlorothiazide 50 mg/12,5 mg", DoseValue: 1, DoseUnit: "1", PeriodValue: 1, PeriodUnit: "d", Start: "2023-05-10",
				Ingredients: []Ingredient{{Substance: atc("C09CA01", "losartan"), StrengthValue: 50, StrengthUnit: "mg"}, {Substance: atc("C03AA03", "hydrochlorothiazide"), StrengthValue: 12.5, StrengthUnit: "mg"}}},
			fmed(lu("2003051102"), atc("C08CA01", "amlodipine"), 5, "mg", 1, 1, "d", "2024-01-15", "", icd("I10", "Hypertension")),
		}
		s.Problems = []Problem{{Code: icd("I10", "Hypertension essentielle (primitive)"), Onset: "2023-05-02", Status: "active"}}
		s.VitalSigns = []Observation{vit(loinc("8480-6", "Pression artérielle systolique"), 132, "mm[Hg]", "2025-11-03"), vit(loinc("8462-4", "Pression artérielle diastolique"), 82, "mm[Hg]", "2025-11-03")}
	}},
	{"p31", "xml", "rich history; implanted device (hip prosthesis)", func(s *Summary, lu func(string) Coding) {
		s.Allergies = []Allergy{
			{Type: typAllergy, Agent: sct("256277009", "Pollen de graminées"), Reaction: sct("9826008", "Conjonctivite"), Severity: sevMild, Onset: "1970", Status: "active"},
			{Type: typPropensity, Agent: atc("N02BA01", "Acide acétylsalicylique"), Reaction: sct("4386001", "Bronchospasme"), Severity: sevModerate, Criticality: "high", Onset: "2009-11-02", Status: "active"},
		}
		for _, m := range []struct {
			code, name string
			dose       float64
			every      float64
			unit       string
			start      string
		}{
			{"1999081210", "Metformine 1000 mg", 1, 12, "h", "2006-03-01"},
			{"2012101327", "Insuline glargine 100 U/mL, 18 unités le soir", 18, 1, "d", "2018-09-10"},
			{"2016020541", "Empagliflozine 10 mg", 1, 1, "d", "2021-02-01"},
			{"2008120866", "Atorvastatine 20 mg", 1, 1, "d", "2009-11-10"},
			{"2005020318", "Bisoprolol 5 mg", 1, 1, "d", "2009-11-10"},
			{"2013062343", "Apixaban 5 mg", 1, 12, "h", "2020-07-01"},
			{"2003051102", "Amlodipine 5 mg", 1, 1, "d", "2012-04-01"},
			{"1999070543", "Pantoprazole 40 mg", 1, 1, "d", "2020-07-01"},
			{"1995031881", "Paracétamol 1 g si douleur", 1, 8, "h", "2017-01-15"},
			{"2010110650", "Colécalciférol, 10 gouttes par semaine", 10, 7, "d", "2019-12-01"},
		} {
			s.Medications = append(s.Medications, med(lu(m.code), m.name, m.dose, m.every, m.unit, m.start, ""))
		}
		s.Problems = []Problem{
			{Code: icd("E11.9", "Diabète sucré de type 2, sans complication"), Text: "Diabète de type 2 insulino-traité", Onset: "2006-02-15"},
			{Code: icd("I10", "Hypertension essentielle (primitive)"), Text: "Hypertension artérielle", Onset: "2001-01-01"},
			{Code: icd("I48.9", "Fibrillation et flutter auriculaires, sans précision"), Text: "Fibrillation auriculaire paroxystique", Onset: "2020-06-20"},
			{Code: icd("N18.3", "Maladie rénale chronique, stade 3"), Text: "Insuffisance rénale chronique stade 3", Onset: "2021-01-15"},
			{Code: icd("E78.0", "Hypercholestérolémie essentielle"), Text: "Hypercholestérolémie", Onset: "2009-11-10"},
			{Code: icd("G47.3", "Apnée du sommeil"), Text: "Syndrome d'apnées du sommeil appareillé", Onset: "2015-03-01"},
			{Code: icd("H40.1", "Glaucome primitif à angle ouvert"), Text: "Glaucome", Onset: "2018-05-01"},
			{Code: icd("M16.1", "Autres coxarthroses primaires"), Text: "Coxarthrose gauche", Onset: "2014-01-01"},
		}
		s.PastIllnesses = []Problem{
			{Code: icd("I21.9", "Infarctus aigu du myocarde, sans précision"), Text: "Infarctus du myocarde", Onset: "2009-11-02", End: "2009-11-20"},
			{Code: icd("K80.2", "Calcul de la vésicule biliaire sans cholécystite"), Text: "Lithiase biliaire", Onset: "2001-02-01", End: "2001-06-12"},
			{Code: icd("J18.9", "Pneumopathie, sans précision"), Text: "Pneumonie", Onset: "2018-01-10", End: "2018-02-01"},
			{Code: icd("N20.0", "Calcul du rein"), Text: "Colique néphrétique", Onset: "1995-07-01", End: "1995-07-15"},
		}
		s.Procedures = []Procedure{
			{Code: sct("52734007", "Prothèse totale de hanche gauche"), Date: "2017-05-16"},
			{Code: sct("232717009", "Pontage aorto-coronarien"), Date: "2009-11-09"},
			{Code: sct("38102005", "Cholécystectomie"), Date: "2001-06-12"},
			{Code: sct("80146002", "Appendicectomie"), Date: "1958-09-03"},
			{Code: sct("73761001", "Coloscopie"), Date: "2020-10-05"},
		}
		s.Devices = []Device{{Code: sct("304120007", "Prothèse totale de hanche"), Start: "2017-05-16", ID: "PTH-2017-0516-G"}}
		s.Immunizations = []Immunization{
			{Vaccine: atc("J07BB02", "Grippe saisonnière"), Date: "2025-10-08"},
			{Vaccine: atc("J07BN01", "COVID-19 (ARNm)"), Date: "2024-10-15", Dose: 6},
			{Vaccine: atc("J07AL02", "Pneumocoque conjugué"), Date: "2021-11-02"},
			{Vaccine: atc("J07AM51", "Tétanos-diphtérie"), Date: "2016-03-21"},
			{Vaccine: sct("2221000221107", "Zona (vaccin vivant atténué)"), Date: "2022-04-11"},
		}
		s.VitalSigns = []Observation{
			vit(loinc("8480-6", "Pression artérielle systolique"), 142, "mm[Hg]", "2025-10-08"),
			vit(loinc("8462-4", "Pression artérielle diastolique"), 78, "mm[Hg]", "2025-10-08"),
			vit(loinc("29463-7", "Poids"), 88, "kg", "2025-10-08"),
			vit(loinc("8867-4", "Fréquence cardiaque"), 64, "/min", "2025-10-08"),
		}
		s.Results = []Observation{
			lab(loinc("4548-4", "Hémoglobine glyquée (HbA1c)"), 7.4, "%", "2025-09-22", "H"),
			lab(loinc("2160-0", "Créatinine sérique"), 1.5, "mg/dL", "2025-09-22", "H"),
			lab(loinc("33914-3", "Débit de filtration glomérulaire estimé"), 44, "mL/min/{1.73_m2}", "2025-09-22", "L"),
			lab(loinc("2823-3", "Potassium"), 4.6, "mmol/L", "2025-09-22", "N"),
			lab(loinc("13457-7", "Cholestérol LDL (calculé)"), 1.7, "mmol/L", "2025-09-22", "N"),
		}
		s.Social = []Observation{
			{Code: sct("229819007", "Tabagisme"), Value: 0, Unit: "{pack}/d", IsQuantity: true, Date: "2009-11-02"},
			txt(sct("897148007", "Consommation d'alcool"), "Occasionnelle", "2020-01-01"),
		}
		s.Functional = []Observation{txt(loinc("75246-9", "Mobilité"), "Marche sans aide sur terrain plat", "2025-10-08")}
		s.CarePlan = []TextItem{{Text: "Suivi néphrologique semestriel", Date: "2026-03-01"}, {Text: "Contrôle cardiologique annuel (fibrillation auriculaire, anticoagulation)", Date: "2026-01-15"}}
		s.Directives = []TextItem{{Text: "Souhaite être informé de toute décision de limitation thérapeutique", Date: "2023-06-01"}}
	}},
	{"p33", "xml", "minimal (nothing known)", func(s *Summary, lu func(string) Coding) {
		s.AllergiesAbsent, s.MedicationsAbs, s.ProblemsAbsent = NoKnownAllergies, NoKnownMedications, NoKnownProblems
	}},
	{"p34", "json", "drug allergy (ibuprofen)", func(s *Summary, lu func(string) Coding) {
		s.Allergies = []Allergy{
			{Type: typAllergy, Agent: atc("M01AE01", "Ibuprofène"), Reaction: sct("41291007", "Angio-œdème"), Severity: sevSevere, Criticality: "high", Certainty: "confirmed", Onset: "2016-08-21", Status: "active", Text: "Allergie à l'ibuprofène (AINS)"},
		}
		s.Medications = []Medicine{fmed(lu("1995031881"), atc("N02BE01", "paracétamol"), 1000, "mg", 1, 8, "h", "2025-01-01", "", icd("G43.9", "Migraine"))}
		s.Problems = []Problem{{Code: icd("G43.9", "Migraine, sans précision"), Onset: "2010", Status: "active"}}
	}},
}

// fmed is a FHIR-side medication: LU product plus the ATC ingredient and strength.
func fmed(p, substance Coding, strength float64, unit string, dose, every float64, per, start, end string, reason Coding) Medicine {
	m := Medicine{Product: p, Name: p.Display, DoseValue: dose, DoseUnit: "1", PeriodValue: every, PeriodUnit: per, Start: start, End: end, Reason: reason,
		Ingredients: []Ingredient{{Substance: substance, StrengthValue: strength, StrengthUnit: unit}}}
	if strength == 0 {
		m.Ingredients[0].StrengthUnit = ""
	}
	return m
}

// fixtureSummaries builds the model of every fixture: demographics from
// patients.json, clinical content from the table above.
func fixtureSummaries(t testing.TB) map[string]*Summary {
	pats := demoPatients(t)
	prods := luProducts(t)
	lu := func(code string) Coding {
		n, ok := prods[code]
		if !ok {
			t.Fatalf("unknown LU product %s", code)
		}
		return Coding{Code: code, System: OIDLUProduct, Display: n}
	}
	authorFor := map[string]string{"p01": "ney", "p02": "hoffmann", "p03": "hoffmann", "p05": "ney", "p09": "welter", "p22": "welter", "p31": "welter", "p33": "ney"}
	cet := time.FixedZone("CET", 3600)
	out := map[string]*Summary{}
	for i, f := range fixtures {
		p, ok := pats[f.pid]
		if !ok {
			t.Fatalf("fixture %s: no such demo patient", f.pid)
		}
		a := authors[authorFor[f.pid]]
		if a.Name.Family == "" {
			a = authors["ney"]
		}
		created := time.Date(2025, 11, 3+i%20, 9+i%8, 15, 0, 0, cet)
		a.Time = created
		s := &Summary{Source: cda.II{Root: "1.3.182.3.1.1.10000000.6.3.1.1", Extension: "9" + p.IDs[0].Extension}, Created: created, Language: "fr-LU",
			Patient: p, Author: a, Custodian: custodianLU}
		f.fill(s, lu)
		out[f.pid] = s
	}
	return out
}

func fixtureDir(t testing.TB) string {
	return filepath.Join(testutil.RepoRoot(t), "internal", "national", "demo", "data", "ps")
}

// fixtureName is the file name of a fixture: the patient's first matricule.
func fixtureName(s *Summary, format string) string { return s.Patient.IDs[0].Extension + "." + format }

// TestFixtures regenerates (-update) or checks the demo national Patient
// Summaries: the files on disk are exactly what the generator writes.
func TestFixtures(t *testing.T) {
	sums := fixtureSummaries(t)
	for _, f := range fixtures {
		s := sums[f.pid]
		var b []byte
		if f.format == "xml" {
			b = writeLUCDA(s)
		} else {
			b = writeFHIR(s)
		}
		path := filepath.Join(fixtureDir(t), fixtureName(s, f.format))
		if *testutil.Update {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run go test ./internal/cda/ps -run TestFixtures -update)", f.pid, err)
		}
		if string(got) != string(b) {
			t.Errorf("%s is out of date (run go test ./internal/cda/ps -run TestFixtures -update)", path)
		}
	}
}
