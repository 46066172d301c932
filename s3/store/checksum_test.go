package store

import (
	"encoding/base64"
	"encoding/hex"
	"hash/crc32"
	"hash/crc64"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func b64hex(t *testing.T, h string) string {
	b, err := hex.DecodeString(h)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

// The published check values of each algorithm: the digest of "123456789"
// (the CRC catalogue's "check" field; FIPS 180 for SHA).
func TestChecksumKnownValues(t *testing.T) {
	in := []byte("123456789")
	for alg, want := range map[string]string{
		ChecksumCRC32:     "cbf43926",
		ChecksumCRC32C:    "e3069283",
		ChecksumCRC64NVME: "ae8b14860a799888",
		ChecksumSHA1:      "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
		ChecksumSHA256:    "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225",
	} {
		require.Equal(t, b64hex(t, want), Checksum(alg, in), alg)
	}
	// And of nothing: S3's value for an empty object's CRC32.
	require.Equal(t, "AAAAAA==", Checksum(ChecksumCRC32, nil))
	require.Equal(t, "", Checksum("MD4", in))
}

func TestCRCCombine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		alg   string
		poly  uint64
		width int
		sum   func([]byte) uint64
	}{
		{ChecksumCRC32, crc32.IEEE, 32, func(b []byte) uint64 { return uint64(crc32.ChecksumIEEE(b)) }},
		{ChecksumCRC32C, crc32.Castagnoli, 32, func(b []byte) uint64 { return uint64(crc32.Checksum(b, castagnoli)) }},
		{ChecksumCRC64NVME, 0x9a6c9329ac4bc9b5, 64, func(b []byte) uint64 { return crc64.Checksum(b, nvme) }},
	} {
		for _, n := range [][2]int{{0, 0}, {0, 5}, {5, 0}, {1, 1}, {17, 1000}, {4096, 3}, {100000, 77777}} {
			a, b := make([]byte, n[0]), make([]byte, n[1])
			for i := range a {
				a[i] = byte(r.Uint32())
			}
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			got := crcCombine(tc.poly, tc.width, tc.sum(a), tc.sum(b), int64(len(b)))
			require.Equal(t, tc.sum(append(a, b...)), got, "%s %v", tc.alg, n)
		}
	}
}

func TestFullObjectAndCompositeChecksums(t *testing.T) {
	parts := [][]byte{[]byte("hello, "), []byte("multipart "), []byte("world")}
	var whole []byte
	var sums []string
	var sizes []int64
	for _, p := range parts {
		whole = append(whole, p...)
		sums = append(sums, Checksum(ChecksumCRC64NVME, p))
		sizes = append(sizes, int64(len(p)))
	}
	full, ok := fullObjectCRC(ChecksumCRC64NVME, sums, sizes)
	require.True(t, ok)
	require.Equal(t, Checksum(ChecksumCRC64NVME, whole), full)

	// COMPOSITE: the checksum of the concatenated binary part checksums.
	var cat []byte
	sums = sums[:0]
	for _, p := range parts {
		s := Checksum(ChecksumSHA256, p)
		sums = append(sums, s)
		b, _ := base64.StdEncoding.DecodeString(s)
		cat = append(cat, b...)
	}
	comp, ok := compositeChecksum(ChecksumSHA256, sums)
	require.True(t, ok)
	require.Equal(t, Checksum(ChecksumSHA256, cat)+"-3", comp)
	_, ok = fullObjectCRC(ChecksumSHA256, sums, sizes)
	require.False(t, ok, "SHA checksums cannot be combined")
}

func TestChecksumArgs(t *testing.T) {
	require.NoError(t, checkChecksumArgs(make([]byte, 16), map[string]string{ChecksumCRC32: "AAAAAA=="}, ChecksumSHA1))
	require.ErrorIs(t, checkChecksumArgs(make([]byte, 15), nil, ""), ErrInvalidDigest)
	require.ErrorIs(t, checkChecksumArgs(nil, map[string]string{"MD4": "AAAAAA=="}, ""), ErrInvalidRequest)
	require.ErrorIs(t, checkChecksumArgs(nil, map[string]string{ChecksumCRC32: "AAAA"}, ""), ErrInvalidRequest)
	require.ErrorIs(t, checkChecksumArgs(nil, nil, "crc32"), ErrInvalidRequest)

	for _, tc := range []struct{ alg, typ, want string }{
		{"", "", ""},
		{ChecksumCRC32, "", ChecksumComposite},
		{ChecksumCRC32, ChecksumFullObject, ChecksumFullObject},
		{ChecksumCRC64NVME, "", ChecksumFullObject},
		{ChecksumSHA256, ChecksumComposite, ChecksumComposite},
	} {
		got, err := checksumType(tc.alg, tc.typ)
		require.NoError(t, err)
		require.Equal(t, tc.want, got, "%s %s", tc.alg, tc.typ)
	}
	for _, tc := range [][2]string{{"", ChecksumComposite}, {ChecksumSHA1, ChecksumFullObject}, {ChecksumCRC64NVME, ChecksumComposite}, {ChecksumCRC32, "BOTH"}} {
		_, err := checksumType(tc[0], tc[1])
		require.ErrorIs(t, err, ErrInvalidRequest, "%v", tc)
	}
}
