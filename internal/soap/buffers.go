package soap

import (
	"bytes"
	"sync"
)

// buffers holds byte buffers between messages: request bodies (Read) and
// serialised envelopes and documents (Writer.Write, DocumentString). A
// buffer is put back only by the function that took it, once nothing it
// returns refers to the buffer's bytes: the etree a request is parsed into
// holds strings copied by the XML decoder, an http.ResponseWriter does not
// keep the slice it is given (io.Writer's contract), and DocumentString
// returns a copy.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer is the largest buffer kept for reuse: one large message
// (up to the 10 MiB body limit) must not stay pinned in memory.
const maxPooledBuffer = 256 << 10

func getBuffer() *bytes.Buffer {
	b := buffers.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

func putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	buffers.Put(b)
}
