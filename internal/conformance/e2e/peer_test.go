package e2e_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/conformance"
	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/peer"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/testutil"
	"github.com/luxncp/luxncp/internal/wssec"
)

// TestSuiteAgainstSimulatedPeer runs the identification and ePrescription
// suites, as Luxembourg, against the simulated French NCP with the peer
// profile: healthy, the identification case passes; with a failure mode
// switched on, it fails and says why.
func TestSuiteAgainstSimulatedPeer(t *testing.T) {
	prof, err := conformance.LoadProfile(filepath.Join(testutil.RepoRoot(t), "conformance", "profiles", "peer-fr.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []conformance.Case
	for _, c := range repoCases(t) {
		if c.Suite == "patient-identification" || c.Suite == "eprescription" {
			cases = append(cases, c)
		}
	}
	if err := prof.CheckCases(cases); err == nil {
		t.Error("the peer profile lacks most lu-demo patients; CheckCases should say so")
	}
	for _, tc := range []struct {
		mode peer.Mode
		want string // in the reasons of patient-identification/01-id-match; "" = passes
	}{
		{peer.ModeNone, ""},
		{peer.ModeFault, "ERROR_PI_REGISTRY_NOT_AVAILABLE"},
		{peer.ModeMalformed, "not a SOAP 1.2 envelope"},
		{peer.Mode5xx, "HTTP status 503"},
		{peer.ModeBadSig, ""}, // identification passes; the retrieve below fails
	} {
		t.Run(string(tc.mode)+"-mode", func(t *testing.T) {
			p, err := peer.New(peer.Options{Country: "FR", PKIDir: testkit.PKIDir(t), Fail: tc.mode})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewUnstartedServer(host.WithTLSPeer(p.Handler()))
			srv.TLS = p.TLSConfig()
			srv.StartTLS()
			defer srv.Close()
			other := testkit.Credential(t, "be", pki.KindSeal)
			r := &conformance.Runner{
				Target: srv.URL, Client: testkit.Client(t, "lu"), NoCert: testkit.Client(t, ""), Profile: prof,
				Creds:      &conformance.Credentials{Identity: testkit.Identity(t, "lu", nil), Other: wssec.Signer{Key: other.Signer, Cert: other.Cert}},
				SenderHCID: "1.3.182.2.12.10000734.6.1", Trust: testkit.Trust(t),
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rep := r.Run(ctx, cases)
			pass, fail, skip := rep.Counts()
			t.Logf("%s mode: %d passed, %d failed, %d skipped", tc.mode, pass, fail, skip)
			if skip == 0 {
				t.Error("cases needing patients the peer profile lacks were not skipped")
			}
			for _, c := range rep.Cases {
				if c.ID() == "eprescription/03-retrieve-l3" {
					reasons := strings.Join(c.Reasons, "; ")
					if bad := strings.Contains(reasons, "signature does not verify"); bad != (tc.mode == peer.ModeBadSig) {
						t.Errorf("%s mode: %s %s: %s", tc.mode, c.ID(), c.Verdict, reasons)
					}
				}
				if tc.mode == peer.ModeNone && c.Verdict == conformance.Fail {
					t.Logf("against the healthy peer: %s: %s", c.ID(), strings.Join(c.Reasons, "; "))
				}
				if c.ID() != "patient-identification/01-id-match" {
					continue
				}
				reasons := strings.Join(c.Reasons, "; ")
				switch {
				case tc.want == "" && c.Verdict != conformance.Pass:
					t.Errorf("healthy peer: %s %s: %s", c.ID(), c.Verdict, reasons)
				case tc.want != "" && (c.Verdict != conformance.Fail || !strings.Contains(reasons, tc.want)):
					t.Errorf("%s mode: %s %s (%s), want a failure naming %q", tc.mode, c.ID(), c.Verdict, reasons, tc.want)
				}
			}
		})
	}
}
