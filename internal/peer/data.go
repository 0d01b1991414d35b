package peer

// Fixture data of the simulated peers: synthetic patients with plausible
// national identifiers, and the clinical content of their documents, coded
// as eHDSI pivot documents are (ICD-10, SNOMED CT, ATC, EDQM).

// Code is a coded value as CDA carries it.
type Code struct{ Code, System, SystemName, Display string }

const (
	sysICD10 = "1.3.6.1.4.1.12559.11.10.1.3.1.44.2"
	sysSCT   = "2.16.840.1.113883.6.96"
	sysATC   = "2.16.840.1.113883.6.73"
	sysEDQM  = "0.4.0.127.0.16.1.1.2.1"
	sysLOINC = "2.16.840.1.113883.6.1"
)

func icd(c, d string) Code  { return Code{c, sysICD10, "ICD-10", d} }
func sct(c, d string) Code  { return Code{c, sysSCT, "SNOMED CT", d} }
func atc(c, d string) Code  { return Code{c, sysATC, "ATC", d} }
func edqm(c, d string) Code { return Code{c, sysEDQM, "EDQM", d} }

// Medication is one medicinal product, as prescribed or taken.
type Medication struct {
	ID          string // prescription item id (eP)
	Brand       string // product name in the source country
	Ingredient  Code   // ATC
	Strength    string // value
	StrengthU   string // UCUM
	Form        Code   // EDQM dose form
	Route       Code   // EDQM route
	Dose        string // units per intake
	PeriodHours int
	Packages    int    // packs to dispense (eP)
	PackSize    string // units per pack
	Substitute  bool
	Instruction string // in the source language
}

// Patient is a synthetic foreign patient.
type Patient struct {
	ID, Given, Family, BirthDate, Gender string // BirthDate YYYY-MM-DD, Gender male|female
	Street, City, PostalCode             string
	Problems                             []Code
	Allergies                            []Allergy
	Medications                          []Medication // PS medication summary
	Procedures                           []Procedure
	Prescriptions                        []Medication // eP items
	NoConsent                            bool
}

// Allergy is an allergy or intolerance.
type Allergy struct {
	Agent    Code // ATC substance
	Reaction Code // SNOMED manifestation
}

// Procedure is a past procedure.
type Procedure struct {
	Code Code
	Date string // YYYYMMDD
}

// Country is a simulated peer's national profile.
type Country struct {
	Code, Name, Language string // ISO alpha-2; BCP 47 language of documents
	HomeCommunityID      string
	PatientRoot          string // OID of the national patient identifier
	PatientIDName        string
	Doctor               [2]string // given, family
	Organisation, City   string
	Labels               Labels
	Patients             []Patient
}

// Labels are the narrative headings in the country's language.
type Labels struct {
	PSTitle, EPTitle, Allergies, Medications, Problems, Procedures, Prescriptions string
	Substance, Reaction, Product, Dose, Problem, Procedure, Date, Quantity        string
}

var (
	formTablet    = edqm("10219000", "Tablet")
	formGRCapsule = edqm("10212000", "Gastro-resistant capsule, hard")
	formInhal     = edqm("11109000", "Inhalation powder")
	formInhalCaps = edqm("11110000", "Inhalation powder, hard capsule")
	routeOral     = edqm("20053000", "Oral use")
	routeInhal    = edqm("20020000", "Inhalation use")
	angioedema    = sct("41291007", "Angioedema")
	urticaria     = sct("126485001", "Urticaria")
)

// countries are the simulated peers, by ISO code (read only).
var countries = map[string]Country{
	"FR": {
		Code: "FR", Name: "France", Language: "fr-FR", HomeCommunityID: "2.16.17.710.790.1000.990.1",
		PatientRoot: "1.2.250.1.213.1.4.8", PatientIDName: "INS-NIR",
		Doctor: [2]string{"Hélène", "Rousseau"}, Organisation: "Cabinet médical de la Seille", City: "Metz",
		Labels: Labels{PSTitle: "Synthèse médicale du patient", EPTitle: "Prescription électronique",
			Allergies: "Allergies et réactions indésirables", Medications: "Traitements en cours", Problems: "Problèmes actifs",
			Procedures: "Antécédents chirurgicaux", Prescriptions: "Liste de prescriptions",
			Substance: "Substance", Reaction: "Réaction", Product: "Médicament", Dose: "Posologie", Problem: "Problème",
			Procedure: "Intervention", Date: "Date", Quantity: "Quantité"},
		Patients: []Patient{{
			ID: "268047511223345", Given: "Camille", Family: "Dubois", BirthDate: "1968-04-12", Gender: "female",
			Street: "12 rue des Jardins", City: "Metz", PostalCode: "57000",
			Problems:  []Code{icd("I10", "Essential (primary) hypertension"), icd("E11.9", "Type 2 diabetes mellitus without complications")},
			Allergies: []Allergy{{atc("J01CA04", "amoxicillin"), urticaria}},
			Medications: []Medication{
				{ID: "1", Brand: "Metformine Biogaran 850 mg", Ingredient: atc("A10BA02", "metformin"), Strength: "850", StrengthU: "mg", Form: formTablet, Route: routeOral, Dose: "1", PeriodHours: 12, Instruction: "1 comprimé matin et soir au cours des repas"},
				{ID: "2", Brand: "Triatec 5 mg", Ingredient: atc("C09AA05", "ramipril"), Strength: "5", StrengthU: "mg", Form: formTablet, Route: routeOral, Dose: "1", PeriodHours: 24, Instruction: "1 comprimé le matin"},
			},
			Procedures: []Procedure{{sct("80146002", "Appendectomy"), "19850614"}},
			Prescriptions: []Medication{
				{ID: "FR-EP-2026-000117-1", Brand: "Metformine Biogaran 850 mg", Ingredient: atc("A10BA02", "metformin"), Strength: "850", StrengthU: "mg", Form: formTablet, Route: routeOral, Dose: "1", PeriodHours: 12, Packages: 2, PackSize: "30", Substitute: true, Instruction: "1 comprimé matin et soir au cours des repas"},
			},
		}},
	},
	"BE": {
		Code: "BE", Name: "Belgium", Language: "nl-BE", HomeCommunityID: "1.3.6.1.4.1.48336",
		PatientRoot: "2.16.840.1.113883.3.6777.5.2", PatientIDName: "INSZ/NISS",
		Doctor: [2]string{"Pieter", "Claes"}, Organisation: "Huisartsenpraktijk De Linde", City: "Hasselt",
		Labels: Labels{PSTitle: "Patiëntsamenvatting", EPTitle: "Elektronisch voorschrift",
			Allergies: "Allergieën en intoleranties", Medications: "Medicatieoverzicht", Problems: "Actieve problemen",
			Procedures: "Chirurgische voorgeschiedenis", Prescriptions: "Voorschriften",
			Substance: "Stof", Reaction: "Reactie", Product: "Geneesmiddel", Dose: "Dosering", Problem: "Probleem",
			Procedure: "Ingreep", Date: "Datum", Quantity: "Hoeveelheid"},
		Patients: []Patient{{
			ID: "75061412345", Given: "Elise", Family: "Janssens", BirthDate: "1975-06-14", Gender: "female",
			Street: "Kapelstraat 8", City: "Hasselt", PostalCode: "3500",
			Problems: []Code{icd("J45.0", "Predominantly allergic asthma")},
			Medications: []Medication{
				{ID: "1", Brand: "Ventolin Diskus 200 µg", Ingredient: atc("R03AC02", "salbutamol"), Strength: "200", StrengthU: "ug", Form: formInhal, Route: routeInhal, Dose: "1", PeriodHours: 6, Instruction: "1 inhalatie bij kortademigheid"},
			},
			Prescriptions: []Medication{
				{ID: "BE-EP-2026-4411-1", Brand: "Ventolin Diskus 200 µg", Ingredient: atc("R03AC02", "salbutamol"), Strength: "200", StrengthU: "ug", Form: formInhal, Route: routeInhal, Dose: "1", PeriodHours: 6, Packages: 1, PackSize: "60", Instruction: "1 inhalatie bij kortademigheid"},
			},
		}},
	},
	"DE": {
		Code: "DE", Name: "Germany", Language: "de-DE", HomeCommunityID: "2.16.17.710.803.1000.990.1",
		PatientRoot: "1.2.276.0.76.4.8", PatientIDName: "KVNR",
		Doctor: [2]string{"Tobias", "Krämer"}, Organisation: "Hausarztpraxis am Dom", City: "Trier",
		Labels: Labels{PSTitle: "Patientenkurzakte", EPTitle: "Elektronisches Rezept",
			Allergies: "Allergien und Unverträglichkeiten", Medications: "Aktuelle Medikation", Problems: "Aktive Probleme",
			Procedures: "Frühere Eingriffe", Prescriptions: "Verordnungen",
			Substance: "Substanz", Reaction: "Reaktion", Product: "Arzneimittel", Dose: "Dosierung", Problem: "Problem",
			Procedure: "Eingriff", Date: "Datum", Quantity: "Menge"},
		Patients: []Patient{{
			ID: "A123456780", Given: "Jonas", Family: "Schneider", BirthDate: "1959-11-03", Gender: "male",
			Street: "Paulinstraße 21", City: "Trier", PostalCode: "54292",
			Problems:  []Code{icd("I48.9", "Atrial fibrillation and atrial flutter, unspecified"), icd("E78.0", "Pure hypercholesterolaemia")},
			Allergies: []Allergy{{atc("J01CA04", "amoxicillin"), angioedema}},
			Medications: []Medication{
				{ID: "1", Brand: "Eliquis 5 mg", Ingredient: atc("B01AF02", "apixaban"), Strength: "5", StrengthU: "mg", Form: formTablet, Route: routeOral, Dose: "1", PeriodHours: 12, Instruction: "1 Tablette morgens und abends"},
				{ID: "2", Brand: "Sortis 20 mg", Ingredient: atc("C10AA05", "atorvastatin"), Strength: "20", StrengthU: "mg", Form: formTablet, Route: routeOral, Dose: "1", PeriodHours: 24, Instruction: "1 Tablette abends"},
			},
			Procedures: []Procedure{{sct("38102005", "Cholecystectomy"), "20110302"}},
			Prescriptions: []Medication{
				{ID: "DE-EP-160.000.033.491.280.78-1", Brand: "Eliquis 5 mg", Ingredient: atc("B01AF02", "apixaban"), Strength: "5", StrengthU: "mg", Form: formTablet, Route: routeOral, Dose: "1", PeriodHours: 12, Packages: 1, PackSize: "60", Instruction: "1 Tablette morgens und abends"},
			},
		}},
	},
	"NL": {
		Code: "NL", Name: "Netherlands", Language: "nl-NL", HomeCommunityID: "2.16.17.710.810.1000.990.1",
		PatientRoot: "2.16.840.1.113883.2.4.6.3", PatientIDName: "BSN",
		Doctor: [2]string{"Maarten", "Visser"}, Organisation: "Huisartsenpraktijk Wyck", City: "Maastricht",
		Labels: Labels{PSTitle: "Patiëntsamenvatting", EPTitle: "Elektronisch recept",
			Allergies: "Allergieën en intoleranties", Medications: "Medicatieoverzicht", Problems: "Actieve problemen",
			Procedures: "Verrichtingen", Prescriptions: "Voorschriften",
			Substance: "Stof", Reaction: "Reactie", Product: "Geneesmiddel", Dose: "Dosering", Problem: "Probleem",
			Procedure: "Verrichting", Date: "Datum", Quantity: "Hoeveelheid"},
		Patients: []Patient{{
			ID: "999911120", Given: "Sanne", Family: "Bakker", BirthDate: "1990-02-27", Gender: "female",
			Street: "Rechtstraat 40", City: "Maastricht", PostalCode: "6221 EH",
			Problems: []Code{icd("K21.9", "Gastro-oesophageal reflux disease without oesophagitis")},
			Medications: []Medication{
				{ID: "1", Brand: "Omeprazol Sandoz 20 mg", Ingredient: atc("A02BC01", "omeprazole"), Strength: "20", StrengthU: "mg", Form: formGRCapsule, Route: routeOral, Dose: "1", PeriodHours: 24, Instruction: "1 capsule voor het ontbijt"},
			},
			Procedures: []Procedure{{sct("11466000", "Cesarean section"), "20190818"}},
			Prescriptions: []Medication{
				{ID: "NL-EP-88812-1", Brand: "Omeprazol Sandoz 20 mg", Ingredient: atc("A02BC01", "omeprazole"), Strength: "20", StrengthU: "mg", Form: formGRCapsule, Route: routeOral, Dose: "1", PeriodHours: 24, Packages: 1, PackSize: "28", Substitute: true, Instruction: "1 capsule voor het ontbijt"},
			},
		}},
	},
	"PT": {
		Code: "PT", Name: "Portugal", Language: "pt-PT", HomeCommunityID: "2.16.17.710.820.1000.990.1",
		PatientRoot: "2.16.620.1.101.10.1", PatientIDName: "NUS",
		Doctor: [2]string{"Inês", "Carvalho"}, Organisation: "USF Arco Íris", City: "Lisboa",
		Labels: Labels{PSTitle: "Resumo de saúde do utente", EPTitle: "Receita eletrónica",
			Allergies: "Alergias e reações adversas", Medications: "Medicação atual", Problems: "Problemas ativos",
			Procedures: "Cirurgias anteriores", Prescriptions: "Lista de prescrições",
			Substance: "Substância", Reaction: "Reação", Product: "Medicamento", Dose: "Posologia", Problem: "Problema",
			Procedure: "Procedimento", Date: "Data", Quantity: "Quantidade"},
		Patients: []Patient{{
			ID: "123456789", Given: "João", Family: "Ferreira", BirthDate: "1962-09-21", Gender: "male",
			Street: "Rua Augusta 100", City: "Lisboa", PostalCode: "1100-053",
			Problems: []Code{icd("J44.9", "Chronic obstructive pulmonary disease, unspecified"), icd("E03.9", "Hypothyroidism, unspecified")},
			Medications: []Medication{
				{ID: "1", Brand: "Letter 100 µg", Ingredient: atc("H03AA01", "levothyroxine sodium"), Strength: "100", StrengthU: "ug", Form: formTablet, Route: routeOral, Dose: "1", PeriodHours: 24, Instruction: "1 comprimido em jejum"},
				{ID: "2", Brand: "Spiriva 18 µg", Ingredient: atc("R03BB04", "tiotropium bromide"), Strength: "18", StrengthU: "ug", Form: formInhalCaps, Route: routeInhal, Dose: "1", PeriodHours: 24, Instruction: "1 inalação por dia"},
			},
			Procedures: []Procedure{{sct("13619001", "Thyroidectomy"), "20040527"}},
			Prescriptions: []Medication{
				{ID: "PT-EP-2026-7700123-1", Brand: "Letter 100 µg", Ingredient: atc("H03AA01", "levothyroxine sodium"), Strength: "100", StrengthU: "ug", Form: formTablet, Route: routeOral, Dose: "1", PeriodHours: 24, Packages: 2, PackSize: "60", Substitute: true, Instruction: "1 comprimido em jejum"},
				{ID: "PT-EP-2026-7700123-2", Brand: "Spiriva 18 µg", Ingredient: atc("R03BB04", "tiotropium bromide"), Strength: "18", StrengthU: "ug", Form: formInhalCaps, Route: routeInhal, Dose: "1", PeriodHours: 24, Packages: 1, PackSize: "30", Instruction: "1 inalação por dia"},
			},
		}, {
			ID: "987654321", Given: "Maria", Family: "Santos", BirthDate: "1980-01-15", Gender: "female",
			Street: "Avenida da Liberdade 5", City: "Lisboa", PostalCode: "1250-096", NoConsent: true,
		}},
	},
}

// CountryCodes lists the simulated countries in a fixed order.
var CountryCodes = []string{"BE", "DE", "FR", "NL", "PT"}

// Profile returns the national profile of a simulated country.
func Profile(cc string) (Country, bool) {
	c, ok := countries[cc]
	return c, ok
}
