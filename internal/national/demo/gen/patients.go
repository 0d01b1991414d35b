package main

// person is one synthetic patient of the demo national record.
type person struct {
	ID      string
	Family  string
	Given   []string
	Gender  string // male | female
	Birth   string // YYYYMMDD (month/day may be 00)
	Seq     int    // 3-digit sequence of the 13-digit matricule; -1: legacy id only
	Prefix  string // when set, replaces the first 8 digits of the matricule (numbers starting with 3/4)
	Legacy  int    // legacy order number (odd male, even female); -1: no legacy id
	DSP     string // 10-digit shared-record id (urn:oid:1.3.182.2.4.2), optional
	Line    string
	Postal  string
	City    string
	Country string // ISO 3166-1 alpha-2
	Phone   string
	Email   string
	Consent string // permit | withdrawn
	Roles   []string
	Comment string
}

// people is the demo population. Roles are assigned up front so that the
// ePrescription and Patient Summary fixtures agree on who is who.
var people = []person{
	{ID: "p01", Family: "Peters", Given: []string{"Natasha-Caroline"}, Gender: "female", Birth: "19900101", Seq: 123, Legacy: -1, DSP: "8729593390",
		Line: "125 route d'Esch", Postal: "1471", City: "Luxembourg", Country: "LU", Phone: "+352 621 100 101", Consent: "permit",
		Roles: []string{"LU national CDA sample", "asthma"}, Comment: "the patient of ../shared/reference/cda/samples/lu-national/LU_national-PS_1990010112385.xml"},
	{ID: "p02", Family: "Schmit", Given: []string{"Marie", "Josée"}, Gender: "female", Birth: "19580412", Seq: 8, Legacy: 12,
		Line: "12 rue de l'Alzette", Postal: "4011", City: "Esch-sur-Alzette", Country: "LU", Phone: "+352 621 100 102", Email: "marie.schmit@example.lu", Consent: "permit",
		Roles: []string{"rich history"}, Comment: "≥ 40 PS entries: problems, surgeries, immunisations, results"},
	{ID: "p03", Family: "Weber", Given: []string{"Jean"}, Gender: "male", Birth: "19410903", Seq: 21, Legacy: 3,
		Line: "7 avenue de la Liberté", Postal: "4601", City: "Differdange", Country: "LU", Phone: "+352 58 11 22", Consent: "permit",
		Roles: []string{"many medications"}, Comment: "elderly, polypharmacy (≥ 10 current medications)"},
	{ID: "p04", Family: "Muller", Given: []string{"Sophie"}, Gender: "female", Birth: "19920615", Seq: 34, Legacy: -1,
		Line: "18 rue de Paris", Postal: "57100", City: "Thionville", Country: "FR", Phone: "+33 6 12 34 56 04", Email: "sophie.muller@example.fr", Consent: "permit",
		Roles: []string{"pregnant", "cross-border FR"}},
	{ID: "p05", Family: "Da Silva", Given: []string{"João", "Pedro"}, Gender: "male", Birth: "19750228", Seq: 47, Legacy: 15,
		Line: "40 rue de Strasbourg", Postal: "2560", City: "Luxembourg", Country: "LU", Phone: "+352 691 100 105", Consent: "permit",
		Roles: []string{"drug allergy"}, Comment: "penicillin allergy (anaphylaxis)"},
	{ID: "p06", Family: "Becker", Given: []string{"Heinz"}, Gender: "male", Birth: "19500717", Seq: 52, Legacy: -1,
		Line: "Paulinstraße 31", Postal: "54292", City: "Trier", Country: "DE", Phone: "+49 651 100 106", Consent: "permit",
		Roles: []string{"implanted device", "cross-border DE"}, Comment: "cardiac pacemaker"},
	{ID: "p07", Family: "Dubois", Given: []string{"Claire"}, Gender: "female", Birth: "19830305", Seq: 66, Legacy: -1,
		Line: "Grand-Rue 22", Postal: "6700", City: "Arlon", Country: "BE", Phone: "+32 63 10 01 07", Email: "claire.dubois@example.be", Consent: "permit",
		Roles: []string{"ePrescription", "cross-border BE"}},
	{ID: "p08", Family: "Lefebvre", Given: []string{"Thomas"}, Gender: "male", Birth: "19710110", Seq: 71, Legacy: -1,
		Line: "5 place Saint-Louis", Postal: "57000", City: "Metz", Country: "FR", Phone: "+33 6 12 34 56 08", Consent: "permit",
		Roles: []string{"ePrescription", "cross-border FR"}},
	{ID: "p09", Family: "Ferreira", Given: []string{"Ana", "Maria"}, Gender: "female", Birth: "19660809", Seq: 83, Legacy: 20,
		Line: "3 rue du Canal", Postal: "9050", City: "Ettelbruck", Country: "LU", Phone: "+352 621 100 109", Consent: "permit",
		Roles: []string{"diabetes", "legacy and current id"}},
	{ID: "p10", Family: "Wagner", Given: []string{"Luc"}, Gender: "male", Birth: "19790522", Seq: 95, Legacy: -1,
		Line: "Trierer Straße 9", Postal: "66706", City: "Perl", Country: "DE", Phone: "+49 6867 100 110", Consent: "permit",
		Roles: []string{"ePrescription", "cross-border DE"}},
	{ID: "p11", Family: "Reuter", Given: []string{"Emma"}, Gender: "female", Birth: "20150304", Seq: 102, Legacy: -1,
		Line: "14 rue de la Gare", Postal: "7535", City: "Mersch", Country: "LU", Phone: "+352 621 100 111", Consent: "permit",
		Roles: []string{"child"}},
	{ID: "p12", Family: "Thill", Given: []string{"Paul"}, Gender: "male", Birth: "19620314", Seq: 117, Legacy: 11,
		Line: "27 avenue de Saintignon", Postal: "54400", City: "Longwy", Country: "FR", Phone: "+33 3 82 10 01 12", Consent: "permit",
		Roles: []string{"original clinical documents", "cross-border FR", "legacy and current id"}, Comment: "lab result, imaging report, discharge letter"},
	{ID: "p13", Family: "Kremer", Given: []string{"Anne"}, Gender: "female", Birth: "19540120", Seq: 128, Legacy: 24,
		Line: "Rue de Longwy 58", Postal: "6790", City: "Aubange", Country: "BE", Phone: "+32 63 10 01 13", Consent: "permit",
		Roles: []string{"cross-border BE", "legacy and current id"}},
	{ID: "p14", Family: "Schneider", Given: []string{"Michael"}, Gender: "male", Birth: "19850930", Seq: 139, Legacy: -1,
		Line: "Graf-Siegfried-Straße 4", Postal: "54439", City: "Saarburg", Country: "DE", Phone: "+49 6581 100 114", Consent: "permit",
		Roles: []string{"cross-border DE", "ePrescription"}},
	{ID: "p15", Family: "Gonçalves", Given: []string{"Rui"}, Gender: "male", Birth: "19910711", Seq: 144, Legacy: -1,
		Line: "55 rue du Brill", Postal: "4041", City: "Esch-sur-Alzette", Country: "LU", Phone: "+352 691 100 115", Consent: "withdrawn",
		Roles: []string{"consent withdrawn"}},
	{ID: "p16", Family: "Klein", Given: []string{"Nicole"}, Gender: "female", Birth: "19770218", Seq: 156, Legacy: -1,
		Line: "9 rue du Commerce", Postal: "3450", City: "Dudelange", Country: "LU", Phone: "+352 621 100 116", Consent: "withdrawn",
		Roles: []string{"consent withdrawn"}, Comment: "has a Patient Summary, which must not be shared"},
	{ID: "p17", Family: "Martin", Given: []string{"Pierre"}, Gender: "male", Birth: "19690425", Seq: 163, Legacy: -1,
		Line: "2 boulevard Foch", Postal: "57100", City: "Thionville", Country: "FR", Phone: "+33 6 12 34 56 17", Consent: "withdrawn",
		Roles: []string{"consent withdrawn", "cross-border FR"}, Comment: "has an ePrescription, which must not be shared"},
	{ID: "p18", Family: "Meyer", Given: []string{"Marc"}, Gender: "male", Birth: "19800101", Seq: 5, Legacy: -1,
		Line: "31 boulevard Royal", Postal: "2449", City: "Luxembourg", Country: "LU", Phone: "+352 621 100 118", Consent: "permit",
		Roles: []string{"duplicate demographics (pair A)"}, Comment: "same family, birth date and gender as p19; given names differ"},
	{ID: "p19", Family: "Meyer", Given: []string{"Mike"}, Gender: "male", Birth: "19800101", Seq: 17, Legacy: -1,
		Line: "6 route d'Arlon", Postal: "8008", City: "Strassen", Country: "LU", Phone: "+352 621 100 119", Consent: "permit",
		Roles: []string{"duplicate demographics (pair A)"}, Comment: "same family, birth date and gender as p18"},
	{ID: "p20", Family: "Pereira", Given: []string{"Maria"}, Gender: "female", Birth: "19950606", Seq: 28, Legacy: -1,
		Line: "11 rue de Hollerich", Postal: "1740", City: "Luxembourg", Country: "LU", Phone: "+352 691 100 120", Consent: "permit",
		Roles: []string{"duplicate demographics (pair B)"}, Comment: "same family, given, birth date and gender as p21: only the id tells them apart"},
	{ID: "p21", Family: "Pereira", Given: []string{"Maria"}, Gender: "female", Birth: "19950606", Seq: 214, Legacy: -1,
		Line: "4 rue de la Chiers", Postal: "54400", City: "Longwy", Country: "FR", Phone: "+33 6 12 34 56 21", Consent: "permit",
		Roles: []string{"duplicate demographics (pair B)", "cross-border FR"}, Comment: "same family, given, birth date and gender as p20"},
	{ID: "p22", Family: "Schroeder", Given: []string{"Josée"}, Gender: "female", Birth: "19320815", Seq: -1, Legacy: 2,
		Line: "2 Grand-Rue", Postal: "9530", City: "Wiltz", Country: "LU", Phone: "+352 95 10 22", Consent: "permit",
		Roles: []string{"legacy id only"}},
	{ID: "p23", Family: "Bettendorf", Given: []string{"Nicolas"}, Gender: "male", Birth: "19380211", Seq: -1, Legacy: 1,
		Line: "8 Montée du Château", Postal: "9712", City: "Clervaux", Country: "LU", Phone: "+352 92 10 23", Consent: "permit",
		Roles: []string{"legacy id only"}},
	{ID: "p24", Family: "Lopes", Given: []string{"Manuel"}, Gender: "male", Birth: "19480704", Seq: -1, Legacy: 7,
		Line: "Avenue de Longwy 120", Postal: "6700", City: "Arlon", Country: "BE", Phone: "+32 63 10 01 24", Consent: "permit",
		Roles: []string{"legacy id only", "cross-border BE"}},
	{ID: "p25", Family: "Osmani", Given: []string{"Arben"}, Gender: "male", Birth: "19780600", Seq: 174, Legacy: -1,
		Line: "23 rue de Luxembourg", Postal: "4220", City: "Esch-sur-Alzette", Country: "LU", Phone: "+352 691 100 125", Consent: "permit",
		Roles: []string{"birth day unknown (00)"}, Comment: "birthDate 1978-06"},
	{ID: "p26", Family: "Frisch", Given: []string{"Tom"}, Gender: "male", Birth: "20010101", Seq: 181, Legacy: -1,
		Line: "10 route du Vin", Postal: "5550", City: "Remich", Country: "LU", Phone: "+352 621 100 126", Consent: "permit",
		Roles: []string{"no information"}, Comment: "no documents of any kind"},
	{ID: "p27", Family: "Marques", Given: []string{"Sofia"}, Gender: "female", Birth: "19870314", Seq: 199, Legacy: -1,
		Line: "70 avenue Gaston Diderich", Postal: "1420", City: "Luxembourg", Country: "LU", Phone: "+352 691 100 127", Email: "sofia.marques@example.lu", Consent: "permit",
		Roles: []string{"ePrescription", "hypertension"}},
	{ID: "p28", Family: "Braun", Given: []string{"Stefan"}, Gender: "male", Birth: "19730819", Seq: 205, Legacy: -1,
		Line: "Saarstraße 12", Postal: "54290", City: "Trier", Country: "DE", Phone: "+49 651 100 128", Consent: "permit",
		Roles: []string{"cross-border DE"}},
	{ID: "p29", Family: "Lambert", Given: []string{"Julie"}, Gender: "female", Birth: "19960202", Seq: 222, Legacy: -1,
		Line: "14 rue Serpenoise", Postal: "57000", City: "Metz", Country: "FR", Phone: "+33 6 12 34 56 29", Consent: "permit",
		Roles: []string{"original clinical documents", "cross-border FR"}},
	{ID: "p30", Family: "Peeters", Given: []string{"Lotte"}, Gender: "female", Birth: "19890707", Seq: 237, Legacy: -1,
		Line: "Rue des Martyrs 5", Postal: "6700", City: "Arlon", Country: "BE", Phone: "+32 63 10 01 30", Consent: "permit",
		Roles: []string{"cross-border BE"}},
	{ID: "p31", Family: "Simon", Given: []string{"Roger"}, Gender: "male", Birth: "19440930", Seq: 241, Legacy: 9,
		Line: "1 rue Notre-Dame", Postal: "2240", City: "Luxembourg", Country: "LU", Phone: "+352 22 10 31", Consent: "permit",
		Roles: []string{"implanted device", "rich history", "legacy and current id"}, Comment: "hip prosthesis, type 2 diabetes"},
	{ID: "p32", Family: "Santos", Given: []string{"Beatriz"}, Gender: "female", Birth: "20030513", Seq: 256, Legacy: -1,
		Line: "16 rue Émile Mark", Postal: "4620", City: "Differdange", Country: "LU", Phone: "+352 691 100 132", Consent: "permit",
		Roles: []string{"ePrescription"}},
	{ID: "p33", Family: "Zeimet", Given: []string{"Gilles"}, Gender: "male", Birth: "19600612", Seq: 263, Legacy: 5,
		Line: "4 place du Marché", Postal: "6460", City: "Echternach", Country: "LU", Phone: "+352 72 10 33", Consent: "permit",
		Roles: []string{"legacy and current id"}},
	{ID: "p34", Family: "Neumann", Given: []string{"Julia"}, Gender: "female", Birth: "19940227", Seq: 278, Legacy: -1,
		Line: "Bahnhofstraße 2", Postal: "66706", City: "Perl", Country: "DE", Phone: "+49 6867 100 134", Consent: "permit",
		Roles: []string{"cross-border DE", "drug allergy"}, Comment: "allergy to ibuprofen (NSAID)"},
	{ID: "p35", Family: "Leroy", Given: []string{"Nathalie"}, Gender: "female", Birth: "19720408", Seq: 285, Legacy: -1,
		Line: "Rue du Centre 33", Postal: "6790", City: "Aubange", Country: "BE", Phone: "+32 63 10 01 35", Consent: "permit",
		Roles: []string{"cross-border BE", "ePrescription"}},
	{ID: "p36", Family: "Haddad", Given: []string{"Karim"}, Gender: "male", Birth: "19630510", Seq: 291, Prefix: "30010510", Legacy: -1,
		Line: "19 rue Principale", Postal: "5240", City: "Sandweiler", Country: "LU", Phone: "+352 691 100 136", Consent: "permit",
		Roles: []string{"matricule not date-based"}, Comment: "matricule starts with 3: its first digits are not the birth date"},
}
