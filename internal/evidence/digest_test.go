package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/luxncp/luxncp/internal/soap"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// TestMessageDigestIsC14N: MessageDigest hashes exactly goxmldsig's
// exclusive canonical form of the body (what the partner recomputes),
// though it streams it into the hash: for bodies inside an envelope that
// declares namespaces used and unused, default namespaces, attributes out
// of order, text and attribute values that c14n escapes, comments and a
// processing instruction, a body without parent and a large text.
func TestMessageDigestIsC14N(t *testing.T) {
	const envelope = `<?xml version="1.0"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:unused="urn:unused" xmlns:a="urn:a" xml:lang="fr">
<s:Header><a:H>x</a:H></s:Header>
<s:Body>%s</s:Body></s:Envelope>`
	bodies := []string{
		`<q:Resp xmlns:q="urn:q" z="1" a:b="2" b="3 &amp; &lt; &gt; &quot; &#9; &#10; &#13;"><!-- a comment --><a:X>t &amp; &lt; &gt; " &#13; ]]&gt;</a:X><?pi data?><q:Empty/></q:Resp>`,
		`<Resp xmlns="urn:default" xmlns:q="urn:q"><Inner xmlns=""><q:Deep q:at="v">é ü 中</q:Deep></Inner></Resp>`,
		`<a:Resp><a:Doc>` + strings.Repeat("QUJDRA==", 20000) + `</a:Doc></a:Resp>`,
	}
	for i, b := range bodies {
		doc := etree.NewDocument()
		if err := doc.ReadFromString(strings.Replace(envelope, "%s", b, 1)); err != nil {
			t.Fatal(err)
		}
		body := doc.FindElement("//Body").ChildElements()[0]
		got, err := MessageDigest(body, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, err := etreeutils.NSBuildParentContext(body)
		if err != nil {
			t.Fatal(err)
		}
		el, err := etreeutils.NSDetatch(ctx, body)
		if err != nil {
			t.Fatal(err)
		}
		if want := referenceDigest(t, el); !bytes.Equal(got, want) {
			t.Errorf("body %d in its envelope: digest %x, goxmldsig's c14n %x", i, got, want)
		}
		// Without its envelope: the same digest, or the same refusal of a
		// prefix declared nowhere.
		got, err = MessageDigest(body.Copy(), nil)
		want, werr := referenceC14N(body.Copy())
		if (err != nil) != (werr != nil) || !bytes.Equal(got, want) {
			t.Errorf("body %d without parent: digest %x (%v), goxmldsig's c14n %x (%v)", i, got, err, want, werr)
		}
	}
}

func referenceDigest(t *testing.T, el *etree.Element) []byte {
	sum, err := referenceC14N(el)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func referenceC14N(el *etree.Element) ([]byte, error) {
	canon, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(el)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(canon)
	return sum[:], nil
}

// BenchmarkResponseDigest: the digest of a retrieve response carrying a
// 64 KB document as an MTOM part, streamed into the hash (MessageDigest)
// and, for comparison, through goxmldsig's Canonicalize into bytes first.
func BenchmarkResponseDigest(b *testing.B) {
	resp := &soap.Response{Action: "x", Body: soap.NewElement("xdsb", "RetrieveDocumentSetResponse", "urn:ihe:iti:xds-b:2007")}
	resp.Attach(resp.Body.CreateElement("xdsb:Document"), "text/xml", bytes.Repeat([]byte("<x>ClinicalDocument</x>"), 64<<10/23), true)
	b.Run("streamed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ResponseDigest(resp); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("canonicalize-bytes", func(b *testing.B) {
		b.ReportAllocs()
		atts := map[string]soap.Attachment{}
		for _, a := range resp.Attachments {
			atts[a.ContentID] = a
		}
		env := &soap.Envelope{Attachments: atts}
		for b.Loop() {
			el := resp.Body.Copy()
			var incs []*etree.Element
			collectIncludes(el, &incs)
			for _, inc := range incs {
				data, err := env.Content(inc)
				if err != nil {
					b.Fatal(err)
				}
				p := inc.Parent()
				p.RemoveChild(inc)
				p.SetText(base64.StdEncoding.EncodeToString(data))
			}
			if _, err := referenceC14N(el); err != nil {
				b.Fatal(err)
			}
		}
	})
}
