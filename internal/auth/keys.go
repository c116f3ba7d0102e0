package auth

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/quikapp/quikapp/internal/auth/token"
)

// LocalKey loads the signing key kept in dir, creating an Ed25519 key the
// first time. It is what a single node with no configured key uses; a
// cluster configures QUIKAPP_JWT_PRIVATE_KEY so every node signs alike.
func LocalKey(dir string) (token.Key, error) {
	path := filepath.Join(dir, "jwt-signing-key.pem")
	if b, err := os.ReadFile(path); err == nil {
		return token.ParsePrivateKeyPEM(b)
	} else if !errors.Is(err, os.ErrNotExist) {
		return token.Key{}, fmt.Errorf("auth: read %s: %w", path, err)
	}
	k, err := token.GenerateEd25519()
	if err != nil {
		return token.Key{}, err
	}
	pemBytes, err := token.MarshalPrivateKeyPEM(k)
	if err != nil {
		return token.Key{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return token.Key{}, fmt.Errorf("auth: key dir: %w", err)
	}
	// Written to a temporary file and linked into place, so two processes
	// starting at once agree on one key: the loser reads the winner's.
	tmp, err := os.CreateTemp(dir, ".jwt-key-*")
	if err != nil {
		return token.Key{}, fmt.Errorf("auth: write key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(pemBytes); err != nil {
		tmp.Close()
		return token.Key{}, fmt.Errorf("auth: write key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return token.Key{}, fmt.Errorf("auth: write key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return LocalKey(dir)
		}
		return token.Key{}, fmt.Errorf("auth: install key: %w", err)
	}
	return k, nil
}
