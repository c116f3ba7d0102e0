package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
)

// Storage keeps file bytes under keys the service makes (never names
// users chose). Every driver passes the suite in package storagetest.
type Storage interface {
	// Put stores everything r yields under key, replacing what was there.
	// It streams (memory stays bounded whatever the size), and a Put that
	// fails — r failing, ctx ending — leaves nothing new visible.
	Put(ctx context.Context, key string, r io.Reader) error
	// Open reads key; ErrNoObject if it holds nothing.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat returns key's size; ErrNoObject if it holds nothing.
	Stat(ctx context.Context, key string) (int64, error)
	// Delete removes key; a key holding nothing is no error.
	Delete(ctx context.Context, key string) error
}

// ErrNoObject is returned for a key that holds nothing.
var ErrNoObject = errors.New("file: no such object")

var keyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,127}$`) // uuids, and uuid-small for thumbnails

func checkKey(key string) error {
	if !keyRE.MatchString(key) {
		return fmt.Errorf("file: bad storage key %q", key)
	}
	return nil
}

// ctxReader fails once ctx ends, so a copy from a source that does not
// watch ctx stops when the caller gives up.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Local stores files in a directory.
type Local struct{ Dir string }

func (l Local) path(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return filepath.Join(l.Dir, key[:2], key), nil
}

// Ping makes sure the directory is there (for /health).
func (l Local) Ping(context.Context) error { return os.MkdirAll(l.Dir, 0o700) }

// Put writes r to key atomically: a crash leaves no half file.
func (l Local) Put(ctx context.Context, key string, r io.Reader) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("file: store: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".upload-*")
	if err != nil {
		return fmt.Errorf("file: store: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, ctxReader{ctx, r}); err != nil {
		tmp.Close()
		return fmt.Errorf("file: store: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("file: store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("file: store: %w", err)
	}
	return os.Rename(tmp.Name(), p)
}

// Open reads key.
func (l Local) Open(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoObject
	}
	return f, err
}

// Stat returns key's size.
func (l Local) Stat(_ context.Context, key string) (int64, error) {
	p, err := l.path(key)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return 0, ErrNoObject
	}
	if err != nil {
		return 0, fmt.Errorf("file: stat: %w", err)
	}
	return fi.Size(), nil
}

// Delete removes key (gone already is fine).
func (l Local) Delete(_ context.Context, key string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("file: delete: %w", err)
	}
	return nil
}
