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
// users chose).
type Storage interface {
	Put(ctx context.Context, key string, r io.Reader) error
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	Delete(ctx context.Context, key string) error
}

// ErrNoObject is returned for a key that holds nothing.
var ErrNoObject = errors.New("file: no such object")

var keyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,127}$`) // uuids, and uuid-small for thumbnails

// Local stores files in a directory.
type Local struct{ Dir string }

func (l Local) path(key string) (string, error) {
	if !keyRE.MatchString(key) {
		return "", fmt.Errorf("file: bad storage key %q", key)
	}
	return filepath.Join(l.Dir, key[:2], key), nil
}

// Put writes r to key atomically: a crash leaves no half file.
func (l Local) Put(_ context.Context, key string, r io.Reader) error {
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
	if _, err := io.Copy(tmp, r); err != nil {
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
