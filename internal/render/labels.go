package render

import (
	"fmt"
	"html"
	"html/template"
	"strings"
)

// labels are the page's own words in the clinician's language.
type labels struct {
	PS, ED, EP, Embedded                                         string
	SourceCountry, DocDate, Patient, BirthDate, Gender, IDs      string
	Address, Author, Organisation, Custodian, DocID, Contents    string
	Section, Ingredient, Agent, Product, Package, DoseForm       string
	Route, Value, Site, Code, NullFlavor, NotTranslated, Unknown string
	CodedEntries, Term, Status, Skip, Original, Print            string
	Warning                                                      string
	Strength, Dose, Every, From, Until, Quantity, Packs          string
	Substitution, SubstNo, SubstYes, SubstUnknown, PackSize      string
	Validity                                                     string
	Hours, Days, Weeks, Item, SourceTitle                        string
	Genders                                                      map[string]string
	EveryOne                                                     map[string]string // a period of 1, by UCUM unit
	// The notice of terms not shown in the reader's language: sentences
	// for one and for several terms; %[1]s is their number, %[2]s all
	// coded terms of the document.
	NoticeEnglish, NoticeUnknown [2]string
	NoticeMarked                 string
	// Notes are the sentences of luxncp's own warnings (Note), by key.
	Notes map[string]string
}

var uiLabels = map[string]labels{
	"en": {PS: "Patient Summary", EP: "ePrescription", ED: "eDispensation", Embedded: "Embedded document (PDF)",
		SourceCountry: "Source country", DocDate: "Document date", Patient: "Patient", BirthDate: "Date of birth", Gender: "Gender",
		IDs: "Identifiers", Address: "Address", Author: "Author", Organisation: "Organisation", Custodian: "Custodian", DocID: "Document id",
		Contents: "Contents", Section: "Section", Ingredient: "Active ingredient", Agent: "Agent", Product: "Product", Package: "Package",
		DoseForm: "Dose form", Route: "Route", Value: "Value", Site: "Body site", Code: "Code", NullFlavor: "not coded",
		NotTranslated: "not translated: shown in English", Unknown: "unknown code: shown as received",
		CodedEntries: "Coded entries", Term: "Term", Status: "Note",
		Skip:          "Skip to the document",
		NoticeEnglish: [2]string{"%[1]s of the %[2]s coded terms is shown in English, not in your language.", "%[1]s of the %[2]s coded terms are shown in English, not in your language."},
		NoticeUnknown: [2]string{"%[1]s of the %[2]s coded terms has an unknown code and is shown as received.", "%[1]s of the %[2]s coded terms have an unknown code and are shown as received."},
		NoticeMarked:  "Each is marked below.",
		Original:      "The narrative text is in the language of the source country.", Print: "Print", Warning: "Warning",
		Strength: "Strength", Dose: "Dose", Every: "every", From: "from", Until: "until", Quantity: "Quantity to dispense", Packs: "pack(s)",
		Substitution: "Substitution", SubstNo: "not allowed", SubstYes: "allowed", SubstUnknown: "not stated", PackSize: "Pack size", Validity: "Valid",
		Hours: "hours", Days: "days", Weeks: "weeks", Item: "Prescribed item", SourceTitle: "title in the document",
		EveryOne: map[string]string{"h": "every hour", "d": "every day", "wk": "every week"},
		Genders:  map[string]string{"F": "Female", "M": "Male", "UN": "Undifferentiated", "O": "Other", "U": "Unknown"},
		Notes: map[string]string{NoteUnsigned: "this document is not signed by the sending country (%s): its origin and integrity are not proven",
			NoteFutureDate: "the document is dated %s, in the future", NoteOldDate: "the document is dated %s, implausibly long ago",
			NoteBadDate: "the document date %s is not a date", NoteNoTemplate: "the document does not declare the eHDSI template %s",
			NoteWrongClass: "the document code does not match the requested class %s", NoteNoTitle: "the document has no title",
			NoteNoDate: "the document has no date"}},
	"fr": {PS: "Synthèse médicale", EP: "Prescription électronique", ED: "Dispensation électronique", Embedded: "Document intégré (PDF)",
		SourceCountry: "Pays d'origine", DocDate: "Date du document", Patient: "Patient", BirthDate: "Date de naissance", Gender: "Sexe",
		IDs: "Identifiants", Address: "Adresse", Author: "Auteur", Organisation: "Organisation", Custodian: "Dépositaire", DocID: "Identifiant du document",
		Contents: "Sommaire", Section: "Section", Ingredient: "Substance active", Agent: "Agent", Product: "Produit", Package: "Conditionnement",
		DoseForm: "Forme pharmaceutique", Route: "Voie d'administration", Value: "Valeur", Site: "Site anatomique", Code: "Code", NullFlavor: "non codé",
		NotTranslated: "non traduit : affiché en anglais", Unknown: "code inconnu : affiché tel que reçu",
		CodedEntries: "Données codées", Term: "Terme", Status: "Remarque",
		Skip:          "Aller au document",
		NoticeEnglish: [2]string{"%[1]s des %[2]s termes codés est affiché en anglais, pas en français.", "%[1]s des %[2]s termes codés sont affichés en anglais, pas en français."},
		NoticeUnknown: [2]string{"%[1]s des %[2]s termes codés a un code inconnu et est affiché tel que reçu.", "%[1]s des %[2]s termes codés ont un code inconnu et sont affichés tels que reçus."},
		NoticeMarked:  "Chacun est signalé ci-dessous.",
		Original:      "Le texte narratif est dans la langue du pays d'origine.", Print: "Imprimer", Warning: "Avertissement",
		Strength: "Dosage", Dose: "Posologie", Every: "toutes les", From: "à partir du", Until: "jusqu'au", Quantity: "Quantité à délivrer", Packs: "boîte(s)",
		Substitution: "Substitution", SubstNo: "non autorisée", SubstYes: "autorisée", SubstUnknown: "non précisée", PackSize: "Conditionnement", Validity: "Validité",
		Hours: "heures", Days: "jours", Weeks: "semaines", Item: "Médicament prescrit", SourceTitle: "titre dans le document",
		EveryOne: map[string]string{"h": "toutes les heures", "d": "tous les jours", "wk": "toutes les semaines"},
		Genders:  map[string]string{"F": "Féminin", "M": "Masculin", "UN": "Indéterminé", "O": "Autre", "U": "Inconnu"},
		Notes: map[string]string{NoteUnsigned: "ce document n'est pas signé par le pays d'origine (%s) : son origine et son intégrité ne sont pas prouvées",
			NoteFutureDate: "le document est daté du %s, une date future", NoteOldDate: "le document est daté du %s, une date invraisemblablement ancienne",
			NoteBadDate: "la date du document, %s, n'est pas une date valide", NoteNoTemplate: "le document ne déclare pas le modèle eHDSI %s",
			NoteWrongClass: "le code du document ne correspond pas à la classe demandée %s", NoteNoTitle: "le document n'a pas de titre",
			NoteNoDate: "le document n'a pas de date"}},
	"de": {PS: "Patientenkurzakte", EP: "Elektronisches Rezept", ED: "Elektronische Abgabe", Embedded: "Eingebettetes Dokument (PDF)",
		SourceCountry: "Herkunftsland", DocDate: "Dokumentdatum", Patient: "Patient", BirthDate: "Geburtsdatum", Gender: "Geschlecht",
		IDs: "Kennungen", Address: "Adresse", Author: "Autor", Organisation: "Organisation", Custodian: "Verwahrer", DocID: "Dokumentkennung",
		Contents: "Inhalt", Section: "Abschnitt", Ingredient: "Wirkstoff", Agent: "Auslöser", Product: "Produkt", Package: "Packung",
		DoseForm: "Darreichungsform", Route: "Art der Anwendung", Value: "Wert", Site: "Körperstelle", Code: "Code", NullFlavor: "nicht kodiert",
		NotTranslated: "nicht übersetzt: auf Englisch angezeigt", Unknown: "unbekannter Code: wie empfangen angezeigt",
		CodedEntries: "Kodierte Angaben", Term: "Begriff", Status: "Hinweis",
		Skip:          "Zum Dokument springen",
		NoticeEnglish: [2]string{"%[1]s der %[2]s codierten Begriffe wird auf Englisch angezeigt, nicht auf Deutsch.", "%[1]s der %[2]s codierten Begriffe werden auf Englisch angezeigt, nicht auf Deutsch."},
		NoticeUnknown: [2]string{"%[1]s der %[2]s codierten Begriffe hat einen unbekannten Code und wird wie empfangen angezeigt.", "%[1]s der %[2]s codierten Begriffe haben einen unbekannten Code und werden wie empfangen angezeigt."},
		NoticeMarked:  "Jeder ist unten markiert.",
		Original:      "Der Freitext ist in der Sprache des Herkunftslandes.", Print: "Drucken", Warning: "Warnung",
		Strength: "Stärke", Dose: "Dosierung", Every: "alle", From: "ab", Until: "bis", Quantity: "Abzugebende Menge", Packs: "Packung(en)",
		Substitution: "Austausch (aut idem)", SubstNo: "nicht erlaubt", SubstYes: "erlaubt", SubstUnknown: "nicht angegeben", PackSize: "Packungsgröße", Validity: "Gültig",
		Hours: "Stunden", Days: "Tage", Weeks: "Wochen", Item: "Verordnetes Arzneimittel", SourceTitle: "Titel im Dokument",
		EveryOne: map[string]string{"h": "jede Stunde", "d": "jeden Tag", "wk": "jede Woche"},
		Genders:  map[string]string{"F": "Weiblich", "M": "Männlich", "UN": "Unbestimmt", "O": "Divers", "U": "Unbekannt"},
		Notes: map[string]string{NoteUnsigned: "dieses Dokument ist nicht vom Herkunftsland (%s) signiert: Herkunft und Unversehrtheit sind nicht nachgewiesen",
			NoteFutureDate: "das Dokument ist auf den %s datiert, ein Datum in der Zukunft", NoteOldDate: "das Dokument ist auf den %s datiert, unplausibel weit zurück",
			NoteBadDate: "das Dokumentdatum %s ist kein gültiges Datum", NoteNoTemplate: "das Dokument gibt die eHDSI-Vorlage %s nicht an",
			NoteWrongClass: "der Dokumentcode entspricht nicht der angeforderten Klasse %s", NoteNoTitle: "das Dokument hat keinen Titel",
			NoteNoDate: "das Dokument hat kein Datum"}},
}

// countryNames are the MyHealth@EU countries (EU, EEA) in the reader's language.
var countryNames = map[string]map[string]string{
	"en": {"AT": "Austria", "BE": "Belgium", "BG": "Bulgaria", "HR": "Croatia", "CY": "Cyprus", "CZ": "Czechia", "DK": "Denmark", "EE": "Estonia",
		"FI": "Finland", "FR": "France", "DE": "Germany", "GR": "Greece", "EL": "Greece", "HU": "Hungary", "IE": "Ireland", "IT": "Italy", "LV": "Latvia",
		"LT": "Lithuania", "LU": "Luxembourg", "MT": "Malta", "NL": "Netherlands", "PL": "Poland", "PT": "Portugal", "RO": "Romania", "SK": "Slovakia",
		"SI": "Slovenia", "ES": "Spain", "SE": "Sweden", "IS": "Iceland", "LI": "Liechtenstein", "NO": "Norway", "CH": "Switzerland"},
	"fr": {"AT": "Autriche", "BE": "Belgique", "BG": "Bulgarie", "HR": "Croatie", "CY": "Chypre", "CZ": "Tchéquie", "DK": "Danemark", "EE": "Estonie",
		"FI": "Finlande", "FR": "France", "DE": "Allemagne", "GR": "Grèce", "EL": "Grèce", "HU": "Hongrie", "IE": "Irlande", "IT": "Italie", "LV": "Lettonie",
		"LT": "Lituanie", "LU": "Luxembourg", "MT": "Malte", "NL": "Pays-Bas", "PL": "Pologne", "PT": "Portugal", "RO": "Roumanie", "SK": "Slovaquie",
		"SI": "Slovénie", "ES": "Espagne", "SE": "Suède", "IS": "Islande", "LI": "Liechtenstein", "NO": "Norvège", "CH": "Suisse"},
	"de": {"AT": "Österreich", "BE": "Belgien", "BG": "Bulgarien", "HR": "Kroatien", "CY": "Zypern", "CZ": "Tschechien", "DK": "Dänemark", "EE": "Estland",
		"FI": "Finnland", "FR": "Frankreich", "DE": "Deutschland", "GR": "Griechenland", "EL": "Griechenland", "HU": "Ungarn", "IE": "Irland", "IT": "Italien",
		"LV": "Lettland", "LT": "Litauen", "LU": "Luxemburg", "MT": "Malta", "NL": "Niederlande", "PL": "Polen", "PT": "Portugal", "RO": "Rumänien",
		"SK": "Slowakei", "SI": "Slowenien", "ES": "Spanien", "SE": "Schweden", "IS": "Island", "LI": "Liechtenstein", "NO": "Norwegen", "CH": "Schweiz"},
}

// sectionTitles name the eHDSI sections by their LOINC code in the
// reader's language (the document's own title is shown beside, in its
// language).
var sectionTitles = map[string]map[string]string{
	"48765-2": {"en": "Allergies and intolerances", "fr": "Allergies et intolérances", "de": "Allergien und Unverträglichkeiten"},
	"10160-0": {"en": "Current medication", "fr": "Traitements en cours", "de": "Aktuelle Medikation"},
	"11450-4": {"en": "Active problems", "fr": "Problèmes actifs", "de": "Aktuelle Probleme"},
	"11348-0": {"en": "History of past illness", "fr": "Antécédents médicaux", "de": "Frühere Erkrankungen"},
	"47519-4": {"en": "Surgical procedures", "fr": "Interventions chirurgicales", "de": "Chirurgische Eingriffe"},
	"46264-8": {"en": "Medical devices and implants", "fr": "Dispositifs médicaux et implants", "de": "Medizinprodukte und Implantate"},
	"11369-6": {"en": "Immunisations", "fr": "Vaccinations", "de": "Impfungen"},
	"30954-2": {"en": "Results", "fr": "Résultats", "de": "Befunde"},
	"29762-2": {"en": "Social history", "fr": "Mode de vie", "de": "Sozialanamnese"},
	"10162-6": {"en": "History of pregnancies", "fr": "Grossesses", "de": "Schwangerschaften"},
	"8716-3":  {"en": "Vital signs", "fr": "Signes vitaux", "de": "Vitalparameter"},
	"47420-5": {"en": "Functional status", "fr": "Autonomie", "de": "Funktioneller Status"},
	"18776-5": {"en": "Plan of care", "fr": "Plan de soins", "de": "Behandlungsplan"},
	"42348-3": {"en": "Advance directives", "fr": "Directives anticipées", "de": "Patientenverfügungen"},
	"57828-6": {"en": "Prescription", "fr": "Prescription", "de": "Verordnung"},
	"60590-7": {"en": "Dispensed medication", "fr": "Médicaments délivrés", "de": "Abgegebene Arzneimittel"},
}

// sectionRank orders a Patient Summary for a clinician: allergies and
// current medication first, then active problems, then the rest as sent.
var sectionRank = map[string]int{"48765-2": 0, "10160-0": 1, "11450-4": 2}

// formatDate shows an HL7 TS in the reader's usual form: 12.01.2026 (de),
// 12/01/2026 (fr, en), with the time when the value has one.
func formatDate(v, lang string) string {
	sep := "/"
	if lang == "de" {
		sep = "."
	}
	// Only a TS (YYYYMM[DD[HHMM…]]) is rearranged; anything else ("2026-01-12",
	// "unknown", a month 13) is shown as received, never cut into a
	// plausible-looking wrong date.
	n := 0
	for n < len(v) && n < 12 && v[n] >= '0' && v[n] <= '9' {
		n++
	}
	if n < 6 || n == 7 || !plausibleDate(v[:n]) {
		return v
	}
	switch {
	case n >= 12:
		return v[6:8] + sep + v[4:6] + sep + v[0:4] + " " + v[8:10] + ":" + v[10:12]
	case n >= 8:
		return v[6:8] + sep + v[4:6] + sep + v[0:4]
	default:
		return v[4:6] + sep + v[0:4]
	}
}

// plausibleDate: the month (and day, hour, minute when present) of a run
// of TS digits are in range.
func plausibleDate(d string) bool {
	in := func(s string, lo, hi int) bool {
		x := int(s[0]-'0')*10 + int(s[1]-'0')
		return x >= lo && x <= hi
	}
	if !in(d[4:6], 1, 12) {
		return false
	}
	if len(d) >= 8 && !in(d[6:8], 1, 31) {
		return false
	}
	if len(d) >= 12 && (!in(d[8:10], 0, 23) || !in(d[10:12], 0, 59)) {
		return false
	}
	return true
}

// numberSeparators are the reader's decimal and thousands separators
// (CLDR: de 1.234,5; fr 1 234,5 with a narrow no-break space; en 1,234.5).
var numberSeparators = map[string][2]string{"de": {",", "."}, "fr": {",", "\u202f"}, "en": {".", ","}}

// formatNumber writes an HL7 decimal (PQ/REAL value: "2.5", "-1000", "10000.25")
// with the reader's decimal and thousands separators: "2,5" and "10.000,25" in
// German, "2,5" and "10 000,25" in French, "10,000.25" in English. Only what
// is shown changes, never the document's value; anything that is not a plain
// decimal (an exponent, a stray character) is shown as received.
func formatNumber(v, lang string) string {
	seps, ok := numberSeparators[lang]
	if !ok {
		return v
	}
	sign, rest := "", v
	if strings.HasPrefix(rest, "-") || strings.HasPrefix(rest, "+") {
		sign, rest = rest[:1], rest[1:]
	}
	intPart, frac, hasFrac := strings.Cut(rest, ".")
	if intPart == "" && hasFrac {
		intPart = "0"
	}
	if intPart == "" || !allDigits(intPart) || (hasFrac && (frac == "" || !allDigits(frac))) {
		return v
	}
	// "0010" is 10: leading zeros would be grouped into "0.010" / "0,010",
	// which a reader takes for a decimal.
	if t := strings.TrimLeft(intPart, "0"); t != "" {
		intPart = t
	} else {
		intPart = "0"
	}
	var b strings.Builder
	b.WriteString(sign)
	for i, d := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteString(seps[1])
		}
		b.WriteRune(d)
	}
	if hasFrac {
		b.WriteString(seps[0])
		b.WriteString(frac)
	}
	return b.String()
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// notice is the sentence telling the reader how many of the document's
// total coded terms are shown in English (english) and as received
// (unknown), numbers in bold ("" when every term is in the language).
func (L labels) notice(english, unknown, total int) template.HTML {
	var b strings.Builder
	part := func(forms [2]string, n int) {
		if n == 0 {
			return
		}
		f := forms[1]
		if n == 1 {
			f = forms[0]
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		// The labels are luxncp's own text; escape them anyway, then put
		// in the numbers.
		fmt.Fprintf(&b, html.EscapeString(f), "<strong>"+fmt.Sprint(n)+"</strong>", fmt.Sprint(total))
	}
	part(L.NoticeEnglish, english)
	part(L.NoticeUnknown, unknown)
	if b.Len() == 0 {
		return ""
	}
	b.WriteString(" " + html.EscapeString(L.NoticeMarked))
	return template.HTML(b.String()) // #nosec G203 -- escaped labels and integers only
}
