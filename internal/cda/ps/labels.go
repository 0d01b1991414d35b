package ps

import "strings"

// labels are the narrative words of one document language.
type labels struct {
	sections map[string]string // section LOINC code → title
	cols     map[string]string // column key → header
	words    map[string]string // misc words
}

var labelsFR = labels{
	sections: map[string]string{
		"48765-2": "Allergies et intolérances",
		"10160-0": "Traitements médicamenteux",
		"11450-4": "Problèmes actifs",
		"47519-4": "Antécédents chirurgicaux",
		"46264-8": "Dispositifs médicaux",
		"11369-6": "Vaccinations",
		"11348-0": "Antécédents médicaux",
		"47420-5": "Statut fonctionnel",
		"29762-2": "Mode de vie",
		"10162-6": "Grossesses",
		"8716-3":  "Signes vitaux",
		"30954-2": "Résultats",
		"18776-5": "Plan de soins",
		"42348-3": "Directives anticipées",
	},
	cols: map[string]string{
		"type": "Type", "agent": "Agent", "reaction": "Réaction", "severity": "Sévérité", "criticality": "Criticité",
		"status": "Statut", "certainty": "Certitude", "onset": "Début", "end": "Fin", "product": "Médicament",
		"ingredients": "Principes actifs", "form": "Forme", "route": "Voie", "dose": "Posologie", "reason": "Indication",
		"problem": "Problème", "procedure": "Intervention", "date": "Date", "device": "Dispositif", "id": "Identifiant",
		"vaccine": "Vaccin", "doseNumber": "Dose n°", "observation": "Observation", "value": "Valeur",
		"item": "Élément", "text": "Description", "pregnancy": "Statut de grossesse", "edd": "Date présumée d'accouchement",
		"outcome": "Issue", "count": "Nombre",
	},
	words: map[string]string{
		NoKnownAllergies: "Aucune allergie connue", NoAllergyInfo: "Pas d'information sur les allergies",
		NoKnownMedications: "Aucun traitement connu", NoMedicationInfo: "Pas d'information sur les traitements",
		NoKnownProblems: "Aucun problème connu", NoProblemInfo: "Pas d'information sur les problèmes",
		NoKnownProcedures: "Aucune intervention connue", NoProcedureInfo: "Pas d'information sur les interventions",
		NoKnownDevices: "Aucun dispositif connu", NoDeviceInfo: "Pas d'information sur les dispositifs",
		"every": "toutes les", "since": "depuis", "title": "Résumé patient",
		"active": "actif", "inactive": "inactif", "resolved": "résolu", "confirmed": "confirmé", "unconfirmed": "non confirmé",
		"refuted": "réfuté", "low": "faible", "high": "élevée", "unable-to-assess": "non évaluable",
		"h": "h", "d": "jour(s)", "wk": "semaine(s)", "mo": "mois", "min": "min",
	},
}

var labelsEN = labels{
	sections: map[string]string{
		"48765-2": "Allergies and intolerances",
		"10160-0": "Medication summary",
		"11450-4": "Active problems",
		"47519-4": "History of procedures",
		"46264-8": "Medical devices",
		"11369-6": "Immunizations",
		"11348-0": "History of past illness",
		"47420-5": "Functional status",
		"29762-2": "Social history",
		"10162-6": "History of pregnancies",
		"8716-3":  "Vital signs",
		"30954-2": "Results",
		"18776-5": "Plan of care",
		"42348-3": "Advance directives",
	},
	cols: map[string]string{
		"type": "Type", "agent": "Agent", "reaction": "Reaction", "severity": "Severity", "criticality": "Criticality",
		"status": "Status", "certainty": "Certainty", "onset": "Onset", "end": "End", "product": "Medicinal product",
		"ingredients": "Active ingredients", "form": "Dose form", "route": "Route", "dose": "Dosage", "reason": "Reason",
		"problem": "Problem", "procedure": "Procedure", "date": "Date", "device": "Device", "id": "Identifier",
		"vaccine": "Vaccine", "doseNumber": "Dose number", "observation": "Observation", "value": "Value",
		"item": "Item", "text": "Description", "pregnancy": "Pregnancy status", "edd": "Estimated delivery date",
		"outcome": "Outcome", "count": "Count",
	},
	words: map[string]string{
		NoKnownAllergies: "No known allergies", NoAllergyInfo: "No information about allergies",
		NoKnownMedications: "No known medications", NoMedicationInfo: "No information about medications",
		NoKnownProblems: "No known problems", NoProblemInfo: "No information about problems",
		NoKnownProcedures: "No known procedures", NoProcedureInfo: "No information about procedures",
		NoKnownDevices: "No known devices in use", NoDeviceInfo: "No information about devices",
		"every": "every", "since": "since", "title": "Patient Summary",
		"active": "active", "inactive": "inactive", "resolved": "resolved", "confirmed": "confirmed", "unconfirmed": "unconfirmed",
		"refuted": "refuted", "low": "low", "high": "high", "unable-to-assess": "unable to assess",
		"h": "h", "d": "day(s)", "wk": "week(s)", "mo": "month(s)", "min": "min",
	},
}

// labelsFor picks the narrative language: French for fr-*, English otherwise.
func labelsFor(lang string) *labels {
	if strings.HasPrefix(strings.ToLower(lang), "fr") {
		return &labelsFR
	}
	return &labelsEN
}

func (l *labels) word(k string) string {
	if w, ok := l.words[k]; ok {
		return w
	}
	return k
}

// date formats a FHIR-style date for the narrative: dd/MM/yyyy in French,
// ISO in English; partial dates keep their precision.
func (l *labels) date(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > 10 {
		s = s[:10]
	}
	if l != &labelsFR {
		return s
	}
	p := strings.Split(s, "-")
	for i, j := 0, len(p)-1; i < j; i, j = i+1, j-1 {
		p[i], p[j] = p[j], p[i]
	}
	return strings.Join(p, "/")
}
