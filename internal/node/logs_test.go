package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/reqlog"
)

// TestLogsCarryRequestAndMessageID: a partner engineer reports "my message
// urn:uuid:… failed"; the operator finds every line of that request by its
// wsa:MessageID, and the partner got the request id in X-Request-Id. Served
// and refused requests alike; no line repeats a key.
func TestLogsCarryRequestAndMessageID(t *testing.T) {
	var logs syncBuffer
	g := startWithLog(t, node.NewLogger("info", &logs))
	ph := newPharmacist(t, "be", "physician")
	const msgID = "urn:uuid:7d1b3c2e-5f4a-4b6c-9d8e-0a1b2c3d4e5f"
	req := ncpclient.Request{URL: g.url + ehdsi.PathXCPD, Action: ehdsi.ActionXCPD, Assertions: []*etree.Element{ph.hcp}, MessageID: msgID,
		Body: ncpclient.XCPDBody(ncpclient.XCPDQuery{SenderHCID: "1.3.6.1.4.1.48336", ReceiverHCID: ehdsi.HomeCommunityLU, PatientID: "1971011007114", PatientRoot: ehdsi.OIDMatricule})}
	ctype, body, err := ph.client.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var reqIDs []string
	for range 2 { // served, then refused as a replay
		rep, err := ph.client.Send(context.Background(), req.URL, ctype, body)
		if err != nil {
			t.Fatal(err)
		}
		id := rep.Header.Get(reqlog.Header)
		if id == "" {
			t.Fatal("no X-Request-Id in the response")
		}
		reqIDs = append(reqIDs, id)
	}
	if reqIDs[0] == reqIDs[1] {
		t.Fatalf("two requests share the id %s", reqIDs[0])
	}
	found := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if dup := duplicateKey(line); dup != "" {
			t.Errorf("key %q repeated in %s", dup, line)
		}
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if rec["message_id"] == msgID {
			found[rec["msg"].(string)], _ = rec["request_id"].(string)
		}
	}
	if found["request served"] != reqIDs[0] || found["request refused"] != reqIDs[1] {
		t.Fatalf("lines with message_id %s: %v, want served under %s and refused under %s\n%s", msgID, found, reqIDs[0], reqIDs[1], logs.String())
	}
}

// TestRefusedEnvelopeKeepsItsMessageID: an envelope refused after its
// header was read (no wsa:Action here) is still logged under the partner's
// MessageID and answered with RelatesTo it.
func TestRefusedEnvelopeKeepsItsMessageID(t *testing.T) {
	var logs syncBuffer
	g := startWithLog(t, node.NewLogger("info", &logs))
	ph := newPharmacist(t, "be", "physician")
	const msgID = "urn:uuid:0c6f1d8e-2b7a-4c3d-8e9f-1a2b3c4d5e6f"
	body := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing">` +
		`<s:Header><a:MessageID>` + msgID + `</a:MessageID></s:Header><s:Body><x/></s:Body></s:Envelope>`
	rep, err := ph.client.Send(context.Background(), g.url+ehdsi.PathXCPD, "application/soap+xml; charset=utf-8", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Fault == nil || !strings.Contains(string(rep.Raw), msgID) {
		t.Fatalf("refusal without RelatesTo %s: %s", msgID, rep.Raw)
	}
	if !strings.Contains(logs.String(), `"message_id":"`+msgID+`"`) {
		t.Fatalf("the refusal is not logged under its MessageID:\n%s", logs.String())
	}
}

// duplicateKey returns a top-level key that a JSON object repeats, or "".
func duplicateKey(line string) string {
	dec := json.NewDecoder(bytes.NewReader([]byte(line)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		k, _ := tok.(string)
		if seen[k] {
			return k
		}
		seen[k] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}

// TestRefusalInTheResponseCarriesIDs: a refusal answered inside a normal
// response (an application error: here an XCPD by a professional without
// PRD-006) is logged with the request id and wsa:MessageID too, like
// every other line of a request.
func TestRefusalInTheResponseCarriesIDs(t *testing.T) {
	var logs syncBuffer
	g := startWithLog(t, node.NewLogger("info", &logs))
	ph := newPharmacist(t, "be", "physician")
	prof := ncpclient.DemoProfessional(ph.id.Country, "physician")
	prof.Permissions = []string{"PRD-003", "PRD-004"}
	hcp, err := ph.id.HCP(prof, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	const msgID = "urn:uuid:3e0f6a9c-1d2b-4c5e-8f7a-9b0c1d2e3f4a"
	rep, err := ph.client.Call(context.Background(), ncpclient.Request{URL: g.url + ehdsi.PathXCPD, Action: ehdsi.ActionXCPD,
		Assertions: []*etree.Element{hcp}, MessageID: msgID,
		Body: ncpclient.XCPDBody(ncpclient.XCPDQuery{SenderHCID: "1.3.6.1.4.1.48336", ReceiverHCID: ehdsi.HomeCommunityLU, PatientID: "1971011007114", PatientRoot: ehdsi.OIDMatricule})})
	if err != nil {
		t.Fatal(err)
	}
	reqID := rep.Header.Get(reqlog.Header)
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) == nil && rec["msg"] == "request refused in the response" {
			line = rec
		}
	}
	if line == nil {
		t.Fatalf("no \"request refused in the response\" line (fault %v):\n%s", rep.Fault, logs.String())
	}
	if line["request_id"] != reqID || line["message_id"] != msgID {
		t.Errorf("request_id %v message_id %v, want %s and %s", line["request_id"], line["message_id"], reqID, msgID)
	}
}

// TestRequestIDsSurviveRedaction: the production logger redacts 13-digit
// runs (matricule-shaped) above debug level; a request id luxncp makes must
// never look like one, or its log lines lose the id that correlates them
// (it did for about 4 % of ids when they were 32 bare hex digits).
func TestRequestIDsSurviveRedaction(t *testing.T) {
	var logs syncBuffer
	log := node.NewLogger("info", &logs)
	for i := 0; i < 5000; i++ {
		id := reqlog.NewRequestID()
		logs = syncBuffer{}
		log.InfoContext(reqlog.WithRequestID(context.Background(), id), "request served")
		if !strings.Contains(logs.String(), `"request_id":"`+id+`"`) {
			t.Fatalf("request id %s redacted: %s", id, logs.String())
		}
	}
}
