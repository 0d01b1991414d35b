package pdf

import (
	"bytes"
	"encoding/binary"
	"math"
)

// srgbProfile builds a small ICC v2 display profile (ICC.1:2001-04) for
// sRGB (IEC 61966-2-1): D50-adapted primaries from the standard's matrix
// and the sRGB tone curve as a sampled curve. It is the DestOutputProfile
// of the PDF/A output intent; luxncp writes it itself rather than shipping
// a third-party profile file.
func srgbProfile() []byte {
	s15 := func(v float64) []byte {
		b := make([]byte, 4)
		binary.BigEndian.PutUint32(b, uint32(int32(math.Round(v*65536))))
		return b
	}
	xyz := func(x, y, z float64) []byte {
		b := append([]byte("XYZ \x00\x00\x00\x00"), s15(x)...)
		return append(append(b, s15(y)...), s15(z)...)
	}
	desc := func(s string) []byte {
		var b bytes.Buffer
		b.WriteString("desc\x00\x00\x00\x00")
		binary.Write(&b, binary.BigEndian, uint32(len(s)+1))
		b.WriteString(s)
		b.WriteByte(0)
		b.Write(make([]byte, 4+4)) // no Unicode description
		b.Write(make([]byte, 2+1+67))
		return b.Bytes()
	}
	text := func(s string) []byte { return append(append([]byte("text\x00\x00\x00\x00"), s...), 0) }
	curve := func() []byte {
		const n = 1024
		var b bytes.Buffer
		b.WriteString("curv\x00\x00\x00\x00")
		binary.Write(&b, binary.BigEndian, uint32(n))
		for i := 0; i < n; i++ {
			v := float64(i) / (n - 1)
			if v <= 0.04045 {
				v /= 12.92
			} else {
				v = math.Pow((v+0.055)/1.055, 2.4)
			}
			binary.Write(&b, binary.BigEndian, uint16(math.Round(v*65535)))
		}
		return b.Bytes()
	}
	trc := curve()
	type tag struct {
		sig  string
		data []byte
	}
	tags := []tag{
		{"desc", desc("sRGB IEC61966-2.1 (luxncp)")},
		{"cprt", text("No copyright, use freely")},
		{"wtpt", xyz(0.9642, 1.0, 0.8249)},
		{"rXYZ", xyz(0.4361, 0.2225, 0.0139)},
		{"gXYZ", xyz(0.3851, 0.7169, 0.0971)},
		{"bXYZ", xyz(0.1431, 0.0606, 0.7141)},
		{"rTRC", trc}, {"gTRC", trc}, {"bTRC", trc},
	}
	var table, data bytes.Buffer
	binary.Write(&table, binary.BigEndian, uint32(len(tags)))
	base := 128 + 4 + 12*len(tags)
	offsets := map[*byte]int{}
	for _, t := range tags {
		off, ok := offsets[&t.data[0]]
		if !ok {
			for data.Len()%4 != 0 {
				data.WriteByte(0)
			}
			off = base + data.Len()
			offsets[&t.data[0]] = off
			data.Write(t.data)
		}
		table.WriteString(t.sig)
		binary.Write(&table, binary.BigEndian, uint32(off))
		binary.Write(&table, binary.BigEndian, uint32(len(t.data)))
	}
	for data.Len()%4 != 0 {
		data.WriteByte(0)
	}
	h := make([]byte, 128)
	size := 128 + table.Len() + data.Len()
	binary.BigEndian.PutUint32(h[0:], uint32(size))
	copy(h[4:], "lcms")
	binary.BigEndian.PutUint32(h[8:], 0x02100000) // version 2.1
	copy(h[12:], "mntr")
	copy(h[16:], "RGB ")
	copy(h[20:], "XYZ ")
	binary.BigEndian.PutUint16(h[24:], 2026) // date: fixed, the profile never changes
	binary.BigEndian.PutUint16(h[26:], 1)
	binary.BigEndian.PutUint16(h[28:], 1)
	copy(h[36:], "acsp")
	copy(h[40:], "APPL")
	copy(h[68:], append(append(s15(0.9642), s15(1.0)...), s15(0.8249)...)) // D50
	out := append(append(h, table.Bytes()...), data.Bytes()...)
	return out
}
