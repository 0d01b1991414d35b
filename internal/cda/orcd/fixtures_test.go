package orcd

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/pdf"
	"github.com/luxncp/luxncp/internal/testutil"
)

// Demo original clinical documents, generated deterministically:
// go test ./internal/cda/orcd -run TestFixtures -update

// Sidecar is the JSON beside each fixture PDF (read by the demo backend).
type Sidecar struct {
	Matricule string `json:"matricule"`
	ClassCode string `json:"classCode"`
	Title     string `json:"title"`
	Created   string `json:"created"`
	Author    string `json:"author"`
}

type orcdFixture struct {
	matricule, patient string // matricule and display name
	kind               Kind
	n                  int
	created            string
	author             string
	body               func(d *pdf.Document)
}

func labBody(rows [][]string, comment string) func(*pdf.Document) {
	return func(d *pdf.Document) {
		d.Heading(2, "Résultats")
		d.Table([]string{"Analyse", "Résultat", "Unité", "Valeurs de référence"}, rows, []float64{3, 1.2, 1.2, 2})
		if comment != "" {
			d.Heading(2, "Commentaire")
			d.Paragraph(comment)
		}
	}
}

func textBody(sections ...[2]string) func(*pdf.Document) {
	return func(d *pdf.Document) {
		for _, s := range sections {
			d.Heading(2, s[0])
			d.Paragraph(s[1])
		}
	}
}

var orcdFixtures = []orcdFixture{
	{"1962031411774", "Paul THILL", Laboratory, 1, "2025-10-06T08:40:00+02:00", "Dr Anne Koch, Laboratoires Réunis Junglinster",
		labBody([][]string{{"Troponine T hs", "9", "ng/L", "< 14"}, {"Cholestérol LDL", "1,6", "mmol/L", "< 1,8"}, {"Créatinine", "0,95", "mg/dL", "0,70 – 1,20"}, {"Hémoglobine", "14,1", "g/dL", "13,0 – 17,0"}}, "Bilan de contrôle post-infarctus sans particularité.")},
	{"1962031411774", "Paul THILL", Imaging, 1, "2025-10-08T14:10:00+02:00", "Dr Marc Schiltz, Centre Hospitalier de Luxembourg",
		textBody([2]string{"Examen", "Échocardiographie transthoracique de contrôle."}, [2]string{"Conclusion", "Fraction d'éjection ventriculaire gauche à 55 %. Hypokinésie inférieure séquellaire discrète. Pas d'épanchement péricardique."})},
	{"1962031411774", "Paul THILL", Discharge, 1, "2021-04-02T11:00:00+02:00", "Dr Sophie Majerus, Centre Hospitalier de Luxembourg",
		textBody([2]string{"Motif d'hospitalisation", "Syndrome coronarien aigu avec sus-décalage du segment ST inférieur le 28/03/2021."},
			[2]string{"Évolution", "Angioplastie primaire de la coronaire droite avec pose d'un stent actif. Suites simples."},
			[2]string{"Traitement de sortie", "Acide acétylsalicylique 100 mg, clopidogrel 75 mg, rosuvastatine 10 mg, bisoprolol 5 mg."})},
	{"1996020222202", "Julie LAMBERT", Laboratory, 1, "2025-09-15T09:05:00+02:00", "Dr Tom Reding, Laboratoire national de santé",
		labBody([][]string{{"TSH", "3,2", "mUI/L", "0,27 – 4,20"}, {"Ferritine", "12", "µg/L", "15 – 150"}, {"Hémoglobine", "11,8", "g/dL", "12,0 – 16,0"}}, "Carence martiale débutante.")},
	{"1996020222202", "Julie LAMBERT", Imaging, 1, "2025-09-20T10:30:00+02:00", "Dr Nadia Weis, Hôpital Robert Schuman",
		textBody([2]string{"Examen", "Échographie abdominale."}, [2]string{"Conclusion", "Examen sans anomalie. Vésicule alithiasique."})},
	{"1958041200856", "Marie Josée SCHMIT", Laboratory, 1, "2025-09-30T07:50:00+02:00", "Dr Anne Koch, Laboratoires Réunis Junglinster",
		labBody([][]string{{"HbA1c", "7,1", "%", "< 6,5"}, {"Créatinine", "0,9", "mg/dL", "0,5 – 1,1"}, {"DFG estimé (CKD-EPI)", "78", "mL/min/1,73 m²", "> 60"}, {"TSH", "2,1", "mUI/L", "0,27 – 4,20"}}, "")},
	{"1941090302146", "Jean WEBER", Discharge, 1, "2025-08-22T15:20:00+02:00", "Dr Paul Welter, Centre Hospitalier du Nord",
		textBody([2]string{"Motif d'hospitalisation", "Décompensation cardiaque globale sur fibrillation auriculaire rapide."},
			[2]string{"Évolution", "Amélioration sous diurétiques intraveineux. Poids de sortie 81 kg."},
			[2]string{"Recommandations", "Contrôle INR à J3, pesée quotidienne, consultation de cardiologie à 1 mois."})},
	{"1950071705239", "Heinz BECKER", Discharge, 1, "2019-03-14T10:00:00+01:00", "Dr Yves Bernard, Centre Hospitalier de Luxembourg",
		textBody([2]string{"Motif d'hospitalisation", "Maladie du sinus symptomatique (syncopes)."},
			[2]string{"Intervention", "Implantation d'un stimulateur cardiaque double chambre le 12/03/2019."},
			[2]string{"Recommandations", "Carte de porteur remise. Contrôle du stimulateur à 3 mois."})},
	{"1966080908399", "Ana Maria FERREIRA", Laboratory, 1, "2025-10-01T08:15:00+02:00", "Dr Tom Reding, Laboratoire national de santé",
		labBody([][]string{{"HbA1c", "7,8", "%", "< 6,5"}, {"Glycémie à jeun", "1,52", "g/L", "0,70 – 1,10"}, {"Microalbuminurie", "25", "mg/g", "< 30"}}, "Équilibre glycémique insuffisant.")},
	{"1992061503442", "Sophie MULLER", Imaging, 1, "2025-10-20T11:45:00+02:00", "Dr Carole Hansen, Maternité Grande-Duchesse Charlotte",
		textBody([2]string{"Examen", "Échographie obstétricale du deuxième trimestre (22 SA)."}, [2]string{"Conclusion", "Grossesse monofœtale évolutive, biométrie au 50e percentile, morphologie sans anomalie décelable. Placenta antérieur normalement inséré."})},
	{"1944093024127", "Roger SIMON", Imaging, 1, "2024-05-16T09:00:00+02:00", "Dr Luc Bintner, Hôpitaux Robert Schuman",
		textBody([2]string{"Examen", "Radiographie du bassin et de la hanche gauche de face."}, [2]string{"Conclusion", "Prothèse totale de hanche gauche en place, sans signe de descellement ni de luxation."})},
	{"1944093024127", "Roger SIMON", Laboratory, 1, "2025-09-22T07:40:00+02:00", "Dr Anne Koch, Laboratoires Réunis Junglinster",
		labBody([][]string{{"Créatinine", "1,5", "mg/dL", "0,7 – 1,2"}, {"DFG estimé (CKD-EPI)", "44", "mL/min/1,73 m²", "> 60"}, {"Potassium", "4,6", "mmol/L", "3,5 – 5,1"}, {"HbA1c", "7,4", "%", "< 7,0"}}, "Insuffisance rénale chronique stable.")},
	{"1994022727854", "Julia NEUMANN", Laboratory, 1, "2025-06-03T08:00:00+02:00", "Dr Tom Reding, Laboratoire national de santé",
		labBody([][]string{{"IgE totales", "180", "kUI/L", "< 100"}, {"Tryptase sérique", "5,1", "µg/L", "< 11,4"}}, "")},
	{"1975022804761", "João Pedro DA SILVA", Laboratory, 1, "2025-05-12T08:30:00+02:00", "Dr Anne Koch, Laboratoires Réunis Junglinster",
		labBody([][]string{{"IgE spécifiques amoxicilline", "2,8", "kUA/L", "< 0,35"}, {"IgE spécifiques phléole", "14,2", "kUA/L", "< 0,35"}}, "Sensibilisation confirmée.")},
	{"1977021815655", "Nicole KLEIN", Laboratory, 1, "2025-07-07T09:10:00+02:00", "Dr Tom Reding, Laboratoire national de santé",
		labBody([][]string{{"Hémoglobine", "13,5", "g/dL", "12,0 – 16,0"}}, "")},
	{"19320815021", "Josée SCHROEDER", Discharge, 1, "2015-12-20T14:00:00+01:00", "Dr Paul Welter, Centre Hospitalier du Nord",
		textBody([2]string{"Motif d'hospitalisation", "Fracture du col du fémur droit après une chute à domicile."},
			[2]string{"Intervention", "Prothèse totale de hanche droite le 22/10/2015."},
			[2]string{"Suites", "Rééducation en centre spécialisé, reprise de la marche avec un déambulateur."})},
	{"1954012012883", "Anne KREMER", Imaging, 1, "2025-03-11T16:00:00+01:00", "Dr Nadia Weis, Hôpital Robert Schuman",
		textBody([2]string{"Examen", "Mammographie bilatérale de dépistage."}, [2]string{"Conclusion", "ACR 1. Pas d'anomalie."})},
}

var kindSlug = map[string]string{ehdsiLab: "lab", ehdsiDischarge: "discharge", ehdsiImaging: "imaging"}

const (
	ehdsiLab       = "11502-2"
	ehdsiDischarge = "34105-7"
	ehdsiImaging   = "18748-4"
)

func (f orcdFixture) name() string {
	return fmt.Sprintf("%s-%s-%d", f.matricule, kindSlug[f.kind.ClassCode], f.n)
}

func (f orcdFixture) title() string {
	return f.kind.TitleFR
}

// render makes the fixture PDF.
func (f orcdFixture) render() []byte {
	d := pdf.New(f.title()+" – "+f.patient, f.author)
	d.Heading(1, f.title())
	created, _ := time.Parse(time.RFC3339, f.created)
	d.KeyValues([][2]string{{"Patient", f.patient}, {"Matricule", f.matricule}, {"Date", created.Format("02/01/2006 15:04")}, {"Auteur", f.author}})
	d.Rule()
	f.body(d)
	d.Space(12)
	d.Paragraph("Document synthétique de démonstration (luxncp) – aucune donnée réelle.")
	return d.Bytes()
}

func (f orcdFixture) sidecar() []byte {
	b, err := json.MarshalIndent(Sidecar{Matricule: f.matricule, ClassCode: f.kind.ClassCode, Title: f.title(), Created: f.created, Author: f.author}, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

func orcdDir(t testing.TB) string {
	return filepath.Join(testutil.RepoRoot(t), "internal", "national", "demo", "data", "orcd")
}

func TestFixtures(t *testing.T) {
	patients := map[string]bool{}
	for _, f := range orcdFixtures {
		patients[f.matricule] = true
		for ext, b := range map[string][]byte{".pdf": f.render(), ".json": f.sidecar()} {
			path := filepath.Join(orcdDir(t), f.name()+ext)
			if *testutil.Update {
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/cda/orcd -run TestFixtures -update)", err)
			}
			if string(got) != string(b) {
				t.Errorf("%s is out of date (run go test ./internal/cda/orcd -run TestFixtures -update)", path)
			}
		}
	}
	if len(patients) < 10 {
		t.Errorf("%d patients with original clinical documents, want ≥ 10", len(patients))
	}
}
