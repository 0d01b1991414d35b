package host

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/reqlog"
)

// LambdaHandler adapts an http.Handler to API Gateway HTTP API events
// (payload format 2.0). The client certificate that API Gateway's mutual TLS
// accepted is parsed from requestContext.authentication.clientCert into the
// request's Peer, so the handler re-verifies it exactly as on the local host.
func LambdaHandler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		req, err := RequestFromEvent(ctx, ev)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusBadRequest, Body: "bad request\n",
				Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}}, nil
		}
		rec := httptest.NewRecorder()
		reqlog.Middleware(h).ServeHTTP(rec, req)
		return ResponseToEvent(rec.Result())
	}
}

// RequestFromEvent builds the http.Request an API Gateway v2 event describes.
func RequestFromEvent(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("lambda event body: %w", err)
		}
	}
	path := ev.RawPath
	if path == "" {
		path = "/"
	}
	url := path
	if ev.RawQueryString != "" {
		url += "?" + ev.RawQueryString
	}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	if id := ev.RequestContext.RequestID; id != "" {
		ctx = reqlog.WithRequestID(ctx, id)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("lambda event: %w", err)
	}
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.Host = ev.RequestContext.DomainName
	req.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	req.ContentLength = int64(len(body))
	p := Peer{RemoteAddr: ev.RequestContext.HTTP.SourceIP, Host: "lambda"}
	if pemData := ev.RequestContext.Authentication.ClientCert.ClientCertPem; pemData != "" {
		certs, err := pki.ParseCertificates([]byte(pemData))
		if err != nil {
			return nil, fmt.Errorf("lambda event client certificate: %w", err)
		}
		p.Certs = certs
	}
	return req.WithContext(WithPeer(req.Context(), p)), nil
}

// ResponseToEvent turns a recorded response into the API Gateway v2 answer.
// Bodies that are not text travel base64-encoded (MTOM multiparts, PDFs).
func ResponseToEvent(res *http.Response) (events.APIGatewayV2HTTPResponse, error) {
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	out := events.APIGatewayV2HTTPResponse{StatusCode: res.StatusCode, Headers: map[string]string{}}
	for k, vs := range res.Header {
		if k == "Set-Cookie" {
			out.Cookies = append(out.Cookies, vs...)
			continue
		}
		out.Headers[k] = strings.Join(vs, ",")
	}
	if isText(res.Header.Get("Content-Type")) {
		out.Body = string(body)
	} else {
		out.Body = base64.StdEncoding.EncodeToString(body)
		out.IsBase64Encoded = true
	}
	return out, nil
}

func isText(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct == ""
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || mt == "application/soap+xml" ||
		mt == "application/xml" || strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml")
}

// EventFromRequest is what API Gateway's HTTP API (payload format 2.0,
// mutual TLS) hands a function for r: the body base64-encoded, the client
// certificate the TLS handshake verified in requestContext.authentication.
// It is the local front of the AWS path (tests, make run-aws).
func EventFromRequest(r *http.Request, domain string) (events.APIGatewayV2HTTPRequest, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return events.APIGatewayV2HTTPRequest{}, err
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: r.Method + " " + r.URL.Path, RawPath: r.URL.Path, RawQueryString: r.URL.RawQuery,
		Headers: map[string]string{}, Body: base64.StdEncoding.EncodeToString(body), IsBase64Encoded: true,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: domain,
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.Method, Path: r.URL.Path, SourceIP: hostOf(r.RemoteAddr)},
		},
	}
	for k, vs := range r.Header {
		ev.Headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		var b bytes.Buffer
		for _, c := range r.TLS.PeerCertificates {
			_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
		ev.RequestContext.Authentication.ClientCert.ClientCertPem = b.String()
	}
	return ev, nil
}

// LambdaFunc is an HTTP function's handler as the Lambda runtime calls it.
type LambdaFunc func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Front serves HTTP as API Gateway does for luxncp's functions: route
// picks the function of a request (nil: 404), which gets the payload 2.0
// event; its answer is written back.
func Front(domain string, route func(*http.Request) LambdaFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn := route(r)
		if fn == nil {
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
			return
		}
		ev, err := EventFromRequest(r, domain)
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		out, err := fn(r.Context(), ev)
		if err != nil {
			http.Error(w, `{"message":"Internal Server Error"}`, http.StatusInternalServerError)
			return
		}
		body := []byte(out.Body)
		if out.IsBase64Encoded {
			if body, err = base64.StdEncoding.DecodeString(out.Body); err != nil {
				http.Error(w, `{"message":"Internal Server Error"}`, http.StatusInternalServerError)
				return
			}
		}
		for k, v := range out.Headers {
			w.Header().Set(k, v)
		}
		for _, c := range out.Cookies {
			w.Header().Add("Set-Cookie", c)
		}
		w.WriteHeader(out.StatusCode)
		_, _ = w.Write(body)
	})
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
