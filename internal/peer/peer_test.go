package peer

import (
	"testing"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/testkit"
)

func TestPeersSignTheirDocuments(t *testing.T) {
	for _, cc := range CountryCodes {
		for _, mode := range []Mode{ModeNone, ModeBadSig} {
			t.Run(cc+"/"+string(mode), func(t *testing.T) {
				p, err := New(Options{Country: cc, PKIDir: testkit.PKIDir(t), Fail: mode})
				if err != nil {
					t.Fatal(err)
				}
				pt := p.Profile.Patients[0]
				for _, class := range []string{ehdsi.ClassPS, ehdsi.ClassEP} {
					ids := p.Documents(pt.ID, class)
					if len(ids) == 0 {
						t.Fatalf("%s: %d documents", class, len(ids))
					}
					signed, err := routing.VerifyDocument(p.docs[ids[0]].data, testkit.Trust(t), cc, clock.Now())
					if !signed || (err == nil) != (mode == ModeNone) {
						t.Fatalf("%s: signed %v, err %v", class, signed, err)
					}
				}
			})
		}
	}
}

func TestBuildDeterministic(t *testing.T) {
	c, _ := Profile("PT")
	if string(BuildPS(c, 0, created)) != string(BuildPS(c, 0, created)) || string(BuildEP(c, 0, 1, created)) != string(BuildEP(c, 0, 1, created)) {
		t.Fatal("fixtures are not deterministic")
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range Modes {
		if got, err := ParseMode(string(m)); err != nil || got != m {
			t.Errorf("ParseMode(%s) = %v, %v", m, got, err)
		}
	}
	if _, err := ParseMode("broken"); err == nil {
		t.Error("unknown mode accepted")
	}
	if _, err := New(Options{Country: "XX", PKIDir: testkit.PKIDir(t)}); err == nil {
		t.Error("unknown country accepted")
	}
}
