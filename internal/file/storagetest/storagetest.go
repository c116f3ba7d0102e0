// Package storagetest is the conformance suite every file.Storage driver
// passes. A driver's test calls Run with a constructor:
//
//	func TestLocalConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) file.Storage { return file.Local{Dir: t.TempDir()} })
//	}
//
// Its sizes are chosen so that a driver that stores in parts (S3: 8 MiB)
// goes through both its one-request and its multipart paths. The suite
// measures allocations, so do not run it in parallel with other tests of
// the same binary.
package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/quikapp/quikapp/internal/file"
)

// LargeSize is the object the streaming case stores: bigger than any part
// buffer a driver should hold, and more than twice what it may allocate.
const LargeSize = 64 << 20

// Run runs the suite. newStorage returns an empty store for one test and
// registers its own cleanup.
func Run(t *testing.T, newStorage func(t *testing.T) file.Storage) {
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, s file.Storage)
	}{
		{"RoundTrip", testRoundTrip},
		{"EmptyObject", testEmpty},
		{"LargeObjectIsStreamed", testLarge},
		{"MissingKey", testMissing},
		{"DeleteMissingKey", testDeleteMissing},
		{"InvalidKeysRefused", testInvalidKeys},
		{"Overwrite", testOverwrite},
		{"ConcurrentPuts", testConcurrent},
		{"CancelMidUploadLeavesNothing", testCancel},
		{"SourceFailingMidUploadLeavesNothing", testSourceFails},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newStorage(t)) })
	}
}

// read returns key's bytes, failing the test on an error.
func read(t *testing.T, s file.Storage, key string) []byte {
	t.Helper()
	rc, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("open %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

func put(t *testing.T, s file.Storage, key string, data []byte) {
	t.Helper()
	if err := s.Put(t.Context(), key, bytes.NewReader(data)); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// gone checks that key holds nothing, for Open and Stat alike.
func gone(t *testing.T, s file.Storage, key string) {
	t.Helper()
	if rc, err := s.Open(t.Context(), key); !errors.Is(err, file.ErrNoObject) {
		if rc != nil {
			b, _ := io.ReadAll(rc)
			rc.Close()
			t.Fatalf("open %s: %d bytes, err %v; want ErrNoObject", key, len(b), err)
		}
		t.Fatalf("open %s: %v; want ErrNoObject", key, err)
	}
	if n, err := s.Stat(t.Context(), key); !errors.Is(err, file.ErrNoObject) {
		t.Fatalf("stat %s: %d, %v; want ErrNoObject", key, n, err)
	}
}

func holds(t *testing.T, s file.Storage, key string, want []byte) {
	t.Helper()
	if got := read(t, s, key); !bytes.Equal(got, want) {
		t.Fatalf("%s holds %d bytes %.40q, want %d bytes %.40q", key, len(got), got, len(want), want)
	}
	if n, err := s.Stat(t.Context(), key); err != nil || n != int64(len(want)) {
		t.Fatalf("stat %s: %d, %v; want %d", key, n, err, len(want))
	}
}

func testRoundTrip(t *testing.T, s file.Storage) {
	data := []byte("hello, storage\x00\xff binary too")
	put(t, s, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", data)
	put(t, s, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b-small", []byte("thumb"))
	holds(t, s, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", data)
	holds(t, s, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b-small", []byte("thumb"))
	if err := s.Delete(t.Context(), "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"); err != nil {
		t.Fatal(err)
	}
	gone(t, s, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
	holds(t, s, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b-small", []byte("thumb")) // keys are independent
}

func testEmpty(t *testing.T, s file.Storage) {
	put(t, s, "empty", nil)
	holds(t, s, "empty", []byte{})
}

// stream yields n pseudo-random bytes without holding them.
type stream struct {
	rng  *rand.ChaCha8
	left int64
}

func newStream(seed byte, n int64) *stream {
	return &stream{rng: rand.NewChaCha8([32]byte{seed}), left: n}
}

func (s *stream) Read(p []byte) (int, error) {
	if s.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n, _ := s.rng.Read(p)
	s.left -= int64(n)
	return n, nil
}

// allocated is how many bytes fn allocated (in the whole process, so the
// suite runs its cases one at a time).
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func testLarge(t *testing.T, s file.Storage) {
	want := sha256.New()
	if _, err := io.Copy(want, newStream(7, LargeSize)); err != nil {
		t.Fatal(err)
	}
	var err error
	if n := allocated(func() { err = s.Put(t.Context(), "large", newStream(7, LargeSize)) }); n > LargeSize/2 {
		t.Errorf("storing %d MiB allocated %d MiB: it must stream, not hold the object", LargeSize>>20, n>>20)
	}
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.Stat(t.Context(), "large"); err != nil || n != LargeSize {
		t.Fatalf("stat: %d, %v", n, err)
	}
	got := sha256.New()
	var copied int64
	if n := allocated(func() {
		rc, e := s.Open(t.Context(), "large")
		if e != nil {
			err = e
			return
		}
		defer rc.Close()
		copied, err = io.Copy(got, rc)
	}); n > LargeSize/2 {
		t.Errorf("reading %d MiB allocated %d MiB: it must stream", LargeSize>>20, n>>20)
	}
	if err != nil || copied != LargeSize {
		t.Fatalf("read back %d bytes: %v", copied, err)
	}
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatal("the large object came back different")
	}
}

func testMissing(t *testing.T, s file.Storage) {
	gone(t, s, "never-written")
}

func testDeleteMissing(t *testing.T, s file.Storage) {
	if err := s.Delete(t.Context(), "never-written"); err != nil {
		t.Fatalf("delete of a key holding nothing: %v", err)
	}
	put(t, s, "twice", []byte("x"))
	for range 2 {
		if err := s.Delete(t.Context(), "twice"); err != nil {
			t.Fatalf("delete: %v", err)
		}
	}
	gone(t, s, "twice")
}

func testInvalidKeys(t *testing.T, s file.Storage) {
	ctx := t.Context()
	for _, key := range []string{"", "../escape", "a/b", "/abs", "UPPER", "dot.ext", "-lead", "sp ace", "nul\x00", "é", strings.Repeat("a", 129)} {
		if err := s.Put(ctx, key, strings.NewReader("x")); err == nil {
			t.Errorf("put %q accepted", key)
		}
		if rc, err := s.Open(ctx, key); err == nil || errors.Is(err, file.ErrNoObject) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("open %q: %v; want a bad-key error", key, err)
		}
		if _, err := s.Stat(ctx, key); err == nil || errors.Is(err, file.ErrNoObject) {
			t.Errorf("stat %q: %v; want a bad-key error", key, err)
		}
		if err := s.Delete(ctx, key); err == nil {
			t.Errorf("delete %q accepted", key)
		}
	}
	put(t, s, strings.Repeat("a", 128), []byte("longest key")) // the limit itself is fine
	holds(t, s, strings.Repeat("a", 128), []byte("longest key"))
}

func testOverwrite(t *testing.T, s file.Storage) {
	put(t, s, "over", bytes.Repeat([]byte("first "), 1000))
	put(t, s, "over", []byte("second"))
	holds(t, s, "over", []byte("second"))
}

func testConcurrent(t *testing.T, s file.Storage) {
	const n = 8
	fill := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, 100<<10+i) }
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			if err := s.Put(t.Context(), fmt.Sprintf("own-%d", i), bytes.NewReader(fill(i))); err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			if err := s.Put(t.Context(), "shared", bytes.NewReader(fill(i))); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent put: %v", err)
	}
	for i := range n {
		holds(t, s, fmt.Sprintf("own-%d", i), fill(i))
	}
	got := read(t, s, "shared")
	for i := range n {
		if bytes.Equal(got, fill(i)) {
			return
		}
	}
	t.Fatalf("the key written by %d puts at once holds %d bytes that none of them wrote whole", n, len(got))
}

// cutReader yields n bytes and calls cut once, after at of them; then it
// ends with err (io.EOF when nil).
type cutReader struct {
	n, at int64
	cut   func()
	err   error
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.at <= 0 && c.cut != nil {
		c.cut()
		c.cut = nil
	}
	if c.n <= 0 {
		if c.err != nil {
			return 0, c.err
		}
		return 0, io.EOF
	}
	step := c.at // never past the cut in one read
	if step <= 0 {
		step = 32 << 10
	}
	m := min(int64(len(p)), c.n, step)
	for i := range p[:m] {
		p[i] = 'z'
	}
	c.n -= m
	c.at -= m
	return int(m), nil
}

// sizes cut within what fits one request and past it.
var cutSizes = []struct {
	name   string
	n, cut int64
}{
	{"small", 64 << 10, 16 << 10},
	{"multipart", 24 << 20, 12 << 20},
}

func testCancel(t *testing.T, s file.Storage) {
	for _, c := range cutSizes {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if err := s.Put(ctx, "cancelled", &cutReader{n: c.n, at: c.cut, cut: cancel}); err == nil {
				t.Fatal("a put whose context ended mid-upload succeeded")
			}
			gone(t, s, "cancelled")
			// Nor does a cancelled overwrite disturb what was there.
			put(t, s, "kept", []byte("old bytes"))
			ctx, cancel = context.WithCancel(t.Context())
			defer cancel()
			if err := s.Put(ctx, "kept", &cutReader{n: c.n, at: c.cut, cut: cancel}); err == nil {
				t.Fatal("a cancelled overwrite succeeded")
			}
			holds(t, s, "kept", []byte("old bytes"))
		})
	}
}

// testSourceFails: a client cut off mid-upload makes the body fail with
// io.ErrUnexpectedEOF, which must not pass for the end of the data.
func testSourceFails(t *testing.T, s file.Storage) {
	for _, c := range cutSizes {
		t.Run(c.name, func(t *testing.T) {
			for _, cause := range []error{io.ErrUnexpectedEOF, errors.New("connection reset")} {
				if err := s.Put(t.Context(), "cut-off", &cutReader{n: c.cut, err: cause}); err == nil {
					t.Fatalf("a put whose source failed (%v) succeeded", cause)
				}
				gone(t, s, "cut-off")
			}
		})
	}
}
