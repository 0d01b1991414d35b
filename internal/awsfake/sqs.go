package awsfake

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
)

// SQS is a fake of the SQS JSON 1.0 API: standard queues with visibility
// timeouts, long polling, and a redrive policy to a dead-letter queue.
// Queues are created with CreateQueue (a Go method, not the API call).
type SQS struct {
	*server

	mu      sync.Mutex
	now     func() time.Time
	queues  map[string]*queue // by name
	seq     int
	arrived chan struct{} // closed and replaced when a message may be ready
}

type queue struct {
	name                string
	visibility          time.Duration
	dlq                 string
	maxReceiveCount     int
	messages            []*message
	receiptToMessageIDs map[string]string
}

type message struct {
	id           string
	body         string
	attrs        map[string]sqsAttr
	sent         time.Time
	visibleAt    time.Time
	receiveCount int
	receipt      string
}

type sqsAttr struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
	BinaryValue []byte `json:"BinaryValue,omitempty"`
}

const sqsAccount = "111122223333"

// NewSQS starts a fake SQS. Close it when done.
func NewSQS() *SQS {
	q := &SQS{queues: map[string]*queue{}, arrived: make(chan struct{}), now: clock.System()}
	q.server = newServer("AmazonSQS.", "application/x-amz-json-1.0", "com.amazonaws.sqs#", map[string]handlerFunc{
		"SendMessage":             q.sendMessage,
		"ReceiveMessage":          q.receiveMessage,
		"DeleteMessage":           q.deleteMessage,
		"ChangeMessageVisibility": q.changeVisibility,
		"GetQueueUrl":             q.getQueueURL,
	})
	return q
}

// SetClock replaces the clock used for visibility timeouts and delays
// (nil means the system clock). Long polling still waits in real time.
func (q *SQS) SetClock(now func() time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if now == nil {
		now = clock.System()
	}
	q.now = now
	q.wake()
}

// CreateQueue creates a standard queue with the given default visibility
// timeout (0 means 30 s) and returns its URL.
func (q *SQS) CreateQueue(name string, visibility time.Duration) string {
	if visibility == 0 {
		visibility = 30 * time.Second
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queues[name] = &queue{name: name, visibility: visibility, receiptToMessageIDs: map[string]string{}}
	return q.queueURL(name)
}

// SetRedrive moves a message of queue src to queue dlq once it has been
// received maxReceiveCount times and comes back into view.
func (q *SQS) SetRedrive(src, dlq string, maxReceiveCount int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queues[src].dlq = dlq
	q.queues[src].maxReceiveCount = maxReceiveCount
}

// Bodies returns the bodies of every message in a queue, in flight or not,
// in the order they were sent.
func (q *SQS) Bodies(name string) []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	if qu := q.queues[name]; qu != nil {
		for _, m := range qu.messages {
			out = append(out, m.body)
		}
	}
	return out
}

func (q *SQS) queueURL(name string) string {
	return q.URL() + "/" + sqsAccount + "/" + name
}

// wake tells long pollers to look again; q.mu must be held.
func (q *SQS) wake() {
	close(q.arrived)
	q.arrived = make(chan struct{})
}

func (q *SQS) lookup(url string) (*queue, *apiError) {
	i := strings.LastIndexByte(url, '/')
	if qu := q.queues[url[i+1:]]; qu != nil && url != "" {
		return qu, nil
	}
	return nil, &apiError{status: 400, code: "QueueDoesNotExist", message: "The specified queue does not exist."}
}

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// attrsMD5 is the MD5 of message attributes as SQS defines it: for each
// attribute in name order, length-prefixed name, length-prefixed data type,
// a transport byte (1 string, 2 binary) and the length-prefixed value.
func attrsMD5(attrs map[string]sqsAttr) string {
	var buf []byte
	lp := func(b []byte) {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(b)))
		buf = append(buf, b...)
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		a := attrs[n]
		lp([]byte(n))
		lp([]byte(a.DataType))
		if a.BinaryValue != nil {
			buf = append(buf, 2)
			lp(a.BinaryValue)
		} else {
			buf = append(buf, 1)
			lp([]byte(a.StringValue))
		}
	}
	return md5Hex(buf)
}

func (q *SQS) sendMessage(_ context.Context, body []byte) (any, *apiError) {
	var req struct {
		QueueURL          string `json:"QueueUrl"`
		MessageBody       string
		DelaySeconds      int
		MessageAttributes map[string]sqsAttr
	}
	if aerr := decode(body, &req); aerr != nil {
		return nil, aerr
	}
	if req.MessageBody == "" {
		return nil, &apiError{status: 400, code: "MissingParameter", message: "The request must contain the parameter MessageBody."}
	}
	if len(req.MessageBody) > 256<<10 {
		return nil, &apiError{status: 400, code: "InvalidParameterValue", message: "Message must be shorter than 262144 bytes."}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	qu, aerr := q.lookup(req.QueueURL)
	if aerr != nil {
		return nil, aerr
	}
	q.seq++
	now := q.now()
	m := &message{
		id:        fmt.Sprintf("00000000-0000-4000-8000-%012d", q.seq),
		body:      req.MessageBody,
		attrs:     req.MessageAttributes,
		sent:      now,
		visibleAt: now.Add(time.Duration(req.DelaySeconds) * time.Second),
	}
	qu.messages = append(qu.messages, m)
	q.wake()
	out := map[string]any{"MessageId": m.id, "MD5OfMessageBody": md5Hex([]byte(m.body))}
	if len(m.attrs) > 0 {
		out["MD5OfMessageAttributes"] = attrsMD5(m.attrs)
	}
	return out, nil
}

func (q *SQS) receiveMessage(ctx context.Context, body []byte) (any, *apiError) {
	var req struct {
		QueueURL              string `json:"QueueUrl"`
		MaxNumberOfMessages   int
		VisibilityTimeout     *int
		WaitTimeSeconds       int
		MessageAttributeNames []string
	}
	if aerr := decode(body, &req); aerr != nil {
		return nil, aerr
	}
	if req.MaxNumberOfMessages == 0 {
		req.MaxNumberOfMessages = 1
	}
	if req.MaxNumberOfMessages < 1 || req.MaxNumberOfMessages > 10 {
		return nil, &apiError{status: 400, code: "InvalidParameterValue", message: "MaxNumberOfMessages must be between 1 and 10"}
	}
	deadline := time.NewTimer(time.Duration(req.WaitTimeSeconds) * time.Second)
	defer deadline.Stop()
	for {
		q.mu.Lock()
		qu, aerr := q.lookup(req.QueueURL)
		if aerr != nil {
			q.mu.Unlock()
			return nil, aerr
		}
		msgs := q.take(qu, req.MaxNumberOfMessages, req.VisibilityTimeout, req.MessageAttributeNames)
		arrived := q.arrived
		q.mu.Unlock()
		if len(msgs) > 0 || req.WaitTimeSeconds == 0 {
			return map[string]any{"Messages": msgs}, nil
		}
		select {
		case <-arrived:
		case <-time.After(50 * time.Millisecond): // delays and visibility expire by the clock
		case <-deadline.C:
			return map[string]any{"Messages": []any{}}, nil
		case <-ctx.Done():
			return nil, &apiError{status: 400, code: "RequestCanceled", message: ctx.Err().Error()}
		}
	}
}

// take makes up to max visible messages invisible and returns them;
// q.mu must be held.
func (q *SQS) take(qu *queue, max int, visibility *int, attrNames []string) []map[string]any {
	now := q.now()
	vis := qu.visibility
	if visibility != nil {
		vis = time.Duration(*visibility) * time.Second
	}
	var out []map[string]any
	kept := qu.messages[:0]
	for _, m := range qu.messages {
		if len(out) == max || m.visibleAt.After(now) {
			kept = append(kept, m)
			continue
		}
		if qu.dlq != "" && m.receiveCount >= qu.maxReceiveCount {
			if dlq := q.queues[qu.dlq]; dlq != nil {
				m.receipt, m.visibleAt = "", now
				dlq.messages = append(dlq.messages, m)
				continue
			}
		}
		m.receiveCount++
		q.seq++
		m.receipt = fmt.Sprintf("rh-%s-%d", m.id, q.seq)
		m.visibleAt = now.Add(vis)
		qu.receiptToMessageIDs[m.receipt] = m.id
		kept = append(kept, m)
		msg := map[string]any{
			"MessageId":     m.id,
			"ReceiptHandle": m.receipt,
			"MD5OfBody":     md5Hex([]byte(m.body)),
			"Body":          m.body,
			"Attributes": map[string]string{
				"ApproximateReceiveCount": strconv.Itoa(m.receiveCount),
				"SentTimestamp":           strconv.FormatInt(m.sent.UnixMilli(), 10),
			},
		}
		if attrs := selectAttrs(m.attrs, attrNames); len(attrs) > 0 {
			msg["MessageAttributes"] = attrs
			msg["MD5OfMessageAttributes"] = attrsMD5(attrs)
		}
		out = append(out, msg)
	}
	qu.messages = kept
	return out
}

func selectAttrs(attrs map[string]sqsAttr, names []string) map[string]sqsAttr {
	out := map[string]sqsAttr{}
	for n, a := range attrs {
		if slices.Contains(names, "All") || slices.Contains(names, ".*") || slices.Contains(names, n) {
			out[n] = a
		}
	}
	return out
}

type receiptRequest struct {
	QueueURL          string `json:"QueueUrl"`
	ReceiptHandle     string
	VisibilityTimeout int
}

// inFlight finds the message a receipt handle names; q.mu must be held.
func (q *SQS) inFlight(req *receiptRequest) (*queue, int, *apiError) {
	qu, aerr := q.lookup(req.QueueURL)
	if aerr != nil {
		return nil, 0, aerr
	}
	id, ok := qu.receiptToMessageIDs[req.ReceiptHandle]
	if !ok {
		return nil, 0, &apiError{status: 400, code: "ReceiptHandleIsInvalid", message: "The input receipt handle is invalid."}
	}
	for i, m := range qu.messages {
		if m.id == id {
			return qu, i, nil
		}
	}
	return qu, -1, nil // already deleted or moved: SQS accepts this silently
}

func (q *SQS) deleteMessage(_ context.Context, body []byte) (any, *apiError) {
	var req receiptRequest
	if aerr := decode(body, &req); aerr != nil {
		return nil, aerr
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	qu, i, aerr := q.inFlight(&req)
	if aerr != nil {
		return nil, aerr
	}
	if i >= 0 {
		qu.messages = slices.Delete(qu.messages, i, i+1)
	}
	return map[string]any{}, nil
}

func (q *SQS) changeVisibility(_ context.Context, body []byte) (any, *apiError) {
	var req receiptRequest
	if aerr := decode(body, &req); aerr != nil {
		return nil, aerr
	}
	if req.VisibilityTimeout < 0 || req.VisibilityTimeout > 43200 {
		return nil, &apiError{status: 400, code: "InvalidParameterValue", message: "VisibilityTimeout must be between 0 and 43200"}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	qu, i, aerr := q.inFlight(&req)
	if aerr != nil {
		return nil, aerr
	}
	if i < 0 || qu.messages[i].receipt != req.ReceiptHandle {
		return nil, &apiError{status: 400, code: "MessageNotInflight", message: "The message referred to isn't in flight."}
	}
	qu.messages[i].visibleAt = q.now().Add(time.Duration(req.VisibilityTimeout) * time.Second)
	q.wake()
	return map[string]any{}, nil
}

func (q *SQS) getQueueURL(_ context.Context, body []byte) (any, *apiError) {
	var req struct{ QueueName string }
	if aerr := decode(body, &req); aerr != nil {
		return nil, aerr
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.queues[req.QueueName] == nil {
		return nil, &apiError{status: 400, code: "QueueDoesNotExist", message: "The specified queue does not exist."}
	}
	return map[string]any{"QueueUrl": q.queueURL(req.QueueName)}, nil
}
