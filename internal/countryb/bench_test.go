package countryb

import (
	"context"
	"log/slog"
	"testing"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/peer"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/testkit"
)

// cannedRouter replays one real reply: what remains is luxncp's own time.
type cannedRouter struct {
	dir routing.Directory
	res *routing.Result
}

func (c *cannedRouter) Do(context.Context, routing.Call) (*routing.Result, error) { return c.res, nil }
func (c *cannedRouter) Directory() routing.Directory                              { return c.dir }

type captureRouter struct {
	*routing.Client
	last *routing.Result
}

func (c *captureRouter) Do(ctx context.Context, call routing.Call) (*routing.Result, error) {
	r, err := c.Client.Do(ctx, call)
	c.last = r
	return r, err
}

// BenchmarkRoutedRetrieveOverhead is luxncp's own time for a routed XCA
// retrieve of a Patient Summary rendered in German: HCP and TRC assertions
// issued and signed (RSA-2048), SOAP request built, reply parsed, document
// signature verified, eHDSI checks, translation and HTML. The peer and the
// network are excluded by replaying a reply captured from a simulated peer.
func BenchmarkRoutedRetrieveOverhead(b *testing.B) {
	for _, format := range []string{"original", "translated", "html"} {
		b.Run(format, func(b *testing.B) {
			_, entry := startPeer(b, "PT", peer.ModeNone)
			dir, _ := routing.NewStatic(entry)
			rc, err := routing.New(routing.Config{Directory: dir, TLS: testkit.Credential(b, "lu", pki.KindTLS).TLSCertificate(), Trust: testkit.Trust(b),
				Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			capt := &captureRouter{Client: rc}
			cfg := Config{Router: capt, Identity: testkit.Identity(b, "lu", nil), Trust: testkit.Trust(b), ClientTrust: testkit.Trust(b),
				Translator: catalogue(b), Log: slog.New(slog.DiscardHandler)}
			svc, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			prof, _ := peer.Profile("PT")
			pt := prof.Patients[0]
			p, _ := peer.New(peer.Options{Country: "PT", PKIDir: testkit.PKIDir(b)})
			ctx := asDemo(b, "lu-hcp-2001")
			req := RetrieveRequest{Professional: physician(), Patient: Identifier{Root: prof.PatientRoot, Extension: pt.ID},
				Document: DocumentRef{ID: p.Documents(pt.ID, ehdsi.ClassPS)[0], RepositoryID: prof.HomeCommunityID + ".7", HomeCommunityID: prof.HomeCommunityID, Class: "PS"},
				Format:   format, Lang: "de"}
			if _, err := svc.Retrieve(ctx, "PT", req); err != nil {
				b.Fatal(err)
			}
			cfg.Router = &cannedRouter{dir: dir, res: capt.last}
			svc, _ = New(cfg)
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				if _, err := svc.Retrieve(ctx, "PT", req); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start)
		})
	}
}
