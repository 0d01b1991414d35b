package render

// labels are the page's own words in the clinician's language.
type labels struct {
	PS, ED, EP, Embedded                                         string
	SourceCountry, DocDate, Patient, BirthDate, Gender, IDs      string
	Address, Author, Organisation, Custodian, DocID, Contents    string
	Section, Ingredient, Agent, Product, Package, DoseForm       string
	Route, Value, Site, Code, NullFlavor, NotTranslated, Unknown string
	CodedEntries, Term, Status, TermsNote, Skip, Original, Print string
	Warning                                                      string
}

var uiLabels = map[string]labels{
	"en": {PS: "Patient Summary", EP: "ePrescription", ED: "eDispensation", Embedded: "Embedded document (PDF)",
		SourceCountry: "Source country", DocDate: "Document date", Patient: "Patient", BirthDate: "Date of birth", Gender: "Gender",
		IDs: "Identifiers", Address: "Address", Author: "Author", Organisation: "Organisation", Custodian: "Custodian", DocID: "Document id",
		Contents: "Contents", Section: "Section", Ingredient: "Active ingredient", Agent: "Agent", Product: "Product", Package: "Package",
		DoseForm: "Dose form", Route: "Route", Value: "Value", Site: "Body site", Code: "Code", NullFlavor: "not coded",
		NotTranslated: "not translated: shown in English", Unknown: "unknown code: shown as received",
		CodedEntries: "Coded entries", Term: "Term", Status: "Note",
		TermsNote: "terms could not be shown in your language; they are marked below.", Skip: "Skip to the document",
		Original: "The narrative text is in the language of the source country.", Print: "Print", Warning: "Warning"},
	"fr": {PS: "Synthèse médicale (Patient Summary)", EP: "Prescription électronique", ED: "Dispensation électronique", Embedded: "Document intégré (PDF)",
		SourceCountry: "Pays d'origine", DocDate: "Date du document", Patient: "Patient", BirthDate: "Date de naissance", Gender: "Sexe",
		IDs: "Identifiants", Address: "Adresse", Author: "Auteur", Organisation: "Organisation", Custodian: "Dépositaire", DocID: "Identifiant du document",
		Contents: "Sommaire", Section: "Section", Ingredient: "Substance active", Agent: "Agent", Product: "Produit", Package: "Conditionnement",
		DoseForm: "Forme pharmaceutique", Route: "Voie d'administration", Value: "Valeur", Site: "Site anatomique", Code: "Code", NullFlavor: "non codé",
		NotTranslated: "non traduit : affiché en anglais", Unknown: "code inconnu : affiché tel que reçu",
		CodedEntries: "Données codées", Term: "Terme", Status: "Remarque",
		TermsNote: "termes n'ont pas pu être affichés en français ; ils sont signalés ci-dessous.", Skip: "Aller au document",
		Original: "Le texte narratif est dans la langue du pays d'origine.", Print: "Imprimer", Warning: "Avertissement"},
	"de": {PS: "Patientenkurzakte (Patient Summary)", EP: "Elektronisches Rezept", ED: "Elektronische Abgabe", Embedded: "Eingebettetes Dokument (PDF)",
		SourceCountry: "Herkunftsland", DocDate: "Dokumentdatum", Patient: "Patient", BirthDate: "Geburtsdatum", Gender: "Geschlecht",
		IDs: "Kennungen", Address: "Adresse", Author: "Autor", Organisation: "Organisation", Custodian: "Verwahrer", DocID: "Dokumentkennung",
		Contents: "Inhalt", Section: "Abschnitt", Ingredient: "Wirkstoff", Agent: "Auslöser", Product: "Produkt", Package: "Packung",
		DoseForm: "Darreichungsform", Route: "Art der Anwendung", Value: "Wert", Site: "Körperstelle", Code: "Code", NullFlavor: "nicht kodiert",
		NotTranslated: "nicht übersetzt: auf Englisch angezeigt", Unknown: "unbekannter Code: wie empfangen angezeigt",
		CodedEntries: "Kodierte Angaben", Term: "Begriff", Status: "Hinweis",
		TermsNote: "Begriffe konnten nicht auf Deutsch angezeigt werden; sie sind unten markiert.", Skip: "Zum Dokument springen",
		Original: "Der Freitext ist in der Sprache des Herkunftslandes.", Print: "Drucken", Warning: "Warnung"},
}

var countryNames = map[string]map[string]string{
	"en": {"FR": "France", "BE": "Belgium", "DE": "Germany", "NL": "Netherlands", "PT": "Portugal", "LU": "Luxembourg", "FI": "Finland", "MT": "Malta", "PL": "Poland"},
	"fr": {"FR": "France", "BE": "Belgique", "DE": "Allemagne", "NL": "Pays-Bas", "PT": "Portugal", "LU": "Luxembourg", "FI": "Finlande", "MT": "Malte", "PL": "Pologne"},
	"de": {"FR": "Frankreich", "BE": "Belgien", "DE": "Deutschland", "NL": "Niederlande", "PT": "Portugal", "LU": "Luxemburg", "FI": "Finnland", "MT": "Malta", "PL": "Polen"},
}
