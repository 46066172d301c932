package store

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"slices"
	"strconv"
)

// The checksum algorithms of S3 (x-amz-checksum-*). Values are the
// big-endian digest in base64, as S3 sends them.
const (
	ChecksumCRC32     = "CRC32"
	ChecksumCRC32C    = "CRC32C"
	ChecksumCRC64NVME = "CRC64NVME"
	ChecksumSHA1      = "SHA1"
	ChecksumSHA256    = "SHA256"
)

// Checksum types: one checksum of the whole body, or (multipart) a
// checksum of the parts' checksums.
const (
	ChecksumFullObject = "FULL_OBJECT"
	ChecksumComposite  = "COMPOSITE"
)

// ChecksumAlgorithms lists the supported algorithms.
var ChecksumAlgorithms = []string{ChecksumCRC32, ChecksumCRC32C, ChecksumCRC64NVME, ChecksumSHA1, ChecksumSHA256}

// ValidChecksumAlgorithm reports whether alg is one of ChecksumAlgorithms.
func ValidChecksumAlgorithm(alg string) bool { return slices.Contains(ChecksumAlgorithms, alg) }

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	// CRC-64/NVME: polynomial 0xad93d23594c93659, reflected, initial value
	// and final xor all ones — what hash/crc64 computes with the reversed
	// polynomial. Its check value (of "123456789") is 0xae8b14860a799888.
	nvme = crc64.MakeTable(0x9a6c9329ac4bc9b5)
)

func newHash(alg string) hash.Hash {
	switch alg {
	case ChecksumCRC32:
		return crc32.NewIEEE()
	case ChecksumCRC32C:
		return crc32.New(castagnoli)
	case ChecksumCRC64NVME:
		return crc64.New(nvme)
	case ChecksumSHA1:
		return sha1.New()
	case ChecksumSHA256:
		return sha256.New()
	}
	return nil
}

func digestSize(alg string) int { return newHash(alg).Size() }

// Checksum returns the checksum of b with alg, in base64 (a helper for
// handlers and tests; "" for an unknown algorithm).
func Checksum(alg string, b []byte) string {
	h := newHash(alg)
	if h == nil {
		return ""
	}
	h.Write(b)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// hasher computes, as a body streams through it, its MD5 (the ETag) and
// the checksums asked for.
type hasher struct {
	md5  hash.Hash
	algs []string
	hs   []hash.Hash
}

func newHasher(algs []string) *hasher {
	h := &hasher{md5: md5.New()}
	for _, a := range algs {
		if !slices.Contains(h.algs, a) {
			h.algs = append(h.algs, a)
			h.hs = append(h.hs, newHash(a))
		}
	}
	return h
}

func (h *hasher) Write(p []byte) {
	h.md5.Write(p)
	for _, x := range h.hs {
		x.Write(p)
	}
}

// sums returns the MD5 and the checksums in base64 by algorithm.
func (h *hasher) sums() ([]byte, map[string]string) {
	var m map[string]string
	for i, a := range h.algs {
		if m == nil {
			m = make(map[string]string, len(h.algs))
		}
		m[a] = base64.StdEncoding.EncodeToString(h.hs[i].Sum(nil))
	}
	return h.md5.Sum(nil), m
}

// checkDigests compares what a client sent with what was computed.
func checkDigests(md5sum, wantMD5 []byte, sums, want map[string]string) error {
	if wantMD5 != nil && string(md5sum) != string(wantMD5) {
		return &ChecksumError{Algorithm: "MD5", Expected: hex.EncodeToString(wantMD5), Computed: hex.EncodeToString(md5sum)}
	}
	for _, a := range sortedKeys(want) {
		if sums[a] != want[a] {
			return &ChecksumError{Algorithm: a, Expected: want[a], Computed: sums[a]}
		}
	}
	return nil
}

// TrailingChecksum is a checksum that comes after the body it covers: the
// x-amz-checksum-<alg> trailer of an aws-chunked body. Its algorithm is
// announced before the body (x-amz-trailer), its value is known only once
// the body has been read to its end.
type TrailingChecksum struct {
	Algorithm string // "CRC32", ...
	// Value returns the checksum the client sent, in base64, or "" if it
	// sent none. The store calls it once, after the body has ended.
	Value func() string
}

// checkTrailer compares a trailing checksum with what was computed: a
// *ChecksumError (ErrBadDigest) if they differ.
func checkTrailer(t *TrailingChecksum, sums map[string]string) error {
	if t == nil {
		return nil
	}
	got := ""
	if t.Value != nil {
		got = t.Value()
	}
	if got == "" {
		return errorf(ErrInvalidRequest, "The trailing checksum x-amz-checksum-%s announced in x-amz-trailer was not sent.", lower(t.Algorithm))
	}
	if got != sums[t.Algorithm] {
		return &ChecksumError{Algorithm: t.Algorithm, Expected: got, Computed: sums[t.Algorithm]}
	}
	return nil
}

// checkChecksumArgs validates the checksums and Content-MD5 of a request.
func checkChecksumArgs(contentMD5 []byte, want map[string]string, alg string) error {
	if contentMD5 != nil && len(contentMD5) != md5.Size {
		return ErrInvalidDigest
	}
	if alg != "" && !ValidChecksumAlgorithm(alg) {
		return errorf(ErrInvalidRequest, "Checksum algorithm %q is not supported.", alg)
	}
	for a, v := range want {
		if !ValidChecksumAlgorithm(a) {
			return errorf(ErrInvalidRequest, "Checksum algorithm %q is not supported.", a)
		}
		if b, err := base64.StdEncoding.DecodeString(v); err != nil || len(b) != digestSize(a) {
			return errorf(ErrInvalidRequest, "Value for x-amz-checksum-%s header is invalid.", lower(a))
		}
	}
	return nil
}

func checksumAlgs(alg string, want map[string]string) []string {
	var algs []string
	if alg != "" {
		algs = append(algs, alg)
	}
	return append(algs, sortedKeys(want)...)
}

// compositeChecksum is S3's checksum of a multipart object of type
// COMPOSITE: the checksum of the concatenated binary checksums of the
// parts, in base64, then "-" and the number of parts.
func compositeChecksum(alg string, parts []string) (string, bool) {
	h := newHash(alg)
	for _, p := range parts {
		b, err := base64.StdEncoding.DecodeString(p)
		if err != nil || p == "" {
			return "", false
		}
		h.Write(b)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts)), true
}

// fullObjectCRC is the CRC of a whole multipart object, combined from the
// CRCs and sizes of its parts (FULL_OBJECT checksums, CRCs only).
func fullObjectCRC(alg string, parts []string, sizes []int64) (string, bool) {
	var poly uint64
	var width int
	switch alg {
	case ChecksumCRC32:
		poly, width = crc32.IEEE, 32
	case ChecksumCRC32C:
		poly, width = crc32.Castagnoli, 32
	case ChecksumCRC64NVME:
		poly, width = 0x9a6c9329ac4bc9b5, 64
	default:
		return "", false
	}
	var crc uint64
	for i, p := range parts {
		b, err := base64.StdEncoding.DecodeString(p)
		if err != nil || len(b) != width/8 {
			return "", false
		}
		var c uint64
		if width == 32 {
			c = uint64(binary.BigEndian.Uint32(b))
		} else {
			c = binary.BigEndian.Uint64(b)
		}
		if i == 0 {
			crc = c
		} else {
			crc = crcCombine(poly, width, crc, c, sizes[i])
		}
	}
	out := make([]byte, 8)
	binary.BigEndian.PutUint64(out, crc)
	return base64.StdEncoding.EncodeToString(out[8-width/8:]), true
}

// crcCombine returns the CRC of A followed by B from crcA, crcB and the
// length of B, for a reflected CRC with all-ones initial value and final
// xor (CRC-32, CRC-32C, CRC-64/NVME).
//
// Feeding bytes to a CRC register is linear over GF(2) once the initial
// value and final xor are accounted for, and those cancel here:
// crc(A‖B) = Z(crcA) ⊕ crcB, where Z is the effect on the register of
// len(B) zero bytes. Z is a width×width bit matrix, raised to the power
// 8·len(B) by repeated squaring.
func crcCombine(poly uint64, width int, crcA, crcB uint64, lenB int64) uint64 {
	if lenB == 0 {
		return crcA
	}
	// op is the matrix of one zero bit: column i is where bit i goes. In
	// a reflected register the register shifts right; bit 0 falling out
	// brings in the polynomial.
	op := make([]uint64, width)
	op[0] = poly
	for i := 1; i < width; i++ {
		op[i] = 1 << (i - 1)
	}
	sq := make([]uint64, width)
	square := func(dst, m []uint64) {
		for i := range m {
			dst[i] = gf2Times(m, m[i])
		}
	}
	// Three squarings: the matrix of one zero byte.
	square(sq, op)
	square(op, sq)
	square(sq, op)
	m := sq // one zero byte
	for n := uint64(lenB); n > 0; n >>= 1 {
		if n&1 == 1 {
			crcA = gf2Times(m, crcA)
		}
		next := make([]uint64, width)
		square(next, m)
		m = next
	}
	return crcA ^ crcB
}

// gf2Times multiplies the bit matrix m by the vector v.
func gf2Times(m []uint64, v uint64) uint64 {
	var r uint64
	for i := 0; v != 0; i, v = i+1, v>>1 {
		if v&1 == 1 {
			r ^= m[i]
		}
	}
	return r
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
