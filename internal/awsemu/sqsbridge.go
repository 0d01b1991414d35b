package awsemu

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// sqsBridge answers the SQS JSON protocol (X-Amz-Target AmazonSQS.<Op>,
// application/x-amz-json-1.0) by calling goaws over the Query protocol.
// It translates envelopes only: which messages exist, their receipt
// handles, visibility and deletion are goaws's. Operations luxncp and its
// tests use: CreateQueue, GetQueueUrl, SendMessage, ReceiveMessage,
// DeleteMessage, ChangeMessageVisibility, PurgeQueue.
type sqsBridge struct {
	upstream string
	client   *http.Client
}

func (b *sqsBridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	if !ok {
		jsonError(w, http.StatusBadRequest, "InvalidAction", "not an SQS JSON request")
		return
	}
	var in map[string]any
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		jsonError(w, http.StatusBadRequest, "MalformedInput", err.Error())
		return
	}
	form := url.Values{"Action": {op}, "Version": {"2012-11-05"}}
	for k, v := range in {
		switch v := v.(type) {
		case string:
			form.Set(k, v)
		case float64:
			form.Set(k, strconv.FormatInt(int64(v), 10))
		case map[string]any: // Attributes of CreateQueue
			i := 1
			for name, val := range v {
				form.Set("Attribute."+strconv.Itoa(i)+".Name", name)
				form.Set("Attribute."+strconv.Itoa(i)+".Value", toString(val))
				i++
			}
		case []any: // AttributeNames, MessageAttributeNames
			for i, val := range v {
				form.Set(k+"."+strconv.Itoa(i+1), toString(val))
			}
		}
	}
	target := b.upstream + "/"
	if q, _ := in["QueueUrl"].(string); q != "" {
		if u, err := url.Parse(q); err == nil {
			target = b.upstream + u.Path
		}
	}
	resp, err := b.client.Post(target, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		jsonError(w, http.StatusBadGateway, "ServiceUnavailable", err.Error())
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode >= 300 {
		var e struct {
			Code    string `xml:"Error>Code"`
			Message string `xml:"Error>Message"`
		}
		_ = xml.Unmarshal(body, &e)
		if e.Code == "" {
			e.Code = "InternalError"
		}
		jsonError(w, resp.StatusCode, e.Code, e.Message)
		return
	}
	out, err := translate(op, body)
	if err != nil {
		jsonError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(out)
}

func translate(op string, body []byte) (any, error) {
	switch op {
	case "CreateQueue", "GetQueueUrl":
		var v struct {
			URL string `xml:"CreateQueueResult>QueueUrl"`
			Get string `xml:"GetQueueUrlResult>QueueUrl"`
		}
		if err := xml.Unmarshal(body, &v); err != nil {
			return nil, err
		}
		return map[string]string{"QueueUrl": v.URL + v.Get}, nil
	case "SendMessage":
		var v struct {
			ID  string `xml:"SendMessageResult>MessageId"`
			MD5 string `xml:"SendMessageResult>MD5OfMessageBody"`
		}
		if err := xml.Unmarshal(body, &v); err != nil {
			return nil, err
		}
		return map[string]string{"MessageId": v.ID, "MD5OfMessageBody": v.MD5}, nil
	case "ReceiveMessage":
		var v struct {
			Messages []struct {
				ID         string `xml:"MessageId"`
				Receipt    string `xml:"ReceiptHandle"`
				MD5        string `xml:"MD5OfBody"`
				Body       string `xml:"Body"`
				Attributes []struct {
					Name  string `xml:"Name"`
					Value string `xml:"Value"`
				} `xml:"Attribute"`
			} `xml:"ReceiveMessageResult>Message"`
		}
		if err := xml.Unmarshal(body, &v); err != nil {
			return nil, err
		}
		msgs := []map[string]any{}
		for _, m := range v.Messages {
			attrs := map[string]string{}
			for _, a := range m.Attributes {
				attrs[a.Name] = a.Value
			}
			msgs = append(msgs, map[string]any{"MessageId": m.ID, "ReceiptHandle": m.Receipt, "MD5OfBody": m.MD5, "Body": m.Body, "Attributes": attrs})
		}
		return map[string]any{"Messages": msgs}, nil
	default:
		return map[string]string{}, nil
	}
}

func toString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatInt(int64(v), 10)
	}
	b, _ := json.Marshal(v)
	return string(bytes.Trim(b, `"`))
}

func jsonError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Query-Error", code+";Sender")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + code, "message": msg})
}
