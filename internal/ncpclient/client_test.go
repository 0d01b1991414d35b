package ncpclient_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/soap"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/wssec"
)

// TestMarshalSharesAssertions: a request carries its assertions by
// reference (no copy per request), with the same bytes on the wire as a
// header holding copies, and leaves the shared assertions untouched — also
// when many requests go out with them at once (run with -race).
func TestMarshalSharesAssertions(t *testing.T) {
	id := testkit.Identity(t, "fr", nil)
	hcp, err := id.HCP(ncpclient.DemoProfessional("FR", "pharmacist"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pid := wssec.PatientID{Extension: "1983030506626", Root: "1.3.182.4.4"}
	trc, err := id.TRC(hcp, pid, "TREATMENT", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	holder := etree.NewElement("holder") // an assertion with a parent keeps it
	holder.AddChild(trc)
	req := ncpclient.Request{URL: "https://127.0.0.1:8443" + ehdsi.PathXCA, Action: ehdsi.ActionXCAQuery, MessageID: "urn:uuid:0b5e2f2a-9c1e-4a53-8c6a-6a1c1f0d2e11",
		Assertions: []*etree.Element{hcp, trc}, Body: ncpclient.XCAQueryBody(pid, ehdsi.ClassEP)}
	copied := soap.NewElement("wsse", "Security", soap.NSWSSE)
	copied.AddChild(hcp.Copy())
	copied.AddChild(trc.Copy())
	_, want, err := soap.Writer{}.Marshal(soap.Response{Action: req.Action, MessageID: req.MessageID, To: req.URL, Body: req.Body, Headers: []*etree.Element{copied}}, false)
	if err != nil {
		t.Fatal(err)
	}
	var c ncpclient.Client
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, got, err := c.Marshal(req)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("request bytes differ from a header of copies (%v):\n%s\nwant\n%s", err, got, want)
			}
		}()
	}
	wg.Wait()
	if hcp.Parent() != nil || trc.Parent() != holder || len(holder.ChildElements()) != 1 {
		t.Error("marshalling re-parented a shared assertion")
	}
}

// TestSendReadsWholeReply: the reply buffer is sized from Content-Length
// (at most 64 KiB up front); a larger reply, one without a length
// (chunked) and one announcing more than 64 KiB all arrive whole.
func TestSendReadsWholeReply(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320,000 bytes
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		w.Write(big[:n])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}))
	defer srv.Close()
	var c ncpclient.Client
	for _, q := range []string{"n=0", "n=100", "n=65536", "n=65537", "n=320000", "n=320000&chunked=1", "n=100&chunked=1"} {
		rep, err := c.Send(context.Background(), srv.URL+"/?"+q, "text/plain", nil)
		n, _ := strconv.Atoi(strings.TrimPrefix(strings.Split(q, "&")[0], "n="))
		if err != nil || !bytes.Equal(rep.Raw, big[:n]) {
			t.Errorf("%s: %d bytes, want %d (%v)", q, len(rep.Raw), n, err)
		}
	}
}
